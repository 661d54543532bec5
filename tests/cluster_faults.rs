//! A cluster living through a PostgreSQL restart, on a server of the test's own (a fresh data folder and port, so the server other tests share is never touched): two workers take a stream of requests while lead pages and dashboards are read, and the server is stopped and started again mid-load as an operator's restart does — no acknowledged input lost, applied twice or out of order, no task or email twice, no 404 for a lead that exists (503 while the store is away), and every worker's dashboard adds up to the store's totals afterwards.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

mod support;
use support::cluster::{
    assert_delivered, assert_one_task_and_email_each, assert_pings, create_leads, get, post,
    round_items, shared_token, start_worker, wait_drained, Again, Sent, Worker,
};
use support::throwaway_pg::ThrowawayPg;
use support::{program_dir, wait_for};

const LEADS: usize = 24;
const ROUNDS: i64 = 60;

#[test]
fn a_postgresql_restart_mid_load_loses_nothing_and_answers_503_never_404() {
    let pg = ThrowawayPg::start("restart");
    let url = pg.url();
    let program = program_dir();
    let workers: Vec<Worker> = vec![
        start_worker(&url, "r0", &program),
        start_worker(&url, "r1", &program),
    ];
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    wait_for("the two workers to share the partitions", 30, || {
        db.query_one(
            "SELECT COUNT(DISTINCT owner) FROM tandem_cluster.leases WHERE expires_at > now()",
            &[],
        )
        .map(|r| r.get::<_, i64>(0) == 2)
        .unwrap_or(false)
    });
    let token = shared_token(&mut db);
    let leads: Vec<String> = (0..LEADS).map(|i| format!("r{i}")).collect();
    create_leads(&workers[0].base, &token, &leads);
    wait_for("the leads to be applied", 30, || {
        leads
            .iter()
            .all(|l| get(&workers[1].base, &token, &format!("/api/leads/{l}")).0 == 200)
    });

    // Readers: lead pages of leads that exist and the dashboard, on both workers, all
    // along. A 503 (or no answer) is allowed while the store is away; a 404, 400 or 500
    // is not.
    let reading = Arc::new(AtomicBool::new(true));
    let readers = {
        let bases: Vec<String> = workers.iter().map(|w| w.base.clone()).collect();
        let (token, leads, reading) = (token.clone(), leads.clone(), reading.clone());
        std::thread::spawn(move || {
            let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
            let mut wrong = Vec::new();
            let mut i = 0usize;
            while reading.load(Ordering::SeqCst) {
                let base = &bases[i % 2];
                let lead = &leads[i % leads.len()];
                for path in [
                    format!("/api/leads/{lead}"),
                    "/api/dashboard/summary".into(),
                ] {
                    let (status, body) = get(base, &token, &path);
                    *statuses.entry(status).or_default() += 1;
                    if !matches!(status, 200 | 503 | 0) {
                        wrong.push(format!("{path} on {base}: {status} {body}"));
                    }
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            (statuses, wrong)
        })
    };

    // Two posters, each with its half of the leads and its own worker: one `ping {k}` per
    // lead a round; round 4 sets `n = 10` (a Sales task), round 8 signs every lead up (a
    // welcome email, then a follow-up after a minute — a second at the 60× clock). A
    // request not answered 200 is "unknown": it may or may not have been applied.
    let progress: Arc<Vec<AtomicI64>> = Arc::new((0..2).map(|_| AtomicI64::new(0)).collect());
    let posters: Vec<_> = (0..2usize)
        .map(|t| {
            let mine: Vec<String> = leads.iter().skip(t).step_by(2).cloned().collect();
            let base = workers[t].base.clone();
            let (token, progress) = (token.clone(), progress.clone());
            std::thread::spawn(move || {
                let (mut acked, mut unknown) = (Vec::new(), Vec::new());
                for round in 1..=ROUNDS {
                    let (path, items) = round_items(round, &mine);
                    match post(&base, &token, path, &format!("[{}]", items.join(","))) {
                        Some(true) => acked.push(round),
                        _ => unknown.push(round),
                    }
                    progress[t].store(round, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                }
                (mine, acked, unknown)
            })
        })
        .collect();

    // Mid-load, the server goes down (every connection cut) and comes back 1.5 s later.
    wait_for("both posters to pass round 12", 60, || {
        progress.iter().all(|p| p.load(Ordering::SeqCst) >= 12)
    });
    drop(db);
    pg.down();
    std::thread::sleep(Duration::from_millis(1500));
    pg.up();
    let back = std::time::Instant::now();
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connect again");
    wait_for("both workers to take requests again", 60, || {
        workers.iter().all(|w| {
            post(
                &w.base,
                &token,
                "/api/leads",
                r#"[{"id": "r0", "fields": {"name": "r0"}}]"#,
            ) == Some(true)
        })
    });
    eprintln!(
        "both workers acknowledged requests again {} ms after the server was back",
        back.elapsed().as_millis()
    );

    let mut sent = Sent::new();
    for poster in posters {
        let (mine, acked, unknown) = poster.join().expect("a poster");
        eprintln!("{} rounds acknowledged, {} not", acked.len(), unknown.len());
        assert!(acked.contains(&4) && acked.contains(&8), "{acked:?}");
        assert!(
            acked.contains(&ROUNDS),
            "the service takes requests again after the restart: {acked:?}"
        );
        for lead in mine {
            sent.insert(lead, (acked.clone(), unknown.clone()));
        }
    }
    wait_drained(&mut db, LEADS);
    reading.store(false, Ordering::SeqCst);
    let (statuses, wrong) = readers.join().expect("the readers");
    eprintln!("reads during the run, by status: {statuses:?}");
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(statuses.get(&200).is_some_and(|n| *n > 0));

    // Every acknowledged ping applied once, each lead's in the order sent; one task and
    // one email of each kind per lead, each delivered (at most the documented window of
    // one mailer fetch again).
    assert_pings(&mut db, &leads, &sent);
    let tasks = assert_one_task_and_email_each(&mut db, &leads);
    let (emails, twice) = assert_delivered(&mut db, &["r0", "r1"], Again::Handover);
    eprintln!("{emails} emails delivered, {twice} again across the restart");

    // Both dashboards add up to the store.
    for w in &workers {
        wait_for("the dashboard to add up to the store", 30, || {
            let (status, body) = get(&w.base, &token, "/api/dashboard/summary");
            let Ok(v) = serde_json::from_str::<Value>(&body) else {
                return false;
            };
            let current: u64 = v["funnel"]["current"]
                .as_object()
                .map(|o| o.values().filter_map(Value::as_u64).sum())
                .unwrap_or(0);
            let welcome = v["journeys"]
                .as_array()
                .and_then(|a| a.iter().find(|j| j["name"] == "welcome"))
                .and_then(|j| j["entered"].as_u64());
            let open: u64 = v["handoff"]["reps"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r["open"].as_u64()).sum())
                .unwrap_or(0);
            status == 200
                && current == LEADS as u64
                && welcome == Some(LEADS as u64)
                && open == tasks.values().sum::<i64>() as u64
        });
    }
    drop(workers);
}
