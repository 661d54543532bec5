//! One conformance suite for every `Store`: SQLite (a temp file) and PostgreSQL (the server on 127.0.0.1:5432, database `test`, a fresh schema per run). Both must keep inputs in order, write a commit atomically, keep outbox keys and task ids unique, and answer every query the same.

use runtime::scenario::{Input, InputKind, InputValue};
use service::store::{
    Commit, Delivery, DeliveryOutcome, OutboxMail, SnapshotInfo, SqliteStore, Store, TaskChange,
    TaskQuery, TaskRow,
};

fn input(at: i64, lead: &str) -> Input {
    Input {
        index: 0,
        at,
        lead: lead.into(),
        kind: InputKind::Create(vec![("name".into(), InputValue::Text("Nguyễn An".into()))]),
    }
}

fn mail(key: &str, at: i64) -> OutboxMail {
    OutboxMail {
        key: key.into(),
        lead: "an".into(),
        template: "hello".into(),
        from: "Acme <m@acme.vn>".into(),
        to: "an@x.vn".into(),
        subject: "Chào An".into(),
        html: "<p>Chào</p>".into(),
        text: "Chào".into(),
        unsubscribe: "https://x/u".into(),
        at,
    }
}

fn task(id: &str, lead: &str, team: &str, at: i64) -> TaskRow {
    TaskRow {
        id: id.into(),
        lead: lead.into(),
        handoff: "to_sales".into(),
        team: team.into(),
        assignee: "rep@acme.vn".into(),
        status: "open".into(),
        reason: None,
        created_at: at,
        accepted_at: None,
        title: format!("Gọi cho {lead}"),
        lead_name: format!("Nguyễn {lead}"),
        accept_due_at: Some(at + 100),
        complete_due_at: Some(at + 1_000),
        due_at: None,
        escalations: 0,
        escalated_to: None,
        escalated_at: None,
    }
}

fn query(team: Option<&str>, assignee: Option<&str>, status: Option<&str>) -> TaskQuery {
    TaskQuery {
        team: team.map(str::to_owned),
        assignee: assignee.map(str::to_owned),
        status: status.map(str::to_owned),
        limit: 1000,
        ..TaskQuery::default()
    }
}

/// The contract, step by step.
fn conformance(store: &mut dyn Store) {
    assert_eq!(
        store.meta().expect("meta"),
        None,
        "a new store has no start"
    );
    store.set_start(1_000).expect("start");
    store.set_start(2_000).expect("start again is ignored");
    assert_eq!(store.meta().expect("meta"), Some((1_000, 0)));

    assert_eq!(store.latest_program().expect("program"), None);
    let files = vec![("main.journey".to_owned(), "lead { n: number }".to_owned())];
    assert_eq!(store.add_program(&files, 1_000, 0).expect("add"), 1);
    assert_eq!(store.add_program(&files, 1_001, 7).expect("add"), 2);
    assert_eq!(
        store.latest_program().expect("program"),
        Some((2, files.clone()))
    );
    let versions = store.programs().expect("programs");
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.at, v.inputs_before))
            .collect::<Vec<_>>(),
        vec![(1, 1_000, Some(0)), (2, 1_001, Some(7))]
    );
    assert_eq!(versions[1].files, files);

    let first = Commit {
        inputs: vec![input(1_010, "an"), input(1_020, "binh")],
        lines: vec![
            (
                Some("an".into()),
                1_010,
                r#"{"kind":"lead_created"}"#.into(),
            ),
            (Some("an".into()), 1_011, r#"{"kind":"email_sent"}"#.into()),
            (None, 1_012, r#"{"kind":"report_sent"}"#.into()),
        ],
        mails: vec![mail("k1", 1_011), mail("k1", 1_011), mail("k2", 1_012)],
        tasks: vec![
            TaskChange::Created(Box::new(task("an:to_sales:1", "an", "hcm", 1_011))),
            TaskChange::Created(Box::new(task("an:to_sales:1", "an", "hcm", 1_011))),
            TaskChange::Created(Box::new(task("binh:to_sales:1", "binh", "hn", 1_015))),
        ],
        lines_total: 3,
        ..Commit::default()
    };
    store.commit(&first).expect("commit");
    let inputs = store.inputs().expect("inputs");
    assert_eq!(
        inputs.iter().map(|i| i.lead.as_str()).collect::<Vec<_>>(),
        ["an", "binh"]
    );
    assert_eq!(inputs[0], first.inputs[0], "inputs come back exactly");
    assert_eq!(store.meta().expect("meta"), Some((1_000, 3)));
    assert_eq!(
        store.recent_lines("an", 10).expect("lines"),
        [r#"{"kind":"lead_created"}"#, r#"{"kind":"email_sent"}"#],
        "oldest first"
    );
    assert_eq!(
        store.recent_lines("an", 1).expect("lines"),
        [r#"{"kind":"email_sent"}"#]
    );

    // The outbox: one row per key, due by time, retries and failure.
    let due = store.due_mail(1_011, 10).expect("due");
    assert_eq!(due.len(), 1, "k2 is not due yet and k1 was stored once");
    assert_eq!(
        (due[0].mail.clone(), due[0].attempts),
        (mail("k1", 1_011), 0)
    );
    store
        .record_deliveries(&[Delivery {
            key: "k1".into(),
            outcome: DeliveryOutcome::Retry {
                error: "421 try later".into(),
                retry_at: 1_100,
            },
        }])
        .expect("failed");
    assert!(store
        .due_mail(1_099, 10)
        .expect("due")
        .iter()
        .all(|m| m.mail.key != "k1"));
    let due = store.due_mail(1_100, 10).expect("due");
    assert_eq!(
        due.iter()
            .map(|m| (m.mail.key.as_str(), m.attempts))
            .collect::<Vec<_>>(),
        [("k2", 0), ("k1", 1)]
    );
    // One batch: one sent, one failed for good.
    store
        .record_deliveries(&[
            Delivery {
                key: "k1".into(),
                outcome: DeliveryOutcome::Sent { at: 1_101 },
            },
            Delivery {
                key: "k2".into(),
                outcome: DeliveryOutcome::Failed {
                    error: "550 no such user".into(),
                },
            },
        ])
        .expect("recorded");
    assert!(store.due_mail(9_999, 10).expect("due").is_empty());

    // Tasks: unique ids, filters, outcomes.
    assert_eq!(
        store.tasks(&query(None, None, None)).expect("tasks").len(),
        2
    );
    assert_eq!(
        store.tasks(&query(Some("hn"), None, None)).expect("tasks")[0].id,
        "binh:to_sales:1"
    );
    assert_eq!(
        store
            .tasks(&query(None, Some("nobody@acme.vn"), None))
            .expect("tasks"),
        Vec::<TaskRow>::new()
    );
    // Deadlines: an open task is measured against its accept deadline; late ones come most
    // overdue first; a page skips and takes.
    let all = store.tasks(&query(None, None, None)).expect("tasks");
    assert_eq!(
        all.iter()
            .map(|t| (
                t.id.as_str(),
                t.due_at,
                t.title.as_str(),
                t.lead_name.as_str()
            ))
            .collect::<Vec<_>>(),
        [
            (
                "binh:to_sales:1",
                Some(1_115),
                "Gọi cho binh",
                "Nguyễn binh"
            ),
            ("an:to_sales:1", Some(1_111), "Gọi cho an", "Nguyễn an")
        ]
    );
    let late = |store: &mut dyn Store, at: i64, offset: usize, limit: usize| {
        store
            .tasks(&TaskQuery {
                late_at: Some(at),
                offset,
                limit,
                ..TaskQuery::default()
            })
            .expect("tasks")
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(late(store, 1_111, 0, 10), Vec::<String>::new());
    assert_eq!(late(store, 1_112, 0, 10), ["an:to_sales:1"]);
    assert_eq!(
        late(store, 2_000, 0, 10),
        ["an:to_sales:1", "binh:to_sales:1"]
    );
    assert_eq!(late(store, 2_000, 1, 10), ["binh:to_sales:1"]);
    assert_eq!(late(store, 2_000, 0, 1), ["an:to_sales:1"]);
    store
        .commit(&Commit {
            tasks: vec![
                TaskChange::Escalated {
                    id: "an:to_sales:1".into(),
                    to: "boss@acme.vn".into(),
                    at: 1_111,
                },
                TaskChange::Escalated {
                    id: "an:to_sales:1".into(),
                    to: "boss2@acme.vn".into(),
                    at: 1_150,
                },
            ],
            lines_total: 3,
            ..Commit::default()
        })
        .expect("commit");
    let an = store.task("an:to_sales:1").expect("task").expect("exists");
    assert_eq!(
        (an.escalations, an.escalated_to.as_deref(), an.escalated_at),
        (2, Some("boss2@acme.vn"), Some(1_150))
    );
    let second = Commit {
        tasks: vec![
            TaskChange::Reassigned {
                id: "an:to_sales:1".into(),
                to: "boss@acme.vn".into(),
            },
            TaskChange::Accepted {
                id: "an:to_sales:1".into(),
                at: 1_200,
            },
            TaskChange::Rejected {
                id: "binh:to_sales:1".into(),
                reason: "no_budget".into(),
            },
        ],
        lines_total: 3,
        ..Commit::default()
    };
    store.commit(&second).expect("commit");
    let an = store.task("an:to_sales:1").expect("task").expect("exists");
    assert_eq!(
        (an.assignee.as_str(), an.status.as_str(), an.accepted_at),
        ("boss@acme.vn", "accepted", Some(1_200))
    );
    // Accepted: measured against the complete deadline now; no longer late at 1 500.
    assert_eq!(an.due_at, Some(2_011));
    assert_eq!(late(store, 1_500, 0, 10), Vec::<String>::new());
    let binh = store
        .task("binh:to_sales:1")
        .expect("task")
        .expect("exists");
    assert_eq!(
        (binh.status.as_str(), binh.reason.as_deref()),
        ("rejected", Some("no_budget"))
    );
    assert_eq!(
        store
            .tasks(&query(None, None, Some("open")))
            .expect("tasks"),
        Vec::<TaskRow>::new()
    );
    assert_eq!(store.lead_tasks("an").expect("tasks").len(), 1);
    assert_eq!(store.task("nope").expect("task"), None);
    store
        .commit(&Commit {
            tasks: vec![TaskChange::Completed {
                id: "an:to_sales:1".into(),
            }],
            lines_total: 3,
            ..Commit::default()
        })
        .expect("commit");
    assert_eq!(
        store.task("an:to_sales:1").expect("task").map(|t| t.status),
        Some("completed".into())
    );

    store.set_lines_total(7).expect("lines");
    assert_eq!(store.meta().expect("meta"), Some((1_000, 7)));
    let counts = store.counts().expect("counts");
    for want in [
        ("outbox_sent", 1),
        ("outbox_failed", 1),
        ("tasks_completed", 1),
        ("tasks_rejected", 1),
        ("inputs", 2),
    ] {
        assert!(
            counts.contains(&(want.0.to_owned(), want.1)),
            "{want:?} in {counts:?}"
        );
    }

    // The lead's last email: the newest by instant, then by key, with its outbox status.
    assert_eq!(
        store.last_mail("an").expect("last mail"),
        Some((mail("k2", 1_012), "failed".to_owned()))
    );
    assert_eq!(store.last_mail("nobody").expect("last mail"), None);
    let mut other = mail("b1", 1_500);
    other.lead = "binh".into();
    other.html = "<p>Chào Bình</p>".into();
    store
        .commit(&Commit {
            mails: vec![mail("k3", 1_012), other.clone()],
            lines_total: 7,
            ..Commit::default()
        })
        .expect("commit");
    assert_eq!(
        store.last_mail("an").expect("last mail"),
        Some((mail("k3", 1_012), "pending".to_owned())),
        "the same instant: the greater key"
    );
    assert_eq!(
        store.last_mail("binh").expect("last mail"),
        Some((other, "pending".to_owned())),
        "another lead's mail is not an's"
    );
    store
        .commit(&Commit {
            mails: vec![mail("a0", 1_300)],
            lines_total: 7,
            ..Commit::default()
        })
        .expect("commit");
    store
        .record_deliveries(&[Delivery {
            key: "a0".into(),
            outcome: DeliveryOutcome::Sent { at: 1_301 },
        }])
        .expect("recorded");
    assert_eq!(
        store.last_mail("an").expect("last mail"),
        Some((mail("a0", 1_300), "sent".to_owned())),
        "a later instant wins over a greater key"
    );
}

/// Snapshots: chunked bytes read back whole, the tail after a snapshot's position, the
/// newest `keep` kept (with their chunks), a position beyond the log refused. Run on a
/// store whose log holds two inputs.
fn snapshot_contract(store: &mut dyn Store) {
    assert!(store.snapshots().expect("list").is_empty());
    let info = |position: u64| SnapshotInfo {
        id: 0,
        position,
        after_seq: 0,
        version: 1,
        format: 1,
        release: "test".into(),
        checksum: 7,
        size: 0,
        created_ms: 1_000 + position as i64,
    };
    // Three chunks, the last one short.
    let big: Vec<u8> = (0..(2 * service::store::snapshots::CHUNK + 123))
        .map(|i| (i % 251) as u8)
        .collect();
    let first = store.write_snapshot(&info(1), &big, 2).expect("written");
    let list = store.snapshots().expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].id, list[0].position, list[0].size),
        (first, 1, big.len() as u64)
    );
    assert_eq!(list[0].checksum, 7);
    assert_eq!(store.read_snapshot(first).expect("read"), big);
    let tail = store.inputs_after(list[0].after_seq).expect("tail");
    assert_eq!(tail.len(), 1, "one input after the first");
    assert_eq!(tail[0].at, store.inputs().expect("inputs")[1].at);

    let second = store.write_snapshot(&info(2), b"two", 2).expect("written");
    let third = store
        .write_snapshot(&info(2), b"three", 2)
        .expect("written");
    let ids: Vec<i64> = store
        .snapshots()
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![third, second], "the newest two, newest first");
    assert!(
        store.read_snapshot(first).expect("read").is_empty(),
        "its chunks are gone"
    );
    let newest = store.snapshots().expect("list")[0].after_seq;
    assert!(store.inputs_after(newest).expect("tail").is_empty());
    assert!(
        store.write_snapshot(&info(3), b"x", 2).is_err(),
        "a position beyond the log is refused"
    );
    let mut other = store.reopen().expect("a second connection");
    assert_eq!(other.snapshots().expect("list").len(), 2);
    assert_eq!(other.read_snapshot(third).expect("read"), b"three");
}

#[test]
fn sqlite_keeps_the_store_contract() {
    let path = std::env::temp_dir().join(format!("tandem-store-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut store = SqliteStore::open(&path).expect("opens");
    conformance(&mut store);
    snapshot_contract(&mut store);
    // Reopening finds everything again.
    let mut again = SqliteStore::open(&path).expect("reopens");
    assert_eq!(again.inputs().expect("inputs").len(), 2);
    let _ = std::fs::remove_file(&path);
}

/// The PostgreSQL server this machine runs (`TANDEM_TEST_PG` overrides the URL).
fn pg_url() -> String {
    std::env::var("TANDEM_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[test]
fn postgres_keeps_the_store_contract() {
    let schema = format!("tandem_test_{}", std::process::id());
    let mut store = service::pg::PgStore::open_in(&pg_url(), Some(&schema))
        .expect("PostgreSQL on 127.0.0.1:5432 (database test) is reachable");
    conformance(&mut store);
    snapshot_contract(&mut store);
    // Reopening (migrations already applied) finds everything again.
    let mut again = service::pg::PgStore::open_in(&pg_url(), Some(&schema)).expect("reopens");
    assert_eq!(again.inputs().expect("inputs").len(), 2);
    drop(again);
    drop(store);
    if let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
        let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    }
}
