//! Outbound effects are idempotent per (lead, place in the program, instant): a rule that fires twice at one instant sends once.

use compiler::ProgramSource;
use runtime::embed::{EvaluatorKind, Program};
use runtime::scenario::parse_scenario;

#[test]
fn the_same_effect_at_the_same_instant_is_skipped_without_a_line() {
    let src = r#"
timezone "Asia/Ho_Chi_Minh"
lead { name: text, n: number }
rule ping_crm {
  when n == 1
  then {
    webhook crm
    notify "sales@acme.vn" "{{ lead.name }} bật lại"
  }
}
"#;
    let program = Program::check(ProgramSource::single("p.journey", src)).expect("checks");
    let scenario = r#"{"inputs":[
      {"at":"2026-01-05T09:00:00+07:00","lead":"a","create":{"name":"An","n":0}},
      {"at":"2026-01-05T09:00:00+07:00","lead":"a","update":{"n":1}},
      {"at":"2026-01-05T09:00:00+07:00","lead":"a","update":{"n":0}},
      {"at":"2026-01-05T09:00:00+07:00","lead":"a","update":{"n":1}},
      {"at":"2026-01-05T09:01:00+07:00","lead":"a","update":{"n":0}},
      {"at":"2026-01-05T09:01:00+07:00","lead":"a","update":{"n":1}}
    ]}"#;
    let parsed = parse_scenario(scenario, program.workspace().symbols()).expect("valid");
    for kind in [EvaluatorKind::Jit, EvaluatorKind::Interp] {
        let mut world = program.world(kind).expect("world");
        world.start(parsed.start);
        let mut kinds = Vec::new();
        for input in &parsed.inputs {
            for line in world.input(input) {
                kinds.push(format!("{} {}", line.at, line.entry.kind()));
            }
        }
        let count = |k: &str| kinds.iter().filter(|x| x.ends_with(k)).count();
        // The rule fired three times, twice at 09:00 and once at 09:01.
        assert_eq!(count("rule_fired"), 3, "{kinds:?}");
        // Its effects ran once per instant.
        assert_eq!(count("webhook_called"), 2, "{kinds:?}");
        assert_eq!(count("notified"), 2, "{kinds:?}");
    }
}

#[test]
fn scores_read_inside_in_lists_are_computed_first() {
    // `a` is declared first but reads `b` (inside `in`): `b` must be recomputed before `a`.
    let src = r#"
timezone "Asia/Ho_Chi_Minh"
lead { n: number }
score a { +10 if score.b in [5] }
score b { +5 if n == 1 }
"#;
    let program = Program::check(ProgramSource::single("p.journey", src)).expect("checks");
    let scenario = r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"x","create":{"n":1}}]}"#;
    let parsed = parse_scenario(scenario, program.workspace().symbols()).expect("valid");
    let mut world = program.world(EvaluatorKind::Interp).expect("world");
    world.start(parsed.start);
    let lines: Vec<String> = parsed
        .inputs
        .iter()
        .flat_map(|i| world.input(i))
        .map(|l| l.to_json())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(r#""score":"b","value":5}"#)),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(r#""score":"a","value":10}"#)),
        "{lines:?}"
    );
}
