//! Helpers for the tests that run a cluster of `tandem run` workers (`cluster.rs`, `cluster_faults.rs`): starting a worker, posting and reading with the shared token, and querying every partition's schema.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, program_dir};

/// How many partitions the test clusters split leads into.
pub const PARTITIONS: u32 = 8;

/// The worker's folder (config, token file, outbox) for worker `name` of this test run.
pub fn worker_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tandem-cluster-{name}-{}", std::process::id()))
}

pub struct Worker {
    pub child: Child,
    pub base: String,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The service tests' program with a report every minute (every second at the test's
/// 60× clock), in a folder of its own.
pub fn program_with_report() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-cluster-program-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("templates")).expect("program dir");
    for entry in std::fs::read_dir(program_dir().join("templates")).expect("templates") {
        let path = entry.expect("a template").path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, dir.join("templates").join(name)).expect("copy a template");
        }
    }
    let main = std::fs::read_to_string(program_dir().join("program.journey")).expect("program");
    let report = "\nschedule minutely every \"* * * * *\" {\n  report to \"boss@acme.vn\"\n}\n";
    std::fs::write(dir.join("program.journey"), format!("{main}{report}")).expect("program");
    dir
}

pub fn start_worker(url: &str, name: &str, program: &std::path::Path) -> Worker {
    let dir = worker_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\nstore = \"{url}\"\noutbox = \"{}\"\nclock_scale = 60\ntick_ms = 50\n\
         [cluster]\npartitions = {PARTITIONS}\nlease_ttl_ms = 2000\nworker = \"{name}\"\n",
        dir.join("outbox").display()
    );
    std::fs::write(dir.join("service.toml"), config).expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .arg(program)
        .arg("--config")
        .arg(dir.join("service.toml"))
        .current_dir(&dir)
        .env("TANDEM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tandem run starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while ureq::get(&format!("{base}/healthz")).call().is_err() {
        assert!(Instant::now() < deadline, "worker {name} did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    Worker { child, base }
}

/// An HTTP client that returns every status as an answer, waiting at most 10 s.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Posts a batch; `Some(true)` acknowledged, `Some(false)` refused, `None` no answer
/// (the worker is gone: the outcome is unknown).
pub fn post(base: &str, token: &str, path: &str, body: &str) -> Option<bool> {
    let agent = agent();
    match agent
        .post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .send(body)
    {
        Ok(r) => Some(r.status().as_u16() == 200),
        Err(_) => None,
    }
}

/// A GET with the token: the status and the body (`0` when there is no answer).
pub fn get(base: &str, token: &str, path: &str) -> (u16, String) {
    let agent = agent();
    match agent
        .get(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

pub fn per_partition<T>(
    db: &mut postgres::Client,
    sql: &str,
    mut row: impl FnMut(&postgres::Row) -> T,
) -> Vec<T> {
    let mut out = Vec::new();
    for p in 0..PARTITIONS {
        let q = sql.replace("{p}", &format!("tandem_p{p}"));
        for r in db.query(&q, &[]).expect("query a partition") {
            out.push(row(&r));
        }
    }
    out
}

/// What posters sent each lead: the rounds answered 200, and those without an answer
/// or refused (applied or not: unknown).
pub type Sent = std::collections::HashMap<String, (Vec<i64>, Vec<i64>)>;

/// Round `round` of the test load for `leads`: a `ping {k: round}` each; round 4 sets
/// `n = 10` instead (a Sales task); round 8 also signs every lead up (the welcome
/// journey: an email, then a follow-up after a minute). The path and the items.
pub fn round_items(round: i64, leads: &[String]) -> (&'static str, Vec<String>) {
    if round == 4 {
        let set = |l: &String| format!(r#"{{"id": "{l}", "fields": {{"n": 10}}}}"#);
        return ("/api/leads", leads.iter().map(set).collect());
    }
    let ping =
        |l: &String| format!(r#"{{"lead": "{l}", "event": "ping", "props": {{"k": {round}}}}}"#);
    let mut items: Vec<String> = leads.iter().map(ping).collect();
    if round == 8 {
        items.extend(leads.iter().map(|l| {
            format!(r#"{{"lead": "{l}", "event": "signup", "props": {{"plan": "pro"}}}}"#)
        }));
    }
    ("/api/events", items)
}

/// The `k` of a stored `ping` input, if it is one.
pub fn ping_k(v: &serde_json::Value) -> Option<i64> {
    use serde_json::Value;
    match v {
        Value::Array(a) if a.len() == 2 && a[0] == "k" => {
            a[1].get("Number").and_then(Value::as_f64).map(|k| k as i64)
        }
        Value::Array(a) => a.iter().find_map(ping_k),
        Value::Object(o) => o.values().find_map(ping_k),
        _ => None,
    }
}

/// Waits until the inbox is empty and every lead's follow-up (a timer) was sent.
pub fn wait_drained(db: &mut postgres::Client, leads: usize) {
    super::wait_for(
        "the inbox to drain and every follow-up to be sent",
        90,
        || {
            let waiting: i64 = db
                .query_one("SELECT COUNT(*) FROM tandem_cluster.inbox", &[])
                .map(|r| r.get(0))
                .unwrap_or(-1);
            let followups: i64 = per_partition(
                db,
                "SELECT COUNT(*) FROM {p}.timeline WHERE line LIKE '%\"template\":\"followup\"%'",
                |r| r.get::<_, i64>(0),
            )
            .into_iter()
            .sum();
            waiting == 0 && followups >= leads as i64
        },
    );
}

/// Every acknowledged ping applied once, each lead's in the order sent, none that was
/// never sent; returns every partition's log as (lead, input).
pub fn assert_pings(
    db: &mut postgres::Client,
    leads: &[String],
    sent: &Sent,
) -> Vec<(String, String)> {
    let inputs = per_partition(db, "SELECT lead, input FROM {p}.inputs ORDER BY seq", |r| {
        (r.get::<_, String>(0), r.get::<_, String>(1))
    });
    let mut ks: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for (lead, input) in &inputs {
        let v: serde_json::Value = serde_json::from_str(input).expect("a stored input is JSON");
        if let Some(k) = ping_k(&v) {
            ks.entry(lead.clone()).or_default().push(k);
        }
    }
    for lead in leads {
        let seen = ks.get(lead).cloned().unwrap_or_default();
        let (acked, unknown) = &sent[lead];
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{lead}: pings applied out of order or twice: {seen:?}"
        );
        for round in acked.iter().filter(|r| **r != 4) {
            assert!(
                seen.contains(round),
                "{lead}: acknowledged ping {round} lost"
            );
        }
        for k in &seen {
            assert!(
                acked.contains(k) || unknown.contains(k),
                "{lead}: ping {k} was never sent"
            );
        }
    }
    inputs
}

/// One Sales task, one `hello` and one `followup` email per lead; returns the tasks per
/// lead.
pub fn assert_one_task_and_email_each(
    db: &mut postgres::Client,
    leads: &[String],
) -> std::collections::BTreeMap<String, i64> {
    let tasks: std::collections::BTreeMap<String, i64> = per_partition(
        db,
        "SELECT lead, COUNT(*) FROM {p}.tasks GROUP BY lead",
        |r| (r.get::<_, String>(0), r.get::<_, i64>(1)),
    )
    .into_iter()
    .collect();
    let mails: Vec<(String, String)> =
        per_partition(db, "SELECT lead, template FROM {p}.outbox", |r| {
            (r.get::<_, String>(0), r.get::<_, String>(1))
        });
    for lead in leads {
        assert_eq!(tasks.get(lead), Some(&1), "{lead}: one Sales task");
        for template in ["hello", "followup"] {
            let n = mails
                .iter()
                .filter(|(l, t)| l == lead && t == template)
                .count();
            assert_eq!(n, 1, "{lead}: one `{template}` email");
        }
    }
    tasks
}

/// Waits until every email is marked sent, then checks each was delivered (an `.eml`
/// in some worker's outbox) and that every one delivered twice was delivered once by
/// `dying` (the worker killed mid-delivery: the documented at-least-once window across a
/// takeover; with `None`, none may be delivered twice); returns (emails, delivered again).
/// Who may have delivered a mail twice: the at-least-once window of a partition changing
/// hands (the mail its mailer had sent and not yet recorded is sent again, same
/// Message-ID, by the next holder).
pub enum Again<'a> {
    /// Only mail of this worker, killed midway.
    Dying(&'a str),
    /// Any worker, each mail at most twice and at most one mailer fetch (256) in all: a
    /// database restart that outlasts a lease hands partitions over, maybe to the same
    /// worker.
    Handover,
}

pub fn assert_delivered(
    db: &mut postgres::Client,
    workers: &[&str],
    again: Again<'_>,
) -> (usize, usize) {
    super::wait_for("every email to be delivered", 30, || {
        per_partition(
            db,
            "SELECT COUNT(*) FROM {p}.outbox WHERE status <> 'sent'",
            |r| r.get::<_, i64>(0),
        )
        .into_iter()
        .sum::<i64>()
            == 0
    });
    let rows: i64 = per_partition(db, "SELECT COUNT(*) FROM {p}.outbox", |r| {
        r.get::<_, i64>(0)
    })
    .into_iter()
    .sum();
    // Message-ID → the workers that delivered it.
    let mut ids: std::collections::HashMap<String, Vec<&str>> = Default::default();
    for name in workers {
        let outbox = worker_dir(name).join("outbox");
        for entry in std::fs::read_dir(&outbox).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if let Some(id) = text
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            {
                ids.entry(id.to_owned()).or_default().push(name);
            }
        }
    }
    assert_eq!(ids.len() as i64, rows, "every email delivered");
    let twice: Vec<(&String, &Vec<&str>)> = ids.iter().filter(|(_, by)| by.len() > 1).collect();
    for (id, by) in &twice {
        let allowed = by.len() == 2
            && match again {
                Again::Dying(d) => by.contains(&d),
                Again::Handover => true,
            };
        assert!(
            allowed,
            "{id} delivered by {by:?}: only in-flight mail of a partition that changed hands may go twice"
        );
    }
    assert!(twice.len() <= 256, "{} mails delivered twice", twice.len());
    (ids.len(), twice.len())
}

/// The cluster's shared admin token (made by the first worker).
pub fn shared_token(db: &mut postgres::Client) -> String {
    db.query_one(
        "SELECT value FROM tandem_cluster.secrets WHERE name = 'admin_token'",
        &[],
    )
    .expect("the shared admin token")
    .get(0)
}

/// Creates `leads` (name and email from the id) through `base`, acknowledged.
pub fn create_leads(base: &str, token: &str, leads: &[String]) {
    let creates: Vec<String> = leads
        .iter()
        .map(|l| format!(r#"{{"id": "{l}", "fields": {{"name": "{l}", "email": "{l}@x.vn"}}}}"#))
        .collect();
    assert_eq!(
        post(
            base,
            token,
            "/api/leads",
            &format!("[{}]", creates.join(","))
        ),
        Some(true)
    );
}
