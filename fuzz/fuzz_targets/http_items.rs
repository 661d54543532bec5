//! Fuzz target: arbitrary request bodies through what the HTTP API does with them — JSON objects turned into ingest items, validated against the example program, applied to a world, and every email template rendered for the lead — must never panic.
#![no_main]

#[path = "../common/example.rs"]
mod example;

use example::program;
use libfuzzer_sys::fuzz_target;
use runtime::embed::EvaluatorKind;
use serde_json::{Map, Value};
use service::core::{validate_items, Item};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let objects: Vec<Map<String, Value>> = match body {
        Value::Object(o) => vec![o],
        Value::Array(a) => a
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(o) => Some(o),
                _ => None,
            })
            .collect(),
        _ => return,
    };
    let items: Vec<Item> = objects
        .into_iter()
        .map(|mut o| {
            let lead = match o.remove("lead").or_else(|| o.remove("id")) {
                Some(Value::String(s)) => s,
                _ => "an".to_owned(),
            };
            let action = if o.contains_key("event") { "event" } else { "upsert" };
            Item {
                lead,
                action: action.into(),
                body: o,
            }
        })
        .collect();
    let p = program();
    let Ok(inputs) = validate_items(p.workspace().symbols(), items, 1_767_578_400, &|_| {
        Some(false)
    }) else {
        return;
    };
    let Ok(mut world) = p.world(EvaluatorKind::Interp) else {
        return;
    };
    world.start(1_767_578_400);
    for input in &inputs {
        world.input(input);
    }
    let mut leads: Vec<&str> = inputs.iter().map(|i| i.lead.as_str()).collect();
    leads.dedup();
    for lead in leads {
        for name in p.templates().keys() {
            let _ = world
                .engine()
                .render_email(lead, name, Some("ebook_nurture"), "https://x.invalid/u");
        }
    }
});
