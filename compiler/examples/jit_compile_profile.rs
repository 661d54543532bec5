//! Compiles one small predicate many times, for profiling the JIT's fixed cost: `cargo run --release -p compiler --example jit_compile_profile`.

fn main() {
    let src = "timezone \"Asia/Ho_Chi_Minh\"\nlead { origin: text, country: text, value: number, adults: number }\nsegment p0 = (origin == \"MOW\" or country == \"RU\") and (value >= 100 or adults == 1)\n";
    let program = compiler::ProgramSource::single("p.journey", src);
    let ws = compiler::check_program(&program);
    let lowered = compiler::program::lower_program(&ws).expect("lowers");
    let start = std::time::Instant::now();
    let n = 2000;
    for _ in 0..n {
        let jit = compiler::evaluator::JitEvaluator::new(&lowered.exprs).expect("jit");
        std::hint::black_box(jit);
    }
    println!("{:?} per compile", start.elapsed() / n);
}
