//! Trends: the period day by day — stage entries, handoffs accepted and rejected, emails sent — and the same totals for the period just before it, with the change in per cent, all from the per-day figures (no store scan).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::email;
use super::figures::Figures;
use super::{date_of, day_of_date, day_text, Day};

/// One day's (or one period's) totals.
#[derive(Debug, Clone, Default, PartialEq)]
struct Totals {
    /// Stage → entries.
    reached: BTreeMap<String, u64>,
    accepted: u64,
    rejected: u64,
    sent: u64,
}

impl Totals {
    fn json(&self, stages: &[String]) -> Map<String, Value> {
        let reached: Map<String, Value> = stages
            .iter()
            .map(|s| (s.clone(), json!(self.reached.get(s).copied().unwrap_or(0))))
            .collect();
        let mut m = Map::new();
        m.insert("reached".into(), Value::Object(reached));
        m.insert("accepted".into(), json!(self.accepted));
        m.insert("rejected".into(), json!(self.rejected));
        m.insert("sent".into(), json!(self.sent));
        m
    }
}

/// The days `from..=to`, in order (at most 3,660: ten years).
fn days(from: Day, to: Day) -> Vec<Day> {
    let mut out = Vec::new();
    let (Some(mut d), Some(end)) = (date_of(from), date_of(to)) else {
        return out;
    };
    while d <= end && out.len() < 3_660 {
        out.push(day_of_date(d));
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}

/// Every figure by day (only the days that have any).
fn by_day(f: &Figures) -> BTreeMap<Day, Totals> {
    let mut out: BTreeMap<Day, Totals> = BTreeMap::new();
    for ((d, stage, _, _), n) in &f.reached {
        let slot = out
            .entry(*d)
            .or_default()
            .reached
            .entry(stage.clone())
            .or_insert(0);
        *slot = slot.saturating_add(*n);
    }
    for ((d, _, _), c) in &f.decided {
        let t = out.entry(*d).or_default();
        t.accepted = t.accepted.saturating_add(c[0]);
        t.rejected = t.rejected.saturating_add(c[1]);
    }
    for ((d, _), c) in &f.email_days {
        let t = out.entry(*d).or_default();
        t.sent = t.sent.saturating_add(c[email::SENT]);
    }
    out
}

fn sum<'a>(days: impl Iterator<Item = &'a Totals>) -> Totals {
    let mut out = Totals::default();
    for t in days {
        for (s, n) in &t.reached {
            let slot = out.reached.entry(s.clone()).or_insert(0);
            *slot = slot.saturating_add(*n);
        }
        out.accepted = out.accepted.saturating_add(t.accepted);
        out.rejected = out.rejected.saturating_add(t.rejected);
        out.sent = out.sent.saturating_add(t.sent);
    }
    out
}

/// The change from `before` to `now` in per cent (`null` when there was nothing before).
fn change(now: u64, before: u64) -> Value {
    if before == 0 {
        return Value::Null;
    }
    json!(((now as f64 - before as f64) / before as f64 * 1000.0).round() / 10.0)
}

/// Each of `days` with its totals (zeros on a day without any).
fn day_list(all: &BTreeMap<Day, Totals>, days: &[Day], stages: &[String]) -> Vec<Value> {
    let zero = Totals::default();
    days.iter()
        .map(|d| {
            let mut m = all.get(d).unwrap_or(&zero).json(stages);
            m.insert("day".into(), json!(day_text(*d)));
            Value::Object(m)
        })
        .collect()
}

/// The `trend` section of a summary for `from..=to`.
pub fn trend(f: &Figures, from: Day, to: Day) -> Value {
    let all = by_day(f);
    let period = days(from, to);
    let daily = day_list(&all, &period, &f.stages);
    let now = sum(period.iter().filter_map(|d| all.get(d)));
    // The period of the same length just before.
    let n = i32::try_from(period.len()).unwrap_or(0);
    let previous = (|| {
        let end = super::days_before(from, 1)?;
        let start = super::days_before(from, n)?;
        Some((start, end))
    })();
    let (prev_json, changes) = match previous {
        Some((start, end)) => {
            let earlier = days(start, end);
            let before = sum(earlier.iter().filter_map(|d| all.get(d)));
            let mut m = before.json(&f.stages);
            m.insert("from".into(), json!(day_text(start)));
            m.insert("to".into(), json!(day_text(end)));
            m.insert(
                "days".into(),
                Value::Array(day_list(&all, &earlier, &f.stages)),
            );
            let reached: Map<String, Value> = f
                .stages
                .iter()
                .map(|s| {
                    let get = |t: &Totals| t.reached.get(s).copied().unwrap_or(0);
                    (s.clone(), change(get(&now), get(&before)))
                })
                .collect();
            let changes = json!({
                "reached": reached,
                "accepted": change(now.accepted, before.accepted),
                "rejected": change(now.rejected, before.rejected),
                "sent": change(now.sent, before.sent),
            });
            (Value::Object(m), changes)
        }
        None => (Value::Null, Value::Null),
    };
    json!({
        "days": daily,
        "total": Value::Object(now.json(&f.stages)),
        "previous": prev_json,
        "change_percent": changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_day_by_day_beside_the_one_before() {
        let f = Figures {
            stages: vec!["lead".into(), "mql".into()],
            funnel_len: 2,
            reached: vec![
                ((20260102, "lead".into(), String::new(), String::new()), 4),
                ((20260104, "lead".into(), String::new(), String::new()), 3),
                ((20260105, "lead".into(), String::new(), String::new()), 2),
                ((20260105, "mql".into(), String::new(), String::new()), 1),
            ],
            decided: vec![((20260105, "crew".into(), "an".into()), [1, 2])],
            email_days: vec![((20260104, "hello".into()), [5, 0, 0, 0, 0, 0, 0])],
            ..Figures::default()
        };
        let t = trend(&f, 20260104, 20260105);
        let days = t["days"].as_array().expect("days");
        assert_eq!(days.len(), 2);
        assert_eq!(days[0]["day"], "2026-01-04");
        assert_eq!(days[0]["reached"]["lead"], 3);
        assert_eq!(days[0]["sent"], 5);
        assert_eq!(days[1]["reached"]["mql"], 1);
        assert_eq!(days[1]["rejected"], 2);
        assert_eq!(t["total"]["reached"]["lead"], 5);
        // The two days before: the 2nd and 3rd (4 leads on the 2nd).
        assert_eq!(t["previous"]["from"], "2026-01-02");
        assert_eq!(t["previous"]["to"], "2026-01-03");
        assert_eq!(t["previous"]["reached"]["lead"], 4);
        assert_eq!(t["previous"]["days"][0]["day"], "2026-01-02");
        assert_eq!(t["previous"]["days"][0]["reached"]["lead"], 4);
        assert_eq!(t["previous"]["days"][1]["reached"]["lead"], 0);
        assert_eq!(t["change_percent"]["reached"]["lead"], 25.0);
        assert_eq!(t["change_percent"]["reached"]["mql"], Value::Null);
        // A period with nothing in it: zeros every day, across a month's end.
        let empty = trend(&f, 20250130, 20250202);
        assert_eq!(empty["days"].as_array().map(Vec::len), Some(4));
        assert_eq!(empty["total"]["sent"], 0);
    }
}
