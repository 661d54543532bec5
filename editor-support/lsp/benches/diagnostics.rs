//! Criterion benchmark of the language server's edit → diagnostics path on a 1,000-line file: `cargo bench -p lsp --bench diagnostics`.
//!
//! The program is `journeys/` plus `big.journey`, a generated file of 1,000 lines
//! (segments, scores, rules and journeys over the example program's fields and events).
//! Each iteration replaces `big.journey` with one of two versions that differ in one
//! character (so the workspace really re-parses it), re-checks the program and converts
//! every diagnostic to LSP positions: all that `textDocument/didChange` does before it
//! publishes.

use std::path::Path;

use compiler::ProgramSource;
use criterion::{criterion_group, criterion_main, Criterion};

/// A journey file of exactly `lines` lines (a block of 20 lines repeated with new names).
fn big_file(lines: usize, threshold: u32) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.lines().count() + 20 <= lines {
        out.push_str(&format!(
            "# Khối {i}: phân khúc, điểm, quy tắc và chuỗi nuôi dưỡng\n\
             segment big_{i} = company_size >= {threshold} and business_email\n\
             segment hot_{i} = big_{i} and count(page_viewed where event.url contains \"/bang-gia\" within 7 days) >= 2\n\
             score extra_{i} {{\n\
             \x20 +10 if big_{i}\n\
             \x20 +5 if lower(industry) in target_industries\n\
             \x20 +3 on page_viewed where event.url contains \"/blog\"\n\
             }}\n\
             rule flag_{i} {{\n\
             \x20 when hot_{i} and score.extra_{i} >= 10\n\
             \x20 then tag \"hot_{i}\"\n\
             }}\n\
             journey nurture_{i} {{\n\
             \x20 enter on form_submitted where event.form == \"form_{i}\"\n\
             \x20 exit when unsubscribed\n\
             \x20 send ebook_delivery\n\
             \x20 wait 2 days\n\
             \x20 send case_study\n\
             }}\n\
             \n"
        ));
        i += 1;
    }
    while out.lines().count() < lines {
        out.push_str("# …\n");
    }
    out
}

fn journeys() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../journeys");
    source::load_dir(&root).expect("journeys/ loads").files()
}

fn bench(c: &mut Criterion) {
    let a = big_file(1_000, 200);
    let b = big_file(1_000, 300);
    assert_eq!(a.lines().count(), 1_000);
    let mut files = journeys();
    files.push(("big.journey".into(), a.clone()));
    let mut program = lsp::Program::new(
        "/tmp/tandem-bench".into(),
        ProgramSource::from_files(&files),
    );
    assert!(
        !program.ws.has_errors(),
        "{:?}",
        program.ws.diagnostics().first()
    );
    let mut flip = false;
    c.bench_function("lsp/did_change_1000_lines", |bench| {
        bench.iter(|| {
            flip = !flip;
            let text = if flip { b.clone() } else { a.clone() };
            program.change("big.journey", text, false)
        })
    });
    // The same with a mistake in the file: the diagnostics are converted too.
    let broken_a = a.replacen("company_size >= 200", "company_sise >= 200", 1);
    let broken_b = b.replacen("company_size >= 300", "company_sise >= 300", 1);
    c.bench_function("lsp/did_change_1000_lines_with_error", |bench| {
        bench.iter(|| {
            flip = !flip;
            let text = if flip {
                broken_b.clone()
            } else {
                broken_a.clone()
            };
            let published = program.change("big.journey", text, false);
            assert!(published.iter().any(|p| !p.diagnostics.is_empty()));
            published
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
