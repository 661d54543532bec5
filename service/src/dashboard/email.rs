//! Email figures by day: sends, raw opens and clicks, bounces and suppressions on the day they happened, and — for the emails sent on a day — how many were opened or clicked at least once (unique per lead and template), so an open or click rate over a period never passes 100 %. Opens and clicks for a template the lead was never sent are counted apart, as unattributed (the events themselves mean what the language says; only the counting is apart).

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::Day;

/// Counters of a template on a day, by the day each line happened.
pub const SENT: usize = 0;
pub const OPENS: usize = 1;
pub const CLICKS: usize = 2;
pub const BOUNCED: usize = 3;
pub const SUPPRESSED: usize = 4;
pub const UNATTRIBUTED_OPENS: usize = 5;
pub const UNATTRIBUTED_CLICKS: usize = 6;

/// A template's counters on a day (see the constants above).
pub type DayCounts = [u64; 7];

/// Of the emails of a template sent on a day: opened, clicked (each at least once).
pub type SentOpened = [u64; 2];

/// What an open, click or bounce is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Open,
    Click,
    Bounce,
}

/// A lead's newest email of a template: the day it was sent, and whether it was opened
/// or clicked since.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
struct LastSend {
    day: Day,
    opened: bool,
    clicked: bool,
}

/// The email counters (see the module's comment).
#[derive(Default)]
pub struct EmailBook {
    templates: Vec<Arc<str>>,
    template_index: FxHashMap<Arc<str>, u32>,
    days: FxHashMap<(Day, u32), DayCounts>,
    cohorts: FxHashMap<(Day, u32), SentOpened>,
    /// (lead index, template) → its newest send.
    last: FxHashMap<(u32, u32), LastSend>,
}

/// The book as data, for a snapshot (maps written sorted: the same book, the same bytes).
#[derive(Serialize, Deserialize)]
pub struct SavedBook {
    templates: Vec<String>,
    days: Vec<((Day, u32), DayCounts)>,
    cohorts: Vec<((Day, u32), SentOpened)>,
    last: Vec<((u32, u32), LastSend)>,
}

impl EmailBook {
    fn template(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.template_index.get(name) {
            return i;
        }
        let i = u32::try_from(self.templates.len()).unwrap_or(u32::MAX);
        let shared: Arc<str> = Arc::from(name);
        self.templates.push(shared.clone());
        self.template_index.insert(shared, i);
        i
    }

    fn add(&mut self, day: Day, template: u32, column: usize) {
        let c = self.days.entry((day, template)).or_insert([0; 7]);
        c[column] = c[column].saturating_add(1);
    }

    /// An email of `template` sent to `lead` on `day`.
    pub fn sent(&mut self, day: Day, lead: Option<usize>, template: &str) {
        let t = self.template(template);
        self.add(day, t, SENT);
        if let Some(l) = lead.and_then(|l| u32::try_from(l).ok()) {
            self.last.insert(
                (l, t),
                LastSend {
                    day,
                    ..LastSend::default()
                },
            );
        }
    }

    /// An email of `template` not sent (suppressed) on `day`.
    pub fn suppressed(&mut self, day: Day, template: &str) {
        let t = self.template(template);
        self.add(day, t, SUPPRESSED);
    }

    /// An open, click or bounce of `template` by `lead` on `day`.
    pub fn reaction(&mut self, day: Day, lead: Option<usize>, template: &str, what: Reaction) {
        let t = self.template(template);
        let sent = lead
            .and_then(|l| u32::try_from(l).ok())
            .and_then(|l| self.last.get_mut(&(l, t)));
        let first = match (what, sent) {
            (Reaction::Bounce, _) => {
                self.add(day, t, BOUNCED);
                return;
            }
            (Reaction::Open, None) => {
                self.add(day, t, UNATTRIBUTED_OPENS);
                return;
            }
            (Reaction::Click, None) => {
                self.add(day, t, UNATTRIBUTED_CLICKS);
                return;
            }
            (Reaction::Open, Some(s)) => {
                let first = !s.opened;
                s.opened = true;
                first.then_some((s.day, 0))
            }
            (Reaction::Click, Some(s)) => {
                let first = !s.clicked;
                s.clicked = true;
                first.then_some((s.day, 1))
            }
        };
        self.add(
            day,
            t,
            if what == Reaction::Open {
                OPENS
            } else {
                CLICKS
            },
        );
        if let Some((sent_day, column)) = first {
            let c = self.cohorts.entry((sent_day, t)).or_insert([0; 2]);
            c[column] = c[column].saturating_add(1);
        }
    }

    fn name(&self, t: u32) -> String {
        self.templates
            .get(t as usize)
            .map(|n| n.to_string())
            .unwrap_or_default()
    }

    /// A map's entries with template names, sorted.
    fn named<C: Copy>(&self, m: &FxHashMap<(Day, u32), C>) -> Vec<((Day, String), C)> {
        let mut out: Vec<_> = m
            .iter()
            .map(|((d, t), c)| ((*d, self.name(*t)), *c))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The counters by (day, template name), sorted.
    pub fn days(&self) -> Vec<((Day, String), DayCounts)> {
        self.named(&self.days)
    }

    /// Opened and clicked by (send day, template name), sorted.
    pub fn cohorts(&self) -> Vec<((Day, String), SentOpened)> {
        self.named(&self.cohorts)
    }

    /// The book as data (see [`EmailBook::restore`]).
    pub fn save(&self) -> SavedBook {
        SavedBook {
            templates: self.templates.iter().map(|t| t.to_string()).collect(),
            days: sorted(&self.days),
            cohorts: sorted(&self.cohorts),
            last: sorted(&self.last),
        }
    }

    /// A book from saved data; refused when it refers to templates it does not name.
    pub fn restore(saved: SavedBook) -> Result<EmailBook, String> {
        let mut book = EmailBook::default();
        for t in &saved.templates {
            book.template(t);
        }
        let n = book.templates.len() as u32;
        let known = |t: u32| {
            (t < n)
                .then_some(())
                .ok_or_else(|| "the saved email counters name an unknown template".to_owned())
        };
        for ((d, t), c) in saved.days {
            known(t)?;
            book.days.insert((d, t), c);
        }
        for ((d, t), c) in saved.cohorts {
            known(t)?;
            book.cohorts.insert((d, t), c);
        }
        for ((l, t), s) in saved.last {
            known(t)?;
            book.last.insert((l, t), s);
        }
        Ok(book)
    }
}

/// A map's entries sorted by key (the same book always saves to the same bytes).
fn sorted<K: Ord + Copy, V: Copy>(m: &FxHashMap<K, V>) -> Vec<(K, V)> {
    let mut v: Vec<(K, V)> = m.iter().map(|(k, c)| (*k, *c)).collect();
    v.sort_unstable_by_key(|e| e.0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_and_clicks_count_once_per_email_sent_and_apart_when_never_sent() {
        let mut b = EmailBook::default();
        b.sent(20260105, Some(1), "hello");
        b.sent(20260105, Some(2), "hello");
        // Lead 1 opens twice (one unique open, two raw), on the next day.
        b.reaction(20260106, Some(1), "hello", Reaction::Open);
        b.reaction(20260106, Some(1), "hello", Reaction::Open);
        b.reaction(20260106, Some(1), "hello", Reaction::Click);
        // Lead 3 was never sent `hello`: unattributed.
        b.reaction(20260106, Some(3), "hello", Reaction::Open);
        b.reaction(20260106, Some(3), "hello", Reaction::Click);
        b.reaction(20260107, Some(2), "hello", Reaction::Bounce);
        let days: std::collections::BTreeMap<_, _> = b.days().into_iter().collect();
        assert_eq!(days[&(20260105, "hello".into())][SENT], 2);
        let next = days[&(20260106, "hello".into())];
        assert_eq!((next[OPENS], next[CLICKS]), (2, 1));
        assert_eq!(
            (next[UNATTRIBUTED_OPENS], next[UNATTRIBUTED_CLICKS]),
            (1, 1)
        );
        assert_eq!(days[&(20260107, "hello".into())][BOUNCED], 1);
        // The sends of the 5th: one opened, one clicked — counted on the day they were sent.
        assert_eq!(b.cohorts(), vec![((20260105, "hello".into()), [1, 1])]);
        // A new send starts over: its open counts again, on its own day.
        b.sent(20260110, Some(1), "hello");
        b.reaction(20260110, Some(1), "hello", Reaction::Open);
        assert_eq!(b.cohorts()[1], ((20260110, "hello".into()), [1, 0]));
        // Saved and restored, it is the same book.
        let again = EmailBook::restore(b.save()).expect("restores");
        assert_eq!((again.days(), again.cohorts()), (b.days(), b.cohorts()));
    }
}
