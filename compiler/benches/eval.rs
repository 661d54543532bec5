//! Criterion benchmarks of condition evaluation: Tandem's JIT and interpreter against a hand-written closure, Rhai, CEL and zen-expression on the same 1M synthetic leads; a 50-line score model; JIT compile times.
//!
//! Method (also in BENCHMARKS.md): every engine gets the leads in its own
//! representation, built before timing; the timed loop evaluates the four
//! predicates for every lead and counts the ones that hold. Each peer's
//! per-lead feeding is its idiomatic cheapest path: Rhai reuses one `Scope`
//! and sets four values; CEL opens a child scope of one root context and adds
//! four variables; zen evaluates a prebuilt `Variable` with a reused VM;
//! Tandem builds an `EvalCtx` over the prebuilt lead record. All engines must
//! agree on every count (checked before timing).

use std::hint::black_box;

use compiler::eval::{EvalCtx, LeadRecord, NoHistory};
use compiler::evaluator::{Evaluator, Interpreter, JitEvaluator};
use compiler::ir::{CompiledExprs, FuncId};
use compiler::ProgramSource;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LEADS: usize = 1_000_000;
const NOW: i64 = 1_767_600_000;

const ORIGINS: &[&str] = &["MOW", "LED", "SGN", "HAN", "BKK"];
const COUNTRIES: &[&str] = &["RU", "VN", "TH", "US"];

/// The predicate set, in each engine's syntax: Tandem, Rhai, CEL, zen.
const PREDICATES: &[[&str; 4]] = &[
    [
        r#"(origin == "MOW" or country == "RU") and (value >= 100 or adults == 1)"#,
        r#"(origin == "MOW" || country == "RU") && (value >= 100.0 || adults == 1.0)"#,
        r#"(origin == "MOW" || country == "RU") && (value >= 100.0 || adults == 1.0)"#,
        r#"(origin == "MOW" or country == "RU") and (value >= 100 or adults == 1)"#,
    ],
    [
        r#"value between 50 and 300 and origin != "LED""#,
        r#"value >= 50.0 && value <= 300.0 && origin != "LED""#,
        r#"value >= 50.0 && value <= 300.0 && origin != "LED""#,
        r#"value >= 50 and value <= 300 and origin != "LED""#,
    ],
    [
        r#"country in ["VN", "TH"] and value * adults > 400"#,
        r#"country in ["VN", "TH"] && value * adults > 400.0"#,
        r#"country in ["VN", "TH"] && value * adults > 400.0"#,
        r#"country in ["VN", "TH"] and value * adults > 400"#,
    ],
    [
        r#"not (adults >= 3) or value < 20"#,
        r#"!(adults >= 3.0) || value < 20.0"#,
        r#"!(adults >= 3.0) || value < 20.0"#,
        r#"not (adults >= 3) or value < 20"#,
    ],
];

/// One synthetic lead.
#[derive(Clone)]
struct Lead {
    origin: &'static str,
    country: &'static str,
    value: f64,
    adults: f64,
}

fn leads(n: usize) -> Vec<Lead> {
    // A fixed linear congruential generator: the same leads on every run.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    (0..n)
        .map(|_| Lead {
            origin: ORIGINS[(next() % ORIGINS.len() as u64) as usize],
            country: COUNTRIES[(next() % COUNTRIES.len() as u64) as usize],
            value: (next() % 500) as f64,
            adults: (1 + next() % 4) as f64,
        })
        .collect()
}

const SCHEMA: &str = "timezone \"Asia/Ho_Chi_Minh\"\nlead { origin: text, country: text, value: number, adults: number }\n";

/// Checks and lowers `segment NAME = EXPR` lines; returns the compiled set and the segment functions.
fn compile_segments(exprs: &[String]) -> (CompiledExprs, Vec<FuncId>) {
    let mut src = SCHEMA.to_owned();
    for (i, e) in exprs.iter().enumerate() {
        src.push_str(&format!("segment p{i} = {e}\n"));
    }
    let program = ProgramSource::single("bench.journey", src);
    let ws = compiler::check_program(&program);
    assert!(!ws.has_errors(), "{:?}", ws.diagnostics());
    let lowered = compiler::program::lower_program(&ws).expect("lowers");
    let funcs = lowered.origins.iter().map(|o| o.func).collect();
    (lowered.exprs, funcs)
}

fn records(exprs: &mut CompiledExprs, leads: &[Lead]) -> Vec<LeadRecord> {
    let slots =
        ["origin", "country", "value", "adults"].map(|f| exprs.layout.slot(f).expect("field"));
    leads
        .iter()
        .map(|l| {
            let mut r = LeadRecord::new(exprs);
            let o = u64::from(exprs.interner.intern(l.origin));
            let c = u64::from(exprs.interner.intern(l.country));
            r.set_word(slots[0], o);
            r.set_word(slots[1], c);
            r.set_word(slots[2], l.value.to_bits());
            r.set_word(slots[3], l.adults.to_bits());
            r
        })
        .collect()
}

/// As a host evaluating many leads should: one context, re-pointed at each lead (its
/// record checked against the layout), and the four functions run as one batch (the
/// JIT checks the program's layout once per batch, not once per call).
fn run_tandem(
    engine: &dyn Evaluator,
    exprs: &CompiledExprs,
    funcs: &[FuncId],
    recs: &[LeadRecord],
) -> usize {
    let filter = |f: FuncId, c: &mut EvalCtx<'_>| engine.call(f, c) != 0;
    let Some(first) = recs.first() else {
        return 0;
    };
    let Ok(mut ctx) = EvalCtx::new(exprs, first, None, &[], NOW, &NoHistory, &filter) else {
        return 0;
    };
    let mut out = vec![0u64; funcs.len()];
    let mut hits = 0;
    for r in recs {
        if ctx.rebind(r).is_err() {
            continue;
        }
        engine.call_many(funcs, &mut ctx, &mut out);
        hits += out.iter().map(|&w| w as usize).sum::<usize>();
    }
    hits
}

/// The way the first benchmarks ran: a context built per lead, one call per function.
fn run_tandem_per_lead(
    engine: &dyn Evaluator,
    exprs: &CompiledExprs,
    funcs: &[FuncId],
    recs: &[LeadRecord],
) -> usize {
    let filter = |f: FuncId, c: &mut EvalCtx<'_>| engine.call(f, c) != 0;
    let mut hits = 0;
    for r in recs {
        let Ok(mut ctx) = EvalCtx::new(exprs, r, None, &[], NOW, &NoHistory, &filter) else {
            continue;
        };
        for &f in funcs {
            hits += engine.call(f, &mut ctx) as usize;
        }
    }
    hits
}

/// The physical limit: the same four predicates written by hand over the same records.
fn run_native(exprs: &CompiledExprs, recs: &[LeadRecord]) -> usize {
    let [o, c, v, a] =
        ["origin", "country", "value", "adults"].map(|f| exprs.layout.slot(f).expect("field"));
    let sym = |s: &str| u64::from(exprs.interner.lookup(s).unwrap_or(u32::MAX));
    let (mow, ru, led, vn, th) = (sym("MOW"), sym("RU"), sym("LED"), sym("VN"), sym("TH"));
    let mut hits = 0;
    for r in recs {
        let w = &r.words;
        let (origin, country) = (w[o], w[c]);
        let (value, adults) = (f64::from_bits(w[v]), f64::from_bits(w[a]));
        hits += usize::from((origin == mow || country == ru) && (value >= 100.0 || adults == 1.0));
        hits += usize::from((50.0..=300.0).contains(&value) && origin != led);
        hits += usize::from((country == vn || country == th) && value * adults > 400.0);
        // `not (adults >= 3)` as the language means it: true for NaN too.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let few_adults = !(adults >= 3.0);
        hits += usize::from(few_adults || value < 20.0);
    }
    hits
}

fn run_rhai(leads: &[Lead]) -> impl FnMut() -> usize + '_ {
    let engine = rhai::Engine::new();
    let asts: Vec<rhai::AST> = PREDICATES
        .iter()
        .map(|p| engine.compile_expression(p[1]).expect("rhai compiles"))
        .collect();
    let strings: Vec<(rhai::ImmutableString, rhai::ImmutableString)> = leads
        .iter()
        .map(|l| (l.origin.into(), l.country.into()))
        .collect();
    move || {
        let mut scope = rhai::Scope::new();
        let mut hits = 0;
        for (l, (o, c)) in leads.iter().zip(&strings) {
            scope.set_value("origin", o.clone());
            scope.set_value("country", c.clone());
            scope.set_value("value", l.value);
            scope.set_value("adults", l.adults);
            for ast in &asts {
                hits += usize::from(
                    engine
                        .eval_ast_with_scope::<bool>(&mut scope, ast)
                        .unwrap_or(false),
                );
            }
        }
        hits
    }
}

fn run_cel(leads: &[Lead]) -> impl FnMut() -> usize + '_ {
    let programs: Vec<cel::Program> = PREDICATES
        .iter()
        .map(|p| cel::Program::compile(p[2]).expect("cel compiles"))
        .collect();
    let root = cel::Context::default();
    move || {
        let mut hits = 0;
        for l in leads {
            let mut ctx = root.new_inner_scope();
            ctx.add_variable_from_value("origin", l.origin);
            ctx.add_variable_from_value("country", l.country);
            ctx.add_variable_from_value("value", l.value);
            ctx.add_variable_from_value("adults", l.adults);
            for p in &programs {
                hits += usize::from(matches!(p.execute(&ctx), Ok(cel::Value::Bool(true))));
            }
        }
        hits
    }
}

fn run_zen(leads: &[Lead]) -> impl FnMut() -> usize + '_ {
    let exprs: Vec<_> = PREDICATES
        .iter()
        .map(|p| zen_expression::compile_expression(p[3]).expect("zen compiles"))
        .collect();
    let vars: Vec<zen_expression::Variable> = leads
        .iter()
        .map(|l| {
            serde_json::json!({"origin": l.origin, "country": l.country, "value": l.value, "adults": l.adults}).into()
        })
        .collect();
    move || {
        let mut vm = zen_expression::vm::VM::new();
        let mut hits = 0;
        for v in &vars {
            for e in &exprs {
                let r = e.evaluate_with(v.clone(), &mut vm);
                hits += usize::from(matches!(r, Ok(zen_expression::Variable::Bool(true))));
            }
        }
        hits
    }
}

fn predicate(c: &mut Criterion) {
    let leads = leads(LEADS);
    let texts: Vec<String> = PREDICATES.iter().map(|p| p[0].to_owned()).collect();
    let (mut exprs, funcs) = compile_segments(&texts);
    let recs = records(&mut exprs, &leads);
    let jit = JitEvaluator::new(&exprs).expect("jit");
    let fused = JitEvaluator::with_batches(&exprs, std::slice::from_ref(&funcs)).expect("jit");
    let interp = Interpreter { exprs: &exprs };

    // Every engine must count the same hits before any is timed (on a prefix for the slow ones).
    let expected = run_native(&exprs, &recs);
    assert_eq!(run_tandem(&jit, &exprs, &funcs, &recs), expected, "jit");
    assert_eq!(
        run_tandem(&fused, &exprs, &funcs, &recs),
        expected,
        "jit, fused"
    );
    assert_eq!(
        run_tandem_per_lead(&jit, &exprs, &funcs, &recs),
        expected,
        "jit, a context per lead"
    );
    assert_eq!(
        run_tandem(&interp, &exprs, &funcs, &recs),
        expected,
        "interp"
    );
    let prefix = 20_000;
    let want = run_native(&exprs, &recs[..prefix]);
    assert_eq!(run_rhai(&leads[..prefix])(), want, "rhai");
    assert_eq!(run_cel(&leads[..prefix])(), want, "cel");
    assert_eq!(run_zen(&leads[..prefix])(), want, "zen");

    let mut group = c.benchmark_group("predicate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LEADS as u64));
    group.bench_function("jit", |b| {
        b.iter(|| black_box(run_tandem(&jit, &exprs, &funcs, &recs)))
    });
    group.bench_function("jit_fused", |b| {
        b.iter(|| black_box(run_tandem(&fused, &exprs, &funcs, &recs)))
    });
    group.bench_function("jit_context_per_lead", |b| {
        b.iter(|| black_box(run_tandem_per_lead(&jit, &exprs, &funcs, &recs)))
    });
    group.bench_function("interp", |b| {
        b.iter(|| black_box(run_tandem(&interp, &exprs, &funcs, &recs)))
    });
    group.bench_function("native", |b| {
        b.iter(|| black_box(run_native(&exprs, &recs)))
    });
    let mut rhai_run = run_rhai(&leads);
    group.bench_function("rhai", |b| b.iter(|| black_box(rhai_run())));
    let mut cel_run = run_cel(&leads);
    group.bench_function("cel", |b| b.iter(|| black_box(cel_run())));
    let mut zen_run = run_zen(&leads);
    group.bench_function("zen", |b| b.iter(|| black_box(zen_run())));
    group.finish();
}

/// Line i of the 50-line score model: (kind, parameter a, parameter b).
fn score_line(i: usize) -> (usize, f64, f64) {
    (i % 5, (i * 37 % 480) as f64, (1 + i % 4) as f64)
}

fn score_source() -> Vec<String> {
    (0..50)
        .map(|i| {
            let (kind, a, b) = score_line(i);
            match kind {
                0 => format!("value >= {a} and adults <= {b}"),
                1 => format!("origin == \"{}\"", ORIGINS[i % ORIGINS.len()]),
                2 => format!(
                    "country in [\"{}\", \"{}\"]",
                    COUNTRIES[i % 4],
                    COUNTRIES[(i + 1) % 4]
                ),
                3 => format!("value * adults > {a}"),
                _ => format!("adults between 1 and {b} and value < {a}"),
            }
        })
        .collect()
}

fn points(i: usize) -> f64 {
    (i % 7) as f64 + 1.0
}

fn score50(c: &mut Criterion) {
    let leads = leads(100_000);
    let lines = score_source();
    let (mut exprs, funcs) = compile_segments(&lines);
    let recs = records(&mut exprs, &leads);
    let jit = JitEvaluator::new(&exprs).expect("jit");
    let interp = Interpreter { exprs: &exprs };
    let score = |engine: &dyn Evaluator| {
        let filter = |f: FuncId, c: &mut EvalCtx<'_>| engine.call(f, c) != 0;
        let mut total = 0.0;
        for r in &recs {
            let Ok(mut ctx) = EvalCtx::new(&exprs, r, None, &[], NOW, &NoHistory, &filter) else {
                continue;
            };
            let mut s = 0.0;
            for (i, &f) in funcs.iter().enumerate() {
                if engine.call(f, &mut ctx) != 0 {
                    s += points(i);
                }
            }
            total += s.clamp(0.0, 100.0);
        }
        total
    };
    let [o, c_, v, a] =
        ["origin", "country", "value", "adults"].map(|f| exprs.layout.slot(f).expect("field"));
    let syms: Vec<u64> = ORIGINS
        .iter()
        .map(|s| u64::from(exprs.interner.lookup(s).unwrap_or(u32::MAX)))
        .collect();
    let csyms: Vec<u64> = COUNTRIES
        .iter()
        .map(|s| u64::from(exprs.interner.lookup(s).unwrap_or(u32::MAX)))
        .collect();
    let native = || {
        let mut total = 0.0;
        for r in &recs {
            let w = &r.words;
            let (origin, country) = (w[o], w[c_]);
            let (value, adults) = (f64::from_bits(w[v]), f64::from_bits(w[a]));
            let mut s = 0.0;
            for i in 0..50 {
                let (kind, pa, pb) = score_line(i);
                let hit = match kind {
                    0 => value >= pa && adults <= pb,
                    1 => origin == syms[i % ORIGINS.len()],
                    2 => country == csyms[i % 4] || country == csyms[(i + 1) % 4],
                    3 => value * adults > pa,
                    _ => (1.0..=pb).contains(&adults) && value < pa,
                };
                if hit {
                    s += points(i);
                }
            }
            total += f64::clamp(s, 0.0, 100.0);
        }
        total
    };
    let expected = native();
    assert_eq!(score(&jit), expected, "jit score");
    assert_eq!(score(&interp), expected, "interp score");
    let mut group = c.benchmark_group("score50");
    group.sample_size(10);
    group.throughput(Throughput::Elements(recs.len() as u64));
    group.bench_function("jit", |b| b.iter(|| black_box(score(&jit))));
    group.bench_function("interp", |b| b.iter(|| black_box(score(&interp))));
    group.bench_function("native", |b| b.iter(|| black_box(native())));
    group.finish();
}

fn compile(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("journeys");
    let source = source::load_dir(&dir).expect("journeys/ loads");
    let ws = compiler::check_program(&source);
    assert!(!ws.has_errors());
    let lowered = compiler::program::lower_program(&ws).expect("lowers");
    eprintln!(
        "journeys/: {} compiled functions",
        lowered.exprs.funcs.len()
    );
    let mut group = c.benchmark_group("compile");
    group.bench_function("program", |b| {
        b.iter(|| {
            let lowered = compiler::program::lower_program(&ws).expect("lowers");
            JitEvaluator::new(&lowered.exprs).expect("jit")
        })
    });
    let (single, _) = compile_segments(&[PREDICATES[0][0].to_owned()]);
    group.bench_function("predicate", |b| {
        b.iter(|| JitEvaluator::new(&single).expect("jit"))
    });
    group.finish();
}

criterion_group!(benches, predicate, score50, compile);
criterion_main!(benches);
