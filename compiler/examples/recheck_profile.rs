//! Runs the one-file re-check many times, for profiling: `cargo run --release -p compiler --example recheck_profile`.

#[path = "../benches/synth/mod.rs"]
mod synth;

fn main() {
    let mut ws = compiler::Workspace::new(synth::program(1000));
    ws.check();
    let original = synth::file(500);
    let edited = original.replace("company_size >= 200", "company_size >= 2000");
    let start = std::time::Instant::now();
    let rounds = 200;
    for i in 0..rounds {
        let text = if i % 2 == 0 {
            edited.clone()
        } else {
            original.clone()
        };
        ws.set_file("gen/0500.journey", text);
        ws.check();
    }
    println!("{:?} per re-check", start.elapsed() / rounds);
}
