//! Program-wide checks and warnings: segment and score cycles, journeys nothing can enter, conditions only time can make true (`W-CLOCK`), and handoffs that re-trigger on reject.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use grammar::ast::*;
use grammar::{Diagnostic, Span};

use crate::check::{FileFacts, Node};
use crate::codes;
use crate::symbols::{Bare, Symbols};

// ------------------------------------------------------------------ cycles

/// Reports every cycle among segments and scores once (at its first member in name order).
/// Segment/score nodes with their span and what they read.
type Graph<'a> = HashMap<&'a Node, (Span, &'a [(Node, Span)])>;

pub fn cycles(facts: &[&FileFacts], diags: &mut Vec<Diagnostic>) {
    // Nodes in program order (so the report is stable), edges by lookup.
    let mut order: Vec<&Node> = Vec::new();
    let mut graph: Graph<'_> = HashMap::default();
    for f in facts {
        for def in &f.deps {
            if !graph.contains_key(&def.node) {
                graph.insert(&def.node, (def.span, def.reads.as_slice()));
                order.push(&def.node);
            }
        }
    }
    // Iterative DFS with colours; a back edge closes a cycle.
    let mut colour: HashMap<&Node, u8> = HashMap::default();
    let mut reported: HashSet<Vec<Node>> = HashSet::default();
    for &start in &order {
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&Node, usize)> = vec![(start, 0)];
        colour.insert(start, 1);
        while let Some((node, next)) = stack.last().copied() {
            let edges: &[(Node, Span)] = graph.get(node).map(|(_, e)| *e).unwrap_or(&[]);
            if next >= edges.len() {
                colour.insert(node, 2);
                stack.pop();
                continue;
            }
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            let (target, _) = &edges[next];
            let Some((&target, _)) = graph.get_key_value(target) else {
                continue;
            };
            match colour.get(target).copied().unwrap_or(0) {
                0 => {
                    colour.insert(target, 1);
                    stack.push((target, 0));
                }
                1 => {
                    let pos = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                    let members: Vec<Node> =
                        stack[pos..].iter().map(|(n, _)| (*n).clone()).collect();
                    let mut key = members.clone();
                    key.sort();
                    if reported.insert(key) {
                        report_cycle(&members, &graph, diags);
                    }
                }
                _ => {}
            }
        }
    }
}

fn node_name(n: &Node) -> String {
    match n {
        Node::Segment(s) => format!("segment `{s}`"),
        Node::Score(s) => format!("score `{s}`"),
    }
}

fn report_cycle(members: &[Node], graph: &Graph<'_>, diags: &mut Vec<Diagnostic>) {
    let any_score = members.iter().any(|m| matches!(m, Node::Score(_)));
    let any_segment = members.iter().any(|m| matches!(m, Node::Segment(_)));
    let code = if any_score {
        codes::SCORE_CYCLE
    } else {
        codes::SEGMENT_CYCLE
    };
    let mut path: Vec<String> = members.iter().map(node_name).collect();
    path.push(node_name(&members[0]));
    let span = graph.get(&members[0]).map(|(s, _)| *s).unwrap_or_default();
    let what = match (any_score, any_segment) {
        (true, true) => "segments and scores",
        (true, false) => "scores",
        _ => "segments",
    };
    let mut d = Diagnostic::error(
        code,
        span,
        format!(
            "these {what} depend on each other in a circle: {}",
            path.join(" → ")
        ),
    )
    .with_help("break the circle: one of them must not read the other");
    for m in &members[1..] {
        if let Some((s, _)) = graph.get(m) {
            d = d.with_related(*s, format!("{} is part of the circle", node_name(m)));
        }
    }
    diags.push(d);
}

// ------------------------------------------------------------------ reachability

/// `W-NO-ENTRY`: journeys without `enter` that no `enroll` names. `mentioned` holds the
/// words of declarations that do not parse: a journey named there may be enrolled by
/// them, so it is not reported.
pub fn unreachable_journeys(
    files: &[&SourceFile],
    facts: &[&FileFacts],
    mentioned: &HashSet<&str>,
    diags: &mut Vec<Diagnostic>,
) {
    let enrolled: HashSet<&str> = facts
        .iter()
        .flat_map(|f| f.enrolled.iter().map(String::as_str))
        .collect();
    // An `enroll` of a name that is no journey is reported as unknown with its "did you
    // mean"; the journey it was meant for is not also reported as unreachable.
    let journeys: HashSet<&str> = files
        .iter()
        .flat_map(|f| f.decls.iter())
        .filter_map(|d| match &d.kind {
            DeclKind::Journey(j) => Some(j.name.name.as_str()),
            _ => None,
        })
        .collect();
    let misspelt: Vec<&str> = enrolled
        .iter()
        .copied()
        .filter(|e| !journeys.contains(e))
        .collect();
    for file in files {
        for decl in &file.decls {
            if let DeclKind::Journey(j) = &decl.kind {
                let meant = misspelt.iter().any(|e| {
                    crate::suggest::did_you_mean(e, journeys.iter().copied())
                        == Some(j.name.name.as_str())
                });
                if meant {
                    continue;
                }
                let has_enter = j.header.iter().any(|h| {
                    matches!(
                        h.kind,
                        JourneyHeaderKind::EnterOn { .. } | JourneyHeaderKind::EnterWhen(_)
                    )
                });
                let name = j.name.name.as_str();
                if !has_enter && !enrolled.contains(name) && !mentioned.contains(name) {
                    diags.push(
                        Diagnostic::warning(
                            codes::W_NO_ENTRY,
                            j.name.span,
                            format!("no lead can ever enter the journey `{}`", j.name.name),
                        )
                        .with_help("add `enter on EVENT` or `enter when …`, or `enroll` it from a rule, a handoff or a schedule"),
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------------ W-CLOCK

/// How an expression moves as time passes, all else equal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drift {
    Rises,
    Falls,
    Still,
}

fn drift(e: &Expr) -> Drift {
    match &e.kind {
        ExprKind::Paren(inner) => drift(inner),
        ExprKind::Call { func, .. }
            if stdlib::builtin(&func.name).is_some_and(|b| b.reads_clock()) =>
        {
            Drift::Rises
        }
        ExprKind::Count { .. } => Drift::Falls,
        ExprKind::Neg(inner) => match drift(inner) {
            Drift::Rises => Drift::Falls,
            Drift::Falls => Drift::Rises,
            Drift::Still => Drift::Still,
        },
        ExprKind::Binary {
            op: BinaryOp::Add,
            lhs,
            rhs,
        } => match (drift(lhs), drift(rhs)) {
            (d, Drift::Still) | (Drift::Still, d) => d,
            (a, b) if a == b => a,
            _ => Drift::Still,
        },
        ExprKind::Binary {
            op: BinaryOp::Sub,
            lhs,
            rhs,
        } => match (drift(lhs), drift(rhs)) {
            (d, Drift::Still) => d,
            (Drift::Still, Drift::Rises) => Drift::Falls,
            (Drift::Still, Drift::Falls) => Drift::Rises,
            _ => Drift::Still,
        },
        _ => Drift::Still,
    }
}

/// Finds sub-conditions that time alone can turn true. `positive` is false under `not`.
fn clock_sensitive<'e>(e: &'e Expr, positive: bool, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Paren(inner) => clock_sensitive(inner, positive, out),
        ExprKind::Not(inner) => clock_sensitive(inner, !positive, out),
        ExprKind::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            lhs,
            rhs,
        } => {
            clock_sensitive(lhs, positive, out);
            clock_sensitive(rhs, positive, out);
        }
        ExprKind::Compare { op, lhs, rhs } => {
            // Normalise to "left side drifts": `a < b` is `b > a`.
            let (d, op) = match (drift(lhs), drift(rhs)) {
                (Drift::Still, Drift::Still) => return,
                (d, Drift::Still) => (d, *op),
                (Drift::Still, d) => (d, mirror(*op)),
                _ => return,
            };
            let grows_true = match (d, op) {
                (Drift::Rises, CompareOp::Gt | CompareOp::Ge) => positive,
                (Drift::Rises, CompareOp::Lt | CompareOp::Le) => !positive,
                (Drift::Falls, CompareOp::Lt | CompareOp::Le) => positive,
                (Drift::Falls, CompareOp::Gt | CompareOp::Ge) => !positive,
                _ => false,
            };
            if grows_true {
                out.push(e);
            }
        }
        ExprKind::Between { subject, .. } if drift(subject) != Drift::Still => out.push(e),
        _ => {}
    }
}

fn mirror(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

fn warn_clock(e: &Expr, what: &str, diags: &mut Vec<Diagnostic>) {
    warn_clock_with(
        e,
        what,
        "to act on time, use a `schedule` with `for leads where …`",
        diags,
    );
}

fn warn_clock_with(e: &Expr, what: &str, help: &str, diags: &mut Vec<Diagnostic>) {
    let mut found = Vec::new();
    clock_sensitive(e, true, &mut found);
    for sub in found {
        diags.push(
            Diagnostic::warning(
                codes::W_CLOCK,
                sub.span,
                format!("this part of {what} can become true just because time passes, but conditions are only re-checked when something happens to the lead"),
            )
            .with_help(help),
        );
    }
}

/// `W-CLOCK` inside a journey's steps: a `wait until` on a condition that only time
/// makes true leaves a quiet lead waiting until its `up to` (or for ever).
fn clock_in_steps(steps: &[Step], diags: &mut Vec<Diagnostic>) {
    for step in steps {
        match &step.kind {
            StepKind::WaitUntil {
                cond,
                body,
                timeout,
                ..
            } => {
                warn_clock_with(
                    cond,
                    "the `wait until`",
                    "a quiet lead would wait until `up to` runs out; to wait for time, write `wait 2 hours` or `wait until mon 9:00`, or wait for an event with `wait for EVENT`",
                    diags,
                );
                clock_in_steps(body.as_deref().unwrap_or_default(), diags);
                clock_in_steps(timeout.as_deref().unwrap_or_default(), diags);
            }
            StepKind::WaitFor { body, timeout, .. } => {
                clock_in_steps(body.as_deref().unwrap_or_default(), diags);
                clock_in_steps(timeout.as_deref().unwrap_or_default(), diags);
            }
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (_, b) in branches {
                    clock_in_steps(b, diags);
                }
                clock_in_steps(otherwise.as_deref().unwrap_or_default(), diags);
            }
            StepKind::Split(arms) => {
                for arm in arms {
                    clock_in_steps(&arm.steps, diags);
                }
            }
            _ => {}
        }
    }
}

/// `W-CLOCK` over the triggers and score `if` lines of one file.
pub fn clock_lints(file: &SourceFile, diags: &mut Vec<Diagnostic>) {
    for decl in &file.decls {
        match &decl.kind {
            DeclKind::Rule(r) => warn_clock(&r.when, "the rule's `when`", diags),
            DeclKind::Handoff(h) => {
                for item in &h.items {
                    if let HandoffItemKind::When(e) = &item.kind {
                        warn_clock(e, "the handoff's `when`", diags);
                    }
                }
            }
            DeclKind::Journey(j) => {
                for h in &j.header {
                    match &h.kind {
                        JourneyHeaderKind::EnterWhen(e) => warn_clock(e, "`enter when`", diags),
                        JourneyHeaderKind::ExitWhen(e) => warn_clock(e, "`exit when`", diags),
                        JourneyHeaderKind::Goal(e) => warn_clock(e, "`goal`", diags),
                        _ => {}
                    }
                }
                clock_in_steps(&j.steps, diags);
            }
            DeclKind::Score(s) => {
                for item in &s.items {
                    if let ScoreItemKind::If { cond, .. } = &item.kind {
                        warn_clock(cond, "this score line", diags);
                    }
                }
            }
            _ => {}
        }
    }
}

// ------------------------------------------------------------------ W-REJECT-LOOP

/// A value known at compile time.
#[derive(Debug, Clone, PartialEq)]
enum Known {
    Text(String),
    Number(f64),
    Bool(bool),
    Stage(usize),
}

/// What is known about a lead right after a block of actions.
#[derive(Default, Clone, PartialEq)]
struct Facts {
    fields: HashMap<String, Known>,
    tags_added: HashSet<String>,
    tags_removed: HashSet<String>,
}

fn known_value(sym: &Symbols, e: &Expr) -> Option<Known> {
    match &e.unparen().kind {
        ExprKind::Text(t) => Some(Known::Text(t.value.clone())),
        ExprKind::Number { value, .. } => Some(Known::Number(*value)),
        ExprKind::Bool(b) => Some(Known::Bool(*b)),
        ExprKind::Name(n) => match sym.bare.get(&n.name) {
            Some(Bare::Stage(i)) => Some(Known::Stage(*i)),
            _ => None,
        },
        _ => None,
    }
}

fn facts_of(sym: &Symbols, actions: &[Action]) -> Facts {
    let mut f = Facts::default();
    for a in actions {
        match &a.kind {
            ActionKind::Set { field, value } => match known_value(sym, value) {
                Some(v) => {
                    f.fields.insert(field.name.clone(), v);
                }
                None => {
                    f.fields.remove(&field.name);
                }
            },
            ActionKind::Tag(t) => {
                f.tags_removed.remove(&t.value);
                f.tags_added.insert(t.value.clone());
            }
            ActionKind::Untag(t) => {
                f.tags_added.remove(&t.value);
                f.tags_removed.insert(t.value.clone());
            }
            _ => {}
        }
    }
    f
}

/// Three-valued evaluation: `Some(b)` when the facts decide the condition.
fn decide(sym: &Symbols, e: &Expr, facts: &Facts) -> Option<bool> {
    match &e.kind {
        ExprKind::Paren(inner) => decide(sym, inner, facts),
        ExprKind::Bool(b) => Some(*b),
        ExprKind::Not(inner) => decide(sym, inner, facts).map(|b| !b),
        ExprKind::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => match (decide(sym, lhs, facts), decide(sym, rhs, facts)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        ExprKind::Binary {
            op: BinaryOp::Or,
            lhs,
            rhs,
        } => match (decide(sym, lhs, facts), decide(sym, rhs, facts)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        ExprKind::In {
            negated,
            item,
            list,
        } => {
            let ExprKind::Name(l) = &list.unparen().kind else {
                return None;
            };
            if l.name != "tags" {
                return None;
            }
            let ExprKind::Text(t) = &item.unparen().kind else {
                return None;
            };
            let present = if facts.tags_added.contains(&t.value) {
                true
            } else if facts.tags_removed.contains(&t.value) {
                false
            } else {
                return None;
            };
            Some(present != *negated)
        }
        ExprKind::Compare { op, lhs, rhs } => {
            let value = |x: &Expr| -> Option<Known> {
                match &x.unparen().kind {
                    ExprKind::Name(n) if facts.fields.contains_key(&n.name) => facts.fields.get(&n.name).cloned(),
                    _ => known_value(sym, x).filter(|_| !matches!(&x.unparen().kind, ExprKind::Name(n) if matches!(sym.bare.get(&n.name), Some(Bare::Field(_))))),
                }
            };
            let (l, r) = (value(lhs)?, value(rhs)?);
            compare(sym, *op, &l, &r)
        }
        _ => None,
    }
}

fn compare(sym: &Symbols, op: CompareOp, l: &Known, r: &Known) -> Option<bool> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (l, r) {
        (Known::Number(a), Known::Number(b)) => a.partial_cmp(b),
        (Known::Text(a), Known::Text(b)) => Some(a.cmp(b)),
        (Known::Bool(a), Known::Bool(b)) => Some(a.cmp(b)),
        (Known::Stage(a), Known::Stage(b)) => {
            if matches!(op, CompareOp::Eq | CompareOp::Ne) {
                Some(a.cmp(b))
            } else {
                let fa = sym.stages.get(*a).and_then(|s| s.funnel);
                let fb = sym.stages.get(*b).and_then(|s| s.funnel);
                match (fa, fb) {
                    (Some(x), Some(y)) => Some(x.cmp(&y)),
                    _ => return Some(false),
                }
            }
        }
        _ => None,
    };
    ord.map(|o| op.holds(o))
}

/// Does the condition read a field or tag that these facts change?
fn mentions(e: &Expr, facts: &Facts) -> bool {
    match &e.kind {
        ExprKind::Name(n) => {
            facts.fields.contains_key(&n.name)
                || (n.name == "tags"
                    && !(facts.tags_added.is_empty() && facts.tags_removed.is_empty()))
        }
        ExprKind::Paren(x) | ExprKind::Not(x) | ExprKind::Neg(x) => mentions(x, facts),
        ExprKind::Binary { lhs, rhs, .. }
        | ExprKind::Compare { lhs, rhs, .. }
        | ExprKind::TextCompare { lhs, rhs, .. } => mentions(lhs, facts) || mentions(rhs, facts),
        ExprKind::In { item, list, .. } => mentions(item, facts) || mentions(list, facts),
        ExprKind::Matches { subject, .. } | ExprKind::IsSet { subject, .. } => {
            mentions(subject, facts)
        }
        ExprKind::Between { subject, low, high } => {
            mentions(subject, facts) || mentions(low, facts) || mentions(high, facts)
        }
        ExprKind::Call { args, .. } => args.iter().any(|a| mentions(a, facts)),
        ExprKind::List(items) => items.iter().any(|a| mentions(a, facts)),
        // Segments, scores and counts may read anything: treat them as changed.
        ExprKind::Member { .. } | ExprKind::Count { .. } => true,
        _ => false,
    }
}

/// Decides a handoff's `when` after changes, knowing it was true when the handoff started:
/// each top-level `and` operand that reads nothing the changes touch is still true.
fn decide_trigger(sym: &Symbols, when: &Expr, facts: &Facts) -> Option<bool> {
    let mut conjuncts = Vec::new();
    let mut stack = vec![when];
    while let Some(e) = stack.pop() {
        match &e.unparen().kind {
            ExprKind::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
            } => {
                stack.push(rhs);
                stack.push(lhs);
            }
            _ => conjuncts.push(e),
        }
    }
    let mut all_true = true;
    for c in conjuncts {
        let segment = matches!(&c.unparen().kind, ExprKind::Name(n) if matches!(sym.bare.get(&n.name), Some(Bare::Segment(_))));
        if !segment && !mentions(c, facts) {
            continue;
        }
        match decide(sym, c, facts) {
            Some(false) => return Some(false),
            Some(true) => {}
            None => all_true = false,
        }
    }
    all_true.then_some(true)
}

/// `W-REJECT-LOOP`: after `on reject`, a rule (or the block itself) makes the
/// handoff's `when` true again in the same settle.
pub fn reject_loops(sym: &Symbols, files: &[&SourceFile], diags: &mut Vec<Diagnostic>) {
    // Rules grouped by what their `then` sets: the handoff's `when` is decided once per group.
    let mut groups: Vec<(Facts, Vec<&RuleDecl>)> = Vec::new();
    for rule in files
        .iter()
        .flat_map(|f| f.decls.iter())
        .filter_map(|d| match &d.kind {
            DeclKind::Rule(r) => Some(r),
            _ => None,
        })
    {
        let then = facts_of(sym, &rule.then);
        if then.fields.is_empty() && then.tags_added.is_empty() && then.tags_removed.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(f, _)| *f == then) {
            Some((_, rules)) => rules.push(rule),
            None => groups.push((then, vec![rule])),
        }
    }
    for file in files {
        for decl in &file.decls {
            let DeclKind::Handoff(h) = &decl.kind else {
                continue;
            };
            let Some(when) = h.items.iter().find_map(|i| match &i.kind {
                HandoffItemKind::When(e) => Some(e),
                _ => None,
            }) else {
                continue;
            };
            let Some((reject_span, on_reject)) = h.items.iter().find_map(|i| match &i.kind {
                HandoffItemKind::On {
                    outcome: Outcome::Reject,
                    actions,
                } => Some((i.span, actions)),
                _ => None,
            }) else {
                continue;
            };
            if on_reject
                .iter()
                .any(|a| matches!(&a.kind, ActionKind::Handoff(n) if n.name == h.name.name))
            {
                diags.push(loop_warning(
                    h,
                    reject_span,
                    "it starts the same handoff again",
                ));
                continue;
            }
            let after = facts_of(sym, on_reject);
            if decide_trigger(sym, when, &after) != Some(false) {
                // The condition may stay true; edge triggering will not fire it again.
                continue;
            }
            'groups: for (then, rules) in &groups {
                let mut next = after.clone();
                next.fields.extend(then.fields.clone());
                for t in &then.tags_added {
                    next.tags_removed.remove(t);
                    next.tags_added.insert(t.clone());
                }
                for t in &then.tags_removed {
                    next.tags_added.remove(t);
                    next.tags_removed.insert(t.clone());
                }
                if decide_trigger(sym, when, &next) != Some(true) {
                    continue;
                }
                for rule in rules {
                    if decide(sym, &rule.when, &after) != Some(false) {
                        diags.push(loop_warning(
                            h,
                            reject_span,
                            &format!(
                                "the rule `{}` can then make the handoff's `when` true again at once",
                                rule.name.name
                            ),
                        ));
                        break 'groups;
                    }
                }
            }
        }
    }
}

fn loop_warning(h: &HandoffDecl, span: Span, why: &str) -> Diagnostic {
    Diagnostic::warning(
        codes::W_REJECT_LOOP,
        span,
        format!("after Sales rejects a lead, the handoff `{}` would hand it over again: {why}", h.name.name),
    )
    .with_help("mark rejected leads (e.g. `tag \"recycled\"`) and exclude them in the rule: `\"recycled\" not in tags`")
}
