//! Carrying a world over to a new version of its program at a deploy (docs/language.md, "Deploying a new version"): leads, their fields, scores, histories, journey instances, tasks and timers move to the new program by name; nothing is recomputed and no timeline line is written.
//!
//! What moves how:
//! - fields by name when their type is unchanged (texts re-interned, stages by name); a
//!   new field gets its default; tags by text;
//! - scores' parts and values by name (a new score starts at 0; every score is
//!   recomputed under the new definitions at the lead's next input);
//! - journey instances: a version the new program keeps (see `crate::versions`) takes
//!   its kept copy, an unchanged journey its new self, step by step (`compiler::diff`'s
//!   step matching); a wait's condition is read again from the new step;
//! - triggers (`rule … when`, `handoff … when`, `enter when`): an unchanged one keeps
//!   its previous value; a new or changed one takes its current value as its previous
//!   one, so it fires only on a later change;
//! - counted history by event and by the meaning of the count's filter (a count whose
//!   filter changed starts from the deploy);
//! - tasks by handoff name (a removed handoff's closed tasks stay, its open tasks refuse
//!   the deploy), timers by what they belong to (a schedule whose cron changed, or a new
//!   one, is planned from now).

use super::*;
use compiler::diff::{match_steps, Canon, StepFate};

/// Old journey → (new journey, old node → new node).
type JourneyMap = Vec<Option<(usize, Vec<Option<usize>>)>>;

impl<'p> Engine<'p> {
    /// Moves this world onto `q`, a new version of the program (built by
    /// `crate::versions::compose`); this engine is left empty. Fails, changing nothing,
    /// when a lead would be left at a stage the new program removes, inside a journey
    /// step the new program lacks, or an open task's handoff is gone.
    pub fn migrate<'q>(
        &mut self,
        q: &'q LoweredProgram,
        kind: EvaluatorKind,
        templates: FxHashMap<String, TemplateParts>,
    ) -> Result<Engine<'q>, Unsupported> {
        let p = self.p;
        let mut n = Engine::new(q, kind, templates)?;
        let (oc, nc) = (Canon { p }, Canon { p: q });
        let jmap = journey_map(&oc, &nc);

        // Refusals first, so a refused deploy leaves this world as it was.
        for t in self.sales.tasks.iter().filter(|t| !t.closed) {
            if let Some(h) = p.handoffs.get(t.handoff) {
                if !q.handoffs.iter().any(|x| x.name == h.name) {
                    return Err(Unsupported(format!(
                        "the handoff `{}` has open tasks (`{}`); close them before removing it",
                        h.name, t.id
                    )));
                }
            }
        }
        let stage_map: Vec<(u64, Option<u64>)> = self
            .exprs
            .stages
            .names
            .iter()
            .zip(&self.exprs.stages.codes)
            .map(|(name, code)| (*code, n.exprs.stages.code(name)))
            .collect();
        if let Some(s) = self.slot("stage") {
            for l in &self.leads {
                let code = l.record.words[s];
                if let Some(pos) = stage_map
                    .iter()
                    .position(|(c, x)| *c == code && x.is_none())
                {
                    return Err(Unsupported(format!(
                        "the lead `{}` is at stage `{}`, which the new program removes",
                        self.exprs.interner.get(l.id),
                        self.exprs.stages.names[pos]
                    )));
                }
            }
        }
        for (j, inst) in self.leads.iter().flat_map(|l| {
            l.journeys
                .iter()
                .enumerate()
                .filter_map(|(j, i)| i.as_deref().map(|i| (j, i)))
        }) {
            let mapped = jmap
                .get(j)
                .and_then(|m| m.as_ref())
                .and_then(|(_, nodes)| nodes.get(inst.node).copied().flatten());
            if mapped.is_none() {
                return Err(Unsupported(format!(
                    "leads are inside journey `{}` at a step the new program does not have",
                    p.journeys[j].name
                )));
            }
        }

        // Which triggers keep their previous values.
        let same_rule: Vec<Option<usize>> = q
            .rules
            .iter()
            .map(|r| {
                p.rules
                    .iter()
                    .position(|o| o.name == r.name && oc.func(o.when) == nc.func(r.when))
            })
            .collect();
        let same_handoff: Vec<Option<usize>> = q
            .handoffs
            .iter()
            .map(|h| {
                p.handoffs.iter().position(|o| {
                    o.name == h.name && o.when.map(|f| oc.func(f)) == h.when.map(|f| nc.func(f))
                })
            })
            .collect();
        let same_enter: Vec<Option<usize>> = q
            .journeys
            .iter()
            .map(|j| {
                p.journeys.iter().position(|o| {
                    o.kept_as.is_none()
                        && j.kept_as.is_none()
                        && o.name == j.name
                        && o.enter_when.iter().map(|f| oc.func(*f)).collect::<Vec<_>>()
                            == j.enter_when.iter().map(|f| nc.func(*f)).collect::<Vec<_>>()
                })
            })
            .collect();
        let slot_map: Vec<Option<usize>> = n
            .exprs
            .layout
            .slots
            .iter()
            .map(|(name, kind)| {
                self.exprs
                    .layout
                    .slot(name)
                    .filter(|&os| self.exprs.layout.slots[os].1 == *kind)
            })
            .collect();
        let score_map: Vec<Option<usize>> = n
            .exprs
            .scores
            .iter()
            .map(|s| self.exprs.score_index(s))
            .collect();
        let program_score_map: Vec<Option<usize>> = q
            .scores
            .iter()
            .map(|s| p.scores.iter().position(|o| o.name == s.name))
            .collect();
        let handoff_map: Vec<Option<usize>> = p
            .handoffs
            .iter()
            .map(|h| q.handoffs.iter().position(|x| x.name == h.name))
            .collect();
        let event_map: Vec<Option<u32>> = self
            .exprs
            .layout
            .events
            .iter()
            .map(|(name, _)| n.exprs.layout.event(name))
            .collect();
        let site_map = self.count_site_map(&n, &oc, &nc, &event_map);
        // New handoff → old one of the same name; new journey → the old journeys (all
        // versions) of the same name, whose entries count for it.
        let handoff_from: Vec<Option<usize>> = q
            .handoffs
            .iter()
            .map(|h| p.handoffs.iter().position(|o| o.name == h.name))
            .collect();
        let entries_from: Vec<Vec<usize>> = q
            .journeys
            .iter()
            .map(|j| match j.kept_as {
                Some(_) => Vec::new(),
                None => (0..p.journeys.len())
                    .filter(|&o| p.journeys[o].name == j.name)
                    .collect(),
            })
            .collect();
        // Per old event: (new property, old property, is text) by name and type.
        let props: Vec<Vec<(usize, usize, bool)>> = self
            .exprs
            .layout
            .events
            .iter()
            .zip(&event_map)
            .map(|((_, old_props), ne)| {
                let Some(new_props) = ne.and_then(|ne| n.exprs.layout.events.get(ne as usize))
                else {
                    return Vec::new();
                };
                new_props
                    .1
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (name, kind))| {
                        let oi = old_props
                            .iter()
                            .position(|(on, ok)| on == name && ok == kind)?;
                        Some((i, oi, *kind == SlotKind::Text))
                    })
                    .collect()
            })
            .collect();

        let mut leads = std::mem::take(&mut self.leads);
        for old in &mut leads {
            let lead = self.migrate_lead(
                &mut n,
                old,
                &MigrationMaps {
                    slots: &slot_map,
                    stages: &stage_map,
                    scores: &score_map,
                    program_scores: &program_score_map,
                    rules: &same_rule,
                    handoffs: &same_handoff,
                    handoff_from: &handoff_from,
                    enter: &same_enter,
                    entries_from: &entries_from,
                    journeys: &jmap,
                    events: &event_map,
                    props: &props,
                    sites: &site_map,
                },
            );
            n.index
                .insert(&n.leads, &n.exprs.interner, lead.id, n.leads.len());
            n.leads.push(lead);
        }

        n.sales.tasks = std::mem::take(&mut self.sales.tasks)
            .into_iter()
            .map(|mut t| {
                t.handoff = handoff_map
                    .get(t.handoff)
                    .copied()
                    .flatten()
                    .unwrap_or(usize::MAX);
                if let Some(h) = q.handoffs.get(t.handoff) {
                    t.fired.resize(h.slas.len(), false);
                }
                t
            })
            .collect();
        n.clock.now = self.clock.now;
        n.clock.seq = self.clock.seq;
        n.sales.rr = std::mem::take(&mut self.sales.rr);

        // Timers by what they belong to.
        let mut planned = vec![false; q.schedules.len()];
        for std::cmp::Reverse(Timer {
            at,
            seq,
            lead,
            kind,
        }) in std::mem::take(&mut self.clock.timers)
        {
            let kind = match kind {
                TimerKind::Schedule { schedule } => {
                    let o = &p.schedules[schedule];
                    let Some(s) = q.schedules.iter().position(|x| {
                        x.name == o.name && x.cron == o.cron && x.timezone == o.timezone
                    }) else {
                        continue;
                    };
                    planned[s] = true;
                    TimerKind::Schedule { schedule: s }
                }
                TimerKind::Sla { task, clause } => {
                    let ok = n
                        .sales
                        .tasks
                        .get(task)
                        .and_then(|t| q.handoffs.get(t.handoff))
                        .is_some_and(|h| clause < h.slas.len());
                    if !ok {
                        continue;
                    }
                    TimerKind::Sla { task, clause }
                }
                TimerKind::Decay { score } => {
                    let Some(s) = q
                        .scores
                        .iter()
                        .position(|x| Some(&x.name) == p.scores.get(score).map(|o| &o.name))
                        .filter(|&s| q.scores[s].decay.is_some())
                    else {
                        continue;
                    };
                    TimerKind::Decay { score: s }
                }
                TimerKind::Wake { journey, token } => {
                    let Some((j, _)) = jmap.get(journey).and_then(|m| m.as_ref()) else {
                        continue;
                    };
                    TimerKind::Wake { journey: *j, token }
                }
                TimerKind::Deferred(deferred) => TimerKind::Deferred(Box::new(DeferredSend {
                    journey: deferred.journey.and_then(|(j, entry)| {
                        jmap.get(j)
                            .and_then(|m| m.as_ref())
                            .map(|(nj, _)| (*nj, entry))
                    }),
                    template: deferred.template,
                })),
            };
            n.clock.timers.push(std::cmp::Reverse(Timer {
                at,
                seq,
                lead,
                kind,
            }));
        }
        for (s, done) in planned.into_iter().enumerate() {
            if !done {
                if let Some(next) = n.next_run(s, n.clock.now) {
                    n.timer(usize::MAX, next, TimerKind::Schedule { schedule: s });
                }
            }
        }

        // New and changed triggers take their current values as their previous ones.
        for lead in 0..n.leads.len() {
            for (r, same) in same_rule.iter().enumerate() {
                if same.is_none() {
                    let now = n.holds(lead, q.rules[r].when, None);
                    n.leads[lead].prev[r] = Some(now);
                }
            }
            for (h, same) in same_handoff.iter().enumerate() {
                if let (None, Some(f)) = (same, q.handoffs[h].when) {
                    let now = n.holds(lead, f, None);
                    n.leads[lead].prev[q.rules.len() + h] = Some(now);
                }
            }
            for (j, same) in same_enter.iter().enumerate() {
                if same.is_none() {
                    for (c, f) in q.journeys[j].enter_when.iter().enumerate() {
                        let now = n.holds(lead, *f, None);
                        let at = n.prev.enter_offsets[j] + c;
                        n.leads[lead].prev[at] = Some(now);
                    }
                }
            }
        }
        n.take_lines();
        Ok(n)
    }

    /// For each count site of the new program, a site of this one with the same event
    /// and the same filter meaning (whose matches are therefore the same).
    fn count_site_map(
        &self,
        n: &Engine<'_>,
        oc: &Canon<'_>,
        nc: &Canon<'_>,
        event_map: &[Option<u32>],
    ) -> Vec<(CountSite, CountSite)> {
        let mut out = Vec::new();
        for (event, sites) in &self.counting.precounted {
            let Some(ne) = event_map.get(*event as usize).copied().flatten() else {
                continue;
            };
            let Some(new_sites) = n.counting.precounted.get(&ne) else {
                continue;
            };
            for new_site in new_sites {
                let found = sites.iter().find(|old_site| match (old_site, new_site) {
                    (CountSite::Event(_), CountSite::Event(_)) => true,
                    (CountSite::Filter(a), CountSite::Filter(b)) => oc.func(*a) == nc.func(*b),
                    _ => false,
                });
                if let Some(old_site) = found {
                    out.push((*new_site, *old_site));
                }
            }
        }
        out
    }

    /// One lead, moved onto the new program `n` (see the module doc).
    fn migrate_lead(&self, n: &mut Engine<'_>, old: &mut Lead, m: &MigrationMaps<'_>) -> Lead {
        let q = n.p;
        // Fields.
        let mut record = LeadRecord::new(&n.exprs);
        for (name, lit) in &q.defaults {
            if let Some(slot) = n.exprs.layout.slot(name) {
                record.words[slot] = match &lit.kind {
                    grammar::ast::LiteralKind::Number { value, .. } => value.to_bits(),
                    grammar::ast::LiteralKind::Text(t) => {
                        u64::from(n.exprs.interner.intern(&t.value))
                    }
                    grammar::ast::LiteralKind::Bool(b) => u64::from(*b),
                    grammar::ast::LiteralKind::Name(x) => n.exprs.stages.code(&x.name).unwrap_or(0),
                    grammar::ast::LiteralKind::List(_) => 0,
                };
            }
        }
        for (slot, from) in m.slots.iter().enumerate() {
            let Some(os) = *from else { continue };
            let w = old.record.words[os];
            let w = match n.exprs.layout.slots[slot].1 {
                SlotKind::Text => {
                    u64::from(n.exprs.interner.intern(self.exprs.interner.get(w as u32)))
                }
                SlotKind::Stage => m
                    .stages
                    .iter()
                    .find(|(c, _)| *c == w)
                    .and_then(|(_, x)| *x)
                    .unwrap_or(w),
                _ => w,
            };
            if old.record.is_set(os) {
                record.set_word(slot, w);
            } else {
                record.words[slot] = w;
            }
        }
        for t in old.record.tags.iter() {
            record
                .tags
                .insert(n.exprs.interner.intern(self.exprs.interner.get(*t)));
        }
        // Scores.
        let by_score = |v: &[f64]| -> Vec<f64> {
            m.scores
                .iter()
                .map(|o| o.and_then(|o| v.get(o).copied()).unwrap_or(0.0))
                .collect()
        };
        // Journeys and their entry times (a version's entries count for the journey).
        let mut journeys: Vec<Option<Box<Instance>>> = vec![None; q.journeys.len()];
        let last_entry: Vec<i64> = m
            .entries_from
            .iter()
            .map(|olds| {
                olds.iter()
                    .filter_map(|&oj| old.last_entry.get(oj).copied())
                    .max()
                    .unwrap_or(NEVER)
            })
            .collect();
        for (oj, inst) in old.journeys.iter_mut().enumerate() {
            let Some(mut inst) = inst.take() else {
                continue;
            };
            let Some((nj, nodes)) = m.journeys.get(oj).and_then(|x| x.as_ref()) else {
                continue;
            };
            let Some(node) = nodes.get(inst.node).copied().flatten() else {
                continue;
            };
            inst.node = node;
            let step = &q.journeys[*nj].graph.nodes[node].kind;
            inst.wait = match (inst.wait, step) {
                (
                    Waiting::Event(w),
                    NodeKind::WaitFor {
                        event,
                        filter,
                        timeout,
                        ..
                    },
                ) => Waiting::Event(Box::new(EventWait {
                    event: event.clone(),
                    filter: *filter,
                    since: w.since,
                    timeout: *timeout,
                })),
                (Waiting::Until { .. }, NodeKind::WaitUntil { cond, timeout, .. }) => {
                    Waiting::Until {
                        cond: *cond,
                        timeout: *timeout,
                    }
                }
                (w, _) => w,
            };
            journeys[*nj] = Some(inst);
        }
        // Previous trigger values: rules', handoffs' and unchanged journeys' `enter when`.
        let mut prev = vec![None; n.prev_len()];
        for (i, o) in m.program_scores.iter().enumerate() {
            let pending = o.and_then(|o| {
                old.prev
                    .get(self.prev.decay_flags_at + o)
                    .copied()
                    .flatten()
            });
            if q.scores[i].decay.is_some() && pending == Some(true) {
                prev[n.prev.decay_flags_at + i] = Some(true);
            }
        }
        let old_handoffs = self.p.rules.len();
        for (r, o) in m.rules.iter().enumerate() {
            prev[r] = o.and_then(|o| old.prev.get(o).copied().flatten());
        }
        for (h, o) in m.handoffs.iter().enumerate() {
            prev[q.rules.len() + h] =
                o.and_then(|o| old.prev.get(old_handoffs + o).copied().flatten());
        }
        for (nj, same) in m.enter.iter().enumerate() {
            if let Some(oj) = same {
                for c in 0..q.journeys[nj].enter_when.len() {
                    prev[n.prev.enter_offsets[nj] + c] = old
                        .prev
                        .get(self.prev.enter_offsets[*oj] + c)
                        .copied()
                        .flatten();
                }
            }
        }
        // Counted history.
        let mut history = LeadHistory {
            opened: std::mem::take(&mut old.history.opened),
            clicked: std::mem::take(&mut old.history.clicked),
            ..LeadHistory::default()
        };
        for (new_site, old_site) in m.sites {
            if let Some((_, hits)) = old.history.hits.iter().find(|(s, _)| s == old_site) {
                history.hits.push((*new_site, hits.clone()));
            }
        }
        for e in std::mem::take(&mut old.history.events) {
            let Some(ne) = m.events.get(e.event as usize).copied().flatten() else {
                continue;
            };
            if !n.counting.kept_whole.contains(&ne) {
                continue;
            }
            let mut record = EventRecord::new(&n.exprs, ne, e.at);
            for &(i, oi, text) in m.props.get(e.event as usize).into_iter().flatten() {
                if oi >= 64 || e.set_bits & (1 << oi) == 0 {
                    continue;
                }
                let w = e.words.get(oi).copied().unwrap_or(0);
                let w = if text {
                    u64::from(n.exprs.interner.intern(self.exprs.interner.get(w as u32)))
                } else {
                    w
                };
                record.set_word(i, w);
            }
            history.events.push(record);
        }
        Lead {
            id: n.exprs.interner.intern(self.exprs.interner.get(old.id)),
            record,
            score_parts: m
                .scores
                .iter()
                .map(|o| {
                    o.and_then(|o| old.score_parts.get(o).copied())
                        .unwrap_or_default()
                })
                .collect(),
            score_value: by_score(&old.score_value).into(),
            prev: prev.into(),
            handoff_tasks: m
                .handoff_from
                .iter()
                .map(|o| {
                    o.and_then(|o| old.handoff_tasks.get(o).copied())
                        .unwrap_or_default()
                })
                .collect(),
            journeys: journeys.into(),
            last_entry: last_entry.into(),
            entries: old.entries,
            history,
            sent_at: std::mem::take(&mut old.sent_at),
            stage_cause: std::mem::take(&mut old.stage_cause),
            left_entries: std::mem::take(&mut old.left_entries),
            dirty: true,
        }
    }
}

/// The name-to-name maps one lead's migration reads (built once per deploy).
struct MigrationMaps<'a> {
    slots: &'a [Option<usize>],
    stages: &'a [(u64, Option<u64>)],
    scores: &'a [Option<usize>],
    program_scores: &'a [Option<usize>],
    rules: &'a [Option<usize>],
    handoffs: &'a [Option<usize>],
    handoff_from: &'a [Option<usize>],
    enter: &'a [Option<usize>],
    entries_from: &'a [Vec<usize>],
    journeys: &'a JourneyMap,
    events: &'a [Option<u32>],
    props: &'a [Vec<(usize, usize, bool)>],
    sites: &'a [(CountSite, CountSite)],
}

/// Where each journey of the old program goes: a kept version to its kept copy; a
/// journey kept by this deploy to the copy compiled from its text; any other to the new
/// program's journey of the same name. With the step matching of `compiler::diff`.
fn journey_map(oc: &Canon<'_>, nc: &Canon<'_>) -> JourneyMap {
    let (p, q) = (oc.p, nc.p);
    p.journeys
        .iter()
        .map(|oj| {
            let target = match &oj.kept_as {
                Some(k) => q
                    .journeys
                    .iter()
                    .position(|x| x.kept_as.as_deref() == Some(k.as_str())),
                None => q
                    .journeys
                    .iter()
                    .position(|x| {
                        x.kept_as.is_some() && x.name == oj.name && same_steps(oc, oj, nc, x)
                    })
                    .or_else(|| {
                        q.journeys
                            .iter()
                            .position(|x| x.kept_as.is_none() && x.name == oj.name)
                    }),
            }?;
            let fates = match_steps(oc, &oj.graph, nc, &q.journeys[target].graph);
            let nodes = fates
                .into_iter()
                .map(|f| match f {
                    StepFate::Same(k) => Some(k),
                    _ => None,
                })
                .collect();
            Some((target, nodes))
        })
        .collect()
}

/// Whether two journey versions run the same steps with the same exit and goal.
fn same_steps(
    oc: &Canon<'_>,
    a: &compiler::program::JourneyIr,
    nc: &Canon<'_>,
    b: &compiler::program::JourneyIr,
) -> bool {
    a.graph.nodes.len() == b.graph.nodes.len()
        && match_steps(oc, &a.graph, nc, &b.graph)
            .iter()
            .enumerate()
            .all(|(i, f)| *f == StepFate::Same(i))
        && a.exit_when.iter().map(|f| oc.func(*f)).collect::<Vec<_>>()
            == b.exit_when.iter().map(|f| nc.func(*f)).collect::<Vec<_>>()
        && a.goal.iter().map(|f| oc.func(*f)).collect::<Vec<_>>()
            == b.goal.iter().map(|f| nc.func(*f)).collect::<Vec<_>>()
        && a.exit_on
            .iter()
            .map(|(e, f)| (e, f.map(|f| oc.func(f))))
            .collect::<Vec<_>>()
            == b.exit_on
                .iter()
                .map(|(e, f)| (e, f.map(|f| nc.func(f))))
                .collect::<Vec<_>>()
        && a.reenter_after == b.reenter_after
}
