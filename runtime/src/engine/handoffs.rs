//! Handoffs: Sales tasks created and assigned, SLA deadlines and their escalation or reassignment, accept, reject and complete.

use super::*;

/// The handoffs room's state: the Sales tasks, round-robin positions and each team's business calendar.
pub(super) struct Sales {
    pub(super) tasks: Vec<Task>,
    /// Round-robin position per team.
    pub(super) rr: FxHashMap<String, usize>,
    pub(super) calendars: FxHashMap<String, crate::calendar::Calendar>,
}

impl<'p> Engine<'p> {
    /// Starts a handoff: a task unless one is open; returns whether one was created.
    pub(super) fn start_handoff(
        &mut self,
        lead: usize,
        h: usize,
        queue: &mut VecDeque<Raised>,
    ) -> bool {
        if self.leads[lead].handoff_tasks[h].open.is_some() {
            return false;
        }
        let hd = self.p.handoffs[h].clone();
        let Some(team) = self.p.teams.iter().find(|t| t.name == hd.team).cloned() else {
            return false;
        };
        let owner = self.text_field(lead, "owner");
        let assignee = if hd.owner_first && !owner.is_empty() {
            owner
        } else {
            match hd.strategy {
                grammar::ast::AssignStrategy::RoundRobin => {
                    let pos = self.sales.rr.entry(team.name.clone()).or_insert(0);
                    let a = team
                        .members
                        .get(*pos % team.members.len().max(1))
                        .cloned()
                        .unwrap_or_default();
                    *pos += 1;
                    a
                }
                grammar::ast::AssignStrategy::LeastOpen => {
                    let open = |m: &str| {
                        self.sales
                            .tasks
                            .iter()
                            .filter(|t| !t.closed && t.assignee == m)
                            .count()
                    };
                    team.members
                        .iter()
                        .min_by_key(|m| open(m))
                        .cloned()
                        .unwrap_or_default()
                }
            }
        };
        self.leads[lead].handoff_tasks[h].created += 1;
        self.coverage.handoffs.insert(h);
        let id = format!(
            "{}:{}:{}",
            self.lead_id(lead),
            hd.name,
            self.leads[lead].handoff_tasks[h].created
        );
        let created = self.clock.now;
        let title = self.task_title(lead, h);
        self.sales.tasks.push(Task {
            id: id.clone(),
            lead,
            handoff: h,
            team: team.name.clone(),
            assignee: assignee.clone(),
            title: title.clone(),
            accepted: false,
            closed: false,
            fired: vec![false; hd.slas.len()],
        });
        let t = self.sales.tasks.len() - 1;
        self.leads[lead].handoff_tasks[h].open = u32::try_from(t).ok();
        if let Some(s) = self.slot("owner") {
            let w = u64::from(self.exprs.interner.intern(&assignee));
            self.write_field(lead, s, w);
        }
        self.line(
            lead,
            Entry::TaskCreated {
                handoff: hd.name.clone(),
                task: id,
                team: team.name.clone(),
                assignee: assignee.clone(),
            },
        );
        let ev = self.raise(
            lead,
            "task_created",
            vec![
                ("handoff".into(), InputValue::Text(hd.name.clone())),
                ("assignee".into(), InputValue::Text(assignee.clone())),
            ],
        );
        self.line(
            lead,
            Entry::Notified {
                to: vec![assignee],
                text: title,
                task: true,
            },
        );
        queue.push_back(ev);
        for (clause, due) in self
            .sla_deadlines(h, &team.name, created)
            .into_iter()
            .enumerate()
        {
            self.timer(lead, due.at, TimerKind::Sla { task: t, clause });
        }
        true
    }

    /// The deadlines of handoff `h`'s SLA clauses, in clause order, for a task of `team`
    /// created at `created`: business time counts only the team's open hours.
    pub(super) fn sla_deadlines(&self, h: usize, team: &str, created: i64) -> Vec<SlaDue> {
        let Some(hd) = self.p.handoffs.get(h) else {
            return Vec::new();
        };
        hd.slas
            .iter()
            .map(|sla| {
                let at = match sla.within {
                    compiler::program::SlaWindow::Seconds(s) => created.saturating_add(s),
                    compiler::program::SlaWindow::BusinessHours(hrs) => {
                        match self.sales.calendars.get(team) {
                            Some(c) => c.add_open_time(created, (hrs * 3600.0).round() as i64),
                            None => created,
                        }
                    }
                    compiler::program::SlaWindow::BusinessDays(n) => {
                        match self.sales.calendars.get(team) {
                            Some(c) => c.add_open_days(created, n),
                            None => created,
                        }
                    }
                };
                SlaDue {
                    accept: sla.kind == grammar::ast::SlaKind::Accept,
                    escalate: sla.action == grammar::ast::SlaAction::Escalate,
                    at,
                }
            })
            .collect()
    }

    /// The SLA deadlines of a task of handoff `handoff` given to `team` at `created` (for
    /// the service's task list; the engine's own timers use the same computation).
    pub fn task_deadlines(&self, handoff: &str, team: &str, created: i64) -> Vec<SlaDue> {
        match self.p.handoffs.iter().position(|x| x.name == handoff) {
            Some(h) => self.sla_deadlines(h, team, created),
            None => Vec::new(),
        }
    }

    pub(super) fn task_title(&self, lead: usize, h: usize) -> String {
        let title = self.p.handoffs[h]
            .task
            .clone()
            .unwrap_or_else(|| self.p.handoffs[h].name.clone());
        self.render(lead, &title, None)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn outcome(
        &mut self,
        lead: usize,
        h: usize,
        t: usize,
        outcome: crate::scenario::TaskOutcome,
        by: Option<String>,
        reason: Option<String>,
        queue: &mut VecDeque<Raised>,
    ) {
        use crate::scenario::TaskOutcome;
        let by = by.unwrap_or_else(|| self.sales.tasks[t].assignee.clone());
        let (handoff, task) = (
            self.p.handoffs[h].name.clone(),
            self.sales.tasks[t].id.clone(),
        );
        let mut props = vec![
            ("handoff".to_owned(), InputValue::Text(handoff.clone())),
            ("by".to_owned(), InputValue::Text(by.clone())),
        ];
        let code = match outcome {
            TaskOutcome::Accept => 0,
            TaskOutcome::Reject => 1,
            TaskOutcome::Complete => 2,
        };
        self.coverage.outcomes.insert((h, code));
        let (event, actions) = match outcome {
            TaskOutcome::Accept => {
                self.sales.tasks[t].accepted = true;
                self.line(lead, Entry::TaskAccepted { handoff, task, by });
                ("task_accepted", &self.p.handoffs[h].on_accept)
            }
            TaskOutcome::Complete => {
                self.sales.tasks[t].accepted = true;
                self.sales.tasks[t].closed = true;
                self.leads[lead].handoff_tasks[h].open = None;
                self.line(lead, Entry::TaskCompleted { handoff, task, by });
                ("task_completed", &self.p.handoffs[h].on_complete)
            }
            TaskOutcome::Reject => {
                let reason = reason.unwrap_or_default();
                self.sales.tasks[t].closed = true;
                self.leads[lead].handoff_tasks[h].open = None;
                props.push(("reason".to_owned(), InputValue::Text(reason.clone())));
                self.line(
                    lead,
                    Entry::TaskRejected {
                        handoff,
                        task,
                        by,
                        reason,
                    },
                );
                ("task_rejected", &self.p.handoffs[h].on_reject)
            }
        };
        let ev = self.raise(lead, event, props);
        let record = ev.record.clone();
        queue.push_back(ev);
        self.acting.cause = format!("handoff `{}` ({event})", self.p.handoffs[h].name);
        self.actions(lead, actions, Some(&record), None, queue);
    }

    pub(super) fn sla(&mut self, t: usize, clause: usize, queue: &mut VecDeque<Raised>) {
        let Some(task) = self.sales.tasks.get(t).cloned() else {
            return;
        };
        let Some(sla) = self
            .p
            .handoffs
            .get(task.handoff)
            .and_then(|h| h.slas.get(clause))
            .cloned()
        else {
            return;
        };
        if task.closed || task.fired.get(clause).copied().unwrap_or(true) {
            return;
        }
        if sla.kind == grammar::ast::SlaKind::Accept && task.accepted {
            return;
        }
        self.sales.tasks[t].fired[clause] = true;
        self.coverage.slas.insert((task.handoff, clause));
        let lead = task.lead;
        let handoff = self.p.handoffs[task.handoff].name.clone();
        let title = task.title.clone();
        let Some(team) = self.p.teams.iter().find(|x| x.name == task.team).cloned() else {
            return;
        };
        match sla.action {
            grammar::ast::SlaAction::Escalate => {
                let manager = team.manager.clone().unwrap_or_default();
                self.line(
                    lead,
                    Entry::TaskEscalated {
                        handoff,
                        task: task.id.clone(),
                        to: manager.clone(),
                    },
                );
                self.line(
                    lead,
                    Entry::Notified {
                        to: vec![manager],
                        text: title,
                        task: true,
                    },
                );
            }
            grammar::ast::SlaAction::Reassign => {
                let next = match team.members.iter().position(|m| *m == task.assignee) {
                    Some(i) => team.members[(i + 1) % team.members.len()].clone(),
                    None => team.members.first().cloned().unwrap_or_default(),
                };
                self.sales.tasks[t].assignee = next.clone();
                if let Some(s) = self.slot("owner") {
                    let w = u64::from(self.exprs.interner.intern(&next));
                    self.write_field(lead, s, w);
                }
                self.line(
                    lead,
                    Entry::TaskReassigned {
                        handoff,
                        task: task.id.clone(),
                        from: task.assignee.clone(),
                        to: next.clone(),
                    },
                );
                self.line(
                    lead,
                    Entry::Notified {
                        to: vec![next],
                        text: title,
                        task: true,
                    },
                );
            }
        }
        let _ = queue;
    }
}
