//! Journey step graphs: the specification's `ebook_nurture` flattened into nodes, walked the way the runtime will walk it.

use compiler::graph::{ActionIr, JourneyGraph, NodeKind};
use compiler::{ProgramSource, SourceText};

fn load_spec_examples() -> ProgramSource {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/valid/spec_examples");
    let mut source = ProgramSource::default();
    for entry in std::fs::read_dir(&dir).expect("fixture dir").flatten() {
        let p = entry.path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        if name.ends_with(".journey") {
            source.journeys.push(SourceText {
                path: name,
                text: std::fs::read_to_string(&p).expect("read"),
            });
        }
    }
    for entry in std::fs::read_dir(dir.join("templates"))
        .expect("templates")
        .flatten()
    {
        let p = entry.path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        source.templates.push(SourceText {
            path: format!("templates/{name}"),
            text: std::fs::read_to_string(&p).expect("read"),
        });
    }
    source
}

fn describe(g: &JourneyGraph, id: usize) -> String {
    match &g.nodes[id].kind {
        NodeKind::Action(ActionIr::Send(t)) => format!("send {t}"),
        NodeKind::Action(ActionIr::Tag(t)) => format!("tag {t}"),
        NodeKind::Action(a) => format!("{a:?}"),
        NodeKind::Wait { secs } => format!("wait {secs}"),
        NodeKind::WaitClock { days, minute } => format!("clock {days:#b} {minute}"),
        NodeKind::WaitFor {
            event, up_to_secs, ..
        } => format!("wait for {event} {up_to_secs}"),
        NodeKind::WaitUntil { up_to_secs, .. } => format!("wait until {up_to_secs}"),
        NodeKind::Branch { arms } => format!("branch {}", arms.len()),
        NodeKind::Split { index, arms } => {
            format!(
                "split#{index} {:?}",
                arms.iter().map(|a| a.0).collect::<Vec<_>>()
            )
        }
        NodeKind::End => "end".to_owned(),
    }
}

#[test]
fn ebook_nurture_flattens_into_the_expected_walk() {
    let ws = compiler::check_program(&load_spec_examples());
    assert!(!ws.has_errors(), "{:?}", ws.diagnostics());
    let lowered = compiler::program::lower_program(&ws).expect("lowers");
    let g = lowered
        .journeys
        .iter()
        .find(|g| g.name == "ebook_nurture")
        .expect("journey");

    // The main path: always the `else` / `next` successor.
    let mut walk = Vec::new();
    let mut id = 0;
    for _ in 0..g.nodes.len() {
        walk.push(describe(g, id));
        if matches!(g.nodes[id].kind, NodeKind::End) {
            break;
        }
        id = g.nodes[id].next;
    }
    assert_eq!(
        walk,
        [
            "wait 0",
            "send ebook_delivery",
            "wait 172800",
            "branch 1",
            "send ebook_reminder",
            "wait for email_clicked 432000",
            "tag engaged",
            "clock 0b11111 540",
            "split#0 [50, 50]",
            "end",
        ]
    );

    // The other edges: the `if` arm, the timeout, and the split arms.
    let branch = g.nodes.iter().find_map(|n| match &n.kind {
        NodeKind::Branch { arms } => Some(arms[0].1),
        _ => None,
    });
    assert_eq!(
        branch.map(|b| describe(g, b)).as_deref(),
        Some("send case_study")
    );
    let timeout = g.nodes.iter().find_map(|n| match &n.kind {
        NodeKind::WaitFor { timeout, .. } => Some(*timeout),
        _ => None,
    });
    let t = timeout.expect("timeout edge");
    assert_eq!(describe(g, t), "send last_chance");
    assert_eq!(describe(g, g.nodes[t].next), "clock 0b11111 540");
    let arms: Vec<String> = g
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Split { arms, .. } => Some(arms.iter().map(|a| describe(g, a.1)).collect()),
            _ => None,
        })
        .expect("split");
    assert_eq!(arms, ["send webinar_invite_a", "send webinar_invite_b"]);
}
