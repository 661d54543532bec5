//! A world's state as bytes and back (a checkpoint), so a host that logs inputs can start from a recent state and replay only the inputs after it.
//!
//! A checkpoint holds what inputs built up and nothing the program determines: the texts
//! interned after the program's own, every lead (fields, scores, trigger values,
//! journey instances, counted history), pending timers, tasks, the round-robin
//! positions, the clock and sequence counter, and the effects already done at the
//! current instant (so a same-instant repeat is still skipped after a restore). Caches
//! (the renderer's compiled templates, text memo) are not kept: they rebuild as used.
//!
//! It is only valid for the same program (the same lowered program, built from the same
//! source by the same release): [`Engine::resume`] checks what it can cheaply (the
//! program's own texts, every table's length, every index) and refuses a checkpoint that
//! does not fit rather than run on it; the host keeps a format number and a checksum
//! beside the bytes ([`CHECKPOINT_FORMAT`]).
//!
//! The bytes are deterministic: two worlds in the same state give the same bytes, however
//! they got there (timers are written in firing order, maps sorted), so a test can
//! compare a resumed world with one that never stopped.

use super::*;
use serde::{Deserialize, Serialize};

/// The layout of a checkpoint's bytes. Bumped whenever any part of the engine's state
/// changes shape: a checkpoint of another format is not read (the host replays instead).
pub const CHECKPOINT_FORMAT: u32 = 1;

/// The state, borrowed for writing.
#[derive(Serialize)]
struct StateOut<'a> {
    base_texts: u64,
    texts: Vec<&'a str>,
    now: i64,
    seq: u64,
    effects_at: i64,
    effects: Vec<(usize, usize)>,
    leads: &'a [Lead],
    timers: Vec<&'a Timer>,
    tasks: &'a [Task],
    rr: Vec<(&'a str, usize)>,
}

/// The state, owned for reading (the same fields in the same order as [`StateOut`]).
#[derive(Deserialize)]
struct StateIn {
    base_texts: u64,
    texts: Vec<String>,
    now: i64,
    seq: u64,
    effects_at: i64,
    effects: Vec<(usize, usize)>,
    leads: Vec<Lead>,
    timers: Vec<Timer>,
    tasks: Vec<Task>,
    rr: Vec<(String, usize)>,
}

/// Every action of the program, in a fixed order (rules, journeys step by step,
/// handoffs, schedules): the engine keys done effects by an action's address, and a
/// checkpoint writes its place in this list instead.
fn action_sites(p: &LoweredProgram) -> Vec<usize> {
    let addr = |a: &ActionIr| a as *const ActionIr as usize;
    let mut out = Vec::new();
    for r in &p.rules {
        out.extend(r.then.iter().map(addr));
    }
    for j in &p.journeys {
        for n in &j.graph.nodes {
            if let NodeKind::Action(a) = &n.kind {
                out.push(addr(a));
            }
        }
    }
    for h in &p.handoffs {
        for list in [&h.on_accept, &h.on_reject, &h.on_complete] {
            out.extend(list.iter().map(addr));
        }
    }
    for s in &p.schedules {
        for item in &s.items {
            if let compiler::program::ScheduleItemIr::ForLeads { actions, .. } = item {
                out.extend(actions.iter().map(addr));
            }
        }
    }
    out
}

fn refuse(why: impl Into<String>) -> Unsupported {
    Unsupported(format!(
        "the checkpoint does not fit this program: {}",
        why.into()
    ))
}

impl<'p> Engine<'p> {
    /// The world's state as bytes (see the module documentation). Call it between
    /// inputs, after the lines were taken.
    pub fn checkpoint(&self) -> Result<Vec<u8>, Unsupported> {
        if !self.out.is_empty() {
            return Err(Unsupported(
                "a checkpoint is taken between inputs, after their lines were taken".into(),
            ));
        }
        let base = self.p.exprs.interner.len();
        let texts = (base..self.exprs.interner.len())
            .map(|s| {
                self.exprs
                    .interner
                    .get(u32::try_from(s).unwrap_or(u32::MAX))
            })
            .collect();
        let sites = action_sites(self.p);
        let mut effects = Vec::with_capacity(self.acting.effects.len());
        for (lead, site) in &self.acting.effects {
            let Some(k) = sites.iter().position(|s| s == site) else {
                return Err(Unsupported(
                    "an effect done at this instant names no action of the program".into(),
                ));
            };
            effects.push((*lead, k));
        }
        effects.sort_unstable();
        let mut timers: Vec<&Timer> = self.clock.timers.iter().map(|t| &t.0).collect();
        timers.sort();
        let mut rr: Vec<(&str, usize)> = self
            .sales
            .rr
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        rr.sort_unstable();
        let state = StateOut {
            base_texts: base as u64,
            texts,
            now: self.clock.now,
            seq: self.clock.seq,
            effects_at: self.acting.effects_at,
            effects,
            leads: &self.leads,
            timers,
            tasks: &self.sales.tasks,
            rr,
        };
        postcard::to_allocvec(&state)
            .map_err(|e| Unsupported(format!("the state cannot be written: {e}")))
    }

    /// A world for `p` in the state [`Engine::checkpoint`] wrote, or why the bytes do not
    /// fit `p` (nothing is half restored: the caller replays instead).
    pub fn resume(
        p: &'p LoweredProgram,
        kind: EvaluatorKind,
        templates: FxHashMap<String, TemplateParts>,
        bytes: &[u8],
    ) -> Result<Engine<'p>, Unsupported> {
        let mut n = Engine::new(p, kind, templates)?;
        let state: StateIn = postcard::from_bytes(bytes)
            .map_err(|e| refuse(format!("its bytes do not read: {e}")))?;
        let base = n.exprs.interner.len();
        if state.base_texts != base as u64 {
            return Err(refuse("the program's own texts differ"));
        }
        for (k, text) in state.texts.iter().enumerate() {
            if n.exprs.interner.intern(text) as usize != base + k {
                return Err(refuse("a text repeats one of the program's own"));
            }
        }
        n.validate(&state)?;
        let sites = action_sites(p);
        n.acting.effects = state
            .effects
            .iter()
            .map(|(lead, k)| sites.get(*k).map(|s| (*lead, *s)))
            .collect::<Option<_>>()
            .ok_or_else(|| refuse("an effect names an action the program lacks"))?;
        n.acting.effects_at = state.effects_at;
        n.clock.now = state.now;
        n.clock.seq = state.seq;
        n.leads = state.leads;
        for i in 0..n.leads.len() {
            // One shared copy of each text many leads hold, as a live world has.
            let cause = n.leads[i].stage_cause.to_string();
            n.leads[i].stage_cause = n.shared_text(cause);
            for clicked in [false, true] {
                let list = if clicked {
                    std::mem::take(&mut n.leads[i].history.clicked)
                } else {
                    std::mem::take(&mut n.leads[i].history.opened)
                };
                let shared: ThinVec<std::rc::Rc<str>> =
                    list.iter().map(|t| n.shared_text(t.to_string())).collect();
                if clicked {
                    n.leads[i].history.clicked = shared;
                } else {
                    n.leads[i].history.opened = shared;
                }
            }
            let id = n.leads[i].id;
            if n.lead(n.exprs.interner.get(id)).is_some() {
                return Err(refuse("a lead id appears twice"));
            }
            n.index.insert(&n.leads, &n.exprs.interner, id, i);
        }
        let mut timers = Vec::with_capacity(state.timers.len());
        for mut t in state.timers {
            if let TimerKind::Deferred(d) = &mut t.kind {
                d.template = n.shared_text(d.template.to_string());
            }
            timers.push(std::cmp::Reverse(t));
        }
        n.clock.timers = timers.into();
        n.sales.tasks = state.tasks;
        n.sales.rr = state.rr.into_iter().collect();
        Ok(n)
    }

    /// Refuses a state whose tables do not have this program's shape or whose indexes
    /// point outside them (a later step would index with them).
    fn validate(&self, s: &StateIn) -> Result<(), Unsupported> {
        let p = self.p;
        let texts = (self.exprs.interner.len()) as u64;
        // Exact lengths: the JIT reads these tables through raw pointers.
        let words = LeadRecord::new(&self.exprs).words.len();
        let event_words = self.exprs.layout.max_event_props.max(1);
        let (scores, journeys) = (self.prev.score_idx.len(), p.journeys.len());
        let leads = s.leads.len();
        for l in &s.leads {
            let sized = u64::from(l.id) < texts
                && l.record.words.len() == words
                && l.history
                    .events
                    .iter()
                    .all(|e| e.words.len() == event_words)
                && l.score_parts.len() == scores
                && l.score_value.len() == scores
                && l.prev.len() == self.prev_len()
                && l.handoff_tasks.len() == p.handoffs.len()
                && l.journeys.len() == journeys
                && l.last_entry.len() == journeys
                && l.handoff_tasks
                    .iter()
                    .all(|h| h.open().is_none_or(|t| t < s.tasks.len()));
            if !sized {
                return Err(refuse("a lead's tables have another shape"));
            }
            for (j, inst) in l.journeys.iter().enumerate() {
                let Some(inst) = inst else { continue };
                let nodes = p.journeys[j].graph.nodes.len();
                let funcs = self.exprs.funcs.len();
                let fits = inst.node < nodes
                    && match &inst.wait {
                        Waiting::Nothing | Waiting::Timer | Waiting::Date { .. } => true,
                        Waiting::Event(w) => {
                            w.timeout < nodes && w.filter.is_none_or(|f| f < funcs)
                        }
                        Waiting::Until { cond, timeout } => *cond < funcs && *timeout < nodes,
                    };
                if !fits {
                    return Err(refuse("a journey step is not in the program"));
                }
            }
        }
        for t in &s.timers {
            let fits = match &t.kind {
                TimerKind::Schedule { schedule } => *schedule < p.schedules.len(),
                TimerKind::Sla { task, clause } => {
                    t.lead < leads
                        && s.tasks
                            .get(*task)
                            .and_then(|t| p.handoffs.get(t.handoff))
                            .is_some_and(|h| *clause < h.slas.len())
                }
                TimerKind::Decay { score } => *score < scores && t.lead < leads,
                TimerKind::Wake { journey, .. } => *journey < journeys && t.lead < leads,
                TimerKind::Deferred(d) => {
                    t.lead < leads && d.journey.is_none_or(|(j, _)| j < journeys)
                }
            };
            if !fits {
                return Err(refuse("a timer points outside the world"));
            }
        }
        for t in &s.tasks {
            let fits = t.lead < leads
                && p.handoffs
                    .get(t.handoff)
                    .is_some_and(|h| t.fired.len() == h.slas.len());
            if !fits {
                return Err(refuse("a task points outside the world"));
            }
        }
        Ok(())
    }
}
