//! `tandem test`: runs a program's `test` blocks on the engine, each in a fresh world on a virtual clock.

use compiler::program::LoweredProgram;
use compiler::symbols::{Bare, Symbols};
use grammar::ast::{
    Expectation, FieldValue, LiteralKind, TaskOutcome as AstOutcome, TestDecl, TestStmtKind,
};
use stdlib::Type;

use crate::engine::{Engine, TemplateParts};
use crate::scenario::{Input, InputKind, InputValue, TaskOutcome};
use crate::timeline::{Entry, Line};

/// The result of one test block.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// `None` when every expectation held; else what failed and the lines around it.
    pub failure: Option<(String, Vec<Line>)>,
    /// The statement that failed (an `expect`, or the input it could not apply).
    pub failed_at: Option<grammar::Span>,
    /// What the test exercised.
    pub coverage: crate::engine::Coverage,
}

fn literal_value(
    sym: &Symbols,
    field_type: Option<Type>,
    lit: &grammar::ast::Literal,
) -> Option<InputValue> {
    Some(match (&lit.kind, field_type) {
        (LiteralKind::Text(t), Some(Type::Time)) => {
            InputValue::Time(crate::scenario::parse_instant(&t.value).ok()?)
        }
        (LiteralKind::Text(t), _) => InputValue::Text(t.value.clone()),
        (LiteralKind::Number { value, .. }, _) => InputValue::Number(*value),
        (LiteralKind::Bool(b), _) => InputValue::Bool(*b),
        (LiteralKind::Name(n), _) => {
            sym.stage_index(&n.name)?;
            InputValue::Stage(n.name.clone())
        }
        (LiteralKind::List(items), _) => InputValue::Tags(
            items
                .iter()
                .filter_map(|i| match &i.kind {
                    LiteralKind::Text(t) => Some(t.value.clone()),
                    _ => None,
                })
                .collect(),
        ),
    })
}

fn field_type(sym: &Symbols, name: &str) -> Option<Type> {
    match sym.bare.get(name) {
        Some(Bare::Field(f)) => Some(f.ty),
        _ => None,
    }
}

fn fields(sym: &Symbols, values: &[FieldValue]) -> Vec<(String, InputValue)> {
    values
        .iter()
        .filter(|f| f.name.name != "id")
        .filter_map(|f| {
            literal_value(sym, field_type(sym, &f.name.name), &f.value)
                .map(|v| (f.name.name.clone(), v))
        })
        .collect()
}

/// Local `date time` in the program's time zone, as seconds.
fn local_instant(tz: &str, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    let Ok(tz) = jiff::tz::TimeZone::get(tz) else {
        return 0;
    };
    let Ok(date) = jiff::civil::Date::new(y as i16, mo as i8, d as i8) else {
        return 0;
    };
    let Ok(time) = jiff::civil::Time::new(h as i8, mi as i8, 0, 0) else {
        return 0;
    };
    crate::calendar::local_to_instant(&tz, date.to_datetime(time)).unwrap_or(0)
}

/// `expect … task H escalated|reassigned [to "x"]`: whether one of the task's changes
/// `got` (their recipients) matches, and the message when not.
fn task_change(
    what: &str,
    handoff: &str,
    lead: &str,
    to: Option<&grammar::ast::TextLit>,
    got: &[&str],
    negated: bool,
) -> (bool, String) {
    let hit = match to {
        Some(t) => got.contains(&t.value.as_str()),
        None => !got.is_empty(),
    };
    let ok = hit != negated;
    let wanted = to.map(|t| format!(" to {}", t.value)).unwrap_or_default();
    let what_not = if negated {
        format!("not {what}")
    } else {
        what.to_owned()
    };
    let found = if got.is_empty() {
        format!("it was not {what}")
    } else {
        format!("it was {what} to {}", got.join(", "))
    };
    (
        ok,
        format!("expected {lead}'s `{handoff}` task {what_not}{wanted}; {found}"),
    )
}

/// Runs one test block.
pub fn run_test(
    p: &LoweredProgram,
    sym: &Symbols,
    test: &TestDecl,
    kind: compiler::evaluator::EvaluatorKind,
    templates: &rustc_hash::FxHashMap<String, TemplateParts>,
) -> TestResult {
    let name = test.name.value.clone();
    let mut world = match Engine::new(p, kind, templates.clone()) {
        Ok(w) => w,
        Err(e) => {
            return TestResult {
                name,
                failure: Some((e.0, Vec::new())),
                failed_at: None,
                coverage: Default::default(),
            }
        }
    };
    let mut start = local_instant(&p.timezone, 2026, 1, 5, 9, 0);
    if let Some(TestStmtKind::Start { date, clock }) = test.stmts.first().map(|s| &s.kind) {
        let (h, m) = clock.map(|c| (c.hour, c.minute)).unwrap_or((0, 0));
        start = local_instant(&p.timezone, date.year, date.month, date.day, h, m);
    }
    world.start(start);
    let mut lines: Vec<Line> = Vec::new();
    let mut ids: rustc_hash::FxHashMap<String, String> = rustc_hash::FxHashMap::default();
    let mut index = 0;
    for stmt in &test.stmts {
        let now = world.now();
        let mut input =
            |lead: &str, kind: InputKind, world: &mut Engine<'_>, lines: &mut Vec<Line>| {
                index += 1;
                world.input(&Input {
                    index,
                    at: now,
                    lead: lead.to_owned(),
                    kind,
                });
                lines.extend(world.take_lines());
            };
        let id_of = |l: &str, ids: &rustc_hash::FxHashMap<String, String>| {
            ids.get(l).cloned().unwrap_or_else(|| l.to_owned())
        };
        let fail = |msg: String, lines: &[Line], world: &Engine<'_>| {
            let tail = lines.len().saturating_sub(15);
            TestResult {
                name: name.clone(),
                failure: Some((msg, lines[tail..].to_vec())),
                failed_at: Some(stmt.span),
                coverage: world.coverage().clone(),
            }
        };
        match &stmt.kind {
            TestStmtKind::Start { .. } => {}
            TestStmtKind::Lead { lead, fields: f } => {
                let id = f
                    .iter()
                    .find(|x| x.name.name == "id")
                    .and_then(|x| match &x.value.kind {
                        LiteralKind::Text(t) => Some(t.value.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| lead.name.clone());
                ids.insert(lead.name.clone(), id.clone());
                input(
                    &id,
                    InputKind::Create(fields(sym, f)),
                    &mut world,
                    &mut lines,
                );
            }
            TestStmtKind::Update { lead, fields: f } => input(
                &id_of(&lead.name, &ids),
                InputKind::Update(fields(sym, f)),
                &mut world,
                &mut lines,
            ),
            TestStmtKind::Event { lead, event, props } => {
                let info = sym.events.get(&event.name);
                let props = props
                    .iter()
                    .filter_map(|pv| {
                        let ty = info.and_then(|i| i.prop(&pv.name.name));
                        literal_value(sym, ty, &pv.value).map(|v| (pv.name.name.clone(), v))
                    })
                    .collect();
                input(
                    &id_of(&lead.name, &ids),
                    InputKind::Event {
                        event: event.name.clone(),
                        props,
                    },
                    &mut world,
                    &mut lines,
                );
            }
            TestStmtKind::Advance(d) => {
                world.advance_to(now.saturating_add(d.seconds.round() as i64));
                lines.extend(world.take_lines());
            }
            TestStmtKind::Task {
                lead,
                handoff,
                outcome,
            } => {
                let (outcome, reason) = match outcome {
                    AstOutcome::Accept => (TaskOutcome::Accept, None),
                    AstOutcome::Complete => (TaskOutcome::Complete, None),
                    AstOutcome::Reject(r) => (TaskOutcome::Reject, Some(r.name.clone())),
                };
                input(
                    &id_of(&lead.name, &ids),
                    InputKind::Task {
                        handoff: handoff.name.clone(),
                        outcome,
                        by: None,
                        reason,
                    },
                    &mut world,
                    &mut lines,
                );
            }
            TestStmtKind::Expect { lead, expectation } => {
                let id = id_of(&lead.name, &ids);
                let Some(l) = world.lead(&id) else {
                    return fail(format!("there is no lead `{}`", lead.name), &lines, &world);
                };
                let sent = |t: &str| {
                    lines.iter().any(|x| {
                        x.lead.as_deref() == Some(id.as_str())
                            && matches!(&x.entry, Entry::EmailSent { template, .. } if template == t)
                    })
                };
                let (ok, what) = match expectation {
                    Expectation::Sent(t) => (
                        sent(&t.name),
                        format!("expected `{}` to have been sent to {}", t.name, lead.name),
                    ),
                    Expectation::NotSent(t) => (
                        !sent(&t.name),
                        format!(
                            "expected `{}` not to have been sent to {}",
                            t.name, lead.name
                        ),
                    ),
                    Expectation::In(j) => (
                        world.in_journey(l, &j.name),
                        format!("expected {} in `{}`", lead.name, j.name),
                    ),
                    Expectation::NotIn(j) => (
                        !world.in_journey(l, &j.name),
                        format!("expected {} not in `{}`", lead.name, j.name),
                    ),
                    Expectation::TaskAssigned { handoff, assignee } => {
                        let got = world.open_task_assignee(l, &handoff.name);
                        (
                            got.as_deref() == Some(assignee.value.as_str()),
                            format!(
                                "expected an open `{}` task assigned to {}, found {}",
                                handoff.name,
                                assignee.value,
                                got.unwrap_or_else(|| "no open task".into())
                            ),
                        )
                    }
                    Expectation::SentAt {
                        template,
                        date,
                        clock,
                    } => {
                        let want = local_instant(
                            &p.timezone,
                            date.year,
                            date.month,
                            date.day,
                            clock.hour,
                            clock.minute,
                        );
                        let at: Vec<i64> = lines
                            .iter()
                            .filter(|x| {
                                x.lead.as_deref() == Some(id.as_str())
                                    && matches!(&x.entry, Entry::EmailSent { template: t, .. } if *t == template.name)
                            })
                            .map(|x| x.at)
                            .collect();
                        let found = if at.is_empty() {
                            "it was not sent".to_owned()
                        } else {
                            let shown: Vec<String> = at
                                .iter()
                                .map(|t| crate::timeline::format_instant(*t))
                                .collect();
                            format!("it was sent at {}", shown.join(", "))
                        };
                        (
                            at.contains(&want),
                            format!(
                                "expected `{}` sent to {} at {}; {found}",
                                template.name,
                                lead.name,
                                crate::timeline::format_instant(want)
                            ),
                        )
                    }
                    Expectation::TaskEscalated {
                        handoff,
                        to,
                        negated,
                    }
                    | Expectation::TaskReassigned {
                        handoff,
                        to,
                        negated,
                    } => {
                        let escalated = matches!(expectation, Expectation::TaskEscalated { .. });
                        let got: Vec<&str> = lines
                            .iter()
                            .filter(|x| x.lead.as_deref() == Some(id.as_str()))
                            .filter_map(|x| match &x.entry {
                                Entry::TaskEscalated { handoff: h, to, .. }
                                    if escalated && *h == handoff.name =>
                                {
                                    Some(to.as_str())
                                }
                                Entry::TaskReassigned { handoff: h, to, .. }
                                    if !escalated && *h == handoff.name =>
                                {
                                    Some(to.as_str())
                                }
                                _ => None,
                            })
                            .collect();
                        let created = lines.iter().any(|x| {
                            x.lead.as_deref() == Some(id.as_str())
                                && matches!(&x.entry, Entry::TaskCreated { handoff: h, .. } if *h == handoff.name)
                        });
                        let what = if escalated { "escalated" } else { "reassigned" };
                        if created {
                            task_change(
                                what,
                                &handoff.name,
                                &lead.name,
                                to.as_ref(),
                                &got,
                                *negated,
                            )
                        } else {
                            // Neither form holds of a task that was never created.
                            (
                                false,
                                format!(
                                    "expected {}'s `{}` task {}{what}; {} has no `{}` task",
                                    lead.name,
                                    handoff.name,
                                    if *negated { "not " } else { "" },
                                    lead.name,
                                    handoff.name
                                ),
                            )
                        }
                    }
                    Expectation::Notified { to, negated } => {
                        // Everyone an internal email about this lead went to, in order.
                        let mut got: Vec<&str> = Vec::new();
                        for x in lines
                            .iter()
                            .filter(|x| x.lead.as_deref() == Some(id.as_str()))
                        {
                            if let Entry::Notified { to: list, .. } = &x.entry {
                                for who in list {
                                    if !got.contains(&who.as_str()) {
                                        got.push(who);
                                    }
                                }
                            }
                        }
                        let hit = match to {
                            Some(t) => got.contains(&t.value.as_str()),
                            None => !got.is_empty(),
                        };
                        let whom = to
                            .as_ref()
                            .map(|t| format!(" to {}", t.value))
                            .unwrap_or_default();
                        let found = if got.is_empty() {
                            "none was sent".to_owned()
                        } else {
                            format!("notified: {}", got.join(", "))
                        };
                        let a = if *negated { "no" } else { "a" };
                        (
                            hit != *negated,
                            format!(
                                "expected {a} notification{whom} about {}; {found}",
                                lead.name
                            ),
                        )
                    }
                    Expectation::Webhook { webhook, negated } => {
                        let hit = lines.iter().any(|x| {
                            x.lead.as_deref() == Some(id.as_str())
                                && matches!(&x.entry, Entry::WebhookCalled { webhook: w, .. } if *w == webhook.name)
                        });
                        let not = if *negated { " not" } else { "" };
                        (
                            hit != *negated,
                            format!(
                                "expected the webhook `{}`{not} to have been called for {}",
                                webhook.name, lead.name
                            ),
                        )
                    }
                    Expectation::NoTask(h) => (
                        world.open_task_assignee(l, &h.name).is_none(),
                        format!("expected no open `{}` task for {}", h.name, lead.name),
                    ),
                    Expectation::Expr(e) => {
                        let f = p
                            .origins
                            .iter()
                            .find(|o| o.span == e.span && o.what.starts_with("test"))
                            .map(|o| o.func);
                        match f {
                            Some(f) => (
                                world.condition(l, f),
                                format!("expected {}: `{}`", lead.name, grammar::format::expr(e)),
                            ),
                            None => (false, "this expectation was not compiled".to_owned()),
                        }
                    }
                };
                if !ok {
                    return fail(what, &lines, &world);
                }
            }
        }
    }
    TestResult {
        name,
        failure: None,
        failed_at: None,
        coverage: world.coverage().clone(),
    }
}
