//! `tandem backtest`: two timelines of the same recorded inputs — under the program that ran and under a new one — summed up side by side, the leads whose story differs, and "MQL" judged against what later happened to each lead.
//!
//! Pure: the caller replays the inputs (the store's log, on a virtual clock) and
//! hands every line to [`Side::add`]; [`Report::new`] compares two sides. Stage
//! names come from the program's funnel: the stage called `mql` is "MQL", the one
//! called `sql` and every funnel stage after it are "SQL or better", and a stage
//! outside the funnel (`disqualified`) is a known negative outcome.

use std::collections::BTreeMap;

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::Serialize;

use crate::timeline::{Entry, Line};

/// One program's timeline, summed up.
#[derive(Debug, Default)]
pub struct Side {
    /// Each lead's stage at the end.
    pub stage_now: BTreeMap<String, String>,
    /// Stage changes into each stage.
    pub reached: BTreeMap<String, u64>,
    /// Emails sent, by template.
    pub emails: BTreeMap<String, u64>,
    /// Tasks created, by team.
    pub tasks: BTreeMap<String, u64>,
    /// Tasks escalated (an SLA missed).
    pub escalations: u64,
    /// Journey entries, and exits by reason (`completed`, `exit`, `goal`).
    pub journeys: BTreeMap<String, JourneyCounts>,
    /// When each lead first reached each stage.
    first: FxHashMap<(String, String), i64>,
    /// A digest of each lead's lines in order: equal digests, the same story.
    digests: FxHashMap<String, u64>,
    /// The leads whose lines are kept (for their first difference); `None` keeps none.
    keep: Option<FxHashSet<String>>,
    /// Their lines.
    lines: FxHashMap<String, Vec<String>>,
    /// Only lines in this span (seconds, both ends included) are counted and compared;
    /// earlier ones still move stages (each lead's state and known outcome).
    window: Option<(i64, i64)>,
    /// A line's bytes, reused from line to line.
    buf: Vec<u8>,
    /// Lines in all.
    pub total_lines: u64,
    /// Run-time errors by code (`no_open_task`: an outcome for a task this program
    /// never created, …).
    pub errors: BTreeMap<String, u64>,
    /// Opens and clicks of an email made from a template this program had not sent the
    /// lead: recorded inputs it never caused.
    pub uncaused_engagement: u64,
    /// The templates each lead was sent, for the above.
    sent: FxHashMap<String, FxHashSet<String>>,
}

/// A journey's entries and exits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JourneyCounts {
    /// Entries.
    pub entered: u64,
    /// Exits at the end of the journey.
    pub completed: u64,
    /// Exits by an `exit when` (or the lead leaving otherwise).
    pub exited: u64,
    /// Exits by reaching the goal.
    pub goal: u64,
}

impl Side {
    /// A side that also keeps the lines of `leads` (a second pass over the same
    /// history, for the first difference of the leads a report lists: memory stays
    /// proportional to the leads, not to the lines).
    pub fn keeping(leads: FxHashSet<String>) -> Side {
        Side {
            keep: Some(leads),
            ..Side::default()
        }
    }

    /// Counts and compares only the lines from `from` to `until` (seconds, both
    /// included); the lines before still set each lead's stage and known outcome.
    pub fn within(mut self, from: i64, until: i64) -> Side {
        self.window = Some((from, until));
        self
    }

    /// Adds one timeline line.
    pub fn add(&mut self, line: &Line) {
        let Some(lead) = line.lead.as_deref() else {
            self.total_lines += 1;
            return;
        };
        // State first: every line moves it, inside the window or before it.
        match &line.entry {
            Entry::StageChanged { to, .. } => {
                match self.stage_now.get_mut(lead) {
                    Some(now) => now.clone_from(to),
                    None => {
                        self.stage_now.insert(lead.to_owned(), to.clone());
                    }
                }
                self.first
                    .entry((lead.to_owned(), to.clone()))
                    .or_insert(line.at);
            }
            Entry::LeadCreated => {
                self.stage_now.entry(lead.to_owned()).or_default();
            }
            Entry::EmailSent { template, .. } => match self.sent.get_mut(lead) {
                Some(sent) => {
                    sent.insert(template.clone());
                }
                None => {
                    self.sent
                        .insert(lead.to_owned(), std::iter::once(template.clone()).collect());
                }
            },
            _ => {}
        }
        if self
            .window
            .is_some_and(|(from, until)| line.at < from || line.at > until)
        {
            return;
        }
        self.total_lines += 1;
        self.buf.clear();
        if line.write_json(&mut self.buf).is_err() {
            self.buf.clear();
        }
        let mut h = FxHasher::default();
        self.buf.hash(&mut h);
        let step = h.finish();
        match self.digests.get_mut(lead) {
            Some(d) => *d = d.rotate_left(5) ^ step,
            None => {
                self.digests.insert(lead.to_owned(), step);
            }
        }
        if self.keep.as_ref().is_some_and(|k| k.contains(lead)) {
            let json = String::from_utf8_lossy(&self.buf).into_owned();
            self.lines.entry(lead.to_owned()).or_default().push(json);
        }
        match &line.entry {
            Entry::StageChanged { to, .. } => {
                *self.reached.entry(to.clone()).or_default() += 1;
            }
            Entry::EmailSent { template, .. } => {
                *self.emails.entry(template.clone()).or_default() += 1;
            }
            Entry::TaskCreated { team, .. } => *self.tasks.entry(team.clone()).or_default() += 1,
            Entry::TaskEscalated { .. } => self.escalations += 1,
            Entry::Error { code, .. } => *self.errors.entry(code.clone()).or_default() += 1,
            Entry::Event { event, props }
                if event == "email_opened" || event == "email_clicked" =>
            {
                let template = props.iter().find_map(|(k, v)| match v {
                    crate::timeline::FieldValue::Text(t) if k == "template" => Some(t.as_str()),
                    _ => None,
                });
                let sent = self.sent.get(lead);
                if template.is_some_and(|t| !sent.is_some_and(|s| s.contains(t))) {
                    self.uncaused_engagement += 1;
                }
            }
            Entry::JourneyEntered { journey } => {
                self.journeys.entry(journey.clone()).or_default().entered += 1
            }
            Entry::JourneyExited { journey, reason } => {
                let j = self.journeys.entry(journey.clone()).or_default();
                match reason.as_str() {
                    "completed" => j.completed += 1,
                    "goal" => j.goal += 1,
                    _ => j.exited += 1,
                }
            }
            _ => {}
        }
    }

    /// The leads whose stories differ between two sides, by id.
    pub fn differing(a: &Side, b: &Side) -> Vec<String> {
        let ids: std::collections::BTreeSet<&String> =
            a.digests.keys().chain(b.digests.keys()).collect();
        ids.into_iter()
            .filter(|id| a.digests.get(*id) != b.digests.get(*id))
            .cloned()
            .collect()
    }

    /// When the lead first reached any of `stages`.
    fn first_in(&self, lead: &str, stages: &[String]) -> Option<i64> {
        stages
            .iter()
            .filter_map(|s| self.first.get(&(lead.to_owned(), s.clone())).copied())
            .min()
    }
}

/// One figure on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// What is counted (`reached mql`, `emails ebook`, …).
    pub what: String,
    /// Under the program that ran.
    pub recorded: u64,
    /// Under the new program.
    pub new: u64,
}

/// A lead whose story differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadDelta {
    /// The lead's id.
    pub lead: String,
    /// Its stage at the end, as recorded.
    pub stage_recorded: String,
    /// Its stage at the end under the new program.
    pub stage_new: String,
    /// The first line that differs, as recorded (`None` when that side has no more).
    pub first_recorded: Option<String>,
    /// The same line under the new program.
    pub first_new: Option<String>,
}

/// "MQL" against later outcomes, for one side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Known leads this side made MQL (or pushed past it).
    pub made_mql: u64,
    /// Of those, how many became SQL or better.
    pub right: u64,
    /// `right / made_mql`; `None` when nothing was made MQL.
    pub precision: Option<f64>,
    /// `right / positives`; `None` when no lead became SQL or better.
    pub recall: Option<f64>,
    /// Median days from this side's MQL to the recorded SQL-or-better.
    pub median_days_early: Option<f64>,
}

/// Outcomes known from the recorded timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcomes {
    /// Leads that became SQL or better (positives) or left the funnel (negatives).
    pub known: u64,
    /// Of those, the ones that became SQL or better.
    pub positives: u64,
    /// The program that ran, scored.
    pub recorded: Scored,
    /// The new program, scored.
    pub new: Scored,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Every figure on both sides.
    pub rows: Vec<Row>,
    /// `None` when the funnel has no `mql` and `sql` stages.
    pub outcomes: Option<Outcomes>,
    /// How many leads' stories differ.
    pub leads_differing: u64,
    /// The first of them, by id.
    pub leads: Vec<LeadDelta>,
}

impl Report {
    /// Compares two sides; `funnel` is the program's funnel in order (outside stages
    /// not included), `outside` the stages outside it; `limit` leads are listed.
    pub fn new(
        recorded: &Side,
        new: &Side,
        funnel: &[String],
        outside: &[String],
        limit: usize,
    ) -> Report {
        let mut rows = Vec::new();
        // A lead created without a stage change stands in the funnel's first stage.
        let first = funnel.first().map(String::as_str).unwrap_or_default();
        let stage_of = |s: &str| -> String {
            if s.is_empty() {
                first.to_owned()
            } else {
                s.to_owned()
            }
        };
        let count_now = |side: &Side, stage: &str| {
            side.stage_now
                .values()
                .filter(|s| stage_of(s) == stage)
                .count() as u64
        };
        for stage in funnel.iter().chain(outside) {
            rows.push(Row {
                what: format!("leads now in {stage}"),
                recorded: count_now(recorded, stage),
                new: count_now(new, stage),
            });
        }
        let pairs = |what: &str,
                     a: &BTreeMap<String, u64>,
                     b: &BTreeMap<String, u64>,
                     rows: &mut Vec<Row>| {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                rows.push(Row {
                    what: format!("{what} {k}"),
                    recorded: a.get(k).copied().unwrap_or(0),
                    new: b.get(k).copied().unwrap_or(0),
                });
            }
        };
        pairs("reached", &recorded.reached, &new.reached, &mut rows);
        pairs("emails", &recorded.emails, &new.emails, &mut rows);
        pairs("tasks for", &recorded.tasks, &new.tasks, &mut rows);
        rows.push(Row {
            what: "SLA escalations".into(),
            recorded: recorded.escalations,
            new: new.escalations,
        });
        pairs("run-time errors", &recorded.errors, &new.errors, &mut rows);
        rows.push(Row {
            what: "opens and clicks of mail not sent".into(),
            recorded: recorded.uncaused_engagement,
            new: new.uncaused_engagement,
        });
        let journeys: std::collections::BTreeSet<&String> = recorded
            .journeys
            .keys()
            .chain(new.journeys.keys())
            .collect();
        for j in journeys {
            let (a, b) = (
                recorded.journeys.get(j).copied().unwrap_or_default(),
                new.journeys.get(j).copied().unwrap_or_default(),
            );
            for (what, x, y) in [
                ("entered", a.entered, b.entered),
                ("completed", a.completed, b.completed),
                ("exited", a.exited, b.exited),
                ("reached its goal", a.goal, b.goal),
            ] {
                rows.push(Row {
                    what: format!("journey {j} {what}"),
                    recorded: x,
                    new: y,
                });
            }
        }

        let outcomes = outcomes(recorded, new, funnel, outside);

        let ids = Side::differing(recorded, new);
        let differing = ids.len() as u64;
        let empty = Vec::new();
        let leads = ids
            .iter()
            .take(limit)
            .map(|id| {
                // The lines are there when the sides kept this lead's (a second pass).
                let (a, b) = (
                    recorded.lines.get(id).unwrap_or(&empty),
                    new.lines.get(id).unwrap_or(&empty),
                );
                let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                LeadDelta {
                    lead: id.clone(),
                    stage_recorded: stage_of(recorded.stage_now.get(id).map_or("", String::as_str)),
                    stage_new: stage_of(new.stage_now.get(id).map_or("", String::as_str)),
                    first_recorded: a.get(i).cloned(),
                    first_new: b.get(i).cloned(),
                }
            })
            .collect();
        Report {
            rows,
            outcomes,
            leads_differing: differing,
            leads,
        }
    }
}

fn outcomes(
    recorded: &Side,
    new: &Side,
    funnel: &[String],
    outside: &[String],
) -> Option<Outcomes> {
    let mql_at = funnel.iter().position(|s| s == "mql")?;
    let sql_at = funnel.iter().position(|s| s == "sql")?;
    let mql_or_later: Vec<String> = funnel[mql_at..].to_vec();
    let sql_or_later: Vec<String> = funnel[sql_at..].to_vec();
    // Known outcomes: what really happened to each lead.
    let mut known = Vec::new();
    for lead in recorded.stage_now.keys() {
        if let Some(at) = recorded.first_in(lead, &sql_or_later) {
            known.push((lead, Some(at)));
        } else if recorded
            .stage_now
            .get(lead)
            .is_some_and(|s| outside.contains(s))
        {
            known.push((lead, None));
        }
    }
    let positives = known.iter().filter(|(_, at)| at.is_some()).count() as u64;
    let score = |side: &Side| {
        let mut made = 0u64;
        let mut right = 0u64;
        let mut early = Vec::new();
        for (lead, outcome) in &known {
            let Some(mql) = side.first_in(lead, &mql_or_later) else {
                continue;
            };
            made += 1;
            if let Some(at) = outcome {
                right += 1;
                early.push(at.saturating_sub(mql) as f64 / 86_400.0);
            }
        }
        early.sort_by(f64::total_cmp);
        let median = match early.len() {
            0 => None,
            n if n % 2 == 1 => Some(early[n / 2]),
            n => Some((early[n / 2 - 1] + early[n / 2]) / 2.0),
        };
        Scored {
            made_mql: made,
            right,
            precision: (made > 0).then(|| right as f64 / made as f64),
            recall: (positives > 0).then(|| right as f64 / positives as f64),
            median_days_early: median,
        }
    };
    Some(Outcomes {
        known: known.len() as u64,
        positives,
        recorded: score(recorded),
        new: score(new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at: i64, lead: &str, entry: Entry) -> Line {
        Line {
            at,
            lead: Some(lead.into()),
            entry,
        }
    }

    fn stage(at: i64, lead: &str, from: &str, to: &str) -> Line {
        line(
            at,
            lead,
            Entry::StageChanged {
                from: from.into(),
                to: to.into(),
            },
        )
    }

    #[test]
    fn a_lower_threshold_makes_more_mqls_earlier_and_is_scored_by_outcomes() {
        let funnel: Vec<String> = ["lead", "mql", "sql"].map(String::from).to_vec();
        let outside = vec!["disqualified".to_owned()];
        let day = 86_400;
        let keep: FxHashSet<String> = ["a".to_owned()].into_iter().collect();
        let (mut rec, mut new) = (Side::keeping(keep.clone()), Side::keeping(keep));
        // `a` became SQL on day 10 (MQL on day 8 as recorded, day 2 under the new rules);
        // `b` was disqualified (the new rules made it MQL too); `c` stays a lead.
        for side in [&mut rec, &mut new] {
            for l in ["a", "b", "c"] {
                side.add(&line(0, l, Entry::LeadCreated));
                side.add(&stage(0, l, "", "lead"));
            }
        }
        rec.add(&stage(8 * day, "a", "lead", "mql"));
        new.add(&stage(2 * day, "a", "lead", "mql"));
        new.add(&stage(3 * day, "b", "lead", "mql"));
        for side in [&mut rec, &mut new] {
            side.add(&stage(10 * day, "a", "mql", "sql"));
        }
        rec.add(&stage(5 * day, "b", "lead", "disqualified"));
        new.add(&stage(5 * day, "b", "mql", "disqualified"));
        let r = Report::new(&rec, &new, &funnel, &outside, 10);
        let o = r.outcomes.expect("a funnel with mql and sql");
        assert_eq!((o.known, o.positives), (2, 1));
        assert_eq!((o.recorded.made_mql, o.recorded.right), (1, 1));
        assert_eq!((o.new.made_mql, o.new.right), (2, 1));
        assert_eq!(o.new.precision, Some(0.5));
        assert_eq!(o.recorded.median_days_early, Some(2.0));
        assert_eq!(o.new.median_days_early, Some(8.0));
        let reached_mql = r
            .rows
            .iter()
            .find(|row| row.what == "reached mql")
            .expect("row");
        assert_eq!((reached_mql.recorded, reached_mql.new), (1, 2));
        assert_eq!(r.leads_differing, 2);
        assert_eq!(r.leads[0].lead, "a");
        assert!(r.leads[0]
            .first_recorded
            .as_deref()
            .is_some_and(|l| l.contains("\"to\":\"mql\"")));
    }

    #[test]
    fn inputs_the_new_program_never_caused_are_counted() {
        let opened = |template: &str| Entry::Event {
            event: "email_opened".into(),
            props: vec![(
                "template".into(),
                crate::timeline::FieldValue::Text(template.into()),
            )],
        };
        let (mut rec, mut new) = (Side::default(), Side::default());
        rec.add(&line(
            0,
            "a",
            Entry::EmailSent {
                template: "ebook".into(),
                subject: "S".into(),
                journey: None,
            },
        ));
        for side in [&mut rec, &mut new] {
            side.add(&line(10, "a", opened("ebook")));
        }
        new.add(&line(
            20,
            "a",
            Entry::Error {
                code: "no_open_task".into(),
                message: "m".into(),
            },
        ));
        let r = Report::new(&rec, &new, &[], &[], 0);
        let row = |what: &str| {
            r.rows
                .iter()
                .find(|row| row.what == what)
                .map(|row| (row.recorded, row.new))
        };
        assert_eq!(row("opens and clicks of mail not sent"), Some((0, 1)));
        assert_eq!(row("run-time errors no_open_task"), Some((0, 1)));
        assert_eq!(row("emails ebook"), Some((1, 0)));
    }

    #[test]
    fn a_window_counts_only_its_lines_but_earlier_ones_set_the_state() {
        let day = 86_400;
        let mut side = Side::keeping(FxHashSet::default()).within(10 * day, 20 * day);
        side.add(&line(day, "an", Entry::LeadCreated));
        side.add(&stage(2 * day, "an", "lead", "mql"));
        side.add(&stage(12 * day, "an", "mql", "sql"));
        side.add(&line(3 * day, "bo", Entry::LeadCreated));
        side.add(&stage(4 * day, "bo", "lead", "mql"));
        // Reached in the window: one SQL; the MQLs were before it.
        assert_eq!(side.reached.get("sql"), Some(&1));
        assert_eq!(side.reached.get("mql"), None);
        // The state is the whole story's.
        assert_eq!(side.stage_now.get("bo").map(String::as_str), Some("mql"));
        assert_eq!(side.first_in("an", &["mql".to_owned()]), Some(2 * day));
        // `bo` had no line in the window: nothing to compare for it.
        assert!(!side.digests.contains_key("bo"));
        assert_eq!(side.total_lines, 1);
    }
}
