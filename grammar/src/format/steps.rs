//! The formatter's blocks of statements: actions, journey steps with their waits and branches, and test statements.

use super::text::*;
use super::{Printer, WIDTH};
use crate::ast::*;

impl Printer<'_> {
    pub(super) fn actions(&mut self, actions: &[Action], end: u32) {
        for (i, a) in actions.iter().enumerate() {
            self.begin_item(a.span, i == 0);
            let t = self.action_text(a);
            self.line(&t);
            self.trailing_comment(a.span.end);
        }
        self.end_block(end);
    }

    /// `head { action }` on one line for a single short action, else a block.
    pub(super) fn action_block(&mut self, head: &str, actions: &[Action], end: u32) {
        let has_comment_inside = self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.span.start < end);
        if actions.len() == 1 && !has_comment_inside {
            let one = format!("{head} {{ {} }}", self.action_text(&actions[0]));
            if self.pad().len() + one.len() <= WIDTH {
                self.line(&one);
                return;
            }
        }
        self.line(&format!("{head} {{"));
        self.indent += 1;
        self.actions(actions, end);
        self.indent -= 1;
        self.line("}");
    }

    pub(super) fn action_text(&self, a: &Action) -> String {
        match &a.kind {
            ActionKind::Set { field, value } => format!("set {} = {}", field.name, expr(value)),
            ActionKind::Tag(t) => format!("tag \"{}\"", t.raw),
            ActionKind::Untag(t) => format!("untag \"{}\"", t.raw),
            ActionKind::Send(t) => format!("send {}", t.name),
            ActionKind::Enroll(j) => format!("enroll {}", j.name),
            ActionKind::Notify { target, text } => {
                let to = match target {
                    NotifyTarget::Team(t) => format!("team {}", t.name),
                    NotifyTarget::Owner(_) => "owner".to_owned(),
                    NotifyTarget::Address(a) => format!("\"{}\"", a.raw),
                };
                format!("notify {to} \"{}\"", text.raw)
            }
            ActionKind::Handoff(h) => format!("handoff {}", h.name),
            ActionKind::Webhook(w) => format!("webhook {}", w.name),
            ActionKind::Exit => "exit".to_owned(),
        }
    }

    pub(super) fn steps(&mut self, steps: &[Step], end: u32) {
        for (i, s) in steps.iter().enumerate() {
            self.begin_item(s.span, i == 0);
            self.step(s);
        }
        self.end_block(end);
    }

    pub(super) fn block_end_of(steps: &[Step], fallback: u32) -> u32 {
        steps.last().map(|s| s.span.end).unwrap_or(fallback)
    }

    pub(super) fn step(&mut self, s: &Step) {
        match &s.kind {
            StepKind::Action(a) => {
                let t = self.action_text(a);
                self.line(&t);
            }
            StepKind::Wait(d) => self.line(&format!("wait {}", duration(d))),
            StepKind::WaitClock { days, clock: c } => match days {
                Some(d) => self.line(&format!("wait until {} {}", d.items.join(","), clock(c))),
                None => self.line(&format!("wait until {}", clock(c))),
            },
            StepKind::WaitDate { offset, field, at } => {
                let mut text = "wait until ".to_owned();
                if let Some((d, before)) = offset {
                    let side = if *before { "before" } else { "after" };
                    text.push_str(&format!("{} {side} ", duration(d)));
                }
                text.push_str(&field.name);
                if let Some(c) = at {
                    text.push_str(&format!(" at {}", clock(c)));
                }
                self.line(&text);
            }
            StepKind::WaitFor {
                event,
                filter,
                up_to,
                body,
                timeout,
            } => {
                let mut head = format!("wait for {}", event.name);
                if let Some(f) = filter {
                    head.push_str(&format!(" where {}", expr(f)));
                }
                self.wait_tail(head, up_to, body, timeout, s.span.end);
            }
            StepKind::WaitUntil {
                cond,
                up_to,
                body,
                timeout,
            } => {
                let head = format!("wait until {}", expr(cond));
                self.wait_tail(head, up_to, body, timeout, s.span.end);
            }
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (i, (cond, body)) in branches.iter().enumerate() {
                    let kw = if i == 0 { "if " } else { "} else if " };
                    self.condition_line(kw, cond, " {");
                    self.trailing_comment(cond.span.end);
                    self.indent += 1;
                    let next_start = branches
                        .get(i + 1)
                        .map(|(c, _)| c.span.start)
                        .or_else(|| {
                            otherwise
                                .as_ref()
                                .and_then(|o| o.first().map(|s| s.span.start))
                        })
                        .unwrap_or(s.span.end);
                    let end = Self::block_end_of(body, next_start).max(next_start.min(s.span.end));
                    self.steps(body, end.min(next_start));
                    self.indent -= 1;
                }
                if let Some(o) = otherwise {
                    self.line("} else {");
                    self.indent += 1;
                    self.steps(o, s.span.end);
                    self.indent -= 1;
                }
                self.line("}");
            }
            StepKind::Split(arms) => {
                self.line("split {");
                self.indent += 1;
                for (i, arm) in arms.iter().enumerate() {
                    self.begin_item(arm.span, i == 0);
                    let one = arm.steps.len() == 1
                        && matches!(arm.steps[0].kind, StepKind::Action(_))
                        && self
                            .comments
                            .get(self.next_comment)
                            .is_none_or(|c| c.span.start >= arm.span.end);
                    if one {
                        if let StepKind::Action(a) = &arm.steps[0].kind {
                            let t = format!("{}% {{ {} }}", arm.percent.value, self.action_text(a));
                            self.line(&t);
                        }
                    } else {
                        self.line(&format!("{}% {{", arm.percent.value));
                        self.indent += 1;
                        self.steps(&arm.steps, arm.span.end);
                        self.indent -= 1;
                        self.line("}");
                    }
                    self.trailing_comment(arm.span.end);
                }
                self.end_block(s.span.end);
                self.indent -= 1;
                self.line("}");
            }
        }
        if !matches!(s.kind, StepKind::Split(_)) {
            self.trailing_comment(s.span.end);
        }
    }

    pub(super) fn wait_tail(
        &mut self,
        mut head: String,
        up_to: &Option<DurationLit>,
        body: &Option<Vec<Step>>,
        timeout: &Option<Vec<Step>>,
        end: u32,
    ) {
        if let Some(u) = up_to {
            head.push_str(&format!(" up to {}", duration(u)));
        }
        match (body, timeout) {
            (None, None) => self.line(&head),
            (Some(b), t) => {
                self.line(&format!("{head} {{"));
                self.indent += 1;
                let body_end = t
                    .as_ref()
                    .and_then(|t| t.first().map(|s| s.span.start))
                    .unwrap_or(end);
                self.steps(b, body_end);
                self.indent -= 1;
                match t {
                    Some(t) => {
                        self.line("} timeout {");
                        self.indent += 1;
                        self.steps(t, end);
                        self.indent -= 1;
                        self.line("}");
                    }
                    None => self.line("}"),
                }
            }
            (None, Some(t)) => {
                self.line(&format!("{head} timeout {{"));
                self.indent += 1;
                self.steps(t, end);
                self.indent -= 1;
                self.line("}");
            }
        }
    }

    pub(super) fn test_stmt(&mut self, s: &TestStmt) {
        let text = match &s.kind {
            TestStmtKind::Start { date: d, clock: c } => match c {
                Some(c) => format!("start {} {}", date(d), clock(c)),
                None => format!("start {}", date(d)),
            },
            TestStmtKind::Lead { lead, fields } => {
                return self.field_values(&format!("lead {}", lead.name), fields);
            }
            TestStmtKind::Event {
                lead, event, props, ..
            } => {
                if props.is_empty() {
                    format!("event {} {}", lead.name, event.name)
                } else {
                    return self
                        .field_values(&format!("event {} {}", lead.name, event.name), props);
                }
            }
            TestStmtKind::Update { lead, fields } => {
                return self.field_values(&format!("update {}", lead.name), fields);
            }
            TestStmtKind::Advance(d) => format!("advance {}", duration(d)),
            TestStmtKind::Task {
                lead,
                handoff,
                outcome,
            } => {
                let o = match outcome {
                    TaskOutcome::Accept => "accept".to_owned(),
                    TaskOutcome::Reject(r) => format!("reject {}", r.name),
                    TaskOutcome::Complete => "complete".to_owned(),
                };
                format!("task {} {} {o}", lead.name, handoff.name)
            }
            TestStmtKind::Expect { lead, expectation } => {
                let e = match expectation {
                    Expectation::Sent(t) => format!("sent {}", t.name),
                    Expectation::NotSent(t) => format!("not sent {}", t.name),
                    Expectation::In(j) => format!("in {}", j.name),
                    Expectation::NotIn(j) => format!("not in {}", j.name),
                    Expectation::TaskAssigned { handoff, assignee } => {
                        format!("task {} assigned \"{}\"", handoff.name, assignee.raw)
                    }
                    Expectation::NoTask(h) => format!("no task {}", h.name),
                    Expectation::SentAt {
                        template,
                        date: d,
                        clock: c,
                    } => format!("sent {} at {} {}", template.name, date(d), clock(c)),
                    Expectation::TaskEscalated {
                        handoff,
                        to,
                        negated,
                    } => task_change(&handoff.name, *negated, "escalated", to.as_ref()),
                    Expectation::TaskReassigned {
                        handoff,
                        to,
                        negated,
                    } => task_change(&handoff.name, *negated, "reassigned", to.as_ref()),
                    Expectation::Notified { to, negated } => {
                        let not = if *negated { "not " } else { "" };
                        match to {
                            Some(t) => format!("{not}notified \"{}\"", t.raw),
                            None => format!("{not}notified"),
                        }
                    }
                    Expectation::Webhook { webhook, negated } => {
                        let not = if *negated { "not " } else { "" };
                        format!("{not}webhook {}", webhook.name)
                    }
                    Expectation::Expr(x) => expr(x),
                };
                format!("expect {} {e}", lead.name)
            }
        };
        self.line(&text);
    }

    pub(super) fn field_values(&mut self, head: &str, fields: &[FieldValue]) {
        let items: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.name.name, literal(&f.value)))
            .collect();
        let one = format!("{head} {{ {} }}", items.join(", "));
        if self.pad().len() + one.len() <= WIDTH {
            self.line(&one);
            return;
        }
        self.line(&format!("{head} {{"));
        self.indent += 1;
        for i in items {
            self.line(&i);
        }
        self.indent -= 1;
        self.line("}");
    }
}

/// `task H [not] escalated|reassigned [to "…"]`.
fn task_change(handoff: &str, negated: bool, what: &str, to: Option<&TextLit>) -> String {
    let not = if negated { "not " } else { "" };
    match to {
        Some(t) => format!("task {handoff} {not}{what} to \"{}\"", t.raw),
        None => format!("task {handoff} {not}{what}"),
    }
}
