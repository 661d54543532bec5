//! Criterion benchmarks of the front end on a synthetic 1,000-file program (about 5 MB): a full check, and re-checking after one file changes.

mod synth;

use criterion::{criterion_group, criterion_main, Criterion};

fn full_check(c: &mut Criterion) {
    let program = synth::program(1000);
    let bytes: usize = program.journeys.iter().map(|f| f.text.len()).sum();
    eprintln!(
        "synthetic program: {} files, {bytes} bytes",
        program.journeys.len()
    );
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("full_1000_files", |b| {
        b.iter(|| {
            let ws = compiler::check_program(&program);
            assert!(!ws.has_errors());
            ws
        })
    });
    group.finish();
}

fn recheck_one_file(c: &mut Criterion) {
    let program = synth::program(1000);
    let mut ws = compiler::Workspace::new(program);
    ws.check();
    assert!(!ws.has_errors(), "{:?}", ws.diagnostics().first());
    let path = "gen/0500.journey";
    let original = synth::file(500);
    // An edit inside a condition that moves every later declaration of the file
    // by one byte: names and types stay, places change.
    let edited = original.replace("company_size >= 200", "company_size >= 2000");
    assert_ne!(original, edited);
    let mut flip = false;
    let mut group = c.benchmark_group("check");
    group.bench_function("recheck_one_changed_file", |b| {
        b.iter(|| {
            flip = !flip;
            ws.set_file(
                path,
                if flip {
                    edited.clone()
                } else {
                    original.clone()
                },
            );
            let n = ws.check().len();
            assert_eq!(n, 0);
        })
    });
    group.finish();
}

criterion_group!(benches, full_check, recheck_one_file);
criterion_main!(benches);
