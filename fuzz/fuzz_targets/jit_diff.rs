//! Fuzz target: arbitrary bytes as a condition; when it checks, the JIT and the interpreter must agree on a few leads, and neither may panic.
#![no_main]

use compiler::evaluator::{Engine, Interpreter, JitEvaluator};
use compiler::eval::{LeadRecord, NoHistory};
use libfuzzer_sys::fuzz_target;

const SCHEMA: &str = "timezone \"Asia/Ho_Chi_Minh\"\nlead { n1: number, n2: number, t1: text, b1: bool, tm: time }\nevent visit { url: text, secs: number }\nscore s1 { +10 if n1 > 0 }\n";

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else { return };
    if expr.contains('\n') || expr.len() > 400 {
        return;
    }
    let src = format!("{SCHEMA}segment probe = {expr}\nrule probe_rule {{ when b1 then set n2 = n1 }}\n");
    let program = compiler::ProgramSource {
        journeys: vec![compiler::SourceText { path: "p.journey".into(), text: src }],
        templates: Vec::new(),
        config: None,
    };
    let ws = compiler::check_program(&program);
    if ws.has_errors() {
        return;
    }
    let Ok(mut lowered) = compiler::program::lower_program(&ws) else { return };
    let jit = JitEvaluator::new(&lowered.exprs).expect("a checked program compiles");
    let values: [(f64, &str, u64, i64); 4] = [
        (0.0, "", 0, 0),
        (1.5, "saas", 1, 1_767_600_000),
        (f64::NAN, "Giám đốc", 1, -5),
        (-1e308, "an@gmail.com", 0, i64::MAX),
    ];
    for (n, t, b, tm) in values {
        let exprs = &mut lowered.exprs;
        let mut lead = LeadRecord::new(exprs);
        let sym = u64::from(exprs.interner.intern(t));
        for (field, word) in [("n1", n.to_bits()), ("n2", (n * 2.0).to_bits()), ("t1", sym), ("b1", b), ("tm", tm as u64)] {
            if let Some(slot) = exprs.layout.slot(field) {
                lead.set_word(slot, word);
            }
        }
        let scores = vec![3.0; exprs.scores.len()];
        let interp = Interpreter { exprs };
        for f in 0..exprs.funcs.len() {
            if exprs.funcs[f].event.is_some() {
                continue;
            }
            let a = interp.run(exprs, f, &lead, None, &scores, 1_767_600_000, &NoHistory);
            let b = jit.run(exprs, f, &lead, None, &scores, 1_767_600_000, &NoHistory);
            assert_eq!(a, b, "function {f} of `{expr}`");
        }
    }
});
