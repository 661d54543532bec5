//! Implementations of the built-in functions, shared by the interpreter and the JIT's helpers. All are total.

use unicode_normalization::UnicodeNormalization;

use crate::FREE_MAIL_DOMAINS;

pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

pub fn upper(s: &str) -> String {
    s.to_uppercase()
}

pub fn trim(s: &str) -> String {
    s.trim().to_owned()
}

/// Removes diacritics: decompose, drop combining marks, map `đ`/`Đ`; the result is NFC.
pub fn unaccent(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{0300}'..='\u{036F}').contains(c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            other => other,
        })
        .nfc()
        .collect()
}

pub fn length(s: &str) -> f64 {
    s.chars().count() as f64
}

pub fn domain(s: &str) -> String {
    match s.rfind('@') {
        Some(i) => s[i + 1..].to_lowercase(),
        None => String::new(),
    }
}

pub fn free_email(s: &str) -> bool {
    let d = domain(s);
    FREE_MAIL_DOMAINS.binary_search(&d.as_str()).is_ok()
}

/// Ties away from zero; non-finite results become 0 (evaluation is total).
pub extern "C" fn round(n: f64) -> f64 {
    finite(n.round())
}

pub extern "C" fn abs(n: f64) -> f64 {
    finite(n.abs())
}

pub extern "C" fn min(a: f64, b: f64) -> f64 {
    finite(a.min(b))
}

pub extern "C" fn max(a: f64, b: f64) -> f64 {
    finite(a.max(b))
}

/// Whole units of `unit_secs` from `then` to `now` (both in seconds), floored.
pub fn units_since(then: i64, now: i64, unit_secs: i64) -> f64 {
    let diff = (now as i128) - (then as i128);
    let q = diff.div_euclid(unit_secs as i128);
    q as f64
}

pub extern "C" fn days_since(then: i64, now: i64) -> f64 {
    units_since(then, now, 86_400)
}

pub extern "C" fn hours_since(then: i64, now: i64) -> f64 {
    units_since(then, now, 3_600)
}

/// The language's rule for non-finite numbers: NaN and ±∞ become 0.
pub fn finite(n: f64) -> f64 {
    if n.is_finite() {
        n
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unaccent_strips_vietnamese_marks() {
        assert_eq!(unaccent("Giám đốc"), "Giam doc");
        assert_eq!(unaccent("ĐÀ NẴNG"), "DA NANG");
        assert_eq!(unaccent("Nguyễn Thị Hương"), "Nguyen Thi Huong");
    }

    #[test]
    fn domain_and_free_mail() {
        assert_eq!(domain("An@Gmail.COM"), "gmail.com");
        assert_eq!(domain("no-at-sign"), "");
        assert!(free_email("x@yahoo.com.vn"));
        assert!(!free_email("an@techviet.vn"));
    }

    #[test]
    fn free_mail_list_is_sorted_for_binary_search() {
        let mut sorted = FREE_MAIL_DOMAINS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, FREE_MAIL_DOMAINS);
    }

    #[test]
    fn rounding_and_days() {
        assert_eq!(round(2.5), 3.0);
        assert_eq!(round(-2.5), -3.0);
        assert_eq!(days_since(0, 86_399), 0.0);
        assert_eq!(days_since(86_400, 0), -1.0);
        assert_eq!(hours_since(0, 7_200), 2.0);
        assert_eq!(max(f64::NAN, 1.0), 1.0);
    }
}
