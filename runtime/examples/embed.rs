//! Embedding Tandem in a Rust application: load the example program, feed a lead and its events, print the timeline, save the state and restore it.
//!
//! Run with `cargo run -p runtime --example embed`.

use compiler::ProgramSource;
use runtime::embed::{EvaluatorKind, Program, Snapshot};
use runtime::scenario::{parse_instant, Input, InputKind, InputValue};

/// Reads a program folder with the one loader (`source::load` takes any `FileSystem`: an
/// application may keep its files anywhere).
fn read_program(dir: &std::path::Path) -> std::io::Result<ProgramSource> {
    source::load_dir(dir).map_err(std::io::Error::other)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../journeys");
    let program = Program::check(read_program(&dir)?)
        .map_err(|d| format!("{} problems in the program", d.len()))?;
    let mut world = program.world(EvaluatorKind::Jit)?;
    let t0 = parse_instant("2026-01-05T09:00:00+07:00")?;
    world.start(t0);

    let text = |s: &str| InputValue::Text(s.to_owned());
    let inputs = [
        InputKind::Create(vec![
            ("email".into(), text("lan@techviet.vn")),
            ("name".into(), text("Lan")),
            ("company".into(), text("TechViet")),
            ("company_size".into(), InputValue::Number(150.0)),
            ("industry".into(), text("SaaS")),
            ("title".into(), text("Giám đốc vận hành")),
        ]),
        InputKind::Event {
            event: "form_submitted".into(),
            props: vec![("form".into(), text("ebook_chuyen_doi_so"))],
        },
    ];
    for (i, kind) in inputs.into_iter().enumerate() {
        let input = Input {
            index: i,
            at: t0,
            lead: "lan".into(),
            kind,
        };
        for line in world.input(&input) {
            println!("{}", line.to_json());
        }
    }
    for line in world.advance_to(t0 + 3 * 86_400) {
        println!("{}", line.to_json());
    }

    // Save the state as JSON, restore it into a new world, and check both agree.
    let saved = serde_json::to_string(
        &world
            .snapshot()
            .ok_or("a world made by Program::world keeps its inputs")?,
    )?;
    let snapshot: Snapshot = serde_json::from_str(&saved)?;
    let mut restored = program.restore(&snapshot, EvaluatorKind::Interp)?;
    let lead = restored
        .engine()
        .lead("lan")
        .ok_or("the restored world has the lead")?;
    println!(
        "restored: lan in ebook journey = {}",
        restored.engine().in_journey(lead, "ebook_nurture")
    );
    Ok(())
}
