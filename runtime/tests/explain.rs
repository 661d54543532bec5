//! `Engine::explain`: a traced lead's event points with the decay steps and clamps after them, and each rule's and handoff's condition part by part, agreeing with the engine.

use compiler::explain::{Part, PartKind, Value};
use compiler::{ProgramSource, SourceText};
use runtime::embed::{EvaluatorKind, Program};

const PROGRAM: &str = r#"timezone "Asia/Ho_Chi_Minh"
lead { name: text, company_size: number }
stages { subscriber, lead, mql }
event page_viewed { url: text }
event webinar_attended { minutes: number }
team sales {
  members "an@acme.vn"
  hours mon-fri 8:30-17:30
}
segment big_account = company_size >= 200
score fit {
  +20 if big_account
}
score engagement {
  +10 on page_viewed where event.url contains "/pricing"
  +1 on page_viewed
  +25 on webinar_attended
  decay 50% every 7 days
  max 30
}
rule qualify_mql {
  when stage == lead and big_account and score.engagement >= 30
  then set stage = mql
}
rule warm {
  when score.engagement >= 10 and not (stage == mql or "vip" in tags)
  then tag "warm"
}
handoff to_sales {
  when stage == mql
  assign team sales by round_robin
}
"#;

fn program() -> Program {
    let mut source = ProgramSource::default();
    source.journeys.push(SourceText {
        path: "program.journey".into(),
        text: PROGRAM.into(),
    });
    Program::check(source).expect("checks")
}

/// The scenario's inputs up to `until`, explained for lead `binh` (traced from the start).
fn explain_at(program: &Program, inputs: &str, until: &str) -> runtime::engine::Explanation {
    let scenario = format!(
        r#"{{"start": "2026-03-02T09:00:00+07:00", "until": "{until}", "inputs": [{inputs}]}}"#
    );
    let parsed = runtime::scenario::parse_scenario(&scenario, program.workspace().symbols())
        .expect("a valid scenario");
    let mut world = program.world(EvaluatorKind::Jit).expect("world");
    world.engine().trace_scores("binh");
    world.start(parsed.start);
    for input in &parsed.inputs {
        world.input(input);
    }
    world.advance_to(parsed.until);
    let lead = world.engine().lead("binh").expect("created");
    let x = world.engine().explain(lead);
    // Every condition explained agrees with the engine's own evaluation.
    let p = program.lowered();
    for (r, c) in p.rules.iter().zip(&x.rules) {
        assert_eq!(
            c.why.holds,
            world.engine().condition(lead, r.when),
            "{}",
            c.name
        );
    }
    for (h, c) in p.handoffs.iter().zip(&x.handoffs) {
        let when = h.when.expect("a when");
        assert_eq!(
            c.why.holds,
            world.engine().condition(lead, when),
            "{}",
            c.name
        );
    }
    x
}

const CREATE: &str = r#"{"at": "2026-03-02T09:00:00+07:00", "lead": "binh", "create": {"name": "Bình", "company_size": 120}}"#;

fn event(at: &str, name: &str, props: &str) -> String {
    format!(r#"{{"at": "{at}", "lead": "binh", "event": "{name}", "props": {props}}}"#)
}

#[test]
fn event_points_show_each_occurrence_its_decay_steps_and_the_clamp() {
    let program = program();
    let inputs = [
        CREATE.to_owned(),
        event("2026-03-02T10:00:00+07:00", "webinar_attended", "{}"),
        event("2026-03-03T10:00:00+07:00", "webinar_attended", "{}"),
        event(
            "2026-03-11T10:00:00+07:00",
            "page_viewed",
            r#"{"url": "/pricing"}"#,
        ),
    ]
    .join(",");
    let x = explain_at(&program, &inputs, "2026-03-12T09:00:00+07:00");
    let e = &x.scores[1];
    assert_eq!(e.name, "engagement");
    // 25, then 50 held at 30; one step (9 March, 09:00) halves it to 15; then +10 +1.
    assert_eq!(e.event_part, 26.0);
    let got: Vec<(&str, f64, u32, f64, Option<f64>)> = e
        .event_points
        .iter()
        .map(|p| {
            (
                p.event.as_str(),
                p.points,
                p.decay_steps,
                p.left,
                p.clamped_to,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("webinar_attended", 25.0, 1, 12.5, None),
            ("webinar_attended", 25.0, 1, 12.5, Some(30.0)),
            ("page_viewed", 10.0, 0, 10.0, None),
            ("page_viewed", 1.0, 0, 1.0, None),
        ]
    );
    assert!(e.event_points[2].filter.is_some() && e.event_points[3].filter.is_none());
    assert_eq!(x.tags, ["warm"]);
    assert_eq!(x.segments, [("big_account".to_owned(), false)]);
    // `engagement` has no `if` lines and `fit` none that hold: zero, never negative zero
    // (the API and `explain --format json` would print `-0.0`).
    for s in &x.scores {
        assert!(
            s.attribute_part == 0.0 && s.attribute_part.is_sign_positive(),
            "{}",
            s.name
        );
    }
    assert!(x.scores[0].value.is_sign_positive() && x.scores[0].event_part.is_sign_positive());
}

#[test]
fn without_a_clamp_what_is_left_sums_to_the_event_part_and_small_parts_decay_to_zero() {
    let program = program();
    let inputs = [
        CREATE.to_owned(),
        event(
            "2026-03-02T10:00:00+07:00",
            "page_viewed",
            r#"{"url": "/"}"#,
        ),
        event(
            "2026-03-04T10:00:00+07:00",
            "page_viewed",
            r#"{"url": "/pricing"}"#,
        ),
        event("2026-03-20T10:00:00+07:00", "webinar_attended", "{}"),
    ]
    .join(",");
    // Three steps (9, 16 and 23 March) before 24 March.
    let x = explain_at(&program, &inputs, "2026-03-24T09:00:00+07:00");
    let e = &x.scores[1];
    let left: f64 = e.event_points.iter().map(|p| p.left).sum();
    assert_eq!(left, e.event_part);
    let steps: Vec<u32> = e.event_points.iter().map(|p| p.decay_steps).collect();
    assert_eq!(steps, [3, 3, 3, 1]);
    // 1, then 12: 6 and 3 after two steps; +25 is 28; 14 after the third.
    assert_eq!(e.event_part, 14.0);
    assert_eq!(e.event_points[1].left, 1.25);
    assert_eq!(e.event_points[3].left, 12.5);

    // One point alone: 0.5 after a step, under 0.5 after the next, so 0.
    let inputs = [
        CREATE.to_owned(),
        event(
            "2026-03-02T10:00:00+07:00",
            "page_viewed",
            r#"{"url": "/"}"#,
        ),
    ]
    .join(",");
    let x = explain_at(&program, &inputs, "2026-03-24T09:00:00+07:00");
    let p = &x.scores[1].event_points[0];
    assert!(p.decayed_to_zero);
    assert_eq!((p.left, p.decay_steps), (0.0, 2));
    assert_eq!(x.scores[1].event_part, 0.0);
}

fn tests(p: &Part) -> Vec<&Part> {
    if p.kind == PartKind::Test {
        return vec![p];
    }
    p.parts.iter().flat_map(tests).collect()
}

#[test]
fn a_condition_is_explained_part_by_part_with_the_values_it_read() {
    let program = program();
    let inputs = [
        CREATE.to_owned(),
        event("2026-03-02T10:00:00+07:00", "webinar_attended", "{}"),
    ]
    .join(",");
    let x = explain_at(&program, &inputs, "2026-03-03T09:00:00+07:00");
    let mql = &x.rules[0];
    assert_eq!(mql.name, "qualify_mql");
    assert!(!mql.why.holds);
    // `a and b and c`: one list of three, the segment among them.
    assert_eq!(mql.why.kind, PartKind::All);
    assert_eq!(mql.why.parts.len(), 3);
    let holds: Vec<bool> = mql.why.parts.iter().map(|p| p.holds).collect();
    assert_eq!(holds, [true, false, false]);
    assert!(mql.why.parts[1].segment && !mql.why.parts[2].segment);
    assert_eq!(
        mql.why.parts[2].reads[0].value,
        Value::Number(25.0),
        "score.engagement read"
    );
    assert_eq!(mql.why.parts[1].reads[0].value, Value::Number(120.0));
    // `not (… or …)`: a `not` around an `or` of two tests; `in tags` reads the tags.
    let warm = &x.rules[1];
    assert!(warm.why.holds);
    let not = &warm.why.parts[1];
    assert_eq!(not.kind, PartKind::Not);
    assert_eq!(not.parts[0].kind, PartKind::Any);
    let leaves = tests(not);
    assert_eq!(leaves.len(), 2);
    assert!(leaves[1]
        .reads
        .iter()
        .any(|r| r.span.is_none() && r.value == Value::Tags(vec!["warm".into()])));
    assert_eq!(x.handoffs.len(), 1);
    assert!(!x.handoffs[0].why.holds);
}
