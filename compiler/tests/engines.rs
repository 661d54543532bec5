//! Differential tests: the JIT and the reference interpreter give the same word for every expression, on every lead (proptest, fixed case count).

use compiler::eval::{EventRecord, History, LeadRecord};
use compiler::evaluator::{Evaluator, Interpreter, JitEvaluator};
use compiler::ir::{CompiledExprs, SlotKind, OUTSIDE_STAGE_BASE};
use compiler::{ProgramSource, SourceText};
use proptest::prelude::*;

const SCHEMA: &str = r#"
timezone "Asia/Ho_Chi_Minh"
lead { n1: number, n2: number, t1: text, t2: text, b1: bool, tm: time }
event visit { url: text, secs: number }
score s1 { +10 if n1 > 0 }
score s2 { +5 on visit where event.secs > 30 }
"#;

const TEMPLATE: &str = "+++\nsubject = \"x\"\n+++\n{{ unsubscribe_url }}\n";

/// A history whose events and engagement are part of the generated case.
struct FakeHistory {
    events: Vec<EventRecord>,
    opened: bool,
}

impl History for FakeHistory {
    fn events(&self, event: u32, from: i64, to: i64) -> Vec<&EventRecord> {
        self.events
            .iter()
            .filter(|e| e.event == event && e.at > from && e.at <= to)
            .collect()
    }
    fn engaged(&self, _: &str, clicked: bool) -> bool {
        self.opened && !clicked
    }
}

/// Compiles `segment probe_i = EXPR` for each expression; returns the compiled set.
fn compile(exprs: &[String]) -> CompiledExprs {
    let mut src = SCHEMA.to_owned();
    for (i, e) in exprs.iter().enumerate() {
        src.push_str(&format!("segment probe_{i} = {e}\n"));
    }
    let program = ProgramSource {
        journeys: vec![SourceText {
            path: "p.journey".into(),
            text: src,
        }],
        templates: vec![SourceText {
            path: "templates/tpl.md".into(),
            text: TEMPLATE.into(),
        }],
        config: None,
    };
    let ws = compiler::check_program(&program);
    let errors: Vec<_> = ws
        .diagnostics()
        .iter()
        .filter(|d| d.severity == compiler::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(
        errors.is_empty(),
        "generated program does not check: {errors:?}\n{exprs:?}"
    );
    compiler::program::lower_program(&ws).expect("lowers").exprs
}

fn num_text(x: f64) -> String {
    // Literals in source are non-negative; the sign comes from unary minus.
    format!("{}", x.abs())
}

fn number_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec![0.0, 1.0, 2.5, 30.0, 100.0, 1e308, 0.125, 7.0])
            .prop_map(num_text),
        Just("n1".to_owned()),
        Just("n2".to_owned()),
        Just("score.s1".to_owned()),
        Just("score.s2".to_owned()),
        Just("days_since(tm)".to_owned()),
        Just("hours_since(tm)".to_owned()),
        Just("length(t1)".to_owned()),
        Just("count(visit within 7 days)".to_owned()),
        Just("count(visit where event.url contains \"/pricing\" within 1 day)".to_owned()),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            inner.clone().prop_map(|a| format!("round({a})")),
            inner.clone().prop_map(|a| format!("abs({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("min({a}, {b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("max({a}, {b})")),
        ]
    })
}

fn text_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "\"\"",
            "\"saas\"",
            "\"SaaS\"",
            "\"Giám đốc\"",
            "\"an@gmail.com\"",
            "\"x\""
        ])
        .prop_map(str::to_owned),
        Just("t1".to_owned()),
        Just("t2".to_owned()),
    ];
    leaf.prop_recursive(2, 6, 1, |inner| {
        prop_oneof![
            inner.clone().prop_map(|a| format!("lower({a})")),
            inner.clone().prop_map(|a| format!("upper({a})")),
            inner.clone().prop_map(|a| format!("trim({a})")),
            inner.clone().prop_map(|a| format!("unaccent({a})")),
            inner.prop_map(|a| format!("domain({a})")),
        ]
    })
}

fn time_expr() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "tm",
        "now()",
        "tm + 2 days",
        "now() - 3 hours",
        "tm - 1 week",
    ])
    .prop_map(str::to_owned)
}

fn bool_expr() -> impl Strategy<Value = String> {
    let cmp = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    let leaf = prop_oneof![
        Just("true".to_owned()),
        Just("b1".to_owned()),
        Just("b1 is set".to_owned()),
        Just("tm is missing".to_owned()),
        Just("opened(tpl)".to_owned()),
        Just("\"vip\" in tags".to_owned()),
        (number_expr(), cmp.clone(), number_expr()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (time_expr(), cmp.clone(), time_expr()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (
            prop::sample::select(vec!["stage", "lead", "mql", "disqualified"]),
            cmp,
            prop::sample::select(vec!["stage", "sql", "subscriber", "disqualified"])
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (
            text_expr(),
            prop::sample::select(vec!["==", "!="]),
            text_expr()
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (
            text_expr(),
            prop::sample::select(vec!["contains", "starts with", "ends with"]),
            text_expr()
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        text_expr().prop_map(|a| format!("{a} matches \"^s|doc\"")),
        text_expr().prop_map(|a| format!("{a} in [\"saas\", \"x\", \"gmail.com\"]")),
        text_expr().prop_map(|a| format!("{a} not in tags")),
        text_expr().prop_map(|a| format!("free_email({a})")),
        number_expr().prop_map(|a| format!("{a} in [0, 1, 2.5]")),
        (number_expr(), number_expr(), number_expr())
            .prop_map(|(a, b, c)| format!("{a} between {b} and {c}")),
        (time_expr(), time_expr()).prop_map(|(a, b)| format!("tm between {a} and {b}")),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|a| format!("not ({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a} or {b})")),
        ]
    })
}

#[derive(Debug, Clone)]
struct LeadCase {
    n1: f64,
    n2: f64,
    t1: &'static str,
    t2: &'static str,
    b1: Option<bool>,
    tm: Option<i64>,
    stage: usize,
    vip: bool,
    scores: (f64, f64),
    now: i64,
    visits: Vec<(i64, &'static str, f64)>,
    opened: bool,
}

fn any_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.5,
            100.0,
            1e308,
            -1e308,
            0.1,
            f64::NAN,
            f64::INFINITY
        ]),
        -1e6f64..1e6,
    ]
}

const TEXTS: &[&str] = &[
    "",
    "saas",
    "SaaS",
    "Giám đốc",
    "an@gmail.com",
    "x",
    "  padded  ",
    "new text",
    "/pricing/vn",
];

fn lead_case() -> impl Strategy<Value = LeadCase> {
    (
        (
            any_number(),
            any_number(),
            prop::sample::select(TEXTS),
            prop::sample::select(TEXTS),
        ),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(-2_000_000_000i64..2_000_000_000),
            0usize..7,
            any::<bool>(),
        ),
        (
            (-50.0f64..150.0),
            (-50.0f64..150.0),
            1_700_000_000i64..1_800_000_000,
        ),
        prop::collection::vec(
            (
                0i64..1_000_000,
                prop::sample::select(TEXTS),
                -10.0f64..100.0,
            ),
            0..5,
        ),
        any::<bool>(),
    )
        .prop_map(
            |((n1, n2, t1, t2), (b1, tm, stage, vip), (s1, s2, now), visits, opened)| LeadCase {
                n1,
                n2,
                t1,
                t2,
                b1,
                tm,
                stage,
                vip,
                scores: (s1, s2),
                now,
                visits: visits
                    .into_iter()
                    .map(|(ago, url, secs)| (now - ago, url, secs))
                    .collect(),
                opened,
            },
        )
}

fn build_lead(exprs: &mut CompiledExprs, case: &LeadCase) -> (LeadRecord, FakeHistory, Vec<f64>) {
    let mut lead = LeadRecord::new(exprs);
    let slot =
        |exprs: &CompiledExprs, name: &str| exprs.layout.slot(name).expect("field in layout");
    let t1 = u64::from(exprs.interner.intern(case.t1));
    let t2 = u64::from(exprs.interner.intern(case.t2));
    lead.set_word(slot(exprs, "n1"), case.n1.to_bits());
    lead.set_word(slot(exprs, "n2"), case.n2.to_bits());
    lead.set_word(slot(exprs, "t1"), t1);
    lead.set_word(slot(exprs, "t2"), t2);
    if let Some(b) = case.b1 {
        lead.set_word(slot(exprs, "b1"), u64::from(b));
    }
    if let Some(t) = case.tm {
        lead.set_word(slot(exprs, "tm"), t as u64);
    }
    let stage_code = exprs.stages.codes[case.stage % exprs.stages.codes.len()];
    lead.set_word(slot(exprs, "stage"), stage_code);
    if case.vip {
        let vip = exprs.interner.intern("vip");
        lead.tags.insert(vip);
    }
    let visit = exprs.layout.event("visit").expect("event visit");
    let (url, _) = exprs.layout.event_prop(visit, "url").expect("url");
    let (secs, kind) = exprs.layout.event_prop(visit, "secs").expect("secs");
    assert_eq!(kind, SlotKind::Number);
    let mut events = Vec::new();
    for (at, u, s) in &case.visits {
        let mut ev = EventRecord::new(exprs, visit, *at);
        let sym = u64::from(exprs.interner.intern(u));
        ev.set_word(url, sym);
        ev.set_word(secs, s.to_bits());
        events.push(ev);
    }
    assert!(stage_code < OUTSIDE_STAGE_BASE * 2);
    let scores = vec![case.scores.0, case.scores.1];
    (
        lead,
        FakeHistory {
            events,
            opened: case.opened,
        },
        scores,
    )
}

fn same_results(exprs_src: &[String], cases: &[LeadCase]) -> Result<(), TestCaseError> {
    let mut exprs = compile(exprs_src);
    let jit = JitEvaluator::new(&exprs).expect("the JIT compiles every generated expression");
    for case in cases {
        let (lead, history, scores) = build_lead(&mut exprs, case);
        let interp = Interpreter { exprs: &exprs };
        for f in 0..exprs.funcs.len() {
            if exprs.funcs[f].event.is_some() {
                continue; // count filters: exercised through `count(…)`
            }
            let a = interp
                .run(&exprs, f, &lead, None, &scores, case.now, &history)
                .expect("layout");
            let b = jit
                .run(&exprs, f, &lead, None, &scores, case.now, &history)
                .expect("layout");
            prop_assert_eq!(
                a,
                b,
                "function {} ({:?}) on {:?}",
                f,
                exprs_src.get(f),
                case
            );
        }
        // The same functions as one batch, in a context built for another record of
        // the layout and re-pointed at this lead: the same words, from both engines.
        let plain: Vec<usize> = (0..exprs.funcs.len())
            .filter(|f| exprs.funcs[*f].event.is_none())
            .collect();
        let one_by_one: Vec<u64> = plain
            .iter()
            .map(|f| {
                interp
                    .run(&exprs, *f, &lead, None, &scores, case.now, &history)
                    .expect("layout")
            })
            .collect();
        let blank = LeadRecord::new(&exprs);
        let fused = JitEvaluator::with_batches(&exprs, std::slice::from_ref(&plain))
            .expect("the JIT fuses every generated batch");
        for engine in [&interp as &dyn Evaluator, &jit, &fused] {
            let filter = |g: usize, c: &mut compiler::eval::EvalCtx<'_>| engine.call(g, c) != 0;
            let mut ctx = compiler::eval::EvalCtx::new(
                &exprs, &blank, None, &scores, case.now, &history, &filter,
            )
            .expect("layout");
            ctx.rebind(&lead).expect("the same layout");
            let mut batch = vec![u64::MAX; plain.len()];
            engine.call_many(&plain, &mut ctx, &mut batch);
            prop_assert_eq!(&batch, &one_by_one, "a batch on {:?}", case);
        }
    }
    Ok(())
}

#[test]
fn a_record_of_another_layout_is_refused_when_a_context_is_re_pointed() {
    let exprs = compile(&["n1 > 0".to_owned()]);
    let lead = LeadRecord::new(&exprs);
    let filter = |_: usize, _: &mut compiler::eval::EvalCtx<'_>| false;
    let mut ctx =
        compiler::eval::EvalCtx::new(&exprs, &lead, None, &[0.0, 0.0], 0, &NoEvents, &filter)
            .expect("layout");
    let other = compile(&["n1 > 0".to_owned(), "t1 == \"x\"".to_owned()]);
    let short = LeadRecord {
        words: vec![0; 1].into_boxed_slice(),
        tags: Default::default(),
    };
    assert!(ctx.rebind(&short).is_err());
    // A record of the same shape from another compile of the same schema is accepted.
    let same_shape = LeadRecord::new(&other);
    assert!(ctx.rebind(&same_shape).is_ok());
}

struct NoEvents;

impl History for NoEvents {
    fn events(&self, _: u32, _: i64, _: i64) -> Vec<&EventRecord> {
        Vec::new()
    }
    fn engaged(&self, _: &str, _: bool) -> bool {
        false
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn jit_equals_interpreter_on_conditions(
        exprs in prop::collection::vec(bool_expr(), 1..6),
        cases in prop::collection::vec(lead_case(), 1..6),
    ) {
        same_results(&exprs, &cases)?;
    }

    #[test]
    fn jit_equals_interpreter_on_numbers_bit_for_bit(
        exprs in prop::collection::vec(number_expr(), 1..6),
        cases in prop::collection::vec(lead_case(), 1..6),
    ) {
        let wrapped: Vec<String> = exprs.iter().map(|e| format!("{e} == {e}")).collect();
        same_results(&wrapped, &cases)?;
        // Compare the numbers themselves, through a `set` value of a rule.
        let mut src = SCHEMA.to_owned();
        for (i, e) in exprs.iter().enumerate() {
            src.push_str(&format!("rule r{i} {{ when b1 then set n1 = {e} }}\n"));
        }
        let program = ProgramSource {
            journeys: vec![SourceText { path: "p.journey".into(), text: src }],
            templates: vec![SourceText { path: "templates/tpl.md".into(), text: TEMPLATE.into() }],
            config: None,
        };
        let ws = compiler::check_program(&program);
        prop_assert!(!ws.has_errors(), "{:?}", ws.diagnostics());
        let mut lowered = compiler::program::lower_program(&ws).expect("lowers");
        let jit = JitEvaluator::new(&lowered.exprs).expect("compiles");
        for case in &cases {
            let (lead, history, scores) = build_lead(&mut lowered.exprs, case);
            let interp = Interpreter { exprs: &lowered.exprs };
            for o in lowered.origins.iter().filter(|o| o.what.contains(": set")) {
                let a = interp.run(&lowered.exprs, o.func, &lead, None, &scores, case.now, &history).expect("layout");
                let b = jit.run(&lowered.exprs, o.func, &lead, None, &scores, case.now, &history).expect("layout");
                prop_assert_eq!(a, b, "{} on {:?}", o.what, case);
                // Inputs are finite (scenarios reject NaN and infinities); the generator also
                // feeds them to stress both engines, and a bare field read passes them through.
                if case.n1.is_finite() && case.n2.is_finite() {
                    prop_assert!(f64::from_bits(a).is_finite(), "numbers stay finite: {}", f64::from_bits(a));
                }
            }
        }
    }
}

#[test]
fn every_expression_of_the_example_program_compiles_and_agrees() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("journeys");
    let source = source::load_dir(&dir).expect("journeys/ loads");
    let ws = compiler::check_program(&source);
    assert!(!ws.has_errors());
    let lowered = compiler::program::lower_program(&ws).expect("the example lowers");
    assert!(lowered.origins.len() > 30, "{}", lowered.origins.len());
    let jit = JitEvaluator::new(&lowered.exprs).expect("the example compiles");
    assert_eq!(jit.jit.len(), lowered.exprs.funcs.len());
    let lead = LeadRecord::new(&lowered.exprs);
    let scores = vec![0.0; lowered.exprs.scores.len()];
    let history = FakeHistory {
        events: Vec::new(),
        opened: false,
    };
    let interp = Interpreter {
        exprs: &lowered.exprs,
    };
    for o in &lowered.origins {
        let event = lowered.exprs.funcs[o.func]
            .event
            .map(|e| EventRecord::new(&lowered.exprs, e, 1_767_600_000));
        let a = interp.run(
            &lowered.exprs,
            o.func,
            &lead,
            event.as_ref(),
            &scores,
            1_767_600_000,
            &history,
        );
        let b = jit.run(
            &lowered.exprs,
            o.func,
            &lead,
            event.as_ref(),
            &scores,
            1_767_600_000,
            &history,
        );
        assert_eq!(a, b, "{}", o.what);
    }
}
