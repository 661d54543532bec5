//! Journeys: entering, walking a journey graph to its next wait, waits resumed by events and timers, exits and goals.

use super::*;

/// The clock: the instant being processed and the pending timers (waits, SLA deadlines, schedules, deferred mail).
pub(super) struct Clock {
    /// Pending timers, earliest (instant, creation sequence) first. A binary heap: one
    /// dense array, where a B-tree filled in time order leaves its nodes half empty
    /// (every active lead has a timer or two, so this is per-lead memory).
    pub(super) timers: std::collections::BinaryHeap<std::cmp::Reverse<Timer>>,
    pub(super) seq: u64,
    pub(super) now: i64,
}

impl<'p> Engine<'p> {
    pub(super) fn enter(&mut self, lead: usize, j: usize, queue: &mut VecDeque<Raised>) -> bool {
        self.enter_with(lead, j, None, queue)
    }

    /// Enters the journey; `on`: the `enter on` lines (by index) that enrolled the lead
    /// and their event, whose `then` actions run before the first step.
    fn enter_with(
        &mut self,
        lead: usize,
        j: usize,
        on: Option<(&[usize], &EventRecord)>,
        queue: &mut VecDeque<Raised>,
    ) -> bool {
        let p = self.p;
        let name = p.journeys[j].name.as_str();
        if self.leads[lead].journeys[j].is_some() {
            self.trace(lead, "enroll_ignored", || {
                format!("not entered `{name}`: the lead is already in it")
            });
            return false;
        }
        // A lead still inside an earlier version of this journey is inside the journey.
        if p.journeys[j].kept_as.is_none() && self.inside_kept_version(lead, j) {
            self.trace(lead, "enroll_ignored", || {
                format!("not entered `{name}`: the lead is still in an earlier version of it")
            });
            return false;
        }
        let prev = self.leads[lead].last_entry[j];
        if prev != NEVER {
            match p.journeys[j].reenter_after {
                None => {
                    self.trace(lead, "enroll_ignored", || {
                        format!("not entered `{name}`: it was entered before, and without `reenter after DURATION` a lead enters a journey once")
                    });
                    return false;
                }
                Some(d) if self.clock.now < prev.saturating_add(d) => {
                    let left = prev.saturating_add(d) - self.clock.now;
                    self.trace(lead, "enroll_ignored", || {
                        format!("not entered `{name}`: `reenter after` allows it again in {left} s")
                    });
                    return false;
                }
                Some(_) => {}
            }
        }
        let goal = p.journeys[j]
            .goal
            .iter()
            .any(|&f| self.holds(lead, f, None));
        let exit = !goal
            && p.journeys[j]
                .exit_when
                .iter()
                .any(|&f| self.holds(lead, f, None));
        if goal || exit {
            let which = if goal { "goal" } else { "exit when" };
            self.trace(lead, "enroll_ignored", || {
                format!("not entered `{name}`: its `{which}` already holds")
            });
            return false;
        }
        self.leads[lead].entries += 1;
        let entry = self.leads[lead].entries;
        self.leads[lead].last_entry[j] = self.clock.now;
        self.leads[lead].journeys[j] = Some(Box::new(Instance {
            node: 0,
            entry,
            wait: Waiting::Nothing,
            wait_token: 0,
        }));
        self.line(
            lead,
            Entry::JourneyEntered {
                journey: name.to_owned(),
            },
        );
        if let Some((lines, record)) = on {
            self.enter_then(lead, (j, j), lines, record, queue);
        }
        self.continue_at(lead, j, 0, queue);
        true
    }

    /// The `then` actions of journey `j`'s `enter on` lines, with their event in scope,
    /// inside the lead's instance of `inside` (`j`, or an earlier version of it).
    fn enter_then(
        &mut self,
        lead: usize,
        (j, inside): (usize, usize),
        lines: &[usize],
        record: &EventRecord,
        queue: &mut VecDeque<Raised>,
    ) {
        let Some(entry) = self.leads[lead].journeys[inside].as_ref().map(|i| i.entry) else {
            return;
        };
        let p = self.p;
        for &i in lines {
            let then = &p.journeys[j].enter_on[i].then;
            if then.is_empty() {
                continue;
            }
            self.leads[lead].dirty = true;
            self.acting.cause = format!("journey `{}`", p.journeys[j].name);
            self.acting.copying_entry = true;
            self.actions(lead, then, Some(record), Some((inside, entry)), queue);
            self.acting.copying_entry = false;
        }
    }

    pub(super) fn leave(&mut self, lead: usize, j: usize, reason: &str) -> bool {
        let Some(inst) = self.leads[lead].journeys[j].take() else {
            return false;
        };
        if reason != "completed" {
            // Left early (exit or goal): its deferred sends are dropped when released.
            push_exact(&mut self.leads[lead].left_entries, inst.entry);
        }
        let name = self.p.journeys[j].name.clone();
        self.line(
            lead,
            Entry::JourneyExited {
                journey: name,
                reason: reason.to_owned(),
            },
        );
        true
    }

    /// `enter on` lines: the event enrolls the lead; when it is already inside, the
    /// matching lines' `then` actions still run (a new registration updates its fields).
    pub(super) fn enter_on(&mut self, lead: usize, ev: &Raised, queue: &mut VecDeque<Raised>) {
        for j in 0..self.p.journeys.len() {
            let p = self.p;
            let mut lines: SmallVec<[usize; 2]> = SmallVec::new();
            for (i, line) in p.journeys[j].enter_on.iter().enumerate() {
                if line.event == ev.name
                    && line
                        .filter
                        .is_none_or(|f| self.holds(lead, f, Some(&ev.record)))
                {
                    lines.push(i);
                }
            }
            if lines.is_empty() {
                continue;
            }
            // Inside this journey, or still inside an earlier version of it kept for the
            // leads in it: the lines' actions run there.
            let inside = if self.leads[lead].journeys[j].is_some() {
                Some(j)
            } else if p.journeys[j].kept_as.is_none() {
                (0..p.journeys.len()).find(|&k| {
                    p.journeys[k].kept_as.is_some()
                        && p.journeys[k].name == p.journeys[j].name
                        && self.leads[lead].journeys[k].is_some()
                })
            } else {
                None
            };
            match inside {
                Some(k) => {
                    let name = p.journeys[j].name.as_str();
                    let then = lines
                        .iter()
                        .any(|&i| !p.journeys[j].enter_on[i].then.is_empty());
                    self.trace(lead, "enroll_ignored", || {
                        let also = if then { " (its `then` actions ran)" } else { "" };
                        if k == j {
                            format!("not entered `{name}`: the lead is already in it{also}")
                        } else {
                            format!("not entered `{name}`: the lead is still in an earlier version of it{also}")
                        }
                    });
                    self.enter_then(lead, (j, k), &lines, &ev.record, queue)
                }
                None => {
                    self.enter_with(lead, j, Some((&lines, &ev.record)), queue);
                }
            }
        }
    }

    /// `exit on` lines: a matching event takes the lead out of the journey (reason
    /// `exit`), before the event resumes waits or enrolls.
    pub(super) fn exit_on(&mut self, lead: usize, ev: &Raised) {
        for j in 0..self.p.journeys.len() {
            if self.leads[lead].journeys[j].is_none() {
                continue;
            }
            let p = self.p;
            let exits = p.journeys[j].exit_on.iter().any(|(name, f)| {
                *name == ev.name && f.is_none_or(|f| self.holds(lead, f, Some(&ev.record)))
            });
            if exits && self.leave(lead, j, "exit") {
                self.leads[lead].dirty = true;
            }
        }
    }

    pub(super) fn resume_wait_for(
        &mut self,
        lead: usize,
        ev: &Raised,
        queue: &mut VecDeque<Raised>,
    ) {
        // Oldest wait first: waits began in the order of their sequence numbers.
        let mut waiting: Vec<(u64, usize, Option<FuncId>)> = Vec::new();
        for j in 0..self.p.journeys.len() {
            if let Some(Instance {
                wait: Waiting::Event(w),
                ..
            }) = self.leads[lead].journeys[j].as_deref()
            {
                if w.event == ev.name && w.since < ev.seq {
                    waiting.push((w.since, j, w.filter));
                }
            }
        }
        waiting.sort();
        for (_, j, filter) in waiting {
            if filter.is_none_or(|f| self.holds(lead, f, Some(&ev.record))) {
                if let Some(inst) = self.leads[lead].journeys[j].clone() {
                    let next = self.p.journeys[j].graph.nodes[inst.node].next;
                    let record = ev.record.clone();
                    self.run_from(lead, j, next, Some(&record), queue);
                }
            }
        }
    }

    pub(super) fn continue_at(
        &mut self,
        lead: usize,
        j: usize,
        node: usize,
        queue: &mut VecDeque<Raised>,
    ) {
        self.run_from(lead, j, node, None, queue);
    }

    pub(super) fn timer(&mut self, lead: usize, at: i64, kind: TimerKind) {
        let seq = self.next_seq();
        self.clock.timers.push(std::cmp::Reverse(Timer {
            at,
            seq,
            lead,
            kind,
        }));
    }

    /// Walks the graph from `node` until a wait or the end.
    /// Walks a journey's graph (see `run_from_marked`); the lead's journey state changes.
    pub(super) fn run_from(
        &mut self,
        lead: usize,
        j: usize,
        node: usize,
        event: Option<&EventRecord>,
        queue: &mut VecDeque<Raised>,
    ) {
        if let Some(l) = self.leads.get_mut(lead) {
            l.dirty = true;
        }
        self.run_from_marked(lead, j, node, event, queue);
    }

    pub(super) fn run_from_marked(
        &mut self,
        lead: usize,
        j: usize,
        mut node: usize,
        event: Option<&EventRecord>,
        queue: &mut VecDeque<Raised>,
    ) {
        let journey_name = self.p.journeys[j].name.clone();
        for _ in 0..100_000 {
            let Some(entry) = self.leads[lead].journeys[j].as_ref().map(|i| i.entry) else {
                return;
            };
            let p = self.p;
            let n = &p.journeys[j].graph.nodes[node];
            *self.coverage.nodes.entry((j, node)).or_insert(0) += 1;
            let set_wait = |me: &mut Self, wait: Waiting| -> u64 {
                let token = me.next_seq();
                if let Some(i) = me.leads[lead].journeys[j].as_mut() {
                    i.node = node;
                    i.wait = wait;
                    i.wait_token = token;
                }
                token
            };
            match &n.kind {
                NodeKind::End => {
                    self.leave(lead, j, "completed");
                    return;
                }
                NodeKind::Action(a) => {
                    if matches!(a, ActionIr::Exit) {
                        self.leave(lead, j, "exit");
                        return;
                    }
                    self.acting.cause = format!("journey `{journey_name}`");
                    self.actions(
                        lead,
                        std::slice::from_ref(a),
                        event,
                        Some((j, entry)),
                        queue,
                    );
                    node = n.next;
                }
                NodeKind::Wait { secs } => {
                    if *secs <= 0 {
                        node = n.next;
                        continue;
                    }
                    let token = set_wait(self, Waiting::Timer);
                    let at = self.clock.now.saturating_add(*secs);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::WaitClock { days, minute } => {
                    let at = self.next_clock(lead, *days, *minute);
                    if at <= self.clock.now {
                        node = n.next;
                        continue;
                    }
                    let token = set_wait(self, Waiting::Timer);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::WaitDate {
                    field,
                    offset_secs,
                    minute,
                } => match self.date_target(lead, field, *offset_secs, *minute) {
                    Some(at) if at > self.clock.now => {
                        let token = set_wait(self, Waiting::Date { at });
                        self.timer(lead, at, TimerKind::Wake { journey: j, token });
                        return;
                    }
                    // Not set, or already past: nothing to wait for.
                    target => {
                        self.trace(lead, "wait_skipped", || match target {
                            Some(at) => format!(
                                "`{journey_name}` did not wait for `{field}`: that moment ({}) has passed",
                                crate::timeline::format_instant(at)
                            ),
                            None => format!(
                                "`{journey_name}` did not wait for `{field}`: the lead has no `{field}`"
                            ),
                        });
                        node = n.next;
                    }
                },
                NodeKind::WaitFor {
                    event: ev,
                    filter,
                    up_to_secs,
                    timeout,
                } => {
                    let since = self.clock.seq;
                    let token = set_wait(
                        self,
                        Waiting::Event(Box::new(EventWait {
                            event: ev.clone(),
                            filter: *filter,
                            since,
                            timeout: *timeout,
                        })),
                    );
                    let at = self.clock.now.saturating_add(*up_to_secs);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::WaitUntil {
                    cond,
                    up_to_secs,
                    timeout,
                } => {
                    if self.holds(lead, *cond, None) {
                        node = n.next;
                        continue;
                    }
                    let token = set_wait(
                        self,
                        Waiting::Until {
                            cond: *cond,
                            timeout: *timeout,
                        },
                    );
                    let at = self.clock.now.saturating_add(*up_to_secs);
                    self.timer(lead, at, TimerKind::Wake { journey: j, token });
                    return;
                }
                NodeKind::Branch { arms } => {
                    let mut target = n.next;
                    for (f, t) in arms {
                        if self.holds(lead, *f, event) {
                            target = *t;
                            break;
                        }
                    }
                    node = target;
                }
                NodeKind::Split { index, arms } => {
                    let percents: Vec<u64> = arms.iter().map(|a| a.0).collect();
                    let id = self.lead_id(lead);
                    let b = split_branch(id, &journey_name, *index, &percents);
                    node = arms.get(b).map(|a| a.1).unwrap_or(n.next);
                }
            }
        }
    }

    /// Starts the clock: the schedules' first runs are created now, in program order.
    pub fn start(&mut self, at: i64) {
        self.clock.now = at;
        for i in 0..self.p.schedules.len() {
            if let Some(next) = self.next_run(i, at) {
                self.timer(usize::MAX, next, TimerKind::Schedule { schedule: i });
            }
        }
    }

    /// The first instant after `after` that schedule `i`'s cron matches, in its time zone.
    pub(super) fn next_run(&self, i: usize, after: i64) -> Option<i64> {
        let sch = &self.p.schedules[i];
        let cron = sch.compiled.as_ref()?;
        let tz = match &sch.timezone {
            Some(name) => jiff::tz::TimeZone::get(name).ok()?,
            None => self.tz.clone(),
        };
        cron.next_after(after, &tz)
    }

    pub(super) fn run_schedule(&mut self, i: usize) {
        if let Some(next) = self.next_run(i, self.clock.now) {
            self.timer(usize::MAX, next, TimerKind::Schedule { schedule: i });
        }
        let p = self.p;
        let items = &p.schedules[i].items;
        for item in items {
            match item {
                compiler::program::ScheduleItemIr::ForLeads { filter, actions } => {
                    // The set of leads is taken first, then each is its own input.
                    let matching: Vec<usize> = (0..self.leads.len())
                        .filter(|&l| self.holds(l, *filter, None))
                        .collect();
                    for lead in matching {
                        let mut queue = VecDeque::new();
                        self.acting.cause = format!("schedule `{}`", self.p.schedules[i].name);
                        self.actions(lead, actions, None, None, &mut queue);
                        self.process(lead, queue);
                    }
                }
                compiler::program::ScheduleItemIr::Report(to) => {
                    let schedule = self.p.schedules[i].name.clone();
                    self.line(
                        usize::MAX,
                        Entry::ReportSent {
                            schedule,
                            to: to.clone(),
                        },
                    );
                }
            }
        }
    }

    pub(super) fn run_timer(&mut self, t: Timer) {
        if let TimerKind::Schedule { schedule } = t.kind {
            self.run_schedule(schedule);
            return;
        }
        let lead = t.lead;
        let mut queue = VecDeque::new();
        match t.kind {
            TimerKind::Wake { journey, token } => {
                let Some(inst) = self.leads[lead].journeys[journey].clone() else {
                    return;
                };
                if inst.wait_token != token {
                    return;
                }
                let next = match &inst.wait {
                    Waiting::Event(w) => w.timeout,
                    Waiting::Until { timeout, .. } => *timeout,
                    _ => self.p.journeys[journey].graph.nodes[inst.node].next,
                };
                self.continue_at(lead, journey, next, &mut queue);
            }
            TimerKind::Deferred(deferred) => {
                self.send(lead, &deferred.template, deferred.journey, true, &mut queue);
            }
            TimerKind::Decay { score } => self.decay(lead, &[score]),
            TimerKind::Sla { task, clause } => self.sla(task, clause, &mut queue),
            TimerKind::Schedule { .. } => {}
        }
        self.process(lead, queue);
    }
}
