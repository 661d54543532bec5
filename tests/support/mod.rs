//! Helpers shared by the end-to-end tests that run the `tandem` binary (`service.rs`, `cluster.rs`): free ports, the test program, waiting, and throw-away PostgreSQL databases.

#![allow(dead_code)]

pub mod cluster;
pub mod service;
pub mod throwaway_pg;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The program the service tests run (`tests/service_program`).
pub fn program_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/service_program")
}

/// Polls `ok` every 100 ms; fails the test after `secs` seconds.
pub fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A database of its own on the PostgreSQL server this machine runs
/// (`TANDEM_TEST_PG` overrides the admin URL), dropped with the guard.
pub struct FreshDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin: postgres::Client,
}

impl FreshDatabase {
    /// Creates `{prefix}_{pid}` (dropping a leftover of that name first).
    pub fn new(prefix: &str) -> FreshDatabase {
        let admin_url = std::env::var("TANDEM_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("{prefix}_{}", std::process::id());
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .expect("PostgreSQL on 127.0.0.1:5432 (database test) is reachable");
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        let url = admin_url
            .rsplit_once('/')
            .map(|(base, _)| format!("{base}/{name}"))
            .expect("a URL");
        FreshDatabase { url, name, admin }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}
