//! Scores, teams, handoffs: their clauses into AST nodes.

use super::*;

impl Builder {
    pub(super) fn score_item(&mut self, pair: Pair<'_, Rule>) -> Option<ScoreItem> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::score_if => {
                let points = self.points(q.next()?);
                let cond = self.expr(q.next()?);
                ScoreItemKind::If { points, cond }
            }
            Rule::score_on => {
                let points = self.points(q.next()?);
                let event = self.ident(q.next()?);
                let filter = q.next().map(|e| self.expr(e));
                ScoreItemKind::On {
                    points,
                    event,
                    filter,
                }
            }
            Rule::score_min => ScoreItemKind::Min(self.points(q.next()?)),
            Rule::score_max => ScoreItemKind::Max(self.points(q.next()?)),
            Rule::score_decay => {
                let percent = self.percent(q.next()?);
                let every = self.duration(q.next()?);
                ScoreItemKind::Decay { percent, every }
            }
            _ => return None,
        };
        Some(ScoreItem { kind, span })
    }

    pub(super) fn team_item(&mut self, pair: Pair<'_, Rule>) -> Option<TeamItem> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::team_members => TeamItemKind::Members(q.map(|t| self.text(t)).collect()),
            Rule::team_manager => TeamItemKind::Manager(self.text(q.next()?)),
            Rule::team_hours => {
                let days = self.day_spec(q.next()?);
                let range = self.clock_range(q.next()?);
                TeamItemKind::Hours { days, range }
            }
            Rule::team_timezone => TeamItemKind::Timezone(self.text(q.next()?)),
            Rule::team_closed => {
                let mut dates = Vec::new();
                for item in q {
                    let mut d = parts(item).into_iter();
                    let from = self.date(d.next()?);
                    let to = d.next().map(|x| self.date(x));
                    // Compared only when both are real dates (a bad date is its one error).
                    if let Some(t) = &to {
                        if super::valid_date(from.year, from.month, from.day)
                            && super::valid_date(t.year, t.month, t.day)
                            && (t.year, t.month, t.day) < (from.year, from.month, from.day)
                        {
                            self.error(
                                "E0004",
                                from.span.to(t.span),
                                "a closed range must end on or after the day it starts",
                            );
                        }
                    }
                    dates.push((from, to));
                }
                TeamItemKind::Closed(dates)
            }
            Rule::team_open => {
                let date = self.date(q.next()?);
                let range = q.next().map(|r| self.clock_range(r));
                TeamItemKind::Open { date, range }
            }
            Rule::team_holidays => TeamItemKind::Holidays(self.ident(q.next()?)),
            _ => return None,
        };
        Some(TeamItem { kind, span })
    }

    pub(super) fn handoff_item(&mut self, pair: Pair<'_, Rule>) -> Option<HandoffItem> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter().peekable();
        let kind = match rule {
            Rule::h_when => HandoffItemKind::When(self.expr(q.next()?)),
            Rule::h_assign => {
                let owner_first = q.peek().is_some_and(|x| x.as_rule() == Rule::assign_owner);
                if owner_first {
                    q.next();
                }
                let team = self.ident(q.next()?);
                let strategy = match q.next()?.as_str() {
                    "least_open" => AssignStrategy::LeastOpen,
                    _ => AssignStrategy::RoundRobin,
                };
                HandoffItemKind::Assign {
                    owner_first,
                    team,
                    strategy,
                }
            }
            Rule::h_task => HandoffItemKind::Task(self.text(q.next()?)),
            Rule::h_sla => {
                let kind = match q.next()?.as_str() {
                    "accept" => SlaKind::Accept,
                    _ => SlaKind::Complete,
                };
                let d = q.next()?;
                let within = if d.as_rule() == Rule::business_duration {
                    let dspan = self.span(&d);
                    let text = d.as_str().to_owned();
                    let mut dq = d.into_inner();
                    let n = dq.next()?;
                    let amount = self.number(&n);
                    let raw = n.as_str().to_owned();
                    if amount <= 0.0 {
                        self.error("E0051", dspan, "a duration must be longer than zero");
                    }
                    if text.ends_with("days") || text.ends_with("day") {
                        if amount.fract() != 0.0 {
                            self.error("E0051", dspan, "business days must be a whole number");
                        }
                        SlaDuration::BusinessDays {
                            amount,
                            raw,
                            span: dspan,
                        }
                    } else {
                        SlaDuration::BusinessHours {
                            amount,
                            raw,
                            span: dspan,
                        }
                    }
                } else {
                    SlaDuration::Plain(self.duration(d))
                };
                let action = match q.next()?.as_str() {
                    "escalate" => SlaAction::Escalate,
                    _ => SlaAction::Reassign,
                };
                HandoffItemKind::Sla {
                    kind,
                    within,
                    action,
                }
            }
            Rule::h_reasons => HandoffItemKind::Reasons(
                q.map(|r| {
                    let mut rq = r.into_inner();
                    let name = rq
                        .next()
                        .map(|n| self.ident(n))
                        .unwrap_or_else(|| missing_ident(span));
                    let label = rq.next().map(|t| self.text(t));
                    Reason { name, label }
                })
                .collect(),
            ),
            Rule::h_on => {
                let outcome = match q.next()?.as_str() {
                    "accept" => Outcome::Accept,
                    "reject" => Outcome::Reject,
                    _ => Outcome::Complete,
                };
                let actions = self.actions(q.next()?);
                HandoffItemKind::On { outcome, actions }
            }
            _ => return None,
        };
        Some(HandoffItem { kind, span })
    }
}
