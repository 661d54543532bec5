//! `tandem diff`: what changed in *meaning* between two versions of a program — per journey, rule, score, handoff, schedule and team, and the program's settings — and, for journeys, which steps changed or disappeared.
//!
//! Meaning, not text: both programs are compared in their lowered form, where
//! segments and consts are already inlined, comments and layout are gone, and
//! every field, score, event, template and text is printed by name (a field
//! moving to another slot or a new field elsewhere changes nothing). A rule that
//! uses a segment whose definition changed is therefore reported as changed even
//! though its own text did not move. A score's `if` lines are compared as a set
//! (their order does not change the sum); everything else is compared in order.
//!
//! A journey's steps are matched between the versions by a longest-common-
//! subsequence diff of their canonical texts (the `similar` crate), so inserting a
//! step does not make every later step look changed. A matched step whose
//! successors no longer correspond (it moved into another branch, say) counts as
//! changed too. The result says, for each step of the *old* journey, whether a lead
//! waiting there would find it unchanged, changed or gone — what a reviewer needs
//! before shipping, together with the store's counts of leads waiting at each step,
//! which the caller supplies (this module does no I/O).

use crate::graph::{ActionIr, JourneyGraph, NodeKind, NotifyTo};
use crate::ir::{CmpKind, FuncId, IrExpr, IrKind};
use crate::program::{
    HandoffIr, JourneyIr, LoweredProgram, RuleIr, ScheduleIr, ScoreIr, SlaWindow,
};
use crate::workspace::Workspace;

mod settings;

/// The kinds of declaration the diff reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeclKind {
    Journey,
    Rule,
    Score,
    Handoff,
    Schedule,
    /// A team: its members, manager, hours and calendar (SLA deadlines read them).
    Team,
    /// A program setting: `timezone` or `sending`.
    Program,
}

impl DeclKind {
    /// The keyword, as written in programs.
    pub fn keyword(self) -> &'static str {
        match self {
            DeclKind::Journey => "journey",
            DeclKind::Rule => "rule",
            DeclKind::Score => "score",
            DeclKind::Handoff => "handoff",
            DeclKind::Schedule => "schedule",
            DeclKind::Team => "team",
            DeclKind::Program => "program",
        }
    }
}

/// Whether a declaration is new, gone or different.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    pub fn word(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// What became of one step of the old journey in the new program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepFate {
    /// The same step, with the same successors, at node `NodeId` of the new journey.
    Same(usize),
    /// The step itself was edited in place (`wait 2 days` → `wait 3 days`).
    Changed,
    /// The same step, but what follows it is different (a step after it was added,
    /// removed or edited): leads waiting here are not moved as they would be by `Same`.
    Moved,
    /// No such step any more (or the whole journey is gone).
    Removed,
}

/// One step of the old journey that does not carry over unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct StepChange {
    /// The node in the old journey's graph (what the engine's positions count).
    pub node: usize,
    /// The step as written (its first source line), or `start`/`end`.
    pub label: String,
    /// The 1-based line of the step in the old program's file.
    pub line: usize,
    /// The old program's file holding it.
    pub file: String,
    pub fate: StepFate,
    /// For an edited step, the step as the new program writes it.
    pub new_label: Option<String>,
}

/// A part of a declaration with its old and new value, as a reviewer reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueChange {
    pub part: String,
    pub old: String,
    pub new: String,
}

/// One declaration that differs between the two programs.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclChange {
    pub kind: DeclKind,
    pub name: String,
    pub change: Change,
    /// Which parts differ, in words (`when`, `then`, `if lines: 1 added`, …).
    pub parts: Vec<String>,
    /// Journeys only: old steps that changed, moved or disappeared.
    pub steps: Vec<StepChange>,
    /// Journeys only: steps of the new version with no counterpart in the old one
    /// (`node`, `line` and `file` are the new program's).
    pub added_steps: Vec<StepChange>,
    /// Parts whose old and new values can be shown (rules' condition and actions, scores'
    /// lines, bounds and decay, schedules' cron and zone, handoffs' assignment, SLA and
    /// reasons).
    pub values: Vec<ValueChange>,
}

/// Compares two checked, lowered programs. Declarations are listed journeys first,
/// then rules, scores, handoffs, schedules and teams, each by name, then the program's
/// settings (`timezone`, `sending`).
pub fn diff_programs(
    old: (&LoweredProgram, &Workspace),
    new: (&LoweredProgram, &Workspace),
) -> Vec<DeclChange> {
    let (op, ows) = old;
    let (np, nws) = new;
    let oc = Canon { p: op };
    let nc = Canon { p: np };
    let mut out = Vec::new();

    // Journeys, with their steps.
    let names = union(
        op.journeys.iter().map(|j| &j.name),
        np.journeys.iter().map(|j| &j.name),
    );
    for name in names {
        let o = op.journeys.iter().find(|j| &j.name == name);
        let n = np.journeys.iter().find(|j| &j.name == name);
        match (o, n) {
            (Some(o), None) => out.push(DeclChange {
                kind: DeclKind::Journey,
                name: name.clone(),
                change: Change::Removed,
                parts: Vec::new(),
                steps: {
                    let mut steps: Vec<StepChange> = (0..o.graph.nodes.len())
                        .map(|i| step_change(ows, &o.graph, i, StepFate::Removed))
                        .collect();
                    steps.sort_by_key(|s| (s.line, s.node));
                    steps
                },
                added_steps: Vec::new(),
                values: Vec::new(),
            }),
            (None, Some(_)) => out.push(added(DeclKind::Journey, name)),
            (Some(o), Some(n)) => {
                let mut parts = journey_header_parts(&oc, o, &nc, n);
                let (fates, counterpart) =
                    match_steps_with_counterparts(&oc, &o.graph, &nc, &n.graph);
                let mut steps: Vec<StepChange> = fates
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| !matches!(f, StepFate::Same(_)))
                    .map(|(i, f)| {
                        let mut c = step_change(ows, &o.graph, i, *f);
                        if *f == StepFate::Changed {
                            c.new_label =
                                counterpart[i].map(|j| step_change(nws, &n.graph, j, *f).label);
                        }
                        c
                    })
                    .collect();
                steps.sort_by_key(|s| (s.line, s.node));
                // New steps nothing in the old version turned into.
                let mut added_steps: Vec<StepChange> = (0..n.graph.nodes.len())
                    .filter(|j| {
                        !fates.contains(&StepFate::Same(*j)) && !counterpart.contains(&Some(*j))
                    })
                    .map(|j| step_change(nws, &n.graph, j, StepFate::Removed))
                    .collect();
                added_steps.sort_by_key(|s| (s.line, s.node));
                let new_steps = n.graph.nodes.len()
                    - fates
                        .iter()
                        .filter(|f| matches!(f, StepFate::Same(_)))
                        .count();
                if !steps.is_empty() || new_steps > 0 {
                    parts.push("steps".into());
                }
                if !parts.is_empty() {
                    out.push(DeclChange {
                        kind: DeclKind::Journey,
                        name: name.clone(),
                        change: Change::Changed,
                        parts,
                        steps,
                        added_steps,
                        values: Vec::new(),
                    });
                }
            }
            (None, None) => {}
        }
    }

    compare_named(
        &mut out,
        DeclKind::Rule,
        &op.rules,
        &np.rules,
        |r: &RuleIr| &r.name,
        |o, n| {
            let mut parts = Vec::new();
            if oc.func(o.when) != nc.func(n.when) {
                parts.push("when".into());
            }
            if oc.actions(&o.then) != nc.actions(&n.then) {
                parts.push("then".into());
            }
            parts
        },
    );

    compare_named(
        &mut out,
        DeclKind::Score,
        &op.scores,
        &np.scores,
        |s: &ScoreIr| &s.name,
        |o, n| score_parts(&oc, o, &nc, n),
    );

    compare_named(
        &mut out,
        DeclKind::Handoff,
        &op.handoffs,
        &np.handoffs,
        |h: &HandoffIr| &h.name,
        |o, n| handoff_parts(&oc, o, &nc, n),
    );

    compare_named(
        &mut out,
        DeclKind::Schedule,
        &op.schedules,
        &np.schedules,
        |s: &ScheduleIr| &s.name,
        |o, n| {
            let mut parts = Vec::new();
            if o.cron != n.cron || o.timezone != n.timezone {
                parts.push("cron".into());
            }
            if oc.schedule_items(o) != nc.schedule_items(n) {
                parts.push("items".into());
            }
            parts
        },
    );
    for c in &mut out {
        if c.change != Change::Changed {
            continue;
        }
        c.values = match c.kind {
            DeclKind::Handoff => match (
                op.handoffs.iter().find(|h| h.name == c.name),
                np.handoffs.iter().find(|h| h.name == c.name),
            ) {
                (Some(o), Some(n)) => handoff_values(o, n),
                _ => Vec::new(),
            },
            DeclKind::Rule => match (
                op.rules.iter().find(|r| r.name == c.name),
                np.rules.iter().find(|r| r.name == c.name),
            ) {
                (Some(o), Some(n)) => [
                    focused("when", oc.func(o.when), nc.func(n.when)),
                    value(
                        "then",
                        oc.actions(&o.then).join("; "),
                        nc.actions(&n.then).join("; "),
                    ),
                ]
                .into_iter()
                .flatten()
                .collect(),
                _ => Vec::new(),
            },
            DeclKind::Score => match (
                op.scores.iter().find(|s| s.name == c.name),
                np.scores.iter().find(|s| s.name == c.name),
            ) {
                (Some(o), Some(n)) => score_values(&oc, o, &nc, n),
                _ => Vec::new(),
            },
            DeclKind::Schedule => match (
                op.schedules.iter().find(|s| s.name == c.name),
                np.schedules.iter().find(|s| s.name == c.name),
            ) {
                (Some(o), Some(n)) => {
                    let when = |s: &ScheduleIr| match &s.timezone {
                        Some(tz) => format!("\"{}\" in {tz}", s.cron),
                        None => format!("\"{}\"", s.cron),
                    };
                    value("cron", when(o), when(n)).into_iter().collect()
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
    }
    out.extend(settings::team_changes(op, np));
    out.extend(settings::program_changes(op, np));
    out
}

/// A score's changed lines and settings, old → new. Lines are compared as sets: the
/// old side lists the lines that are gone (or were edited), the new side the lines
/// that are new (or the edited versions).
fn score_values(oc: &Canon<'_>, o: &ScoreIr, nc: &Canon<'_>, n: &ScoreIr) -> Vec<ValueChange> {
    let ifs = |c: &Canon<'_>, s: &ScoreIr| -> Vec<String> {
        s.if_lines
            .iter()
            .map(|(pts, f)| format!("{pts:+} if {}", c.func(*f)))
            .collect()
    };
    let ons = |c: &Canon<'_>, s: &ScoreIr| -> Vec<String> {
        s.on_lines
            .iter()
            .map(|(e, pts, f)| match f {
                Some(f) => format!("{pts:+} on {e} where {}", c.func(*f)),
                None => format!("{pts:+} on {e}"),
            })
            .collect()
    };
    let lines = |part: &str, old: Vec<String>, new: Vec<String>| {
        let gone: Vec<&str> = old
            .iter()
            .filter(|l| !new.contains(l))
            .map(String::as_str)
            .collect();
        let added: Vec<&str> = new
            .iter()
            .filter(|l| !old.contains(l))
            .map(String::as_str)
            .collect();
        let show = |v: Vec<&str>| {
            if v.is_empty() {
                "(none)".to_owned()
            } else {
                v.join("; ")
            }
        };
        value(part, show(gone), show(added))
    };
    let bounds = |s: &ScoreIr| {
        let b = |x: Option<f64>| x.map_or("none".to_owned(), |x| x.to_string());
        format!("min {}, max {}", b(s.min), b(s.max))
    };
    let decay = |s: &ScoreIr| match s.decay {
        None => "none".to_owned(),
        Some((pct, secs)) if secs % 86_400 == 0 => format!("{pct}% every {} days", secs / 86_400),
        Some((pct, secs)) => format!("{pct}% every {secs} s"),
    };
    [
        lines("if lines", ifs(oc, o), ifs(nc, n)),
        lines("on lines", ons(oc, o), ons(nc, n)),
        value("bounds", bounds(o), bounds(n)),
        value("decay", decay(o), decay(n)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Like [`value`], for a long condition: only the smallest parenthesised part that
/// holds every difference is shown on each side (`…(score.engagement >= 30)…` →
/// `…(score.engagement >= 25)…`), the rest elided.
fn focused(part: &str, old: String, new: String) -> Option<ValueChange> {
    let (o, n): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
    let prefix = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
    let suffix = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(o.len().min(n.len()) - prefix);
    // The innermost `(` still open at the first difference: the same in both texts.
    let mut depth = 0usize;
    let mut open = None;
    for i in (0..prefix).rev() {
        match o[i] {
            ')' => depth += 1,
            '(' if depth == 0 => {
                open = Some(i);
                break;
            }
            '(' => depth -= 1,
            _ => {}
        }
    }
    // The group from that `(` to its `)`, if it holds every difference.
    let group = |text: &[char]| -> Option<String> {
        let start = open?;
        let mut depth = 0usize;
        let mut end = text.len();
        for (i, c) in text.iter().enumerate().skip(start) {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        if end < text.len() - suffix {
            return None;
        }
        let mut shown: String = text[start..end].iter().collect();
        if start > 0 {
            shown.insert(0, '…');
        }
        if end < text.len() {
            shown.push('…');
        }
        Some(shown)
    };
    match (group(&o), group(&n)) {
        (Some(go), Some(gn)) => value(part, go, gn),
        _ => value(part, old, new),
    }
}

fn value(part: &str, old: String, new: String) -> Option<ValueChange> {
    (old != new).then(|| ValueChange {
        part: part.to_owned(),
        old,
        new,
    })
}

/// A handoff's SLA lines as written (`accept within 4 business hours else escalate`).
fn sla_text(h: &HandoffIr) -> String {
    h.slas
        .iter()
        .map(|s| {
            let within = match s.within {
                SlaWindow::Seconds(x) => format!("{x} s"),
                SlaWindow::BusinessHours(h) => format!("{h} business hours"),
                SlaWindow::BusinessDays(d) => format!("{d} business days"),
            };
            format!(
                "{} within {within} else {}",
                format!("{:?}", s.kind).to_lowercase(),
                format!("{:?}", s.action).to_lowercase()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn handoff_values(o: &HandoffIr, n: &HandoffIr) -> Vec<ValueChange> {
    let assignment = |h: &HandoffIr| format!("team {} ({:?})", h.team, h.strategy).to_lowercase();
    let reasons = |h: &HandoffIr| {
        h.reasons
            .iter()
            .map(|(name, label)| match label {
                Some(l) => format!("{name} \"{l}\""),
                None => name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    [
        value("assignment", assignment(o), assignment(n)),
        value("sla", sla_text(o), sla_text(n)),
        value("reasons", reasons(o), reasons(n)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// For each node of `old`, what it became in `new` (see [`StepFate`]). Exposed so a
/// caller can also move waiting leads to their steps in the new version.
pub fn match_steps(
    oc: &Canon<'_>,
    old: &JourneyGraph,
    nc: &Canon<'_>,
    new: &JourneyGraph,
) -> Vec<StepFate> {
    match_steps_with_counterparts(oc, old, nc, new).0
}

/// [`match_steps`], with where each old step sits in the new journey (matched or edited
/// in place).
fn match_steps_with_counterparts(
    oc: &Canon<'_>,
    old: &JourneyGraph,
    nc: &Canon<'_>,
    new: &JourneyGraph,
) -> (Vec<StepFate>, Vec<Option<usize>>) {
    let otexts: Vec<String> = old.nodes.iter().map(|n| oc.node(&n.kind)).collect();
    let ntexts: Vec<String> = new.nodes.iter().map(|n| nc.node(&n.kind)).collect();
    let mut map: Vec<Option<usize>> = vec![None; otexts.len()];
    // Old steps replaced by other steps at the same place (`wait 2 days` → `wait 3 days`).
    let mut replaced = vec![false; otexts.len()];
    // Where each old step sits in the new journey, matched or replaced: a step whose
    // successor was edited in place still leads to the same place.
    let mut counterpart: Vec<Option<usize>> = vec![None; otexts.len()];
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &otexts, &ntexts) {
        match op {
            similar::DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for k in 0..len {
                    if let Some(m) = map.get_mut(old_index + k) {
                        *m = Some(new_index + k);
                    }
                    if let Some(c) = counterpart.get_mut(old_index + k) {
                        *c = Some(new_index + k);
                    }
                }
            }
            similar::DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for k in 0..old_len {
                    if let Some(r) = replaced.get_mut(old_index + k) {
                        *r = true;
                    }
                    if k < new_len {
                        if let Some(c) = counterpart.get_mut(old_index + k) {
                            *c = Some(new_index + k);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // A matched step keeps its identity only if what follows it is matched to what
    // follows its counterpart (successor `next`, and the other exits of decisions).
    let succ = |g: &JourneyGraph, i: usize| -> Vec<usize> {
        let Some(n) = g.nodes.get(i) else {
            return Vec::new();
        };
        let mut s = match &n.kind {
            NodeKind::End | NodeKind::Action(ActionIr::Exit) => Vec::new(),
            _ => vec![n.next],
        };
        match &n.kind {
            NodeKind::WaitFor { timeout, .. } | NodeKind::WaitUntil { timeout, .. } => {
                s.push(*timeout)
            }
            NodeKind::Branch { arms } => s.extend(arms.iter().map(|(_, to)| *to)),
            NodeKind::Split { arms, .. } => s.extend(arms.iter().map(|(_, to)| *to)),
            _ => {}
        }
        s
    };
    let fates = (0..otexts.len())
        .map(|i| match map[i] {
            None if replaced[i] => StepFate::Changed,
            None => StepFate::Removed,
            Some(j) => {
                let os = succ(old, i);
                let ns = succ(new, j);
                let same = os.len() == ns.len()
                    && os
                        .iter()
                        .zip(&ns)
                        .all(|(a, b)| counterpart.get(*a).copied().flatten() == Some(*b));
                if same {
                    StepFate::Same(j)
                } else {
                    StepFate::Moved
                }
            }
        })
        .collect();
    (fates, counterpart)
}

fn added(kind: DeclKind, name: &str) -> DeclChange {
    DeclChange {
        kind,
        name: name.to_owned(),
        change: Change::Added,
        parts: Vec::new(),
        steps: Vec::new(),
        added_steps: Vec::new(),
        values: Vec::new(),
    }
}

fn union<'a>(
    a: impl Iterator<Item = &'a String>,
    b: impl Iterator<Item = &'a String>,
) -> Vec<&'a String> {
    let mut names: Vec<&String> = a.chain(b).collect();
    names.sort();
    names.dedup();
    names
}

fn compare_named<T>(
    out: &mut Vec<DeclChange>,
    kind: DeclKind,
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &String,
    parts: impl Fn(&T, &T) -> Vec<String>,
) {
    for n in union(old.iter().map(&name), new.iter().map(&name)) {
        let o = old.iter().find(|x| name(x) == n);
        let w = new.iter().find(|x| name(x) == n);
        match (o, w) {
            (Some(_), None) => out.push(DeclChange {
                kind,
                name: n.clone(),
                change: Change::Removed,
                parts: Vec::new(),
                steps: Vec::new(),
                added_steps: Vec::new(),
                values: Vec::new(),
            }),
            (None, Some(_)) => out.push(added(kind, n)),
            (Some(o), Some(w)) => {
                let p = parts(o, w);
                if !p.is_empty() {
                    out.push(DeclChange {
                        kind,
                        name: n.clone(),
                        change: Change::Changed,
                        parts: p,
                        steps: Vec::new(),
                        added_steps: Vec::new(),
                        values: Vec::new(),
                    });
                }
            }
            (None, None) => {}
        }
    }
}

fn step_change(ws: &Workspace, g: &JourneyGraph, i: usize, fate: StepFate) -> StepChange {
    let node = &g.nodes[i.min(g.nodes.len().saturating_sub(1))];
    let file = ws.file(node.span.file);
    let text = file.map(|f| f.text.as_str()).unwrap_or("");
    let (line, _) = grammar::span::line_col(text, node.span.start as usize);
    let label = match &node.kind {
        _ if i == 0 => "start".to_owned(),
        NodeKind::End => "end".to_owned(),
        _ => text
            .get(node.span.range())
            .and_then(|t| t.lines().next())
            .map(|l| l.trim().trim_end_matches('{').trim_end().to_owned())
            .unwrap_or_default(),
    };
    StepChange {
        node: i,
        label,
        line,
        file: file.map(|f| f.path.clone()).unwrap_or_default(),
        fate,
        new_label: None,
    }
}

fn journey_header_parts(
    oc: &Canon<'_>,
    o: &JourneyIr,
    nc: &Canon<'_>,
    n: &JourneyIr,
) -> Vec<String> {
    let mut parts = Vec::new();
    let enter_on = |c: &Canon<'_>, j: &JourneyIr| -> Vec<String> {
        j.enter_on
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e.event,
                    c.opt_func(e.filter),
                    c.actions(&e.then).join("; ")
                )
            })
            .chain(j.enter_when.iter().map(|f| c.func(*f)))
            .collect()
    };
    if enter_on(oc, o) != enter_on(nc, n) {
        parts.push("entry".into());
    }
    let exit_on = |c: &Canon<'_>, j: &JourneyIr| -> Vec<String> {
        j.exit_on
            .iter()
            .map(|(e, f)| format!("{e} {}", c.opt_func(*f)))
            .collect()
    };
    if oc.funcs(&o.exit_when) != nc.funcs(&n.exit_when) || exit_on(oc, o) != exit_on(nc, n) {
        parts.push("exit".into());
    }
    if oc.funcs(&o.goal) != nc.funcs(&n.goal) {
        parts.push("goal".into());
    }
    if o.reenter_after != n.reenter_after {
        parts.push("reentry".into());
    }
    parts
}

fn score_parts(oc: &Canon<'_>, o: &ScoreIr, nc: &Canon<'_>, n: &ScoreIr) -> Vec<String> {
    let mut parts = Vec::new();
    let ifs = |c: &Canon<'_>, s: &ScoreIr| -> Vec<String> {
        let mut v: Vec<String> = s
            .if_lines
            .iter()
            .map(|(pts, f)| format!("{pts} if {}", c.func(*f)))
            .collect();
        v.sort();
        v
    };
    let (oi, ni) = (ifs(oc, o), ifs(nc, n));
    if oi != ni {
        let gone = oi.iter().filter(|l| !ni.contains(l)).count();
        let new = ni.iter().filter(|l| !oi.contains(l)).count();
        parts.push(format!(
            "if lines: {new} new or changed, {gone} gone or changed"
        ));
    }
    let ons = |c: &Canon<'_>, s: &ScoreIr| -> Vec<String> {
        s.on_lines
            .iter()
            .map(|(e, pts, f)| format!("{pts} on {e} {}", c.opt_func(*f)))
            .collect()
    };
    if ons(oc, o) != ons(nc, n) {
        parts.push("on lines".into());
    }
    if (o.min, o.max) != (n.min, n.max) {
        parts.push("bounds".into());
    }
    if o.decay != n.decay {
        parts.push("decay".into());
    }
    parts
}

fn handoff_parts(oc: &Canon<'_>, o: &HandoffIr, nc: &Canon<'_>, n: &HandoffIr) -> Vec<String> {
    let mut parts = Vec::new();
    if oc.opt_func(o.when) != nc.opt_func(n.when) {
        parts.push("when".into());
    }
    if (o.owner_first, &o.team, o.strategy) != (n.owner_first, &n.team, n.strategy) {
        parts.push("assignment".into());
    }
    if o.task != n.task {
        parts.push("task".into());
    }
    if sla_text(o) != sla_text(n) {
        parts.push("sla".into());
    }
    if o.reasons != n.reasons {
        parts.push("reasons".into());
    }
    if oc.actions(&o.on_accept) != nc.actions(&n.on_accept)
        || oc.actions(&o.on_reject) != nc.actions(&n.on_reject)
        || oc.actions(&o.on_complete) != nc.actions(&n.on_complete)
    {
        parts.push("on blocks".into());
    }
    parts
}

/// Prints lowered code by name, without spans or slot numbers: equal texts mean
/// equal meaning.
pub struct Canon<'p> {
    pub p: &'p LoweredProgram,
}

impl Canon<'_> {
    pub fn func(&self, f: FuncId) -> String {
        match self.p.exprs.funcs.get(f) {
            Some(func) => self.expr(&func.body, func.event),
            None => "?".into(),
        }
    }

    fn opt_func(&self, f: Option<FuncId>) -> String {
        f.map(|f| self.func(f)).unwrap_or_default()
    }

    fn funcs(&self, fs: &[FuncId]) -> Vec<String> {
        fs.iter().map(|f| self.func(*f)).collect()
    }

    fn text(&self, sym: u32) -> String {
        format!("{:?}", self.p.exprs.interner.get(sym))
    }

    fn stage(&self, code: u64) -> String {
        let st = &self.p.exprs.stages;
        st.codes
            .iter()
            .position(|c| *c == code)
            .and_then(|i| st.names.get(i))
            .cloned()
            .unwrap_or_else(|| format!("stage#{code}"))
    }

    fn word(&self, kind: CmpKind, w: u64) -> String {
        match kind {
            CmpKind::Number => format!("{}", f64::from_bits(w)),
            CmpKind::Time => format!("{}", w as i64),
            CmpKind::Stage => self.stage(w),
            CmpKind::Text => self.text(w as u32),
            CmpKind::Bool => format!("{}", w != 0),
        }
    }

    fn field(&self, slot: usize) -> String {
        self.p
            .exprs
            .layout
            .slots
            .get(slot)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| format!("field#{slot}"))
    }

    fn prop(&self, event: Option<u32>, i: usize) -> String {
        event
            .and_then(|e| self.p.exprs.layout.events.get(e as usize))
            .and_then(|(_, props)| props.get(i))
            .map(|(n, _)| format!("event.{n}"))
            .unwrap_or_else(|| format!("event#{i}"))
    }

    fn event_name(&self, e: u32) -> String {
        self.p
            .exprs
            .layout
            .events
            .get(e as usize)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| format!("event#{e}"))
    }

    fn template(&self, t: u32) -> String {
        self.p
            .exprs
            .templates
            .get(t as usize)
            .cloned()
            .unwrap_or_else(|| format!("template#{t}"))
    }

    /// One expression, fully parenthesized; `event` is the event in scope.
    fn expr(&self, e: &IrExpr, event: Option<u32>) -> String {
        let x = |e: &IrExpr| self.expr(e, event);
        match &e.kind {
            IrKind::Number(n) => format!("{n}"),
            IrKind::Bool(b) => format!("{b}"),
            IrKind::Text(s) => self.text(*s),
            IrKind::Stage(c) => self.stage(*c),
            IrKind::Field(s) => self.field(*s),
            IrKind::FieldIsSet(s) => format!("is_set({})", self.field(*s)),
            IrKind::EventProp(i) => self.prop(event, *i),
            IrKind::EventPropIsSet(i) => format!("is_set({})", self.prop(event, *i)),
            IrKind::Score(i) => format!(
                "score.{}",
                self.p.exprs.scores.get(*i).cloned().unwrap_or_default()
            ),
            IrKind::Now => stdlib::BuiltinId::Now.name().into(),
            IrKind::Not(a) => format!("not({})", x(a)),
            IrKind::Neg(a) => format!("-({})", x(a)),
            IrKind::And(a, b) => format!("({} and {})", x(a), x(b)),
            IrKind::Or(a, b) => format!("({} or {})", x(a), x(b)),
            IrKind::Arith(op, a, b) => {
                let op = match op {
                    crate::ir::ArithOp::Add => "+",
                    crate::ir::ArithOp::Sub => "-",
                    crate::ir::ArithOp::Mul => "*",
                    crate::ir::ArithOp::Div => "/",
                };
                format!("({} {op} {})", x(a), x(b))
            }
            IrKind::TimeShift(a, s) => format!("({} shifted {s}s)", x(a)),
            IrKind::Compare(op, _, a, b) => format!("({} {} {})", x(a), op.symbol(), x(b)),
            IrKind::InList {
                item,
                kind,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|w| self.word(*kind, *w)).collect();
                let not = if *negated { "not " } else { "" };
                format!("({} {not}in [{}])", x(item), items.join(", "))
            }
            IrKind::InTags { item, negated } => {
                let not = if *negated { "not " } else { "" };
                format!("({} {not}in tags)", x(item))
            }
            IrKind::TextTest(op, a, b) => format!("({} {} {})", x(a), op.words(), x(b)),
            IrKind::Matches(a, r) => format!(
                "({} matches {:?})",
                x(a),
                self.p
                    .exprs
                    .regexes
                    .get(*r)
                    .map(|r| r.as_str())
                    .unwrap_or("")
            ),
            IrKind::Between(_, a, lo, hi) => {
                format!("({} between {} and {})", x(a), x(lo), x(hi))
            }
            IrKind::Call(f, args) => {
                let a: Vec<String> = args.iter().map(x).collect();
                format!("{}({})", f.name(), a.join(", "))
            }
            IrKind::Engaged(f, t) => format!("{}({})", f.name(), self.template(*t)),
            IrKind::Count {
                event: ev,
                filter,
                window_secs,
            } => format!(
                "count({} where {} within {window_secs}s)",
                self.event_name(*ev),
                self.opt_func(*filter)
            ),
        }
    }

    fn action(&self, a: &ActionIr) -> String {
        match a {
            ActionIr::Set { field, value } => format!("set {field} = {}", self.func(*value)),
            ActionIr::Notify { target, text } => {
                let to = match target {
                    NotifyTo::Team(t) => format!("team {t}"),
                    NotifyTo::Owner => "owner".into(),
                    NotifyTo::Address(a) => format!("{a:?}"),
                };
                format!("notify {to} {text:?}")
            }
            other => format!("{other:?}"),
        }
    }

    fn actions(&self, a: &[ActionIr]) -> Vec<String> {
        a.iter().map(|a| self.action(a)).collect()
    }

    fn schedule_items(&self, s: &ScheduleIr) -> Vec<String> {
        s.items
            .iter()
            .map(|i| match i {
                crate::program::ScheduleItemIr::ForLeads { filter, actions } => {
                    format!("for {} do {:?}", self.func(*filter), self.actions(actions))
                }
                crate::program::ScheduleItemIr::Report(to) => format!("report {to:?}"),
            })
            .collect()
    }

    /// A step without its successors (they are compared through the step matching).
    pub fn node(&self, k: &NodeKind) -> String {
        match k {
            NodeKind::Action(a) => self.action(a),
            NodeKind::Wait { secs } => format!("wait {secs}s"),
            NodeKind::WaitClock { days, minute } => format!("wait until {days:07b} {minute}"),
            NodeKind::WaitDate {
                field,
                offset_secs,
                minute,
            } => format!("wait until {field} {offset_secs:+}s at {minute:?}"),
            NodeKind::WaitFor {
                event,
                filter,
                up_to_secs,
                ..
            } => format!(
                "wait for {event} where {} up to {up_to_secs}s",
                self.opt_func(*filter)
            ),
            NodeKind::WaitUntil {
                cond, up_to_secs, ..
            } => format!("wait until {} up to {up_to_secs}s", self.func(*cond)),
            NodeKind::Branch { arms } => {
                let c: Vec<String> = arms.iter().map(|(f, _)| self.func(*f)).collect();
                format!("if {}", c.join(" | "))
            }
            NodeKind::Split { arms, .. } => {
                let p: Vec<String> = arms.iter().map(|(p, _)| p.to_string()).collect();
                format!("split {}", p.join("/"))
            }
            NodeKind::End => "end".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(old: &str, new: &str) -> Option<(String, String)> {
        focused("when", old.into(), new.into()).map(|v| (v.old, v.new))
    }

    #[test]
    fn a_condition_shows_only_the_part_that_changed() {
        assert_eq!(
            shown("((a >= 1) and (b == \"x\"))", "((a >= 2) and (b == \"x\"))"),
            Some(("…(a >= 1)…".into(), "…(a >= 2)…".into()))
        );
        // Two changes apart: the group that holds both.
        assert_eq!(
            shown("((a >= 1) and (b == \"x\"))", "((a >= 2) and (b == \"y\"))"),
            Some((
                "((a >= 1) and (b == \"x\"))".into(),
                "((a >= 2) and (b == \"y\"))".into()
            ))
        );
        // No parentheses: the whole text; no change: nothing.
        assert_eq!(shown("a", "b"), Some(("a".into(), "b".into())));
        assert_eq!(shown("(a)", "(a)"), None);
        // A part added inside: the group grows on one side only.
        assert_eq!(
            shown("((a) and (b))", "((a) and (b or c))"),
            Some(("…(b)…".into(), "…(b or c)…".into()))
        );
    }
}
