//! Journey versions at a deploy (docs/language.md, "Deploying a new version"): leads inside a changed journey finish the version they entered with, new entries take the newest, new rules do not fire for every matching lead at once, and a deploy that would break a kept version is refused naming it.

use compiler::ProgramSource;
use runtime::embed::{EvaluatorKind, Program, World};
use runtime::scenario::{Input, InputKind, InputValue};
use runtime::timeline::{Entry, Line};
use runtime::versions::{compose, DeployError};

const HEAD: &str = "timezone \"Asia/Ho_Chi_Minh\"\nlead { name: text, company_size: number }\nevent signup\nevent demo_booked\n";
const T0: i64 = 1_767_578_400; // 2026-01-05 09:00 +07
const DAY: i64 = 86_400;

fn v1() -> String {
    format!(
        "{HEAD}journey onboard {{\n  enter on signup\n  wait 2 days\n  tag \"v1_done\"\n}}\n\
         rule big {{\n  when company_size > 100\n  then tag \"big\"\n}}\n"
    )
}

/// v2: `onboard` waits one day and tags `v2_done`; a new rule `mid`.
fn v2() -> String {
    format!(
        "{HEAD}journey onboard {{\n  enter on signup\n  wait 1 day\n  tag \"v2_done\"\n}}\n\
         rule big {{\n  when company_size > 100\n  then tag \"big\"\n}}\n\
         rule mid {{\n  when company_size > 10\n  then tag \"mid\"\n}}\n"
    )
}

fn create(lead: &str, at: i64, size: f64) -> Input {
    Input {
        index: 0,
        at,
        lead: lead.into(),
        kind: InputKind::Create(vec![("company_size".into(), InputValue::Number(size))]),
    }
}

fn event(lead: &str, at: i64, name: &str) -> Input {
    Input {
        index: 0,
        at,
        lead: lead.into(),
        kind: InputKind::Event {
            event: name.into(),
            props: Vec::new(),
        },
    }
}

fn tags(lines: &[Line]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| match &l.entry {
            Entry::TagAdded { tag } => {
                Some((l.lead.as_deref().unwrap_or("").to_owned(), tag.clone()))
            }
            _ => None,
        })
        .collect()
}

fn deploy<'q>(mut world: World<'_>, next: &'q Program, kind: EvaluatorKind) -> World<'q> {
    match world.deploy(next, kind) {
        Ok(w) => w,
        Err(e) => panic!("deploy refused: {}", e.0),
    }
}

#[test]
fn leads_inside_finish_their_version_and_new_entries_take_the_newest() {
    for kind in [EvaluatorKind::Jit, EvaluatorKind::Interp] {
        let old = Program::check(ProgramSource::single("main.journey", v1())).expect("v1 checks");
        let mut world = old.world(kind).expect("world");
        world.start(T0);
        world.input(&create("a", T0, 50.0));
        world.input(&event("a", T0 + 60, "signup"));
        assert!(world.engine().in_journey(0, "onboard"));

        let waiting = world.engine().journey_positions();
        let (next, _) = compose(&old, &waiting, &ProgramSource::single("main.journey", v2()))
            .expect("v2 composes");
        // The running version of `onboard` is kept under its own name.
        let kept: Vec<_> = next
            .lowered()
            .journeys
            .iter()
            .map(|j| (j.name.clone(), j.kept_as.is_some()))
            .collect();
        assert_eq!(
            kept,
            vec![("onboard".to_owned(), false), ("onboard".to_owned(), true)]
        );
        let mut world = deploy(world, &next, kind);

        // `a` signs up again: it is inside (the old version), so it does not enter twice.
        let lines = world.input(&event("a", T0 + 120, "signup"));
        assert!(
            !lines
                .iter()
                .any(|l| matches!(l.entry, Entry::JourneyEntered { .. })),
            "{kind:?}: {lines:?}"
        );
        // The new rule `mid` holds for `a` already: it takes that as its previous value
        // and does not fire on the next input; a new lead makes it fire.
        let mut all = lines;
        all.extend(world.input(&create("b", T0 + DAY / 2, 50.0)));
        all.extend(world.input(&event("b", T0 + DAY / 2, "signup")));
        all.extend(world.advance_to(T0 + 3 * DAY));
        assert_eq!(
            tags(&all),
            vec![
                ("b".to_owned(), "mid".to_owned()),
                // b: one day after its signup at 12:00 (v2); a: two days after its
                // signup at T0 (v1, the version it entered).
                ("b".to_owned(), "v2_done".to_owned()),
                ("a".to_owned(), "v1_done".to_owned()),
            ],
            "{kind:?}"
        );
        // Timeline lines name the journey itself, whichever version ran.
        let exits: Vec<String> = all
            .iter()
            .filter_map(|l| match &l.entry {
                Entry::JourneyExited { journey, .. } => Some(journey.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(exits, vec!["onboard", "onboard"], "{kind:?}");
    }
}

#[test]
fn a_deploy_that_breaks_a_kept_version_is_refused_naming_the_journey() {
    let src = format!(
        "{HEAD}journey onboard {{\n  enter on signup\n  wait for demo_booked up to 5 days\n  tag \"done\"\n}}\n"
    );
    let old = Program::check(ProgramSource::single("main.journey", src)).expect("checks");
    let mut world = old.world(EvaluatorKind::Interp).expect("world");
    world.start(T0);
    world.input(&create("a", T0, 50.0));
    world.input(&event("a", T0 + 60, "signup"));
    let waiting = world.engine().journey_positions();
    // The new version drops `demo_booked`, which the running version waits for.
    let new_src =
        "timezone \"Asia/Ho_Chi_Minh\"\nlead { name: text, company_size: number }\nevent signup\n\
                   journey onboard {\n  enter on signup\n  tag \"done\"\n}\n";
    let refused = compose(
        &old,
        &waiting,
        &ProgramSource::single("main.journey", new_src),
    );
    match refused {
        Err(DeployError::KeptVersion {
            journey,
            leads,
            message,
        }) => {
            assert_eq!((journey.as_str(), leads), ("onboard", 1));
            assert!(message.contains("demo_booked"), "{message}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    // With nobody inside, the same deploy is fine.
    let nobody = vec![vec![0; old.lowered().journeys[0].graph.nodes.len()]];
    assert!(compose(
        &old,
        &nobody,
        &ProgramSource::single("main.journey", new_src)
    )
    .is_ok());
    // A program with errors is refused as it is.
    assert!(matches!(
        compose(
            &old,
            &nobody,
            &ProgramSource::single("main.journey", "lead { x: txt }")
        ),
        Err(DeployError::Check(_))
    ));
}

#[test]
fn an_unchanged_journey_keeps_its_leads_at_their_step_and_kept_versions_carry_over() {
    let old = Program::check(ProgramSource::single("main.journey", v1())).expect("v1");
    let mut world = old.world(EvaluatorKind::Jit).expect("world");
    world.start(T0);
    world.input(&create("a", T0, 50.0));
    world.input(&event("a", T0 + 60, "signup"));
    // Only a rule changes: `onboard` is not kept, `a` stays in it.
    let same_journey = v1().replace("company_size > 100", "company_size > 200");
    let waiting = world.engine().journey_positions();
    let (next, _) = compose(
        &old,
        &waiting,
        &ProgramSource::single("main.journey", same_journey),
    )
    .expect("composes");
    assert_eq!(next.lowered().journeys.len(), 1);
    let world = deploy(world, &next, EvaluatorKind::Jit);
    // Then `onboard` changes (kept), then something else changes (the kept version
    // carries over to the third program).
    let mut world = world;
    let waiting = world.engine().journey_positions();
    let (third, _) = compose(
        &next,
        &waiting,
        &ProgramSource::single("main.journey", v2()),
    )
    .expect("v2");
    let mut world = deploy(world, &third, EvaluatorKind::Jit);
    let waiting = world.engine().journey_positions();
    let fourth_src = v2().replace("company_size > 10", "company_size > 20");
    let (fourth, _) = compose(
        &third,
        &waiting,
        &ProgramSource::single("main.journey", fourth_src),
    )
    .expect("fourth");
    assert_eq!(fourth.lowered().journeys.len(), 2);
    let mut world = deploy(world, &fourth, EvaluatorKind::Jit);
    let lines = world.advance_to(T0 + 3 * DAY);
    assert_eq!(tags(&lines), vec![("a".to_owned(), "v1_done".to_owned())]);
}

/// The example program's files, as the CLI would load them.
fn example_program() -> ProgramSource {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../journeys");
    source::load_dir(&dir).expect("journeys/ loads")
}

#[test]
fn deploying_the_same_program_mid_run_changes_nothing_that_follows() {
    // 300 leads of the example program over 20 days: forms, pricing-page views, opens and
    // clicks, so scores, stages, journeys, handoffs with SLA timers and decay all run.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let mut inputs = Vec::new();
    for i in 0..300 {
        let lead = format!("l{i}");
        let t0 = T0 + rnd(DAY as u64) as i64;
        inputs.push(Input {
            index: 0,
            at: t0,
            lead: lead.clone(),
            kind: InputKind::Create(vec![
                (
                    "email".into(),
                    InputValue::Text(format!("l{i}@cty{}.vn", i % 7)),
                ),
                (
                    "company_size".into(),
                    InputValue::Number((rnd(900) + 20) as f64),
                ),
                (
                    "industry".into(),
                    InputValue::Text(["saas", "logistics", "edu"][i % 3].into()),
                ),
                ("title".into(), InputValue::Text("Giám đốc".into())),
            ]),
        });
        for _ in 0..6 {
            let at = t0 + 60 + rnd(18 * DAY as u64) as i64;
            let (event, props) = match rnd(3) {
                0 => (
                    "form_submitted",
                    vec![(
                        "form",
                        ["ebook_chuyen_doi_so", "demo_request"][rnd(2) as usize],
                    )],
                ),
                1 => ("page_viewed", vec![("url", "/bang-gia")]),
                _ => ("email_opened", vec![("template", "ebook_delivery")]),
            };
            inputs.push(Input {
                index: 0,
                at,
                lead: lead.clone(),
                kind: InputKind::Event {
                    event: event.into(),
                    props: props
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), InputValue::Text(v.to_owned())))
                        .collect(),
                },
            });
        }
    }
    inputs.sort_by_key(|i| i.at);
    let half = inputs.len() / 2;
    let end = T0 + 25 * DAY;
    let program = Program::check(example_program()).expect("journeys/ checks");
    for kind in [EvaluatorKind::Jit, EvaluatorKind::Interp] {
        let run = |deploy_at_half: bool| -> Vec<String> {
            let mut world = program.world(kind).expect("world");
            world.start(T0);
            let mut after = Vec::new();
            let next_program;
            for input in &inputs[..half] {
                world.input(input);
            }
            let mut world = if deploy_at_half {
                let waiting = world.engine().journey_positions();
                let (next, _) = compose(&program, &waiting, &example_program()).expect("composes");
                assert_eq!(
                    next.lowered().journeys.len(),
                    program.lowered().journeys.len()
                );
                next_program = next;
                match world.deploy(&next_program, kind) {
                    Ok(w) => w,
                    Err(e) => panic!("refused: {}", e.0),
                }
            } else {
                world
            };
            for input in &inputs[half..] {
                after.extend(world.input(input).iter().map(|l| l.to_json()));
            }
            after.extend(world.advance_to(end).iter().map(|l| l.to_json()));
            after
        };
        let plain = run(false);
        let deployed = run(true);
        assert!(
            plain.len() > 1_000,
            "the run does something: {} lines",
            plain.len()
        );
        assert!(
            plain.iter().any(|l| l.contains("task_created")),
            "handoffs run"
        );
        for (i, (a, b)) in plain.iter().zip(&deployed).enumerate() {
            assert_eq!(
                a,
                b,
                "{kind:?}: line {i} differs; next: {:?}",
                &deployed[i..(i + 6).min(deployed.len())]
            );
        }
        assert_eq!(plain.len(), deployed.len(), "{kind:?}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, .. Default::default() })]

    /// Any new version — here the example program with random lines taken out — is either
    /// refused with a reason or deployed, and the world then keeps running: never a panic.
    #[test]
    fn any_new_version_is_refused_or_deployed_without_panicking(
        drops in proptest::collection::vec((0usize..8, 0usize..400), 1..6)
    ) {
        let program = Program::check(example_program()).expect("journeys/ checks");
        let mut world = program.world(EvaluatorKind::Interp).expect("world");
        world.start(T0);
        for i in 0..20 {
            let lead = format!("l{i}");
            world.input(&Input {
                index: 0,
                at: T0 + i,
                lead: lead.clone(),
                kind: InputKind::Create(vec![
                    ("email".into(), InputValue::Text(format!("{lead}@cty.vn"))),
                    ("company_size".into(), InputValue::Number(300.0)),
                ]),
            });
            let form = if i % 2 == 0 { "ebook_chuyen_doi_so" } else { "demo_request" };
            world.input(&Input {
                index: 0,
                at: T0 + 100 + i,
                lead,
                kind: InputKind::Event {
                    event: "form_submitted".into(),
                    props: vec![("form".into(), InputValue::Text(form.into()))],
                },
            });
        }
        let mut next_source = example_program();
        for (file, line) in drops {
            let n = next_source.journeys.len();
            let f = &mut next_source.journeys[file % n];
            let mut lines: Vec<&str> = f.text.lines().collect();
            if !lines.is_empty() {
                let at = line % lines.len();
                lines.remove(at);
            }
            f.text = lines.join("\n");
        }
        let waiting = world.engine().journey_positions();
        match compose(&program, &waiting, &next_source) {
            Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            Ok((next, _)) => {
                let mut world = match world.deploy(&next, EvaluatorKind::Interp) {
                    Ok(w) => w,
                    Err(e) => {
                        proptest::prop_assert!(!e.0.is_empty());
                        return Ok(());
                    }
                };
                world.input(&create("late", T0 + 3 * DAY, 50.0));
                world.advance_to(T0 + 40 * DAY);
            }
        }
    }
}

/// `enter on … then` reaches a lead still inside an earlier version kept at a deploy: a
/// second registration updates its field there (it does not enter the new version).
#[test]
fn enter_on_then_runs_for_a_lead_inside_a_kept_version() {
    let head =
        "timezone \"Asia/Ho_Chi_Minh\"\nlead { topic: text }\nevent registered { topic: text }\n";
    let version = |wait: &str, tag: &str| {
        format!(
            "{head}journey w {{\n  enter on registered then set topic = event.topic\n  wait {wait}\n  tag \"{tag}\"\n}}\n"
        )
    };
    let registered = |at: i64, topic: &str| Input {
        index: 0,
        at,
        lead: "a".into(),
        kind: InputKind::Event {
            event: "registered".into(),
            props: vec![("topic".into(), InputValue::Text(topic.into()))],
        },
    };
    for kind in [EvaluatorKind::Jit, EvaluatorKind::Interp] {
        let old = Program::check(ProgramSource::single(
            "main.journey",
            version("2 days", "v1"),
        ))
        .expect("v1 checks");
        let mut world = old.world(kind).expect("world");
        world.start(T0);
        world.input(&create("a", T0, 5.0));
        world.input(&registered(T0 + 60, "CRM"));
        let topic = |w: &mut World<'_>| w.engine().lead_field(0, "topic");
        assert_eq!(
            topic(&mut world),
            Some(runtime::timeline::FieldValue::Text("CRM".into()))
        );
        let waiting = world.engine().journey_positions();
        let (next, _) = compose(
            &old,
            &waiting,
            &ProgramSource::single("main.journey", version("1 day", "v2")),
        )
        .expect("v2 composes");
        let mut world = deploy(world, &next, kind);
        let lines = world.input(&registered(T0 + 120, "ERP"));
        assert!(
            !lines
                .iter()
                .any(|l| matches!(l.entry, Entry::JourneyEntered { .. })),
            "{kind:?}: {lines:?}"
        );
        assert_eq!(
            topic(&mut world),
            Some(runtime::timeline::FieldValue::Text("ERP".into())),
            "{kind:?}"
        );
        let all = world.advance_to(T0 + 3 * DAY);
        assert_eq!(
            tags(&all),
            vec![("a".to_owned(), "v1".to_owned())],
            "{kind:?}"
        );
    }
}
