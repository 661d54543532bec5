//! Scores: rule points added and removed, decay steps, and the score lines they write; for one traced lead (`tandem explain`), the points of each event and the decay steps after them.

use super::*;

impl<'p> Engine<'p> {
    pub(super) fn set_score_value(&mut self, lead: usize, i: usize, value: f64) {
        if self.score_trace.is_some() {
            self.trace_decay(lead, i);
        }
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
            .sum::<f64>()
            // An empty sum is -0.0; no negative zero leaves the engine.
            + 0.0;
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
            // The lines that matched, kept only for a traced lead (`tandem explain`).
            let mut hits: Vec<(f64, Option<FuncId>)> = Vec::new();
            for (ev, points, filter) in &p.scores[i].on_lines {
                let (points, filter) = (*points, *filter);
                if ev != event {
                    continue;
                }
                if filter.is_none_or(|f| self.holds(lead, f, Some(record))) {
                    delta += points;
                    if self.score_trace.is_some() {
                        hits.push((points, filter));
                    }
                }
            }
            let idx = self.prev.score_idx[i];
            if delta == 0.0 {
                // Lines that cancel out still gave their points.
                if !hits.is_empty() {
                    let e = self.leads[lead].score_parts[idx].event;
                    self.trace_points(lead, i, event, &hits, e, e);
                }
                continue;
            }
            let unclamped = self.leads[lead].score_parts[idx].event + delta;
            let e = self.clamp(i, unclamped);
            self.leads[lead].score_parts[idx].event = e;
            if !hits.is_empty() {
                self.trace_points(lead, i, event, &hits, unclamped, e);
            }
            // The attribute part stays as last recomputed until the next round.
            let v = self.clamp(i, self.leads[lead].score_parts[idx].attribute + e);
            self.set_score_value(lead, i, v);
            self.schedule_decay(lead, i);
        }
    }

    /// For the traced lead: the points `event` gave score `i` through the lines `hits`, the
    /// event part being `e` (`unclamped` before the clamp).
    fn trace_points(
        &mut self,
        lead: usize,
        i: usize,
        event: &str,
        hits: &[(f64, Option<FuncId>)],
        unclamped: f64,
        e: f64,
    ) {
        let at = self.clock.now;
        let Some(trace) = self.score_trace_of(lead) else {
            return;
        };
        for (k, &(points, filter)) in hits.iter().enumerate() {
            let last = k + 1 == hits.len();
            trace.points.push((
                i,
                EventPoints {
                    event: event.to_owned(),
                    at,
                    filter,
                    points,
                    decay_steps: 0,
                    decayed_to_zero: false,
                    left: points,
                    clamped_to: (last && e != unclamped).then_some(e),
                },
            ));
        }
        if let Some(seen) = trace.seen.get_mut(i) {
            *seen = e;
        }
    }

    /// For the traced lead: a change of score `i`'s event part not made by
    /// [`Engine::add_event_points`] is a decay step (`Engine::decay` sets the part, then
    /// the value through [`Engine::set_score_value`]), applied to each of its points.
    fn trace_decay(&mut self, lead: usize, i: usize) {
        let idx = self.prev.score_idx[i];
        let e = self.leads[lead].score_parts[idx].event;
        let pct = self.p.scores[i].decay.map(|(pct, _)| pct);
        let Some(trace) = self.score_trace_of(lead) else {
            return;
        };
        let Some(seen) = trace.seen.get_mut(i) else {
            return;
        };
        if *seen == e {
            return;
        }
        *seen = e;
        let Some(pct) = pct else {
            return;
        };
        let keep = (100.0 - pct as f64) / 100.0;
        for (_, x) in trace.points.iter_mut().filter(|(s, _)| *s == i) {
            if x.decayed_to_zero {
                continue;
            }
            x.decay_steps += 1;
            if e == 0.0 {
                x.decayed_to_zero = true;
                x.left = 0.0;
            } else {
                x.left = x.points * keep.powi(i32::try_from(x.decay_steps).unwrap_or(i32::MAX));
            }
        }
    }
}
