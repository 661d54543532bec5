//! The dashboard's figures as data: what one engine counted (funnel, journeys, email, handoff, recent activity, the journeys' live step counts), without the per-lead marks it counted them from; figures of several partitions add up to the figures of all their leads, and the summary the API serves is made from figures alone.
//!
//! Sums saturate: figures read from the database never overflow a counter.
//!
//! A single node makes its summary from its own figures. In a cluster each partition's
//! engine publishes its figures now and then (see `cluster/board.rs`) and any worker
//! adds up the newest of every partition: the same summary, whoever answers, and no
//! store scan on a page load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{day_text, Day, EmailCounts, RECENT};

/// Leads now at each step of a journey and how often each step ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepCounts {
    /// Leads waiting at each step (indexed like the diagram's boxes).
    pub waiting: Vec<u64>,
    /// Runs of each step that ran at least once, by box index.
    pub visits: BTreeMap<usize, u64>,
}

impl StepCounts {
    fn add(&mut self, other: &StepCounts) {
        if self.waiting.len() < other.waiting.len() {
            self.waiting.resize(other.waiting.len(), 0);
        }
        for (w, o) in self.waiting.iter_mut().zip(&other.waiting) {
            *w = w.saturating_add(*o);
        }
        for (k, v) in &other.visits {
            let slot = self.visits.entry(*k).or_insert(0);
            *slot = slot.saturating_add(*v);
        }
    }
}

/// Everything a summary is made of. Stages and sources are named (not numbered), so
/// figures counted under different program versions still add up by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The program version these were counted under (the newest wins a merge's stages).
    pub program_version: u32,
    /// Every stage, the funnel's first.
    pub stages: Vec<String>,
    pub funnel_len: usize,
    /// Leads at each stage now, by stage name.
    pub current: BTreeMap<String, u64>,
    /// (day, stage, source, journey) → leads that entered the stage that day.
    pub reached: Vec<((Day, String, String, String), u64)>,
    /// journey → entered, completed, exited, goal.
    pub journeys: BTreeMap<String, [u64; 4]>,
    /// template → sent, opened, clicked, bounced, suppressed.
    pub email: BTreeMap<String, EmailCounts>,
    /// (team, assignee) → open, accepted (or completed), rejected, open and escalated.
    pub reps: Vec<((String, String), [u64; 4])>,
    /// team → seconds from creation to acceptance of each accepted task.
    pub accept_secs: BTreeMap<String, Vec<i64>>,
    /// (reason, source, journey) → rejections.
    pub reasons: Vec<((String, String, String), u64)>,
    /// The newest activity items, newest first.
    pub recent: Vec<Value>,
    /// Journey → its steps' live counts.
    pub steps: BTreeMap<String, StepCounts>,
    /// Emails not sent because their template failed to render.
    pub render_failures: u64,
    /// Why the program folder was refused while an older version runs (`null`: it was not).
    pub program_refused: Value,
    /// Bumped by every batch of lines the figures took in (summed by a merge).
    pub version: u64,
}

/// Adds `v` to the entry for `k` of a sorted list of pairs (merging small lists).
fn add_to<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &[(K, u64)]) {
    for (k, v) in from {
        let slot = into.entry(k.clone()).or_insert(0);
        *slot = slot.saturating_add(*v);
    }
}

impl Figures {
    /// The figures of all the leads of `parts` (each counted by one partition).
    pub fn merge(parts: &[Figures]) -> Figures {
        let mut out = Figures::default();
        if let Some(newest) = parts.iter().max_by_key(|f| f.program_version) {
            out.program_version = newest.program_version;
            out.stages = newest.stages.clone();
            out.funnel_len = newest.funnel_len;
        }
        let mut reached = BTreeMap::new();
        let mut reps = BTreeMap::new();
        let mut reasons = BTreeMap::new();
        let mut recent: Vec<Value> = Vec::new();
        for f in parts {
            for (stage, n) in &f.current {
                let slot = out.current.entry(stage.clone()).or_insert(0);
                *slot = slot.saturating_add(*n);
            }
            add_to(&mut reached, &f.reached);
            for (j, c) in &f.journeys {
                let slot = out.journeys.entry(j.clone()).or_insert([0; 4]);
                for (s, v) in slot.iter_mut().zip(c) {
                    *s = s.saturating_add(*v);
                }
            }
            for (t, c) in &f.email {
                let slot = out.email.entry(t.clone()).or_insert([0; 5]);
                for (s, v) in slot.iter_mut().zip(c) {
                    *s = s.saturating_add(*v);
                }
            }
            for (k, c) in &f.reps {
                let slot = reps.entry(k.clone()).or_insert([0u64; 4]);
                for (s, v) in slot.iter_mut().zip(c) {
                    *s = s.saturating_add(*v);
                }
            }
            for (team, secs) in &f.accept_secs {
                out.accept_secs
                    .entry(team.clone())
                    .or_default()
                    .extend(secs);
            }
            add_to(&mut reasons, &f.reasons);
            recent.extend(f.recent.iter().cloned());
            for (j, s) in &f.steps {
                out.steps.entry(j.clone()).or_default().add(s);
            }
            out.render_failures = out.render_failures.saturating_add(f.render_failures);
            if out.program_refused.is_null() {
                out.program_refused = f.program_refused.clone();
            }
            out.version = out.version.saturating_add(f.version);
        }
        out.reached = reached.into_iter().collect();
        out.reps = reps.into_iter().collect();
        out.reasons = reasons.into_iter().collect();
        // Newest first: instants are written alike (`2026-01-05T10:00:00+07:00`), so
        // their texts sort as the instants do.
        let at = |v: &Value| v.get("at").and_then(Value::as_str).unwrap_or("").to_owned();
        recent.sort_by_key(|v| std::cmp::Reverse(at(v)));
        recent.truncate(RECENT);
        out.recent = recent;
        out
    }

    /// The summary for days `from..=to` (`yyyymmdd`); `journey_names` lists the
    /// program's journeys (those no lead entered yet show with zeros). A journey's
    /// `active` count is its entries minus its exits, so no lead is scanned.
    pub fn summary(&self, from: Day, to: Day, journey_names: &[String]) -> Value {
        let n = self.stages.len();
        let stage_of = |name: &str| self.stages.iter().position(|s| s == name);
        let mut reached = vec![0u64; n];
        let mut by_source: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        let mut by_journey: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for ((day, stage, source, journey), count) in &self.reached {
            let Some(stage) = stage_of(stage) else {
                continue;
            };
            if *day < from || *day > to {
                continue;
            }
            reached[stage] = reached[stage].saturating_add(*count);
            let s = &mut by_source.entry(source).or_insert_with(|| vec![0; n])[stage];
            *s = s.saturating_add(*count);
            let j = &mut by_journey.entry(journey).or_insert_with(|| vec![0; n])[stage];
            *j = j.saturating_add(*count);
        }
        let per_stage = |values: &[u64]| -> Map<String, Value> {
            self.stages
                .iter()
                .zip(values)
                .map(|(s, v)| (s.clone(), json!(v)))
                .collect()
        };
        let split = |m: BTreeMap<&str, Vec<u64>>| -> Vec<Value> {
            m.into_iter()
                .map(|(k, v)| json!({ "key": k, "reached": per_stage(&v) }))
                .collect()
        };
        let funnel_len = self.funnel_len.min(n);
        let conversion: Vec<Value> = (1..funnel_len)
            .map(|i| {
                let rate = (reached[i - 1] > 0).then(|| reached[i] as f64 / reached[i - 1] as f64);
                json!({ "from": self.stages[i - 1], "to": self.stages[i], "rate": rate })
            })
            .collect();
        let current: Vec<u64> = self
            .stages
            .iter()
            .map(|s| self.current.get(s).copied().unwrap_or(0))
            .collect();
        let mut names: Vec<&String> = self.journeys.keys().collect();
        for name in journey_names {
            if !self.journeys.contains_key(name) {
                names.push(name);
            }
        }
        names.sort();
        let journeys: Vec<Value> = names
            .into_iter()
            .map(|name| {
                let c = self.journeys.get(name).copied().unwrap_or([0; 4]);
                json!({
                    "name": name, "active": c[0].saturating_sub(c[1].saturating_add(c[2]).saturating_add(c[3])),
                    "entered": c[0], "completed": c[1], "exited": c[2], "goal": c[3],
                })
            })
            .collect();
        let email: Vec<Value> = self
            .email
            .iter()
            .map(|(t, c)| {
                json!({ "template": t, "sent": c[0], "opened": c[1], "clicked": c[2], "bounced": c[3], "suppressed": c[4] })
            })
            .collect();
        let reps: Vec<Value> = self
            .reps
            .iter()
            .map(|((team, assignee), r)| {
                json!({ "team": team, "assignee": assignee, "open": r[0], "accepted": r[1], "rejected": r[2], "overdue": r[3] })
            })
            .collect();
        let median: Map<String, Value> = self
            .accept_secs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(team, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                (team.clone(), json!(v[v.len() / 2]))
            })
            .collect();
        let reasons: Vec<Value> = self
            .reasons
            .iter()
            .map(|((reason, source, journey), count)| {
                json!({ "reason": reason, "source": source, "journey": journey, "count": count })
            })
            .collect();
        json!({
            "version": self.version,
            "period": { "from": day_text(from), "to": day_text(to) },
            "funnel": {
                "stages": self.stages[..funnel_len],
                "current": per_stage(&current),
                "reached": per_stage(&reached),
                "conversion": conversion,
                "by_source": split(by_source),
                "by_journey": split(by_journey),
            },
            "journeys": journeys,
            "email": email,
            "handoff": { "reps": reps, "median_accept_seconds": median, "reasons": reasons },
            "recent": self.recent,
        })
    }
}

/// The period of a summary: `from` and `to` as given (`yyyy-mm-dd`), by default the 30
/// days up to today in the program's time zone.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    now: i64,
    tz: &jiff::tz::TimeZone,
) -> Result<(Day, Day), String> {
    let day = |s: Option<&str>, name: &str| -> Result<Option<Day>, String> {
        match s {
            None | Some("") => Ok(None),
            Some(s) => super::parse_day(s)
                .map(Some)
                .ok_or_else(|| format!("`{name}` must be a date like 2026-01-31, not `{s}`")),
        }
    };
    let to_day = day(to, "to")?.unwrap_or_else(|| super::day_of(now, tz));
    let from_day = match day(from, "from")? {
        Some(d) => d,
        None => super::days_before(to_day, 29)
            .ok_or("the default period would start before the calendar's first day")?,
    };
    if from_day > to_day {
        return Err("`from` is after `to`".into());
    }
    Ok((from_day, to_day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(stage: &str, n: u64, at: &str) -> Figures {
        Figures {
            program_version: 1,
            stages: vec!["lead".into(), "mql".into()],
            funnel_len: 2,
            current: BTreeMap::from([(stage.to_owned(), n)]),
            reached: vec![(
                (20260105, stage.to_owned(), String::new(), String::new()),
                n,
            )],
            journeys: BTreeMap::from([("welcome".to_owned(), [n, 0, 0, 0])]),
            reps: vec![(("sales".into(), "an".into()), [n, 0, 0, 0])],
            accept_secs: BTreeMap::from([("sales".to_owned(), vec![n as i64])]),
            recent: vec![json!({ "at": at, "text": stage })],
            steps: BTreeMap::from([(
                "welcome".to_owned(),
                StepCounts {
                    waiting: vec![n, 1],
                    visits: BTreeMap::from([(0, n)]),
                },
            )]),
            version: 3,
            ..Figures::default()
        }
    }

    #[test]
    fn figures_of_partitions_add_up_by_name() {
        let a = part("lead", 2, "2026-01-05T10:00:00+07:00");
        let b = part("mql", 5, "2026-01-05T11:00:00+07:00");
        let m = Figures::merge(&[a.clone(), b]);
        assert_eq!(m.current.get("lead"), Some(&2));
        assert_eq!(m.current.get("mql"), Some(&5));
        assert_eq!(m.journeys["welcome"], [7, 0, 0, 0]);
        assert_eq!(m.reps, vec![(("sales".into(), "an".into()), [7, 0, 0, 0])]);
        assert_eq!(m.accept_secs["sales"], vec![2, 5]);
        assert_eq!(m.steps["welcome"].waiting, vec![7, 2]);
        assert_eq!(m.steps["welcome"].visits[&0], 7);
        assert_eq!(m.version, 6);
        // Newest activity first across partitions.
        assert_eq!(m.recent[0]["text"], "mql");
        let s = m.summary(20260101, 20260131, &[]);
        assert_eq!(s["funnel"]["reached"]["lead"], 2);
        assert_eq!(s["funnel"]["reached"]["mql"], 5);
        // One partition alone is its own sum.
        assert_eq!(Figures::merge(std::slice::from_ref(&a)), a);
    }

    #[test]
    fn a_period_is_checked() {
        let tz = jiff::tz::TimeZone::UTC;
        assert!(period(Some("2026-02-01"), Some("2026-01-01"), 0, &tz).is_err());
        assert!(period(Some("yesterday"), None, 0, &tz).is_err());
        assert_eq!(
            period(Some("2026-01-01"), Some("2026-01-31"), 0, &tz),
            Ok((20260101, 20260131))
        );
    }
}
