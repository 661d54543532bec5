//! Differential test of schedule next runs: the path the engine used to take (the `cron` crate walking a chrono-tz zone) against today's (jiff's zone database, wall-clock candidates resolved by jiff), over 2024–2031 for many expressions in zones with and without daylight saving.
//!
//! The first next runs of each expression are followed (all of them through the
//! years for the rarer ones), and instants just around each of the zone's offset
//! changes are asked about too: about 266,000 questions. The answers must be equal,
//! with one intended exception: asked about an instant near a repeated wall-clock
//! hour, the old path could answer the *first* pass of a matching minute — an
//! instant at or before the one asked about. There today's answer must be what
//! walking the wall clock minute by minute finds (the rule `cron5` documents);
//! about 1,500 questions fall there.

use compiler::cron5::{parse, Cron5};

const EXPRESSIONS: &[&str] = &[
    "0 9 * * *",
    "30 2 * * *",
    "30 1 * * *",
    "*/15 * * * *",
    "0 * * * *",
    "0 9 * * MON",
    "0 9 * * 1-5",
    "0 8 1 * *",
    "0 8 1,15 * MON",
    "59 23 31 12 *",
    "0 0 29 2 *",
    "45 1 * * 0",
    "0 2 * 3 0",
    "*/7 1-3 * * *",
    "0 0 1 1 *",
    "5 4 * * SUN",
    "0 3 * * 6,7",
    "10,40 0-3 * 3,4,9,10,11 *",
];

const ZONES: &[&str] = &[
    "UTC",
    "Asia/Ho_Chi_Minh",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "America/Sao_Paulo",
];

/// The most next runs followed from the start for one expression in one zone.
const CHAIN: usize = 2_000;

const FROM: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z
const UNTIL: i64 = 1_924_992_000; // 2031-01-01T00:00:00Z

/// The old path, as the engine ran it before: chrono-tz, first item of `after`.
fn old_next(cron: &Cron5, after: i64, tz: &chrono_tz::Tz) -> Option<i64> {
    let base = chrono::DateTime::from_timestamp(after, 0)?.with_timezone(tz);
    let next = |s: &cron::Schedule| s.after(&base).next().map(|d| d.timestamp());
    if cron.day_fields_or {
        let a = cron.by_day_of_month.as_ref().and_then(next);
        let b = cron.by_day_of_week.as_ref().and_then(next);
        match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    } else {
        next(&cron.schedule)
    }
}

/// Instants around each offset change of the zone in the years tested.
fn around_transitions(tz: &jiff::tz::TimeZone) -> Vec<i64> {
    let mut out = Vec::new();
    let start = jiff::Timestamp::from_second(FROM).expect("in range");
    for t in tz.following(start) {
        let at = t.timestamp().as_second();
        if at > UNTIL {
            break;
        }
        out.extend([at - 1, at, at + 1]);
        out.extend((-180..=180).step_by(7).map(|m| at + m * 60 + 13));
    }
    out
}

#[test]
fn next_runs_agree_with_the_old_path_over_seven_years() {
    let mut compared = 0usize;
    let mut second_pass = 0usize;
    for zone in ZONES {
        let old_tz: chrono_tz::Tz = zone.parse().expect("chrono-tz knows the zone");
        let new_tz = jiff::tz::TimeZone::get(zone).expect("jiff knows the zone");
        let probes = around_transitions(&new_tz);
        for expr in EXPRESSIONS {
            let cron = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            let mut check = |after: i64| -> Option<i64> {
                let new = cron.next_after(after, &new_tz);
                let old = old_next(&cron, after, &old_tz);
                compared += 1;
                if let Some(n) = new {
                    assert!(
                        n > after,
                        "{expr} in {zone} after {after}: {n} is not later"
                    );
                }
                match old {
                    Some(o) if o <= after => {
                        // The old path's answer in a repeated hour: before the question.
                        // Today's must be what walking the wall clock minute by minute
                        // finds.
                        assert_eq!(
                            new,
                            walk_the_wall_clock(&cron, after, &new_tz),
                            "{expr} in {zone} after {after}"
                        );
                        second_pass += 1;
                    }
                    _ => assert_eq!(new, old, "{expr} in {zone} after {after}"),
                }
                new
            };
            // Frequent expressions are followed for their first runs only; the probes
            // cover their offset changes.
            let mut at = FROM;
            for _ in 0..CHAIN {
                if at >= UNTIL {
                    break;
                }
                match check(at) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            for &probe in &probes {
                check(probe);
            }
        }
    }
    assert!(compared > 100_000, "{compared} next runs compared");
    eprintln!("{compared} next runs compared, {second_pass} in a repeated hour");
    // Zones with a repeated hour and expressions matching inside it give some.
    assert!(second_pass > 0, "no probe fell in a repeated hour");
}

/// Whether a wall-clock time matches the expression (with standard cron's rule for
/// two restricted day fields).
fn matches(cron: &Cron5, w: jiff::civil::DateTime) -> bool {
    let proxy =
        chrono::NaiveDate::from_ymd_opt(i32::from(w.year()), w.month() as u32, w.day() as u32)
            .and_then(|d| d.and_hms_opt(w.hour() as u32, w.minute() as u32, w.second() as u32))
            .expect("a wall-clock time")
            .and_utc();
    if cron.day_fields_or {
        [&cron.by_day_of_month, &cron.by_day_of_week]
            .into_iter()
            .flatten()
            .any(|s| s.includes(proxy))
    } else {
        cron.schedule.includes(proxy)
    }
}

/// The rule the module documents, by brute force: from the wall-clock minute after
/// the instant, minute by minute, the first matching time that exists, at its first
/// occurrence after the instant.
fn walk_the_wall_clock(cron: &Cron5, after: i64, tz: &jiff::tz::TimeZone) -> Option<i64> {
    use jiff::tz::AmbiguousOffset;
    let start = wall(after, tz);
    let mut w = start
        .with()
        .second(0)
        .build()
        .expect("a time")
        .checked_add(jiff::SignedDuration::from_mins(1))
        .expect("in range");
    for _ in 0..32 * 1440 {
        if matches(cron, w) {
            let a = tz.to_ambiguous_timestamp(w);
            let found = match a.offset() {
                AmbiguousOffset::Gap { .. } => None,
                AmbiguousOffset::Unambiguous { .. } => {
                    Some(a.compatible().expect("exists").as_second())
                }
                AmbiguousOffset::Fold { .. } => [a.earlier(), a.later()]
                    .into_iter()
                    .map(|t| t.expect("exists").as_second())
                    .find(|&t| t > after),
            };
            if found.is_some() {
                return found;
            }
        }
        w = w
            .checked_add(jiff::SignedDuration::from_mins(1))
            .expect("in range");
    }
    None
}

fn wall(t: i64, tz: &jiff::tz::TimeZone) -> jiff::civil::DateTime {
    tz.to_datetime(jiff::Timestamp::from_second(t).expect("in range"))
}

#[test]
fn a_skipped_wall_clock_time_is_skipped_and_a_repeated_one_runs_once() {
    let ny = jiff::tz::TimeZone::get("America/New_York").expect("zone");
    // 2024-03-10: 02:00 EST becomes 03:00 EDT, so 02:30 does not happen that day.
    let before_gap = 1_710_046_800; // 2024-03-10T05:00:00Z = 00:00 EST
    let cron = parse("30 2 * * *").expect("valid");
    let next = cron.next_after(before_gap, &ny).expect("a run");
    let w = wall(next, &ny);
    assert_eq!((w.month(), w.day(), w.hour(), w.minute()), (3, 11, 2, 30));
    // 2024-11-03: 01:30 happens twice; a daily 01:30 runs at the first.
    let cron = parse("30 1 * * *").expect("valid");
    let night = 1_730_606_400; // 2024-11-03T04:00:00Z = 00:00 EDT
    let first = cron.next_after(night, &ny).expect("a run");
    assert_eq!(first, 1_730_611_800); // 05:30Z = 01:30 EDT
    let after_first = cron.next_after(first, &ny).expect("a run");
    assert_eq!(
        wall(after_first, &ny).day(),
        4,
        "not again in the repeated hour"
    );
}
