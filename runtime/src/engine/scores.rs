//! Scores: rule points added and removed, decay steps, and the score lines they write.

use super::*;

impl<'p> Engine<'p> {
    pub(super) fn set_score_value(&mut self, lead: usize, i: usize, value: f64) {
        let idx = self.prev.score_idx[i];
        if self.leads[lead].score_value[idx] != value {
            self.leads[lead].score_value[idx] = value;
            self.line(
                lead,
                Entry::ScoreChanged {
                    score: self.p.scores[i].name.clone(),
                    value,
                },
            );
        }
    }

    pub(super) fn clamp(&self, i: usize, x: f64) -> f64 {
        let s = &self.p.scores[i];
        let mut v = x;
        if let Some(lo) = s.min {
            v = v.max(lo);
        }
        if let Some(hi) = s.max {
            v = v.min(hi);
        }
        v
    }

    pub(super) fn attribute_part(&mut self, lead: usize, i: usize) -> f64 {
        let lines = &self.p.scores[i].if_lines;
        let mut funcs = std::mem::take(&mut self.evaluation.funcs_buffer);
        funcs.clear();
        funcs.extend(lines.iter().map(|&(_, f)| f));
        let mut words = std::mem::take(&mut self.evaluation.words_buffer);
        words.clear();
        words.resize(funcs.len(), 0);
        self.eval_many(lead, &funcs, None, &mut words);
        let a = lines
            .iter()
            .zip(&words)
            .filter(|(_, w)| **w != 0)
            .map(|(&(points, _), _)| points)
            .sum();
        self.evaluation.funcs_buffer = funcs;
        self.evaluation.words_buffer = words;
        a
    }

    pub(super) fn recompute_scores(&mut self, lead: usize) {
        for k in 0..self.prev.score_order.len() {
            let i = self.prev.score_order[k];
            let a = self.attribute_part(lead, i);
            let idx = self.prev.score_idx[i];
            self.leads[lead].score_parts[idx].attribute = a;
            let e = self.leads[lead].score_parts[idx].event;
            let v = self.clamp(i, a + e);
            self.set_score_value(lead, i, v);
        }
    }

    pub(super) fn add_event_points(&mut self, lead: usize, event: &str, record: &EventRecord) {
        for i in 0..self.p.scores.len() {
            let p = self.p;
            let mut delta = 0.0;
            for (ev, points, filter) in &p.scores[i].on_lines {
                let (points, filter) = (*points, *filter);
                if ev != event {
                    continue;
                }
                if filter.is_none_or(|f| self.holds(lead, f, Some(record))) {
                    delta += points;
                }
            }
            if delta == 0.0 {
                continue;
            }
            let idx = self.prev.score_idx[i];
            let e = self.clamp(i, self.leads[lead].score_parts[idx].event + delta);
            self.leads[lead].score_parts[idx].event = e;
            // The attribute part stays as last recomputed until the next round.
            let v = self.clamp(i, self.leads[lead].score_parts[idx].attribute + e);
            self.set_score_value(lead, i, v);
            self.schedule_decay(lead, i);
        }
    }
}
