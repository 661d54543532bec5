//! `GET /api/leads`: the leads behind a dashboard count — in a stage, or in a journey now — a page at a time, newest first, with every stage's count beside them (the same numbers as the funnel's "now" column).

use std::collections::BTreeMap;

use runtime::engine::Engine;
use runtime::timeline::FieldValue;
use serde_json::{json, Value};

/// Which leads a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadQuery {
    /// Only leads in this stage now.
    pub stage: Option<String>,
    /// Only leads in this journey now.
    pub journey: Option<String>,
    /// At most this many (1 to 1,000) after skipping `offset`.
    pub limit: usize,
    pub offset: usize,
}

fn text(engine: &Engine<'_>, lead: usize, field: &str) -> Option<String> {
    match engine.lead_field(lead, field) {
        Some(FieldValue::Text(s) | FieldValue::Stage(s)) => Some(s),
        _ => None,
    }
}

/// One page of the matching leads (newest first), how many match, and how many leads
/// are in each stage now.
pub fn leads_page(engine: &Engine<'_>, q: &LeadQuery) -> Value {
    let limit = q.limit.clamp(1, 1000);
    let mut stages: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    let mut page = Vec::new();
    for lead in (0..engine.lead_count()).rev() {
        let stage = text(engine, lead, "stage").unwrap_or_default();
        *stages.entry(stage.clone()).or_default() += 1;
        if q.stage.as_ref().is_some_and(|s| *s != stage)
            || q.journey
                .as_ref()
                .is_some_and(|j| !engine.in_journey(lead, j))
        {
            continue;
        }
        total += 1;
        if total as usize > q.offset && page.len() < limit {
            page.push(json!({
                "id": engine.lead_id(lead),
                "name": text(engine, lead, "name"),
                "company": text(engine, lead, "company"),
                "stage": stage,
                "owner": text(engine, lead, "owner").filter(|o| !o.is_empty()),
            }));
        }
    }
    json!({
        "leads": page,
        "total": total,
        "limit": limit,
        "offset": q.offset,
        "stages": stages,
    })
}

/// What is wrong with a query under a program (an unknown stage or journey), if anything.
pub fn check(program: &runtime::embed::Program, q: &LeadQuery) -> Result<(), String> {
    let sym = program.workspace().symbols();
    if let Some(s) = &q.stage {
        if !sym.stages.iter().any(|x| x.name == *s) {
            return Err(format!("unknown stage `{s}`"));
        }
    }
    if let Some(j) = &q.journey {
        if !sym.journeys.contains_key(j) {
            return Err(format!("unknown journey `{j}`"));
        }
    }
    Ok(())
}
