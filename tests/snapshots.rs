//! Snapshots end to end, with the real binary: a start from a periodic snapshot after a SIGKILL, from the final snapshot of a clean stop, and from the whole log (snapshots off) gives the same world and the same dashboard; a damaged snapshot or one from another release is skipped for an older one or a full replay, with the same result.

use std::path::Path;

use serde_json::Value;

mod support;
use support::service::*;
use support::{free_port, wait_for};

fn config(dir: &Path, http: u16, enabled: bool) -> String {
    format!(
        "{}\n[snapshots]\nenabled = {enabled}\nevery_inputs = 40\nevery_seconds = 3600\nkeep = 2\n",
        file_outbox_config(dir, http)
    )
}

fn metric(s: &Service, name: &str) -> f64 {
    let (_, text) = get(s, "/api/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1.0)
}

/// Everything both teams see: the dashboard, the tasks, every lead as the API shows it.
fn picture(s: &Service, leads: usize) -> Value {
    let json = |path: &str| -> Value {
        let (status, body) = get(s, path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    };
    let mut all = serde_json::Map::new();
    let mut dashboard = json("/api/dashboard/summary");
    if let Some(d) = dashboard.as_object_mut() {
        d.remove("generated_at");
    }
    all.insert("dashboard".into(), dashboard);
    // The tasks as stored; `now` and how late each is are the clock's at the request.
    let mut tasks = json("/api/tasks");
    if let Some(t) = tasks.as_object_mut() {
        t.remove("now");
        for task in t
            .get_mut("tasks")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(task) = task.as_object_mut() {
                task.remove("overdue_seconds");
            }
        }
    }
    all.insert("tasks".into(), tasks);
    for i in 0..leads {
        all.insert(format!("lead {i}"), json(&format!("/api/leads/l{i}")));
    }
    all.insert("leads".into(), metric(s, "tandem_leads").into());
    all.insert("inputs".into(), metric(s, "tandem_inputs_applied").into());
    Value::Object(all)
}

/// The snapshots in the store: (id, position).
fn snapshots(db: &Path) -> Vec<(i64, i64)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the store opens");
    let mut stmt = conn
        .prepare("SELECT id, position FROM snapshots ORDER BY position DESC")
        .expect("the snapshots table exists");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The first place two pictures differ (`None`: equal).
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let Some(w) = y.get(k) else {
                    return Some(format!("{path}/{k}: missing on the right"));
                };
                if let Some(d) = first_difference(v, w, &format!("{path}/{k}")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: extra keys on the right"))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}/{i}"))),
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}

fn assert_same(a: &Value, b: &Value, what: &str) {
    if let Some(d) = first_difference(a, b, "") {
        panic!("{what}: {d}");
    }
}

fn stop_cleanly(s: &mut Service) {
    let status = stop_with_sigterm(s);
    assert!(status.success(), "a clean stop exits 0: {status}");
}

/// One batch: ten leads (some hot enough for the handoff), sign-ups, pings.
fn ingest(s: &Service, batch: usize) {
    let leads: Vec<Value> = (0..10)
        .map(|k| {
            let i = batch * 10 + k;
            serde_json::json!({"id": format!("l{i}"), "fields": {
                "name": format!("Lê Văn {i} <b>&"), "n": (i % 13) as f64}})
        })
        .collect();
    let (status, body) = post(s, "/api/leads", &Value::Array(leads).to_string());
    assert_eq!(status, 200, "{body}");
    let events: Vec<Value> = (0..10)
        .filter(|k| k % 3 != 0)
        .map(|k| {
            let i = batch * 10 + k;
            if k % 2 == 0 {
                serde_json::json!({"lead": format!("l{i}"), "event": "signup", "props": {"plan": "pro"}})
            } else {
                serde_json::json!({"lead": format!("l{i}"), "event": "ping", "props": {"k": k}})
            }
        })
        .collect();
    let (status, body) = post(s, "/api/events", &Value::Array(events).to_string());
    assert_eq!(status, 200, "{body}");
}

/// Accepts or rejects the open tasks of some leads (task ids `LEAD:review:1`).
fn work_tasks(s: &Service, from: usize, to: usize) {
    for i in from..to {
        if i % 13 < 10 {
            continue;
        }
        let (path, body) = if i % 2 == 0 {
            ("accept", r#"{"by": "rep@acme.vn"}"#.to_string())
        } else {
            (
                "reject",
                r#"{"by": "rep@acme.vn", "reason": "not_icp"}"#.to_string(),
            )
        };
        let (status, answer) = post(s, &format!("/api/tasks/l{i}:review:1/{path}"), &body);
        assert_eq!(status, 200, "{path} l{i}: {answer}");
    }
}

#[test]
fn every_way_of_starting_gives_the_same_world_and_dashboard() {
    let dir = temp_dir("snapshots");
    let db = dir.join("tandem.db");
    let program = support::program_dir();
    let http = free_port();
    let batches = 12;
    let leads = batches * 10;

    // Periodic snapshots while leads come in, then a SIGKILL after a few more inputs.
    let mut s = start_program(&dir, &config(&dir, http, true), http, &program);
    for b in 0..batches {
        ingest(&s, b);
    }
    work_tasks(&s, 0, leads / 2);
    wait_for("two periodic snapshots", 30, || snapshots(&db).len() >= 2);
    let periodic = snapshots(&db)[0].1;
    ingest(&s, batches);
    work_tasks(&s, leads / 2, leads);
    let total = metric(&s, "tandem_inputs_applied");
    assert!(
        total > periodic as f64,
        "inputs came after the last snapshot"
    );
    let _ = s.child.kill();
    let _ = s.child.wait();

    // 1. From the newest periodic snapshot and the inputs after it.
    let mut s = start_program(&dir, &config(&dir, http, true), http, &program);
    let from = metric(&s, "tandem_start_snapshot_position");
    let replayed = metric(&s, "tandem_start_replayed_inputs");
    assert!(
        from > 0.0 && replayed > 0.0,
        "snapshot at {from}, {replayed} replayed"
    );
    assert_eq!(
        from + replayed,
        total,
        "the snapshot ({from}) and the tail ({replayed}) make the whole log"
    );
    let after_kill = picture(&s, leads + 10);
    assert_eq!(after_kill["leads"], Value::from((leads + 10) as f64));
    stop_cleanly(&mut s);

    // 2. From the final snapshot of that clean stop: nothing replayed.
    let mut s = start_program(&dir, &config(&dir, http, true), http, &program);
    assert_eq!(metric(&s, "tandem_start_snapshot_position"), total);
    assert_eq!(metric(&s, "tandem_start_replayed_inputs"), 0.0);
    let after_stop = picture(&s, leads + 10);
    stop_cleanly(&mut s);
    let kept = snapshots(&db);
    assert_eq!(kept.len(), 2, "only the newest two are kept: {kept:?}");

    // 3. Snapshots off: the whole log.
    let s = start_program(&dir, &config(&dir, http, false), http, &program);
    assert_eq!(metric(&s, "tandem_start_snapshot_position"), 0.0);
    assert_eq!(metric(&s, "tandem_start_replayed_inputs"), total);
    let replayed_all = picture(&s, leads + 10);
    drop(s);

    assert_same(
        &after_kill,
        &replayed_all,
        "snapshot + tail vs the full replay",
    );
    assert_same(
        &after_stop,
        &replayed_all,
        "the final snapshot vs the full replay",
    );

    // 4. The newest snapshot damaged: the older one is used, with the same result.
    let conn = rusqlite::Connection::open(&db).expect("store");
    conn.execute(
        "UPDATE snapshot_chunks SET data = zeroblob(length(data)) WHERE snapshot = ?1",
        [kept[0].0],
    )
    .expect("damage");
    drop(conn);
    let mut s = start_program(&dir, &config(&dir, http, true), http, &program);
    assert_eq!(
        metric(&s, "tandem_start_snapshot_position"),
        kept[1].1 as f64
    );
    assert_same(
        &picture(&s, leads + 10),
        &replayed_all,
        "the older snapshot",
    );
    let _ = s.child.kill();
    let _ = s.child.wait();

    // 5. Snapshots of another release: a full replay, the same result.
    let conn = rusqlite::Connection::open(&db).expect("store");
    conn.execute("UPDATE snapshots SET release = '0.0.0-other'", [])
        .expect("relabel");
    drop(conn);
    let s = start_program(&dir, &config(&dir, http, true), http, &program);
    assert_eq!(metric(&s, "tandem_start_snapshot_position"), 0.0);
    assert_same(
        &picture(&s, leads + 10),
        &replayed_all,
        "another release's snapshots",
    );
}
