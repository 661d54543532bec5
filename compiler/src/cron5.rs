//! Five-field cron expressions (minute hour day-of-month month day-of-week): parsed once with the `cron` crate, and their next run found in a time zone of jiff's database — the one place chrono appears.
//!
//! The `cron` crate wants a seconds field first and numbers Sunday as 1; standard
//! cron numbers Sunday 0 (or 7). [`parse`] translates one into the other.
//!
//! Next runs are found in *civil* time: the instant is turned into the zone's wall
//! clock with jiff, the `cron` crate walks wall-clock candidates (given to it as
//! UTC, where every wall-clock time exists once), and jiff resolves each candidate
//! back to an instant. A wall-clock time that a daylight-saving change skips is
//! skipped (no run that day at that time); one that happens twice runs at its first
//! occurrence — unless that is not after the instant asked about, then at the
//! second. That is what the `cron` crate does with a time-zone database, except in
//! the last case, where it answered an instant *before* the one asked about.

use std::str::FromStr;

/// A checked five-field cron expression.
#[derive(Clone, PartialEq)]
pub struct Cron5 {
    /// The expression as written.
    pub source: String,
    /// The expression in the `cron` crate's dialect (seconds first).
    pub schedule: cron::Schedule,
    /// True when both day fields are restricted: then either may match (standard cron).
    pub day_fields_or: bool,
    /// The day-of-month part and the day-of-week part as separate schedules, for the OR case.
    pub by_day_of_month: Option<cron::Schedule>,
    pub by_day_of_week: Option<cron::Schedule>,
}

/// Translates standard day-of-week numbers (0–7, Sunday = 0 or 7) to the crate's (1–7, Sunday = 1).
fn translate_dow(field: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut num = String::new();
    let flush = |num: &mut String, out: &mut String, after_slash: bool| -> Result<(), String> {
        if num.is_empty() {
            return Ok(());
        }
        let n: u32 = num
            .parse()
            .map_err(|_| format!("`{num}` is not a day of the week"))?;
        if after_slash {
            out.push_str(num);
        } else {
            if n > 7 {
                return Err(format!("day of the week `{n}` is out of range (0–7)"));
            }
            out.push_str(&((n % 7) + 1).to_string());
        }
        num.clear();
        Ok(())
    };
    let mut after_slash = false;
    for c in field.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            flush(&mut num, &mut out, after_slash)?;
            after_slash = c == '/';
            out.push(c);
        }
    }
    flush(&mut num, &mut out, after_slash)?;
    Ok(out)
}

fn build(fields: &[&str]) -> Result<cron::Schedule, String> {
    let expr = format!("0 {}", fields.join(" "));
    cron::Schedule::from_str(&expr).map_err(|e| {
        // The crate's message shows its own six-field form; keep only its last line.
        let text = e.to_string();
        let last = text.lines().last().unwrap_or("").trim().to_owned();
        if last.is_empty() || last.contains("less than") {
            "a field is not valid".to_owned()
        } else {
            last
        }
    })
}

/// The five fields: name, lowest and highest number.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of the month", 1, 31),
    ("month", 1, 12),
    ("day of the week", 0, 7),
];

/// Checks the numbers of one field against its range (steps after `/` must be at least 1).
fn check_numbers(field: &str, (name, lo, hi): (&str, u32, u32)) -> Result<(), String> {
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(n) if n >= 1 => {}
                _ => {
                    return Err(format!(
                        "`{part}`: the step after `/` must be a whole number from 1"
                    ))
                }
            }
        }
        for bound in range.split('-') {
            if !bound.is_empty() && bound.chars().all(|c| c.is_ascii_digit()) {
                let n: u32 = bound
                    .parse()
                    .map_err(|_| format!("`{bound}` is too large"))?;
                if n < lo || n > hi {
                    return Err(format!("the {name} must be from {lo} to {hi}, not {n}"));
                }
            }
        }
    }
    Ok(())
}

pub fn parse(expr: &str) -> Result<Cron5, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "it has {} fields, a cron expression has 5",
            fields.len()
        ));
    }
    for (field, spec) in fields.iter().zip(FIELDS) {
        check_numbers(field, spec)?;
    }
    let dow = translate_dow(fields[4])?;
    let all = [fields[0], fields[1], fields[2], fields[3], dow.as_str()];
    let schedule = build(&all)?;
    let restricted = |f: &str| f != "*" && f != "?";
    let day_fields_or = restricted(fields[2]) && restricted(fields[4]);
    let (by_day_of_month, by_day_of_week) = if day_fields_or {
        (
            Some(build(&[fields[0], fields[1], fields[2], fields[3], "*"])?),
            Some(build(&[
                fields[0],
                fields[1],
                "*",
                fields[3],
                dow.as_str(),
            ])?),
        )
    } else {
        (None, None)
    };
    Ok(Cron5 {
        source: fields.join(" "),
        schedule,
        day_fields_or,
        by_day_of_month,
        by_day_of_week,
    })
}

/// Shown as written: the parsed schedules repeat it at length.
impl std::fmt::Debug for Cron5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Cron5").field(&self.source).finish()
    }
}

/// How many wall-clock candidates [`Cron5::next_after`] looks at before giving up: a
/// zone's change skips or repeats at most a few hours of them.
const MAX_CANDIDATES: usize = 10_000;

impl Cron5 {
    /// The first instant strictly after `after` (Unix seconds) that the expression
    /// matches on the wall clock of `tz`; `None` when there is none (or the instant
    /// is outside the range of dates).
    pub fn next_after(&self, after: i64, tz: &jiff::tz::TimeZone) -> Option<i64> {
        if self.day_fields_or {
            // Standard cron: with both day fields restricted, either may match.
            let a = self
                .by_day_of_month
                .as_ref()
                .and_then(|s| next_in_zone(s, after, tz));
            let b = self
                .by_day_of_week
                .as_ref()
                .and_then(|s| next_in_zone(s, after, tz));
            match (a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            }
        } else {
            next_in_zone(&self.schedule, after, tz)
        }
    }
}

fn next_in_zone(schedule: &cron::Schedule, after: i64, tz: &jiff::tz::TimeZone) -> Option<i64> {
    use chrono::{Datelike, Timelike};
    use jiff::tz::AmbiguousOffset;

    let civil = tz.to_datetime(jiff::Timestamp::from_second(after).ok()?);
    let start = chrono::NaiveDate::from_ymd_opt(
        i32::from(civil.year()),
        u32::try_from(civil.month()).ok()?,
        u32::try_from(civil.day()).ok()?,
    )?
    .and_hms_opt(
        u32::try_from(civil.hour()).ok()?,
        u32::try_from(civil.minute()).ok()?,
        u32::try_from(civil.second()).ok()?,
    )?
    .and_utc();
    for candidate in schedule.after(&start).take(MAX_CANDIDATES) {
        let wall = jiff::civil::date(
            i16::try_from(candidate.year()).ok()?,
            i8::try_from(candidate.month()).ok()?,
            i8::try_from(candidate.day()).ok()?,
        )
        .at(
            i8::try_from(candidate.hour()).ok()?,
            i8::try_from(candidate.minute()).ok()?,
            i8::try_from(candidate.second()).ok()?,
            0,
        );
        let ambiguous = tz.to_ambiguous_timestamp(wall);
        let instants: Vec<i64> = match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => {
                vec![ambiguous.compatible().ok()?.as_second()]
            }
            AmbiguousOffset::Gap { .. } => continue,
            AmbiguousOffset::Fold { .. } => vec![
                ambiguous.earlier().ok()?.as_second(),
                ambiguous.later().ok()?.as_second(),
            ],
        };
        if let Some(t) = instants.into_iter().find(|&t| t > after) {
            return Some(t);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_standard_five_field_expressions() {
        assert!(parse("0 9 * * MON").is_ok());
        assert!(parse("*/15 8-17 * * 1-5").is_ok());
        assert!(parse("0 8 1 * 0").is_ok());
        assert!(parse("0 8 1 * 7").is_ok());
        assert!(parse("0 8 1,15 * MON").is_ok_and(|c| c.day_fields_or));
    }

    #[test]
    fn rejects_bad_expressions() {
        assert!(parse("0 9 * *").is_err());
        assert!(parse("61 9 * * *").is_err());
        assert!(parse("0 9 * * FUNDAY").is_err());
        assert!(parse("0 9 * * 8").is_err());
        assert!(parse("0 0 9 * * MON").is_err());
        assert_eq!(
            parse("0 25 * * *").err().as_deref(),
            Some("the hour must be from 0 to 23, not 25")
        );
        assert!(parse("60 8 * * *").is_err());
        assert!(parse("0 8 0 * *").is_err());
        assert!(parse("*/0 8 * * *").is_err());
    }
}
