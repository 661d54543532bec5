//! Teams, handoffs, schedules and sending rules: members and hours, assignment, SLA clauses, reasons, cron, quiet hours and caps.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn team(&mut self, t: &TeamDecl) {
        let mut members = false;
        let mut seen: HashSet<&str> = HashSet::default();
        let mut holidays: Option<Span> = None;
        for item in &t.items {
            match &item.kind {
                TeamItemKind::Members(m) => {
                    members = true;
                    for addr in m {
                        self.check_address(addr);
                        if !seen.insert(addr.value.as_str()) {
                            self.err(
                                codes::DUPLICATE,
                                addr.span,
                                format!("`{}` is listed twice in this team", addr.value),
                            );
                        }
                    }
                }
                TeamItemKind::Manager(m) => self.check_address(m),
                TeamItemKind::Timezone(tz) => self.timezone(tz),
                TeamItemKind::Holidays(country) => {
                    if let Some(prev) = holidays.replace(item.span) {
                        self.diags.push(
                            Diagnostic::error(
                                codes::CLAUSE,
                                item.span,
                                "a team has at most one `holidays` line",
                            )
                            .with_related(prev, "first given here"),
                        );
                    }
                    if !stdlib::holidays::COUNTRIES.contains(&country.name.as_str()) {
                        self.diags.push(
                            Diagnostic::error(
                                codes::UNKNOWN_NAME,
                                country.span,
                                format!("there are no built-in public holidays for `{}`", country.name),
                            )
                            .with_help(format!(
                                "the countries built in are: {}; list other days off with `closed DATE`",
                                stdlib::holidays::COUNTRIES.join(", ")
                            )),
                        );
                    }
                }
                TeamItemKind::Hours { .. }
                | TeamItemKind::Closed(_)
                | TeamItemKind::Open { .. } => {}
            }
        }
        if !members {
            self.err(
                codes::CLAUSE,
                t.name.span,
                format!(
                    "the team `{}` has no `members`, so no task can be assigned to it",
                    t.name.name
                ),
            );
        }
    }

    pub(super) fn handoff(&mut self, h: &HandoffDecl) {
        let mut assign: Option<(&Ident, bool)> = None;
        let mut seen_on: HashMap<Outcome, Span> = HashMap::default();
        let mut seen_reasons: HashSet<&str> = HashSet::default();
        let mut seen_when = false;
        let mut seen_task = false;
        for item in &h.items {
            match &item.kind {
                HandoffItemKind::When(e) => {
                    if seen_when {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "a handoff has at most one `when`; join the conditions with `or`",
                        );
                    }
                    seen_when = true;
                    self.condition(e, NO_EVENT);
                }
                HandoffItemKind::Assign { team, .. } => {
                    if assign.is_some() {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "a handoff has exactly one `assign`",
                        );
                    }
                    if !self.sym.teams.contains_key(&team.name) {
                        self.unknown(codes::UNKNOWN_TEAM, "team", team, self.sym.teams.keys());
                    }
                    assign = Some((team, true));
                }
                HandoffItemKind::Task(text) => {
                    if seen_task {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "a handoff has at most one `task` title",
                        );
                    }
                    seen_task = true;
                    let d = check_inline_template(self.sym, text, false);
                    self.diags.extend(d);
                }
                HandoffItemKind::Sla { within, action, .. } => {
                    if let Some((team, _)) = assign.or_else(|| find_assign(h)) {
                        if let Some(info) = self.sym.teams.get(&team.name) {
                            let business = !matches!(within, SlaDuration::Plain(_));
                            if business && !info.has_hours {
                                self.diags.push(
                                    Diagnostic::error(
                                        codes::NO_BUSINESS_HOURS,
                                        within.span(),
                                        format!(
                                            "business time needs opening hours, but the team `{}` has no `hours`",
                                            team.name
                                        ),
                                    )
                                    .with_related(info.span, "the team")
                                    .with_help("add a line like `hours mon-fri 8:30-17:30` to the team, or use plain hours/days"),
                                );
                            }
                            if *action == SlaAction::Escalate && !info.has_manager {
                                self.diags.push(
                                    Diagnostic::error(
                                        codes::CLAUSE,
                                        item.span,
                                        format!("`escalate` notifies the team's manager, but the team `{}` has no `manager`", team.name),
                                    )
                                    .with_related(info.span, "the team"),
                                );
                            }
                        }
                    }
                }
                HandoffItemKind::Reasons(reasons) => {
                    for r in reasons {
                        if !seen_reasons.insert(r.name.name.as_str()) {
                            self.err(
                                codes::DUPLICATE,
                                r.name.span,
                                format!("the reason `{}` is listed twice", r.name.name),
                            );
                        }
                    }
                }
                HandoffItemKind::On { outcome, actions } => {
                    if let Some(prev) = seen_on.insert(*outcome, item.span) {
                        self.diags.push(
                            Diagnostic::error(
                                codes::CLAUSE,
                                item.span,
                                format!(
                                    "`on {}` is written twice; merge the blocks",
                                    outcome.word()
                                ),
                            )
                            .with_related(prev, "first written here"),
                        );
                    }
                    let event = match outcome {
                        Outcome::Accept => "task_accepted",
                        Outcome::Reject => "task_rejected",
                        Outcome::Complete => "task_completed",
                    };
                    self.actions(
                        actions,
                        Scope {
                            event: Some(event),
                            in_journey: false,
                        },
                    );
                }
            }
        }
        if assign.is_none() {
            self.diags.push(
                Diagnostic::error(
                    codes::CLAUSE,
                    h.name.span,
                    format!("the handoff `{}` does not say who gets the task", h.name.name),
                )
                .with_help("add `assign team TEAM by round_robin` (or `assign owner else team TEAM by least_open`)"),
            );
        }
        if seen_on.contains_key(&Outcome::Reject) || seen_reasons.is_empty() {
            // Reasons are optional; rejecting then takes any reason name the handoff lists.
        }
    }

    pub(super) fn schedule(&mut self, s: &ScheduleDecl) {
        if let Err(msg) = crate::cron5::parse(&s.cron.value) {
            self.diags.push(
                Diagnostic::error(
                    codes::INVALID_CRON,
                    s.cron.span,
                    format!("`{}` is not a valid cron expression: {msg}", s.cron.value),
                )
                .with_help(
                    "five fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\"",
                ),
            );
        }
        if let Some(tz) = &s.timezone {
            self.timezone(tz);
        }
        if s.items.is_empty() {
            self.err(
                codes::CLAUSE,
                s.name.span,
                "this schedule does nothing; add `for leads where … { … }` or `report to …`",
            );
        }
        for item in &s.items {
            match &item.kind {
                ScheduleItemKind::ForLeads { filter, actions } => {
                    self.condition(filter, NO_EVENT);
                    self.actions(actions, NO_EVENT);
                }
                ScheduleItemKind::Report(to) => {
                    for addr in to {
                        self.check_address(addr);
                    }
                }
                ScheduleItemKind::Action(a) => self.diags.push(
                    Diagnostic::error(
                        codes::MISPLACED_ACTION,
                        a.span,
                        "a schedule acts on leads only inside `for leads where … { … }`",
                    )
                    .with_help("wrap the action: `for leads where stage == lead { … }`"),
                ),
            }
        }
    }

    pub(super) fn sending(&mut self, s: &SendingDecl) {
        let mut seen: HashMap<&'static str, Span> = HashMap::default();
        for item in &s.items {
            let key = match &item.kind {
                SendingItemKind::From(f) => {
                    self.check_address(f);
                    "from"
                }
                SendingItemKind::QuietHours { start, end } => {
                    if (start.hour, start.minute) == (end.hour, end.minute) {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "quiet hours must start and end at different times",
                        );
                    }
                    "quiet hours"
                }
                SendingItemKind::Cap {
                    count, count_span, ..
                } => {
                    if *count == 0 {
                        self.err(codes::CLAUSE, *count_span, "a cap of 0 emails would stop every send; remove the line to send without a cap");
                    }
                    "at most"
                }
            };
            if let Some(prev) = seen.insert(key, item.span) {
                self.diags.push(
                    Diagnostic::error(
                        codes::CLAUSE,
                        item.span,
                        format!("`{key}` is set twice in `sending`"),
                    )
                    .with_related(prev, "first set here"),
                );
            }
        }
    }
}
