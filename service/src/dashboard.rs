//! The shared picture's numbers, kept up to date line by line: the funnel (leads per stage now, and stage entries per day split by source and journey), journeys, email per template, Sales tasks per team and rep with accept times and reject reasons, and recent activity. Fed every timeline line the engine produces (at start while replaying the log, then live), so a summary never scans the store.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use runtime::timeline::{format_instant, Entry, FieldValue, Line};
use rustc_hash::FxHashMap;
use serde_json::{json, Value};

mod email;
mod figures;
mod handoff;
mod saved;
mod trend;

pub use figures::{period, Figures, StepCounts};

/// A calendar day in the program's time zone as `yyyymmdd`.
pub type Day = i32;

/// A calendar date as a [`Day`].
pub(crate) fn day_of_date(d: jiff::civil::Date) -> Day {
    i32::from(d.year()) * 10_000 + i32::from(d.month()) * 100 + i32::from(d.day())
}

/// The day of an instant in a time zone.
pub fn day_of(at: i64, tz: &jiff::tz::TimeZone) -> Day {
    jiff::Timestamp::from_second(at)
        .map(|t| day_of_date(tz.to_datetime(t).date()))
        .unwrap_or(0)
}

/// `yyyymmdd` → `yyyy-mm-dd`.
pub fn day_text(d: Day) -> String {
    format!("{:04}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100)
}

/// `yyyy-mm-dd` → `yyyymmdd`.
pub fn parse_day(s: &str) -> Option<Day> {
    s.parse().ok().map(day_of_date)
}

/// A [`Day`] as a calendar date (`None` for one that is not a date).
pub(crate) fn date_of(d: Day) -> Option<jiff::civil::Date> {
    jiff::civil::Date::new(
        i16::try_from(d / 10_000).ok()?,
        i8::try_from(d / 100 % 100).ok()?,
        i8::try_from(d % 100).ok()?,
    )
    .ok()
}

/// The day `n` calendar days before `d` (`None` out of range).
pub fn days_before(d: Day, n: i32) -> Option<Day> {
    date_of(d)?
        .checked_sub(jiff::Span::new().days(n))
        .ok()
        .map(day_of_date)
}

/// How many recent timeline lines the summary shows.
const RECENT: usize = 20;

/// The parts of a summary a live update tells apart, in the order of [`Live::sections`]
/// (`steps`: the journeys' step counts, drawn on the diagrams).
pub const SECTIONS: [&str; 7] = [
    "funnel", "journeys", "email", "handoff", "recent", "trend", "steps",
];
const FUNNEL: u8 = 1;
const JOURNEYS: u8 = 1 << 1;
const EMAIL: u8 = 1 << 2;
const HANDOFF: u8 = 1 << 3;
const TREND: u8 = 1 << 5;
const STEPS: u8 = 1 << 6;

/// What the live stream announces: the dashboard's version and, per section of
/// [`SECTIONS`], the version it last changed at (a client re-fetches only those).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Live {
    pub version: u64,
    pub sections: [u64; SECTIONS.len()],
}

impl Live {
    /// Every section changed at `version` (what a picture without section versions says).
    pub fn all(version: u64) -> Live {
        Live {
            version,
            sections: [version; SECTIONS.len()],
        }
    }
}

/// The sections a line changes (besides `recent`, which every line does).
fn sections_of(entry: &Entry) -> u8 {
    match entry {
        Entry::LeadCreated | Entry::StageChanged { .. } => FUNNEL | TREND,
        Entry::LeadUpdated { .. } => FUNNEL,
        Entry::JourneyEntered { .. } | Entry::JourneyExited { .. } => JOURNEYS | FUNNEL | STEPS,
        Entry::EmailSent { .. } | Entry::EmailSuppressed { .. } => EMAIL | TREND | STEPS,
        Entry::Event { .. } => EMAIL | STEPS,
        Entry::TaskCreated { .. }
        | Entry::TaskEscalated { .. }
        | Entry::TaskReassigned { .. }
        | Entry::TaskAccepted { .. }
        | Entry::TaskRejected { .. }
        | Entry::TaskCompleted { .. } => HANDOFF | TREND,
        _ => STEPS,
    }
}

/// The aggregates behind `GET /api/dashboard/summary`.
pub struct Dashboard {
    tz: jiff::tz::TimeZone,
    /// Every stage: the funnel's first, in order, then the others.
    stages: Vec<String>,
    funnel_len: usize,
    /// Per lead, by the engine's lead index ([`LeadSource::index`]): its stage, source and
    /// journey (twelve bytes a lead: a million leads are held here too).
    marks: Vec<LeadMark>,
    current: Vec<u64>,
    /// Sources and journey names, each once; [`LeadMark`] refers to them by index
    /// (index 0 is the empty text: no source, no journey).
    names: Vec<Arc<str>>,
    name_index: FxHashMap<Arc<str>, u32>,
    /// (day, stage, source, journey) → leads that entered the stage that day.
    reached: FxHashMap<(Day, usize, Arc<str>, Arc<str>), u64>,
    /// journey → entered, completed, exited, goal since the start (a journey's leads now
    /// are its entries minus its exits).
    journeys: BTreeMap<String, [u64; 4]>,
    /// (day, journey) → the same, that day.
    journey_days: BTreeMap<(Day, String), [u64; 4]>,
    email: email::EmailBook,
    handoff: handoff::HandoffBook,
    recent: VecDeque<Value>,
    /// Bumped by every observed batch; the live stream sends it.
    pub version: u64,
    /// Per section of [`SECTIONS`], the version it last changed at.
    sections: [u64; SECTIONS.len()],
}

/// What the dashboard remembers of one lead (indexes into [`Dashboard::names`]).
#[derive(Debug, Clone, Copy)]
struct LeadMark {
    /// [`NO_STAGE`] until the lead's creation or a stage change is seen.
    stage: u32,
    source: u32,
    journey: u32,
}

const NO_STAGE: u32 = u32::MAX;

impl Default for LeadMark {
    fn default() -> LeadMark {
        LeadMark {
            stage: NO_STAGE,
            source: 0,
            journey: 0,
        }
    }
}

/// What the observer needs to know about a lead beyond the line itself.
pub trait LeadSource {
    /// The lead's index: small, dense and never reused (the engine's lead index, which a
    /// deploy keeps).
    fn index(&self, lead: &str) -> Option<usize>;
    /// The lead's `source` field now (`""` if the program has none or it is unset).
    fn source(&self, lead: &str) -> String;
    /// The lead's stage now (`None` for an unknown lead).
    fn stage(&self, lead: &str) -> Option<String>;
    /// The lead's `name` field now (`None` when the program has none or it is unset).
    fn name(&self, lead: &str) -> Option<String>;
}

impl Dashboard {
    /// An empty picture for a program with these stages (`funnel` of them in the funnel).
    pub fn new(tz: jiff::tz::TimeZone, stages: Vec<String>, funnel_len: usize) -> Dashboard {
        let n = stages.len();
        Dashboard {
            tz,
            stages,
            funnel_len,
            marks: Vec::new(),
            current: vec![0; n],
            names: vec![Arc::from("")],
            name_index: FxHashMap::from_iter([(Arc::from(""), 0)]),
            reached: FxHashMap::default(),
            journeys: BTreeMap::new(),
            journey_days: BTreeMap::new(),
            email: email::EmailBook::default(),
            handoff: handoff::HandoffBook::default(),
            recent: VecDeque::with_capacity(21),
            version: 0,
            sections: [0; SECTIONS.len()],
        }
    }

    /// The version and the sections' versions, for the live stream.
    pub fn live(&self) -> Live {
        Live {
            version: self.version,
            sections: self.sections,
        }
    }

    fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s == name)
    }

    /// The index of a source or journey name in `names`, added if new.
    fn name(&mut self, text: &str) -> u32 {
        if let Some(&i) = self.name_index.get(text) {
            return i;
        }
        let i = u32::try_from(self.names.len()).unwrap_or(0);
        let shared: Arc<str> = Arc::from(text);
        self.names.push(shared.clone());
        self.name_index.insert(shared, i);
        i
    }

    fn name_text(&self, i: u32) -> Arc<str> {
        self.names
            .get(i as usize)
            .or(self.names.first())
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }

    /// The lead's source and journey names.
    fn source_and_journey(&self, lead: Option<usize>) -> (Arc<str>, Arc<str>) {
        let mark = lead
            .and_then(|i| self.marks.get(i))
            .copied()
            .unwrap_or_default();
        (self.name_text(mark.source), self.name_text(mark.journey))
    }

    /// The lead's mark, made if new.
    fn mark(&mut self, lead: usize) -> &mut LeadMark {
        if self.marks.len() <= lead {
            self.marks.resize(lead + 1, LeadMark::default());
        }
        &mut self.marks[lead]
    }

    fn reach(&mut self, lead: Option<usize>, stage: usize, at: i64) {
        let day = day_of(at, &self.tz);
        let (source, journey) = self.source_and_journey(lead);
        *self
            .reached
            .entry((day, stage, source, journey))
            .or_insert(0) += 1;
    }

    /// One more journey entry (column 0) or exit (1 completed, 2 exited, 3 goal).
    fn count_journey(&mut self, journey: &str, column: usize, at: i64) {
        let day = day_of(at, &self.tz);
        for c in [
            self.journeys.entry(journey.to_owned()).or_insert([0; 4]),
            self.journey_days
                .entry((day, journey.to_owned()))
                .or_insert([0; 4]),
        ] {
            c[column] = c[column].saturating_add(1);
        }
    }

    /// Takes one batch of lines into account.
    pub fn observe(&mut self, lines: &[Line], leads: &dyn LeadSource) {
        if lines.is_empty() {
            return;
        }
        self.version += 1;
        let recent = SECTIONS.iter().position(|s| *s == "recent").unwrap_or(0);
        let mut touched = 1u8 << recent;
        for line in lines {
            touched |= sections_of(&line.entry);
        }
        for (i, v) in self.sections.iter_mut().enumerate() {
            if touched & (1 << i) != 0 {
                *v = self.version;
            }
        }
        for (i, line) in lines.iter().enumerate() {
            if matches!(line.entry, Entry::LeadCreated) {
                // The stage the lead was created in, as the engine set it (the second
                // funnel stage unless the creating data named one): the first stage
                // change of the same input says where it came from, else it is there now.
                let lead = line.lead.as_deref().unwrap_or("");
                let moved = lines[i + 1..].iter().find_map(|l| match &l.entry {
                    Entry::StageChanged { from, .. } if l.lead.as_deref() == Some(lead) => {
                        Some(from.clone())
                    }
                    _ => None,
                });
                let stage = moved.or_else(|| leads.stage(lead));
                self.created(line, stage.as_deref(), leads);
            } else {
                self.observe_line(line, leads);
            }
        }
        // Only the newest lines can stay among the recent ones: format just those.
        let newest = lines.len().saturating_sub(RECENT);
        for (i, line) in lines[newest..].iter().enumerate() {
            let name = line.lead.as_deref().and_then(|l| leads.name(l));
            // Increasing across batches and restarts (the version is kept in snapshots).
            let seq = self.version.saturating_mul(RECENT as u64 + 1) + i as u64;
            self.remember(line, name, seq);
        }
    }

    /// A lead created in `stage` (the engine's; `None`: not a stage the dashboard knows).
    fn created(&mut self, line: &Line, stage: Option<&str>, leads: &dyn LeadSource) {
        let Some(lead_id) = line.lead.as_deref() else {
            return;
        };
        let lead = leads.index(lead_id);
        let source = self.name(&leads.source(lead_id));
        let stage = stage.and_then(|s| self.stage_index(s));
        if let Some(i) = lead {
            *self.mark(i) = LeadMark {
                stage: stage
                    .and_then(|s| u32::try_from(s).ok())
                    .unwrap_or(NO_STAGE),
                source,
                journey: 0,
            };
        }
        if let Some(s) = stage {
            if let Some(c) = self.current.get_mut(s) {
                *c += 1;
            }
            self.reach(lead, s, line.at);
        }
    }

    fn observe_line(&mut self, line: &Line, leads: &dyn LeadSource) {
        let Some(lead_id) = line.lead.as_deref() else {
            return;
        };
        let lead = leads.index(lead_id);
        match &line.entry {
            Entry::LeadUpdated { fields } => {
                if let Some((_, FieldValue::Text(s))) = fields.iter().find(|(k, _)| k == "source") {
                    let source = self.name(s);
                    if let Some(i) = lead {
                        self.mark(i).source = source;
                    }
                }
            }
            Entry::StageChanged { to, .. } => {
                if let Some(to) = self.stage_index(to) {
                    let stage = u32::try_from(to).unwrap_or(0);
                    let from = lead.map(|i| std::mem::replace(&mut self.mark(i).stage, stage));
                    if let Some(c) = from
                        .filter(|&f| f != NO_STAGE)
                        .and_then(|f| self.current.get_mut(f as usize))
                    {
                        *c = c.saturating_sub(1);
                    }
                    if let Some(c) = self.current.get_mut(to) {
                        *c += 1;
                    }
                    self.reach(lead, to, line.at);
                }
            }
            Entry::JourneyEntered { journey } => {
                let name = self.name(journey);
                if let Some(i) = lead {
                    self.mark(i).journey = name;
                }
                self.count_journey(journey, 0, line.at);
            }
            Entry::JourneyExited { journey, reason } => {
                let column = match reason.as_str() {
                    "completed" => 1,
                    "goal" => 3,
                    _ => 2,
                };
                self.count_journey(journey, column, line.at);
            }
            Entry::EmailSent { template, .. } => {
                self.email.sent(day_of(line.at, &self.tz), lead, template)
            }
            Entry::EmailSuppressed { template, .. } => {
                self.email.suppressed(day_of(line.at, &self.tz), template)
            }
            Entry::Event { event, props } => {
                let what = match event.as_str() {
                    "email_opened" => Some(email::Reaction::Open),
                    "email_clicked" => Some(email::Reaction::Click),
                    "email_bounced" => Some(email::Reaction::Bounce),
                    _ => None,
                };
                let template = props.iter().find_map(|(k, v)| match v {
                    FieldValue::Text(t) if k == "template" => Some(t),
                    _ => None,
                });
                if let (Some(what), Some(t)) = (what, template) {
                    self.email
                        .reaction(day_of(line.at, &self.tz), lead, t, what);
                }
            }
            Entry::TaskCreated {
                task,
                team,
                assignee,
                ..
            } => self.handoff.created(task, team, assignee, line.at),
            Entry::TaskEscalated { task, .. } => self.handoff.escalated(task),
            Entry::TaskReassigned { task, to, .. } => self.handoff.reassigned(task, to),
            Entry::TaskAccepted { task, .. } => {
                self.handoff
                    .accepted(task, day_of(line.at, &self.tz), line.at)
            }
            Entry::TaskCompleted { task, .. } => self.handoff.completed(task),
            Entry::TaskRejected { task, reason, .. } => {
                let (source, journey) = self.source_and_journey(lead);
                self.handoff
                    .rejected(task, day_of(line.at, &self.tz), reason, &source, &journey);
            }
            _ => {}
        }
    }

    /// Keeps the line among the [`RECENT`] most recent (newest first).
    fn remember(&mut self, line: &Line, name: Option<String>, seq: u64) {
        let lead = line.lead.as_deref().unwrap_or("");
        let text = match &line.entry {
            Entry::Event { event, .. } => event.clone(),
            Entry::ScoreChanged { score, value } => format!("{score} = {value}"),
            Entry::StageChanged { from, to } => format!("{from} → {to}"),
            Entry::TagAdded { tag } | Entry::TagRemoved { tag } => tag.clone(),
            Entry::RuleFired { rule } => rule.clone(),
            Entry::JourneyEntered { journey } => journey.clone(),
            Entry::JourneyExited { journey, reason } => format!("{journey} ({reason})"),
            Entry::EmailSent { template, .. } | Entry::EmailDeferred { template, .. } => {
                template.clone()
            }
            Entry::EmailSuppressed {
                template, reason, ..
            } => format!("{template} ({reason})"),
            Entry::TaskCreated { task, assignee, .. } => format!("{task} → {assignee}"),
            Entry::TaskRejected { task, reason, .. } => format!("{task} ({reason})"),
            Entry::TaskEscalated { task, .. }
            | Entry::TaskReassigned { task, .. }
            | Entry::TaskAccepted { task, .. }
            | Entry::TaskCompleted { task, .. } => task.clone(),
            Entry::ReportSent { schedule, .. } => schedule.clone(),
            Entry::Error { message, .. } => message.clone(),
            _ => String::new(),
        };
        let kind = line.entry.kind();
        self.recent.push_front(json!({
            "seq": seq,
            "at": format_instant(line.at),
            "lead": if lead.is_empty() { Value::Null } else { Value::String(lead.to_owned()) },
            "name": name,
            "kind": kind,
            "text": text,
        }));
        self.recent.truncate(RECENT);
    }

    /// The figures counted so far (without the per-lead marks), to be summarised or
    /// published; the journeys' step counts and render failures are the engine's to add.
    pub fn figures(&self) -> Figures {
        let mut reached: BTreeMap<(Day, String, String, String), u64> = BTreeMap::new();
        for ((day, stage, source, journey), n) in &self.reached {
            let key = (
                *day,
                self.stages.get(*stage).cloned().unwrap_or_default(),
                source.to_string(),
                journey.to_string(),
            );
            *reached.entry(key).or_insert(0) += n;
        }
        Figures {
            program_version: 0,
            stages: self.stages.clone(),
            funnel_len: self.funnel_len,
            current: self
                .stages
                .iter()
                .cloned()
                .zip(self.current.iter().copied())
                .collect(),
            reached: reached.into_iter().collect(),
            journeys: self.journeys.clone(),
            journey_days: self
                .journey_days
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            email_days: self.email.days(),
            email_sent_opened: self.email.cohorts(),
            reps_now: self.handoff.reps_now(),
            decided: self.handoff.decided(),
            accept_secs: self.handoff.accept_secs(),
            reasons: self.handoff.reasons(),
            recent: self.recent.iter().cloned().collect(),
            steps: BTreeMap::new(),
            render_failures: 0,
            program_refused: Value::Null,
            version: self.version,
        }
    }

    /// The summary for days `from..=to` (`yyyymmdd`) of this dashboard's own figures
    /// (see [`Figures::summary`]).
    pub fn summary(&self, from: Day, to: Day, journey_names: &[String]) -> Value {
        self.figures().summary(from, to, journey_names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sources;
    impl LeadSource for Sources {
        fn index(&self, lead: &str) -> Option<usize> {
            ["a", "b", "an", "binh"].iter().position(|l| *l == lead)
        }
        fn source(&self, lead: &str) -> String {
            if lead == "an" {
                "ebook".into()
            } else {
                String::new()
            }
        }
        /// As the engine has them after the batch: `an` moved on to `mql`.
        fn stage(&self, lead: &str) -> Option<String> {
            Some(if lead == "an" { "mql" } else { "lead" }.into())
        }
        fn name(&self, lead: &str) -> Option<String> {
            (lead == "an").then(|| "Nguyễn An".into())
        }
    }

    fn line(at: i64, lead: &str, entry: Entry) -> Line {
        Line {
            at,
            lead: Some(Arc::from(lead)),
            entry,
        }
    }

    #[test]
    fn the_funnel_counts_stages_now_and_entries_per_period_by_source_and_journey() {
        let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").expect("tz");
        let stages = ["subscriber", "lead", "mql"].map(String::from).to_vec();
        let mut d = Dashboard::new(tz, stages, 3);
        let t = 1_767_600_000; // 2026-01-05 in Hà Nội
        d.observe(
            &[
                line(t, "an", Entry::LeadCreated),
                line(t, "binh", Entry::LeadCreated),
                line(
                    t + 10,
                    "an",
                    Entry::JourneyEntered {
                        journey: "ebook".into(),
                    },
                ),
                line(
                    t + 20,
                    "an",
                    Entry::StageChanged {
                        from: "lead".into(),
                        to: "mql".into(),
                    },
                ),
                line(
                    t + 30,
                    "an",
                    Entry::EmailSent {
                        template: "hello".into(),
                        subject: "x".into(),
                        journey: None,
                    },
                ),
                line(
                    t + 40,
                    "an",
                    Entry::Event {
                        event: "email_opened".into(),
                        props: vec![("template".into(), FieldValue::Text("hello".into()))],
                    },
                ),
            ],
            &Sources,
        );
        let day = day_of(t, &d.tz);
        let s = d.summary(day, day, &[]);
        // A new lead stands where the engine created it (the second funnel stage), not
        // at the first: `an` was created in `lead` and moved on in the same input.
        assert_eq!(
            s["funnel"]["current"],
            json!({"subscriber": 0, "lead": 1, "mql": 1})
        );
        assert_eq!(
            s["funnel"]["reached"],
            json!({"subscriber": 0, "lead": 2, "mql": 1})
        );
        assert_eq!(s["funnel"]["conversion"][0]["rate"], Value::Null);
        assert_eq!(s["funnel"]["conversion"][1]["rate"], json!(0.5));
        let by_source = &s["funnel"]["by_source"];
        assert_eq!(
            by_source[1],
            json!({"key": "ebook", "reached": {"subscriber": 0, "lead": 1, "mql": 1}})
        );
        assert_eq!(s["funnel"]["by_journey"][1]["key"], "ebook");
        assert_eq!(
            s["email"][0],
            json!({"template": "hello", "sent": 1, "opened": 1, "clicked": 0, "bounced": 0, "suppressed": 0,
                   "opens": 1, "clicks": 0, "unattributed_opens": 0, "unattributed_clicks": 0,
                   "open_rate": 1.0, "click_rate": 0.0})
        );
        assert_eq!(s["recent"][0]["kind"], "event");
        assert_eq!(
            s["recent"][0]["name"], "Nguyễn An",
            "the feed names the lead"
        );
        assert_eq!(days_before(20260105, 29), Some(20251207));
        assert_eq!(days_before(20260301, 1), Some(20260228));
        let next_day = d.summary(day + 1, day + 1, &[]);
        assert_eq!(next_day["funnel"]["reached"]["lead"], 0);
    }

    #[test]
    fn a_batch_marks_the_sections_it_changed_with_the_new_version() {
        let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").expect("tz");
        let stages = ["subscriber", "lead", "mql"].map(String::from).to_vec();
        let mut d = Dashboard::new(tz, stages, 3);
        let at = |name: &str, live: Live| {
            live.sections[SECTIONS.iter().position(|s| *s == name).expect("section")]
        };
        d.observe(&[line(1, "an", Entry::LeadCreated)], &Sources);
        let first = d.live();
        assert_eq!(first.version, 1);
        for name in ["funnel", "trend", "recent"] {
            assert_eq!(at(name, first), 1, "{name}");
        }
        for name in ["email", "handoff", "journeys"] {
            assert_eq!(at(name, first), 0, "{name}");
        }
        d.observe(
            &[line(
                2,
                "an",
                Entry::TaskCreated {
                    handoff: "h".into(),
                    task: "an:h:1".into(),
                    team: "crew".into(),
                    assignee: "rep".into(),
                },
            )],
            &Sources,
        );
        let second = d.live();
        assert_eq!((at("handoff", second), at("recent", second)), (2, 2));
        assert_eq!((at("funnel", second), at("email", second)), (1, 0));
        // Recent lines are numbered upwards across batches (a page asks for newer ones).
        let s = d.summary(0, 99_999_999, &[]);
        let seqs: Vec<u64> = s["recent"]
            .as_array()
            .expect("recent")
            .iter()
            .filter_map(|r| r["seq"].as_u64())
            .collect();
        assert_eq!(seqs.len(), 2);
        assert!(seqs[0] > seqs[1], "newest first: {seqs:?}");
    }

    #[test]
    fn tasks_count_per_rep_with_overdue_accept_times_and_reasons() {
        let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").expect("tz");
        let mut d = Dashboard::new(tz, vec!["lead".into()], 1);
        let created = |task: &str| Entry::TaskCreated {
            handoff: "h".into(),
            task: task.into(),
            team: "hcm".into(),
            assignee: "an@x.vn".into(),
        };
        d.observe(
            &[
                line(0, "a", Entry::LeadCreated),
                line(0, "a", created("a:h:1")),
                line(0, "b", created("b:h:1")),
                line(0, "c", created("c:h:1")),
                line(
                    600,
                    "a",
                    Entry::TaskAccepted {
                        handoff: "h".into(),
                        task: "a:h:1".into(),
                        by: "an@x.vn".into(),
                    },
                ),
                line(
                    700,
                    "b",
                    Entry::TaskRejected {
                        handoff: "h".into(),
                        task: "b:h:1".into(),
                        by: "an@x.vn".into(),
                        reason: "no_budget".into(),
                    },
                ),
                line(
                    900,
                    "c",
                    Entry::TaskEscalated {
                        handoff: "h".into(),
                        task: "c:h:1".into(),
                        to: "boss@x.vn".into(),
                    },
                ),
            ],
            &Sources,
        );
        let s = d.summary(0, 99_999_999, &[]);
        assert_eq!(
            s["handoff"]["reps"][0],
            json!({"team": "hcm", "assignee": "an@x.vn", "open": 1, "accepted": 1, "rejected": 1, "overdue": 1})
        );
        assert_eq!(s["handoff"]["median_accept_seconds"]["hcm"], 600);
        assert_eq!(s["handoff"]["reasons"][0]["reason"], "no_budget");
        assert_eq!(d.version, 1);
    }
}
