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

use compiler::engine::{Engine as EvalEngine, EngineKind, Interpreter, JitEngine};
use compiler::eval::{reads_only_the_event, CountSite, EvalCtx, EventRecord, History, LeadRecord};
use compiler::graph::{ActionIr, NodeKind, NotifyTo};
use compiler::ir::{text_hash, FuncId, Interner, IrExpr, IrKind, SlotKind};
use compiler::program::LoweredProgram;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::scenario::{Input, InputKind, InputValue};
use crate::timeline::{Entry, FieldValue, Line};

mod checkpoint;
mod migrate;

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
    eval: Box<dyn EvalEngine + 'p>,
    exprs: compiler::ir::CompiledExprs,
    templates: FxHashMap<String, TemplateParts>,
    /// What the actions being run belong to (recorded with stage changes).
    cause: String,
    /// Outbound effects done at `effects_at`: (lead, action site). Sites are the
    /// addresses of the program's actions, which live as long as the program.
    effects: FxHashSet<(usize, usize)>,
    effects_at: i64,
    coverage: Coverage,
    /// The one renderer (plain texts here; email bodies for the service), with every
    /// template met so far compiled once.
    renderer: crate::render::Renderer,
    memo: std::cell::RefCell<compiler::eval::TextMemo>,
    /// Scratch space of evaluations, kept between them (see `EvalCtx::with_scratch`).
    scratch: Vec<std::rc::Rc<str>>,
    /// Buffers of `settle` and `eval_many`, kept between calls.
    funcs_buffer: Vec<FuncId>,
    words_buffer: Vec<u64>,
    leads: Vec<Lead>,
    /// Lead ids to indexes.
    index: LeadIndex,
    /// Pending timers, earliest (instant, creation sequence) first. A binary heap: one
    /// dense array, where a B-tree filled in time order leaves its nodes half empty
    /// (every active lead has a timer or two, so this is per-lead memory).
    timers: std::collections::BinaryHeap<std::cmp::Reverse<Timer>>,
    seq: u64,
    now: i64,
    score_order: Vec<usize>,
    /// Score index in the evaluation tables for each score in program order.
    score_idx: Vec<usize>,
    /// Events some `count(…)` reads: only these are kept in a lead's history.
    counted: FxHashSet<u32>,
    /// Counted events whose counts all read only the event: their matches are decided on
    /// arrival (`LeadHistory::hits`) and the events themselves are not kept.
    precounted: FxHashMap<u32, Vec<CountSite>>,
    /// Where each journey's `enter when` values start in a lead's `prev` (after the
    /// rules' and handoffs').
    enter_offsets: Vec<usize>,
    /// Where the decay flags start in a lead's `prev` (after every trigger).
    decay_flags_at: usize,
    /// Counted events some count of which reads more than the event: kept whole.
    kept_whole: FxHashSet<u32>,
    out: Vec<Line>,
    tz: jiff::tz::TimeZone,
    tasks: Vec<Task>,
    /// Round-robin position per team.
    rr: FxHashMap<String, usize>,
    /// Texts many leads hold (stage causes, template names), one copy each.
    shared: FxHashMap<String, std::rc::Rc<str>>,
    calendars: FxHashMap<String, crate::calendar::Calendar>,
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
        kind: EngineKind,
        templates: FxHashMap<String, TemplateParts>,
    ) -> Result<Engine<'p>, Unsupported> {
        let eval: Box<dyn EvalEngine + 'p> = match kind {
            EngineKind::Interp => Box::new(Interpreter { exprs: &p.exprs }),
            EngineKind::Jit => Box::new(
                JitEngine::new(&p.exprs)
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
            eval,
            exprs: p.exprs.clone(),
            templates,
            cause: String::new(),
            effects: FxHashSet::default(),
            effects_at: i64::MIN,
            coverage: Coverage::default(),
            renderer: crate::render::Renderer::new(),
            memo: std::cell::RefCell::new(compiler::eval::TextMemo::default()),
            scratch: Vec::new(),
            funcs_buffer: Vec::new(),
            words_buffer: Vec::new(),
            leads: Vec::new(),
            index: LeadIndex::default(),
            timers: std::collections::BinaryHeap::new(),
            seq: 0,
            now: 0,
            score_order: order,
            score_idx: idx.clone(),
            counted,
            precounted,
            kept_whole,
            decay_flags_at,
            enter_offsets,
            out: Vec::new(),
            calendars: p
                .teams
                .iter()
                .map(|t| (t.name.clone(), crate::calendar::Calendar::new(t, &tz)))
                .collect(),
            tz,
            tasks: Vec::new(),
            rr: FxHashMap::default(),
            shared: FxHashMap::default(),
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
        self.now
    }

    /// The length of each lead's `prev` table: its triggers, then its decay flags.
    fn prev_len(&self) -> usize {
        self.decay_flags_at + self.p.scores.len()
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
        Some(self.tasks[t].assignee.clone())
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
                    self.leads[lead].score_value[self.score_idx[i]],
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

    /// Why the lead has its scores, stage and journeys now (for `tandem explain`).
    pub fn explain(&mut self, lead: usize) -> Explanation {
        let p = self.p;
        let mut scores = Vec::new();
        for (i, s) in p.scores.iter().enumerate() {
            let idx = self.score_idx[i];
            let mut lines = Vec::new();
            for &(points, f) in &s.if_lines {
                lines.push((points, f, self.holds(lead, f, None)));
            }
            scores.push(ScoreExplanation {
                name: s.name.clone(),
                value: self.leads[lead].score_value[idx],
                attribute_part: self.leads[lead].score_parts[idx].attribute,
                event_part: self.leads[lead].score_parts[idx].event,
                min: s.min,
                max: s.max,
                decay: s.decay,
                if_lines: lines,
            });
        }
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
                };
                journeys.push((p.journeys[j].name.clone(), node.span, waiting));
            }
        }
        Explanation {
            stage,
            stage_cause: self.leads[lead].stage_cause.to_string(),
            scores,
            journeys,
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
        self.seq += 1;
        self.seq
    }

    /// Writes a record word and marks the lead as changed.
    fn write_field(&mut self, lead: usize, slot: usize, word: u64) {
        if let Some(l) = self.leads.get_mut(lead) {
            l.record.set_word(slot, word);
            l.dirty = true;
        }
    }

    fn line(&mut self, lead: usize, entry: Entry) {
        if let Some(l) = self.leads.get_mut(lead) {
            // Every line is a change the conditions may see.
            l.dirty = true;
        }
        let id = self
            .leads
            .get(lead)
            .map(|l| std::sync::Arc::from(self.exprs.interner.get(l.id)));
        self.out.push(Line {
            at: self.now,
            lead: id,
            entry,
        });
    }

    // ------------------------------------------------------------ evaluation

    fn eval(&mut self, lead: usize, f: FuncId, event: Option<&EventRecord>) -> u64 {
        let mut words = [0u64; 1];
        self.eval_many(lead, &[f], event, &mut words);
        words[0]
    }

    /// Evaluates `funcs` against one snapshot of the lead (one context for all of them),
    /// writing each result to `out` at the same position.
    fn eval_many(
        &mut self,
        lead: usize,
        funcs: &[FuncId],
        event: Option<&EventRecord>,
        out: &mut [u64],
    ) {
        let mut buffer = std::mem::take(&mut self.scratch);
        let l = &self.leads[lead];
        let filter = |g: FuncId, c: &mut EvalCtx<'_>| self.eval.call(g, c) != 0;
        match EvalCtx::new(
            &self.exprs,
            &l.record,
            event,
            &l.score_value,
            self.now,
            &l.history,
            &filter,
        ) {
            Ok(mut ctx) => {
                ctx.memo = Some(&self.memo);
                buffer.clear();
                ctx.scratch = buffer;
                for (f, o) in funcs.iter().zip(out.iter_mut()) {
                    // Scratch texts live for one evaluation.
                    ctx.scratch.clear();
                    *o = self.eval.call(*f, &mut ctx);
                }
                buffer = ctx.into_scratch();
            }
            Err(_) => out.iter_mut().for_each(|o| *o = 0),
        }
        self.scratch = buffer;
    }

    fn holds(&mut self, lead: usize, f: FuncId, event: Option<&EventRecord>) -> bool {
        self.eval(lead, f, event) != 0
    }

    fn slot(&self, field: &str) -> Option<usize> {
        self.exprs.layout.slot(field)
    }

    fn word_of(&mut self, v: &InputValue) -> u64 {
        match v {
            InputValue::Text(s) => u64::from(self.exprs.interner.intern(s)),
            InputValue::Number(x) => x.to_bits(),
            InputValue::Bool(b) => u64::from(*b),
            InputValue::Time(t) => *t as u64,
            InputValue::Stage(s) => self.exprs.stages.code(s).unwrap_or(0),
            InputValue::Tags(_) => 0,
        }
    }

    fn field_value(&self, lead: usize, slot: usize) -> FieldValue {
        let w = self.leads[lead].record.words[slot];
        match self.exprs.layout.slots[slot].1 {
            SlotKind::Number => FieldValue::Number(f64::from_bits(w)),
            SlotKind::Bool => FieldValue::Bool(w != 0),
            SlotKind::Time => FieldValue::Time(w as i64),
            SlotKind::Stage => FieldValue::Stage(self.exprs.stages.name(w).to_owned()),
            SlotKind::Text => FieldValue::Text(self.exprs.interner.get(w as u32).to_owned()),
            SlotKind::Tags => {
                let mut tags: Vec<String> = self.leads[lead]
                    .record
                    .tags
                    .iter()
                    .map(|t| self.exprs.interner.get(*t).to_owned())
                    .collect();
                tags.sort();
                FieldValue::Tags(tags)
            }
        }
    }

    fn text_field(&self, lead: usize, field: &str) -> String {
        match self.slot(field) {
            Some(s) => self
                .exprs
                .interner
                .get(self.leads[lead].record.words[s] as u32)
                .to_owned(),
            None => String::new(),
        }
    }

    fn lead_tz(&self, lead: usize) -> jiff::tz::TimeZone {
        let name = self.text_field(lead, "timezone");
        if name.is_empty() {
            return self.tz.clone();
        }
        jiff::tz::TimeZone::get(&name).unwrap_or_else(|_| self.tz.clone())
    }

    // ------------------------------------------------------------ inputs

    /// Runs every timer due at or before `until`, in time order.
    pub fn advance_to(&mut self, until: i64) {
        while let Some(std::cmp::Reverse(first)) = self.timers.peek() {
            let at = first.at;
            if at > until {
                break;
            }
            // Every timer due at this instant, in creation order; a lead's decay
            // steps run first, together, as one input.
            let mut due = Vec::new();
            while self.timers.peek().is_some_and(|t| t.0.at == at) {
                if let Some(std::cmp::Reverse(timer)) = self.timers.pop() {
                    due.push(timer);
                }
            }
            self.now = at;
            // Each lead's decay steps at this instant, leads in order of first appearance.
            let mut decays: Vec<(usize, Vec<usize>)> = Vec::new();
            for t in &due {
                if let TimerKind::Decay { score } = t.kind {
                    match decays.iter_mut().find(|(lead, _)| *lead == t.lead) {
                        Some((_, scores)) => scores.push(score),
                        None => decays.push((t.lead, vec![score])),
                    }
                }
            }
            let mut decayed: FxHashSet<usize> = FxHashSet::default();
            for t in due {
                if matches!(t.kind, TimerKind::Decay { .. }) {
                    continue;
                }
                if decayed.insert(t.lead) {
                    if let Some((_, scores)) = decays.iter().find(|(lead, _)| *lead == t.lead) {
                        self.decay(t.lead, scores);
                    }
                }
                self.run_timer(t);
            }
            // Leads with only decay steps at this instant.
            for (lead, scores) in &decays {
                if decayed.insert(*lead) {
                    self.decay(*lead, scores);
                }
            }
        }
        self.now = self.now.max(until);
    }

    /// One decay input: each due score's event part shrinks (program order), then settle.
    fn decay(&mut self, lead: usize, scores: &[usize]) {
        let mut order = scores.to_vec();
        order.sort_unstable();
        order.dedup();
        for i in order {
            self.leads[lead].prev[self.decay_flags_at + i] = None;
            let Some((pct, _)) = self.p.scores[i].decay else {
                continue;
            };
            let idx = self.score_idx[i];
            let mut e = self.leads[lead].score_parts[idx].event * (100.0 - pct as f64) / 100.0;
            if e.abs() < 0.5 {
                e = 0.0;
            }
            self.leads[lead].score_parts[idx].event = e;
            let v = self.clamp(i, self.leads[lead].score_parts[idx].attribute + e);
            self.set_score_value(lead, i, v);
            self.schedule_decay(lead, i);
        }
        self.process(lead, VecDeque::new());
    }

    /// Schedules score `i`'s next decay step, unless its event part is 0.
    fn schedule_decay(&mut self, lead: usize, i: usize) {
        let Some((_, period)) = self.p.scores[i].decay else {
            return;
        };
        if period <= 0 {
            return;
        }
        let idx = self.score_idx[i];
        if self.leads[lead].score_parts[idx].event == 0.0 {
            return;
        }
        if self.leads[lead].prev[self.decay_flags_at + i] == Some(true) {
            return;
        }
        self.leads[lead].prev[self.decay_flags_at + i] = Some(true);
        let created = self
            .slot("created_at")
            .map(|s| self.leads[lead].record.words[s] as i64)
            .unwrap_or(0);
        let k = (self.now - created).div_euclid(period) + 1;
        let at = created.saturating_add(k.saturating_mul(period));
        self.timer(lead, at, TimerKind::Decay { score: i });
    }

    /// Applies one input at its instant (after the timers due by then).
    pub fn input(&mut self, input: &Input) {
        self.advance_to(input.at);
        self.now = input.at;
        let mut queue: VecDeque<Raised> = VecDeque::new();
        match &input.kind {
            InputKind::Create(fields) => {
                // A second `create` of an id is refused before it reaches the engine; one
                // that reaches it anyway (a log written by two processes) changes nothing,
                // so no lead id ever exists twice.
                if self.lead(&input.lead).is_some() {
                    return;
                }
                let lead = self.create(&input.lead, fields);
                let ev = self.raise(lead, "lead_created", Vec::new());
                queue.push_back(ev);
                self.process(lead, queue);
            }
            InputKind::Update(fields) => {
                let Some(lead) = self
                    .index
                    .get(&self.leads, &self.exprs.interner, &input.lead)
                else {
                    return;
                };
                let raised = self.update(lead, fields);
                queue.extend(raised);
                self.process(lead, queue);
            }
            InputKind::Event { event, props } => {
                let Some(lead) = self
                    .index
                    .get(&self.leads, &self.exprs.interner, &input.lead)
                else {
                    return;
                };
                let ev = self.outside_event(lead, event, props);
                queue.push_back(ev);
                self.process(lead, queue);
            }
            InputKind::Task {
                handoff,
                outcome,
                by,
                reason,
            } => {
                let Some(lead) = self
                    .index
                    .get(&self.leads, &self.exprs.interner, &input.lead)
                else {
                    return;
                };
                let h = self.p.handoffs.iter().position(|x| x.name == *handoff);
                let task = h.and_then(|h| self.leads[lead].handoff_tasks[h].open());
                let (Some(h), Some(t)) = (h, task) else {
                    self.line(
                        lead,
                        Entry::Error {
                            code: "no_open_task".into(),
                            message: format!(
                                "the lead has no open task of the handoff `{handoff}`"
                            ),
                        },
                    );
                    return;
                };
                self.outcome(lead, h, t, *outcome, by.clone(), reason.clone(), &mut queue);
                self.process(lead, queue);
            }
        }
    }

    fn create(&mut self, id: &str, fields: &[(String, InputValue)]) -> usize {
        let mut record = LeadRecord::new(&self.exprs);
        for (name, lit) in &self.p.defaults {
            if let Some(slot) = self.exprs.layout.slot(name) {
                let w = match &lit.kind {
                    grammar::ast::LiteralKind::Number { value, .. } => value.to_bits(),
                    grammar::ast::LiteralKind::Text(t) => {
                        u64::from(self.exprs.interner.intern(&t.value))
                    }
                    grammar::ast::LiteralKind::Bool(b) => u64::from(*b),
                    grammar::ast::LiteralKind::Name(n) => {
                        self.exprs.stages.code(&n.name).unwrap_or(0)
                    }
                    grammar::ast::LiteralKind::List(_) => 0,
                };
                record.words[slot] = w; // a default is not "set"
            }
        }
        let id_sym = self.exprs.interner.intern(id);
        let scores = self.exprs.scores.len();
        let lead = Lead {
            id: id_sym,
            record,
            score_parts: vec![ScoreParts::default(); scores].into(),
            score_value: vec![0.0; scores].into(),
            prev: vec![None; self.prev_len()].into(),
            handoff_tasks: vec![HandoffTasks::default(); self.p.handoffs.len()].into(),
            journeys: vec![None; self.p.journeys.len()].into(),
            last_entry: vec![NEVER; self.p.journeys.len()].into(),
            entries: 0,
            history: LeadHistory::default(),
            sent_at: ThinVec::new(),
            stage_cause: self.shared_text("the lead's creation".to_owned()),
            left_entries: ThinVec::new(),
            dirty: true,
        };
        self.index
            .insert(&self.leads, &self.exprs.interner, id_sym, self.leads.len());
        self.leads.push(lead);
        let i = self.leads.len() - 1;
        let second_stage = self.exprs.stages.codes.get(1).copied().unwrap_or(0);
        for (field, w) in [
            ("id", u64::from(id_sym)),
            ("created_at", self.now as u64),
            ("last_activity_at", self.now as u64),
            ("stage", second_stage),
        ] {
            if let Some(s) = self.slot(field) {
                self.write_field(i, s, w);
            }
        }
        for (name, v) in fields {
            self.assign_input(i, name, v);
        }
        self.line(i, Entry::LeadCreated);
        i
    }

    fn assign_input(&mut self, lead: usize, name: &str, v: &InputValue) {
        if let InputValue::Tags(tags) = v {
            let syms: compiler::eval::TagSet =
                tags.iter().map(|t| self.exprs.interner.intern(t)).collect();
            self.leads[lead].record.tags = syms;
            self.leads[lead].dirty = true;
            if let Some(s) = self.slot("tags") {
                self.write_field(lead, s, 0);
            }
            return;
        }
        let w = self.word_of(v);
        if let Some(s) = self.slot(name) {
            self.write_field(lead, s, w);
        }
    }

    fn update(&mut self, lead: usize, fields: &[(String, InputValue)]) -> Vec<Raised> {
        self.cause = "an update input".into();
        let stage_slot = self.slot("stage");
        let before_stage = stage_slot.map(|s| self.leads[lead].record.words[s]);
        let mut changed = Vec::new();
        for (name, v) in fields {
            let Some(slot) = self.slot(name) else {
                continue;
            };
            let before = self.field_value(lead, slot);
            let was_set = self.leads[lead].record.is_set(slot);
            self.assign_input(lead, name, v);
            let after = self.field_value(lead, slot);
            if before != after || !was_set {
                changed.push((name.clone(), after));
            }
        }
        let mut raised = Vec::new();
        if !changed.is_empty() {
            self.line(lead, Entry::LeadUpdated { fields: changed });
            raised.push(self.raise(lead, "lead_updated", Vec::new()));
        }
        if let (Some(s), Some(before)) = (stage_slot, before_stage) {
            let after = self.leads[lead].record.words[s];
            if after != before {
                raised.push(self.stage_changed(lead, before, after));
            }
        }
        raised
    }

    fn event_record(&mut self, name: &str, props: &[(String, InputValue)]) -> EventRecord {
        let id = self.exprs.layout.event(name).unwrap_or(0);
        let mut rec = EventRecord::new(&self.exprs, id, self.now);
        for (k, v) in props {
            if let Some((i, _)) = self.exprs.layout.event_prop(id, k) {
                let w = self.word_of(v);
                rec.set_word(i, w);
            }
        }
        rec
    }

    fn outside_event(&mut self, lead: usize, name: &str, props: &[(String, InputValue)]) -> Raised {
        let record = self.event_record(name, props);
        let shown: Vec<(String, FieldValue)> = props.to_vec();
        self.line(
            lead,
            Entry::Event {
                event: name.to_owned(),
                props: shown,
            },
        );
        // Flags and engagement.
        let template = props
            .iter()
            .find(|(k, _)| k == "template")
            .and_then(|(_, v)| match v {
                InputValue::Text(t) => Some(t.clone()),
                _ => None,
            });
        match name {
            "unsubscribed" | "resubscribed" => {
                if let Some(s) = self.slot("unsubscribed") {
                    self.write_field(lead, s, u64::from(name == "unsubscribed"));
                }
            }
            "email_bounced" => {
                if let Some(s) = self.slot("bounced") {
                    self.write_field(lead, s, 1);
                }
            }
            _ => {}
        }
        if let Some(t) = template {
            match name {
                "email_opened" => {
                    let t = self.shared_text(t);
                    let h = &mut self.leads[lead].history;
                    if !h.opened.contains(&t) {
                        push_exact(&mut h.opened, t);
                    }
                }
                "email_clicked" => {
                    let t = self.shared_text(t);
                    let h = &mut self.leads[lead].history;
                    if !h.opened.contains(&t) {
                        push_exact(&mut h.opened, t.clone());
                    }
                    if !h.clicked.contains(&t) {
                        push_exact(&mut h.clicked, t);
                    }
                }
                _ => {}
            }
        }
        if !matches!(name, "email_bounced" | "unsubscribed" | "resubscribed") {
            if let Some(s) = self.slot("last_activity_at") {
                let now = self.now as u64;
                self.write_field(lead, s, now);
            }
        }
        if self.counted.contains(&record.event) {
            self.record_history(lead, &record);
        }
        self.add_event_points(lead, name, &record);
        let seq = self.next_seq();
        Raised {
            record,
            name: name.to_owned(),
            seq,
            outside: true,
        }
    }

    /// Keeps what the program's counts need of an event: its instant for each count that
    /// matches it (when every count of the event reads only the event), else the event.
    fn record_history(&mut self, lead: usize, record: &EventRecord) {
        if self.kept_whole.contains(&record.event) {
            push_exact(&mut self.leads[lead].history.events, record.clone());
        }
        let Some(sites) = self.precounted.get(&record.event).cloned() else {
            return;
        };
        for site in sites {
            let hit = match site {
                CountSite::Event(_) => true,
                CountSite::Filter(f) => self.holds(lead, f, Some(record)),
            };
            if !hit {
                continue;
            }
            let hits = &mut self.leads[lead].history.hits;
            match hits.iter_mut().find(|(s, _)| *s == site) {
                // Kept ascending even if an input arrives with an earlier instant.
                Some((_, at)) => {
                    let i = at.partition_point(|&t| t <= record.at);
                    if at.len() == at.capacity() {
                        at.reserve_exact(1);
                    }
                    at.insert(i, record.at);
                }
                None => push_exact(hits, (site, thin_vec::thin_vec![record.at])),
            }
        }
    }

    /// Raises a runtime event: writes nothing (its own line is written by the caller), records it.
    fn raise(&mut self, lead: usize, name: &str, props: Vec<(String, InputValue)>) -> Raised {
        let record = self.event_record(name, &props);
        if self.counted.contains(&record.event) {
            self.record_history(lead, &record);
        }
        let seq = self.next_seq();
        Raised {
            record,
            name: name.to_owned(),
            seq,
            outside: false,
        }
    }

    fn stage_changed(&mut self, lead: usize, from: u64, to: u64) -> Raised {
        let cause = std::mem::take(&mut self.cause);
        self.leads[lead].stage_cause = self.shared_text(cause);
        let (f, t) = (
            self.exprs.stages.name(from).to_owned(),
            self.exprs.stages.name(to).to_owned(),
        );
        self.line(
            lead,
            Entry::StageChanged {
                from: f.clone(),
                to: t.clone(),
            },
        );
        self.raise(
            lead,
            "stage_changed",
            vec![
                ("from".into(), InputValue::Stage(f)),
                ("to".into(), InputValue::Stage(t)),
            ],
        )
    }

    // ------------------------------------------------------------ scores

    fn set_score_value(&mut self, lead: usize, i: usize, value: f64) {
        let idx = self.score_idx[i];
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

    fn clamp(&self, i: usize, x: f64) -> f64 {
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

    fn attribute_part(&mut self, lead: usize, i: usize) -> f64 {
        let lines = &self.p.scores[i].if_lines;
        let mut funcs = std::mem::take(&mut self.funcs_buffer);
        funcs.clear();
        funcs.extend(lines.iter().map(|&(_, f)| f));
        let mut words = std::mem::take(&mut self.words_buffer);
        words.clear();
        words.resize(funcs.len(), 0);
        self.eval_many(lead, &funcs, None, &mut words);
        let a = lines
            .iter()
            .zip(&words)
            .filter(|(_, w)| **w != 0)
            .map(|(&(points, _), _)| points)
            .sum();
        self.funcs_buffer = funcs;
        self.words_buffer = words;
        a
    }

    fn recompute_scores(&mut self, lead: usize) {
        for k in 0..self.score_order.len() {
            let i = self.score_order[k];
            let a = self.attribute_part(lead, i);
            let idx = self.score_idx[i];
            self.leads[lead].score_parts[idx].attribute = a;
            let e = self.leads[lead].score_parts[idx].event;
            let v = self.clamp(i, a + e);
            self.set_score_value(lead, i, v);
        }
    }

    fn add_event_points(&mut self, lead: usize, event: &str, record: &EventRecord) {
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
            let idx = self.score_idx[i];
            let e = self.clamp(i, self.leads[lead].score_parts[idx].event + delta);
            self.leads[lead].score_parts[idx].event = e;
            // The attribute part stays as last recomputed until the next round.
            let v = self.clamp(i, self.leads[lead].score_parts[idx].attribute + e);
            self.set_score_value(lead, i, v);
            self.schedule_decay(lead, i);
        }
    }

    // ------------------------------------------------------------ settle

    /// Handles the events of one input in order, settling after each (section 11).
    fn process(&mut self, lead: usize, mut queue: VecDeque<Raised>) {
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
            self.resume_wait_for(lead, &ev, &mut queue);
            self.enter_on(lead, &ev, &mut queue);
            if self.leads[lead].dirty && !self.settle(lead, &mut queue) {
                return;
            }
        }
    }

    fn cascade(&mut self, lead: usize) {
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
    fn settle(&mut self, lead: usize, queue: &mut VecDeque<Raised>) -> bool {
        for _round in 0..MAX_ROUNDS {
            self.recompute_scores(lead);
            // One snapshot: evaluate everything first, with one context. The conditions
            // are listed in a fixed order and their results read back in that order.
            let p = self.p;
            let mut funcs = std::mem::take(&mut self.funcs_buffer);
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
            let mut words = std::mem::take(&mut self.words_buffer);
            words.clear();
            words.resize(funcs.len(), 0);
            self.eval_many(lead, &funcs, None, &mut words);
            self.funcs_buffer = funcs;
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
                    let at = self.enter_offsets[j] + c;
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
            self.words_buffer = words;
            let mut fired_rules: SmallVec<[usize; 8]> = SmallVec::new();
            for (r, now) in rules {
                let prev = self.leads[lead].prev[r];
                self.leads[lead].prev[r] = Some(now);
                if now && prev != Some(true) {
                    fired_rules.push(r);
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
                self.cause = format!("rule `{}`", p.rules[r].name);
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
            if !acted {
                return true;
            }
        }
        self.cascade(lead);
        queue.clear();
        false
    }

    // ------------------------------------------------------------ journeys

    fn enter(&mut self, lead: usize, j: usize, queue: &mut VecDeque<Raised>) -> bool {
        if self.leads[lead].journeys[j].is_some() {
            return false;
        }
        // A lead still inside an earlier version of this journey is inside the journey.
        if self.p.journeys[j].kept_as.is_none() && self.inside_kept_version(lead, j) {
            return false;
        }
        let prev = self.leads[lead].last_entry[j];
        if prev != NEVER {
            match self.p.journeys[j].reenter_after {
                None => return false,
                Some(d) if self.now < prev.saturating_add(d) => return false,
                Some(_) => {}
            }
        }
        let blockers: Vec<FuncId> = self.p.journeys[j]
            .goal
            .iter()
            .chain(self.p.journeys[j].exit_when.iter())
            .copied()
            .collect();
        if blockers.into_iter().any(|f| self.holds(lead, f, None)) {
            return false;
        }
        self.leads[lead].entries += 1;
        let entry = self.leads[lead].entries;
        self.leads[lead].last_entry[j] = self.now;
        self.leads[lead].journeys[j] = Some(Box::new(Instance {
            node: 0,
            entry,
            wait: Waiting::Nothing,
            wait_token: 0,
        }));
        let name = self.p.journeys[j].name.clone();
        self.line(lead, Entry::JourneyEntered { journey: name });
        self.continue_at(lead, j, 0, queue);
        true
    }

    fn leave(&mut self, lead: usize, j: usize, reason: &str) -> bool {
        let Some(inst) = self.leads[lead].journeys[j].take() else {
            return false;
        };
        if reason != "completed" {
            // Left early (exit or goal): its deferred sends are dropped when released.
            push_exact(&mut self.leads[lead].left_entries, inst.entry);
        }
        let name = self.p.journeys[j].name.clone();
        self.line(
            lead,
            Entry::JourneyExited {
                journey: name,
                reason: reason.to_owned(),
            },
        );
        true
    }

    fn enter_on(&mut self, lead: usize, ev: &Raised, queue: &mut VecDeque<Raised>) {
        for j in 0..self.p.journeys.len() {
            let p = self.p;
            let fire = p.journeys[j].enter_on.iter().any(|(name, f)| {
                *name == ev.name && f.is_none_or(|f| self.holds(lead, f, Some(&ev.record)))
            });
            if fire {
                self.enter(lead, j, queue);
            }
        }
    }

    fn resume_wait_for(&mut self, lead: usize, ev: &Raised, queue: &mut VecDeque<Raised>) {
        // Oldest wait first: waits began in the order of their sequence numbers.
        let mut waiting: Vec<(u64, usize, Option<FuncId>)> = Vec::new();
        for j in 0..self.p.journeys.len() {
            if let Some(Instance {
                wait: Waiting::Event(w),
                ..
            }) = self.leads[lead].journeys[j].as_deref()
            {
                if w.event == ev.name && w.since < ev.seq {
                    waiting.push((w.since, j, w.filter));
                }
            }
        }
        waiting.sort();
        for (_, j, filter) in waiting {
            if filter.is_none_or(|f| self.holds(lead, f, Some(&ev.record))) {
                if let Some(inst) = self.leads[lead].journeys[j].clone() {
                    let next = self.p.journeys[j].graph.nodes[inst.node].next;
                    let record = ev.record.clone();
                    self.run_from(lead, j, next, Some(&record), queue);
                }
            }
        }
    }

    fn continue_at(&mut self, lead: usize, j: usize, node: usize, queue: &mut VecDeque<Raised>) {
        self.run_from(lead, j, node, None, queue);
    }

    fn timer(&mut self, lead: usize, at: i64, kind: TimerKind) {
        let seq = self.next_seq();
        self.timers.push(std::cmp::Reverse(Timer {
            at,
            seq,
            lead,
            kind,
        }));
    }

    /// Walks the graph from `node` until a wait or the end.
    /// Walks a journey's graph (see `run_from_marked`); the lead's journey state changes.
    fn run_from(
        &mut self,
        lead: usize,
        j: usize,
        node: usize,
        event: Option<&EventRecord>,
        queue: &mut VecDeque<Raised>,
    ) {
        if let Some(l) = self.leads.get_mut(lead) {
            l.dirty = true;
        }
        self.run_from_marked(lead, j, node, event, queue);
    }

    fn run_from_marked(
        &mut self,
        lead: usize,
        j: usize,
        mut node: usize,
        event: Option<&EventRecord>,
        queue: &mut VecDeque<Raised>,
    ) {
        let journey_name = self.p.journeys[j].name.clone();
        for _ in 0..100_000 {
            let Some(entry) = self.leads[lead].journeys[j].as_ref().map(|i| i.entry) else {
                return;
            };
            let p = self.p;
            let n = &p.journeys[j].graph.nodes[node];
            *self.coverage.nodes.entry((j, node)).or_insert(0) += 1;
            let set_wait = |me: &mut Self, wait: Waiting| -> u64 {
                let token = me.next_seq();
                if let Some(i) = me.leads[lead].journeys[j].as_mut() {
                    i.node = node;
                    i.wait = wait;
                    i.wait_token = token;
                }
                token
            };
            match &n.kind {
                NodeKind::End => {
                    self.leave(lead, j, "completed");
                    return;
                }
                NodeKind::Action(a) => {
                    if matches!(a, ActionIr::Exit) {
                        self.leave(lead, j, "exit");
                        return;
                    }
                    self.cause = format!("journey `{journey_name}`");
                    self.actions(
                        lead,
                        std::slice::from_ref(a),
                        event,
                        Some((j, entry)),
                        queue,
                    );
                    node = n.next;
                }
                NodeKind::Wait { secs } => {
                    if *secs <= 0 {
                        node = n.next;
                        continue;
                    }
                    let token = set_wait(self, Waiting::Timer);
                    let at = self.now.saturating_add(*secs);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::WaitClock { days, minute } => {
                    let at = self.next_clock(lead, *days, *minute);
                    if at <= self.now {
                        node = n.next;
                        continue;
                    }
                    let token = set_wait(self, Waiting::Timer);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::WaitFor {
                    event: ev,
                    filter,
                    up_to_secs,
                    timeout,
                } => {
                    let since = self.seq;
                    let token = set_wait(
                        self,
                        Waiting::Event(Box::new(EventWait {
                            event: ev.clone(),
                            filter: *filter,
                            since,
                            timeout: *timeout,
                        })),
                    );
                    let at = self.now.saturating_add(*up_to_secs);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::WaitUntil {
                    cond,
                    up_to_secs,
                    timeout,
                } => {
                    if self.holds(lead, *cond, None) {
                        node = n.next;
                        continue;
                    }
                    let token = set_wait(
                        self,
                        Waiting::Until {
                            cond: *cond,
                            timeout: *timeout,
                        },
                    );
                    let at = self.now.saturating_add(*up_to_secs);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::Branch { arms } => {
                    let mut target = n.next;
                    for (f, t) in arms {
                        if self.holds(lead, *f, event) {
                            target = *t;
                            break;
                        }
                    }
                    node = target;
                }
                NodeKind::Split { index, arms } => {
                    let percents: Vec<u64> = arms.iter().map(|a| a.0).collect();
                    let id = self.lead_id(lead);
                    let b = split_branch(id, &journey_name, *index, &percents);
                    node = arms.get(b).map(|a| a.1).unwrap_or(n.next);
                }
            }
        }
    }

    /// The earliest instant ≥ now at `minute` on a matching day, in the lead's time zone.
    fn next_clock(&self, lead: usize, days: u8, minute: u32) -> i64 {
        let tz = self.lead_tz(lead);
        let Ok(now) = jiff::Timestamp::from_second(self.now) else {
            return self.now;
        };
        let local = jiff::ZonedDateTime::new(now, tz.clone());
        let mut date = local.date();
        for _ in 0..9 {
            let wd = date.weekday().to_monday_zero_offset() as u8;
            if days & (1 << wd) != 0 {
                let t = jiff::civil::Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0)
                    .unwrap_or_default();
                if let Some(s) = crate::calendar::local_to_instant(&tz, date.to_datetime(t)) {
                    if s >= self.now {
                        return s;
                    }
                }
            }
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => break,
            }
        }
        self.now
    }

    /// Starts the clock: the schedules' first runs are created now, in program order.
    pub fn start(&mut self, at: i64) {
        self.now = at;
        for i in 0..self.p.schedules.len() {
            if let Some(next) = self.next_run(i, at) {
                self.timer(usize::MAX, next, TimerKind::Schedule { schedule: i });
            }
        }
    }

    /// The first instant after `after` that schedule `i`'s cron matches, in its time zone.
    fn next_run(&self, i: usize, after: i64) -> Option<i64> {
        let sch = &self.p.schedules[i];
        let cron = compiler::cron5::parse(&sch.cron).ok()?;
        let tz_name = sch
            .timezone
            .clone()
            .unwrap_or_else(|| self.p.timezone.clone());
        let tz: chrono_tz::Tz = tz_name.parse().ok()?;
        let base = chrono::DateTime::from_timestamp(after, 0)?.with_timezone(&tz);
        let next = |s: &cron::Schedule| s.after(&base).next().map(|d| d.timestamp());
        if cron.day_fields_or {
            let a = cron.by_day_of_month.as_ref().and_then(next);
            let b = cron.by_day_of_week.as_ref().and_then(next);
            match (a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            }
        } else {
            next(&cron.schedule)
        }
    }

    fn run_schedule(&mut self, i: usize) {
        if let Some(next) = self.next_run(i, self.now) {
            self.timer(usize::MAX, next, TimerKind::Schedule { schedule: i });
        }
        let p = self.p;
        let items = &p.schedules[i].items;
        for item in items {
            match item {
                compiler::program::ScheduleItemIr::ForLeads { filter, actions } => {
                    // The set of leads is taken first, then each is its own input.
                    let matching: Vec<usize> = (0..self.leads.len())
                        .filter(|&l| self.holds(l, *filter, None))
                        .collect();
                    for lead in matching {
                        let mut queue = VecDeque::new();
                        self.cause = format!("schedule `{}`", self.p.schedules[i].name);
                        self.actions(lead, actions, None, None, &mut queue);
                        self.process(lead, queue);
                    }
                }
                compiler::program::ScheduleItemIr::Report(to) => {
                    let schedule = self.p.schedules[i].name.clone();
                    self.line(
                        usize::MAX,
                        Entry::ReportSent {
                            schedule,
                            to: to.clone(),
                        },
                    );
                }
            }
        }
    }

    fn run_timer(&mut self, t: Timer) {
        if let TimerKind::Schedule { schedule } = t.kind {
            self.run_schedule(schedule);
            return;
        }
        let lead = t.lead;
        let mut queue = VecDeque::new();
        match t.kind {
            TimerKind::Wake { journey, token } => {
                let Some(inst) = self.leads[lead].journeys[journey].clone() else {
                    return;
                };
                if inst.wait_token != token {
                    return;
                }
                let next = match &inst.wait {
                    Waiting::Event(w) => w.timeout,
                    Waiting::Until { timeout, .. } => *timeout,
                    _ => self.p.journeys[journey].graph.nodes[inst.node].next,
                };
                self.continue_at(lead, journey, next, &mut queue);
            }
            TimerKind::Deferred(deferred) => {
                self.send(lead, &deferred.template, deferred.journey, true, &mut queue);
            }
            TimerKind::Decay { score } => self.decay(lead, &[score]),
            TimerKind::Sla { task, clause } => self.sla(task, clause, &mut queue),
            TimerKind::Schedule { .. } => {}
        }
        self.process(lead, queue);
    }

    // ------------------------------------------------------------ actions

    fn actions(
        &mut self,
        lead: usize,
        actions: &[ActionIr],
        event: Option<&EventRecord>,
        journey: Option<(usize, u64)>,
        queue: &mut VecDeque<Raised>,
    ) {
        for a in actions {
            // Outbound effects carry a key (lead, place in the program, instant): a
            // second effect with the same key at the same instant is skipped silently.
            if matches!(
                a,
                ActionIr::Send(_) | ActionIr::Notify { .. } | ActionIr::Webhook(_)
            ) {
                if self.effects_at != self.now {
                    self.effects_at = self.now;
                    self.effects.clear();
                }
                let site = a as *const ActionIr as usize;
                if !self.effects.insert((lead, site)) {
                    continue;
                }
            }
            match a {
                ActionIr::Set { field, value } => {
                    let w = self.eval(lead, *value, event);
                    let Some(slot) = self.slot(field) else {
                        continue;
                    };
                    let before = self.leads[lead].record.words[slot];
                    self.write_field(lead, slot, w);
                    if field == "stage" && before != w {
                        let ev = self.stage_changed(lead, before, w);
                        queue.push_back(ev);
                    }
                }
                ActionIr::Tag(t) | ActionIr::Untag(t) => {
                    let sym = self.exprs.interner.intern(t);
                    let add = matches!(a, ActionIr::Tag(_));
                    let changed = if add {
                        self.leads[lead].record.tags.insert(sym)
                    } else {
                        self.leads[lead].record.tags.remove(&sym)
                    };
                    if changed {
                        let entry = if add {
                            Entry::TagAdded { tag: t.clone() }
                        } else {
                            Entry::TagRemoved { tag: t.clone() }
                        };
                        self.line(lead, entry);
                    }
                }
                ActionIr::Send(t) => self.send(lead, t, journey, false, queue),
                ActionIr::Enroll(j) => {
                    if let Some(idx) = self.p.journeys.iter().position(|x| x.name == *j) {
                        self.enter(lead, idx, queue);
                    }
                }
                ActionIr::Notify { target, text } => {
                    let to: Vec<String> = match target {
                        NotifyTo::Address(a) => vec![a.clone()],
                        NotifyTo::Owner => {
                            let owner = self.text_field(lead, "owner");
                            if owner.is_empty() {
                                self.line(
                                    lead,
                                    Entry::Error {
                                        code: "no_owner".into(),
                                        message: "`notify owner`: the lead has no owner".into(),
                                    },
                                );
                                continue;
                            }
                            vec![owner]
                        }
                        NotifyTo::Team(team) => match self.p.teams.iter().find(|x| x.name == *team)
                        {
                            Some(t) => t
                                .members
                                .iter()
                                .cloned()
                                .chain(t.manager.iter().cloned())
                                .collect(),
                            None => Vec::new(),
                        },
                    };
                    let rendered = self.render(lead, text, journey.map(|(j, _)| j));
                    self.line(
                        lead,
                        Entry::Notified {
                            to,
                            text: rendered,
                            task: false,
                        },
                    );
                }
                ActionIr::Handoff(name) => {
                    if let Some(h) = self.p.handoffs.iter().position(|x| x.name == *name) {
                        self.start_handoff(lead, h, queue);
                    }
                }
                ActionIr::Webhook(w) => {
                    let journey = journey.map(|(j, _)| self.p.journeys[j].name.clone());
                    self.line(
                        lead,
                        Entry::WebhookCalled {
                            webhook: w.clone(),
                            journey,
                        },
                    )
                }
                ActionIr::Exit => {
                    if let Some((j, _)) = journey {
                        self.leave(lead, j, "exit");
                    }
                }
            }
        }
    }

    fn local_minute(&self, lead: usize) -> u32 {
        let tz = self.lead_tz(lead);
        match jiff::Timestamp::from_second(self.now) {
            Ok(t) => {
                let z = jiff::ZonedDateTime::new(t, tz);
                (z.hour() as u32) * 60 + z.minute() as u32
            }
            Err(_) => 0,
        }
    }

    fn send(
        &mut self,
        lead: usize,
        template: &str,
        journey: Option<(usize, u64)>,
        released: bool,
        queue: &mut VecDeque<Raised>,
    ) {
        let journey_name = journey.map(|(j, _)| self.p.journeys[j].name.clone());
        let suppress = |me: &mut Self, reason: &str| {
            me.line(
                lead,
                Entry::EmailSuppressed {
                    template: template.to_owned(),
                    reason: reason.to_owned(),
                    journey: journey_name.clone(),
                },
            );
        };
        let flag = |me: &Self, f: &str| {
            me.slot(f)
                .is_some_and(|s| me.leads[lead].record.words[s] != 0)
        };
        if flag(self, "unsubscribed") {
            return suppress(self, "unsubscribed");
        }
        if flag(self, "bounced") {
            return suppress(self, "bounced");
        }
        if self.text_field(lead, "email").is_empty() {
            return suppress(self, "no_email");
        }
        if released {
            if let Some((_, entry)) = journey {
                if self.leads[lead].left_entries.contains(&entry) {
                    return suppress(self, "left_journey");
                }
            }
        }
        if let Some((n, window)) = self.p.sending.cap {
            let from = self.now.saturating_sub(window);
            let count = self.leads[lead]
                .sent_at
                .iter()
                .filter(|t| **t > from && **t <= self.now)
                .count();
            if count as u64 >= n {
                return suppress(self, "frequency_cap");
            }
        }
        if let Some((start, end)) = self.p.sending.quiet {
            let m = self.local_minute(lead);
            let quiet = if start < end {
                m >= start && m < end
            } else {
                m >= start || m < end
            };
            if quiet {
                let until = self.next_clock(lead, 0x7f, end);
                self.line(
                    lead,
                    Entry::EmailDeferred {
                        template: template.to_owned(),
                        until,
                        journey: journey_name,
                    },
                );
                let template = self.shared_text(template.to_owned());
                self.timer(
                    lead,
                    until,
                    TimerKind::Deferred(Box::new(DeferredSend { template, journey })),
                );
                return;
            }
        }
        let subject = match self.templates.get(template) {
            Some(t) => {
                let s = t.subject.clone();
                self.render(lead, &s, journey.map(|(j, _)| j))
            }
            None => String::new(),
        };
        push_exact(&mut self.leads[lead].sent_at, self.now);
        self.line(
            lead,
            Entry::EmailSent {
                template: template.to_owned(),
                subject,
                journey: journey_name,
            },
        );
        let ev = self.raise(
            lead,
            "email_sent",
            vec![("template".into(), InputValue::Text(template.to_owned()))],
        );
        queue.push_back(ev);
    }

    // ------------------------------------------------------------ handoffs

    /// Starts a handoff: a task unless one is open; returns whether one was created.
    fn start_handoff(&mut self, lead: usize, h: usize, queue: &mut VecDeque<Raised>) -> bool {
        if self.leads[lead].handoff_tasks[h].open.is_some() {
            return false;
        }
        let hd = self.p.handoffs[h].clone();
        let Some(team) = self.p.teams.iter().find(|t| t.name == hd.team).cloned() else {
            return false;
        };
        let owner = self.text_field(lead, "owner");
        let assignee = if hd.owner_first && !owner.is_empty() {
            owner
        } else {
            match hd.strategy {
                grammar::ast::AssignStrategy::RoundRobin => {
                    let pos = self.rr.entry(team.name.clone()).or_insert(0);
                    let a = team
                        .members
                        .get(*pos % team.members.len().max(1))
                        .cloned()
                        .unwrap_or_default();
                    *pos += 1;
                    a
                }
                grammar::ast::AssignStrategy::LeastOpen => {
                    let open = |m: &str| {
                        self.tasks
                            .iter()
                            .filter(|t| !t.closed && t.assignee == m)
                            .count()
                    };
                    team.members
                        .iter()
                        .min_by_key(|m| open(m))
                        .cloned()
                        .unwrap_or_default()
                }
            }
        };
        self.leads[lead].handoff_tasks[h].created += 1;
        self.coverage.handoffs.insert(h);
        let id = format!(
            "{}:{}:{}",
            self.lead_id(lead),
            hd.name,
            self.leads[lead].handoff_tasks[h].created
        );
        let created = self.now;
        let title = self.task_title(lead, h);
        self.tasks.push(Task {
            id: id.clone(),
            lead,
            handoff: h,
            team: team.name.clone(),
            assignee: assignee.clone(),
            title: title.clone(),
            accepted: false,
            closed: false,
            fired: vec![false; hd.slas.len()],
        });
        let t = self.tasks.len() - 1;
        self.leads[lead].handoff_tasks[h].open = u32::try_from(t).ok();
        if let Some(s) = self.slot("owner") {
            let w = u64::from(self.exprs.interner.intern(&assignee));
            self.write_field(lead, s, w);
        }
        self.line(
            lead,
            Entry::TaskCreated {
                handoff: hd.name.clone(),
                task: id,
                team: team.name.clone(),
                assignee: assignee.clone(),
            },
        );
        let ev = self.raise(
            lead,
            "task_created",
            vec![
                ("handoff".into(), InputValue::Text(hd.name.clone())),
                ("assignee".into(), InputValue::Text(assignee.clone())),
            ],
        );
        self.line(
            lead,
            Entry::Notified {
                to: vec![assignee],
                text: title,
                task: true,
            },
        );
        queue.push_back(ev);
        for (clause, due) in self
            .sla_deadlines(h, &team.name, created)
            .into_iter()
            .enumerate()
        {
            self.timer(lead, due.at, TimerKind::Sla { task: t, clause });
        }
        true
    }

    /// The deadlines of handoff `h`'s SLA clauses, in clause order, for a task of `team`
    /// created at `created`: business time counts only the team's open hours.
    fn sla_deadlines(&self, h: usize, team: &str, created: i64) -> Vec<SlaDue> {
        let Some(hd) = self.p.handoffs.get(h) else {
            return Vec::new();
        };
        hd.slas
            .iter()
            .map(|sla| {
                let at = match sla.within {
                    compiler::program::SlaWindow::Seconds(s) => created.saturating_add(s),
                    compiler::program::SlaWindow::BusinessHours(hrs) => {
                        match self.calendars.get(team) {
                            Some(c) => c.add_open_time(created, (hrs * 3600.0).round() as i64),
                            None => created,
                        }
                    }
                    compiler::program::SlaWindow::BusinessDays(n) => {
                        match self.calendars.get(team) {
                            Some(c) => c.add_open_days(created, n),
                            None => created,
                        }
                    }
                };
                SlaDue {
                    accept: sla.kind == grammar::ast::SlaKind::Accept,
                    escalate: sla.action == grammar::ast::SlaAction::Escalate,
                    at,
                }
            })
            .collect()
    }

    /// The SLA deadlines of a task of handoff `handoff` given to `team` at `created` (for
    /// the service's task list; the engine's own timers use the same computation).
    pub fn task_deadlines(&self, handoff: &str, team: &str, created: i64) -> Vec<SlaDue> {
        match self.p.handoffs.iter().position(|x| x.name == handoff) {
            Some(h) => self.sla_deadlines(h, team, created),
            None => Vec::new(),
        }
    }

    fn task_title(&self, lead: usize, h: usize) -> String {
        let title = self.p.handoffs[h]
            .task
            .clone()
            .unwrap_or_else(|| self.p.handoffs[h].name.clone());
        self.render(lead, &title, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn outcome(
        &mut self,
        lead: usize,
        h: usize,
        t: usize,
        outcome: crate::scenario::TaskOutcome,
        by: Option<String>,
        reason: Option<String>,
        queue: &mut VecDeque<Raised>,
    ) {
        use crate::scenario::TaskOutcome;
        let by = by.unwrap_or_else(|| self.tasks[t].assignee.clone());
        let (handoff, task) = (self.p.handoffs[h].name.clone(), self.tasks[t].id.clone());
        let mut props = vec![
            ("handoff".to_owned(), InputValue::Text(handoff.clone())),
            ("by".to_owned(), InputValue::Text(by.clone())),
        ];
        let code = match outcome {
            TaskOutcome::Accept => 0,
            TaskOutcome::Reject => 1,
            TaskOutcome::Complete => 2,
        };
        self.coverage.outcomes.insert((h, code));
        let (event, actions) = match outcome {
            TaskOutcome::Accept => {
                self.tasks[t].accepted = true;
                self.line(lead, Entry::TaskAccepted { handoff, task, by });
                ("task_accepted", &self.p.handoffs[h].on_accept)
            }
            TaskOutcome::Complete => {
                self.tasks[t].accepted = true;
                self.tasks[t].closed = true;
                self.leads[lead].handoff_tasks[h].open = None;
                self.line(lead, Entry::TaskCompleted { handoff, task, by });
                ("task_completed", &self.p.handoffs[h].on_complete)
            }
            TaskOutcome::Reject => {
                let reason = reason.unwrap_or_default();
                self.tasks[t].closed = true;
                self.leads[lead].handoff_tasks[h].open = None;
                props.push(("reason".to_owned(), InputValue::Text(reason.clone())));
                self.line(
                    lead,
                    Entry::TaskRejected {
                        handoff,
                        task,
                        by,
                        reason,
                    },
                );
                ("task_rejected", &self.p.handoffs[h].on_reject)
            }
        };
        let ev = self.raise(lead, event, props);
        let record = ev.record.clone();
        queue.push_back(ev);
        self.cause = format!("handoff `{}` ({event})", self.p.handoffs[h].name);
        self.actions(lead, actions, Some(&record), None, queue);
    }

    fn sla(&mut self, t: usize, clause: usize, queue: &mut VecDeque<Raised>) {
        let Some(task) = self.tasks.get(t).cloned() else {
            return;
        };
        let Some(sla) = self
            .p
            .handoffs
            .get(task.handoff)
            .and_then(|h| h.slas.get(clause))
            .cloned()
        else {
            return;
        };
        if task.closed || task.fired.get(clause).copied().unwrap_or(true) {
            return;
        }
        if sla.kind == grammar::ast::SlaKind::Accept && task.accepted {
            return;
        }
        self.tasks[t].fired[clause] = true;
        self.coverage.slas.insert((task.handoff, clause));
        let lead = task.lead;
        let handoff = self.p.handoffs[task.handoff].name.clone();
        let title = task.title.clone();
        let Some(team) = self.p.teams.iter().find(|x| x.name == task.team).cloned() else {
            return;
        };
        match sla.action {
            grammar::ast::SlaAction::Escalate => {
                let manager = team.manager.clone().unwrap_or_default();
                self.line(
                    lead,
                    Entry::TaskEscalated {
                        handoff,
                        task: task.id.clone(),
                        to: manager.clone(),
                    },
                );
                self.line(
                    lead,
                    Entry::Notified {
                        to: vec![manager],
                        text: title,
                        task: true,
                    },
                );
            }
            grammar::ast::SlaAction::Reassign => {
                let next = match team.members.iter().position(|m| *m == task.assignee) {
                    Some(i) => team.members[(i + 1) % team.members.len()].clone(),
                    None => team.members.first().cloned().unwrap_or_default(),
                };
                self.tasks[t].assignee = next.clone();
                if let Some(s) = self.slot("owner") {
                    let w = u64::from(self.exprs.interner.intern(&next));
                    self.write_field(lead, s, w);
                }
                self.line(
                    lead,
                    Entry::TaskReassigned {
                        handoff,
                        task: task.id.clone(),
                        from: task.assignee.clone(),
                        to: next.clone(),
                    },
                );
                self.line(
                    lead,
                    Entry::Notified {
                        to: vec![next],
                        text: title,
                        task: true,
                    },
                );
            }
        }
        let _ = queue;
    }

    // ------------------------------------------------------------ templates

    /// The `lead` variable of the template context, with only the fields `reads` names
    /// (`score` stands for every score).
    fn lead_context(&self, lead: usize, reads: &[String]) -> minijinja::Value {
        let tz = self.lead_tz(lead);
        let fields = reads.iter().filter_map(|name| {
            let slot = self.exprs.layout.slot(name)?;
            Some((
                name.clone(),
                crate::render::field(self.field_value(lead, slot), &tz),
            ))
        });
        let scores = reads.iter().any(|r| r == "score").then(|| {
            self.exprs
                .scores
                .iter()
                .enumerate()
                .map(|(i, name)| (name.clone(), self.leads[lead].score_value[i]))
                .collect()
        });
        crate::render::lead_value(fields, scores)
    }

    /// Renders a plain-text template (a subject, a `notify` text, a task title) for the
    /// timeline: CR and LF removed. A template that fails to render reads as its source
    /// here (the checker refuses the ones it can see); the service never mails one
    /// (see [`Engine::render_email`]).
    fn render(&self, lead: usize, source: &str, journey: Option<usize>) -> String {
        let reads = self.renderer.fields_read(&[source], None);
        let ctx = crate::render::context(
            self.lead_context(lead, &reads),
            journey.map(|j| self.p.journeys[j].name.as_str()),
            &format!("https://tandem.invalid/u/{}", self.lead_id(lead)),
        );
        self.renderer
            .plain(source, &ctx)
            .unwrap_or_else(|_| crate::render::escape::one_line(source))
    }

    /// Renders the email `template` for a lead as it is now, with the caller's
    /// unsubscribe link — the same renderer and context as the subject on the timeline.
    /// `None` for an unknown lead or template.
    pub fn render_email(
        &self,
        lead_id: &str,
        template: &str,
        journey: Option<&str>,
        unsubscribe_url: &str,
    ) -> Option<Result<crate::render::RenderedEmail, crate::render::RenderError>> {
        let lead = self.lead(lead_id)?;
        let parts = self.templates.get(template)?;
        let reads = self.renderer.fields_read(&[], Some(parts));
        let ctx = crate::render::context(self.lead_context(lead, &reads), journey, unsubscribe_url);
        Some(self.renderer.email(parts, &ctx))
    }

    /// The lead as a webhook payload shows it: every field and score.
    pub fn lead_snapshot(&self, lead_id: &str) -> Option<crate::render::payload::LeadSnapshot> {
        let lead = self.lead(lead_id)?;
        Some(crate::render::payload::LeadSnapshot {
            id: lead_id.to_owned(),
            fields: self.lead_fields(lead),
            scores: self.lead_scores(lead),
        })
    }

    /// The program's templates by name.
    pub fn templates(&self) -> &FxHashMap<String, TemplateParts> {
        &self.templates
    }
}
