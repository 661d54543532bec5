//! Actions: what a rule, journey step or handoff outcome does — set, tag, send (with quiet hours and caps), notify, webhooks, enroll.

use super::*;

/// The actions room's state: what the running actions belong to and which outbound effects were done.
pub(super) struct Acting {
    /// What the actions being run belong to (recorded with stage changes).
    pub(super) cause: String,
    /// Outbound effects done at `effects_at`: (lead, action site). Sites are the
    /// addresses of the program's actions, which live as long as the program.
    pub(super) effects: FxHashSet<(usize, usize)>,
    pub(super) effects_at: i64,
    /// Running `enter on … then` actions: `set FIELD = event.PROP` copies only a property
    /// the event carried (a registration without `starts_at` leaves the field as it was).
    pub(super) copying_entry: bool,
}

impl<'p> Engine<'p> {
    /// Whether `value` is something other than a bare `event.PROP`, or the event in
    /// scope carried that property.
    fn carried(&self, value: compiler::ir::FuncId, event: Option<&EventRecord>) -> bool {
        match self.exprs.funcs.get(value).map(|f| &f.body.kind) {
            Some(compiler::ir::IrKind::EventProp(i)) => {
                *i < 64 && event.is_some_and(|e| e.set_bits & (1 << i) != 0)
            }
            _ => true,
        }
    }

    pub(super) fn actions(
        &mut self,
        lead: usize,
        actions: &[ActionIr],
        event: Option<&EventRecord>,
        journey: Option<(usize, u64)>,
        queue: &mut VecDeque<Raised>,
    ) {
        for a in actions {
            // Outbound effects carry a key (lead, place in the program, instant): a
            // second effect with the same key at the same instant is skipped silently.
            if matches!(
                a,
                ActionIr::Send(_) | ActionIr::Notify { .. } | ActionIr::Webhook(_)
            ) {
                if self.acting.effects_at != self.clock.now {
                    self.acting.effects_at = self.clock.now;
                    self.acting.effects.clear();
                }
                let site = a as *const ActionIr as usize;
                if !self.acting.effects.insert((lead, site)) {
                    if self.trace {
                        let message = format!(
                            "not done again: an action of {} (the same action already ran for this lead at this instant)",
                            self.acting.cause
                        );
                        self.trace(lead, "effect_repeated", || message);
                    }
                    continue;
                }
            }
            match a {
                ActionIr::Set { field, value } => {
                    if self.acting.copying_entry && !self.carried(*value, event) {
                        if self.trace {
                            let message = format!(
                                "`{field}` not set: the event did not carry the property it copies"
                            );
                            self.trace(lead, "set_skipped", || message);
                        }
                        continue;
                    }
                    let w = self.eval(lead, *value, event);
                    let Some(slot) = self.slot(field) else {
                        continue;
                    };
                    let before = self.leads[lead].record.words[slot];
                    self.write_field(lead, slot, w);
                    if field == "stage" && before != w {
                        let ev = self.stage_changed(lead, before, w);
                        queue.push_back(ev);
                    }
                }
                ActionIr::Tag(t) | ActionIr::Untag(t) => {
                    let sym = self.exprs.interner.intern(t);
                    let add = matches!(a, ActionIr::Tag(_));
                    let changed = if add {
                        self.leads[lead].record.tags.insert(sym)
                    } else {
                        self.leads[lead].record.tags.remove(&sym)
                    };
                    if changed {
                        let entry = if add {
                            Entry::TagAdded { tag: t.clone() }
                        } else {
                            Entry::TagRemoved { tag: t.clone() }
                        };
                        self.line(lead, entry);
                    }
                }
                ActionIr::Send(t) => self.send(lead, t, journey, false, queue),
                ActionIr::Enroll(j) => {
                    if let Some(idx) = self.p.journeys.iter().position(|x| x.name == *j) {
                        self.enter(lead, idx, queue);
                    }
                }
                ActionIr::Notify { target, text } => {
                    let to: Vec<String> = match target {
                        NotifyTo::Address(a) => vec![a.clone()],
                        NotifyTo::Owner => {
                            let owner = self.text_field(lead, "owner");
                            if owner.is_empty() {
                                self.line(
                                    lead,
                                    Entry::Error {
                                        code: "no_owner".into(),
                                        message: "`notify owner`: the lead has no owner".into(),
                                    },
                                );
                                continue;
                            }
                            vec![owner]
                        }
                        NotifyTo::Team(team) => match self.p.teams.iter().find(|x| x.name == *team)
                        {
                            Some(t) => t
                                .members
                                .iter()
                                .cloned()
                                .chain(t.manager.iter().cloned())
                                .collect(),
                            None => Vec::new(),
                        },
                    };
                    let rendered = self.render(lead, text, journey.map(|(j, _)| j));
                    self.line(
                        lead,
                        Entry::Notified {
                            to,
                            text: rendered,
                            task: false,
                        },
                    );
                }
                ActionIr::Handoff(name) => {
                    if let Some(h) = self.p.handoffs.iter().position(|x| x.name == *name) {
                        self.start_handoff(lead, h, queue);
                    }
                }
                ActionIr::Webhook(w) => {
                    let journey = journey.map(|(j, _)| self.p.journeys[j].name.clone());
                    self.line(
                        lead,
                        Entry::WebhookCalled {
                            webhook: w.clone(),
                            journey,
                        },
                    )
                }
                ActionIr::Exit => {
                    if let Some((j, _)) = journey {
                        self.leave(lead, j, "exit");
                    }
                }
            }
        }
    }

    pub(super) fn local_minute(&self, lead: usize) -> u32 {
        let tz = self.lead_tz(lead);
        match jiff::Timestamp::from_second(self.clock.now) {
            Ok(t) => {
                let z = jiff::ZonedDateTime::new(t, tz);
                (z.hour() as u32) * 60 + z.minute() as u32
            }
            Err(_) => 0,
        }
    }

    pub(super) fn send(
        &mut self,
        lead: usize,
        template: &str,
        journey: Option<(usize, u64)>,
        released: bool,
        queue: &mut VecDeque<Raised>,
    ) {
        let journey_name = journey.map(|(j, _)| self.p.journeys[j].name.clone());
        let suppress = |me: &mut Self, reason: &str| {
            me.line(
                lead,
                Entry::EmailSuppressed {
                    template: template.to_owned(),
                    reason: reason.to_owned(),
                    journey: journey_name.clone(),
                },
            );
        };
        let flag = |me: &Self, f: &str| {
            me.slot(f)
                .is_some_and(|s| me.leads[lead].record.words[s] != 0)
        };
        if flag(self, "unsubscribed") {
            return suppress(self, "unsubscribed");
        }
        if flag(self, "bounced") {
            return suppress(self, "bounced");
        }
        if self.text_field(lead, "email").is_empty() {
            return suppress(self, "no_email");
        }
        if released {
            if let Some((_, entry)) = journey {
                if self.leads[lead].left_entries.contains(&entry) {
                    return suppress(self, "left_journey");
                }
            }
        }
        if let Some((n, window)) = self.p.sending.cap {
            let from = self.clock.now.saturating_sub(window);
            let count = self.leads[lead]
                .sent_at
                .iter()
                .filter(|t| **t > from && **t <= self.clock.now)
                .count();
            if count as u64 >= n {
                return suppress(self, "frequency_cap");
            }
        }
        if let Some((start, end)) = self.p.sending.quiet {
            let m = self.local_minute(lead);
            let quiet = if start < end {
                m >= start && m < end
            } else {
                m >= start || m < end
            };
            if quiet {
                let until = self.next_clock(lead, 0x7f, end);
                self.line(
                    lead,
                    Entry::EmailDeferred {
                        template: template.to_owned(),
                        until,
                        journey: journey_name,
                    },
                );
                let template = self.shared_text(template.to_owned());
                self.timer(
                    lead,
                    until,
                    TimerKind::Deferred(Box::new(DeferredSend { template, journey })),
                );
                return;
            }
        }
        let subject = match self.mail.templates.get(template) {
            Some(t) => {
                let s = t.subject.clone();
                self.render(lead, &s, journey.map(|(j, _)| j))
            }
            None => String::new(),
        };
        push_exact(&mut self.leads[lead].sent_at, self.clock.now);
        self.line(
            lead,
            Entry::EmailSent {
                template: template.to_owned(),
                subject,
                journey: journey_name,
            },
        );
        let ev = self.raise(
            lead,
            "email_sent",
            vec![("template".into(), InputValue::Text(template.to_owned()))],
        );
        queue.push_back(ev);
    }
}
