//! End-to-end test of several `tandem run` workers on one PostgreSQL database: three workers share the partitions, a stream of events goes to all of them, one is killed with SIGKILL midway while dashboards are open — every acknowledged event is applied once, each lead's events in order, no task twice, no timer lost, and every worker's dashboard adds up to the store's totals.

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;
use support::{free_port, program_dir, wait_for, FreshDatabase};

const PARTITIONS: u32 = 8;
const LEADS: usize = 48;

struct Worker {
    child: Child,
    base: String,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The service tests' program with a report every minute (every second at the test's
/// 60× clock), in a folder of its own.
fn program_with_report() -> std::path::PathBuf {
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

fn start_worker(url: &str, name: &str, program: &std::path::Path) -> Worker {
    let dir = std::env::temp_dir().join(format!("tandem-cluster-{name}-{}", std::process::id()));
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
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Posts a batch; `Some(true)` acknowledged, `Some(false)` refused, `None` no answer
/// (the worker is gone: the outcome is unknown).
fn post(base: &str, token: &str, path: &str, body: &str) -> Option<bool> {
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
fn get(base: &str, token: &str, path: &str) -> (u16, String) {
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

/// The `k` of a stored `ping` input, if it is one.
fn ping_k(v: &Value) -> Option<i64> {
    match v {
        Value::Array(a) if a.len() == 2 && a[0] == "k" => {
            a[1].get("Number").and_then(Value::as_f64).map(|k| k as i64)
        }
        Value::Array(a) => a.iter().find_map(ping_k),
        Value::Object(o) => o.values().find_map(ping_k),
        _ => None,
    }
}

fn per_partition<T>(
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

#[test]
fn three_workers_one_killed_midway_apply_every_acknowledged_event_once_in_order() {
    let database = FreshDatabase::new("tandem_cluster_e2e");
    let url = database.url.clone();
    let program = program_with_report();
    let mut workers = vec![start_worker(&url, "w0", &program)];
    workers.push(start_worker(&url, "w1", &program));
    workers.push(start_worker(&url, "w2", &program));
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    wait_for("the three workers to share the partitions", 30, || {
        let owners: i64 = db
            .query_one(
                "SELECT COUNT(DISTINCT owner) FROM tandem_cluster.leases WHERE expires_at > now()",
                &[],
            )
            .map(|r| r.get(0))
            .unwrap_or(0);
        owners == 3
    });
    let token: String = db
        .query_one(
            "SELECT value FROM tandem_cluster.secrets WHERE name = 'admin_token'",
            &[],
        )
        .expect("the shared admin token")
        .get(0);
    // Each worker keeps the shared token beside it, readable by its owner only.
    for name in ["w0", "w1", "w2"] {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir()
            .join(format!("tandem-cluster-{name}-{}", std::process::id()))
            .join("tandem.token");
        let held = std::fs::read_to_string(&path).expect("the token file");
        assert_eq!(held.trim(), token, "{}", path.display());
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    let leads: Vec<String> = (0..LEADS).map(|i| format!("c{i}")).collect();
    let creates: Vec<String> = leads
        .iter()
        .map(|l| format!(r#"{{"id": "{l}", "fields": {{"name": "{l}", "email": "{l}@x.vn"}}}}"#))
        .collect();
    assert_eq!(
        post(
            &workers[0].base,
            &token,
            "/api/leads",
            &format!("[{}]", creates.join(","))
        ),
        Some(true)
    );

    // Text PostgreSQL cannot store is refused before anything is queued.
    assert_eq!(
        post(
            &workers[2].base,
            &token,
            "/api/events",
            r#"[{"lead": "c0", "event": "ping", "props": {"k": 0}}, {"lead": "a\u0000b", "event": "ping"}]"#
        ),
        Some(false)
    );

    // Three posting threads, each with its own third of the leads and its own worker,
    // send rounds of one `ping {k: round}` per lead (a lead's requests one after the
    // other, so their order is defined). Round 4 sets `n = 10` (a Sales task); round 8
    // also signs every lead up (the welcome journey waits one minute — a second here —
    // before its follow-up). Once every thread is past round 9, w1 is killed while
    // requests are in flight: timers of its partitions are due then. A thread whose
    // worker is gone moves to the next one.
    let rounds = 30i64;
    let progress: Arc<Vec<AtomicI64>> = Arc::new((0..3).map(|_| AtomicI64::new(0)).collect());
    let bases: Vec<String> = workers.iter().map(|w| w.base.clone()).collect();
    let posters: Vec<_> = (0..3usize)
        .map(|t| {
            let mine: Vec<String> = leads.iter().skip(t).step_by(3).cloned().collect();
            let bases = bases.clone();
            let token = token.clone();
            let progress = progress.clone();
            std::thread::spawn(move || {
                let (mut acked, mut unknown) = (Vec::new(), Vec::new());
                let mut w = t;
                for round in 1..=rounds {
                    let (path, items): (&str, Vec<String>) = if round == 4 {
                        let set = |l: &String| format!(r#"{{"id": "{l}", "fields": {{"n": 10}}}}"#);
                        ("/api/leads", mine.iter().map(set).collect())
                    } else {
                        let ping = |l: &String| {
                            format!(r#"{{"lead": "{l}", "event": "ping", "props": {{"k": {round}}}}}"#)
                        };
                        let mut items: Vec<String> = mine.iter().map(ping).collect();
                        if round == 8 {
                            items.extend(mine.iter().map(|l| {
                                format!(r#"{{"lead": "{l}", "event": "signup", "props": {{"plan": "pro"}}}}"#)
                            }));
                        }
                        ("/api/events", items)
                    };
                    match post(&bases[w], &token, path, &format!("[{}]", items.join(","))) {
                        Some(true) => acked.push(round),
                        Some(false) => panic!("round {round} was refused"),
                        None => {
                            unknown.push(round);
                            w = (w + 1) % 3;
                        }
                    }
                    progress[t].store(round, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                }
                (mine, acked, unknown)
            })
        })
        .collect();
    // Dashboards stay open on the two workers that live through: w0's summary is read
    // over and over (every answer must be a 200), w2's live stream is followed.
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let summary_watch = {
        let (base, token, watching) = (bases[0].clone(), token.clone(), watching.clone());
        std::thread::spawn(move || {
            let (mut ok, mut bad) = (0u32, Vec::new());
            while watching.load(Ordering::SeqCst) {
                match get(&base, &token, "/api/dashboard/summary") {
                    (200, _) => ok += 1,
                    (status, body) => bad.push(format!("{status}: {body}")),
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (ok, bad)
        })
    };
    let stream_watch = {
        let (base, token) = (bases[2].clone(), token.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into();
            let Ok(response) = agent
                .get(&format!("{base}/api/stream"))
                .header("Authorization", &format!("Bearer {token}"))
                .call()
            else {
                return 0;
            };
            let reader = std::io::BufReader::new(response.into_body().into_reader());
            reader
                .lines()
                .map_while(Result::ok)
                .filter(|l| l.starts_with("event: update"))
                .take(5)
                .count()
        })
    };
    wait_for("every poster to pass round 9", 60, || {
        progress.iter().all(|p| p.load(Ordering::SeqCst) >= 9)
    });
    let _ = workers[1].child.kill(); // SIGKILL
    let _ = workers[1].child.wait();
    let mut sent: HashMap<String, (Vec<i64>, Vec<i64>)> = HashMap::new();
    for poster in posters {
        let (mine, acked, unknown) = poster.join().expect("a poster");
        assert!(acked.contains(&4) && acked.contains(&8), "{acked:?}");
        eprintln!(
            "{} rounds acknowledged, {} without an answer",
            acked.len(),
            unknown.len()
        );
        for lead in mine {
            sent.insert(lead, (acked.clone(), unknown.clone()));
        }
    }

    // The survivors take w1's partitions over and drain the inbox; every follow-up
    // (a timer) is sent.
    wait_for(
        "the inbox to drain and every follow-up to be sent",
        90,
        || {
            let waiting: i64 = db
                .query_one("SELECT COUNT(*) FROM tandem_cluster.inbox", &[])
                .map(|r| r.get(0))
                .unwrap_or(-1);
            let followups: i64 = per_partition(
                &mut db,
                "SELECT COUNT(*) FROM {p}.timeline WHERE line LIKE '%\"template\":\"followup\"%'",
                |r| r.get::<_, i64>(0),
            )
            .into_iter()
            .sum();
            waiting == 0 && followups >= LEADS as i64
        },
    );
    let owners: Vec<String> = db
        .query(
            "SELECT DISTINCT owner FROM tandem_cluster.leases WHERE expires_at > now()",
            &[],
        )
        .expect("leases")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!owners.contains(&"w1".to_owned()), "{owners:?}");

    // Every acknowledged ping applied once, each lead's in the order sent.
    let inputs = per_partition(
        &mut db,
        "SELECT lead, input FROM {p}.inputs ORDER BY seq",
        |r| (r.get::<_, String>(0), r.get::<_, String>(1)),
    );
    let mut ks: HashMap<String, Vec<i64>> = HashMap::new();
    for (lead, input) in &inputs {
        let v: Value = serde_json::from_str(input).expect("a stored input is JSON");
        if let Some(k) = ping_k(&v) {
            ks.entry(lead.clone()).or_default().push(k);
        }
    }
    for lead in &leads {
        let seen = ks.get(lead).cloned().unwrap_or_default();
        let (acked, unknown) = &sent[lead];
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{lead}: pings applied out of order or twice: {seen:?}"
        );
        for round in acked {
            if *round != 4 {
                assert!(
                    seen.contains(round),
                    "{lead}: acknowledged ping {round} lost"
                );
            }
        }
        for k in &seen {
            assert!(
                acked.contains(k) || unknown.contains(k),
                "{lead}: ping {k} was never sent"
            );
        }
    }

    // One task per lead, one welcome and one follow-up email per lead.
    let tasks: BTreeMap<String, i64> = per_partition(
        &mut db,
        "SELECT lead, COUNT(*) FROM {p}.tasks GROUP BY lead",
        |r| (r.get::<_, String>(0), r.get::<_, i64>(1)),
    )
    .into_iter()
    .collect();
    let mails: Vec<(String, String)> =
        per_partition(&mut db, "SELECT lead, template FROM {p}.outbox", |r| {
            (r.get::<_, String>(0), r.get::<_, String>(1))
        });
    for lead in &leads {
        assert_eq!(tasks.get(lead), Some(&1), "{lead}: one Sales task");
        for template in ["hello", "followup"] {
            let n = mails
                .iter()
                .filter(|(l, t)| l == lead && t == template)
                .count();
            assert_eq!(n, 1, "{lead}: one `{template}` email");
        }
    }
    // Each lead lives in exactly one partition's log.
    let mut homes: HashMap<&str, usize> = HashMap::new();
    for (lead, input) in &inputs {
        if input.contains("\"Create\"") {
            *homes.entry(lead.as_str()).or_default() += 1;
        }
    }
    assert!(leads.iter().all(|l| homes.get(l.as_str()) == Some(&1)));

    // The dashboard was there on w0 all along; w2's live stream moved on.
    watching.store(false, Ordering::SeqCst);
    let (answered, failed) = summary_watch.join().expect("the summary watcher");
    assert!(
        answered > 0 && failed.is_empty(),
        "{answered} answers, failures: {failed:?}"
    );
    assert_eq!(
        stream_watch.join().expect("the stream watcher"),
        5,
        "live updates on w2"
    );

    // Every worker's dashboard adds up to the store's totals (the partitions publish
    // their figures within a second of a change).
    let sent_per_template = |db: &mut postgres::Client, t: &str| -> u64 {
        per_partition(
            db,
            &format!("SELECT COUNT(*) FROM {{p}}.timeline WHERE line LIKE '%\"email_sent\"%' AND line LIKE '%\"template\":\"{t}\"%'"),
            |r| r.get::<_, i64>(0),
        )
        .into_iter()
        .sum::<i64>() as u64
    };
    let (hello, followup) = (
        sent_per_template(&mut db, "hello"),
        sent_per_template(&mut db, "followup"),
    );
    assert_eq!((hello, followup), (LEADS as u64, LEADS as u64));
    for w in [&workers[0], &workers[2]] {
        wait_for("the dashboard to add up to the store", 30, || {
            let (status, body) = get(&w.base, &token, "/api/dashboard/summary");
            let Ok(v) = serde_json::from_str::<Value>(&body) else {
                return false;
            };
            let sum = |v: &Value| -> u64 {
                v.as_object()
                    .map(|o| o.values().filter_map(Value::as_u64).sum())
                    .unwrap_or(0)
            };
            let email = |t: &str| {
                v["email"]
                    .as_array()
                    .and_then(|a| a.iter().find(|e| e["template"] == t))
                    .and_then(|e| e["sent"].as_u64())
            };
            let reps: u64 = v["handoff"]["reps"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            ["open", "accepted", "rejected"]
                                .iter()
                                .filter_map(|k| r[*k].as_u64())
                                .sum::<u64>()
                        })
                        .sum()
                })
                .unwrap_or(0);
            let welcome = v["journeys"]
                .as_array()
                .and_then(|a| a.iter().find(|j| j["name"] == "welcome"))
                .and_then(|j| j["entered"].as_u64());
            status == 200
                && sum(&v["funnel"]["current"]) == LEADS as u64
                && welcome == Some(LEADS as u64)
                && email("hello") == Some(hello)
                && email("followup") == Some(followup)
                && reps == tasks.values().sum::<i64>() as u64
                && v["cluster"]["published"] == PARTITIONS
        });
        let (status, svg) = get(&w.base, &token, "/api/dashboard/journeys/welcome.svg");
        assert_eq!(status, 200, "{svg}");
        assert!(svg.contains("<svg"), "{svg}");
    }

    // A queued request that cannot be applied is set aside (here: one that does not
    // parse, as a corrupted row would be); its partition goes on, and the dashboard
    // of any worker counts it; a retry puts it back (it fails again: set aside again).
    db.batch_execute(
        "INSERT INTO tandem_cluster.inbox (partition, items) VALUES (0, '[{\"lead\":');
         SELECT pg_notify('tandem_cluster_inbox', '0')",
    )
    .expect("a broken row");
    let aside = |w: &Worker| -> Vec<Value> {
        let (_, body) = get(&w.base, &token, "/api/inbox/quarantine");
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["requests"].as_array().cloned())
            .unwrap_or_default()
    };
    wait_for("the broken row to be set aside", 30, || {
        aside(&workers[2]).len() == 1
    });
    let seq = aside(&workers[0])[0]["seq"]
        .as_i64()
        .expect("a sequence number");
    wait_for("the dashboard to count it", 10, || {
        let (_, body) = get(&workers[0].base, &token, "/api/dashboard/summary");
        serde_json::from_str::<Value>(&body).is_ok_and(|v| v["cluster"]["quarantined"] == 1)
    });
    assert_eq!(
        post(
            &workers[0].base,
            &token,
            &format!("/api/inbox/quarantine/{seq}/retry"),
            ""
        ),
        Some(true)
    );
    wait_for("the retried row to be set aside again", 30, || {
        aside(&workers[0]).first().is_some_and(|r| r["seq"] == seq)
    });
    assert_eq!(
        post(
            &workers[0].base,
            &token,
            "/api/inbox/quarantine/999999/retry",
            ""
        ),
        Some(false)
    );
    let inbox_left: i64 = db
        .query_one("SELECT COUNT(*) FROM tandem_cluster.inbox", &[])
        .expect("inbox")
        .get(0);
    assert_eq!(inbox_left, 0, "the partition moved on");

    // A report every schedule run, sent once by partition 0's engine, never by another.
    // A report adds up the figures the partitions published last: wait for two more
    // runs after the dashboard added up, then the newest counts every lead.
    let count_reports = |db: &mut postgres::Client| -> i64 {
        db.query_one(
            "SELECT COUNT(*) FROM tandem_p0.outbox WHERE template = 'report'",
            &[],
        )
        .map(|r| r.get(0))
        .unwrap_or(0)
    };
    let before = count_reports(&mut db);
    wait_for("two more report runs", 30, || {
        count_reports(&mut db) >= before + 2
    });
    let reports = per_partition(
        &mut db,
        "SELECT COUNT(*) FROM {p}.outbox WHERE template = 'report'",
        |r| r.get::<_, i64>(0),
    );
    let runs: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM tandem_p0.timeline WHERE line LIKE '%\"report_sent\"%'",
            &[],
        )
        .expect("report runs")
        .get(0);
    assert!(runs > 0, "the minutely schedule ran");
    assert_eq!(reports[0], runs, "one report per run, from partition 0");
    assert!(reports[1..].iter().all(|n| *n == 0), "{reports:?}");
    let last: String = db
        .query_one(
            "SELECT body FROM tandem_p0.outbox WHERE template = 'report' ORDER BY at DESC, key LIMIT 1",
            &[],
        )
        .expect("the last report")
        .get(0);
    assert!(
        last.contains(&LEADS.to_string()),
        "the report counts every partition's leads: {last}"
    );

    // Every email is delivered; the ones delivered twice are those a dying worker had
    // sent but not yet marked sent (the documented window: at most one fetch of the
    // mailer, 256), each with the same Message-ID.
    wait_for("every email to be delivered", 30, || {
        per_partition(
            &mut db,
            "SELECT COUNT(*) FROM {p}.outbox WHERE status <> 'sent'",
            |r| r.get::<_, i64>(0),
        )
        .into_iter()
        .sum::<i64>()
            == 0
    });
    let rows: i64 = per_partition(&mut db, "SELECT COUNT(*) FROM {p}.outbox", |r| {
        r.get::<_, i64>(0)
    })
    .into_iter()
    .sum();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for name in ["w0", "w1", "w2"] {
        let outbox = std::env::temp_dir()
            .join(format!("tandem-cluster-{name}-{}", std::process::id()))
            .join("outbox");
        for entry in std::fs::read_dir(&outbox).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if let Some(id) = text
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            {
                *ids.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    let twice: usize = ids.values().map(|n| n - 1).sum();
    eprintln!(
        "{rows} emails, {} delivered, {twice} delivered again across the takeover",
        ids.len()
    );
    assert_eq!(ids.len() as i64, rows, "every email delivered");
    assert!(twice <= 256, "{twice} duplicates");
    drop(workers);
    drop(db);
    drop(database);
}
