//! Deliverability: one email of every template of the example program (`journeys/templates`), built as `tandem run` builds it — rendered by the engine, author-written links through the signed click redirect, the open pixel, the MIME message of `service::mail::message` — scores below 1.0 with SpamAssassin's local rules (`spamassassin -L`; Debian's `spamassassin` package).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use compiler::graph::{ActionIr, NodeKind};
use runtime::embed::{EngineKind, Program};
use runtime::scenario::parse_scenario;
use service::sign::{encode, Signer};
use service::store::OutboxMail;

/// The public URL the emails link to (tracking, unsubscribe), as `base_url` gives it.
const BASE: &str = "https://tandem.acme.vn";
/// The most a template's email may score.
const LIMIT: f64 = 1.0;

/// The journey that sends `template`, when exactly one does (as `tandem run` passes it).
fn journey_of<'p>(program: &'p Program, template: &str) -> Option<&'p str> {
    let mut sending = program
        .lowered()
        .journeys
        .iter()
        .filter(|j| j.kept_as.is_none())
        .filter(|j| {
            j.graph
                .nodes
                .iter()
                .any(|n| matches!(&n.kind, NodeKind::Action(ActionIr::Send(t)) if t == template))
        });
    match (sending.next(), sending.next()) {
        (Some(j), None) => Some(j.name.as_str()),
        _ => None,
    }
}

/// Scores one message: (score, the rules that fired).
fn spamassassin(message: &[u8]) -> (f64, String) {
    let mut child = Command::new("spamassassin")
        .args(["-L", "-x", "-t"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spamassassin runs (Debian: apt-get install -y spamassassin)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message)
        .expect("the message reaches spamassassin");
    let out = child.wait_with_output().expect("spamassassin finishes");
    let text = String::from_utf8_lossy(&out.stdout);
    // `X-Spam-Status: No, score=0.1 required=5.0 tests=A,B\n\tC autolearn=…`, folded.
    let mut status = String::new();
    let mut lines = text.lines();
    for line in lines.by_ref() {
        if let Some(v) = line.strip_prefix("X-Spam-Status:") {
            status.push_str(v);
            break;
        }
    }
    for line in lines {
        if !line.starts_with([' ', '\t']) {
            break;
        }
        status.push_str(line.trim());
    }
    let score = status
        .split_whitespace()
        .find_map(|w| w.strip_prefix("score="))
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no score in spamassassin's answer:\n{text}"));
    let tests = status
        .split_whitespace()
        .find_map(|w| w.strip_prefix("tests="))
        .unwrap_or("")
        .to_owned();
    // The report lists each rule with its points.
    let details = text
        .split("Content analysis details:")
        .nth(1)
        .unwrap_or("")
        .to_owned();
    (score, format!("{tests}\n{details}"))
}

#[test]
fn every_example_template_scores_below_one_with_spamassassin_local_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = tandem::load::load_program(&root.join("journeys")).expect("journeys/ loads");
    let program = Program::check(source).expect("journeys/ checks");
    let scenario = r#"{"inputs": [{"at": "2026-01-05T09:00:00+07:00", "lead": "an", "create": {
        "email": "an@saoviet.vn", "name": "Nguyễn An", "title": "Giám đốc vận hành",
        "company": "Sao Việt Logistics", "company_size": 350, "industry": "logistics",
        "city": "Hà Nội", "source": "ebook", "budget_vnd": 250000000,
        "demo_requested_at": "2026-01-04T10:30:00+07:00"}}]}"#;
    let scenario = parse_scenario(scenario, program.workspace().symbols()).expect("scenario");
    let mut world = program.world(EngineKind::Interp).expect("a world");
    world.start(scenario.start);
    for input in &scenario.inputs {
        world.input(input);
    }
    let signer = Signer::new(b"deliverability test secret");
    let lead = "an";
    let default_from = program
        .lowered()
        .sending
        .from
        .clone()
        .unwrap_or_else(|| service::Config::default().from);
    let mut names: Vec<String> = program.templates().keys().cloned().collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "the example has its templates: {names:?}"
    );

    // What `Core::lead_mail` does: the signed unsubscribe link, the rendering, tracked
    // links, the open pixel; then the MIME message the mailer sends.
    let unsubscribe = format!(
        "{BASE}/u?l={}&s={}",
        encode(lead),
        signer.sign(&["u", lead])
    );
    let mut messages = Vec::new();
    for name in &names {
        let journey = journey_of(&program, name);
        let engine = world.engine();
        let email = match engine.render_email(lead, name, journey, &unsubscribe) {
            Some(Ok(e)) => e,
            Some(Err(e)) => panic!("{name}: {e}"),
            None => panic!("the lead was not created"),
        };
        let html = service::mail::track_links(&email.html, BASE, &signer, lead, name, &email.links);
        let pixel = format!(
            "<img src=\"{BASE}/t/o?l={}&amp;t={}&amp;s={}\" width=\"1\" height=\"1\" alt=\"\">",
            encode(lead),
            encode(name),
            signer.sign(&["o", lead, name])
        );
        let from = program
            .templates()
            .get(name)
            .and_then(|t| t.from.clone())
            .unwrap_or_else(|| default_from.clone());
        let mail = OutboxMail {
            key: service::sign::key(&[lead, name, "1767578400"]),
            lead: lead.to_owned(),
            template: name.clone(),
            from,
            to: "an@saoviet.vn".to_owned(),
            subject: email.subject,
            html: format!("{html}\n{pixel}"),
            text: email.text,
            unsubscribe: unsubscribe.clone(),
            at: 1_767_578_400,
        };
        let message = match service::mail::message(&mail, "tandem.acme.vn", None) {
            Ok(m) => m.formatted(),
            Err(e) => panic!("{name}: the message does not build: {e:?}"),
        };
        messages.push((name.clone(), message));
    }

    // Two at a time: spamassassin takes a few seconds to start.
    let scores: Vec<(String, f64, String)> = std::thread::scope(|s| {
        let halves: Vec<_> = [0, 1]
            .into_iter()
            .map(|k| {
                let mine: Vec<&(String, Vec<u8>)> = messages.iter().skip(k).step_by(2).collect();
                s.spawn(move || {
                    mine.into_iter()
                        .map(|(name, m)| {
                            let (score, rules) = spamassassin(m);
                            (name.clone(), score, rules)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("a scoring thread"))
            .collect()
    });
    assert_eq!(scores.len(), names.len());
    let too_high: Vec<String> = scores
        .iter()
        .filter(|(_, score, _)| *score >= LIMIT)
        .map(|(name, score, rules)| format!("{name}: {score}\n{rules}"))
        .collect();
    assert!(
        too_high.is_empty(),
        "templates scoring {LIMIT} or more:\n{}",
        too_high.join("\n")
    );
    for (name, score, rules) in &scores {
        eprintln!("{name}: {score} ({})", rules.lines().next().unwrap_or(""));
    }
}
