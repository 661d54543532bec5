//! Journeys: entry, steps, waits (bounded), branches and splits.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn journey(&mut self, j: &JourneyDecl) {
        let mut reenter: Option<Span> = None;
        for h in &j.header {
            match &h.kind {
                JourneyHeaderKind::EnterOn { event, filter } => {
                    self.event_filter(event, filter.as_ref())
                }
                JourneyHeaderKind::EnterWhen(e)
                | JourneyHeaderKind::ExitWhen(e)
                | JourneyHeaderKind::Goal(e) => self.condition(e, NO_EVENT),
                JourneyHeaderKind::ReenterAfter(_) | JourneyHeaderKind::ReenterNever => {
                    if let Some(prev) = reenter.replace(h.span) {
                        self.diags.push(
                            Diagnostic::error(
                                codes::CLAUSE,
                                h.span,
                                "a journey has at most one `reenter` setting",
                            )
                            .with_related(prev, "first set here"),
                        );
                    }
                }
            }
        }
        let scope = Scope {
            event: None,
            in_journey: true,
        };
        self.steps(&j.steps, scope);
    }

    pub(super) fn steps(&mut self, steps: &[Step], scope: Scope<'_>) {
        for s in steps {
            self.step(s, scope);
        }
    }

    pub(super) fn step(&mut self, step: &Step, scope: Scope<'_>) {
        match &step.kind {
            StepKind::Action(a) => self.action(a, scope),
            StepKind::Wait(_) | StepKind::WaitClock { .. } => {}
            StepKind::WaitFor {
                event,
                filter,
                up_to,
                body,
                timeout,
            } => {
                let known = self.event_exists(event);
                let inner = Scope {
                    event: if known {
                        Some(&event.name)
                    } else {
                        scope.event
                    },
                    in_journey: true,
                };
                if let Some(f) = filter {
                    if known {
                        self.condition(f, inner);
                    }
                }
                if up_to.is_none() {
                    let head_end = filter.as_ref().map(|f| f.span).unwrap_or(event.span);
                    self.unbounded(step.span.to(head_end).with_end(head_end.end), "wait for");
                }
                if let Some(b) = body {
                    self.steps(b, inner);
                }
                if let Some(t) = timeout {
                    self.steps(t, scope);
                }
            }
            StepKind::WaitUntil {
                cond,
                up_to,
                body,
                timeout,
            } => {
                self.condition(cond, scope);
                if up_to.is_none() {
                    self.unbounded(step.span.with_end(cond.span.end), "wait until");
                }
                for b in body.iter().chain(timeout.iter()) {
                    self.steps(b, scope);
                }
            }
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    self.condition(cond, scope);
                    self.steps(body, scope);
                }
                if let Some(b) = otherwise {
                    self.steps(b, scope);
                }
            }
            StepKind::Split(arms) => {
                let total: u64 = arms.iter().map(|a| a.percent.value.min(100)).sum();
                if total != 100 {
                    let shown: Vec<String> = arms
                        .iter()
                        .map(|a| format!("{}%", a.percent.value))
                        .collect();
                    let head = arms.first().map(|a| a.span.start).unwrap_or(step.span.end);
                    self.err(
                        codes::SPLIT_PERCENT,
                        step.span.with_end(head.min(step.span.start + 5)),
                        format!(
                            "the branches of a split must add up to 100%, these add up to {total}% ({})",
                            shown.join(" + ")
                        ),
                    );
                }
                for a in arms {
                    self.steps(&a.steps, scope);
                }
            }
        }
    }

    pub(super) fn unbounded(&mut self, span: Span, what: &str) {
        self.diags.push(
            Diagnostic::error(
                codes::UNBOUNDED_WAIT,
                span,
                format!("`{what}` needs a limit, or a lead could wait in this journey forever"),
            )
            .with_help("add `up to DURATION` (and a `timeout { … }` block for what to do then)"),
        );
    }
}
