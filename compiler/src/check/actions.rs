//! Actions: set, tag, send (templates), notify, webhook, enroll, handoff — what each needs to exist.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn actions(&mut self, actions: &[Action], scope: Scope<'_>) {
        for a in actions {
            self.action(a, scope);
        }
    }

    pub(super) fn action(&mut self, a: &Action, scope: Scope<'_>) {
        match &a.kind {
            ActionKind::Set { field, value } => {
                let want = match self.sym.bare.get(&field.name) {
                    Some(Bare::Field(info)) if info.writable => Some(info.ty),
                    Some(Bare::Field(info)) => {
                        let help = if info.ty == Type::Tags {
                            "change tags with `tag \"x\"` and `untag \"x\"`"
                        } else {
                            "the runtime keeps this field; it cannot be assigned"
                        };
                        self.diags.push(
                            Diagnostic::error(
                                codes::READ_ONLY,
                                field.span,
                                format!("`{}` is read-only", field.name),
                            )
                            .with_help(help),
                        );
                        None
                    }
                    Some(_) => {
                        self.err(
                            codes::READ_ONLY,
                            field.span,
                            format!("`{}` is not a lead field, so it cannot be set", field.name),
                        );
                        None
                    }
                    None => {
                        self.unknown_bare(field);
                        None
                    }
                };
                let got = self.expr(value, scope);
                if let (Some(w), Some(g)) = (want, got) {
                    if w != g {
                        self.err(
                            codes::TYPE_MISMATCH,
                            value.span,
                            format!("`{}` holds a {w}, but this value is a {g}", field.name),
                        );
                    }
                }
            }
            ActionKind::Tag(_) | ActionKind::Untag(_) => {}
            ActionKind::Send(t) => {
                if let Some(info) = self.template(t) {
                    if !info.has_unsubscribe {
                        self.diags.push(
                            Diagnostic::error(
                                codes::NO_UNSUBSCRIBE,
                                t.span,
                                format!(
                                    "the template `{}` has no unsubscribe link, so it cannot be sent as marketing email",
                                    t.name
                                ),
                            )
                            .with_related(info.span, "the template")
                            .with_help("add `[Hủy đăng ký]({{ unsubscribe_url }})` to the template (Decree 91/2020, Gmail/Yahoo bulk-sender rules)"),
                        );
                    }
                }
            }
            ActionKind::Enroll(j) => {
                if !self.sym.journeys.contains_key(&j.name) {
                    self.unknown(
                        codes::UNKNOWN_JOURNEY,
                        "journey",
                        j,
                        self.sym.journeys.keys(),
                    );
                }
            }
            ActionKind::Notify { target, text } => {
                match target {
                    NotifyTarget::Team(t) => {
                        if !self.sym.teams.contains_key(&t.name) {
                            self.unknown(codes::UNKNOWN_TEAM, "team", t, self.sym.teams.keys());
                        }
                    }
                    NotifyTarget::Owner(_) => {}
                    NotifyTarget::Address(addr) => self.check_address(addr),
                }
                let d = check_inline_template(self.sym, text, scope.in_journey);
                self.diags.extend(d);
            }
            ActionKind::Handoff(h) => {
                if !self.sym.handoffs.contains_key(&h.name) {
                    self.unknown(
                        codes::UNKNOWN_HANDOFF,
                        "handoff",
                        h,
                        self.sym.handoffs.keys(),
                    );
                }
            }
            ActionKind::Webhook(w) => self.webhook_name(w),
            ActionKind::Exit => {
                if !scope.in_journey {
                    self.err(
                        codes::MISPLACED_ACTION,
                        a.span,
                        "`exit` leaves a journey, so it can only be used inside one",
                    );
                }
            }
        }
    }

    pub(super) fn template(&mut self, t: &Ident) -> Option<&'a crate::symbols::TemplateInfo> {
        match self.sym.templates.get(&t.name) {
            Some(info) => Some(info),
            None => {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_TEMPLATE,
                    t.span,
                    format!("there is no template `{}`", t.name),
                );
                match did_you_mean(&t.name, self.sym.templates.keys().map(String::as_str)) {
                    Some(s) => d = d.with_help(format!("did you mean `{s}`?")),
                    None => {
                        d = d.with_help(format!(
                            "create `templates/{}.md` with a `subject` in its front matter",
                            t.name
                        ))
                    }
                }
                self.diags.push(d);
                None
            }
        }
    }

    pub(super) fn unknown<'k>(
        &mut self,
        code: &'static str,
        what: &str,
        name: &Ident,
        known: impl Iterator<Item = &'k String>,
    ) {
        let mut d = Diagnostic::error(
            code,
            name.span,
            format!("there is no {what} `{}`", name.name),
        );
        if let Some(s) = did_you_mean(&name.name, known.map(String::as_str)) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    /// A webhook's name must be one `tandem.toml` lists (when there is a config).
    pub(super) fn webhook_name(&mut self, w: &Ident) {
        if let Some(hooks) = &self.sym.webhooks {
            if !hooks.contains(&w.name) {
                self.diags.push(
                    Diagnostic::error(
                        codes::UNKNOWN_WEBHOOK,
                        w.span,
                        format!("`tandem.toml` names no webhook `{}`", w.name),
                    )
                    .with_help(format!(
                        "add `{} = \"https://…\"` under `[webhooks]` in tandem.toml",
                        w.name
                    )),
                );
            }
        }
    }

    pub(super) fn event_exists(&mut self, event: &Ident) -> bool {
        if self.sym.events.contains_key(&event.name) {
            return true;
        }
        self.unknown(codes::UNKNOWN_EVENT, "event", event, self.sym.events.keys());
        false
    }
}
