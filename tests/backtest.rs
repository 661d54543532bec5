//! `tandem backtest` end to end: a store written by `tandem run`, then the example program with a lower MQL threshold replayed over its history — the MQL count moves, the leads are named, and nothing is sent or written.

use std::path::Path;
use std::process::Command;

mod support;

use support::service::{file_outbox_config, post, stop_with_sigterm, temp_dir};
use support::{free_port, wait_for};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_lower_mql_threshold_shows_more_mqls_and_names_the_leads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = temp_dir("backtest");
    let port = free_port();
    let mut s = start_program_journeys(&dir, port, &root.join("journeys"));
    // Five leads in the ICP (fit 60), with little engagement: not MQL under `>= 30`.
    for i in 0..5 {
        let body = format!(
            r#"{{"id": "lead{i}", "fields": {{"name": "Khách {i}", "email": "k{i}@congty{i}.vn", "title": "Giám đốc vận hành", "company": "Công ty {i}", "company_size": 300, "industry": "logistics", "country": "VN"}}}}"#
        );
        let (status, text) = post(&s, "/api/leads", &body);
        assert_eq!(status, 200, "{text}");
        let (status, text) = post(
            &s,
            "/api/events",
            &format!(
                r#"{{"lead": "lead{i}", "event": "page_viewed", "props": {{"url": "/pricing"}}}}"#
            ),
        );
        assert_eq!(status, 200, "{text}");
    }
    // And one outside the ICP.
    let (status, text) = post(
        &s,
        "/api/leads",
        r#"{"id": "small", "fields": {"name": "Nhỏ", "email": "a@gmail.com", "company_size": 3}}"#,
    );
    assert_eq!(status, 200, "{text}");
    assert!(stop_with_sigterm(&mut s).success());
    let store = dir.join("tandem.db");
    let outbox = dir.join("outbox");
    wait_for("the store file", 5, || store.is_file());
    let (store_len, outbox_files) = (
        std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0),
        files_in(&outbox),
    );

    // The same program with the engagement bar at 0.
    let new = dir.join("new");
    copy_dir(&root.join("journeys"), &new);
    let rules = new.join("rules.journey");
    let text = std::fs::read_to_string(&rules).expect("rules");
    assert!(text.contains("score.engagement >= 30"));
    std::fs::write(
        &rules,
        text.replace("score.engagement >= 30", "score.engagement >= 0"),
    )
    .expect("write");

    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["backtest"])
        .arg(&new)
        .arg("--store")
        .arg(&store)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["history"]["leads"], 6, "{v}");
    let row = |what: &str| {
        v["report"]["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["what"] == what))
            .cloned()
            .unwrap_or_else(|| panic!("no row {what}: {v}"))
    };
    let mql = row("reached mql");
    assert_eq!(mql["recorded"], 0, "{v}");
    assert_eq!(mql["new"], 5, "{v}");
    assert_eq!(row("leads now in mql")["new"], 5);
    assert_eq!(v["report"]["leads_differing"], 5, "{v}");
    let named: Vec<&str> = v["report"]["leads"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["lead"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(named, ["lead0", "lead1", "lead2", "lead3", "lead4"]);
    assert_eq!(v["report"]["leads"][0]["stage_new"], "mql");

    // The human table says the same; nothing was written or sent.
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("backtest")
        .arg(&new)
        .arg("--store")
        .arg(&store)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("5 leads would have a different story"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("reached mql") && l.ends_with("+5")),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0),
        store_len
    );
    assert_eq!(files_in(&outbox), outbox_files);

    // A store that is not there is a clear error, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("backtest")
        .arg(&new)
        .args(["--store", "/nonexistent/tandem.db"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no store file at /nonexistent/tandem.db")
    );
}

fn start_program_journeys(dir: &Path, port: u16, program: &Path) -> support::service::Service {
    support::service::start_program(dir, &file_outbox_config(dir, port), port, program)
}
