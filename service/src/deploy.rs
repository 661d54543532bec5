//! What a deploy changes, as JSON: `tandem diff --format json` and the answer to a program reload share this shape (declarations changed in meaning, and for journeys the old steps that changed or disappeared with the leads waiting at each).

use compiler::diff::{DeclChange, StepFate};
use compiler::program::LoweredProgram;
use serde_json::{json, Value};

/// `{"changes": [{kind, name, change, parts, values: [{part, old, new}], steps: [{step, new,
/// file, line, change, waiting}], added_steps: [{step, file, line}]}]}`.
/// `waiting` is the old program's leads per journey and step (`Engine::journey_positions`);
/// without it every `waiting` is `null`.
pub fn changes_json(
    changes: &[DeclChange],
    old: &LoweredProgram,
    waiting: Option<&[Vec<u64>]>,
) -> Value {
    let list: Vec<Value> = changes
        .iter()
        .map(|c| {
            let journey = old.journeys.iter().position(|j| j.name == c.name);
            json!({
                "kind": c.kind.keyword(),
                "name": c.name,
                "change": c.change.word(),
                "parts": c.parts,
                "values": c.values.iter().map(|v| json!({
                    "part": v.part, "old": v.old, "new": v.new,
                })).collect::<Vec<_>>(),
                "steps": c.steps.iter().map(|s| json!({
                    "step": s.label,
                    "new": s.new_label,
                    "file": s.file,
                    "line": s.line,
                    "change": fate_word(s.fate),
                    "waiting": waiting_at(waiting, journey, s.node),
                })).collect::<Vec<_>>(),
                "added_steps": c.added_steps.iter().map(|s| json!({
                    "step": s.label, "file": s.file, "line": s.line,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "changes": list })
}

/// The leads waiting at `node` of journey `journey`, if the counts are known.
pub fn waiting_at(
    waiting: Option<&[Vec<u64>]>,
    journey: Option<usize>,
    node: usize,
) -> Option<u64> {
    let w = waiting?;
    Some(
        journey
            .and_then(|j| w.get(j))
            .and_then(|n| n.get(node))
            .copied()
            .unwrap_or(0),
    )
}

/// `unchanged`, `changed`, `moved` or `removed`.
pub fn fate_word(f: StepFate) -> &'static str {
    match f {
        StepFate::Same(_) => "unchanged",
        StepFate::Changed => "changed",
        StepFate::Moved => "moved",
        StepFate::Removed => "removed",
    }
}
