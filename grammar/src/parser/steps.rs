//! Actions and journey steps into AST nodes.

use super::*;

impl Builder {
    pub(super) fn actions(&mut self, block: Pair<'_, Rule>) -> Vec<Action> {
        block.into_inner().filter_map(|a| self.action(a)).collect()
    }

    pub(super) fn action(&mut self, pair: Pair<'_, Rule>) -> Option<Action> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::a_set => {
                let field = self.ident(q.next()?);
                let value = self.expr(q.next()?);
                ActionKind::Set { field, value }
            }
            Rule::a_tag => ActionKind::Tag(self.text(q.next()?)),
            Rule::a_untag => ActionKind::Untag(self.text(q.next()?)),
            Rule::a_send => ActionKind::Send(self.ident(q.next()?)),
            Rule::a_enroll => ActionKind::Enroll(self.ident(q.next()?)),
            Rule::a_notify => {
                let target_pair = q.next()?.into_inner().next()?;
                let target = match target_pair.as_rule() {
                    Rule::notify_team => {
                        NotifyTarget::Team(self.ident(parts(target_pair).into_iter().next()?))
                    }
                    Rule::notify_owner => NotifyTarget::Owner(self.span(&target_pair)),
                    _ => NotifyTarget::Address(self.text(target_pair)),
                };
                let text = self.text(q.next()?);
                ActionKind::Notify { target, text }
            }
            Rule::a_handoff => ActionKind::Handoff(self.ident(q.next()?)),
            Rule::a_webhook => ActionKind::Webhook(self.ident(q.next()?)),
            Rule::a_exit => ActionKind::Exit,
            _ => return None,
        };
        Some(Action { kind, span })
    }

    pub(super) fn steps(&mut self, block: Pair<'_, Rule>) -> Vec<Step> {
        block.into_inner().filter_map(|s| self.step(s)).collect()
    }

    pub(super) fn step(&mut self, pair: Pair<'_, Rule>) -> Option<Step> {
        let span = self.span(&pair);
        // `wait …` forms: the span starts at `wait`, the kind comes from the inner rule.
        let pair = if pair.as_rule() == Rule::s_wait {
            parts(pair).into_iter().next()?
        } else {
            pair
        };
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::wait_duration => StepKind::Wait(self.duration(pair.into_inner().next()?)),
            Rule::wait_clock => {
                let mut q = parts(pair).into_iter().peekable();
                let days = if q.peek().is_some_and(|p| p.as_rule() == Rule::day_spec) {
                    q.next().map(|d| self.day_spec(d))
                } else {
                    None
                };
                let clock = self.clock(q.next()?);
                StepKind::WaitClock { days, clock }
            }
            Rule::wait_date => {
                let mut q = parts(pair).into_iter().peekable();
                let offset = if q.peek().is_some_and(|p| p.as_rule() == Rule::duration) {
                    let d = self.duration(q.next()?);
                    let side = q.next()?;
                    let before = side
                        .into_inner()
                        .next()
                        .is_some_and(|k| k.as_rule() == Rule::kw_before);
                    Some((d, before))
                } else {
                    None
                };
                let field = self.ident(q.next()?);
                let at = q.next().map(|c| self.clock(c));
                StepKind::WaitDate { offset, field, at }
            }
            Rule::wait_for | Rule::wait_cond => {
                let mut q = parts(pair).into_iter().peekable();
                let head = q.next()?;
                let (event, cond) = if rule == Rule::wait_for {
                    let event = self.ident(head);
                    let filter = if q.peek().is_some_and(|p| p.as_rule() == Rule::expr) {
                        q.next().map(|e| self.expr(e))
                    } else {
                        None
                    };
                    (Some(event), filter)
                } else {
                    (None, Some(self.expr(head)))
                };
                let mut up_to = None;
                let mut body = None;
                let mut timeout = None;
                for rest in q {
                    match rest.as_rule() {
                        Rule::up_to => {
                            up_to = parts(rest).into_iter().next().map(|d| self.duration(d))
                        }
                        Rule::steps_block => body = Some(self.steps(rest)),
                        Rule::timeout_block => {
                            timeout = parts(rest).into_iter().next().map(|b| self.steps(b))
                        }
                        _ => {}
                    }
                }
                match event {
                    Some(event) => StepKind::WaitFor {
                        event,
                        filter: cond,
                        up_to,
                        body,
                        timeout,
                    },
                    None => StepKind::WaitUntil {
                        cond: cond.unwrap_or(Expr {
                            kind: ExprKind::Error,
                            span,
                        }),
                        up_to,
                        body,
                        timeout,
                    },
                }
            }
            Rule::s_if => {
                let mut q = parts(pair).into_iter();
                let cond = self.expr(q.next()?);
                let then = self.steps(q.next()?);
                let mut branches = vec![(cond, then)];
                let mut otherwise = None;
                for rest in q {
                    match rest.as_rule() {
                        Rule::else_if => {
                            let mut r = parts(rest).into_iter();
                            let c = self.expr(r.next()?);
                            let b = self.steps(r.next()?);
                            branches.push((c, b));
                        }
                        _ => otherwise = parts(rest).into_iter().next().map(|b| self.steps(b)),
                    }
                }
                StepKind::If {
                    branches,
                    otherwise,
                }
            }
            Rule::s_split => {
                let arms = parts(pair)
                    .into_iter()
                    .filter_map(|arm| {
                        let aspan = self.span(&arm);
                        let mut r = arm.into_inner();
                        let percent = self.percent(r.next()?);
                        let steps = self.steps(r.next()?);
                        Some(SplitArm {
                            percent,
                            steps,
                            span: aspan,
                        })
                    })
                    .collect();
                StepKind::Split(arms)
            }
            _ => StepKind::Action(self.action(pair)?),
        };
        Some(Step { kind, span })
    }
}
