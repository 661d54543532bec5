//! `test` blocks: the leads they create, the events they send, what they expect.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn test(&mut self, t: &TestDecl) {
        let mut leads: HashSet<&str> = HashSet::default();
        for (i, stmt) in t.stmts.iter().enumerate() {
            match &stmt.kind {
                TestStmtKind::Start { .. } => {
                    if i != 0 {
                        self.err(
                            codes::CLAUSE,
                            stmt.span,
                            "`start` must be the first statement of a test",
                        );
                    }
                }
                TestStmtKind::Lead { lead, fields } => {
                    if !leads.insert(lead.name.as_str()) {
                        self.err(
                            codes::UNKNOWN_LEAD,
                            lead.span,
                            format!("the lead `{}` is already created in this test", lead.name),
                        );
                    }
                    self.lead_fields(fields, true);
                }
                TestStmtKind::Update { lead, fields } => {
                    self.test_lead(lead, &leads);
                    self.lead_fields(fields, false);
                }
                TestStmtKind::Event {
                    lead, event, props, ..
                } => {
                    self.test_lead(lead, &leads);
                    match self.sym.events.get(&event.name) {
                        None => {
                            self.unknown(
                                codes::UNKNOWN_EVENT,
                                "event",
                                event,
                                self.sym.events.keys(),
                            );
                        }
                        Some(info) if !info.from_outside => self.err(
                            codes::BAD_TEST_INPUT,
                            event.span,
                            format!(
                                "`{}` is raised by the runtime itself; a test cannot send it",
                                event.name
                            ),
                        ),
                        Some(info) => {
                            for p in props {
                                match info.prop(&p.name.name) {
                                    Some(ty) => {
                                        self.literal_of(&p.value, ty, &format!("`{}`", p.name.name))
                                    }
                                    None if info.unreadable.contains(&p.name.name) => {}
                                    None => {
                                        let mut d = Diagnostic::error(
                                            codes::UNKNOWN_PROPERTY,
                                            p.name.span,
                                            format!(
                                                "the event `{}` has no property `{}`",
                                                event.name, p.name.name
                                            ),
                                        );
                                        if let Some(s) = did_you_mean(
                                            &p.name.name,
                                            info.props.iter().map(|(n, _)| n.as_str()),
                                        ) {
                                            d = d.with_help(format!("did you mean `{s}`?"));
                                        }
                                        self.diags.push(d);
                                    }
                                }
                            }
                        }
                    }
                }
                TestStmtKind::Advance(_) => {}
                TestStmtKind::Task {
                    lead,
                    handoff,
                    outcome,
                } => {
                    self.test_lead(lead, &leads);
                    match self.sym.handoffs.get(&handoff.name) {
                        None => self.unknown(
                            codes::UNKNOWN_HANDOFF,
                            "handoff",
                            handoff,
                            self.sym.handoffs.keys(),
                        ),
                        Some(info) => {
                            if let TaskOutcome::Reject(reason) = outcome {
                                if !info.reasons.contains(&reason.name) {
                                    let mut d = Diagnostic::error(
                                        codes::UNKNOWN_REASON,
                                        reason.span,
                                        format!(
                                            "`{}` is not one of the reasons of the handoff `{}`",
                                            reason.name, handoff.name
                                        ),
                                    );
                                    if let Some(s) = did_you_mean(
                                        &reason.name,
                                        info.reasons.iter().map(String::as_str),
                                    ) {
                                        d = d.with_help(format!("did you mean `{s}`?"));
                                    } else if !info.reasons.is_empty() {
                                        d = d.with_help(format!(
                                            "the reasons are: {}",
                                            info.reasons.join(", ")
                                        ));
                                    }
                                    self.diags.push(d);
                                }
                            }
                        }
                    }
                }
                TestStmtKind::Expect { lead, expectation } => {
                    self.test_lead(lead, &leads);
                    match expectation {
                        Expectation::Sent(t)
                        | Expectation::NotSent(t)
                        | Expectation::SentAt { template: t, .. } => {
                            self.template(t);
                        }
                        Expectation::Notified { to, .. } => {
                            if let Some(t) = to {
                                self.check_address(t);
                            }
                        }
                        Expectation::Webhook { webhook, .. } => self.webhook_name(webhook),
                        Expectation::In(j) | Expectation::NotIn(j) => {
                            if !self.sym.journeys.contains_key(&j.name) {
                                self.unknown(
                                    codes::UNKNOWN_JOURNEY,
                                    "journey",
                                    j,
                                    self.sym.journeys.keys(),
                                );
                            }
                        }
                        Expectation::TaskAssigned { handoff, .. }
                        | Expectation::TaskEscalated { handoff, .. }
                        | Expectation::TaskReassigned { handoff, .. }
                        | Expectation::NoTask(handoff) => {
                            if let Expectation::TaskEscalated { to: Some(t), .. }
                            | Expectation::TaskReassigned { to: Some(t), .. } = expectation
                            {
                                self.check_address(t);
                            }
                            if !self.sym.handoffs.contains_key(&handoff.name) {
                                self.unknown(
                                    codes::UNKNOWN_HANDOFF,
                                    "handoff",
                                    handoff,
                                    self.sym.handoffs.keys(),
                                );
                            }
                        }
                        Expectation::Expr(e) => self.condition(e, NO_EVENT),
                    }
                }
            }
        }
    }

    pub(super) fn test_lead(&mut self, lead: &Ident, leads: &HashSet<&str>) {
        if !leads.contains(lead.name.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_LEAD,
                    lead.span,
                    format!("this test has no lead `{}` yet", lead.name),
                )
                .with_help(format!(
                    "create it first: `lead {} {{ email: \"…\" }}`",
                    lead.name
                )),
            );
        }
    }

    /// Fields given to a lead by a test (`lead` / `update`): writable ones, `tags`, and
    /// `id` when the lead is created (it defaults to the test's name for the lead).
    pub(super) fn lead_fields(&mut self, fields: &[FieldValue], creating: bool) {
        for f in fields {
            match self.sym.bare.get(&f.name.name) {
                Some(Bare::Field(info)) => {
                    let settable =
                        info.writable || f.name.name == "tags" || (creating && f.name.name == "id");
                    if settable {
                        self.literal_of(&f.value, info.ty, &format!("`{}`", f.name.name));
                        // A lead's own zone is checked as the program's is (empty: the program's).
                        if let (true, LiteralKind::Text(tz)) =
                            (f.name.name == "timezone", &f.value.kind)
                        {
                            if !tz.value.is_empty() {
                                self.timezone(tz);
                            }
                        }
                    } else {
                        self.err(
                            codes::READ_ONLY,
                            f.name.span,
                            format!("`{}` is read-only; the runtime sets it", f.name.name),
                        );
                    }
                }
                Some(_) => self.err(
                    codes::UNKNOWN_NAME,
                    f.name.span,
                    format!("`{}` is not a lead field", f.name.name),
                ),
                None => self.unknown_bare(&f.name),
            }
        }
    }
}
