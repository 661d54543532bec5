//! The embedding API: a world saved halfway and restored (from JSON) continues exactly as the original.

use compiler::{ProgramSource, SourceText};
use runtime::embed::{EvaluatorKind, Program, Snapshot};

fn edge_program() -> ProgramSource {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/edge_program");
    let mut source = ProgramSource::default();
    source.journeys.push(SourceText {
        path: "program.journey".into(),
        text: std::fs::read_to_string(dir.join("program.journey")).expect("program"),
    });
    for t in ["t1", "t2", "t3"] {
        source.templates.push(SourceText {
            path: format!("templates/{t}.md"),
            text: std::fs::read_to_string(dir.join(format!("templates/{t}.md"))).expect("template"),
        });
    }
    source
}

#[test]
fn a_restored_world_continues_like_the_original() {
    let program = Program::check(edge_program()).expect("checks");
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/conformance/edge_program/02_decay_clamp_reentry_cap.json"),
    )
    .expect("scenario");
    let parsed =
        runtime::scenario::parse_scenario(&scenario, program.workspace().symbols()).expect("valid");
    let half = parsed.inputs.len() / 2;

    let mut original = program.world(EvaluatorKind::Jit).expect("world");
    original.start(parsed.start);
    for input in &parsed.inputs[..half] {
        original.input(input);
    }
    let saved =
        serde_json::to_string(&original.snapshot().expect("keeps its log")).expect("serializes");
    let snapshot: Snapshot = serde_json::from_str(&saved).expect("deserializes");
    let mut restored = program
        .restore(&snapshot, EvaluatorKind::Interp)
        .expect("restores");
    assert_eq!(restored.now(), original.now());

    let mut rest_original = Vec::new();
    let mut rest_restored = Vec::new();
    for input in &parsed.inputs[half..] {
        rest_original.extend(original.input(input));
        rest_restored.extend(restored.input(input));
    }
    rest_original.extend(original.advance_to(parsed.until));
    rest_restored.extend(restored.advance_to(parsed.until));
    assert!(!rest_original.is_empty());
    let a: Vec<String> = rest_original.iter().map(|l| l.to_json()).collect();
    let b: Vec<String> = rest_restored.iter().map(|l| l.to_json()).collect();
    assert_eq!(a, b);
}
