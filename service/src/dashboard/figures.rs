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

use super::email::{self, DayCounts, SentOpened};
use super::{day_text, Day, RECENT};

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
        add_counts(&mut self.waiting, &other.waiting);
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
    /// journey → entered, completed, exited, goal since the start.
    pub journeys: BTreeMap<String, [u64; 4]>,
    /// (day, journey) → the same, that day.
    pub journey_days: Vec<((Day, String), [u64; 4])>,
    /// (day, template) → sent, opens, clicks, bounced, suppressed, unattributed opens and
    /// clicks that day (see `dashboard/email.rs`).
    pub email_days: Vec<((Day, String), DayCounts)>,
    /// (send day, template) → of the emails sent that day, opened and clicked.
    pub email_sent_opened: Vec<((Day, String), SentOpened)>,
    /// (team, assignee) → open now, open and escalated now.
    pub reps_now: Vec<((String, String), [u64; 2])>,
    /// (day, team, assignee) → accepted, rejected that day.
    pub decided: Vec<((Day, String, String), [u64; 2])>,
    /// (accept day, team) → seconds from creation to acceptance of each accepted task.
    pub accept_secs: Vec<((Day, String), Vec<i64>)>,
    /// (day, reason, source, journey) → rejections.
    pub reasons: Vec<((Day, String, String, String), u64)>,
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

/// Adds counters place by place (saturating).
fn add_counts(into: &mut [u64], from: &[u64]) {
    for (s, v) in into.iter_mut().zip(from) {
        *s = s.saturating_add(*v);
    }
}

/// Adds arrays of counters key by key.
fn add_each<'a, K: Ord + Clone + 'a, const N: usize>(
    into: &mut BTreeMap<K, [u64; N]>,
    from: impl Iterator<Item = (&'a K, &'a [u64; N])>,
) {
    for (k, c) in from {
        let slot = into.entry(k.clone()).or_insert([0; N]);
        add_counts(slot, c);
    }
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
        let mut journey_days = BTreeMap::new();
        let mut email_days = BTreeMap::new();
        let mut sent_opened = BTreeMap::new();
        let mut reps_now = BTreeMap::new();
        let mut decided = BTreeMap::new();
        let mut accept_secs: BTreeMap<(Day, String), Vec<i64>> = BTreeMap::new();
        let mut reasons = BTreeMap::new();
        let mut recent: Vec<Value> = Vec::new();
        for f in parts {
            for (stage, n) in &f.current {
                let slot = out.current.entry(stage.clone()).or_insert(0);
                *slot = slot.saturating_add(*n);
            }
            add_to(&mut reached, &f.reached);
            add_each(&mut out.journeys, f.journeys.iter());
            add_each(
                &mut journey_days,
                f.journey_days.iter().map(|(k, v)| (k, v)),
            );
            add_each(&mut email_days, f.email_days.iter().map(|(k, v)| (k, v)));
            add_each(
                &mut sent_opened,
                f.email_sent_opened.iter().map(|(k, v)| (k, v)),
            );
            add_each(&mut reps_now, f.reps_now.iter().map(|(k, v)| (k, v)));
            add_each(&mut decided, f.decided.iter().map(|(k, v)| (k, v)));
            for (k, secs) in &f.accept_secs {
                accept_secs.entry(k.clone()).or_default().extend(secs);
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
        out.journey_days = journey_days.into_iter().collect();
        out.email_days = email_days.into_iter().collect();
        out.email_sent_opened = sent_opened.into_iter().collect();
        out.reps_now = reps_now.into_iter().collect();
        out.decided = decided.into_iter().collect();
        out.accept_secs = accept_secs.into_iter().collect();
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
        let within = |d: &Day| (from..=to).contains(d);
        // Journeys: entries and exits in the period; `active` is the leads in it now.
        let mut in_period: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
        for ((d, j), c) in &self.journey_days {
            if within(d) {
                let slot = in_period.entry(j).or_insert([0; 4]);
                add_counts(slot, c);
            }
        }
        let mut names: Vec<&str> = self.journeys.keys().map(String::as_str).collect();
        for name in journey_names {
            if !self.journeys.contains_key(name) {
                names.push(name);
            }
        }
        names.sort_unstable();
        names.dedup();
        let journeys: Vec<Value> = names
            .into_iter()
            .map(|name| {
                let all = self.journeys.get(name).copied().unwrap_or([0; 4]);
                let c = in_period.get(name).copied().unwrap_or([0; 4]);
                json!({
                    "name": name,
                    "active": all[0].saturating_sub(all[1].saturating_add(all[2]).saturating_add(all[3])),
                    "entered": c[0], "completed": c[1], "exited": c[2], "goal": c[3],
                })
            })
            .collect();
        // Email: what happened in the period; `opened` and `clicked` are the emails sent
        // in the period that were opened or clicked at least once (so the rates are at most
        // 100 %), `opens` and `clicks` every such event in the period.
        let mut mail: BTreeMap<&str, ([u64; 7], [u64; 2])> = BTreeMap::new();
        for ((d, t), c) in &self.email_days {
            if within(d) {
                let slot = &mut mail.entry(t).or_default().0;
                add_counts(slot, c);
            }
        }
        for ((d, t), c) in &self.email_sent_opened {
            if within(d) {
                let slot = &mut mail.entry(t).or_default().1;
                add_counts(slot, c);
            }
        }
        let rate = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        let email: Vec<Value> = mail
            .iter()
            .map(|(t, (c, u))| {
                let sent = c[email::SENT];
                json!({
                    "template": t, "sent": sent, "opened": u[0], "clicked": u[1],
                    "bounced": c[email::BOUNCED], "suppressed": c[email::SUPPRESSED],
                    "opens": c[email::OPENS], "clicks": c[email::CLICKS],
                    "unattributed_opens": c[email::UNATTRIBUTED_OPENS],
                    "unattributed_clicks": c[email::UNATTRIBUTED_CLICKS],
                    "open_rate": rate(u[0], sent), "click_rate": rate(u[1], sent),
                })
            })
            .collect();
        // Handoff: tasks open (and overdue) now; accepted, rejected, time to accept and
        // reasons in the period.
        let mut reps: BTreeMap<(&str, &str), [u64; 4]> = BTreeMap::new();
        for ((team, assignee), c) in &self.reps_now {
            let r = reps.entry((team, assignee)).or_insert([0; 4]);
            r[0] = r[0].saturating_add(c[0]);
            r[3] = r[3].saturating_add(c[1]);
        }
        for ((d, team, assignee), c) in &self.decided {
            if within(d) {
                let r = reps.entry((team, assignee)).or_insert([0; 4]);
                r[1] = r[1].saturating_add(c[0]);
                r[2] = r[2].saturating_add(c[1]);
            }
        }
        let reps: Vec<Value> = reps
            .into_iter()
            .map(|((team, assignee), r)| {
                json!({ "team": team, "assignee": assignee, "open": r[0], "accepted": r[1], "rejected": r[2], "overdue": r[3] })
            })
            .collect();
        let mut waits: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for ((d, team), secs) in &self.accept_secs {
            if within(d) {
                waits.entry(team).or_default().extend(secs);
            }
        }
        let median: Map<String, Value> = waits
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(team, mut v)| {
                v.sort_unstable();
                (team.to_owned(), json!(v[v.len() / 2]))
            })
            .collect();
        let mut why: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
        for ((d, reason, source, journey), n) in &self.reasons {
            if within(d) {
                let slot = why.entry((reason, source, journey)).or_insert(0);
                *slot = slot.saturating_add(*n);
            }
        }
        let reasons: Vec<Value> = why
            .into_iter()
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
            "trend": super::trend::trend(self, from, to),
        })
    }
}

/// The longest period a summary counts: ten years of days (the trend lists each day).
pub const MAX_PERIOD_DAYS: i32 = 3_660;

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
    // The figures are counted per day, and the trend compares with the period before:
    // both must lie in the calendar Tandem counts (from 1970; days are written yyyymmdd),
    // ten years at most.
    if from_day < 19700101 || to_day > 99981231 {
        return Err("a period lies between 1970-01-01 and 9998-12-31".into());
    }
    let length = match (super::date_of(from_day), super::date_of(to_day)) {
        (Some(a), Some(b)) => a.until(b).map(|span| span.get_days()).unwrap_or(i32::MAX),
        _ => i32::MAX,
    };
    if length >= MAX_PERIOD_DAYS {
        return Err(format!(
            "a period is at most {MAX_PERIOD_DAYS} days (ten years); this one is {} days",
            length.saturating_add(1)
        ));
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
            journey_days: vec![((20260105, "welcome".to_owned()), [n, 0, 0, 0])],
            reps_now: vec![(("sales".into(), "an".into()), [n, 0])],
            decided: vec![((20260105, "sales".into(), "an".into()), [1, 0])],
            accept_secs: vec![((20260105, "sales".to_owned()), vec![n as i64])],
            email_days: vec![((20260105, "hello".into()), [n, n + 1, 0, 0, 0, 1, 0])],
            email_sent_opened: vec![((20260105, "hello".into()), [n, 0])],
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
        assert_eq!(m.reps_now, vec![(("sales".into(), "an".into()), [7, 0])]);
        assert_eq!(
            m.accept_secs,
            vec![((20260105, "sales".to_owned()), vec![2, 5])]
        );
        assert_eq!(m.steps["welcome"].waiting, vec![7, 2]);
        assert_eq!(m.steps["welcome"].visits[&0], 7);
        assert_eq!(m.version, 6);
        // Newest activity first across partitions.
        assert_eq!(m.recent[0]["text"], "mql");
        let s = m.summary(20260101, 20260131, &[]);
        assert_eq!(s["funnel"]["reached"]["lead"], 2);
        assert_eq!(s["funnel"]["reached"]["mql"], 5);
        // Opens counted once per email sent, raw opens beside them; the rate stays ≤ 1.
        assert_eq!(s["journeys"][0]["entered"], 7);
        assert_eq!(s["email"][0]["sent"], 7);
        assert_eq!(s["email"][0]["opened"], 7);
        assert_eq!(s["email"][0]["opens"], 9);
        assert_eq!(s["email"][0]["unattributed_opens"], 2);
        assert_eq!(s["email"][0]["open_rate"], 1.0);
        assert_eq!(s["handoff"]["reps"][0]["accepted"], 2);
        assert_eq!(s["handoff"]["median_accept_seconds"]["sales"], 5);
        // A period before any of it shows zeros everywhere but the "now" figures.
        let before = m.summary(20250101, 20250131, &[]);
        assert_eq!(before["email"], json!([]));
        assert_eq!(before["journeys"][0]["entered"], 0);
        assert_eq!(before["journeys"][0]["active"], 7);
        assert_eq!(before["handoff"]["reps"][0]["accepted"], 0);
        assert_eq!(before["handoff"]["reps"][0]["open"], 7);
        assert_eq!(before["handoff"]["median_accept_seconds"], json!({}));
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
        // Ten years of days at most (the trend lists each), and only from 1970.
        assert_eq!(
            period(Some("2016-01-01"), Some("2026-12-31"), 0, &tz),
            Err("a period is at most 3660 days (ten years); this one is 4018 days".to_owned())
        );
        assert!(period(Some("2017-01-01"), Some("2026-12-31"), 0, &tz).is_ok());
        assert!(period(Some("0001-01-01"), Some("0001-01-02"), 0, &tz).is_err());
    }
}
