//! Checkpoints: every conformance scenario, cut after every input, checkpointed and resumed (by the other engine), goes on exactly as the world that never stopped — the same lines, and the same state bytes at the end; damaged bytes are refused, never run.

use compiler::ProgramSource;
use runtime::embed::{EvaluatorKind, Program};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A program folder as the CLI reads it: `*.journey`, `templates/*`, `tandem.toml`.
fn folder(dir: &Path) -> ProgramSource {
    source::load_dir(dir).expect("the folder loads")
}

/// Each conformance folder with its program and scenarios.
fn suites() -> Vec<(Program, Vec<(String, String)>)> {
    let conformance = root().join("tests/conformance");
    let mut out = Vec::new();
    for (scenarios, program) in [
        (
            "spec_program",
            root().join("tests/fixtures/valid/spec_examples"),
        ),
        ("edge_program", conformance.join("edge_program")),
    ] {
        let program = Program::check(folder(&program)).expect("the program checks");
        let mut files: Vec<_> = std::fs::read_dir(conformance.join(scenarios))
            .expect("scenarios")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let scenarios = files
            .iter()
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(p).expect("scenario"),
                )
            })
            .collect();
        out.push((program, scenarios));
    }
    out
}

fn jsonl(lines: &[runtime::timeline::Line]) -> Vec<String> {
    lines.iter().map(|l| l.to_json()).collect()
}

#[test]
fn a_resumed_world_goes_on_exactly_as_one_that_never_stopped() {
    let mut cuts = 0;
    for (program, scenarios) in suites() {
        for (name, text) in scenarios {
            let s = runtime::scenario::parse_scenario(&text, program.workspace().symbols())
                .expect("valid scenario");
            for cut in 0..=s.inputs.len() {
                let mut original = program
                    .world_without_log(EvaluatorKind::Jit)
                    .expect("world");
                original.start(s.start);
                for input in &s.inputs[..cut] {
                    original.input(input);
                }
                let bytes = original.checkpoint().expect("checkpoint");
                let mut resumed = program
                    .resume(&bytes, EvaluatorKind::Interp)
                    .expect("resumes");
                assert_eq!(
                    resumed.checkpoint().expect("checkpoint"),
                    bytes,
                    "{name}: resuming changed the state (cut after {cut} inputs)"
                );
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for input in &s.inputs[cut..] {
                    a.extend(jsonl(&original.input(input)));
                    b.extend(jsonl(&resumed.input(input)));
                }
                a.extend(jsonl(&original.advance_to(s.until)));
                b.extend(jsonl(&resumed.advance_to(s.until)));
                assert_eq!(a, b, "{name}: lines differ after a cut after {cut} inputs");
                assert_eq!(
                    original.checkpoint().expect("checkpoint"),
                    resumed.checkpoint().expect("checkpoint"),
                    "{name}: final states differ (cut after {cut} inputs)"
                );
                cuts += 1;
            }
        }
    }
    assert!(cuts > 40, "only {cuts} cuts were tried");
}

#[test]
fn damaged_or_foreign_bytes_are_refused() {
    let suites = suites();
    let (program, scenarios) = &suites[1];
    let s = runtime::scenario::parse_scenario(&scenarios[2].1, program.workspace().symbols())
        .expect("valid scenario");
    let mut world = program
        .world_without_log(EvaluatorKind::Jit)
        .expect("world");
    world.start(s.start);
    for input in &s.inputs {
        world.input(input);
    }
    let bytes = world.checkpoint().expect("checkpoint");
    assert!(bytes.len() > 100, "a world with leads writes some state");
    // Every truncation is refused (postcard needs every byte).
    for len in 0..bytes.len() {
        assert!(
            program
                .resume(&bytes[..len], EvaluatorKind::Interp)
                .is_err(),
            "a checkpoint cut to {len} of {} bytes was accepted",
            bytes.len()
        );
    }
    // A flipped byte either is refused or reads as some other state of the right shape:
    // never a panic (the host's checksum catches the rest).
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0x5a;
        if let Ok(mut w) = program.resume(&damaged, EvaluatorKind::Interp) {
            w.advance_to(s.until + 86_400 * 30);
        }
    }
    // Another program's checkpoint does not fit.
    let (other, _) = &suites[0];
    let err = match other.resume(&bytes, EvaluatorKind::Interp) {
        Err(e) => e.0,
        Ok(_) => panic!("the spec program resumed the edge program's checkpoint"),
    };
    assert!(err.contains("does not fit"), "{err}");
}

/// The effects done at the current instant are part of the state: a rule that fires again
/// at the same instant after a restore still does not send twice.
#[test]
fn same_instant_effects_survive_a_checkpoint() {
    let program = Program::check(ProgramSource::single(
        "p.journey",
        "timezone \"Asia/Ho_Chi_Minh\"\nlead {\n  name: text\n  n: number\n}\nrule hot {\n  when n >= 1\n  then notify \"a@acme.vn\" \"Nóng: {{ lead.name }}\"\n}\n",
    ))
    .expect("checks");
    let at = "2026-03-02T09:00:00+07:00";
    let scenario = format!(
        r#"{{"start":"{at}","inputs":[
 {{"at":"{at}","lead":"x","create":{{"name":"Xuân","n":1}}}},
 {{"at":"{at}","lead":"x","update":{{"n":0}}}},
 {{"at":"{at}","lead":"x","update":{{"n":1}}}}
]}}"#
    );
    let s = runtime::scenario::parse_scenario(&scenario, program.workspace().symbols())
        .expect("valid scenario");
    let notified = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains(r#""kind":"notified""#))
            .count()
    };
    let mut straight = program
        .world_without_log(EvaluatorKind::Jit)
        .expect("world");
    straight.start(s.start);
    let all: Vec<String> = s
        .inputs
        .iter()
        .flat_map(|i| jsonl(&straight.input(i)))
        .collect();
    assert_eq!(notified(&all), 1, "one notify at one instant: {all:#?}");

    let mut first = program
        .world_without_log(EvaluatorKind::Jit)
        .expect("world");
    first.start(s.start);
    let mut lines: Vec<String> = s.inputs[..2]
        .iter()
        .flat_map(|i| jsonl(&first.input(i)))
        .collect();
    let mut resumed = program
        .resume(&first.checkpoint().expect("checkpoint"), EvaluatorKind::Jit)
        .expect("resumes");
    lines.extend(jsonl(&resumed.input(&s.inputs[2])));
    assert_eq!(lines, all);
}
