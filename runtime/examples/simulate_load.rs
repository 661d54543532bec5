//! Simulates N synthetic leads of the `journeys/` program over 30 days (about 10 inputs per lead plus their timers) and reports inputs per second and memory: `cargo run --release -p runtime --example simulate_load -- [N] [jit|interp]`.

/// The same allocator as the `tandem` binary, so the figures are the product's.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use compiler::evaluator::EvaluatorKind;
mod common;
use runtime::embed::Program;
use runtime::engine::Engine;
use runtime::scenario::{Input, InputKind, InputValue};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let kind = if args.next().as_deref() == Some("interp") {
        EvaluatorKind::Interp
    } else {
        EvaluatorKind::Jit
    };
    let source = common::journeys();
    let program = Program::check(source).expect("journeys/ checks");

    // Inputs: per lead a create and nine events over 30 days, in time order.
    let start: i64 = 1_767_578_400; // 2026-01-05 09:00 +07
    let day = 86_400;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let industries = ["saas", "fintech", "logistics", "retail", "edu"];
    let forms = ["ebook_chuyen_doi_so", "demo_request", "lien_he"];
    let mut inputs = Vec::with_capacity(n * 10);
    for i in 0..n {
        let lead = format!("lead{i}");
        let t0 = start + (rnd(day as u64 * 3)) as i64;
        let email = if rnd(4) == 0 {
            format!("l{i}@gmail.com")
        } else {
            format!("l{i}@cty{}.vn", i % 997)
        };
        inputs.push(Input {
            index: 0,
            at: t0,
            lead: lead.clone(),
            kind: InputKind::Create(vec![
                ("email".into(), InputValue::Text(email)),
                ("name".into(), InputValue::Text(format!("Khách {i}"))),
                (
                    "company_size".into(),
                    InputValue::Number((rnd(3000) + 5) as f64),
                ),
                (
                    "industry".into(),
                    InputValue::Text(industries[rnd(5) as usize].into()),
                ),
                (
                    "title".into(),
                    InputValue::Text(if rnd(3) == 0 {
                        "Giám đốc".into()
                    } else {
                        "Nhân viên".into()
                    }),
                ),
            ]),
        });
        for _ in 0..9 {
            let at = t0 + 60 + rnd(27 * day as u64) as i64;
            let kind = match rnd(4) {
                0 => InputKind::Event {
                    event: "form_submitted".into(),
                    props: vec![(
                        "form".into(),
                        InputValue::Text(forms[rnd(3) as usize].into()),
                    )],
                },
                1 => InputKind::Event {
                    event: "page_viewed".into(),
                    props: vec![(
                        "url".into(),
                        InputValue::Text(if rnd(2) == 0 {
                            "/bang-gia".into()
                        } else {
                            "/blog".into()
                        }),
                    )],
                },
                2 => InputKind::Event {
                    event: "email_opened".into(),
                    props: vec![("template".into(), InputValue::Text("ebook_delivery".into()))],
                },
                _ => InputKind::Event {
                    event: "email_clicked".into(),
                    props: vec![
                        ("template".into(), InputValue::Text("case_study".into())),
                        ("url".into(), InputValue::Text("/case".into())),
                    ],
                },
            };
            inputs.push(Input {
                index: 0,
                at,
                lead: lead.clone(),
                kind,
            });
        }
    }
    inputs.sort_by_key(|i| i.at);
    let rss_before = rss_kib();
    // The engine itself (a `World` would also keep every input for snapshots).
    let mut world =
        Engine::new(program.lowered(), kind, program.templates().clone()).expect("engine");
    world.start(start);
    let t = std::time::Instant::now();
    let mut lines = 0usize;
    for input in &inputs {
        world.input(input);
        lines += world.take_lines().len();
    }
    world.advance_to(start + 30 * day);
    lines += world.take_lines().len();
    let secs = t.elapsed().as_secs_f64();
    let rss_after = rss_kib();
    println!(
        "{n} leads, {} inputs, {lines} timeline lines in {secs:.2} s: {:.0} inputs/s ({:?}); RSS {} MiB → {} MiB, {:.0} bytes per lead",
        inputs.len(),
        inputs.len() as f64 / secs,
        kind,
        rss_before / 1024,
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / n as f64
    );
}
