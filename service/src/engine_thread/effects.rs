//! Effects: each timeline line of a committed group turned into outbox rows — lead email, internal notices, Sales task mail, webhook deliveries — and into task rows.

use super::*;

impl Core {
    /// Records the lines and derives their effects.
    pub(super) fn effects(&mut self, lines: &[Line], commit: &mut Commit) {
        self.dashboard
            .observe(lines, &EngineLeads(self.running.world().engine_ref()));
        for (i, line) in lines.iter().enumerate() {
            // A task line is followed by the `notified` line with the task's rendered title.
            let title = match lines.get(i + 1).map(|l| &l.entry) {
                Some(Entry::Notified {
                    text, task: true, ..
                }) => Some(text.as_str()),
                _ => None,
            };
            self.lines_total += 1;
            if self.skip_lines > 0 {
                self.skip_lines -= 1;
                continue;
            }
            let lead = line.lead.as_deref().map(str::to_owned);
            commit.lines.push((lead.clone(), line.at, line.to_json()));
            let lead = lead.unwrap_or_default();
            self.webhook_rows(line, commit);
            match &line.entry {
                Entry::EmailSent {
                    template,
                    journey,
                    subject,
                } => {
                    if let Some(mail) =
                        self.lead_mail(&lead, template, subject, journey.as_deref(), line.at)
                    {
                        self.mails_enqueued += 1;
                        commit.mails.push(mail);
                    }
                }
                Entry::Notified {
                    to,
                    text,
                    task: false,
                } => {
                    let notice = crate::effects::notify::Notice {
                        lead: &lead,
                        to,
                        text,
                        at: line.at,
                        line_no: self.lines_total,
                    };
                    let mails = crate::effects::notify::mails(
                        &notice,
                        &self.sender(),
                        &self.settings.base_url,
                    );
                    self.mails_enqueued += mails.len() as u64;
                    commit.mails.extend(mails);
                }
                Entry::TaskCreated {
                    handoff,
                    task,
                    team,
                    assignee,
                } => {
                    let engine = self.running.world().engine_ref();
                    let dues = engine.task_deadlines(handoff, team, line.at);
                    let first = |accept: bool| {
                        dues.iter()
                            .filter(|d| d.accept == accept)
                            .map(|d| d.at)
                            .min()
                    };
                    let lead_name = match engine
                        .lead(&lead)
                        .and_then(|i| engine.lead_field(i, "name"))
                    {
                        Some(runtime::timeline::FieldValue::Text(s)) => s,
                        _ => String::new(),
                    };
                    commit.tasks.push(TaskChange::Created(Box::new(TaskRow {
                        id: task.clone(),
                        lead: lead.clone(),
                        handoff: handoff.clone(),
                        team: team.clone(),
                        assignee: assignee.clone(),
                        status: "open".into(),
                        reason: None,
                        created_at: line.at,
                        accepted_at: None,
                        title: title.unwrap_or_default().to_owned(),
                        lead_name,
                        accept_due_at: first(true),
                        complete_due_at: first(false),
                        due_at: None,
                        escalations: 0,
                        escalated_to: None,
                        escalated_at: None,
                    })));
                    commit.mails.push(
                        self.task_mail(&lead, handoff, task, assignee, line.at, "mới", title),
                    );
                }
                Entry::TaskReassigned {
                    task, to, handoff, ..
                } => {
                    commit.tasks.push(TaskChange::Reassigned {
                        id: task.clone(),
                        to: to.clone(),
                    });
                    commit.mails.push(self.task_mail(
                        &lead,
                        handoff,
                        task,
                        to,
                        line.at,
                        "chuyển cho bạn",
                        title,
                    ));
                }
                Entry::TaskEscalated { task, to, handoff } => {
                    commit.tasks.push(TaskChange::Escalated {
                        id: task.clone(),
                        to: to.clone(),
                        at: line.at,
                    });
                    commit.mails.push(self.task_mail(
                        &lead,
                        handoff,
                        task,
                        to,
                        line.at,
                        "quá hạn SLA",
                        title,
                    ));
                }
                Entry::TaskAccepted { task, .. } => commit.tasks.push(TaskChange::Accepted {
                    id: task.clone(),
                    at: line.at,
                }),
                Entry::TaskRejected { task, reason, .. } => {
                    commit.tasks.push(TaskChange::Rejected {
                        id: task.clone(),
                        reason: reason.clone(),
                    })
                }
                Entry::TaskCompleted { task, .. } => commit
                    .tasks
                    .push(TaskChange::Completed { id: task.clone() }),
                Entry::ReportSent { schedule, to } if self.settings.reports => {
                    let summary = match self.dashboard_summary(None, None) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            tracing::error!(schedule = %schedule, error = %e.message, "the report was not sent");
                            None
                        }
                    };
                    if let Some(summary) = summary {
                        let (subject, html, text) =
                            crate::report::render(schedule, &summary, &self.settings.base_url);
                        for address in to {
                            commit.mails.push(OutboxMail {
                                key: crate::sign::key(&[
                                    "report",
                                    schedule,
                                    address,
                                    &line.at.to_string(),
                                ]),
                                lead: String::new(),
                                template: "report".into(),
                                from: self.sender(),
                                to: address.clone(),
                                subject: subject.clone(),
                                html: html.clone(),
                                text: text.clone(),
                                unsubscribe: String::new(),
                                at: line.at,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) fn sender(&self) -> String {
        self.running
            .program()
            .lowered()
            .sending
            .from
            .clone()
            .unwrap_or_else(|| self.settings.default_from.clone())
    }

    /// The webhook deliveries a line causes (its `webhook` action, subscriptions).
    pub(super) fn webhook_rows(&mut self, line: &Line, commit: &mut Commit) {
        let subscribed = self
            .endpoints
            .values()
            .any(|e| e.events.iter().any(|k| k == line.entry.kind()));
        if !subscribed && !matches!(line.entry, Entry::WebhookCalled { .. }) {
            return;
        }
        let snapshot = line
            .lead
            .as_deref()
            .and_then(|id| self.running.world().engine_ref().lead_snapshot(id));
        let ctx = crate::effects::webhook::LineContext {
            line,
            line_no: self.lines_total,
            lead: snapshot.as_ref(),
            queued_ms: self.settings.clock.now_ms(),
        };
        let (rows, unknown) = crate::effects::webhook::rows(&self.endpoints, &ctx);
        if let Some(name) = unknown {
            self.webhooks_unknown += 1;
            tracing::error!(webhook = %name, "`webhook {name}`: tandem.toml names no such webhook; nothing was sent");
        }
        self.webhooks_enqueued += rows.len() as u64;
        commit.webhooks.extend(rows);
    }

    /// Installs the running version's webhook endpoints (here and for the deliverer).
    pub(super) fn set_endpoints(&mut self, endpoints: crate::effects::webhook::Endpoints) {
        if let Ok(mut shared) = self.settings.webhooks.write() {
            shared.clone_from(&endpoints);
        }
        self.endpoints = endpoints;
    }

    /// The email a `send` line stands for: rendered by the engine's renderer for the
    /// lead as it is now, with the subject the timeline shows. A template that fails to
    /// render is not mailed (counted in `tandem_mail_render_failures` and logged).
    pub(super) fn lead_mail(
        &mut self,
        lead: &str,
        template: &str,
        subject: &str,
        journey: Option<&str>,
        at: i64,
    ) -> Option<OutboxMail> {
        let engine = self.running.world().engine_ref();
        let index = engine.lead(lead)?;
        let to = match engine.lead_field(index, "email") {
            Some(runtime::timeline::FieldValue::Text(e)) if !e.is_empty() => e,
            _ => return None,
        };
        let tracking = crate::effects::mail::Tracking {
            base_url: &self.settings.base_url,
            signer: &self.settings.signer,
            open_pixel: self.settings.open_tracking,
        };
        let unsubscribe = crate::effects::mail::unsubscribe_url(&tracking, lead);
        let rendered = match engine.render_email(lead, template, journey, &unsubscribe)? {
            Ok(r) => r,
            Err(e) => {
                self.render_failures += 1;
                tracing::error!(lead, template, error = %e, "an email was not sent: its template does not render");
                return None;
            }
        };
        let from = engine
            .templates()
            .get(template)
            .and_then(|t| t.from.clone())
            .unwrap_or_else(|| self.sender());
        let envelope = crate::effects::mail::Envelope {
            lead,
            template,
            from,
            to,
            subject,
            at,
        };
        Some(crate::effects::mail::lead_mail(
            rendered, envelope, &tracking,
        ))
    }

    /// The email to a Sales rep about a task, with signed one-click accept/reject links.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn task_mail(
        &self,
        lead: &str,
        handoff: &str,
        task: &str,
        to: &str,
        at: i64,
        what: &str,
        title: Option<&str>,
    ) -> OutboxMail {
        let notice = crate::effects::task::TaskNotice {
            lead,
            handoff,
            task,
            title,
            to,
            at,
            what,
        };
        crate::effects::task::task_mail(
            &notice,
            &self.settings.base_url,
            &self.settings.signer,
            self.sender(),
        )
    }
}
