//! `tandem diff` for what is not a journey, rule, score, handoff or schedule but still moves what they do: teams (members, manager, hours, zone, closed and open days, holidays — every SLA deadline and escalation reads them) and the program's settings (its time zone, the sending block's sender, quiet hours and cap).

use super::{value, Change, DeclChange, DeclKind, ValueChange};
use crate::program::{Day, LoweredProgram, SendingIr, TeamIr};

/// Teams added, removed or changed (the same matching by name as every other
/// declaration), with each changed part's old and new value.
pub(super) fn team_changes(old: &LoweredProgram, new: &LoweredProgram) -> Vec<DeclChange> {
    let mut out = Vec::new();
    super::compare_named(
        &mut out,
        DeclKind::Team,
        &old.teams,
        &new.teams,
        |t: &TeamIr| &t.name,
        |o, n| team_values(o, n).into_iter().map(|v| v.part).collect(),
    );
    for c in &mut out {
        let pair = (
            old.teams.iter().find(|t| t.name == c.name),
            new.teams.iter().find(|t| t.name == c.name),
        );
        if let (Change::Changed, (Some(o), Some(n))) = (c.change, pair) {
            c.values = team_values(o, n);
        }
    }
    out
}

/// A team's parts whose value differs, old → new.
fn team_values(o: &TeamIr, n: &TeamIr) -> Vec<ValueChange> {
    [
        value("members", o.members.join(", "), n.members.join(", ")),
        value("manager", or_none(&o.manager), or_none(&n.manager)),
        value("hours", hours(&o.hours), hours(&n.hours)),
        value("timezone", zone(&o.timezone), zone(&n.timezone)),
        value("closed", closed(&o.closed), closed(&n.closed)),
        value("open", open(&o.open), open(&n.open)),
        value("holidays", or_none(&o.holidays), or_none(&n.holidays)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The program's time zone and sending block, when they differ.
pub(super) fn program_changes(old: &LoweredProgram, new: &LoweredProgram) -> Vec<DeclChange> {
    let changed = |name: &str, values: Vec<ValueChange>| DeclChange {
        parts: values.iter().map(|v| v.part.clone()).collect(),
        values,
        change: Change::Changed,
        ..super::added(DeclKind::Program, name)
    };
    let mut out = Vec::new();
    if let Some(v) = value("timezone", old.timezone.clone(), new.timezone.clone()) {
        out.push(changed("timezone", vec![v]));
    }
    let sending: Vec<ValueChange> = sending_values(&old.sending, &new.sending);
    if !sending.is_empty() {
        out.push(changed("sending", sending));
    }
    out
}

fn sending_values(o: &SendingIr, n: &SendingIr) -> Vec<ValueChange> {
    let quiet = |q: &Option<(u32, u32)>| match q {
        Some((a, b)) => format!("{} to {}", clock(*a), clock(*b)),
        None => "none".to_owned(),
    };
    let cap = |c: &Option<(u64, i64)>| match c {
        Some((count, secs)) => format!("at most {count} per {}", duration(*secs)),
        None => "none".to_owned(),
    };
    [
        value("from", or_none(&o.from), or_none(&n.from)),
        value("quiet hours", quiet(&o.quiet), quiet(&n.quiet)),
        value("cap", cap(&o.cap), cap(&n.cap)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Seconds in the largest unit that divides them: `7 days`, `12 hours`, `90 minutes`.
fn duration(secs: i64) -> String {
    for (unit, size) in [
        ("weeks", 604_800),
        ("days", 86_400),
        ("hours", 3_600),
        ("minutes", 60),
    ] {
        if secs >= size && secs % size == 0 {
            let n = secs / size;
            let unit = if n == 1 {
                unit.trim_end_matches('s')
            } else {
                unit
            };
            return format!("{n} {unit}");
        }
    }
    format!("{secs} seconds")
}

fn or_none(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "none".to_owned())
}

fn zone(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "the program's".to_owned())
}

fn clock(minute: u32) -> String {
    format!("{}:{:02}", minute / 60, minute % 60)
}

fn date((y, m, d): &Day) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// `mon-fri 8:30-17:30; sat 8:00-12:00`.
fn hours(h: &[(u8, u32, u32)]) -> String {
    if h.is_empty() {
        return "none".to_owned();
    }
    h.iter()
        .map(|(mask, a, b)| format!("{} {}-{}", days(*mask), clock(*a), clock(*b)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A weekday mask (bit 0 = Monday) as runs of day names: `mon-fri`, `mon,wed,fri`.
fn days(mask: u8) -> String {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < 7 {
        if mask & (1 << i) == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < 7 && mask & (1 << (i + 1)) != 0 {
            i += 1;
        }
        runs.push(if i > start + 1 {
            format!("{}-{}", NAMES[start], NAMES[i])
        } else if i == start + 1 {
            format!("{},{}", NAMES[start], NAMES[i])
        } else {
            NAMES[start].to_owned()
        });
        i += 1;
    }
    runs.join(",")
}

fn closed(c: &[(Day, Day)]) -> String {
    if c.is_empty() {
        return "none".to_owned();
    }
    c.iter()
        .map(|(a, b)| {
            if a == b {
                date(a)
            } else {
                format!("{} to {}", date(a), date(b))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn open(o: &[(Day, Option<(u32, u32)>)]) -> String {
    if o.is_empty() {
        return "none".to_owned();
    }
    o.iter()
        .map(|(d, h)| match h {
            Some((a, b)) => format!("{} {}-{}", date(d), clock(*a), clock(*b)),
            None => date(d),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekday_masks_read_as_day_names() {
        assert_eq!(days(0b001_1111), "mon-fri");
        assert_eq!(days(0b010_0000), "sat");
        assert_eq!(days(0b001_0101), "mon,wed,fri");
        assert_eq!(days(0b110_0000), "sat,sun");
        assert_eq!(
            hours(&[(0b001_1111, 8 * 60 + 30, 17 * 60 + 30)]),
            "mon-fri 8:30-17:30"
        );
    }
}
