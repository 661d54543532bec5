//! Waits that end at a moment of the calendar: `wait until [DAYS] H:MM` in the lead's zone, and `wait until [D before|after] FIELD [at H:MM]`, re-timed when the field changes.

use super::*;

impl<'p> Engine<'p> {
    /// The earliest instant ≥ now at `minute` on a matching day, in the lead's time zone.
    pub(super) fn next_clock(&self, lead: usize, days: u8, minute: u32) -> i64 {
        let tz = self.lead_tz(lead);
        let Ok(now) = jiff::Timestamp::from_second(self.clock.now) else {
            return self.clock.now;
        };
        let local = jiff::ZonedDateTime::new(now, tz.clone());
        let mut date = local.date();
        for _ in 0..9 {
            let wd = date.weekday().to_monday_zero_offset() as u8;
            if days & (1 << wd) != 0 {
                let t = jiff::civil::Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0)
                    .unwrap_or_default();
                if let Some(s) = crate::calendar::local_to_instant(&tz, date.to_datetime(t)) {
                    if s >= self.clock.now {
                        return s;
                    }
                }
            }
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => break,
            }
        }
        self.clock.now
    }

    /// The instant a `wait until [D before|after] FIELD [at H:MM]` waits for: the field's
    /// instant moved by `offset`, then (with `at`) that day's clock time in the lead's zone.
    /// `None` when the field is not set (the lead does not wait).
    pub(super) fn date_target(
        &self,
        lead: usize,
        field: &str,
        offset: i64,
        minute: Option<u32>,
    ) -> Option<i64> {
        let slot = self.slot(field)?;
        let record = &self.leads[lead].record;
        if !record.is_set(slot) {
            return None;
        }
        let at = (record.words[slot] as i64).saturating_add(offset);
        let Some(minute) = minute else {
            return Some(at);
        };
        let tz = self.lead_tz(lead);
        let local = jiff::ZonedDateTime::new(jiff::Timestamp::from_second(at).ok()?, tz.clone());
        let t = jiff::civil::Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
        crate::calendar::local_to_instant(&tz, local.date().to_datetime(t))
    }

    /// Re-times date waits after the lead changed: a wait whose field moved waits for the
    /// new instant, or ends now if that has passed. True when a wait ended.
    pub(super) fn retime_date_waits(&mut self, lead: usize, queue: &mut VecDeque<Raised>) -> bool {
        let mut ended = false;
        for j in 0..self.p.journeys.len() {
            let Some(Instance {
                node,
                wait: Waiting::Date { at },
                ..
            }) = self.leads[lead].journeys[j].as_deref()
            else {
                continue;
            };
            let (node, at) = (*node, *at);
            let p = self.p;
            let n = &p.journeys[j].graph.nodes[node];
            let NodeKind::WaitDate {
                field,
                offset_secs,
                minute,
            } = &n.kind
            else {
                continue;
            };
            let target = self.date_target(lead, field, *offset_secs, *minute);
            if target == Some(at) {
                continue;
            }
            match target {
                Some(t) if t > self.clock.now => {
                    let token = self.next_seq();
                    if let Some(i) = self.leads[lead].journeys[j].as_mut() {
                        i.wait = Waiting::Date { at: t };
                        i.wait_token = token;
                    }
                    self.timer(lead, t, TimerKind::Wake { journey: j, token });
                }
                _ => {
                    ended = true;
                    self.continue_at(lead, j, n.next, queue);
                }
            }
        }
        ended
    }
}
