//! Partition leases on the PostgreSQL server this machine runs (127.0.0.1:5432, database `test`, a fresh schema per test): workers share the partitions without overlap, a silent worker's partitions are taken over after the time to live, a store commit under a lost lease writes nothing, and a worker that lost a lease reads nothing more to deliver from the partition.

use std::collections::BTreeSet;
use std::time::Duration;

use service::cluster::{Lease, Leases};
use service::pg::{Fence, PgStore};
use service::store::{Commit, Records, Store};

/// The PostgreSQL server this machine runs (`TANDEM_TEST_PG` overrides the URL).
fn pg_url() -> String {
    std::env::var("TANDEM_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema for one test, dropped when the guard goes.
struct Schema(String);

impl Schema {
    fn new(test: &str) -> Schema {
        Schema(format!("tandem_cluster_{test}_{}", std::process::id()))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
        }
    }
}

fn worker(schema: &Schema, name: &str, partitions: u32, ttl_ms: u64) -> Leases {
    Leases::open(
        &pg_url(),
        &schema.0,
        name,
        partitions,
        Duration::from_millis(ttl_ms),
    )
    .expect("PostgreSQL on 127.0.0.1:5432 (database test) is reachable")
}

fn partitions(leases: &[Lease]) -> BTreeSet<u32> {
    leases.iter().map(|l| l.partition).collect()
}

#[test]
fn three_workers_share_every_partition_without_overlap() {
    let schema = Schema::new("share");
    let mut workers: Vec<Leases> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| worker(&schema, n, 16, 10_000))
        .collect();
    let mut held: Vec<Vec<Lease>> = vec![Vec::new(); 3];
    // The first worker starts alone and takes every partition.
    held[0] = workers[0].round(&[]).expect("round");
    assert_eq!(held[0].len(), 16);
    // The others join; a few rounds of every worker's loop even the load out.
    for w in &mut workers[1..] {
        w.heartbeat().expect("heartbeat");
    }
    for _round in 0..3 {
        for (w, leases) in workers.iter_mut().zip(held.iter_mut()) {
            *leases = w.round(leases).expect("round");
        }
    }
    let all: Vec<u32> = held.iter().flat_map(|h| partitions(h)).collect();
    let distinct: BTreeSet<u32> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "no partition held twice: {held:?}"
    );
    assert_eq!(
        distinct,
        (0..16).collect::<BTreeSet<u32>>(),
        "every partition is held"
    );
    let mut sizes: Vec<usize> = held.iter().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(sizes, [4, 6, 6], "shares of ceil(16 / 3): {held:?}");
    // Renewing keeps exactly what each holds.
    for (w, leases) in workers.iter_mut().zip(&held) {
        assert_eq!(&w.renew(leases).expect("renews"), leases);
    }
}

#[test]
fn a_silent_workers_partitions_are_taken_over_and_it_is_fenced_out() {
    let schema = Schema::new("takeover");
    let mut a = worker(&schema, "a", 4, 400);
    let mut b = worker(&schema, "b", 4, 400);
    let held_a = a.claim(4).expect("claims");
    assert_eq!(partitions(&held_a), (0..4).collect());
    assert!(b.claim(4).expect("claims").is_empty(), "all are held by a");

    // A store for partition 2 under a's lease commits while the lease holds.
    let lease = held_a[2];
    let store_schema = format!("{}_p2", schema.0);
    let _store_guard = Schema(store_schema.clone());
    let mut store_a = PgStore::open_in(&pg_url(), Some(&store_schema))
        .expect("opens")
        .fenced(Fence {
            schema: schema.0.clone(),
            worker: "a".into(),
            lease,
        });
    store_a
        .commit(&Commit::default())
        .expect("a holds the lease");

    // a stops renewing; after the time to live b takes everything, at new epochs.
    std::thread::sleep(Duration::from_millis(600));
    let held_b = b.claim(4).expect("claims");
    assert_eq!(partitions(&held_b), (0..4).collect());
    for (old, new) in held_a.iter().zip(&held_b) {
        assert_eq!(new.epoch, old.epoch + 1, "a claim bumps the epoch");
    }
    assert!(
        a.renew(&held_a).expect("renews").is_empty(),
        "a's leases are lost"
    );

    // a's late commit writes nothing; b's store for the same partition commits.
    let err = store_a
        .commit(&Commit::default())
        .expect_err("a no longer holds the lease");
    assert!(err.0.contains("partition 2"), "{}", err.0);
    let mut store_b = PgStore::open_in(&pg_url(), Some(&store_schema))
        .expect("opens")
        .fenced(Fence {
            schema: schema.0.clone(),
            worker: "b".into(),
            lease: held_b[2],
        });
    store_b
        .commit(&Commit::default())
        .expect("b holds the lease");

    // Snapshots too: a's snapshot writer (a second connection under the same lease)
    // records nothing; b's does.
    let info = service::store::SnapshotInfo {
        id: 0,
        position: 0,
        after_seq: 0,
        version: 1,
        format: 1,
        release: "test".into(),
        checksum: 0,
        size: 3,
        created_ms: 1,
    };
    let mut writer_a = store_a.reopen().expect("a second connection");
    let err = writer_a
        .write_snapshot(&info, b"abc", 2)
        .expect_err("a no longer holds the lease");
    assert!(err.0.contains("partition 2"), "{}", err.0);
    assert!(store_b.snapshots().expect("lists").is_empty());
    let mut writer_b = store_b.reopen().expect("a second connection");
    writer_b
        .write_snapshot(&info, b"abc", 2)
        .expect("b holds the lease");
    assert_eq!(store_b.snapshots().expect("lists").len(), 1);

    // A clean release hands a partition over at once.
    b.release(held_b[0]).expect("releases");
    let again = a.claim(1).expect("claims");
    assert_eq!(partitions(&again), BTreeSet::from([0]));
}

#[test]
fn a_worker_configured_for_another_split_is_refused() {
    let schema = Schema::new("split");
    let _first = worker(&schema, "w1", 8, 1_000);
    let err = Leases::open(&pg_url(), &schema.0, "w2", 16, Duration::from_secs(1))
        .err()
        .expect("refused");
    assert!(err.0.contains("8 partitions"), "{}", err.0);
}

#[test]
fn concurrent_claims_never_give_a_partition_to_two_workers() {
    let schema = Schema::new("race");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let name = format!("w{i}");
            let schema = schema.0.clone();
            std::thread::spawn(move || {
                let mut w = Leases::open(&pg_url(), &schema, &name, 32, Duration::from_secs(30))
                    .expect("opens");
                let mut mine = Vec::new();
                for _ in 0..20 {
                    mine.extend(w.claim(3).expect("claims"));
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().expect("worker thread"));
    }
    let distinct: BTreeSet<u32> = all.iter().map(|l| l.partition).collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "a partition claimed twice: {all:?}"
    );
    assert_eq!(distinct.len(), 32, "every partition claimed once");
}

#[test]
fn a_partitions_inbox_rows_come_in_order_and_go_with_the_commit_that_consumes_them() {
    let schema = Schema::new("inbox");
    let mut a = worker(&schema, "a", 2, 10_000);
    let held = a.claim(2).expect("claims");
    let mut inbox = service::cluster::Inbox::open(&pg_url(), &schema.0).expect("inbox");
    let item = |lead: &str, k: u32| {
        format!(
            r#"[{{"lead":"{lead}","action":"event","body":{{"event":"ping","props":{{"k":{k}}}}}}}]"#
        )
    };
    inbox
        .queue(&[(1, item("x", 1)), (0, item("y", 1)), (1, item("x", 2))])
        .expect("queued");
    inbox.queue(&[(1, item("x", 3))]).expect("queued");
    assert_eq!(inbox.waiting().expect("counts"), 4);

    let store_schema = format!("{}_p1", schema.0);
    let _store_guard = Schema(store_schema.clone());
    let fence = Fence {
        schema: schema.0.clone(),
        worker: "a".into(),
        lease: held[1],
    };
    let mut store = PgStore::open_in(&pg_url(), Some(&store_schema))
        .expect("opens")
        .fenced(fence.clone());
    assert!(store.pulls_inbox());
    // Partition 1's rows only, oldest first; a limit takes a prefix.
    let rows = store.take_inbox(2).expect("rows");
    let ks: Vec<String> = rows
        .iter()
        .map(|r| r.items[0].body["props"]["k"].to_string())
        .collect();
    assert_eq!(ks, ["1", "2"]);
    assert!(rows[0].seq < rows[1].seq);
    // Until a commit consumes them, they are offered again.
    assert_eq!(store.take_inbox(10).expect("rows").len(), 3);
    store
        .commit(&Commit {
            inbox_done: rows.iter().map(|r| r.seq).collect(),
            refused: vec![service::store::Refused {
                seq: rows[1].seq,
                status: 404,
                index: Some(0),
                message: "unknown lead `x`".into(),
            }],
            ..Commit::default()
        })
        .expect("commits");
    let left = store.take_inbox(10).expect("rows");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].items[0].body["props"]["k"].to_string(), "3");
    assert_eq!(
        inbox.waiting().expect("counts"),
        2,
        "partition 0's row stays"
    );

    // A store whose lease is gone cannot consume rows: the commit fails, the row stays.
    let mut stale = PgStore::open_in(&pg_url(), Some(&store_schema))
        .expect("opens")
        .fenced(Fence {
            lease: Lease {
                partition: 1,
                epoch: held[1].epoch - 1,
            },
            ..fence
        });
    assert!(stale
        .commit(&Commit {
            inbox_done: vec![left[0].seq],
            ..Commit::default()
        })
        .is_err());
    assert_eq!(store.take_inbox(10).expect("rows").len(), 1);
    let refused: i64 = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .and_then(|mut c| {
            c.query_one(
                &format!(
                    "SELECT COUNT(*) FROM {}.refused WHERE status = 404",
                    schema.0
                ),
                &[],
            )
        })
        .map(|r| r.get(0))
        .expect("refused rows");
    assert_eq!(refused, 1);
}

/// The cluster of `prefix`: its schemas dropped when the guard goes.
struct Cluster(service::cluster::ClusterConfig);

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
            let mut drop = format!("DROP SCHEMA IF EXISTS {} CASCADE;", self.0.cluster_schema());
            for p in 0..self.0.partitions {
                drop.push_str(&format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE;",
                    self.0.partition_schema(p)
                ));
            }
            let _ = c.batch_execute(&drop);
        }
    }
}

/// A cluster of two partitions (schemas `tandem_{name}_PID_…`), both claimed by worker `a`.
fn two_partitions_held_by_a(name: &str, ttl_ms: u64) -> (Cluster, Vec<Lease>) {
    let cluster = Cluster(service::cluster::ClusterConfig {
        partitions: 2,
        lease_ttl_ms: ttl_ms,
        schema_prefix: format!("tandem_{name}_{}", std::process::id()),
        worker: None,
        advertise: None,
    });
    let mut a =
        service::cluster::prepare(&pg_url(), &cluster.0, "a").expect("PostgreSQL is reachable");
    let held = a.claim(2).expect("claims");
    assert_eq!(held.len(), 2);
    (cluster, held)
}

#[test]
fn a_worker_that_lost_a_partition_reads_nothing_to_deliver_from_it() {
    use service::cluster::{prepare, PartitionReader};
    use std::sync::{Arc, Mutex};
    let (cluster, held_a) = two_partitions_held_by_a("fence", 400);
    let config = &cluster.0;
    assert_eq!(held_a.len(), 2);
    // One email waits in partition 1's outbox, written under a's lease.
    let mut store = PgStore::open_in(&pg_url(), Some(&config.partition_schema(1)))
        .expect("opens")
        .fenced(Fence {
            schema: config.cluster_schema(),
            worker: "a".into(),
            lease: held_a[1],
        });
    store
        .commit(&Commit {
            mails: vec![service::store::OutboxMail {
                key: "k1".into(),
                lead: "an".into(),
                template: "hello".into(),
                from: "m@acme.vn".into(),
                to: "an@x.vn".into(),
                subject: "Xin chào".into(),
                html: "<p>hi</p>".into(),
                text: "hi".into(),
                unsubscribe: String::new(),
                at: 1,
            }],
            ..Commit::default()
        })
        .expect("a holds the lease");
    let a_view = Arc::new(Mutex::new(held_a.clone()));
    let mut reader_a =
        PartitionReader::open(&pg_url(), config.clone(), a_view, "a").expect("opens");
    assert_eq!(reader_a.due_mail(i64::MAX, 10).expect("reads").len(), 1);

    // a goes silent; b takes both partitions over at new epochs. a's own view still
    // names its old leases (it has not noticed yet): the fence, not the view, decides.
    std::thread::sleep(Duration::from_millis(600));
    let mut b = prepare(&pg_url(), config, "b").expect("opens");
    let held_b = b.claim(2).expect("claims");
    assert_eq!(held_b.len(), 2);
    assert!(
        reader_a.due_mail(i64::MAX, 10).expect("reads").is_empty(),
        "a worker that lost the lease must not send for the partition"
    );
    assert!(reader_a
        .due_webhooks("crm", i64::MAX, 10)
        .expect("reads")
        .is_empty());
    let mut reader_b =
        PartitionReader::open(&pg_url(), config.clone(), Arc::new(Mutex::new(held_b)), "b")
            .expect("opens");
    let due = reader_b.due_mail(i64::MAX, 10).expect("reads");
    assert_eq!(due.len(), 1, "the new holder delivers it");
    assert_eq!(due[0].mail.key, "k1");
}

#[test]
fn a_request_that_keeps_failing_is_set_aside_and_can_be_retried() {
    use service::cluster::PartitionReader;
    use std::sync::{Arc, Mutex};
    let (cluster, held) = two_partitions_held_by_a("quarantine", 10_000);
    let config = &cluster.0;
    let ping = |k: u32| {
        format!(
            r#"[{{"lead":"x","action":"event","body":{{"event":"ping","props":{{"k":{k}}}}}}}]"#
        )
    };
    let mut inbox =
        service::cluster::Inbox::open(&pg_url(), &config.cluster_schema()).expect("inbox");
    inbox.queue(&[(1, ping(1))]).expect("queued");
    let mut db = postgres::Client::connect(&pg_url(), postgres::NoTls).expect("connects");
    db.execute(
        &format!(
            "INSERT INTO {}.inbox (partition, items) VALUES (1, 'not json')",
            config.cluster_schema()
        ),
        &[],
    )
    .expect("a row that does not parse");
    inbox.queue(&[(1, ping(3))]).expect("queued");
    let mut store = PgStore::open_in(&pg_url(), Some(&config.partition_schema(1)))
        .expect("opens")
        .fenced(Fence {
            schema: config.cluster_schema(),
            worker: "a".into(),
            lease: held[1],
        });
    let k = |rows: &[service::store::InboxRow]| -> Vec<String> {
        rows.iter()
            .map(|r| r.items[0].body["props"]["k"].to_string())
            .collect()
    };
    // The row that does not parse is set aside on the way; the others come.
    let rows = store.take_inbox(10).expect("rows");
    assert_eq!(k(&rows), ["1", "3"]);
    let (first, third) = (rows[0].seq, rows[1].seq);
    // Both fail once: from then on each comes alone.
    store
        .inbox_failed(&[first, third], "value too long")
        .expect("counted");
    assert_eq!(k(&store.take_inbox(10).expect("rows")), ["1"]);
    store
        .inbox_failed(&[first], "value too long")
        .expect("counted");
    store
        .inbox_failed(&[first], "value too long")
        .expect("counted");
    // The third failure sets it aside: the partition moves on to the next.
    assert_eq!(k(&store.take_inbox(10).expect("rows")), ["3"]);

    let mut reader =
        PartitionReader::open(&pg_url(), config.clone(), Arc::new(Mutex::new(held)), "a")
            .expect("opens");
    let aside = reader.quarantine().expect("lists");
    assert_eq!(aside.len(), 2, "{aside:?}");
    // Oldest first: the ping queued first, then the row that does not parse.
    assert_eq!(aside[0]["seq"], first);
    assert_eq!(aside[0]["attempts"], 3);
    assert_eq!(aside[0]["error"], "value too long");
    assert!(
        aside[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not parse")),
        "{aside:?}"
    );
    assert_eq!(aside[1]["request"], "not json");
    // A retry puts it back in its old place, with no failed attempts.
    assert!(reader.retry_quarantined(first).expect("retries"));
    assert!(
        !reader.retry_quarantined(first).expect("answers"),
        "no longer set aside"
    );
    assert_eq!(k(&store.take_inbox(10).expect("rows")), ["1"]);
    assert_eq!(reader.quarantine().expect("lists").len(), 1);
}
