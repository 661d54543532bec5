//! The engine: the processing model (docs/language.md, section 8) over a lowered program. Pure: inputs with their instants go in, timeline lines come out.
//!
//! Covered so far: lead creation and updates, outside events, scores (the
//! attribute part recomputed each settle round in dependency order, the event
//! part with its clamp and decay), edge-triggered rules and `enter when`, journeys
//! (entry, exit, goal, reentry, every step kind, FNV-1a splits), timers,
//! the runtime events and their queue, `send` with the sending policy
//! (unsubscribe, bounce, no email, frequency cap, quiet-hours deferral),
//! tags, `set`, `notify`, `webhook`, handoffs (assignment, tasks, outcomes,
//! `on` blocks, SLA escalation and reassignment in business time), and the
//! cascade limits, schedules (five-field cron in the program's or the
//! schedule's time zone, `for leads where`, `report to`).

use smallvec::SmallVec;
use std::collections::VecDeque;
use thin_vec::ThinVec;

use compiler::eval::{reads_only_the_event, CountSite, EvalCtx, EventRecord, History, LeadRecord};
use compiler::evaluator::{Evaluator, EvaluatorKind, Interpreter, JitEvaluator};
use compiler::graph::{ActionIr, NodeKind, NotifyTo};
use compiler::ir::{text_hash, FuncId, Interner, IrExpr, IrKind, SlotKind};
use compiler::program::LoweredProgram;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::scenario::{Input, InputKind, InputValue};
use crate::timeline::{Entry, FieldValue, Line};

mod actions;
mod checkpoint;
mod dated;
mod evaluation;
mod handoffs;
mod inputs;
mod journeys;
mod migrate;
mod scores;
mod settle;
mod templates;

use actions::Acting;
use evaluation::Evaluation;
use handoffs::Sales;
use inputs::Counting;
use journeys::Clock;
use settle::PrevLayout;
use templates::Templates;

pub use checkpoint::CHECKPOINT_FORMAT;

/// `Lead::last_entry` of a journey never entered.
const NEVER: i64 = i64::MIN;

/// Rounds per settle and handled events per input before `cascade_limit`.
pub const MAX_ROUNDS: usize = 32;
/// Handled events per input before `cascade_limit`.
pub const MAX_EVENTS: usize = 1000;

/// Why a program cannot be simulated (the JIT could not compile it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

/// What a run exercised, for `tandem test --coverage`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    /// (journey, node) pairs that ran, with how many times (the dashboard's branch shares).
    pub nodes: rustc_hash::FxHashMap<(usize, usize), u64>,
    /// Rules that fired.
    pub rules: FxHashSet<usize>,
    /// Handoffs that started a task.
    pub handoffs: FxHashSet<usize>,
    /// (handoff, SLA clause) pairs that fired.
    pub slas: FxHashSet<(usize, usize)>,
    /// (handoff, outcome: 0 accept, 1 reject, 2 complete) pairs that happened.
    pub outcomes: FxHashSet<(usize, u8)>,
}

impl Coverage {
    /// Adds what `other` exercised to this coverage.
    pub fn merge(&mut self, other: &Coverage) {
        for (k, n) in &other.nodes {
            *self.nodes.entry(*k).or_insert(0) += n;
        }
        self.rules.extend(other.rules.iter().copied());
        self.handoffs.extend(other.handoffs.iter().copied());
        self.slas.extend(other.slas.iter().copied());
        self.outcomes.extend(other.outcomes.iter().copied());
    }
}

/// One score of a lead, explained.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreExplanation {
    /// The score's name.
    pub name: String,
    /// Its current value.
    pub value: f64,
    /// The part from its `if` lines.
    pub attribute_part: f64,
    /// The part from its `on` lines (after clamping and decay).
    pub event_part: f64,
    /// The lower bound, if any.
    pub min: Option<f64>,
    /// The upper bound, if any.
    pub max: Option<f64>,
    /// Decay: the percentage and its period in seconds, if any.
    pub decay: Option<(u64, i64)>,
    /// Each `if` line: points, its condition, whether it holds now.
    pub if_lines: Vec<(f64, FuncId, bool)>,
    /// Each event occurrence that gave points to an `on` line, oldest first; empty unless
    /// the engine traced the lead from its start ([`Engine::trace_scores`]).
    pub event_points: Vec<EventPoints>,
}

/// Points an event gave a score through one `on` line, and what is left of them.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPoints {
    /// The event's name.
    pub event: String,
    /// When it was handled.
    pub at: i64,
    /// The `on` line's `where`, if it has one.
    pub filter: Option<FuncId>,
    /// The points the line gave.
    pub points: f64,
    /// Decay steps since (each keeps `100 - percent` % of the event part).
    pub decay_steps: u32,
    /// Whether a decay step since brought the whole event part under 0.5, so to 0.
    pub decayed_to_zero: bool,
    /// What is left of `points` after those steps, before any clamping.
    pub left: f64,
    /// The bound the event part was held at when these points were added, if it was
    /// (the sum of what is left is then more, or less, than the event part).
    pub clamped_to: Option<f64>,
}

/// A rule's or a handoff's `when`, explained.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionExplanation {
    /// The rule's or handoff's name.
    pub name: String,
    /// Where the condition is written.
    pub span: grammar::Span,
    /// The condition, part by part (`why.holds`: whether it holds now).
    pub why: compiler::explain::Part,
}

/// Why a lead is where it is (see [`Engine::explain`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The lead's current stage.
    pub stage: String,
    /// What set the stage.
    pub stage_cause: String,
    /// Each score, in program order.
    pub scores: Vec<ScoreExplanation>,
    /// Journey, the step it is at (its source span), and what it waits for.
    pub journeys: Vec<(String, grammar::Span, String)>,
    /// The lead's tags, sorted.
    pub tags: Vec<String>,
    /// Each segment, in program order, and whether the lead is in it now.
    pub segments: Vec<(String, bool)>,
    /// Each rule's `when`, in program order.
    pub rules: Vec<ConditionExplanation>,
    /// Each handoff's `when` (handoffs without one left out), in program order.
    pub handoffs: Vec<ConditionExplanation>,
    /// Each journey's `enter when`, `exit when` and `goal` conditions, in program order,
    /// named `JOURNEY: enter when` (kept earlier versions left out).
    pub journey_conditions: Vec<ConditionExplanation>,
}

/// What [`Engine::trace_scores`] keeps: one lead's event points and the decay steps after them.
#[derive(Debug, Clone, Default)]
struct ScoreTrace {
    /// The traced lead's id, and its index once it exists.
    id: String,
    index: Option<usize>,
    /// (score in program order, its points), oldest first.
    points: Vec<(usize, EventPoints)>,
    /// Each score's event part as last seen (program order): a change seen elsewhere
    /// than where points are added is a decay step.
    seen: Vec<f64>,
}

pub use crate::render::TemplateParts;

/// One journey the lead is in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Instance {
    node: usize,
    /// Increases with every entry of this lead (a deferred send checks it).
    entry: u64,
    wait: Waiting,
    /// The timer that ends the current wait (stale timers carry an old value).
    wait_token: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Waiting {
    Nothing,
    /// `wait D` / `wait until H:MM`: continue at `next`.
    Timer,
    /// `wait for EVENT`. Boxed: the largest kind and the rarest, and every journey
    /// instance is as large as its largest kind.
    Event(Box<EventWait>),
    Until {
        cond: FuncId,
        timeout: usize,
    },
    /// `wait until … FIELD …`: the instant being waited for (re-timed when the field
    /// changes). Last, so that checkpoints written before it still read.
    Date {
        at: i64,
    },
}

/// A `wait for EVENT` step's wait: for `event` (passing `filter`) since sequence number
/// `since`, else on to `timeout`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct EventWait {
    event: String,
    filter: Option<FuncId>,
    since: u64,
    timeout: usize,
}

/// What a lead did that counts read (thin vectors: one word each, and no allocation
/// while empty, as most are).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct LeadHistory {
    /// Whole events, kept only for counts whose filter reads more than the event.
    events: ThinVec<EventRecord>,
    /// Per precomputed count: the instants of the events it matched, ascending.
    hits: ThinVec<(CountSite, ThinVec<i64>)>,
    /// Templates opened and clicked (names shared between leads; few per lead).
    opened: ThinVec<std::rc::Rc<str>>,
    clicked: ThinVec<std::rc::Rc<str>>,
}

impl History for LeadHistory {
    fn events(&self, event: u32, from: i64, to: i64) -> Vec<&EventRecord> {
        self.events
            .iter()
            .filter(|e| e.event == event && e.at > from && e.at <= to)
            .collect()
    }
    fn engaged(&self, template: &str, clicked: bool) -> bool {
        if clicked {
            self.clicked.iter().any(|t| &**t == template)
        } else {
            self.opened.iter().any(|t| &**t == template)
        }
    }
    fn hits(&self, site: CountSite) -> Option<&[i64]> {
        self.hits
            .iter()
            .find(|(s, _)| *s == site)
            .map(|(_, h)| h.as_slice())
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Lead {
    /// The lead's id, interned (the `id` field holds the same symbol).
    id: u32,
    record: LeadRecord,
    /// Attribute part of each score as last recomputed and event part (by score index).
    score_parts: Box<[ScoreParts]>,
    /// Each score's value (by score index; conditions read this table as it is).
    score_value: Box<[f64]>,
    /// Previous value of every trigger: each rule's `when`, then each handoff's `when`,
    /// then every journey's `enter when` clauses, journey after journey
    /// (`Engine::enter_offsets` says where each journey's start); then, from
    /// `Engine::decay_flags_at`, one flag per score (program order): `Some(true)` while a
    /// decay step is scheduled. One table, not four: every lead has one, and each table
    /// costs a pointer and an allocation.
    prev: Box<[Option<bool>]>,
    /// Per handoff: its open task and how many tasks it has created.
    handoff_tasks: Box<[HandoffTasks]>,
    /// Boxed: most leads are in few of the program's journeys, and an empty slot is then
    /// one word instead of a whole instance.
    journeys: Box<[Option<Box<Instance>>]>,
    /// When the lead last entered each journey; [`NEVER`] if it never did (one word
    /// instead of an `Option`'s two).
    last_entry: Box<[i64]>,
    entries: u64,
    history: LeadHistory,
    sent_at: ThinVec<i64>,
    /// What last changed the stage (for `tandem explain`), shared between leads.
    stage_cause: std::rc::Rc<str>,
    /// Journey entries the lead left early (exit or goal), by entry number (few).
    left_entries: ThinVec<u64>,
    /// Whether anything a condition can see changed since the flag was cleared.
    dirty: bool,
}

/// The two parts of a lead's score.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct ScoreParts {
    /// From the lead's attributes, as last recomputed.
    attribute: f64,
    /// From events (points, decayed).
    event: f64,
}

/// A lead's tasks of one handoff.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct HandoffTasks {
    /// The open task (index into `Engine::tasks`).
    open: Option<u32>,
    /// Tasks created so far.
    created: u32,
}

impl HandoffTasks {
    fn open(&self) -> Option<usize> {
        self.open.map(|t| t as usize)
    }
}

/// A runtime event waiting to be handled.
#[derive(Debug, Clone)]
struct Raised {
    record: EventRecord,
    name: String,
    seq: u64,
    /// True for an outside event: its points were added when it was applied.
    outside: bool,
}

/// One SLA clause's deadline for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaDue {
    /// `accept within …` (else `complete within …`).
    pub accept: bool,
    /// `else escalate` (else `else reassign`).
    pub escalate: bool,
    /// The instant the clause fires unless the task is accepted (completed) or closed.
    pub at: i64,
}

/// A Sales task of a handoff.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Task {
    id: String,
    lead: usize,
    handoff: usize,
    team: String,
    assignee: String,
    /// The title as rendered when the task was created (shown again on escalation and reassignment).
    title: String,
    accepted: bool,
    closed: bool,
    fired: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
enum TimerKind {
    /// A schedule's run (not tied to a lead).
    Schedule {
        schedule: usize,
    },
    /// SLA clause `clause` of task `task`.
    Sla {
        task: usize,
        clause: usize,
    },
    /// A score's decay step (scores by program index).
    Decay {
        score: usize,
    },
    Wake {
        journey: usize,
        token: u64,
    },
    /// Boxed: rare, and the largest kind (every pending timer is as large as its kind).
    Deferred(Box<DeferredSend>),
}

/// An email held back by quiet hours or a frequency cap until its timer fires.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct DeferredSend {
    /// Shared: every lead deferred by the same quiet hours holds the same name.
    template: std::rc::Rc<str>,
    /// The journey and entry that sent it, if a journey did.
    journey: Option<(usize, u64)>,
}

/// A pending timer. Ordered by instant, then creation sequence (unique, so the fields
/// after it never decide).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct Timer {
    at: i64,
    seq: u64,
    lead: usize,
    kind: TimerKind,
}

/// The state of a simulated world.
pub struct Engine<'p> {
    p: &'p LoweredProgram,
    exprs: compiler::ir::CompiledExprs,
    coverage: Coverage,
    leads: Vec<Lead>,
    /// Lead ids to indexes.
    index: LeadIndex,
    out: Vec<Line>,
    /// One lead's score history, for `tandem explain` (see [`Engine::trace_scores`]).
    score_trace: Option<Box<ScoreTrace>>,
    tz: jiff::tz::TimeZone,
    /// Texts many leads hold (stage causes, template names), one copy each.
    shared: FxHashMap<String, std::rc::Rc<str>>,
    /// The evaluation room's state.
    evaluation: Evaluation<'p>,
    /// The actions room's state.
    acting: Acting,
    /// The handoffs room's state.
    sales: Sales,
    /// The clock.
    clock: Clock,
    /// What the inputs room keeps of events for `count(…)`.
    counting: Counting,
    /// Where things sit in a lead's tables, fixed when the engine is made.
    prev: PrevLayout,
    /// The templates room's state.
    mail: Templates,
    /// `tandem simulate --trace`: write `trace` lines saying why nothing happened.
    trace: bool,
    /// Set by each input, cleared by its first settle round (rules that already held
    /// are traced once an input).
    trace_fresh: bool,
}

/// Lead ids to lead indexes: a table of indexes hashed by the lead's own id (four bytes
/// a lead, where a map keyed by the id would hold a second pointer to it).
#[derive(Default)]
pub(crate) struct LeadIndex {
    table: hashbrown::HashTable<u32>,
}

impl LeadIndex {
    fn get(&self, leads: &[Lead], texts: &Interner, id: &str) -> Option<usize> {
        self.table
            .find(text_hash(id), |&i| {
                leads.get(i as usize).is_some_and(|l| texts.get(l.id) == id)
            })
            .map(|&i| i as usize)
    }

    /// Adds lead `i` (about to be pushed onto `leads`), whose id is the symbol `id`.
    fn insert(&mut self, leads: &[Lead], texts: &Interner, id: u32, i: usize) {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        self.table.insert_unique(text_hash(texts.get(id)), i, |&j| {
            leads
                .get(j as usize)
                .map_or(0, |l| text_hash(texts.get(l.id)))
        });
    }
}

/// Pushes onto a per-lead list growing it by one element only: these lists stay short
/// (a few emails, opens, entries) and there are a million of them, so doubling's spare
/// room would cost more than the copies.
fn push_exact<T>(list: &mut ThinVec<T>, item: T) {
    if list.len() == list.capacity() {
        list.reserve_exact(1);
    }
    list.push(item);
}

/// FNV-1a, 64 bits: a hash fixed forever (split branches and cluster partitions are
/// decided by it, so they must not change between releases).
pub fn fnv1a64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The branch of a `split`: the first whose cumulative percentage exceeds `b`.
pub fn split_branch(lead: &str, journey: &str, k: usize, percents: &[u64]) -> usize {
    let b = fnv1a64(&format!("{lead}:{journey}:{k}")) % 100;
    let mut acc = 0;
    for (i, p) in percents.iter().enumerate() {
        acc += p;
        if acc > b {
            return i;
        }
    }
    percents.len().saturating_sub(1)
}

/// Every `count(…)` of a condition: its event and its filter.
fn count_sites(e: &IrExpr, out: &mut Vec<(u32, Option<FuncId>)>) {
    e.walk(&mut |x| {
        if let IrKind::Count { event, filter, .. } = x.kind {
            out.push((event, filter));
        }
    });
}

/// The scores a condition reads.
fn reads_scores(e: &IrExpr, out: &mut FxHashSet<usize>) {
    e.walk(&mut |x| {
        if let IrKind::Score(i) = x.kind {
            out.insert(i);
        }
    });
}

impl<'p> Engine<'p> {
    /// Prepares a world for a lowered program. `templates` maps names to subjects.
    pub fn new(
        p: &'p LoweredProgram,
        kind: EvaluatorKind,
        templates: FxHashMap<String, TemplateParts>,
    ) -> Result<Engine<'p>, Unsupported> {
        let eval: Box<dyn Evaluator + 'p> = match kind {
            EvaluatorKind::Interp => Box::new(Interpreter { exprs: &p.exprs }),
            EvaluatorKind::Jit => Box::new(
                JitEvaluator::new(&p.exprs)
                    .map_err(|e| Unsupported(format!("the JIT failed: {}", e.message)))?,
            ),
        };
        // Score order: dependencies first, ties in program order.
        let n = p.scores.len();
        let idx: Vec<usize> = p
            .scores
            .iter()
            .map(|s| p.exprs.score_index(&s.name).unwrap_or(0))
            .collect();
        let mut deps: Vec<FxHashSet<usize>> = vec![FxHashSet::default(); n];
        for (i, s) in p.scores.iter().enumerate() {
            let mut reads = FxHashSet::default();
            for (_, f) in &s.if_lines {
                reads_scores(&p.exprs.funcs[*f].body, &mut reads);
            }
            deps[i] = reads
                .into_iter()
                .filter_map(|r| idx.iter().position(|x| *x == r))
                .filter(|d| *d != i)
                .collect();
        }
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        while order.len() < n {
            let Some(next) = (0..n).find(|&i| !done[i] && deps[i].iter().all(|d| done[*d])) else {
                break;
            };
            done[next] = true;
            order.push(next);
        }
        let tz = jiff::tz::TimeZone::get(&p.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        // Counts whose filter reads only the event are decided when the event arrives;
        // an event with any other count is kept whole.
        let mut sites: Vec<(u32, Option<FuncId>)> = Vec::new();
        for f in &p.exprs.funcs {
            count_sites(&f.body, &mut sites);
        }
        let counted: FxHashSet<u32> = sites.iter().map(|(event, _)| *event).collect();
        let mut precounted: FxHashMap<u32, Vec<CountSite>> = FxHashMap::default();
        let mut kept_whole: FxHashSet<u32> = FxHashSet::default();
        for (event, filter) in &sites {
            let pure = filter.is_none_or(|f| {
                p.exprs
                    .funcs
                    .get(f)
                    .is_some_and(|func| reads_only_the_event(&func.body))
            });
            if !pure {
                kept_whole.insert(*event);
            }
        }
        for (event, filter) in sites {
            if kept_whole.contains(&event) {
                continue;
            }
            let site = filter.map_or(CountSite::Event(event), CountSite::Filter);
            let list = precounted.entry(event).or_default();
            if !list.contains(&site) {
                list.push(site);
            }
        }
        // A lead's `prev` table: rules, handoffs, each journey's `enter when` clauses,
        // then the decay flags.
        let mut next = p.rules.len() + p.handoffs.len();
        let enter_offsets = p
            .journeys
            .iter()
            .map(|j| {
                let start = next;
                next += j.enter_when.len();
                start
            })
            .collect();
        let decay_flags_at = next;
        Ok(Engine {
            p,
            exprs: p.exprs.clone(),
            coverage: Coverage::default(),
            trace: false,
            trace_fresh: false,
            leads: Vec::new(),
            index: LeadIndex::default(),
            out: Vec::new(),
            shared: FxHashMap::default(),
            evaluation: Evaluation {
                eval,
                memo: std::cell::RefCell::new(compiler::eval::TextMemo::default()),
                scratch: Vec::new(),
                funcs_buffer: Vec::new(),
                words_buffer: Vec::new(),
            },
            acting: Acting {
                cause: String::new(),
                effects: FxHashSet::default(),
                effects_at: i64::MIN,
                copying_entry: false,
            },
            sales: Sales {
                tasks: Vec::new(),
                rr: FxHashMap::default(),
                calendars: p
                    .teams
                    .iter()
                    .map(|t| (t.name.clone(), crate::calendar::Calendar::new(t, &tz)))
                    .collect(),
            },
            clock: Clock {
                timers: std::collections::BinaryHeap::new(),
                seq: 0,
                now: 0,
            },
            counting: Counting {
                counted,
                precounted,
                kept_whole,
            },
            prev: PrevLayout {
                score_order: order,
                score_idx: idx.clone(),
                enter_offsets,
                decay_flags_at,
            },
            mail: Templates {
                templates,
                renderer: crate::render::Renderer::new(),
            },
            tz,
            score_trace: None,
        })
    }

    /// One shared copy of a text many leads hold.
    fn shared_text(&mut self, text: String) -> std::rc::Rc<str> {
        if let Some(t) = self.shared.get(&text) {
            return t.clone();
        }
        let t: std::rc::Rc<str> = text.as_str().into();
        self.shared.insert(text, t.clone());
        t
    }

    /// The current instant.
    pub fn now(&self) -> i64 {
        self.clock.now
    }

    /// The length of each lead's `prev` table: its triggers, then its decay flags.
    fn prev_len(&self) -> usize {
        self.prev.decay_flags_at + self.p.scores.len()
    }

    /// The id of lead `lead` (empty for an index past the last lead).
    pub fn lead_id(&self, lead: usize) -> &str {
        self.leads
            .get(lead)
            .map_or("", |l| self.exprs.interner.get(l.id))
    }

    /// The index of a lead by id.
    pub fn lead(&self, id: &str) -> Option<usize> {
        self.index.get(&self.leads, &self.exprs.interner, id)
    }

    /// Whether the lead is in the journey now (in any of its versions).
    pub fn in_journey(&self, lead: usize, journey: &str) -> bool {
        self.p
            .journeys
            .iter()
            .enumerate()
            .any(|(j, x)| x.name == journey && self.leads[lead].journeys[j].is_some())
    }

    /// Whether the lead is inside a kept earlier version of journey `j`.
    fn inside_kept_version(&self, lead: usize, j: usize) -> bool {
        let name = &self.p.journeys[j].name;
        self.p.journeys.iter().enumerate().any(|(k, x)| {
            x.kept_as.is_some() && x.name == *name && self.leads[lead].journeys[k].is_some()
        })
    }

    /// The assignee of the lead's open task of a handoff.
    pub fn open_task_assignee(&self, lead: usize, handoff: &str) -> Option<String> {
        let h = self.p.handoffs.iter().position(|x| x.name == handoff)?;
        let t = self.leads[lead].handoff_tasks[h].open()?;
        Some(self.sales.tasks[t].assignee.clone())
    }

    /// Whether a lead's field was ever given a value (by an input, a default or `set`).
    pub fn lead_field_is_set(&self, lead: usize, name: &str) -> bool {
        self.slot(name)
            .zip(self.leads.get(lead))
            .is_some_and(|(slot, l)| l.record.is_set(slot))
    }

    /// One field of a lead by name (`None` for an unknown field or lead).
    pub fn lead_field(&self, lead: usize, name: &str) -> Option<FieldValue> {
        let slot = self.slot(name)?;
        (lead < self.leads.len()).then(|| self.field_value(lead, slot))
    }

    /// Every field of the lead, in layout order (for templates and the lead view).
    pub fn lead_fields(&self, lead: usize) -> Vec<(String, FieldValue)> {
        self.exprs
            .layout
            .slots
            .iter()
            .enumerate()
            .map(|(slot, (name, _))| (name.clone(), self.field_value(lead, slot)))
            .collect()
    }

    /// The score values of the lead, by score name in program order.
    pub fn lead_scores(&self, lead: usize) -> Vec<(String, f64)> {
        self.p
            .scores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    s.name.clone(),
                    self.leads[lead].score_value[self.prev.score_idx[i]],
                )
            })
            .collect()
    }

    /// How many leads are at each step of each journey now: `[journey][node]`, in the
    /// order of the lowered program's journeys and their graphs' nodes.
    pub fn journey_positions(&self) -> Vec<Vec<u64>> {
        let mut out: Vec<Vec<u64>> = self
            .p
            .journeys
            .iter()
            .map(|j| vec![0; j.graph.nodes.len()])
            .collect();
        for lead in &self.leads {
            for (j, inst) in lead.journeys.iter().enumerate() {
                if let Some(inst) = inst {
                    if let Some(n) = out.get_mut(j).and_then(|v| v.get_mut(inst.node)) {
                        *n += 1;
                    }
                }
            }
        }
        out
    }

    /// How many leads there are.
    pub fn lead_count(&self) -> usize {
        self.leads.len()
    }

    /// Evaluates a compiled condition for a lead now.
    pub fn condition(&mut self, lead: usize, f: FuncId) -> bool {
        self.holds(lead, f, None)
    }

    /// From now on, keeps the points each event gives the scores of lead `id` and the decay
    /// steps after them, for [`Engine::explain`]'s `event_points` (`tandem explain`). One
    /// lead only, and called before its first input: the engine itself keeps only each
    /// score's sum, as the points of every lead's every event would cost memory.
    pub fn trace_scores(&mut self, id: &str) {
        let index = self.lead(id);
        let seen = (0..self.p.scores.len())
            .map(|i| {
                index
                    .and_then(|l| self.leads.get(l))
                    .map_or(0.0, |l| l.score_parts[self.prev.score_idx[i]].event)
            })
            .collect();
        self.score_trace = Some(Box::new(ScoreTrace {
            id: id.to_owned(),
            index,
            points: Vec::new(),
            seen,
        }));
    }

    /// The score trace, if lead `lead` is the one traced.
    fn score_trace_of(&mut self, lead: usize) -> Option<&mut ScoreTrace> {
        let trace = self.score_trace.as_deref_mut()?;
        if trace.index.is_none() {
            let id = self.leads.get(lead).map(|l| self.exprs.interner.get(l.id));
            if id == Some(trace.id.as_str()) {
                trace.index = Some(lead);
            }
        }
        (trace.index == Some(lead)).then_some(trace)
    }

    /// Condition `f` for the lead now, part by part, with where it is written.
    fn why(&self, lead: usize, f: FuncId) -> Option<(grammar::Span, compiler::explain::Part)> {
        let func = self.exprs.funcs.get(f)?;
        let written = self
            .p
            .origins
            .iter()
            .find(|o| o.func == f)
            .map_or(func.body.span, |o| o.span);
        let l = self.leads.get(lead)?;
        let filter = |g: FuncId, c: &mut EvalCtx<'_>| self.evaluation.eval.call(g, c) != 0;
        let mut ctx = EvalCtx::new(
            &self.exprs,
            &l.record,
            None,
            &l.score_value,
            self.clock.now,
            &l.history,
            &filter,
        )
        .ok()?;
        let part = compiler::explain::explain(&func.body, written, &mut ctx);
        Some((written, part))
    }

    /// Why the lead has its scores, stage, segments and journeys now, and why each rule and
    /// handoff holds or not (for `tandem explain` and the service's lead view).
    pub fn explain(&mut self, lead: usize) -> Explanation {
        let p = self.p;
        let mut scores = Vec::new();
        for (i, s) in p.scores.iter().enumerate() {
            let idx = self.prev.score_idx[i];
            let mut lines = Vec::new();
            for &(points, f) in &s.if_lines {
                lines.push((points, f, self.holds(lead, f, None)));
            }
            let event_points = self
                .score_trace
                .as_deref()
                .filter(|t| t.index == Some(lead))
                .map(|t| {
                    t.points
                        .iter()
                        .filter(|(score, _)| *score == i)
                        .map(|(_, x)| x.clone())
                        .collect()
                })
                .unwrap_or_default();
            scores.push(ScoreExplanation {
                name: s.name.clone(),
                // `+ 0.0`: a negative zero is shown as 0.
                value: self.leads[lead].score_value[idx] + 0.0,
                attribute_part: self.leads[lead].score_parts[idx].attribute + 0.0,
                event_part: self.leads[lead].score_parts[idx].event + 0.0,
                min: s.min,
                max: s.max,
                decay: s.decay,
                if_lines: lines,
                event_points,
            });
        }
        let conditions = |engine: &Engine<'_>, named: Vec<(String, FuncId)>| {
            named
                .into_iter()
                .filter_map(|(name, f)| {
                    let (span, why) = engine.why(lead, f)?;
                    Some(ConditionExplanation { name, span, why })
                })
                .collect::<Vec<_>>()
        };
        let rules = conditions(
            self,
            p.rules.iter().map(|r| (r.name.clone(), r.when)).collect(),
        );
        let handoffs = conditions(
            self,
            p.handoffs
                .iter()
                .filter_map(|h| Some((h.name.clone(), h.when?)))
                .collect(),
        );
        let journey_conditions = conditions(
            self,
            p.journeys
                .iter()
                .filter(|j| j.kept_as.is_none())
                .flat_map(|j| {
                    let named = |clause: &'static str, fs: &[FuncId]| {
                        fs.iter()
                            .map(move |f| (format!("{}: {clause}", j.name), *f))
                            .collect::<Vec<_>>()
                    };
                    let mut all = named("enter when", &j.enter_when);
                    all.extend(named("exit when", &j.exit_when));
                    all.extend(named("goal", &j.goal));
                    all
                })
                .collect(),
        );
        let mut segments = Vec::new();
        for o in &p.origins {
            if let Some(name) = o.what.strip_prefix("segment ") {
                segments.push((name.to_owned(), self.holds(lead, o.func, None)));
            }
        }
        let tags = match self.lead_field(lead, "tags") {
            Some(FieldValue::Tags(t)) => t,
            _ => Vec::new(),
        };
        let stage = self
            .slot("stage")
            .map(|s| {
                self.exprs
                    .stages
                    .name(self.leads[lead].record.words[s])
                    .to_owned()
            })
            .unwrap_or_default();
        let mut journeys = Vec::new();
        for (j, inst) in self.leads[lead].journeys.iter().enumerate() {
            if let Some(inst) = inst {
                let node = &p.journeys[j].graph.nodes[inst.node];
                let waiting = match &inst.wait {
                    Waiting::Nothing => "running".to_owned(),
                    Waiting::Timer => match node.kind {
                        NodeKind::Wait { secs } => format!("waiting {secs} s (`wait`)"),
                        NodeKind::WaitClock { minute, .. } => {
                            format!(
                                "waiting until {}:{:02} (`wait until`)",
                                minute / 60,
                                minute % 60
                            )
                        }
                        _ => "waiting".to_owned(),
                    },
                    Waiting::Event(w) => format!("waiting for `{}`", w.event),
                    Waiting::Until { .. } => "waiting until a condition holds".to_owned(),
                    Waiting::Date { at } => match (&node.kind, jiff::Timestamp::from_second(*at)) {
                        (NodeKind::WaitDate { field, .. }, Ok(t)) => {
                            format!("waiting until {t} (from `{field}`)")
                        }
                        _ => "waiting for a date".to_owned(),
                    },
                };
                journeys.push((p.journeys[j].name.clone(), node.span, waiting));
            }
        }
        Explanation {
            stage,
            stage_cause: self.leads[lead].stage_cause.to_string(),
            scores,
            journeys,
            tags,
            segments,
            rules,
            handoffs,
            journey_conditions,
        }
    }

    /// What this world has exercised so far.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    /// The lines written so far.
    pub fn take_lines(&mut self) -> Vec<Line> {
        std::mem::take(&mut self.out)
    }

    fn next_seq(&mut self) -> u64 {
        self.clock.seq += 1;
        self.clock.seq
    }

    /// Writes a record word and marks the lead as changed.
    fn write_field(&mut self, lead: usize, slot: usize, word: u64) {
        if let Some(l) = self.leads.get_mut(lead) {
            l.record.set_word(slot, word);
            l.dirty = true;
        }
    }

    /// Turns `trace` lines on (`tandem simulate --trace`); off, the timeline is unchanged.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    /// A `trace` line, when tracing: it explains, it changes nothing (no condition sees it).
    fn trace(&mut self, lead: usize, what: &str, message: impl FnOnce() -> String) {
        if !self.trace {
            return;
        }
        let entry = Entry::Trace {
            what: what.to_owned(),
            message: message(),
        };
        self.push_line(lead, entry);
    }

    fn line(&mut self, lead: usize, entry: Entry) {
        if let Some(l) = self.leads.get_mut(lead) {
            // Every line is a change the conditions may see.
            l.dirty = true;
        }
        self.push_line(lead, entry);
    }

    /// Writes a line about `lead` (by its id) at the clock's instant.
    fn push_line(&mut self, lead: usize, entry: Entry) {
        let id = self
            .leads
            .get(lead)
            .map(|l| std::sync::Arc::from(self.exprs.interner.get(l.id)));
        self.out.push(Line {
            at: self.clock.now,
            lead: id,
            entry,
        });
    }
}
