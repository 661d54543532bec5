//! Instants for people: `--tz ZONE` of the commands whose human output prints instants (`tandem test`, `tandem explain`, `tandem backtest`), which write them in that zone with its offset (`2026-03-02 09:00 +07`) — by default the program's `timezone` — while JSON, JUnit and the timeline itself stay in UTC (`2026-03-02T02:00:00Z`).

use std::fmt::Write as _;

/// A time zone to write instants in.
#[derive(Debug, Clone)]
pub struct Zone {
    tz: jiff::tz::TimeZone,
}

/// `--tz ZONE`: an IANA time zone name (`Asia/Ho_Chi_Minh`, `Europe/Berlin`, `UTC`).
pub fn parse_zone(name: &str) -> Result<Zone, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(
            "no time zone given: write an IANA name such as Asia/Ho_Chi_Minh or UTC".into(),
        );
    }
    jiff::tz::TimeZone::get(name)
        .map(|tz| Zone { tz })
        .map_err(|_| {
            format!("`{name}` is not a time zone: write an IANA name such as Asia/Ho_Chi_Minh, Asia/Bangkok or UTC")
        })
}

impl Zone {
    /// `--tz` when given, else the program's `timezone`, else UTC.
    pub fn or_program(given: Option<Zone>, program_timezone: &str) -> Zone {
        given.unwrap_or_else(|| Zone {
            tz: jiff::tz::TimeZone::get(program_timezone).unwrap_or(jiff::tz::TimeZone::UTC),
        })
    }

    /// The instant `secs` (seconds since 1970) as `2026-03-02 09:00 +07`: seconds only
    /// when there are some, minutes of the offset only when it has some (`+05:30`).
    pub fn instant(&self, secs: i64) -> String {
        let Ok(at) = jiff::Timestamp::from_second(secs) else {
            return runtime::timeline::format_instant(secs);
        };
        let local = jiff::ZonedDateTime::new(at, self.tz.clone());
        let mut out = local.strftime("%Y-%m-%d %H:%M").to_string();
        if local.second() != 0 {
            let _ = write!(out, ":{:02}", local.second());
        }
        let offset = local.offset().seconds();
        let sign = if offset < 0 { '-' } else { '+' };
        let (hours, minutes) = (offset.abs() / 3600, offset.abs() / 60 % 60);
        let _ = write!(out, " {sign}{hours:02}");
        if minutes != 0 {
            let _ = write!(out, ":{minutes:02}");
        }
        out
    }

    /// `text` with every instant written as the timeline writes it
    /// (`2026-03-02T02:00:00Z`) rewritten by [`Zone::instant`]; the rest is unchanged.
    pub fn localise(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while i + 20 <= bytes.len() {
            if let Some(secs) = utc_instant(&bytes[i..i + 20]) {
                out.push_str(&text[copied..i]);
                out.push_str(&self.instant(secs));
                i += 20;
                copied = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` as seconds since 1970, or `None` for anything else.
fn utc_instant(b: &[u8]) -> Option<i64> {
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    if b.len() != shape.len()
        || !b.iter().zip(shape).all(|(c, s)| {
            if *s == b'd' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        })
    {
        return None;
    }
    let text = std::str::from_utf8(b).ok()?;
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Zone {
        parse_zone(name).expect("a zone")
    }

    #[test]
    fn instants_are_written_in_the_zone_with_its_offset() {
        // 2026-03-02T02:00:00Z
        let at = 1_772_416_800;
        assert_eq!(zone("Asia/Ho_Chi_Minh").instant(at), "2026-03-02 09:00 +07");
        assert_eq!(zone("UTC").instant(at), "2026-03-02 02:00 +00");
        assert_eq!(
            zone("Asia/Kolkata").instant(at + 30),
            "2026-03-02 07:30:30 +05:30"
        );
        assert_eq!(zone("America/New_York").instant(at), "2026-03-01 21:00 -05");
        // Summer time is the offset of that instant.
        assert_eq!(
            zone("Europe/Berlin").instant(1_782_871_200),
            "2026-07-01 04:00 +02"
        );
    }

    #[test]
    fn a_zone_is_an_iana_name() {
        let e = parse_zone("Mars/Olympus").expect_err("not a zone");
        assert!(e.contains("`Mars/Olympus` is not a time zone"), "{e}");
        assert!(parse_zone("").is_err());
        assert!(parse_zone("Asia/Bangkok").is_ok());
        // Without --tz, the program's zone; a program without one is read in UTC.
        let at = 1_772_416_800;
        let z = Zone::or_program(None, "Asia/Ho_Chi_Minh");
        assert_eq!(z.instant(at), "2026-03-02 09:00 +07");
        assert_eq!(
            Zone::or_program(None, "").instant(at),
            "2026-03-02 02:00 +00"
        );
        let z = Zone::or_program(Some(zone("UTC")), "Asia/Ho_Chi_Minh");
        assert_eq!(z.instant(at), "2026-03-02 02:00 +00");
    }

    #[test]
    fn only_timeline_instants_in_a_text_are_rewritten() {
        let z = zone("Asia/Ho_Chi_Minh");
        assert_eq!(
            z.localise(r#"{"at":"2026-03-02T02:00:00Z","lead":"an","kind":"email_deferred","until":"2026-03-02T03:30:00Z"}"#),
            r#"{"at":"2026-03-02 09:00 +07","lead":"an","kind":"email_deferred","until":"2026-03-02 10:30 +07"}"#
        );
        for same in [
            "2026-03-02",
            "2026-03-02T02:00:00",
            "2026-03-02T02:00:00+07:00",
            "2026-13-02T02:00:00Z",
            "",
            "Nguyễn An 2026-03-02T02:00:00",
        ] {
            assert_eq!(z.localise(same), same);
        }
        assert_eq!(
            z.localise("đến 2026-03-02T02:00:00Z."),
            "đến 2026-03-02 09:00 +07."
        );
    }
}
