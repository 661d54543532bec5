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

    // The same as a page: charts and the named leads, no script.
    let backtest = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("backtest")
            .arg(&new)
            .arg("--store")
            .arg(&store)
            .args(extra)
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, page, err) = backtest(&["--format", "html"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(page.starts_with("<!doctype html>"), "{page}");
    assert!(page.contains("default-src 'none'") && !page.contains("<script"));
    assert!(
        page.contains("<h2>Stage changes (MQL, SQL, …)</h2>"),
        "{page}"
    );
    assert!(page.contains("<td>lead3</td>"), "{page}");
    assert!(
        page.contains("<h2>Leads whose story differs: 5</h2>"),
        "{page}"
    );

    // Compared with a baseline program instead of the versions that ran: the same
    // program gives the same answer.
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        let (code, out, err) = backtest(&args);
        assert_eq!(code, Some(0), "{err}");
        serde_json::from_str(&out).expect("JSON")
    };
    let journeys = root.join("journeys");
    let v = json(&["--baseline", journeys.to_str().expect("utf-8 path")]);
    assert_eq!(v["report"]["leads_differing"], 5, "{v}");
    assert_eq!(v["history"]["baseline"], journeys.display().to_string());
    // A counted period after all of it: the leads' state is built, nothing is counted.
    let v = json(&["--since", "2100-01-01"]);
    assert_eq!(v["report"]["leads_differing"], 0, "{v}");
    assert!(v["history"]["counted_from"]
        .as_str()
        .is_some_and(|t| t.starts_with("2099-12-31T17:00:00Z")));
    // History up to before it began: nothing replayed.
    let v = json(&["--until", "2001-01-01T00:00:00Z"]);
    assert_eq!(v["history"]["inputs"], 0, "{v}");
    // A whole sample is the whole history; a sample of nothing is refused.
    let v = json(&["--sample", "100"]);
    assert_eq!(v["report"]["leads_differing"], 5, "{v}");
    let (code, _, err) = backtest(&["--sample", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a percentage"), "{err}");

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

#[test]
fn history_exported_as_csv_is_replayed_under_a_baseline_and_the_new_program() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = temp_dir("backtest-csv");
    // A HubSpot-like export: five leads in the ICP with one pricing-page view each, and
    // one small company.
    let mut leads = String::from("Email,Name,Title,Company size,Industry,Create Date\n");
    let mut events = String::from("lead,event,at,url\n");
    for i in 0..5 {
        leads.push_str(&format!(
            "k{i}@congty{i}.vn,Khách {i},Giám đốc vận hành,300,logistics,2026-10-0{} 09:00\n",
            i + 1
        ));
        events.push_str(&format!(
            "k{i}@congty{i}.vn,page_viewed,2026-10-0{} 10:00,/pricing\n",
            i + 1
        ));
    }
    leads.push_str("a@gmail.com,Nhỏ,,3,,2026-10-02\n");
    std::fs::write(dir.join("leads.csv"), &leads).expect("write");
    std::fs::write(dir.join("events.csv"), &events).expect("write");
    let new = dir.join("new");
    copy_dir(&root.join("journeys"), &new);
    let rules = new.join("rules.journey");
    let text = std::fs::read_to_string(&rules).expect("rules");
    std::fs::write(
        &rules,
        text.replace("score.engagement >= 30", "score.engagement >= 0"),
    )
    .expect("write");
    let run = |events_file: &str| {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("backtest")
            .arg(&new)
            .arg("--leads-csv")
            .arg(dir.join("leads.csv"))
            .arg("--events-csv")
            .arg(dir.join(events_file))
            .arg("--baseline")
            .arg(root.join("journeys"))
            .args(["--format", "json"])
            .output()
            .expect("runs")
    };
    let out = run("events.csv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["history"]["source"], "csv", "{v}");
    assert_eq!(v["history"]["leads"], 6, "{v}");
    assert_eq!(v["history"]["inputs"], 11, "{v}");
    let mql = v["report"]["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["what"] == "reached mql"))
        .cloned()
        .unwrap_or_else(|| panic!("no MQL row: {v}"));
    assert_eq!(
        (mql["recorded"].as_u64(), mql["new"].as_u64()),
        (Some(0), Some(5)),
        "{v}"
    );
    assert_eq!(v["report"]["leads_differing"], 5, "{v}");

    // An event the programs do not know is refused, naming the file, line and column.
    std::fs::write(
        dir.join("bad.csv"),
        "lead,event,at\nk0@congty0.vn,page_view,2026-10-01 10:00\n",
    )
    .expect("write");
    let out = run("bad.csv");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv line 2") && err.contains("page_view"),
        "{err}"
    );

    // CSV history needs a baseline (there is no recorded timeline to compare with).
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("backtest")
        .arg(&new)
        .arg("--leads-csv")
        .arg(dir.join("leads.csv"))
        .arg("--events-csv")
        .arg(dir.join("events.csv"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--baseline"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
