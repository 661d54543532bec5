//! Deliverability: one email of every template of the example program (`journeys/templates`), built as `tandem run` builds it — rendered by the engine, author-written links through the signed click redirect, the open pixel when open tracking is on, the MIME message of `service::mail::message` — scored with SpamAssassin's local rules (`spamassassin -L`; Debian's `spamassassin` package): below 1.0 with open tracking off, and below 1.0 apart from the lone-image rules the pixel fires with it on.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use compiler::graph::{ActionIr, NodeKind};
use runtime::embed::{EvaluatorKind, Program};
use runtime::scenario::parse_scenario;
use service::effects::mail::{lead_mail, unsubscribe_url, Envelope, Tracking};
use service::sign::Signer;

/// The public URL the emails link to (tracking, unsubscribe), as `base_url` gives it.
const BASE: &str = "https://tandem.acme.vn";
/// The most a template's email may score.
const LIMIT: f64 = 1.0;
/// Rules that fire on the open-tracking pixel the service adds to every lead email
/// (`HTML_IMAGE_ONLY_*`: "HTML with images and fewer than N bytes of text" — the pixel is
/// the only image of every example template). With open tracking on (the default) their
/// points are shown and counted apart; with `open_tracking = false` nothing is excluded
/// (docs/api.md, section 7, "Spam scoring").
const PIXEL_RULES: &str = "HTML_IMAGE_ONLY_";

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

/// Scores one message: (score, the points of each rule that fired, the report).
fn spamassassin(message: &[u8]) -> (f64, Vec<(f64, String)>, String) {
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
    // The report lists each rule with its points: ` 1.4 HTML_IMAGE_ONLY_12  BODY: …`.
    let details = text
        .split("Content analysis details:")
        .nth(1)
        .unwrap_or("")
        .to_owned();
    let rules = details
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let points = words.next()?.parse::<f64>().ok()?;
            Some((points, words.next()?.to_owned()))
        })
        .collect();
    (score, rules, details)
}

#[test]
fn every_example_template_scores_below_one_without_the_open_pixel() {
    score_every_template(false);
}

#[test]
fn every_example_template_scores_below_one_apart_from_the_open_pixels_rules() {
    score_every_template(true);
}

fn score_every_template(open_pixel: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = tandem::load::load_program(&root.join("journeys")).expect("journeys/ loads");
    let program = Program::check(source).expect("journeys/ checks");
    let scenario = r#"{"inputs": [{"at": "2026-01-05T09:00:00+07:00", "lead": "an", "create": {
        "email": "an@saoviet.vn", "name": "Nguyễn An", "title": "Giám đốc vận hành",
        "company": "Sao Việt Logistics", "company_size": 350, "industry": "logistics",
        "city": "Hà Nội", "source": "ebook", "budget_vnd": 250000000,
        "demo_requested_at": "2026-01-04T10:30:00+07:00"}}]}"#;
    let scenario = parse_scenario(scenario, program.workspace().symbols()).expect("scenario");
    let mut world = program.world(EvaluatorKind::Interp).expect("a world");
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

    // What `Core::lead_mail` does (the same function): the signed unsubscribe link, the
    // rendering, tracked links, the open pixel; then the MIME message the mailer sends.
    let tracking = Tracking {
        base_url: BASE,
        signer: &signer,
        open_pixel,
    };
    let unsubscribe = unsubscribe_url(&tracking, lead);
    let mut messages = Vec::new();
    for name in &names {
        let journey = journey_of(&program, name);
        let engine = world.engine();
        let email = match engine.render_email(lead, name, journey, &unsubscribe) {
            Some(Ok(e)) => e,
            Some(Err(e)) => panic!("{name}: {e}"),
            None => panic!("the lead was not created"),
        };
        let from = program
            .templates()
            .get(name)
            .and_then(|t| t.from.clone())
            .unwrap_or_else(|| default_from.clone());
        let subject = email.subject.clone();
        let envelope = Envelope {
            lead,
            template: name,
            from,
            to: "an@saoviet.vn".to_owned(),
            subject: &subject,
            at: 1_767_578_400,
        };
        let mail = lead_mail(email, envelope, &tracking);
        assert_eq!(mail.html.contains("/t/o?"), open_pixel);
        let message = match service::mail::message(&mail, "tandem.acme.vn", None) {
            Ok(m) => m.formatted(),
            Err(e) => panic!("{name}: the message does not build: {e:?}"),
        };
        messages.push((name.clone(), message));
    }

    // Two at a time: spamassassin takes a few seconds to start.
    type Scored = (String, f64, Vec<(f64, String)>, String);
    let scores: Vec<Scored> = std::thread::scope(|s| {
        let halves: Vec<_> = [0, 1]
            .into_iter()
            .map(|k| {
                let mine: Vec<&(String, Vec<u8>)> = messages.iter().skip(k).step_by(2).collect();
                s.spawn(move || {
                    mine.into_iter()
                        .map(|(name, m)| {
                            let (score, rules, report) = spamassassin(m);
                            (name.clone(), score, rules, report)
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
    let mut too_high = Vec::new();
    for (name, score, rules, report) in &scores {
        let pixel: f64 = rules
            .iter()
            .filter(|(_, rule)| open_pixel && rule.starts_with(PIXEL_RULES))
            .map(|(points, _)| points)
            .sum();
        let fired: Vec<String> = rules.iter().map(|(p, r)| format!("{r} {p}")).collect();
        eprintln!(
            "{name}: {score} ({}); without the open pixel's rules {:.1}",
            fired.join(", "),
            score - pixel
        );
        if score - pixel >= LIMIT {
            too_high.push(format!("{name}: {score}\n{report}"));
        }
    }
    assert!(
        too_high.is_empty(),
        "templates scoring {LIMIT} or more:\n{}",
        too_high.join("\n")
    );
}
