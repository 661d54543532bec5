//! Vietnam's statutory public holidays (ngày nghỉ lễ, tết) of a solar year, computed from the lunar calendar at UTC+7.
//!
//! The list is the one of the Labour Code 2019 (Bộ luật Lao động 2019),
//! article 112, clause 1 — 11 paid days off a year:
//!
//! * Tết Dương lịch: 1 January;
//! * Tết Nguyên Đán (Tết Âm lịch): 5 days, here the last day of the old lunar
//!   year (29 or 30 tháng Chạp) and lunar days 1–4 of month 1;
//! * Ngày Chiến thắng: 30 April;
//! * Quốc tế Lao động: 1 May;
//! * Quốc khánh: 2 September and one adjacent day (see [`vietnam`]);
//! * Giỗ Tổ Hùng Vương: lunar 10 of month 3.
//!
//! Each year the government announces the exact days, which may group the five
//! Tết days differently or swap working days to make longer breaks; the lists
//! here follow the fixed rules above and no announcement.

use crate::lunar::{self, date_from_jdn, jdn_from_date, weekday, VIETNAM_TZ_HOURS};

/// One statutory day off: its solar date `(year, month, day)` and its
/// Vietnamese name. A holiday of several days gives one `Holiday` per day, all
/// with the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Holiday {
    pub date: (i32, u8, u8),
    pub name: &'static str,
}

/// The solar date of Tết Nguyên Đán (lunar 1/1) of the lunar year that starts
/// in solar `year`, computed for Vietnam (UTC+7). `None` outside the years
/// [`lunar::MIN_YEAR`]..=[`lunar::MAX_YEAR`].
pub fn tet(year: i32) -> Option<(i32, u8, u8)> {
    lunar::lunar_to_solar(1, 1, year, false, VIETNAM_TZ_HOURS)
}

/// The statutory public holidays that fall in solar `year`, sorted by date
/// (11 entries). Empty outside the years
/// [`lunar::MIN_YEAR`]..=[`lunar::MAX_YEAR`].
///
/// * **Tết Nguyên Đán** is the last day of the lunar year (the day before Tết,
///   29 or 30 of month 12) and lunar 1, 2, 3 and 4 of month 1.
/// * **Giỗ Tổ Hùng Vương** is lunar 10 of the regular (not leap) month 3.
/// * **Quốc khánh** is 2 September plus one adjacent day. The law lets the
///   government pick the day before or after; this function uses a fixed rule
///   that joins 2/9 to a weekend when one of its neighbours can:
///   2/9 on a **Monday → 3/9** (Tuesday), on a **Thursday → 3/9** (Friday),
///   on a **Tuesday → 1/9** (Monday), and on a **Wednesday, Friday, Saturday or
///   Sunday → 1/9**. This matches the announced days of 2024 (Monday; 2/9 and
///   3/9) and 2025 (Tuesday; 1/9 and 2/9).
///
/// Compensatory days (nghỉ bù) are **not** applied: when a holiday falls on a
/// weekly rest day, the Labour Code gives the next working day off instead, but
/// which days are working days depends on the team (Monday–Friday,
/// Monday–Saturday, shifts…), so the caller applies that. The dates here are
/// the holidays themselves, even when they fall on a Saturday or Sunday.
///
/// Two holidays can fall on the same date — Giỗ Tổ Hùng Vương was on 30 April
/// in 1947 (the only such year in range) — and then both are listed, Giỗ Tổ
/// first; what that means for days off is, like nghỉ bù, the caller's call.
pub fn vietnam(year: i32) -> Vec<Holiday> {
    if !(lunar::MIN_YEAR..=lunar::MAX_YEAR).contains(&year) {
        return Vec::new();
    }
    let mut days = Vec::with_capacity(11);
    let mut add = |jdn: i64, name: &'static str| {
        let date = date_from_jdn(jdn);
        if date.0 == year {
            days.push(Holiday { date, name });
        }
    };
    let on = |month: u8, day: u8| jdn_from_date(year, month, day);

    if let Some(jdn) = on(1, 1) {
        add(jdn, "Tết Dương lịch");
    }

    // Tết always falls between 21 January and 20 February, so only the lunar
    // year starting in `year` has Tết days in it; the day before Tết is the
    // last day of the previous lunar year, whatever length (or leap month)
    // that year's last month had. The neighbouring lunar years are asked too,
    // and their days filtered by year, so that no assumption is built in.
    for lunar_year in [year - 1, year, year + 1] {
        if let Some(new_year) = tet(lunar_year).and_then(|(y, m, d)| jdn_from_date(y, m, d)) {
            for jdn in new_year - 1..=new_year + 3 {
                add(jdn, "Tết Nguyên Đán");
            }
        }
    }

    if let Some(jdn) = lunar::lunar_to_solar(10, 3, year, false, VIETNAM_TZ_HOURS)
        .and_then(|(y, m, d)| jdn_from_date(y, m, d))
    {
        add(jdn, "Giỗ Tổ Hùng Vương");
    }
    if let Some(jdn) = on(4, 30) {
        add(jdn, "Ngày Chiến thắng");
    }
    if let Some(jdn) = on(5, 1) {
        add(jdn, "Quốc tế Lao động");
    }
    if let Some(jdn) = on(9, 2) {
        add(jdn, "Quốc khánh");
        // 1 = Monday, 4 = Thursday: the day after reaches the weekend.
        let adjacent = if matches!(weekday(jdn), 1 | 4) {
            jdn + 1
        } else {
            jdn - 1
        };
        add(adjacent, "Quốc khánh");
    }

    days.sort_by_key(|holiday| holiday.date);
    days
}

/// The countries a team can name in `holidays COUNTRY`.
pub const COUNTRIES: &[&str] = &["vietnam"];

/// The public holidays of `country` (one of [`COUNTRIES`]) falling in `year`; empty for
/// any other name.
pub fn of_country(country: &str, year: i32) -> Vec<Holiday> {
    match country {
        "vietnam" => vietnam(year),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(year: i32) -> Vec<((i32, u8, u8), &'static str)> {
        vietnam(year)
            .into_iter()
            .map(|h| (h.date, h.name))
            .collect()
    }

    #[test]
    fn tet_dates() {
        assert_eq!(tet(1985), Some((1985, 1, 21)));
        assert_eq!(tet(2007), Some((2007, 2, 17)));
        assert_eq!(tet(2020), Some((2020, 1, 25)));
        assert_eq!(tet(2023), Some((2023, 1, 22)));
        assert_eq!(tet(2024), Some((2024, 2, 10)));
        assert_eq!(tet(2025), Some((2025, 1, 29)));
        assert_eq!(tet(2026), Some((2026, 2, 17)));
        assert_eq!(tet(2027), Some((2027, 2, 6)));
        assert_eq!(tet(2030), Some((2030, 2, 2))); // 2030-02-03 in China
        assert_eq!(tet(1899), None);
        assert_eq!(tet(2200), None);
    }

    #[test]
    fn statutory_days_2024() {
        // Tết Giáp Thìn: month 12 of Quý Mão had 29 days, so 9 Feb is 29 Chạp.
        // 2/9 is a Monday: 3/9 is added.
        assert_eq!(
            list(2024),
            vec![
                ((2024, 1, 1), "Tết Dương lịch"),
                ((2024, 2, 9), "Tết Nguyên Đán"),
                ((2024, 2, 10), "Tết Nguyên Đán"),
                ((2024, 2, 11), "Tết Nguyên Đán"),
                ((2024, 2, 12), "Tết Nguyên Đán"),
                ((2024, 2, 13), "Tết Nguyên Đán"),
                ((2024, 4, 18), "Giỗ Tổ Hùng Vương"),
                ((2024, 4, 30), "Ngày Chiến thắng"),
                ((2024, 5, 1), "Quốc tế Lao động"),
                ((2024, 9, 2), "Quốc khánh"),
                ((2024, 9, 3), "Quốc khánh"),
            ]
        );
    }

    #[test]
    fn statutory_days_2025() {
        // Tết Ất Tỵ: 28 Jan is 29 Chạp of Giáp Thìn. 2/9 is a Tuesday: 1/9.
        assert_eq!(
            list(2025),
            vec![
                ((2025, 1, 1), "Tết Dương lịch"),
                ((2025, 1, 28), "Tết Nguyên Đán"),
                ((2025, 1, 29), "Tết Nguyên Đán"),
                ((2025, 1, 30), "Tết Nguyên Đán"),
                ((2025, 1, 31), "Tết Nguyên Đán"),
                ((2025, 2, 1), "Tết Nguyên Đán"),
                ((2025, 4, 7), "Giỗ Tổ Hùng Vương"),
                ((2025, 4, 30), "Ngày Chiến thắng"),
                ((2025, 5, 1), "Quốc tế Lao động"),
                ((2025, 9, 1), "Quốc khánh"),
                ((2025, 9, 2), "Quốc khánh"),
            ]
        );
    }

    #[test]
    fn statutory_days_2026() {
        // Tết Bính Ngọ: month 12 of Ất Tỵ runs 19 Jan – 16 Feb, 29 days, so
        // 16 Feb is 29 Chạp. 2/9 is a Wednesday: 1/9 by the fixed rule.
        assert_eq!(
            list(2026),
            vec![
                ((2026, 1, 1), "Tết Dương lịch"),
                ((2026, 2, 16), "Tết Nguyên Đán"),
                ((2026, 2, 17), "Tết Nguyên Đán"),
                ((2026, 2, 18), "Tết Nguyên Đán"),
                ((2026, 2, 19), "Tết Nguyên Đán"),
                ((2026, 2, 20), "Tết Nguyên Đán"),
                ((2026, 4, 26), "Giỗ Tổ Hùng Vương"),
                ((2026, 4, 30), "Ngày Chiến thắng"),
                ((2026, 5, 1), "Quốc tế Lao động"),
                ((2026, 9, 1), "Quốc khánh"),
                ((2026, 9, 2), "Quốc khánh"),
            ]
        );
        assert_eq!(
            lunar::lunar_to_solar(1, 12, 2025, false, VIETNAM_TZ_HOURS),
            Some((2026, 1, 19))
        );
    }

    #[test]
    fn coinciding_holidays_are_both_listed() {
        let days = list(1947);
        assert_eq!(
            days.get(6..8),
            Some(
                &[
                    ((1947, 4, 30), "Giỗ Tổ Hùng Vương"),
                    ((1947, 4, 30), "Ngày Chiến thắng")
                ][..]
            )
        );
    }

    #[test]
    fn gio_to_is_lunar_10_3() {
        let day = |year| {
            vietnam(year)
                .into_iter()
                .find(|h| h.name == "Giỗ Tổ Hùng Vương")
                .map(|h| h.date)
        };
        assert_eq!(day(2024), Some((2024, 4, 18)));
        assert_eq!(day(2025), Some((2025, 4, 7)));
        assert_eq!(day(2026), Some((2026, 4, 26)));
    }

    #[test]
    fn national_day_neighbour_by_weekday() {
        let national_day = |year| -> Vec<(i32, u8, u8)> {
            vietnam(year)
                .into_iter()
                .filter(|h| h.name == "Quốc khánh")
                .map(|h| h.date)
                .collect()
        };
        assert_eq!(national_day(2021), vec![(2021, 9, 2), (2021, 9, 3)]); // Thursday
        assert_eq!(national_day(2022), vec![(2022, 9, 1), (2022, 9, 2)]); // Friday
        assert_eq!(national_day(2023), vec![(2023, 9, 1), (2023, 9, 2)]); // Saturday
        assert_eq!(national_day(2024), vec![(2024, 9, 2), (2024, 9, 3)]); // Monday
        assert_eq!(national_day(2025), vec![(2025, 9, 1), (2025, 9, 2)]); // Tuesday
        assert_eq!(national_day(2029), vec![(2029, 9, 1), (2029, 9, 2)]); // Sunday
    }

    #[test]
    fn every_supported_year_has_eleven_sorted_days_and_none_outside() {
        for year in lunar::MIN_YEAR..=lunar::MAX_YEAR {
            let days = vietnam(year);
            assert_eq!(days.len(), 11, "{year}: {days:?}");
            assert!(
                days.windows(2).all(|w| w[0].date <= w[1].date),
                "{year}: {days:?}"
            );
            let mut distinct: Vec<_> = days.iter().map(|h| h.date).collect();
            distinct.dedup();
            let expected = if year == 1947 { 10 } else { 11 };
            assert_eq!(distinct.len(), expected, "{year}: {days:?}");
            assert!(days.iter().all(|h| h.date.0 == year), "{year}: {days:?}");
            let tet_days = days.iter().filter(|h| h.name == "Tết Nguyên Đán").count();
            assert_eq!(tet_days, 5, "{year}");
        }
        assert!(vietnam(lunar::MIN_YEAR - 1).is_empty());
        assert!(vietnam(lunar::MAX_YEAR + 1).is_empty());
        assert!(vietnam(i32::MIN).is_empty());
        assert!(vietnam(i32::MAX).is_empty());
    }
}
