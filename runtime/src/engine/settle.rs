//! Settling: after a change, the rules, stage transitions and journey entries it triggers, run until nothing more changes.

use super::*;

/// Where things sit in a lead's tables, fixed when the engine is made: score order and indexes, and the offsets in `prev`.
pub(super) struct PrevLayout {
    pub(super) score_order: Vec<usize>,
    /// Score index in the evaluation tables for each score in program order.
    pub(super) score_idx: Vec<usize>,
    /// Where each journey's `enter when` values start in a lead's `prev` (after the
    /// rules' and handoffs').
    pub(super) enter_offsets: Vec<usize>,
    /// Where the decay flags start in a lead's `prev` (after every trigger).
    pub(super) decay_flags_at: usize,
}

impl<'p> Engine<'p> {
    /// Handles the events of one input in order, settling after each (section 11).
    pub(super) fn process(&mut self, lead: usize, mut queue: VecDeque<Raised>) {
        if !self.settle(lead, &mut queue) {
            return;
        }
        let mut handled = 0;
        while let Some(ev) = queue.pop_front() {
            handled += 1;
            if handled > MAX_EVENTS {
                self.cascade(lead);
                return;
            }
            // The last settle ended with nothing left to do. If handling this event
            // changes nothing a condition can see (no line, no field, no journey
            // step), settling again would find the same — skip it.
            self.leads[lead].dirty = false;
            if !ev.outside {
                self.add_event_points(lead, &ev.name, &ev.record);
            }
            self.exit_on(lead, &ev);
            self.resume_wait_for(lead, &ev, &mut queue);
            self.enter_on(lead, &ev, &mut queue);
            if self.leads[lead].dirty && !self.settle(lead, &mut queue) {
                return;
            }
        }
    }

    pub(super) fn cascade(&mut self, lead: usize) {
        self.line(
            lead,
            Entry::Error {
                code: "cascade_limit".into(),
                message: format!(
                    "more than {MAX_ROUNDS} settle rounds or {MAX_EVENTS} events for one input; the rest was dropped"
                ),
            },
        );
    }

    /// Settles the lead; false when the cascade limit was hit (the queue is dropped).
    pub(super) fn settle(&mut self, lead: usize, queue: &mut VecDeque<Raised>) -> bool {
        for _round in 0..MAX_ROUNDS {
            self.recompute_scores(lead);
            // One snapshot: evaluate everything first, with one context. The conditions
            // are listed in a fixed order and their results read back in that order.
            let p = self.p;
            let mut funcs = std::mem::take(&mut self.evaluation.funcs_buffer);
            funcs.clear();
            funcs.extend(p.rules.iter().map(|r| r.when));
            for (j, journey) in p.journeys.iter().enumerate() {
                if self.leads[lead].journeys[j].is_some() {
                    funcs.extend(journey.goal.iter().copied());
                    funcs.extend(journey.exit_when.iter().copied());
                }
            }
            for j in 0..p.journeys.len() {
                if let Some(Instance {
                    wait: Waiting::Until { cond, .. },
                    ..
                }) = self.leads[lead].journeys[j].as_deref()
                {
                    funcs.push(*cond);
                }
            }
            for journey in &p.journeys {
                funcs.extend(journey.enter_when.iter().copied());
            }
            funcs.extend(p.handoffs.iter().filter_map(|h| h.when));
            let mut words = std::mem::take(&mut self.evaluation.words_buffer);
            words.clear();
            words.resize(funcs.len(), 0);
            self.eval_many(lead, &funcs, None, &mut words);
            self.evaluation.funcs_buffer = funcs;
            let mut results = words.iter().map(|&w| w != 0);
            let mut next = || results.next().unwrap_or(false);

            let rules: SmallVec<[(usize, bool); 16]> =
                (0..p.rules.len()).map(|r| (r, next())).collect();
            let mut ends: SmallVec<[(usize, &'static str); 4]> = SmallVec::new();
            for (j, journey) in p.journeys.iter().enumerate() {
                if self.leads[lead].journeys[j].is_none() {
                    continue;
                }
                let goal = journey.goal.iter().fold(false, |any, _| next() | any);
                let exit = journey.exit_when.iter().fold(false, |any, _| next() | any);
                if goal {
                    ends.push((j, "goal"));
                } else if exit {
                    ends.push((j, "exit"));
                }
            }
            let mut resumes: SmallVec<[(usize, bool); 4]> = SmallVec::new();
            for j in 0..p.journeys.len() {
                if let Some(Instance {
                    wait: Waiting::Until { .. },
                    ..
                }) = self.leads[lead].journeys[j].as_deref()
                {
                    resumes.push((j, next()));
                }
            }
            let mut enters: SmallVec<[usize; 4]> = SmallVec::new();
            for (j, journey) in p.journeys.iter().enumerate() {
                let mut fire = false;
                for c in 0..journey.enter_when.len() {
                    let now = next();
                    let at = self.prev.enter_offsets[j] + c;
                    let prev = self.leads[lead].prev[at];
                    self.leads[lead].prev[at] = Some(now);
                    if now && prev != Some(true) {
                        fire = true;
                    }
                }
                if fire {
                    enters.push(j);
                }
            }
            let mut fired_handoffs: SmallVec<[usize; 4]> = SmallVec::new();
            for (h, handoff) in p.handoffs.iter().enumerate() {
                if handoff.when.is_none() {
                    continue;
                }
                let now = next();
                let at = p.rules.len() + h;
                let prev = self.leads[lead].prev[at];
                self.leads[lead].prev[at] = Some(now);
                if now && prev != Some(true) {
                    fired_handoffs.push(h);
                }
            }
            self.evaluation.words_buffer = words;
            let mut fired_rules: SmallVec<[usize; 8]> = SmallVec::new();
            let fresh = std::mem::take(&mut self.trace_fresh);
            for (r, now) in rules {
                let prev = self.leads[lead].prev[r];
                self.leads[lead].prev[r] = Some(now);
                if now && prev != Some(true) {
                    fired_rules.push(r);
                } else if now && fresh {
                    let name = p.rules[r].name.as_str();
                    self.trace(lead, "rule_held", || {
                        format!("`{name}` holds but does not fire again: it already held before this input (rules fire when their condition becomes true)")
                    });
                }
            }
            let mut acted = false;
            for (j, reason) in ends {
                acted |= self.leave(lead, j, reason);
            }
            for r in fired_rules {
                acted = true;
                let name = self.p.rules[r].name.clone();
                self.line(lead, Entry::RuleFired { rule: name });
                let p = self.p;
                self.acting.cause = format!("rule `{}`", p.rules[r].name);
                self.coverage.rules.insert(r);
                self.actions(lead, &p.rules[r].then, None, None, queue);
            }
            for h in fired_handoffs {
                acted |= self.start_handoff(lead, h, queue);
            }
            for (j, holds) in resumes {
                if holds {
                    if let Some(inst) = self.leads[lead].journeys[j].clone() {
                        if let Waiting::Until { .. } = inst.wait {
                            acted = true;
                            let next = self.p.journeys[j].graph.nodes[inst.node].next;
                            self.continue_at(lead, j, next, queue);
                        }
                    }
                }
            }
            for j in enters {
                acted |= self.enter(lead, j, queue);
            }
            acted |= self.retime_date_waits(lead, queue);
            if !acted {
                return true;
            }
        }
        self.cascade(lead);
        queue.clear();
        false
    }
}
