//! The dashboard's aggregates as bytes for a snapshot, and back: everything the lines built up (marks, counters, accept times, reasons, recent activity), not what the program decides (time zone, stages), which a restored dashboard takes from the program it runs.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::email::{EmailBook, SavedBook};
use super::handoff::HandoffBook;
use super::{Dashboard, Day, LeadMark};

/// The aggregates as data. Maps hashed in memory are written sorted, so the same
/// picture always gives the same bytes.
#[derive(Serialize, Deserialize)]
struct Saved {
    stages: Vec<String>,
    funnel_len: u64,
    marks: Vec<(u32, u32, u32)>,
    current: Vec<u64>,
    names: Vec<String>,
    reached: Vec<((Day, u64, String, String), u64)>,
    journeys: BTreeMap<String, [u64; 4]>,
    journey_days: BTreeMap<(Day, String), [u64; 4]>,
    email: SavedBook,
    handoff: HandoffBook,
    /// Recent activity items as JSON texts (the bytes are not self-describing).
    recent: Vec<String>,
    version: u64,
}

impl Dashboard {
    /// The aggregates as bytes (see [`Dashboard::restore`]).
    pub fn save(&self) -> Result<Vec<u8>, String> {
        let mut reached: Vec<_> = self
            .reached
            .iter()
            .map(|((d, s, src, j), n)| ((*d, *s as u64, src.to_string(), j.to_string()), *n))
            .collect();
        reached.sort_unstable();
        let saved = Saved {
            stages: self.stages.clone(),
            funnel_len: self.funnel_len as u64,
            marks: self
                .marks
                .iter()
                .map(|m| (m.stage, m.source, m.journey))
                .collect(),
            current: self.current.clone(),
            names: self.names.iter().map(|n| n.to_string()).collect(),
            reached,
            journeys: self.journeys.clone(),
            journey_days: self.journey_days.clone(),
            email: self.email.save(),
            handoff: self.handoff.clone(),
            recent: self.recent.iter().map(|v| v.to_string()).collect(),
            version: self.version,
        };
        postcard::to_allocvec(&saved).map_err(|e| format!("the dashboard cannot be saved: {e}"))
    }

    /// This (empty) dashboard, made for the program, with the aggregates `bytes` hold;
    /// refused when they were saved for other stages.
    pub fn restore(mut self, bytes: &[u8]) -> Result<Dashboard, String> {
        let s: Saved = postcard::from_bytes(bytes)
            .map_err(|e| format!("the dashboard's bytes do not read: {e}"))?;
        if s.stages != self.stages || s.funnel_len != self.funnel_len as u64 {
            return Err("the dashboard was saved for other stages".into());
        }
        if s.current.len() != self.stages.len() || s.names.first().is_none_or(|n| !n.is_empty()) {
            return Err("the dashboard's tables have another shape".into());
        }
        for name in s.names.iter().skip(1) {
            self.name(name);
        }
        if self.names.len() != s.names.len() {
            return Err("the dashboard's names repeat".into());
        }
        let names = self.names.len() as u32;
        let stages = self.stages.len() as u32;
        self.marks = s
            .marks
            .into_iter()
            .map(|(stage, source, journey)| LeadMark {
                stage: if stage < stages {
                    stage
                } else {
                    super::NO_STAGE
                },
                source: if source < names { source } else { 0 },
                journey: if journey < names { journey } else { 0 },
            })
            .collect();
        self.current = s.current;
        for ((d, stage, src, j), n) in s.reached {
            if stage >= self.stages.len() as u64 {
                return Err("the dashboard's tables have another shape".into());
            }
            let (src, j) = (self.name(&src), self.name(&j));
            let key = (d, stage as usize, self.name_text(src), self.name_text(j));
            self.reached.insert(key, n);
        }
        self.journeys = s.journeys;
        self.journey_days = s.journey_days;
        self.email = EmailBook::restore(s.email)?;
        self.handoff = s.handoff;
        self.recent = s
            .recent
            .iter()
            .map(|t| {
                serde_json::from_str(t).map_err(|e| format!("a recent item does not read: {e}"))
            })
            .collect::<Result<VecDeque<_>, _>>()?;
        self.version = s.version;
        self.sections = [s.version; super::SECTIONS.len()];
        Ok(self)
    }
}
