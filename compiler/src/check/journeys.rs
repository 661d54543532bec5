//! Journeys: entry, steps, waits (bounded), branches and splits.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn journey(&mut self, j: &JourneyDecl) {
        let mut reenter: Option<Span> = None;
        for h in &j.header {
            match &h.kind {
                JourneyHeaderKind::EnterOn {
                    event,
                    filter,
                    then,
                    ..
                } => {
                    self.event_filter(event, filter.as_ref());
                    // An unknown event is its one error: `event.X` in its actions is not
                    // reported (an unknown event has no properties to check against).
                    let scope = Scope {
                        event: Some(event.name.as_str()),
                        in_journey: false,
                    };
                    for a in then {
                        self.action(a, scope);
                    }
                }
                JourneyHeaderKind::ExitOn { event, filter } => {
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
            StepKind::WaitDate { offset, field, at } => {
                self.wait_date(step, offset.is_some() || at.is_some(), field)
            }
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
                    event: Some(&event.name),
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

    /// `wait until [D before|after] FIELD [at H:MM]`: FIELD must be a `time` lead field.
    /// A lone name that is not one was meant as a condition, which needs `up to`.
    fn wait_date(&mut self, step: &Step, dated: bool, field: &Ident) {
        match self.sym.bare.get(&field.name) {
            Some(Bare::Field(info)) if info.ty == Type::Time => {}
            Some(Bare::Field(info)) if dated => {
                let ty = info.ty;
                self.diags.push(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        field.span,
                        format!(
                            "`wait until … {}` needs a `time` field, but `{}` holds a {ty}",
                            field.name, field.name
                        ),
                    )
                    .with_help("wait on a field declared `time` (for example `webinar_at: time`)"),
                );
            }
            None if dated => self.unknown_bare(field),
            Some(Bare::Stage(_)) | Some(Bare::Const(_)) | Some(Bare::Segment(_)) if dated => {
                self.err(
                    codes::NOT_A_FIELD,
                    field.span,
                    format!("`{}` is not a lead field of type `time`", field.name),
                );
            }
            _ => {
                // Not a time field and no `before/after`/`at`: a condition written without
                // its limit, reported as the condition form always was.
                let cond = Expr {
                    kind: ExprKind::Name(field.clone()),
                    span: field.span,
                };
                let scope = Scope {
                    event: None,
                    in_journey: true,
                };
                self.condition(&cond, scope);
                self.unbounded(step.span.with_end(field.span.end), "wait until");
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
