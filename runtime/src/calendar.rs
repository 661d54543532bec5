//! Team business calendars: open hours per day (weekly hours, closed days, make-up days) in the team's time zone, and SLA deadlines counted in open time.

use compiler::program::{Day, TeamIr};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

/// A local date-time as an instant (seconds): a time in a daylight-saving gap
/// moves forward to the first valid instant (the transition); an ambiguous
/// one (a fold) takes the earlier instant (docs/language.md, section 4.10).
pub fn local_to_instant(tz: &TimeZone, dt: jiff::civil::DateTime) -> Option<i64> {
    use jiff::tz::AmbiguousOffset;
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => {
            offset.to_timestamp(dt).ok().map(|t| t.as_second())
        }
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok().map(|t| t.as_second()),
        AmbiguousOffset::Gap { after, .. } => {
            // `after` read before the jump is an instant inside the gap's shadow:
            // the first valid instant is the next transition.
            let probe = after.to_timestamp(dt).ok()?;
            tz.following(probe)
                .next()
                .map(|tr| tr.timestamp().as_second())
        }
    }
}

/// How far ahead a deadline is searched before giving up (a team closed for ten years).
const HORIZON_DAYS: usize = 3_660;

/// A team's calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// The team's time zone (else the program's).
    pub tz: TimeZone,
    hours: Vec<(u8, u32, u32)>,
    closed: Vec<(Day, Day)>,
    open: Vec<(Day, Option<(u32, u32)>)>,
    /// `holidays COUNTRY`, and the days off it gives per year (computed when first asked).
    holidays: Option<String>,
    holiday_years: std::cell::RefCell<Vec<(i32, Vec<Day>)>>,
}

fn day_of(d: Date) -> Day {
    (i32::from(d.year()), d.month() as u32, d.day() as u32)
}

impl Calendar {
    /// The calendar of `team`, in its time zone or else `program_tz`.
    pub fn new(team: &TeamIr, program_tz: &TimeZone) -> Calendar {
        let tz = team
            .timezone
            .as_deref()
            .and_then(|n| TimeZone::get(n).ok())
            .unwrap_or_else(|| program_tz.clone());
        Calendar {
            tz,
            hours: team.hours.clone(),
            closed: team.closed.clone(),
            open: team.open.clone(),
            holidays: team.holidays.clone(),
            holiday_years: Default::default(),
        }
    }

    /// Whether `day` is off under the team's `holidays` line: a public holiday, or the
    /// working day that makes up for one falling on a day the team has no hours (the
    /// Vietnamese "nghỉ bù": the next day with hours that is not itself a holiday).
    fn is_holiday(&self, day: Day) -> bool {
        let Some(country) = &self.holidays else {
            return false;
        };
        if let Some((_, days)) = self
            .holiday_years
            .borrow()
            .iter()
            .find(|(y, _)| *y == day.0)
        {
            return days.binary_search(&day).is_ok();
        }
        let days = self.days_off(country, day.0);
        let hit = days.binary_search(&day).is_ok();
        self.holiday_years.borrow_mut().push((day.0, days));
        hit
    }

    /// A year's public holidays and make-up days, sorted.
    fn days_off(&self, country: &str, year: i32) -> Vec<Day> {
        let mut days: Vec<Day> = stdlib::holidays::of_country(country, year)
            .iter()
            .map(|h| (h.date.0, u32::from(h.date.1), u32::from(h.date.2)))
            .collect();
        days.sort_unstable();
        days.dedup();
        let works = |d: Date| {
            let wd = d.weekday().to_monday_zero_offset();
            self.hours.iter().any(|(mask, _, _)| mask & (1 << wd) != 0)
        };
        let mut extra: Vec<Day> = Vec::new();
        for &(y, m, d) in &days {
            let Ok(date) = Date::new(y as i16, m as i8, d as i8) else {
                continue;
            };
            if works(date) {
                continue;
            }
            let mut next = date;
            for _ in 0..14 {
                let Ok(n) = next.tomorrow() else { break };
                next = n;
                let key = day_of(next);
                if works(next) && days.binary_search(&key).is_err() && !extra.contains(&key) {
                    extra.push(key);
                    break;
                }
            }
        }
        days.extend(extra);
        days.sort_unstable();
        days
    }

    /// The open intervals of a local day, in minutes, merged and sorted.
    pub fn day_minutes(&self, d: Date) -> Vec<(u32, u32)> {
        let key = day_of(d);
        let weekday_bits = |wd: u8| -> Vec<(u32, u32)> {
            self.hours
                .iter()
                .filter(|(mask, _, _)| mask & (1 << wd) != 0)
                .map(|(_, a, b)| (*a, *b))
                .collect()
        };
        let mut spans = if let Some((_, range)) = self.open.iter().find(|(day, _)| *day == key) {
            match range {
                Some(r) => vec![*r],
                None => weekday_bits(0),
            }
        } else if self.closed.iter().any(|(a, b)| *a <= key && key <= *b) || self.is_holiday(key) {
            Vec::new()
        } else {
            weekday_bits(d.weekday().to_monday_zero_offset() as u8)
        };
        spans.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::new();
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    fn instant(&self, d: Date, minute: u32) -> i64 {
        let (h, m) = ((minute / 60).min(23) as i8, (minute % 60) as i8);
        // 24:00 (a closing time at midnight) is the next day's 00:00.
        let (d, h, m) = if minute >= 24 * 60 {
            (d.tomorrow().unwrap_or(d), 0, 0)
        } else {
            (d, h, m)
        };
        let t = Time::new(h, m, 0, 0).unwrap_or_default();
        local_to_instant(&self.tz, d.to_datetime(t)).unwrap_or(0)
    }

    fn local_date(&self, at: i64) -> Option<Date> {
        let ts = jiff::Timestamp::from_second(at).ok()?;
        Some(jiff::ZonedDateTime::new(ts, self.tz.clone()).date())
    }

    /// The open intervals of a local day as instants.
    fn day_instants(&self, d: Date) -> Vec<(i64, i64)> {
        self.day_minutes(d)
            .into_iter()
            .map(|(a, b)| (self.instant(d, a), self.instant(d, b)))
            .collect()
    }

    /// The first instant at which `secs` of open time have passed since `start`.
    pub fn add_open_time(&self, start: i64, secs: i64) -> i64 {
        let Some(mut d) = self.local_date(start) else {
            return start;
        };
        let mut remaining = secs;
        for _ in 0..HORIZON_DAYS {
            for (a, b) in self.day_instants(d) {
                if start >= b {
                    continue;
                }
                let from = start.max(a);
                let available = b - from;
                if remaining <= available {
                    return from + remaining;
                }
                remaining -= available;
            }
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        i64::MAX / 2
    }

    /// `N business days` from `start`: the same local time on the Nth following open day
    /// (from the next opening when `start` is outside open hours), or that day's closing if earlier.
    pub fn add_open_days(&self, start: i64, n: u32) -> i64 {
        let Some(start_day) = self.local_date(start) else {
            return start;
        };
        // Where the count starts: `start` itself when open, else the next opening.
        let inside = self
            .day_instants(start_day)
            .iter()
            .any(|(a, b)| *a <= start && start < *b);
        let (mut d, reference) = if inside {
            (start_day, start)
        } else {
            let opening = self.add_open_time(start, 0);
            match self.local_date(opening) {
                Some(day) => (day, opening),
                None => return start,
            }
        };
        let Ok(ts) = jiff::Timestamp::from_second(reference) else {
            return start;
        };
        let local = jiff::ZonedDateTime::new(ts, self.tz.clone());
        let minute = local.hour() as u32 * 60 + local.minute() as u32;
        let mut found = 0;
        for _ in 0..HORIZON_DAYS {
            match d.tomorrow() {
                Ok(next) => d = next,
                Err(_) => break,
            }
            let spans = self.day_minutes(d);
            if spans.is_empty() {
                continue;
            }
            found += 1;
            if found == n {
                // The same local time to the second, or the closing time if earlier.
                let closing = spans.last().map(|s| s.1).unwrap_or(minute);
                if minute < closing {
                    return self.instant(d, minute) + i64::from(local.second());
                }
                return self.instant(d, closing);
            }
        }
        i64::MAX / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(
        hours: Vec<(u8, u32, u32)>,
        closed: Vec<(Day, Day)>,
        open: Vec<(Day, Option<(u32, u32)>)>,
    ) -> Calendar {
        let t = TeamIr {
            name: "t".into(),
            span: grammar::Span::default(),
            members: vec![],
            manager: None,
            hours,
            timezone: None,
            closed,
            open,
            holidays: None,
        };
        Calendar::new(&t, &TimeZone::get("Asia/Ho_Chi_Minh").expect("tz"))
    }

    /// A Monday–Friday 8:30–17:30 team with `holidays vietnam` and the given extra lines.
    fn vietnam_team(closed: Vec<(Day, Day)>, open: Vec<(Day, Option<(u32, u32)>)>) -> Calendar {
        let mut c = team(vec![(WEEKDAYS, 8 * 60 + 30, 17 * 60 + 30)], closed, open);
        c.holidays = Some("vietnam".into());
        c
    }

    /// The days a calendar has no opening hours, Monday to Friday, in a range.
    fn weekdays_off(c: &Calendar, from: Day, to: Day) -> Vec<Day> {
        let mut d = Date::new(from.0 as i16, from.1 as i8, from.2 as i8).expect("date");
        let mut off = Vec::new();
        while day_of(d) <= to {
            let wd = d.weekday().to_monday_zero_offset();
            if wd < 5 && c.day_minutes(d).is_empty() {
                off.push(day_of(d));
            }
            d = d.tomorrow().expect("day");
        }
        off
    }

    #[test]
    fn vietnam_holidays_close_the_weekdays_announced_for_2026() {
        // What the government announced for 2026 (Mon–Fri offices): 1/1; Tết 16–20/2
        // (with the weekends around it); Giỗ Tổ on Sunday 26/4, made up on Monday 27/4;
        // 30/4 and 1/5; Quốc khánh 2/9 with the built-in choice of 1/9 beside it (a team
        // whose government picks 3/9 writes `closed 2026-09-03` and `open 2026-09-01`).
        let c = vietnam_team(vec![], vec![]);
        assert_eq!(
            weekdays_off(&c, (2026, 1, 1), (2026, 12, 31)),
            vec![
                (2026, 1, 1),
                (2026, 2, 16),
                (2026, 2, 17),
                (2026, 2, 18),
                (2026, 2, 19),
                (2026, 2, 20),
                (2026, 4, 27),
                (2026, 4, 30),
                (2026, 5, 1),
                (2026, 9, 1),
                (2026, 9, 2),
            ]
        );
    }

    #[test]
    fn vietnam_holidays_with_the_governments_yearly_choices_for_2024_and_2025() {
        // 2024 as announced: Tết 8–14/2. The law's five days (29 Tết to mùng 4) take in
        // a weekend, made up on Wednesday 14/2 and Thursday 15/2; the government placed
        // them on Thursday 8/2 instead of 15/2. The 30/4 bridge: Monday 29/4 off, worked
        // back on Saturday 4/5. Quốc khánh 2–3/9.
        let c = vietnam_team(
            vec![((2024, 2, 8), (2024, 2, 8)), ((2024, 4, 29), (2024, 4, 29))],
            vec![((2024, 2, 15), None), ((2024, 5, 4), None)],
        );
        assert_eq!(
            weekdays_off(&c, (2024, 1, 1), (2024, 12, 31)),
            vec![
                (2024, 1, 1),
                (2024, 2, 8),
                (2024, 2, 9),
                (2024, 2, 12),
                (2024, 2, 13),
                (2024, 2, 14),
                (2024, 4, 18),
                (2024, 4, 29),
                (2024, 4, 30),
                (2024, 5, 1),
                (2024, 9, 2),
                (2024, 9, 3),
            ]
        );
        // The make-up Saturday is open, with Monday's hours.
        let sat = Date::new(2024, 5, 4).expect("date");
        assert_eq!(c.day_minutes(sat), vec![(8 * 60 + 30, 17 * 60 + 30)]);
        // 2025: the law's five Tết days end on Saturday 1/2 (mùng 4), which the law makes
        // up on Monday 3/2; the government announced 25/1–2/2 instead (Monday 27/1 off,
        // 3/2 worked): one `closed` and one `open` line.
        let law = vietnam_team(vec![], vec![]);
        assert_eq!(
            weekdays_off(&law, (2025, 1, 1), (2025, 2, 28)),
            vec![
                (2025, 1, 1),
                (2025, 1, 28),
                (2025, 1, 29),
                (2025, 1, 30),
                (2025, 1, 31),
                (2025, 2, 3),
            ]
        );
        let c = vietnam_team(
            vec![((2025, 1, 27), (2025, 1, 27))],
            vec![((2025, 2, 3), None)],
        );
        assert_eq!(
            weekdays_off(&c, (2025, 1, 1), (2025, 12, 31)),
            vec![
                (2025, 1, 1),
                (2025, 1, 27),
                (2025, 1, 28),
                (2025, 1, 29),
                (2025, 1, 30),
                (2025, 1, 31),
                (2025, 4, 7),
                (2025, 4, 30),
                (2025, 5, 1),
                (2025, 9, 1),
                (2025, 9, 2),
            ]
        );
        // An `open` line overrides a holiday.
        assert!(!c
            .day_minutes(Date::new(2025, 2, 3).expect("date"))
            .is_empty());
    }

    fn at(s: &str) -> i64 {
        crate::scenario::parse_instant(s).expect("instant")
    }

    const WEEKDAYS: u8 = 0b001_1111;

    #[test]
    fn four_business_hours_from_friday_afternoon_end_monday_late_morning() {
        let c = team(vec![(WEEKDAYS, 8 * 60 + 30, 17 * 60 + 30)], vec![], vec![]);
        // Friday 2026-01-09 16:30 → Monday 2026-01-12 11:30 (spec 7.3).
        let d = c.add_open_time(at("2026-01-09T16:30:00+07:00"), 4 * 3600);
        assert_eq!(d, at("2026-01-12T11:30:00+07:00"));
        // Exactly to closing time.
        assert_eq!(
            c.add_open_time(at("2026-01-09T13:30:00+07:00"), 4 * 3600),
            at("2026-01-09T17:30:00+07:00")
        );
        // Before opening counts from the opening.
        assert_eq!(
            c.add_open_time(at("2026-01-12T06:00:00+07:00"), 3600),
            at("2026-01-12T09:30:00+07:00")
        );
    }

    #[test]
    fn tet_closed_days_and_make_up_day() {
        let c = team(
            vec![(WEEKDAYS, 8 * 60 + 30, 17 * 60 + 30)],
            vec![((2027, 2, 5), (2027, 2, 11))],
            vec![((2027, 2, 13), None)],
        );
        // Thursday 2027-02-04 17:00 + 1 h: 30 min on Thursday, closed Fri 5 – Thu 11,
        // Friday 12 opens 8:30 → 9:00.
        assert_eq!(
            c.add_open_time(at("2027-02-04T17:00:00+07:00"), 3600),
            at("2027-02-12T09:00:00+07:00")
        );
        // Saturday 13 is a make-up day with Monday's hours.
        assert_eq!(
            c.day_minutes(Date::new(2027, 2, 13).expect("date")),
            vec![(510, 1050)]
        );
    }

    #[test]
    fn dst_gap_moves_forward_and_fold_takes_the_earlier_instant() {
        let ny = TimeZone::get("America/New_York").expect("tz");
        let dt = |s: &str| s.parse::<jiff::civil::DateTime>().expect("datetime");
        // 02:30 does not exist on 2026-03-08: the first valid instant is 03:00 EDT = 07:00Z.
        assert_eq!(
            local_to_instant(&ny, dt("2026-03-08T02:30")),
            Some(at("2026-03-08T07:00:00Z"))
        );
        // 01:30 happens twice on 2026-11-01: the earlier is 01:30 EDT = 05:30Z.
        assert_eq!(
            local_to_instant(&ny, dt("2026-11-01T01:30")),
            Some(at("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            local_to_instant(&ny, dt("2026-01-05T09:00")),
            Some(at("2026-01-05T14:00:00Z"))
        );
    }

    #[test]
    fn business_days() {
        let c = team(vec![(WEEKDAYS, 8 * 60 + 30, 17 * 60 + 30)], vec![], vec![]);
        // Wednesday 10:00 + 5 business days → next Wednesday 10:00.
        assert_eq!(
            c.add_open_days(at("2026-01-07T10:00:00+07:00"), 5),
            at("2026-01-14T10:00:00+07:00")
        );
        // Created Saturday: counted from Monday's opening 8:30 → 5 open days later, 8:30.
        assert_eq!(
            c.add_open_days(at("2026-01-10T12:00:00+07:00"), 5),
            at("2026-01-19T08:30:00+07:00")
        );
        // The same local time to the second.
        assert_eq!(
            c.add_open_days(at("2026-01-06T10:00:30+07:00"), 1),
            at("2026-01-07T10:00:30+07:00")
        );
        assert_eq!(
            c.add_open_days(at("2026-01-06T17:29:59+07:00"), 1),
            at("2026-01-07T17:29:59+07:00")
        );
        // A shorter day ends at its closing time, not a second later.
        let half = team(
            vec![(WEEKDAYS, 8 * 60, 17 * 60), (1 << 5, 8 * 60, 12 * 60)],
            vec![],
            vec![],
        );
        assert_eq!(
            half.add_open_days(at("2026-01-09T16:59:59+07:00"), 1),
            at("2026-01-10T12:00:00+07:00")
        );
    }
}
