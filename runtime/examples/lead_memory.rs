//! Holds N leads shaped like `bench/dashboard.py`'s in one engine, one in K of them in a journey, and reports the heap bytes live per lead (a counting allocator): `cargo run --release -p runtime --example lead_memory -- [N] [K]`.

use compiler::evaluator::EvaluatorKind;
mod common;
use runtime::embed::Program;
use runtime::scenario::{Input, InputKind, InputValue};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering};

/// mimalloc (the product's allocator), counting the bytes asked for and not yet freed.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on unchanged to mimalloc, a correct allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is passed on.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL_ALLOCATOR: Counting = Counting;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let n = arg(1, 200_000);
    // Every `every`-th lead submits the ebook form and so enters a journey.
    let every = arg(2, 1).max(1);
    let program = Program::check(common::journeys()).expect("journeys/ checks");
    let mut world = program
        .world_without_log(EvaluatorKind::Jit)
        .expect("engine");
    let start: i64 = 1_767_578_400;
    world.start(start);
    let before = LIVE.load(Ordering::Relaxed);
    let text = |s: String| InputValue::Text(s);
    for i in 0..n {
        let lead = format!("d{i}");
        world.input(&Input {
            index: 0,
            at: start,
            lead: lead.clone(),
            kind: InputKind::Create(vec![
                ("name".into(), text(format!("Khách {i}"))),
                ("email".into(), text(format!("d{i}@cty{}.vn", i % 97))),
                (
                    "company_size".into(),
                    InputValue::Number((10 + i % 3000) as f64),
                ),
                (
                    "industry".into(),
                    text(["saas", "retail", "logistics"][i % 3].into()),
                ),
                (
                    "source".into(),
                    text(["ebook", "webinar", "ads", "referral"][i % 4].into()),
                ),
            ]),
        });
        if i % every == 0 {
            world.input(&Input {
                index: 0,
                at: start,
                lead,
                kind: InputKind::Event {
                    event: "form_submitted".into(),
                    props: vec![
                        ("form".into(), text("ebook_chuyen_doi_so".into())),
                        ("page".into(), text("/ebook".into())),
                    ],
                },
            });
        }
    }
    let live = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "{n} leads (one in {every} in a journey): {} heap bytes live, {:.0} per lead",
        live,
        live as f64 / n as f64
    );
}
