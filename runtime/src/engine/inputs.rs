//! Inputs: one scenario input applied — a lead created or updated, an event recorded — and the timers due before it fired first.

use super::*;

/// What the inputs room keeps of events for `count(…)`.
pub(super) struct Counting {
    /// Events some `count(…)` reads: only these are kept in a lead's history.
    pub(super) counted: FxHashSet<u32>,
    /// Counted events whose counts all read only the event: their matches are decided on
    /// arrival (`LeadHistory::hits`) and the events themselves are not kept.
    pub(super) precounted: FxHashMap<u32, Vec<CountSite>>,
    /// Counted events some count of which reads more than the event: kept whole.
    pub(super) kept_whole: FxHashSet<u32>,
}

impl<'p> Engine<'p> {
    /// Runs every timer due at or before `until`, in time order.
    pub fn advance_to(&mut self, until: i64) {
        while let Some(std::cmp::Reverse(first)) = self.clock.timers.peek() {
            let at = first.at;
            if at > until {
                break;
            }
            // Every timer due at this instant, in creation order; a lead's decay
            // steps run first, together, as one input.
            let mut due = Vec::new();
            while self.clock.timers.peek().is_some_and(|t| t.0.at == at) {
                if let Some(std::cmp::Reverse(timer)) = self.clock.timers.pop() {
                    due.push(timer);
                }
            }
            self.clock.now = at;
            // Each lead's decay steps at this instant, leads in order of first appearance.
            let mut decays: Vec<(usize, Vec<usize>)> = Vec::new();
            for t in &due {
                if let TimerKind::Decay { score } = t.kind {
                    match decays.iter_mut().find(|(lead, _)| *lead == t.lead) {
                        Some((_, scores)) => scores.push(score),
                        None => decays.push((t.lead, vec![score])),
                    }
                }
            }
            let mut decayed: FxHashSet<usize> = FxHashSet::default();
            for t in due {
                if matches!(t.kind, TimerKind::Decay { .. }) {
                    continue;
                }
                if decayed.insert(t.lead) {
                    if let Some((_, scores)) = decays.iter().find(|(lead, _)| *lead == t.lead) {
                        self.decay(t.lead, scores);
                    }
                }
                self.run_timer(t);
            }
            // Leads with only decay steps at this instant.
            for (lead, scores) in &decays {
                if decayed.insert(*lead) {
                    self.decay(*lead, scores);
                }
            }
        }
        self.clock.now = self.clock.now.max(until);
    }

    /// One decay input: each due score's event part shrinks (program order), then settle.
    pub(super) fn decay(&mut self, lead: usize, scores: &[usize]) {
        let mut order = scores.to_vec();
        order.sort_unstable();
        order.dedup();
        for i in order {
            self.leads[lead].prev[self.prev.decay_flags_at + i] = None;
            let Some((pct, _)) = self.p.scores[i].decay else {
                continue;
            };
            let idx = self.prev.score_idx[i];
            let mut e = self.leads[lead].score_parts[idx].event * (100.0 - pct as f64) / 100.0;
            if e.abs() < 0.5 {
                e = 0.0;
            }
            self.leads[lead].score_parts[idx].event = e;
            let v = self.clamp(i, self.leads[lead].score_parts[idx].attribute + e);
            self.set_score_value(lead, i, v);
            self.schedule_decay(lead, i);
        }
        self.process(lead, VecDeque::new());
    }

    /// Schedules score `i`'s next decay step, unless its event part is 0.
    pub(super) fn schedule_decay(&mut self, lead: usize, i: usize) {
        let Some((_, period)) = self.p.scores[i].decay else {
            return;
        };
        if period <= 0 {
            return;
        }
        let idx = self.prev.score_idx[i];
        if self.leads[lead].score_parts[idx].event == 0.0 {
            return;
        }
        if self.leads[lead].prev[self.prev.decay_flags_at + i] == Some(true) {
            return;
        }
        self.leads[lead].prev[self.prev.decay_flags_at + i] = Some(true);
        let created = self
            .slot("created_at")
            .map(|s| self.leads[lead].record.words[s] as i64)
            .unwrap_or(0);
        let k = (self.clock.now - created).div_euclid(period) + 1;
        let at = created.saturating_add(k.saturating_mul(period));
        self.timer(lead, at, TimerKind::Decay { score: i });
    }

    /// Applies one input at its instant (after the timers due by then).
    pub fn input(&mut self, input: &Input) {
        self.advance_to(input.at);
        self.clock.now = input.at;
        self.trace_fresh = self.trace;
        let mut queue: VecDeque<Raised> = VecDeque::new();
        match &input.kind {
            InputKind::Create(fields) => {
                // A second `create` of an id is refused before it reaches the engine; one
                // that reaches it anyway (a log written by two processes) changes nothing,
                // so no lead id ever exists twice.
                if self.lead(&input.lead).is_some() {
                    return;
                }
                let lead = self.create(&input.lead, fields);
                let ev = self.raise(lead, "lead_created", Vec::new());
                queue.push_back(ev);
                self.process(lead, queue);
            }
            InputKind::Update(fields) => {
                let Some(lead) = self
                    .index
                    .get(&self.leads, &self.exprs.interner, &input.lead)
                else {
                    return;
                };
                let raised = self.update(lead, fields);
                queue.extend(raised);
                self.process(lead, queue);
            }
            InputKind::Event { event, props } => {
                let Some(lead) = self
                    .index
                    .get(&self.leads, &self.exprs.interner, &input.lead)
                else {
                    return;
                };
                let ev = self.outside_event(lead, event, props);
                queue.push_back(ev);
                self.process(lead, queue);
            }
            InputKind::Task {
                handoff,
                outcome,
                by,
                reason,
            } => {
                let Some(lead) = self
                    .index
                    .get(&self.leads, &self.exprs.interner, &input.lead)
                else {
                    return;
                };
                let h = self.p.handoffs.iter().position(|x| x.name == *handoff);
                let task = h.and_then(|h| self.leads[lead].handoff_tasks[h].open());
                let (Some(h), Some(t)) = (h, task) else {
                    self.line(
                        lead,
                        Entry::Error {
                            code: "no_open_task".into(),
                            message: format!(
                                "the lead has no open task of the handoff `{handoff}`"
                            ),
                        },
                    );
                    return;
                };
                self.outcome(lead, h, t, *outcome, by.clone(), reason.clone(), &mut queue);
                self.process(lead, queue);
            }
        }
    }

    pub(super) fn create(&mut self, id: &str, fields: &[(String, InputValue)]) -> usize {
        let mut record = LeadRecord::new(&self.exprs);
        for (name, lit) in &self.p.defaults {
            if let Some(slot) = self.exprs.layout.slot(name) {
                let w = match &lit.kind {
                    grammar::ast::LiteralKind::Number { value, .. } => value.to_bits(),
                    grammar::ast::LiteralKind::Text(t) => {
                        u64::from(self.exprs.interner.intern(&t.value))
                    }
                    grammar::ast::LiteralKind::Bool(b) => u64::from(*b),
                    grammar::ast::LiteralKind::Name(n) => {
                        self.exprs.stages.code(&n.name).unwrap_or(0)
                    }
                    grammar::ast::LiteralKind::List(_) => 0,
                };
                record.words[slot] = w; // a default is not "set"
            }
        }
        let id_sym = self.exprs.interner.intern(id);
        let scores = self.exprs.scores.len();
        let lead = Lead {
            id: id_sym,
            record,
            score_parts: vec![ScoreParts::default(); scores].into(),
            score_value: vec![0.0; scores].into(),
            prev: vec![None; self.prev_len()].into(),
            handoff_tasks: vec![HandoffTasks::default(); self.p.handoffs.len()].into(),
            journeys: vec![None; self.p.journeys.len()].into(),
            last_entry: vec![NEVER; self.p.journeys.len()].into(),
            entries: 0,
            history: LeadHistory::default(),
            sent_at: ThinVec::new(),
            stage_cause: self.shared_text("the lead's creation".to_owned()),
            left_entries: ThinVec::new(),
            dirty: true,
        };
        self.index
            .insert(&self.leads, &self.exprs.interner, id_sym, self.leads.len());
        self.leads.push(lead);
        let i = self.leads.len() - 1;
        let second_stage = self.exprs.stages.codes.get(1).copied().unwrap_or(0);
        for (field, w) in [
            ("id", u64::from(id_sym)),
            ("created_at", self.clock.now as u64),
            ("last_activity_at", self.clock.now as u64),
            ("stage", second_stage),
        ] {
            if let Some(s) = self.slot(field) {
                self.write_field(i, s, w);
            }
        }
        for (name, v) in fields {
            self.assign_input(i, name, v);
        }
        self.line(i, Entry::LeadCreated);
        i
    }

    pub(super) fn assign_input(&mut self, lead: usize, name: &str, v: &InputValue) {
        if let InputValue::Tags(tags) = v {
            let syms: compiler::eval::TagSet =
                tags.iter().map(|t| self.exprs.interner.intern(t)).collect();
            self.leads[lead].record.tags = syms;
            self.leads[lead].dirty = true;
            if let Some(s) = self.slot("tags") {
                self.write_field(lead, s, 0);
            }
            return;
        }
        let w = self.word_of(v);
        if let Some(s) = self.slot(name) {
            self.write_field(lead, s, w);
        }
    }

    pub(super) fn update(&mut self, lead: usize, fields: &[(String, InputValue)]) -> Vec<Raised> {
        self.acting.cause = "an update input".into();
        let stage_slot = self.slot("stage");
        let before_stage = stage_slot.map(|s| self.leads[lead].record.words[s]);
        let mut changed = Vec::new();
        for (name, v) in fields {
            let Some(slot) = self.slot(name) else {
                continue;
            };
            let before = self.field_value(lead, slot);
            let was_set = self.leads[lead].record.is_set(slot);
            self.assign_input(lead, name, v);
            let after = self.field_value(lead, slot);
            if before != after || !was_set {
                changed.push((name.clone(), after));
            }
        }
        let mut raised = Vec::new();
        if !changed.is_empty() {
            self.line(lead, Entry::LeadUpdated { fields: changed });
            raised.push(self.raise(lead, "lead_updated", Vec::new()));
        }
        if let (Some(s), Some(before)) = (stage_slot, before_stage) {
            let after = self.leads[lead].record.words[s];
            if after != before {
                raised.push(self.stage_changed(lead, before, after));
            }
        }
        raised
    }

    pub(super) fn event_record(
        &mut self,
        name: &str,
        props: &[(String, InputValue)],
    ) -> EventRecord {
        let id = self.exprs.layout.event(name).unwrap_or(0);
        let mut rec = EventRecord::new(&self.exprs, id, self.clock.now);
        for (k, v) in props {
            if let Some((i, _)) = self.exprs.layout.event_prop(id, k) {
                let w = self.word_of(v);
                rec.set_word(i, w);
            }
        }
        rec
    }

    pub(super) fn outside_event(
        &mut self,
        lead: usize,
        name: &str,
        props: &[(String, InputValue)],
    ) -> Raised {
        let record = self.event_record(name, props);
        let shown: Vec<(String, FieldValue)> = props.to_vec();
        self.line(
            lead,
            Entry::Event {
                event: name.to_owned(),
                props: shown,
            },
        );
        // Flags and engagement.
        let template = props
            .iter()
            .find(|(k, _)| k == "template")
            .and_then(|(_, v)| match v {
                InputValue::Text(t) => Some(t.clone()),
                _ => None,
            });
        match name {
            "unsubscribed" | "resubscribed" => {
                if let Some(s) = self.slot("unsubscribed") {
                    self.write_field(lead, s, u64::from(name == "unsubscribed"));
                }
            }
            "email_bounced" => {
                if let Some(s) = self.slot("bounced") {
                    self.write_field(lead, s, 1);
                }
            }
            _ => {}
        }
        if let Some(t) = template {
            match name {
                "email_opened" => {
                    let t = self.shared_text(t);
                    let h = &mut self.leads[lead].history;
                    if !h.opened.contains(&t) {
                        push_exact(&mut h.opened, t);
                    }
                }
                "email_clicked" => {
                    let t = self.shared_text(t);
                    let h = &mut self.leads[lead].history;
                    if !h.opened.contains(&t) {
                        push_exact(&mut h.opened, t.clone());
                    }
                    if !h.clicked.contains(&t) {
                        push_exact(&mut h.clicked, t);
                    }
                }
                _ => {}
            }
        }
        if !matches!(name, "email_bounced" | "unsubscribed" | "resubscribed") {
            if let Some(s) = self.slot("last_activity_at") {
                let now = self.clock.now as u64;
                self.write_field(lead, s, now);
            }
        }
        if self.counting.counted.contains(&record.event) {
            self.record_history(lead, &record);
        }
        self.add_event_points(lead, name, &record);
        let seq = self.next_seq();
        Raised {
            record,
            name: name.to_owned(),
            seq,
            outside: true,
        }
    }

    /// Keeps what the program's counts need of an event: its instant for each count that
    /// matches it (when every count of the event reads only the event), else the event.
    pub(super) fn record_history(&mut self, lead: usize, record: &EventRecord) {
        if self.counting.kept_whole.contains(&record.event) {
            push_exact(&mut self.leads[lead].history.events, record.clone());
        }
        let Some(sites) = self.counting.precounted.get(&record.event).cloned() else {
            return;
        };
        for site in sites {
            let hit = match site {
                CountSite::Event(_) => true,
                CountSite::Filter(f) => self.holds(lead, f, Some(record)),
            };
            if !hit {
                continue;
            }
            let hits = &mut self.leads[lead].history.hits;
            match hits.iter_mut().find(|(s, _)| *s == site) {
                // Kept ascending even if an input arrives with an earlier instant.
                Some((_, at)) => {
                    let i = at.partition_point(|&t| t <= record.at);
                    if at.len() == at.capacity() {
                        at.reserve_exact(1);
                    }
                    at.insert(i, record.at);
                }
                None => push_exact(hits, (site, thin_vec::thin_vec![record.at])),
            }
        }
    }

    /// Raises a runtime event: writes nothing (its own line is written by the caller), records it.
    pub(super) fn raise(
        &mut self,
        lead: usize,
        name: &str,
        props: Vec<(String, InputValue)>,
    ) -> Raised {
        let record = self.event_record(name, &props);
        if self.counting.counted.contains(&record.event) {
            self.record_history(lead, &record);
        }
        let seq = self.next_seq();
        Raised {
            record,
            name: name.to_owned(),
            seq,
            outside: false,
        }
    }

    pub(super) fn stage_changed(&mut self, lead: usize, from: u64, to: u64) -> Raised {
        let cause = std::mem::take(&mut self.acting.cause);
        self.leads[lead].stage_cause = self.shared_text(cause);
        let (f, t) = (
            self.exprs.stages.name(from).to_owned(),
            self.exprs.stages.name(to).to_owned(),
        );
        self.line(
            lead,
            Entry::StageChanged {
                from: f.clone(),
                to: t.clone(),
            },
        );
        self.raise(
            lead,
            "stage_changed",
            vec![
                ("from".into(), InputValue::Stage(f)),
                ("to".into(), InputValue::Stage(t)),
            ],
        )
    }
}
