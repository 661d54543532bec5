//! `count(…)` answers the same whether its matches are decided when the event arrives (a `where` that reads only the event) or at evaluation (a `where` that also reads the lead): same windows, both engines.

use compiler::ProgramSource;
use runtime::embed::{EvaluatorKind, Program};
use runtime::scenario::parse_scenario;

#[test]
fn precounted_and_whole_event_counts_agree_over_sliding_windows() {
    let src = r#"
timezone "Asia/Ho_Chi_Minh"
lead { n: number }
event visit { url: text }
rule by_event {
  when count(visit where event.url contains "gia" within 2 days) >= 2
  then tag "event_only"
}
rule by_lead {
  when count(visit where event.url contains "gia" and n > 0 within 2 days) >= 2
  then tag "reads_lead"
}
rule any_visit {
  when count(visit within 1 day) >= 3
  then tag "busy"
}
"#;
    let program = Program::check(ProgramSource::single("p.journey", src)).expect("checks");
    // Two matching visits 3 days apart never count together; the third and fourth do.
    let scenario = r#"{"inputs":[
      {"at":"2026-01-05T09:00:00+07:00","lead":"a","create":{"n":1}},
      {"at":"2026-01-05T10:00:00+07:00","lead":"a","event":"visit","props":{"url":"/bang-gia"}},
      {"at":"2026-01-05T11:00:00+07:00","lead":"a","event":"visit","props":{"url":"/blog"}},
      {"at":"2026-01-08T10:00:00+07:00","lead":"a","event":"visit","props":{"url":"/bang-gia"}},
      {"at":"2026-01-08T11:00:00+07:00","lead":"a","event":"visit","props":{"url":"/blog"}},
      {"at":"2026-01-08T12:00:00+07:00","lead":"a","event":"visit","props":{"url":"/bang-gia"}}
    ]}"#;
    let parsed = parse_scenario(scenario, program.workspace().symbols()).expect("valid");
    for kind in [EvaluatorKind::Jit, EvaluatorKind::Interp] {
        let mut world = program.world(kind).expect("world");
        world.start(parsed.start);
        let mut tagged = Vec::new();
        for input in &parsed.inputs {
            for line in world.input(input) {
                if let runtime::timeline::Entry::TagAdded { tag } = &line.entry {
                    tagged.push((runtime::timeline::format_instant(line.at), tag.clone()));
                }
            }
        }
        let at_noon = "2026-01-08T05:00:00Z".to_owned();
        assert_eq!(
            tagged,
            vec![
                (at_noon.clone(), "event_only".to_owned()),
                (at_noon.clone(), "reads_lead".to_owned()),
                (at_noon, "busy".to_owned()),
            ],
            "{kind:?}"
        );
    }
}
