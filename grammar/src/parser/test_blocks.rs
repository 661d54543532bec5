//! `test` blocks: leads, events, clock moves and expectations into AST nodes.

use super::*;

impl Builder {
    pub(super) fn test_stmt(&mut self, pair: Pair<'_, Rule>) -> Option<TestStmt> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::t_start => {
                let date = self.date(q.next()?);
                let clock = q.next().map(|c| self.clock(c));
                TestStmtKind::Start { date, clock }
            }
            Rule::t_lead => {
                let lead = self.ident(q.next()?);
                let fields = self.field_values(q.next()?);
                TestStmtKind::Lead { lead, fields }
            }
            Rule::t_event => {
                let lead = self.ident(q.next()?);
                let event = self.ident(q.next()?);
                let props = q.next().map(|fv| self.field_values(fv)).unwrap_or_default();
                TestStmtKind::Event { lead, event, props }
            }
            Rule::t_update => {
                let lead = self.ident(q.next()?);
                let fields = self.field_values(q.next()?);
                TestStmtKind::Update { lead, fields }
            }
            Rule::t_advance => TestStmtKind::Advance(self.duration(q.next()?)),
            Rule::t_task => {
                let lead = self.ident(q.next()?);
                let handoff = self.ident(q.next()?);
                let outcome_pair = q.next()?.into_inner().next()?;
                let outcome = match outcome_pair.as_rule() {
                    Rule::t_accept => TaskOutcome::Accept,
                    Rule::t_complete => TaskOutcome::Complete,
                    _ => TaskOutcome::Reject(self.ident(parts(outcome_pair).into_iter().next()?)),
                };
                TestStmtKind::Task {
                    lead,
                    handoff,
                    outcome,
                }
            }
            Rule::t_expect => {
                let lead = self.ident(q.next()?);
                let e = q.next()?;
                let erule = e.as_rule();
                let mut eq = parts(e).into_iter();
                let expectation = match erule {
                    Rule::e_sent => Expectation::Sent(self.ident(eq.next()?)),
                    Rule::e_not_sent => Expectation::NotSent(self.ident(eq.next()?)),
                    Rule::e_in => Expectation::In(self.ident(eq.next()?)),
                    Rule::e_not_in => Expectation::NotIn(self.ident(eq.next()?)),
                    Rule::e_task_assigned => {
                        let handoff = self.ident(eq.next()?);
                        let assignee = self.text(eq.next()?);
                        Expectation::TaskAssigned { handoff, assignee }
                    }
                    Rule::e_no_task => Expectation::NoTask(self.ident(eq.next()?)),
                    Rule::e_sent_at => {
                        let template = self.ident(eq.next()?);
                        let date = self.date(eq.next()?);
                        let clock = self.clock(eq.next()?);
                        Expectation::SentAt {
                            template,
                            date,
                            clock,
                        }
                    }
                    Rule::e_task_escalated | Rule::e_task_reassigned => {
                        let handoff = self.ident(eq.next()?);
                        let mut rest = eq.peekable();
                        let negated = rest.peek().is_some_and(|p| p.as_rule() == Rule::not_flag);
                        if negated {
                            rest.next();
                        }
                        let to = rest.next().map(|t| self.text(t));
                        if erule == Rule::e_task_escalated {
                            Expectation::TaskEscalated {
                                handoff,
                                to,
                                negated,
                            }
                        } else {
                            Expectation::TaskReassigned {
                                handoff,
                                to,
                                negated,
                            }
                        }
                    }
                    Rule::e_notified | Rule::e_not_notified => Expectation::Notified {
                        to: eq.next().map(|t| self.text(t)),
                        negated: erule == Rule::e_not_notified,
                    },
                    Rule::e_webhook | Rule::e_not_webhook => Expectation::Webhook {
                        webhook: self.ident(eq.next()?),
                        negated: erule == Rule::e_not_webhook,
                    },
                    _ => Expectation::Expr(self.expr(eq.next()?)),
                };
                TestStmtKind::Expect { lead, expectation }
            }
            _ => return None,
        };
        Some(TestStmt { kind, span })
    }
}
