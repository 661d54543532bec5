//! The Vietnamese lunar calendar (âm lịch), computed from astronomy for a given time zone, with no tables and no I/O.
//!
//! # How the calendar works
//!
//! A lunar month starts on the local calendar day that contains a new moon
//! (the instant the Moon and the Sun have the same ecliptic longitude), so
//! every month has 29 or 30 days. Months are numbered relative to the winter
//! solstice: the month in which the solstice falls is always month 11. Between
//! two consecutive month-11s there are usually 12 lunations, but sometimes 13;
//! in that case one of them is a leap month (tháng nhuận). The leap month is the
//! first month after month 11 during which the Sun does not enter a new
//! "major solar term" (trung khí, a multiple of 30° of ecliptic longitude). It
//! takes the number of the month before it. The lunar year begins with month 1;
//! its first day is Tết Nguyên Đán.
//!
//! Everything above depends on *which day* an astronomical instant falls on,
//! and so on the time zone. Vietnam keeps its calendar at UTC+7 (pass
//! [`VIETNAM_TZ_HOURS`]); the Chinese calendar uses UTC+8, and the two differ
//! in some years: Tết 1985 was 1985-01-21 in Vietnam but 1985-02-20 in China,
//! Tết 2007 was 2007-02-17 in Vietnam and 2007-02-18 in China.
//!
//! # The astronomy
//!
//! This is the method Hồ Ngọc Đức published for the Vietnamese calendar, written
//! afresh here:
//!
//! * days are counted as Julian day numbers (JDN) of the proleptic Gregorian
//!   calendar;
//! * the instant of the k-th new moon after the one of 1900-01-01 is the mean
//!   lunation plus the periodic corrections of Jean Meeus (sun's and moon's
//!   mean anomalies, the moon's argument of latitude), with a small ΔT term;
//! * the Sun's apparent longitude is Meeus's low-precision formula (mean
//!   longitude plus equation of centre, corrected for nutation and aberration),
//!   evaluated at local midnight at the start of a day.
//!
//! These formulas place a new moon to within a few minutes, so a month can
//! start a day off only when a new moon falls within minutes of local
//! midnight. Checked against a modern ephemeris (VSOP87/ELP) for 1900–2199 at
//! UTC+7, every leap month agrees and 8 of the 3,711 month starts differ by one
//! day, each with the new moon less than 3 minutes before midnight: 1944-06-20,
//! 2072-12-09, 2077-11-15, 2130-05-07, 2150-05-26, 2159-05-17, 2175-01-22 and
//! 2199-01-26 (the ephemeris's day; this module says the next). That is the
//! method's limit; calendars computed with the same formulas give the same
//! days as this module.
//!
//! Only the solar years [`MIN_YEAR`]..=[`MAX_YEAR`] are supported; outside
//! them every function returns `None`. No input makes these functions panic.

/// The time zone Vietnam's calendar is kept in, in hours east of UTC.
pub const VIETNAM_TZ_HOURS: f64 = 7.0;

/// The first solar year (dương lịch) whose days are converted.
pub const MIN_YEAR: i32 = 1900;

/// The last solar year (dương lịch) whose days are converted.
pub const MAX_YEAR: i32 = 2199;

/// A day of the lunar calendar: `day` 1–30 of `month` 1–12 of lunar `year`;
/// `leap` marks the leap month (tháng nhuận) that repeats the number of `month`.
///
/// `year` is the solar year in which the lunar year begins (the year of its
/// Tết), so the last days of lunar year 2025 fall in January–February 2026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LunarDate {
    pub day: u8,
    pub month: u8,
    pub year: i32,
    pub leap: bool,
}

/// The solar (Gregorian) date of a lunar date, as `(year, month, day)`.
///
/// `None` when the lunar date does not exist (day 30 of a 29-day month, a leap
/// month the year does not have, a month outside 1–12), when the time zone is
/// not a finite offset within ±14 hours, or when the day falls outside the
/// solar years [`MIN_YEAR`]..=[`MAX_YEAR`].
pub fn lunar_to_solar(
    day: u8,
    month: u8,
    year: i32,
    leap: bool,
    tz_hours: f64,
) -> Option<(i32, u8, u8)> {
    if !valid_tz(tz_hours) || !(1..=30).contains(&day) || !(1..=12).contains(&month) {
        return None;
    }
    // The lunar years touching the supported solar days: lunar year MIN_YEAR - 1
    // still runs in January of MIN_YEAR.
    if !(MIN_YEAR - 1..=MAX_YEAR).contains(&year) {
        return None;
    }
    // Months 11 and 12 (and their leap twins) of lunar year Y sit at the start of
    // the cycle that begins with month 11 of solar year Y; months 1–10 of Y sit
    // in the cycle that began in solar year Y - 1.
    let cycle = Cycle::of_solar_year(if month >= 11 { year } else { year - 1 }, tz_hours)?;
    let index = cycle.index_of(month, leap)?;
    let start = *cycle.starts.get(index)?;
    let next = *cycle.starts.get(index + 1)?;
    let jdn = start + i64::from(day) - 1;
    if jdn >= next || !in_supported_range(jdn) {
        return None;
    }
    Some(date_from_jdn(jdn))
}

/// The lunar date of a solar (Gregorian) date given as `year`, `month`, `day`.
///
/// `None` when the solar date does not exist, lies outside the years
/// [`MIN_YEAR`]..=[`MAX_YEAR`], or the time zone is not a finite offset within
/// ±14 hours.
pub fn solar_to_lunar(year: i32, month: u8, day: u8, tz_hours: f64) -> Option<LunarDate> {
    if !valid_tz(tz_hours) || !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return None;
    }
    let jdn = jdn_from_date(year, month, day)?;
    // The day belongs to the cycle that started with month 11 of this solar
    // year if it has begun by then (late November or December), otherwise to
    // the one that started a year earlier.
    let mut cycle = Cycle::of_solar_year(year, tz_hours)?;
    if jdn < cycle.starts[0] {
        cycle = Cycle::of_solar_year(year - 1, tz_hours)?;
    }
    let months = cycle.months;
    let index = (0..months).find(|&i| {
        matches!(
            (cycle.starts.get(i), cycle.starts.get(i + 1)),
            (Some(&start), Some(&next)) if start <= jdn && jdn < next
        )
    })?;
    let start = *cycle.starts.get(index)?;
    let (month, leap, lunar_year) = cycle.label(index);
    Some(LunarDate {
        day: u8::try_from(jdn - start + 1).ok()?,
        month,
        year: lunar_year,
        leap,
    })
}

/// Whether `tz_hours` is an offset a real time zone could have.
fn valid_tz(tz_hours: f64) -> bool {
    tz_hours.is_finite() && (-14.0..=14.0).contains(&tz_hours)
}

/// Whether a day lies in the solar years [`MIN_YEAR`]..=[`MAX_YEAR`].
fn in_supported_range(jdn: i64) -> bool {
    let first = jdn_from_date(MIN_YEAR, 1, 1);
    let last = jdn_from_date(MAX_YEAR, 12, 31);
    matches!((first, last), (Some(first), Some(last)) if (first..=last).contains(&jdn))
}

// ---------------------------------------------------------------------------
// Julian day numbers
// ---------------------------------------------------------------------------

/// The number of days in a month of the (proleptic) Gregorian calendar.
pub(crate) fn days_in_solar_month(year: i32, month: u8) -> Option<u8> {
    let leap_year = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if leap_year => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// The Julian day number of a Gregorian date: the count of days since
/// 1 January 4713 BC of the Julian calendar, which makes differences between
/// dates plain subtraction. `None` for a date that does not exist.
///
/// The year is shifted to start in March, so that the leap day is the last day
/// of the shifted year and month lengths follow the regular 153-days-per-five-
/// months pattern; then whole shifted years, their leap days and the century
/// corrections are added up.
pub(crate) fn jdn_from_date(year: i32, month: u8, day: u8) -> Option<i64> {
    if day == 0 || day > days_in_solar_month(year, month)? {
        return None;
    }
    let (year, month, day) = (i64::from(year), i64::from(month), i64::from(day));
    let before_march = i64::from(month < 3);
    let y = year + 4800 - before_march;
    let m = month + 12 * before_march - 3;
    Some(
        day + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
            - 32045,
    )
}

/// The Gregorian date `(year, month, day)` of a Julian day number: the inverse
/// of [`jdn_from_date`], peeling off 400-year cycles, then centuries, 4-year
/// cycles and years, before undoing the March-based year.
pub(crate) fn date_from_jdn(jdn: i64) -> (i32, u8, u8) {
    let a = jdn + 32044;
    let b = (4 * a + 3).div_euclid(146_097);
    let c = a - (146_097 * b).div_euclid(4);
    let d = (4 * c + 3).div_euclid(1461);
    let e = c - (1461 * d).div_euclid(4);
    let m = (5 * e + 2).div_euclid(153);
    let day = e - (153 * m + 2).div_euclid(5) + 1;
    let month = m + 3 - 12 * m.div_euclid(10);
    let year = 100 * b + d - 4800 + m.div_euclid(10);
    // Callers only pass days of supported years, where these always fit.
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(0),
        u8::try_from(day).unwrap_or(0),
    )
}

/// The day of the week of a Julian day number: 0 = Sunday, 1 = Monday, …,
/// 6 = Saturday (JDN 0 was a Monday).
pub(crate) fn weekday(jdn: i64) -> u8 {
    u8::try_from((jdn + 1).rem_euclid(7)).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Astronomy
// ---------------------------------------------------------------------------

/// The mean length of a lunation (synodic month), in days.
const SYNODIC_MONTH: f64 = 29.530_588_853;

/// The Julian date of new moon number 0, 1900-01-01 at about 13:51 UTC, from
/// which new moons are numbered.
const NEW_MOON_EPOCH: f64 = 2_415_021.076_998_695;

/// The instant (Julian date, UT) of the `k`-th new moon counted from the one
/// of 1900-01-01; negative `k` counts backwards.
///
/// We start from the *mean* new moon, which advances by a mean synodic month
/// each lunation (with slow secular terms in T, Julian centuries since 1900).
/// The true new moon differs from it by up to about 14 hours, mostly because
/// the Moon's and the Sun's orbital speeds vary along their elliptical orbits.
/// Meeus's periodic corrections are a short sum of sines of three angles at
/// that lunation: the Sun's mean anomaly `m`, the Moon's mean anomaly `mp`,
/// and the Moon's argument of latitude `f`. Finally the result, computed in
/// dynamical time, is brought to universal time by subtracting ΔT.
fn new_moon_jd(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let t2 = t * t;
    let t3 = t2 * t;
    let rad = std::f64::consts::PI / 180.0;
    let sin_deg = |degrees: f64| (degrees * rad).sin();

    let mean = 2_415_020.759_33 + 29.530_588_68 * k + 0.000_117_8 * t2 - 0.000_000_155 * t3
        + 0.000_33 * sin_deg(166.56 + 132.87 * t - 0.009_173 * t2);

    let m = 359.2242 + 29.105_356_08 * k - 0.000_033_3 * t2 - 0.000_003_47 * t3;
    let mp = 306.0253 + 385.816_918_06 * k + 0.010_730_6 * t2 + 0.000_012_36 * t3;
    let f = 21.2964 + 390.670_506_46 * k - 0.001_652_8 * t2 - 0.000_002_39 * t3;

    let correction = (0.1734 - 0.000_393 * t) * sin_deg(m) + 0.0021 * sin_deg(2.0 * m)
        - 0.4068 * sin_deg(mp)
        + 0.0161 * sin_deg(2.0 * mp)
        - 0.0004 * sin_deg(3.0 * mp)
        + 0.0104 * sin_deg(2.0 * f)
        - 0.0051 * sin_deg(m + mp)
        - 0.0074 * sin_deg(m - mp)
        + 0.0004 * sin_deg(2.0 * f + m)
        - 0.0004 * sin_deg(2.0 * f - m)
        - 0.0006 * sin_deg(2.0 * f + mp)
        + 0.0010 * sin_deg(2.0 * f - mp)
        + 0.0005 * sin_deg(2.0 * mp + m);

    // ΔT (dynamical minus universal time), in days: a polynomial fit for the
    // centuries around 1900, and an older one for the distant past.
    let delta_t = if t < -11.0 {
        0.001 + 0.000_839 * t + 0.000_226_1 * t2 - 0.000_008_45 * t3 - 0.000_000_081 * t * t3
    } else {
        -0.000_278 + 0.000_265 * t + 0.000_262 * t2
    };

    mean + correction - delta_t
}

/// The Julian day number of the local day on which new moon `k` falls.
///
/// A JDN day runs from noon to noon UT, so the civil day starting at local
/// midnight containing the instant `jd` is `floor(jd + 0.5 + tz/24)`.
fn new_moon_day(k: i64, tz_hours: f64) -> i64 {
    (new_moon_jd(k) + 0.5 + tz_hours / 24.0).floor() as i64
}

/// The Sun's apparent ecliptic longitude, in degrees in [0, 360), at Julian
/// date `jd`.
///
/// The mean longitude `l0` grows by 360° a year; the Sun's true position runs
/// ahead of or behind it because Earth's orbit is an ellipse, by the equation
/// of centre `c` (a sum of sines of the mean anomaly `m`). Nutation and
/// aberration shift the *apparent* longitude by a further hundredth of a
/// degree or so, driven by the longitude of the Moon's ascending node `omega`.
fn sun_longitude(jd: f64) -> f64 {
    let t = (jd - 2_451_545.0) / 36_525.0; // Julian centuries since J2000.0
    let t2 = t * t;
    let rad = std::f64::consts::PI / 180.0;
    let sin_deg = |degrees: f64| (degrees * rad).sin();

    let m = 357.529_10 + 35_999.050_30 * t - 0.000_155_9 * t2 - 0.000_000_48 * t * t2;
    let l0 = 280.466_45 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let c = (1.914_600 - 0.004_817 * t - 0.000_014 * t2) * sin_deg(m)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * m)
        + 0.000_290 * sin_deg(3.0 * m);
    let omega = 125.04 - 1934.136 * t;
    let apparent = l0 + c - 0.005_69 - 0.004_78 * sin_deg(omega);
    apparent.rem_euclid(360.0)
}

/// The Sun's apparent longitude at the local midnight that begins day `jdn`.
fn sun_longitude_at_day_start(jdn: i64, tz_hours: f64) -> f64 {
    sun_longitude(jdn as f64 - 0.5 - tz_hours / 24.0)
}

/// The major solar term (trung khí) in force at the start of day `jdn`: the
/// Sun's longitude in whole 30° steps, 0–11. A month during which the Sun
/// enters no new major term starts and ends (the start of the next month) in
/// the same term.
fn major_term(jdn: i64, tz_hours: f64) -> u8 {
    // The longitude is below 360, so this is 0–11; the cast cannot wrap.
    (sun_longitude_at_day_start(jdn, tz_hours) / 30.0).floor() as u8
}

/// The number `k` of the new moon that starts month 11 of the lunar year
/// running at the end of solar year `year`: the lunation in which the winter
/// solstice (the Sun at 270°) falls.
///
/// Take the last mean new moon before 31 December. If, at the start of the day
/// it falls on, the Sun has already reached 270°, the solstice came before it
/// and month 11 is the lunation before; otherwise the solstice (around
/// 21–22 December) lies between it and the next new moon, so this is month 11.
fn month_11_new_moon(year: i32, tz_hours: f64) -> Option<i64> {
    let dec_31 = jdn_from_date(year, 12, 31)?;
    let k = ((dec_31 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    let start = new_moon_day(k, tz_hours);
    if sun_longitude_at_day_start(start, tz_hours) >= 270.0 {
        Some(k - 1)
    } else {
        Some(k)
    }
}

// ---------------------------------------------------------------------------
// One cycle of months, from one month 11 to the next
// ---------------------------------------------------------------------------

/// The lunations from month 11 of solar year `year` up to, not including, the
/// next month 11: months 11 and 12 of lunar year `year` then months 1–10 of
/// lunar year `year + 1`, with a leap month somewhere among them when there
/// are 13.
struct Cycle {
    /// The solar year in whose November or December the cycle starts.
    year: i32,
    /// 12 or 13.
    months: usize,
    /// The JDN of the first day of each month; `starts[months]` is the first
    /// day of the next cycle's month 11.
    starts: [i64; 14],
    /// The position (1–12) of the leap month, when there are 13 months.
    leap_at: Option<usize>,
}

impl Cycle {
    fn of_solar_year(year: i32, tz_hours: f64) -> Option<Cycle> {
        let first = month_11_new_moon(year, tz_hours)?;
        let next = month_11_new_moon(year.checked_add(1)?, tz_hours)?;
        // Between two solstices there are 12 or 13 new moons, never another
        // count; anything else means the astronomy was pushed out of range.
        let months = usize::try_from(next - first)
            .ok()
            .filter(|n| (12..=13).contains(n))?;
        let mut starts = [0_i64; 14];
        for (i, slot) in starts.iter_mut().enumerate().take(months + 1) {
            *slot = new_moon_day(first + i64::try_from(i).ok()?, tz_hours);
        }
        // With 13 lunations but only 12 major terms between the two
        // solstices, at least one month after month 11 holds no major term;
        // the first such month is the leap month.
        let leap_at = if months == 13 {
            let terms = starts.map(|day| major_term(day, tz_hours));
            Some((1..=12).find(|&i| terms.get(i) == terms.get(i + 1))?)
        } else {
            None
        };
        Some(Cycle {
            year,
            months,
            starts,
            leap_at,
        })
    }

    /// The `(month, leap, lunar year)` of the month at `index`.
    ///
    /// Counting the months of the cycle without the leap month, position 0 is
    /// month 11, 1 is month 12, 2 is month 1 (of the next lunar year), … 11 is
    /// month 10. The leap month repeats the number of the month before it.
    fn label(&self, index: usize) -> (u8, bool, i32) {
        let (ordinal, leap) = match self.leap_at {
            Some(at) if index == at => (index - 1, true),
            Some(at) if index > at => (index - 1, false),
            _ => (index, false),
        };
        let month = ((10 + ordinal) % 12) as u8 + 1;
        let lunar_year = if ordinal <= 1 {
            self.year
        } else {
            self.year + 1
        };
        (month, leap, lunar_year)
    }

    /// The index in this cycle of `month` (the leap month when `leap`), or
    /// `None` when the cycle has no such leap month.
    fn index_of(&self, month: u8, leap: bool) -> Option<usize> {
        // 11 → 0, 12 → 1, 1 → 2, …, 10 → 11.
        let ordinal = usize::from((month + 1) % 12);
        match (self.leap_at, leap) {
            (Some(at), true) if at == ordinal + 1 => Some(at),
            (_, true) => None,
            (Some(at), false) if ordinal >= at => Some(ordinal + 1),
            _ => Some(ordinal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: f64 = VIETNAM_TZ_HOURS;

    fn tet(year: i32, tz: f64) -> Option<(i32, u8, u8)> {
        lunar_to_solar(1, 1, year, false, tz)
    }

    #[test]
    fn julian_day_numbers_are_the_standard_ones() {
        assert_eq!(jdn_from_date(2000, 1, 1), Some(2_451_545));
        assert_eq!(jdn_from_date(1900, 1, 1), Some(2_415_021));
        assert_eq!(date_from_jdn(2_451_545), (2000, 1, 1));
        assert_eq!(date_from_jdn(2_460_370), (2024, 2, 29));
        assert_eq!(jdn_from_date(2023, 2, 29), None);
        assert_eq!(jdn_from_date(2024, 13, 1), None);
        assert_eq!(jdn_from_date(2024, 4, 31), None);
        // 2000-01-01 was a Saturday, 2024-09-02 a Monday.
        assert_eq!(jdn_from_date(2000, 1, 1).map(weekday), Some(6));
        assert_eq!(jdn_from_date(2024, 9, 2).map(weekday), Some(1));
    }

    #[test]
    fn tet_in_vietnam() {
        assert_eq!(tet(1985, TZ), Some((1985, 1, 21)));
        assert_eq!(tet(2007, TZ), Some((2007, 2, 17)));
        assert_eq!(tet(2020, TZ), Some((2020, 1, 25)));
        assert_eq!(tet(2023, TZ), Some((2023, 1, 22)));
        assert_eq!(tet(2024, TZ), Some((2024, 2, 10)));
        assert_eq!(tet(2025, TZ), Some((2025, 1, 29)));
        assert_eq!(tet(2026, TZ), Some((2026, 2, 17)));
        assert_eq!(tet(2027, TZ), Some((2027, 2, 6)));
        // The new moon of February 2030 comes at 23:07 on the 2nd in Vietnam,
        // 00:07 on the 3rd in China.
        assert_eq!(tet(2030, TZ), Some((2030, 2, 2)));
    }

    #[test]
    fn the_time_zone_matters_chinese_new_year_at_utc_8() {
        assert_eq!(tet(1985, 8.0), Some((1985, 2, 20)));
        assert_eq!(tet(2007, 8.0), Some((2007, 2, 18)));
        assert_eq!(tet(2024, 8.0), Some((2024, 2, 10)));
        assert_eq!(tet(2030, 8.0), Some((2030, 2, 3)));
    }

    #[test]
    fn hung_kings_day_lunar_10_3() {
        assert_eq!(lunar_to_solar(10, 3, 2024, false, TZ), Some((2024, 4, 18)));
        assert_eq!(lunar_to_solar(10, 3, 2025, false, TZ), Some((2025, 4, 7)));
        assert_eq!(lunar_to_solar(10, 3, 2026, false, TZ), Some((2026, 4, 26)));
    }

    #[test]
    fn known_leap_months_and_month_lengths() {
        // 2023 (Quý Mão) had a leap month 2; 2025 (Ất Tỵ) a leap month 6;
        // 2020 (Canh Tý) a leap month 4.
        assert_eq!(lunar_to_solar(1, 2, 2023, true, TZ), Some((2023, 3, 22)));
        assert_eq!(lunar_to_solar(1, 6, 2025, true, TZ), Some((2025, 7, 25)));
        assert_eq!(lunar_to_solar(1, 4, 2020, true, TZ), Some((2020, 5, 23)));
        assert_eq!(lunar_to_solar(1, 5, 2024, true, TZ), None);
        // Month 12 of Ất Tỵ has 29 days: the day before Tết 2026 is its 29th.
        assert_eq!(lunar_to_solar(29, 12, 2025, false, TZ), Some((2026, 2, 16)));
        assert_eq!(lunar_to_solar(30, 12, 2025, false, TZ), None);
        assert_eq!(
            solar_to_lunar(2026, 2, 16, TZ),
            Some(LunarDate {
                day: 29,
                month: 12,
                year: 2025,
                leap: false
            })
        );
        assert_eq!(
            solar_to_lunar(2025, 8, 1, TZ),
            Some(LunarDate {
                day: 8,
                month: 6,
                year: 2025,
                leap: true
            })
        );
    }

    #[test]
    fn bad_input_is_none_not_a_panic() {
        assert_eq!(solar_to_lunar(1899, 12, 31, TZ), None);
        assert_eq!(solar_to_lunar(2200, 1, 1, TZ), None);
        assert_eq!(solar_to_lunar(i32::MIN, 1, 1, TZ), None);
        assert_eq!(solar_to_lunar(i32::MAX, 1, 1, TZ), None);
        assert_eq!(solar_to_lunar(2024, 2, 30, TZ), None);
        assert_eq!(solar_to_lunar(2024, 0, 1, TZ), None);
        assert_eq!(solar_to_lunar(2024, 1, 1, f64::NAN), None);
        assert_eq!(solar_to_lunar(2024, 1, 1, f64::INFINITY), None);
        assert_eq!(solar_to_lunar(2024, 1, 1, 100.0), None);
        assert_eq!(lunar_to_solar(1, 1, i32::MAX, false, TZ), None);
        assert_eq!(lunar_to_solar(1, 1, i32::MIN, false, TZ), None);
        assert_eq!(lunar_to_solar(1, 1, 2200, false, TZ), None);
        assert_eq!(lunar_to_solar(0, 1, 2024, false, TZ), None);
        assert_eq!(lunar_to_solar(31, 1, 2024, false, TZ), None);
        assert_eq!(lunar_to_solar(1, 0, 2024, false, TZ), None);
        assert_eq!(lunar_to_solar(1, 13, 2024, false, TZ), None);
        assert_eq!(lunar_to_solar(1, 1, 2024, false, f64::NAN), None);
        // Lunar 1899's month 12 began on 1900-01-01, inside the range; its
        // earlier months are outside it.
        assert_eq!(lunar_to_solar(1, 12, 1899, false, TZ), Some((1900, 1, 1)));
        assert_eq!(
            solar_to_lunar(1900, 1, 1, TZ),
            Some(LunarDate {
                day: 1,
                month: 12,
                year: 1899,
                leap: false
            })
        );
        assert_eq!(lunar_to_solar(30, 11, 1899, false, TZ), None);
        assert_eq!(lunar_to_solar(1, 1, 1899, false, TZ), None);
    }

    #[test]
    fn month_11_holds_the_winter_solstice() {
        for year in MIN_YEAR - 1..=MAX_YEAR {
            let Some(cycle) = Cycle::of_solar_year(year, TZ) else {
                panic!("no cycle for {year}");
            };
            let first = sun_longitude_at_day_start(cycle.starts[0], TZ);
            let second = sun_longitude_at_day_start(cycle.starts[1], TZ);
            assert!(
                (180.0..270.0).contains(&first),
                "{year}: month 11 starts at {first}°"
            );
            assert!(
                (270.0..360.0).contains(&second),
                "{year}: month 12 starts at {second}°"
            );
        }
    }

    /// Every supported day, one after the other: each converts to a lunar date
    /// and back to itself; consecutive days are consecutive lunar days; months
    /// have 29 or 30 days and years 12 or 13 months, at most one of them leap.
    #[test]
    fn every_day_round_trips_and_months_and_years_have_sane_lengths() {
        let (Some(first), Some(last)) = (
            jdn_from_date(MIN_YEAR, 1, 1),
            jdn_from_date(MAX_YEAR, 12, 31),
        ) else {
            panic!("range");
        };
        let mut previous: Option<LunarDate> = None;
        // Months counted in the lunar year being walked, and its leap months.
        let mut months_in_year = 0;
        let mut leaps_in_year = 0;
        let mut years_checked = 0;
        let mut days = 0;
        for jdn in first..=last {
            let (y, m, d) = date_from_jdn(jdn);
            let Some(lunar) = solar_to_lunar(y, m, d, TZ) else {
                panic!("{y}-{m}-{d} has no lunar date");
            };
            assert_eq!(
                lunar_to_solar(lunar.day, lunar.month, lunar.year, lunar.leap, TZ),
                Some((y, m, d)),
                "{y}-{m}-{d} → {lunar:?}"
            );
            if let Some(prev) = previous {
                if lunar.day == 1 {
                    assert!(
                        (29..=30).contains(&prev.day),
                        "{y}-{m}-{d}: month before {lunar:?} ended on {prev:?}"
                    );
                    assert_eq!(
                        lunar_to_solar(prev.day + 1, prev.month, prev.year, prev.leap, TZ),
                        None,
                        "{prev:?} is not the last day"
                    );
                    let expected = if lunar.leap {
                        (prev.month, prev.year)
                    } else if prev.month == 12 {
                        (1, prev.year + 1)
                    } else {
                        (prev.month + 1, prev.year)
                    };
                    assert_eq!(
                        (lunar.month, lunar.year),
                        expected,
                        "{prev:?} then {lunar:?}"
                    );
                    assert!(
                        !(lunar.leap && prev.leap),
                        "two leap months in a row at {lunar:?}"
                    );
                    if lunar.year != prev.year {
                        // Lunar year 1899 is only partly inside the range.
                        if prev.year >= MIN_YEAR {
                            assert!(
                                (12..=13).contains(&months_in_year),
                                "{}: {months_in_year} months",
                                prev.year
                            );
                            assert_eq!(
                                leaps_in_year,
                                months_in_year - 12,
                                "{}: leap months",
                                prev.year
                            );
                            years_checked += 1;
                        }
                        months_in_year = 0;
                        leaps_in_year = 0;
                    }
                    months_in_year += 1;
                    leaps_in_year += i32::from(lunar.leap);
                } else {
                    assert_eq!(
                        lunar,
                        LunarDate {
                            day: prev.day + 1,
                            ..prev
                        },
                        "{y}-{m}-{d} does not follow {prev:?}"
                    );
                }
            }
            previous = Some(lunar);
            days += 1;
        }
        assert_eq!(days, 109_573); // 300 years, 73 of them leap
                                   // Lunar years 1900–2198 end inside the range.
        assert_eq!(years_checked, 299);
    }
}
