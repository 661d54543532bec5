//! End-to-end test of every outbound action in `tandem run`, against real receivers: `send` and `notify` through aiosmtpd, `webhook` and a subscription through a real HTTP server process that verifies signatures with the official `standardwebhooks` package — a receiver down for the first attempts, a SIGKILL with deliveries queued, a receiver that refuses (4xx) and re-delivery, hostile lead data, and scores in templates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod support;
use support::service::*;
use support::{free_port, wait_for};

/// A Standard Webhooks secret (24 random bytes, base64) for the test.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Receiver {
    child: Child,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn receiver(port: u16, log: &Path) -> Receiver {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/webhook_receiver.py");
    let child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(SECRET)
        .arg(log)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs the receiver (pip install standardwebhooks)");
    wait_for("the webhook receiver", 20, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Receiver { child }
}

/// Every request the receiver logged.
fn deliveries(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The test program with a `tandem.toml` pointing at the receiver (`crm` at `crm_path`).
fn program(dir: &Path, receiver_port: u16, crm_path: &str) -> PathBuf {
    program_with(
        dir,
        &format!(
            "[webhooks]\ncrm = {{ url = \"http://127.0.0.1:{receiver_port}{crm_path}\", secret = \"{SECRET}\", events = [\"lead_created\"], max_in_flight = 16 }}\ngone = {{ url = \"http://127.0.0.1:{receiver_port}/gone\", secret = \"{SECRET}\" }}\n"
        ),
    )
}

/// The test program with this `tandem.toml`.
fn program_with(dir: &Path, toml: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/actions_program");
    let dst = dir.join("program");
    std::fs::create_dir_all(dst.join("templates")).expect("program dir");
    for f in ["program.journey", "templates/hello.md"] {
        std::fs::copy(src.join(f), dst.join(f)).expect("copy the program");
    }
    std::fs::write(dst.join("tandem.toml"), toml).expect("tandem.toml");
    dst
}

fn metric(s: &Service, name: &str) -> f64 {
    let (_, text) = get(s, "/api/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn create_and_sign_up(s: &Service, ids: &[String]) {
    let leads: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({"id": id, "fields": {"name": format!("Lead {id}"), "email": format!("{id}@saoviet.vn"), "n": 3, "website": "https://saoviet.vn"}})
        })
        .collect();
    let (status, body) = post(
        s,
        "/api/leads",
        &serde_json::Value::Array(leads).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let events: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"lead": id, "event": "signup", "props": {"plan": "pro"}}))
        .collect();
    let (status, body) = post(
        s,
        "/api/events",
        &serde_json::Value::Array(events).to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

/// Distinct delivery ids per (path, payload type), and whether every request verified.
fn ids_by_type(log: &Path) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for d in deliveries(log) {
        assert_eq!(
            d["verified"], true,
            "every delivery is signed as Standard Webhooks says: {d}"
        );
        let key = (
            d["path"].as_str().unwrap_or("").to_owned(),
            d["body"]["type"].as_str().unwrap_or("").to_owned(),
        );
        out.entry(key)
            .or_default()
            .insert(d["id"].as_str().unwrap_or("").to_owned());
    }
    out
}

#[test]
fn notify_webhooks_and_email_reach_real_receivers_and_survive_outages_and_a_kill() {
    let dir = temp_dir("actions");
    let (http, smtp_port, hook_port) = (free_port(), free_port(), free_port());
    let smtp = smtp_server(&dir, smtp_port);
    let program = program(&dir, hook_port, "/ok");
    let log = dir.join("received.jsonl");
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\ntick_ms = 50\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n\n[webhook_delivery]\nretry_base_ms = 300\nmax_delay_ms = 600\n",
        dir.join("tandem.db").display()
    );

    // 1. The receiver is down: every delivery is attempted, refused, and retried.
    let s = start_program(&dir, &config, http, &program);
    let first: Vec<String> = (0..20).map(|i| format!("a{i}")).collect();
    create_and_sign_up(&s, &first);
    let hostile = serde_json::json!({"id": "evil", "fields": {
        "name": "<script>alert(1)</script> [bấm](https://evil.example/x)",
        "email": "evil@saoviet.vn", "n": 3, "website": "https://evil.example/phish"}});
    let (status, body) = post(&s, "/api/leads", &hostile.to_string());
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &s,
        "/api/events",
        r#"{"lead": "evil", "event": "signup", "props": {"plan": "pro"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    // 21 `webhook crm` + 21 `lead_created` deliveries, each refused at least twice.
    wait_for("two failed attempts of every delivery", 60, || {
        metric(&s, "tandem_webhook_retries_total") >= 84.0
    });
    assert!(deliveries(&log).is_empty());

    // 2. The receiver comes up: everything queued arrives, signed.
    let _receiver = receiver(hook_port, &log);
    wait_for("the queued deliveries", 60, || {
        let ids = ids_by_type(&log);
        ids.get(&("/ok".into(), "tandem.webhook_called".into()))
            .map_or(0, BTreeSet::len)
            == 21
            && ids
                .get(&("/ok".into(), "tandem.lead_created".into()))
                .map_or(0, BTreeSet::len)
                == 21
    });

    // 3. More leads, and a SIGKILL as soon as they are acknowledged: the deliveries
    //    were committed with their lines, so the restarted service makes them all.
    let second: Vec<String> = (0..20).map(|i| format!("b{i}")).collect();
    create_and_sign_up(&s, &second);
    drop(s); // SIGKILL (Service's Drop kills the process)
    let s = start_program(&dir, &config, http, &program);
    wait_for("every delivery after the restart", 60, || {
        let ids = ids_by_type(&log);
        ids.get(&("/ok".into(), "tandem.webhook_called".into()))
            .map_or(0, BTreeSet::len)
            == 41
            && ids
                .get(&("/ok".into(), "tandem.lead_created".into()))
                .map_or(0, BTreeSet::len)
                == 41
    });
    // Exactly once by idempotency key: 41 distinct ids per kind (copies share an id),
    // one `webhook_called` per lead, each carrying its lead and score.
    let mut leads_called = BTreeSet::new();
    for d in deliveries(&log) {
        if d["body"]["type"] == "tandem.webhook_called" {
            assert_eq!(d["id"], d["body"]["data"]["idempotency_key"]);
            assert_eq!(d["body"]["data"]["journey"], "welcome");
            assert_eq!(d["body"]["data"]["lead"]["scores"]["fit"], 45);
            leads_called.insert(
                d["body"]["data"]["lead"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    assert_eq!(leads_called.len(), 41);
    // A subscription is an outbox row only: no `webhook_called` line for it.
    let (_, view) = get(&s, "/api/leads/a0");
    let view: serde_json::Value = serde_json::from_str(&view).expect("lead view");
    let lines: Vec<&serde_json::Value> = view["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .collect();
    let webhook_lines = lines
        .iter()
        .filter(|l| l["kind"] == "webhook_called")
        .count();
    assert_eq!(
        webhook_lines, 1,
        "only the journey's `webhook crm` is a line: {lines:?}"
    );

    // 4. A receiver that refuses (410): failed at once, listed with its attempt, and
    //    re-delivered on request — one by one, and every failure since an instant.
    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "big", "fields": {"name": "Big", "email": "big@saoviet.vn", "n": 100}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let mut failure = serde_json::Value::Null;
    wait_for("the refused delivery in the failures", 30, || {
        let (_, body) = get(&s, "/api/webhooks/failures");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        failure = v["failures"].get(0).cloned().unwrap_or_default();
        !failure.is_null()
    });
    assert_eq!(failure["webhook"], "gone");
    assert_eq!(failure["attempts"], 1, "a 4xx is not retried: {failure}");
    assert_eq!(failure["last_status"], 410);
    assert_eq!(failure["attempt_log"][0]["status"], 410);
    let id = failure["id"].as_str().expect("an id").to_owned();
    let (status, body) = post(&s, &format!("/api/webhooks/deliveries/{id}/redeliver"), "");
    assert_eq!(status, 200, "{body}");
    wait_for("the re-delivery", 30, || {
        deliveries(&log)
            .iter()
            .filter(|d| d["id"] == id.as_str())
            .count()
            == 2
    });
    wait_for("the second failure recorded", 30, || {
        let (_, body) = get(&s, &format!("/api/webhooks/deliveries/{id}"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["status"] == "failed" && v["attempts"] == 2
    });
    let (status, body) = post(&s, "/api/webhooks/recover?since=2000-01-01T00:00:00Z", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"requeued\":1"), "{body}");
    wait_for("the recovered delivery", 30, || {
        deliveries(&log)
            .iter()
            .filter(|d| d["id"] == id.as_str())
            .count()
            == 3
    });
    let (status, _) = post(&s, "/api/webhooks/deliveries/nope/redeliver", "");
    assert_eq!(status, 404);

    // 5. Mail: one welcome email per lead, and `notify team crew` to each member and
    //    the manager, all through SMTP.
    wait_for("the emails", 60, || {
        received(&smtp.maildir).len() >= 41 + 41 * 3
    });
    let mails = received(&smtp.maildir);
    let to_of = |m: &str| {
        mailparse::parse_mail(m.as_bytes())
            .ok()
            .and_then(|p| {
                use mailparse::MailHeaderMap;
                p.headers.get_first_value("To")
            })
            .unwrap_or_default()
    };
    for rep in ["rep1@acme.vn", "rep2@acme.vn", "boss@acme.vn"] {
        let notices: Vec<String> = mails
            .iter()
            .filter(|m| to_of(m).contains(rep))
            .map(|m| mail_subject(m))
            .collect();
        assert!(
            notices
                .iter()
                .any(|s| s == "[Tandem] Lead mới Lead a0 (fit 45)"),
            "{rep} gets the notice with the score: {notices:?}"
        );
        let distinct: BTreeSet<&String> = notices.iter().collect();
        assert_eq!(distinct.len(), 41, "{rep}: one notice per lead");
    }

    // 6. The subject in the mail is the subject on the timeline (one renderer), with the
    //    score the timeline shows, from the template's own sender.
    let sent_subject = lines
        .iter()
        .find(|l| l["kind"] == "email_sent")
        .and_then(|l| l["subject"].as_str())
        .expect("an email_sent line")
        .to_owned();
    assert_eq!(sent_subject, "Chào Lead a0 – fit 45");
    let welcome = mails
        .iter()
        .find(|m| to_of(m).contains("a0@saoviet.vn"))
        .expect("a0's email");
    assert_eq!(mail_subject(welcome), sent_subject);
    let parsed = mailparse::parse_mail(welcome.as_bytes()).expect("parses");
    {
        use mailparse::MailHeaderMap;
        let from = parsed.headers.get_first_value("From").unwrap_or_default();
        assert!(
            from.contains("sales@acme.vn"),
            "the template's `from`: {from}"
        );
    }

    // 7. Hostile lead data: escaped in the HTML part, never a link, never a redirect.
    let evil = mails
        .iter()
        .find(|m| to_of(m).contains("evil@saoviet.vn"))
        .expect("the hostile lead's email");
    let parsed = mailparse::parse_mail(evil.as_bytes()).expect("parses");
    let html = parsed
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/html")
        .and_then(|p| p.get_body().ok())
        .expect("an HTML part");
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("href=\"https://evil.example"),
        "no link from lead data: {html}"
    );
    assert!(
        !html.contains("evil.example%2F"),
        "no click redirect to lead data: {html}"
    );
    assert!(
        html.contains("acme.vn%2Fhuong-dan"),
        "the author's link is tracked: {html}"
    );
    let text = parsed
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .and_then(|p| p.get_body().ok())
        .expect("a text part");
    assert!(
        text.contains("Xem hướng dẫn (https://acme.vn/huong-dan)"),
        "readable text: {text}"
    );
    assert!(!text.contains("**"), "no Markdown in the text part: {text}");
    drop(smtp);
}

#[test]
fn a_clean_stop_finishes_the_deliveries_in_flight_and_sends_nothing_twice() {
    let dir = temp_dir("clean-stop");
    let (http, hook_port) = (free_port(), free_port());
    let log = dir.join("received.jsonl");
    let _receiver = receiver(hook_port, &log);
    // The receiver answers after 2 s: the deliveries are in flight when SIGTERM comes.
    let program = program(&dir, hook_port, "/slow");
    let config = format!("{}tick_ms = 50\n", file_outbox_config(&dir, http));
    let mut s = start_program(&dir, &config, http, &program);
    let ids: Vec<String> = (0..4).map(|i| format!("c{i}")).collect();
    create_and_sign_up(&s, &ids);
    wait_for("deliveries in flight", 20, || {
        metric(&s, "tandem_webhooks_enqueued") >= 8.0
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = stop_with_sigterm(&mut s);
    assert_eq!(status.code(), Some(0), "a clean stop exits 0");
    let before = deliveries(&log).len();
    assert!(before > 0, "some deliveries were in flight at the stop");
    // After a restart everything is delivered, and what was delivered before the stop is
    // not delivered again.
    let s = start_program(&dir, &config, http, &program);
    wait_for("every delivery", 60, || {
        let ids = ids_by_type(&log);
        ids.values().map(BTreeSet::len).sum::<usize>() == 8
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    let all = deliveries(&log);
    let distinct: BTreeSet<&str> = all.iter().filter_map(|d| d["id"].as_str()).collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "no delivery was sent twice: {all:?}"
    );
    drop(s);
}

#[test]
fn a_paused_endpoint_with_a_backlog_does_not_hold_up_another() {
    let dir = temp_dir("no-stall");
    let (http, hook_port, dead) = (free_port(), free_port(), free_port());
    let log = dir.join("received.jsonl");
    let _receiver = receiver(hook_port, &log);
    // `down` never answers and soon pauses with 600 deliveries waiting; `ok` must still
    // get its delivery at once.
    let program = program_with(
        &dir,
        &format!(
            "[webhooks]\ndown = {{ url = \"http://127.0.0.1:{dead}/x\", events = [\"lead_created\"], max_in_flight = 1 }}\nok = {{ url = \"http://127.0.0.1:{hook_port}/ok\", secret = \"{SECRET}\", events = [\"event\"] }}\ncrm = {{ url = \"http://127.0.0.1:{hook_port}/ok\", secret = \"{SECRET}\" }}\ngone = \"http://127.0.0.1:{hook_port}/gone\"\n"
        ),
    );
    let config = format!(
        "{}tick_ms = 50\n\n[webhook_delivery]\nretry_base_ms = 100\nmax_delay_ms = 200\nretry_window_hours = 0.0005\n",
        file_outbox_config(&dir, http)
    );
    let s = start_program(&dir, &config, http, &program);
    let leads: Vec<serde_json::Value> = (0..600)
        .map(|i| serde_json::json!({"id": format!("p{i}"), "fields": {"name": "P", "n": 1}}))
        .collect();
    let (status, body) = post(
        &s,
        "/api/leads",
        &serde_json::Value::Array(leads).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    wait_for("`down` paused", 60, || {
        let (_, body) = get(&s, "/api/webhooks");
        body.contains("\"paused\":{")
    });
    let (status, body) = post(
        &s,
        "/api/events",
        r#"{"lead": "p1", "event": "signup", "props": {"plan": "pro"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_for("the other endpoint's delivery", 15, || {
        deliveries(&log)
            .iter()
            .any(|d| d["body"]["type"] == "tandem.event")
    });
    let (_, body) = get(&s, "/api/webhooks");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        v["deliveries"]["pending"].as_i64().unwrap_or(0) >= 590,
        "the backlog waits: {body}"
    );
}

/// The copies beyond the first of each id, as how long before `kill` the first copy
/// landed (negative: after it).
fn repeats(items: &[(String, f64)], kill: f64) -> Vec<f64> {
    let mut first: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for (id, t) in items {
        let e = first.entry(id.as_str()).or_insert((*t, 0));
        e.0 = e.0.min(*t);
        e.1 += 1;
    }
    first
        .values()
        .flat_map(|(t, n)| std::iter::repeat_n(kill - t, n - 1))
        .collect()
}

/// A SIGKILL while email and webhooks are being delivered: after the restart every email
/// and every delivery arrives, and the only copies (same `Message-ID`, same
/// `webhook-id`) are the documented in-flight window — those on the wire at the kill or
/// answered just before it, whose outcome was not stored yet (outcomes are stored every
/// 50 ms). The test measures the window: how many copies, and how long before the kill
/// the oldest of them had first arrived.
#[test]
fn a_sigkill_mid_delivery_repeats_only_the_in_flight_window() {
    let dir = temp_dir("inflight");
    let (http, smtp_port, hook_port) = (free_port(), free_port(), free_port());
    let smtp = smtp_server(&dir, smtp_port);
    let program = program(&dir, hook_port, "/ok");
    let log = dir.join("received.jsonl");
    let _receiver = receiver(hook_port, &log);
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\ntick_ms = 50\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nconnections = 4\n",
        dir.join("tandem.db").display()
    );
    let mut s = start_program(&dir, &config, http, &program);
    let ids: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
    for chunk in ids.chunks(50) {
        create_and_sign_up(&s, chunk);
    }
    wait_for("deliveries under way", 60, || {
        received_ids(&smtp.maildir).len() >= 60 && deliveries(&log).len() >= 60
    });
    let _ = s.child.kill();
    let kill = std::time::SystemTime::now();
    let _ = s.child.wait();
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let kill = secs(kill);
    let s = start_program(&dir, &config, http, &program);
    // Everything arrives: a welcome email per lead and `notify team crew` to its three
    // people; a `webhook crm` and a `lead_created` delivery per lead.
    wait_for("every email and delivery after the restart", 120, || {
        let mails: BTreeSet<String> = received_ids(&smtp.maildir)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let hooks: BTreeSet<String> = deliveries(&log)
            .iter()
            .filter(|d| d["path"] == "/ok")
            .map(|d| d["id"].as_str().unwrap_or("").to_owned())
            .collect();
        mails.len() == 300 * 4 && hooks.len() == 300 * 2
    });
    // Nothing more comes once the outboxes are empty.
    wait_for("empty outboxes", 30, || {
        let (_, m) = get(&s, "/api/metrics");
        m.lines()
            .filter(|l| {
                l.contains("kind=\"outbox_pending\"") || l.contains("kind=\"webhooks_pending\"")
            })
            .all(|l| l.ends_with(" 0"))
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails: Vec<(String, f64)> = received_ids(&smtp.maildir)
        .into_iter()
        .map(|(id, t)| (id, secs(t)))
        .collect();
    let hooks: Vec<(String, f64)> = deliveries(&log)
        .iter()
        .filter(|d| d["path"] == "/ok")
        .map(|d| {
            (
                d["id"].as_str().unwrap_or("").to_owned(),
                d["t"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let (mail_repeats, hook_repeats) = (repeats(&mails, kill), repeats(&hooks, kill));
    let oldest = |r: &[f64]| r.iter().copied().fold(0.0_f64, f64::max) * 1000.0;
    eprintln!(
        "in-flight window after a SIGKILL mid-delivery: {} of {} emails sent twice (first copies at most {:.0} ms before the kill), {} of {} webhook deliveries (at most {:.0} ms)",
        mail_repeats.len(),
        mails.len() - mail_repeats.len(),
        oldest(&mail_repeats),
        hook_repeats.len(),
        hooks.len() - hook_repeats.len(),
        oldest(&hook_repeats)
    );
    // The window: copies only of what was in flight or answered in the last moments
    // (50 ms of outcomes, plus the commit that stores them and this machine's
    // scheduling: 1 s is the bound asserted), and never more than a small batch.
    for (what, r, limit) in [
        ("emails", &mail_repeats, 4 + 200),
        ("webhooks", &hook_repeats, 16 + 200),
    ] {
        assert!(r.len() <= limit, "{what}: {} copies", r.len());
        assert!(
            r.iter().all(|age| *age < 1.0),
            "{what}: a copy of something delivered {:.0} ms before the kill",
            oldest(r)
        );
    }
    drop(smtp);
}
