//! Journey step graphs: the specification's `ebook_nurture` flattened into nodes, walked the way the runtime will walk it.

use compiler::graph::{ActionIr, JourneyGraph, NodeKind};
use compiler::ProgramSource;

fn load_spec_examples() -> ProgramSource {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/valid/spec_examples");
    source::load_dir(&dir).expect("the fixture loads")
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
        NodeKind::WaitDate {
            field,
            offset_secs,
            minute,
        } => format!("wait until {field} {offset_secs} {minute:?}"),
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
        .map(|j| &j.graph)
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

#[test]
fn the_spec_program_lowers_into_plain_data() {
    let ws = compiler::check_program(&load_spec_examples());
    let p = compiler::program::lower_program(&ws).expect("lowers");
    assert_eq!(p.timezone, "Asia/Ho_Chi_Minh");
    assert_eq!(p.defaults.len(), 1, "country = \"VN\"");

    let fit = p.scores.iter().find(|s| s.name == "fit").expect("fit");
    assert_eq!(
        fit.if_lines.iter().map(|l| l.0).collect::<Vec<_>>(),
        [25.0, 15.0, 20.0, 10.0, -30.0]
    );
    assert_eq!((fit.min, fit.max), (Some(0.0), Some(100.0)));
    let engagement = p
        .scores
        .iter()
        .find(|s| s.name == "engagement")
        .expect("engagement");
    assert_eq!(engagement.on_lines.len(), 4);
    assert_eq!(engagement.decay, Some((25, 30 * 86_400)));

    let ebook = p
        .journeys
        .iter()
        .find(|j| j.name == "ebook_nurture")
        .expect("journey");
    assert_eq!(ebook.enter_on.len(), 1);
    assert_eq!((ebook.exit_when.len(), ebook.goal.len()), (1, 1));
    assert_eq!(ebook.reenter_after, Some(90 * 86_400));
    let reengagement = p
        .journeys
        .iter()
        .find(|j| j.name == "reengagement")
        .expect("journey");
    assert_eq!(
        reengagement.reenter_after, None,
        "reenter never is the default"
    );

    let team = p
        .teams
        .iter()
        .find(|t| t.name == "sales_hcm")
        .expect("team");
    assert_eq!(team.members.len(), 3);
    assert_eq!(team.hours, [(0b001_1111, 8 * 60 + 30, 17 * 60 + 30)]);
    assert_eq!(
        team.closed,
        [((2027, 2, 5), (2027, 2, 11)), ((2026, 9, 2), (2026, 9, 2))]
    );
    assert_eq!(team.open, [((2027, 2, 13), None)]);

    let handoff = p
        .handoffs
        .iter()
        .find(|h| h.name == "to_sales")
        .expect("handoff");
    assert!(handoff.when.is_some() && handoff.owner_first);
    assert_eq!(handoff.slas.len(), 3);
    assert_eq!(
        handoff.slas[0].within,
        compiler::program::SlaWindow::BusinessHours(4.0)
    );
    assert_eq!(
        handoff.slas[2].within,
        compiler::program::SlaWindow::BusinessDays(5)
    );
    assert_eq!(handoff.reasons.len(), 5);
    assert_eq!(handoff.reasons[4], ("duplicate".to_owned(), None));
    assert_eq!(
        (
            handoff.on_accept.len(),
            handoff.on_reject.len(),
            handoff.on_complete.len()
        ),
        (1, 3, 1)
    );

    assert_eq!(p.schedules.len(), 2);
    assert_eq!(p.schedules[0].cron, "0 9 * * MON");
    assert_eq!(p.sending.quiet, Some((21 * 60, 8 * 60)));
    assert_eq!(p.sending.cap, Some((3, 7 * 86_400)));
}
