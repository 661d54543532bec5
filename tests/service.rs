//! End-to-end tests of `tandem run`: the real binary, a real SMTP server (Python's aiosmtpd) on loopback, the HTTP API, real waits on a sped-up clock, and crash safety under SIGKILL.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod support;
use support::service::*;
use support::{free_port, program_dir, wait_for, FreshDatabase};

#[test]
fn a_lead_gets_its_emails_through_smtp_after_a_real_wait_and_sales_get_a_task() {
    let dir = temp_dir("e2e");
    let (http, smtp_port) = (free_port(), free_port());
    let smtp = smtp_server(&dir, smtp_port);
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\nclock_scale = 60\ntick_ms = 50\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n",
        dir.join("tandem.db").display()
    );
    let s = start(&dir, &config, http);

    // Auth: no token → 401, unknown token → 401.
    assert_eq!(post_as(&s, "/api/events", "{}", None).0, 401);
    assert_eq!(post_as(&s, "/api/events", "{}", Some("nope")).0, 401);

    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "an", "fields": {"name": "Nguyễn An", "email": "an@saoviet.vn", "n": 1}}"#,
    );
    assert_eq!((status, body.as_str()), (200, r#"{"applied":1}"#));

    // Bad input names the field and applies nothing of the batch.
    let (status, body) = post(
        &s,
        "/api/events",
        r#"[{"lead": "an", "event": "signup", "props": {"plan": "pro"}}, {"lead": "an", "event": "signup", "props": {"plan": 3}}]"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("`plan` must be a text") && body.contains("\"index\":1"),
        "{body}"
    );
    let (status, body) = post(&s, "/api/events", r#"{"lead": "ghost", "event": "signup"}"#);
    assert_eq!(status, 404, "{body}");
    // An address with a line break and a second header in it is not an address: refused,
    // nothing created (it would only bounce, and its text would go into the logs).
    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "mallory", "fields": {"email": "a@b.vn\r\nBcc: c@d.vn"}}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("`email`") && body.contains("is not an email address"),
        "{body}"
    );
    assert_eq!(get(&s, "/api/leads/mallory").0, 404);
    // A path that is not UTF-8: the extractor's refusal in the API's JSON error shape.
    let (status, body) = get(&s, "/api/leads/%FF");
    assert_eq!(status, 400, "{body}");
    assert!(body.starts_with(r#"{"error":{"message":"#), "{body}");

    let (status, body) = post(
        &s,
        "/api/events",
        r#"{"lead": "an", "event": "signup", "props": {"plan": "pro"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_for("the welcome email over SMTP", 30, || {
        subjects(&smtp.maildir)
            .iter()
            .any(|x| x == "Chào Nguyễn An")
    });
    let hello = received(&smtp.maildir)
        .into_iter()
        .find(|m| mail_subject(m) == "Chào Nguyễn An")
        .expect("the hello mail");
    assert!(hello.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(hello.contains("List-Id: <tandem.acme.vn>"));
    assert!(hello.contains("multipart/alternative"));
    assert!(hello.contains("Message-ID: <"));
    // The 1-minute wait passes (one second at 60×), then the follow-up goes out.
    wait_for("the follow-up after the wait", 30, || {
        subjects(&smtp.maildir)
            .iter()
            .any(|x| x == "Bạn cần giúp gì không, Nguyễn An?")
    });

    // The handoff: n reaches 10 → a task for the rep, and an email to the rep.
    let (status, _) = post(&s, "/api/leads", r#"{"id": "an", "fields": {"n": 10}}"#);
    assert_eq!(status, 200);
    let mut task_id = String::new();
    wait_for("the task", 10, || {
        let (_, body) = get(&s, "/api/tasks?team=crew&status=open");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        match v["tasks"].as_array().and_then(|t| t.first()) {
            Some(t) => {
                assert_eq!(t["lead"], "an");
                assert_eq!(t["assignee"], "rep@acme.vn");
                task_id = t["id"].as_str().unwrap_or("").to_owned();
                true
            }
            None => false,
        }
    });
    wait_for("the task email to the rep", 30, || {
        received(&smtp.maildir)
            .iter()
            .any(|m| m.contains("To: rep@acme.vn") && m.contains("/act?task="))
    });
    let (status, body) = post(&s, &format!("/api/tasks/{task_id}/accept"), "");
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&s, &format!("/api/tasks/{task_id}/accept"), "");
    assert_eq!(status, 409, "accepting twice is a conflict: {body}");
    let (_, body) = get(&s, "/api/leads/an");
    let lead: serde_json::Value = serde_json::from_str(&body).expect("lead JSON");
    assert_eq!(lead["fields"]["tags"], serde_json::json!(["accepted"]));
    assert!(lead["timeline"]
        .as_array()
        .is_some_and(|t| t.iter().any(|l| l["kind"] == "task_accepted")));
    let (status, metrics) = get(&s, "/api/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("tandem_leads 1"), "{metrics}");
}

#[test]
fn a_broken_program_is_refused_on_reload_and_the_old_one_keeps_running() {
    let dir = temp_dir("reload");
    let http = free_port();
    let config = file_outbox_config(&dir, http);
    let s = start(&dir, &config, http);
    let (status, body) = post(
        &s,
        "/api/program",
        r#"{"files": {"main.journey": "lead { name: txt }"}}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("main.journey:1"), "{body}");
    let (status, _) = post(
        &s,
        "/api/leads",
        r#"{"id": "b", "fields": {"name": "B", "email": "b@x.vn"}}"#,
    );
    assert_eq!(status, 200, "the old program still runs");

    // A good deploy answers with what it changes and who waits where: `b` signs up and
    // waits at `wait 1 minute`, which the new version makes two minutes.
    let (status, body) = post(
        &s,
        "/api/events",
        r#"{"lead": "b", "event": "signup", "props": {"plan": "pro"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let mut files = serde_json::Map::new();
    let source = std::fs::read_to_string(program_dir().join("program.journey")).expect("program");
    files.insert(
        "program.journey".into(),
        source.replace("wait 1 minute", "wait 2 minutes").into(),
    );
    for name in ["hello.md", "followup.md"] {
        let text =
            std::fs::read_to_string(program_dir().join("templates").join(name)).expect("template");
        files.insert(format!("templates/{name}"), text.into());
    }
    let (status, body) = post(
        &s,
        "/api/program",
        &serde_json::json!({ "files": files }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["changes"][0]["name"], "welcome", "{body}");
    assert_eq!(
        v["changes"][0]["steps"][0]["step"], "wait 1 minute",
        "{body}"
    );
    assert_eq!(v["changes"][0]["steps"][0]["change"], "changed", "{body}");
    assert_eq!(v["changes"][0]["steps"][0]["waiting"], 1, "{body}");
    assert_eq!(v["version"], 2, "{body}");

    // `b` keeps the version it entered with: it still waits one minute.
    let step_of_b = |s: &Service| {
        let (_, body) = get(s, "/api/leads/b");
        let lead: serde_json::Value = serde_json::from_str(&body).expect("lead JSON");
        lead["journeys"][0]["step"].clone()
    };
    assert_eq!(step_of_b(&s), "wait 1 minute");

    // A version that drops the `followup` email, which `b`'s version still sends, is
    // refused, naming the journey.
    let mut broken = files.clone();
    broken.remove("templates/followup.md");
    broken.insert(
        "program.journey".into(),
        source
            .replace("wait 1 minute\n  send followup\n", "")
            .into(),
    );
    let (status, body) = post(
        &s,
        "/api/program",
        &serde_json::json!({ "files": broken }).to_string(),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("journey `welcome`") && body.contains("followup"),
        "{body}"
    );

    // After a restart on the second version's folder, the log is replayed version by
    // version: `b` is still in the first version of `welcome`.
    drop(s);
    let v2_dir = dir.join("program_v2");
    for (path, text) in &files {
        let p = v2_dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dir");
        std::fs::write(p, text.as_str().unwrap_or_default()).expect("write");
    }
    let s = start_program(&dir, &config, http, &v2_dir);
    assert_eq!(step_of_b(&s), "wait 1 minute");
    let (_, metrics) = get(&s, "/api/metrics");
    assert!(metrics.contains("tandem_program_version 2\n"), "{metrics}");
}

#[test]
fn the_dashboard_serves_its_page_numbers_diagrams_live_updates_and_the_report_email() {
    let dir = temp_dir("dashboard");
    // The test program plus a report every minute (one second on the 60× clock).
    let program = dir.join("program");
    std::fs::create_dir_all(program.join("templates")).expect("program dir");
    for entry in std::fs::read_dir(program_dir().join("templates")).expect("templates") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        std::fs::copy(&path, program.join("templates").join(name)).expect("copy");
    }
    let source = std::fs::read_to_string(program_dir().join("program.journey")).expect("program");
    std::fs::write(
        program.join("program.journey"),
        format!(
            "{source}\nschedule weekly every \"* * * * *\" {{\n  report to \"boss@acme.vn\"\n}}\n"
        ),
    )
    .expect("write");
    let http = free_port();
    let config = format!(
        "{}clock_scale = 60\ntick_ms = 50\n",
        file_outbox_config(&dir, http)
    );
    let s = start_program(&dir, &config, http, &program);

    let (status, page) = get(&s, "/");
    assert_eq!(status, 200);
    assert!(page.contains("app.js"), "{page}");
    assert_eq!(get(&s, "/app.js").0, 200);

    // A token in the stream's URL is refused (URLs end up in logs).
    let refused = agent()
        .get(&format!("{}/api/stream?token={}", s.base, s.token))
        .call()
        .expect("answered");
    assert_eq!(refused.status().as_u16(), 400);
    // The live stream answers with the current version at once, then with each change.
    let mut stream = agent()
        .get(&format!("{}/api/stream", s.base))
        .header("Authorization", &format!("Bearer {}", s.token))
        .call()
        .expect("the stream opens");
    assert_eq!(stream.status().as_u16(), 200);
    let mut reader = std::io::BufReader::new(stream.body_mut().as_reader());
    let mut next_event = || -> serde_json::Value {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                std::io::BufRead::read_line(&mut reader, &mut line).expect("read") > 0,
                "the stream ended"
            );
            if let Some(data) = line.strip_prefix("data: ") {
                return serde_json::from_str(data.trim()).expect("json");
            }
        }
    };
    // The first event names every section with its version; later ones only those that
    // changed.
    let first = next_event();
    let names: Vec<&str> = first["sections"]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for name in [
        "funnel", "journeys", "email", "handoff", "recent", "trend", "steps",
    ] {
        assert!(names.contains(&name), "{name} missing: {first}");
    }

    sign_up_an(&s);
    let next = next_event();
    assert!(
        next["version"].as_u64() > first["version"].as_u64(),
        "a change is announced on the stream: {next}"
    );
    let changed = next["sections"].as_object().expect("sections");
    assert!(
        changed.contains_key("funnel") && changed.contains_key("recent"),
        "a new lead changes the funnel and the feed: {next}"
    );
    assert!(!changed.contains_key("handoff"), "{next}");

    // A page asks for what changed only: one section, and recent lines newer than it has.
    let (_, body) = get(&s, "/api/dashboard/summary?sections=recent");
    let cut: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        cut.get("funnel").is_none() && cut.get("trend").is_none(),
        "{body}"
    );
    let recent = cut["recent"].as_array().expect("recent");
    assert!(recent.len() >= 2, "{body}");
    let second = recent[1]["seq"].as_u64().expect("seq");
    let (_, body) = get(
        &s,
        &format!("/api/dashboard/summary?sections=recent&recent_after={second}"),
    );
    let newer: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(newer["recent"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(newer["recent"][0], recent[0], "{body}");
    for bad in ["sections=nope", "recent_after=x", "section=funnel"] {
        let (status, body) = get(&s, &format!("/api/dashboard/summary?{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let (status, body) = get(&s, "/api/dashboard/summary");
    assert_eq!(status, 200, "{body}");
    let summary: serde_json::Value = serde_json::from_str(&body).expect("json");
    // The funnel counts the lead in the stage its page shows (the engine's: a new lead
    // starts in the second funnel stage), not in the first.
    let (_, page) = get(&s, "/api/leads/an");
    let lead: serde_json::Value = serde_json::from_str(&page).expect("json");
    let stage = lead["stage"].as_str().expect("a stage").to_owned();
    assert_eq!(summary["funnel"]["stages"][1], stage.as_str(), "{page}");
    assert_eq!(summary["funnel"]["current"][&stage], 1, "{body}");
    assert_eq!(summary["funnel"]["reached"][&stage], 1, "{body}");
    let first_stage = summary["funnel"]["stages"][0].as_str().expect("a stage");
    assert_eq!(summary["funnel"]["current"][first_stage], 0, "{body}");
    // The trend has every day of the period, today's with the new lead.
    let days = summary["trend"]["days"].as_array().expect("trend days");
    assert_eq!(days.len(), 30, "{body}");
    assert_eq!(days[29]["day"], summary["period"]["to"], "{body}");
    assert_eq!(days[29]["reached"][&stage], 1, "{body}");
    assert_eq!(summary["trend"]["total"]["reached"][&stage], 1, "{body}");
    assert_eq!(summary["trend"]["previous"]["reached"][&stage], 0, "{body}");
    let welcome = summary["journeys"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["name"] == "welcome"))
        .cloned();
    assert_eq!(
        welcome.map(|w| w["entered"].clone()),
        Some(serde_json::json!(1)),
        "{body}"
    );
    let hello = summary["email"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["template"] == "hello"))
        .cloned();
    assert_eq!(
        hello.map(|h| h["sent"].clone()),
        Some(serde_json::json!(1)),
        "{body}"
    );
    let recent = summary["recent"].as_array().cloned().unwrap_or_default();
    assert!(
        recent
            .iter()
            .any(|r| r["lead"] == "an" && r["kind"] == "email_sent"),
        "{body}"
    );
    assert_eq!(get(&s, "/api/dashboard/summary?from=2026-02-30").0, 400);

    let (status, svg) = get(&s, "/api/dashboard/journeys/welcome.svg");
    assert_eq!(status, 200);
    assert!(svg.contains("<svg") && svg.contains("1 waiting"), "{svg}");
    let (_, svg) = get(&s, "/api/dashboard/journeys/welcome.svg?lang=vi");
    assert!(svg.contains("1 đang chờ"), "{svg}");
    assert_eq!(get(&s, "/api/dashboard/journeys/nope.svg").0, 404);

    // A rejection is shown with the label the program gives its reason; the feed names
    // the lead.
    let (status, body) = post(&s, "/api/leads", r#"{"id": "an", "fields": {"n": 10}}"#);
    assert_eq!(status, 200, "{body}");
    let mut task_id = String::new();
    wait_for("An's task", 10, || {
        let (_, body) = get(&s, "/api/tasks?status=open");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        task_id = v["tasks"][0]["id"].as_str().unwrap_or("").to_owned();
        !task_id.is_empty()
    });
    let (status, body) = post(
        &s,
        &format!("/api/tasks/{task_id}/reject"),
        r#"{"reason": "not_icp"}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_for("the rejection on the dashboard", 10, || {
        let (_, body) = get(&s, "/api/dashboard/summary");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["handoff"]["reasons"][0]["label"] == "Không đúng ICP"
            && v["recent"]
                .as_array()
                .is_some_and(|r| r.iter().any(|i| i["lead"] == "an" && i["name"] == "An"))
    });

    // The schedule's report reaches the outbox as an HTML summary (a later one counts
    // the email sent above).
    let outbox = dir.join("outbox");
    let html_of = |raw: &str| -> String {
        mailparse::parse_mail(raw.as_bytes())
            .ok()
            .and_then(|m| {
                m.subparts
                    .iter()
                    .find(|p| p.ctype.mimetype == "text/html")
                    .and_then(|p| p.get_body().ok())
            })
            .unwrap_or_default()
    };
    wait_for("a report counting the email", 30, || {
        std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
                let html = html_of(&raw);
                raw.contains("boss@acme.vn") && html.contains("Funnel") && html.contains(">hello<")
            })
    });
}

#[test]
fn the_service_runs_on_postgresql_and_rebuilds_from_it_after_a_restart() {
    let db = FreshDatabase::new("tandem_e2e");
    let url = db.url.clone();
    let dir = temp_dir("postgres");
    let http = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{url}\"\noutbox = \"{}\"\n",
        dir.join("outbox").display()
    );
    {
        let s = start(&dir, &config, http);
        sign_up_an(&s);
        wait_for("the welcome email in the outbox folder", 20, || {
            std::fs::read_dir(dir.join("outbox"))
                .map(|d| d.count() > 0)
                .unwrap_or(false)
        });
    }
    // A new process finds the lead again: the engine is rebuilt from PostgreSQL's log.
    let s = start(&dir, &config, http);
    let (status, body) = get(&s, "/api/leads/an");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"n\":3.0") || body.contains("\"n\":3"),
        "{body}"
    );
    let (_, metrics) = get(&s, "/api/metrics");
    assert!(
        metrics.contains("tandem_store_rows{kind=\"inputs\"} 2"),
        "{metrics}"
    );
    let tables: i64 = postgres::Client::connect(&url, postgres::NoTls)
        .and_then(|mut c| c.query_one("SELECT COUNT(*) FROM timeline WHERE lead = 'an'", &[]))
        .map(|r| r.get(0))
        .expect("the timeline is in PostgreSQL");
    assert!(tables >= 3, "{tables}");
    drop(s);
    drop(db);
}

#[test]
fn tandem_import_upserts_good_rows_and_reports_each_bad_one() {
    let dir = temp_dir("import");
    let http = free_port();
    let config = file_outbox_config(&dir, http);
    let s = start(&dir, &config, http);
    // `;`-separated with a BOM, as Excel writes it; headers in another case; a bad number
    // (refused before sending), an unknown stage (refused by the service), a short row.
    let csv = "\u{feff}ID;Name;N;Email;Stage;Tags\n\
               an;Nguyễn An;350;an@saoviet.vn;;vip, hà nội\n\
               binh;Trần Bình;nhiều;binh@x.vn;;\n\
               chi;Lê Chi;7;chi@x.vn;khách_vip;\n\
               dung;Phạm Dũng\n\
               \n\
               em;Võ Em;12;em@x.vn;;\n";
    std::fs::write(dir.join("leads.csv"), csv).expect("csv");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("import")
        .arg(dir.join("leads.csv"))
        .args([
            "--url", &s.base, "--token", &s.token, "--batch", "2", "--errors",
        ])
        .arg(dir.join("errors.csv"))
        .output()
        .expect("tandem import runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("5 rows, 2 imported, 3 rejected"),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("line 3 (lead `binh`) `n`: `nhiều` is not a number"),
        "{stderr}"
    );
    let errors = std::fs::read_to_string(dir.join("errors.csv")).expect("errors.csv");
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 4, "{errors}");
    assert!(
        lines[2].starts_with("4,chi,stage,")
            && lines[2].contains("khách_vip")
            && !lines[2].contains("`stage`: "),
        "{errors}"
    );
    assert!(
        lines[3].starts_with("5,dung,,\"the row has 2 cells"),
        "{errors}"
    );
    let (status, body) = get(&s, "/api/leads/an");
    assert_eq!(status, 200, "{body}");
    let lead: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(lead["fields"]["n"], 350.0, "{body}");
    assert_eq!(
        lead["fields"]["n"].to_string(),
        "350",
        "whole numbers without decimals"
    );
    assert_eq!(lead["fields"]["name"], "Nguyễn An", "{body}");
    assert_eq!(
        lead["fields"]["tags"],
        serde_json::json!(["hà nội", "vip"]),
        "{body}"
    );
    assert!(lead["fields"]["created_at"].is_string(), "{body}");
    assert_eq!(
        lead["fields"]["signed_at"],
        serde_json::Value::Null,
        "a time never set is null: {body}"
    );
    assert_eq!(get(&s, "/api/leads/em").0, 200);
    assert_eq!(
        get(&s, "/api/leads/chi").0,
        404,
        "a refused row is not applied"
    );
    // The same file with CRLF line endings (as Excel and CRMs export it): the same lines.
    std::fs::write(dir.join("crlf.csv"), csv.replace('\n', "\r\n")).expect("csv");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("import")
        .arg(dir.join("crlf.csv"))
        .args(["--url", &s.base, "--token", &s.token, "--errors"])
        .arg(dir.join("crlf-errors.csv"))
        .output()
        .expect("tandem import runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(dir.join("crlf-errors.csv")).expect("crlf-errors.csv"),
        errors,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Importing again updates the same leads; an unknown column is named, nothing sent.
    std::fs::write(dir.join("more.csv"), "id,name,zalo\nan,An,0909\n").expect("csv");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("import")
        .arg(dir.join("more.csv"))
        .args(["--url", &s.base, "--token", &s.token])
        .output()
        .expect("tandem import runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`zalo`"), "{stderr}");
}

#[test]
fn tandem_import_maps_a_hubspot_export_and_writes_no_negative_zero() {
    let dir = temp_dir("import-hubspot");
    let program = dir.join("program");
    std::fs::create_dir_all(&program).expect("program dir");
    std::fs::write(
        program.join("main.journey"),
        "timezone \"Asia/Ho_Chi_Minh\"\n\nlead {\n  name: text\n  phone: text\n  company: text\n  title: text\n  city: text\n  company_size: number\n  crm_created_at: time\n}\n",
    )
    .expect("program");
    let http = free_port();
    let s = start_program(&dir, &file_outbox_config(&dir, http), http, &program);
    // HubSpot's contacts export, headers as HubSpot writes them.
    let csv = "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Job Title,City,Create Date,Lifecycle Stage,Industry,Number of Employees\n\
               101,An,Nguyễn,an@saoviet.vn,0909 123 456,Sao Việt,Giám đốc,Hà Nội,2026-01-05 9:30,lead,saas,-0.0\n\
               102,,Trần,binh@x.vn,,,,,2026-01-06,subscriber,,120\n";
    std::fs::write(dir.join("hubspot.csv"), csv).expect("csv");
    let import = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("import")
            .arg(dir.join("hubspot.csv"))
            .args(["--url", &s.base, "--token", &s.token])
            .args(args)
            .output()
            .expect("tandem import runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // Without a mapping, HubSpot's headers are not fields: refused, nothing sent.
    let (code, _, stderr) = import(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`First Name`"), "{stderr}");

    let (code, stdout, stderr) = import(&["--preset", "hubspot", "--ignore-unknown-columns"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("2 rows, 2 imported, 0 rejected"),
        "{stdout}"
    );
    assert!(
        stderr.contains("`First Name+Last Name` → name")
            && stderr.contains("`Number of Employees` → company_size"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "skipped columns that are not lead fields: Record ID, Lifecycle Stage, Industry"
        ),
        "{stderr}"
    );
    let (status, body) = get(&s, "/api/leads/an@saoviet.vn");
    assert_eq!(status, 200, "{body}");
    let lead: serde_json::Value = serde_json::from_str(&body).expect("json");
    let f = &lead["fields"];
    assert_eq!(f["name"], "An Nguyễn", "{body}");
    assert_eq!(f["phone"], "0909 123 456", "{body}");
    assert_eq!(f["company"], "Sao Việt", "{body}");
    assert_eq!(f["title"], "Giám đốc", "{body}");
    assert_eq!(f["city"], "Hà Nội", "{body}");
    assert_eq!(f["email"], "an@saoviet.vn", "{body}");
    // HubSpot's `Create Date` (a one-digit hour, in the program's zone) → `crm_created_at`.
    assert_eq!(f["crm_created_at"], "2026-01-05T02:30:00Z", "{body}");
    // `-0.0` is stored and shown as 0, never as a negative zero.
    assert_eq!(f["company_size"].to_string(), "0", "{body}");
    let stored: Vec<String> = rusqlite::Connection::open_with_flags(
        dir.join("tandem.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .and_then(|c| {
        let mut q = c.prepare("SELECT input FROM inputs WHERE lead = 'an@saoviet.vn'")?;
        let rows = q.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    })
    .expect("the store's inputs");
    assert!(
        !stored.is_empty() && stored.iter().all(|i| !i.contains("-0")),
        "{stored:?}"
    );
    let (_, body) = get(&s, "/api/leads/binh@x.vn");
    let lead: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        lead["fields"]["name"], "Trần",
        "an empty part is left out: {body}"
    );

    // A mapping file: HubSpot's Record ID as the lead id, over the preset.
    std::fs::write(
        dir.join("mapping.txt"),
        "# HubSpot → Tandem\nRecord ID=id\nCreate Date+Lifecycle Stage=title\n",
    )
    .expect("mapping");
    let file = dir.join("mapping.txt").display().to_string();
    let (code, stdout, stderr) = import(&[
        "--preset",
        "hubspot",
        "--map-file",
        &file,
        "--ignore-unknown-columns",
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (status, body) = get(&s, "/api/leads/101");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"title\":\"2026-01-05 9:30 lead\""),
        "{body}"
    );

    // Mistakes are named before anything is sent.
    for (args, wants) in [
        (
            vec!["--map", "First Name=nickname"],
            vec!["`First Name=nickname`", "no field `nickname`"],
        ),
        (
            vec!["--map", "Họ tên=name"],
            vec!["`Họ tên=name`", "no column `Họ tên`"],
        ),
        (vec!["--map", "First Name"], vec!["write HEADER=FIELD"]),
        (vec!["--preset", "zoho"], vec!["zoho"]),
    ] {
        let (code, _, stderr) = import(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        for want in wants {
            assert!(stderr.contains(want), "{args:?}: {stderr}");
        }
    }
}

#[cfg(unix)]
#[test]
fn after_sigkill_every_acknowledged_event_is_applied_once() {
    let dir = temp_dir("crash");
    let http = free_port();
    let config = file_outbox_config(&dir, http);
    let mut s = start(&dir, &config, http);
    let (status, _) = post(
        &s,
        "/api/leads",
        r#"{"id": "c", "fields": {"name": "C", "email": "c@x.vn"}}"#,
    );
    assert_eq!(status, 200);
    // Post batches of signups with unique plans from another thread; kill mid-stream.
    let base = s.base.clone();
    let token = s.token.clone();
    let poster = std::thread::spawn(move || {
        let mut acked: Vec<usize> = Vec::new();
        for batch in 0..200 {
            let items: Vec<String> = (0..50)
                .map(|k| {
                    format!(
                        r#"{{"lead": "c", "event": "signup", "props": {{"plan": "p{}"}}}}"#,
                        batch * 50 + k
                    )
                })
                .collect();
            let r = agent()
                .post(&format!("{base}/api/events"))
                .header("Authorization", &format!("Bearer {token}"))
                .send(format!("[{}]", items.join(",")));
            match r {
                Ok(resp) if resp.status().as_u16() == 200 => {
                    acked.extend(batch * 50..batch * 50 + 50)
                }
                _ => break,
            }
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(700));
    let _ = s.child.kill(); // SIGKILL
    let _ = s.child.wait();
    let acked = poster.join().expect("poster");
    assert!(
        !acked.is_empty(),
        "some batches were acknowledged before the kill"
    );
    eprintln!("{} events acknowledged before SIGKILL", acked.len());
    // Restart on the same store: it replays the log and serves again.
    drop(s);
    let s = start(&dir, &config, http);
    let conn = rusqlite::Connection::open(dir.join("tandem.db")).expect("store");
    let mut stmt = conn
        .prepare("SELECT input FROM inputs WHERE input LIKE '%signup%'")
        .expect("query");
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for row in stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .flatten()
    {
        let plan = row
            .split("{\"Text\":\"p")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_owned();
        *seen.entry(plan).or_default() += 1;
    }
    for i in &acked {
        assert_eq!(
            seen.get(&i.to_string()),
            Some(&1),
            "event p{i} applied once"
        );
    }
    // The outbox holds each email once (keys are unique), and the lead view still works.
    let dupes: i64 = conn
        .query_row(
            "SELECT COUNT(*) - COUNT(DISTINCT key) FROM outbox",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(dupes, 0);
    let (status, _) = get(&s, "/api/leads/c");
    assert_eq!(status, 200);
}

#[test]
fn the_embedded_default_program_is_the_journeys_folder() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys");
    let source = tandem::load::load_program(&dir).expect("journeys/ loads");
    assert_eq!(
        tandem::embedded::files(),
        source.files(),
        "regenerate src/embedded.rs from journeys/"
    );
}

#[test]
fn a_second_service_on_the_same_store_is_refused_and_changes_nothing() {
    let dir = temp_dir("one-writer");
    let http = free_port();
    let s = start(&dir, &file_outbox_config(&dir, http), http);
    sign_up_an(&s);
    let inputs = |s: &Service| {
        let (_, m) = get(s, "/api/metrics");
        m.lines()
            .find(|l| l.starts_with("tandem_store_rows{kind=\"inputs\"}"))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let before = inputs(&s);
    assert!(!before.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["tandem.db", "tandem.token", "tandem.secret"] {
            let mode = std::fs::metadata(dir.join(f))
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f} is private");
        }
        // Once the mailer has recorded it sent, the `.eml` is written and tightened.
        wait_for("the welcome .eml", 20, || {
            get(&s, "/api/metrics").1.contains("outbox_sent")
        });
        for e in std::fs::read_dir(dir.join("outbox"))
            .expect("outbox")
            .flatten()
        {
            let mode = e.metadata().expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{} is private", e.path().display());
        }
    }
    // The second one, on another port, same store.
    let other = free_port();
    std::fs::write(dir.join("second.toml"), file_outbox_config(&dir, other)).expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .arg(program_dir())
        .arg("--config")
        .arg(dir.join("second.toml"))
        .current_dir(&dir)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "refused with the usage/start error code"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tandem.db") && stderr.contains("in use by another `tandem run`"),
        "names the store and the holder: {stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", s.child.id())),
        "names the holder's pid: {stderr}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", other)).is_err(),
        "the second never listened"
    );
    assert_eq!(inputs(&s), before, "the store's log is untouched");
    // Read-only tools keep working beside the running service.
    let diff = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("diff")
        .arg(program_dir())
        .arg(program_dir())
        .arg("--store")
        .arg(dir.join("tandem.db"))
        .output()
        .expect("runs");
    assert_eq!(
        diff.status.code(),
        Some(0),
        "tandem diff --store reads the store while it is locked: {}",
        String::from_utf8_lossy(&diff.stderr)
    );
    // The first goes on serving.
    let (status, _) = get(&s, "/api/leads/an");
    assert_eq!(status, 200);
}

/// A store that cannot answer is a 503 with `Retry-After`, never "no such lead" and never
/// a lead view with its timeline silently missing: the timeline table is taken away
/// under the running service (renamed by another connection), then given back.
#[test]
fn a_lead_view_the_store_cannot_read_is_a_503_not_a_404() {
    let dir = temp_dir("lead-503");
    let http = free_port();
    let config = file_outbox_config(&dir, http);
    let s = start(&dir, &config, http);
    sign_up_an(&s);
    assert_eq!(get(&s, "/api/leads/an").0, 200);
    let db = rusqlite::Connection::open(dir.join("tandem.db")).expect("store");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("timeout");
    db.execute_batch("ALTER TABLE timeline RENAME TO timeline_away")
        .expect("rename");
    let mut resp = agent()
        .get(&format!("{}/api/leads/an", s.base))
        .header("Authorization", &format!("Bearer {}", s.token))
        .call()
        .expect("answered");
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").is_some();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 503, "{body}");
    assert!(retry, "a 503 says when to try again");
    assert!(body.contains("\"error\""), "{body}");
    // A lead that does not exist is still a 404 (the engine knows without the store).
    assert_eq!(get(&s, "/api/leads/nobody").0, 404);
    db.execute_batch("ALTER TABLE timeline_away RENAME TO timeline")
        .expect("rename back");
    let (status, body) = get(&s, "/api/leads/an");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("journey_entered"), "{body}");
}

#[test]
fn unknown_routes_and_methods_answer_json_errors() {
    let dir = temp_dir("routes");
    let http = free_port();
    let s = start(&dir, &file_outbox_config(&dir, http), http);
    let (status, body) = get(&s, "/api/lead/an");
    assert_eq!(status, 404);
    let v: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
    let message = v["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("GET /api/lead/an"), "{body}");
    let (status, body) = get(&s, "/api/lead");
    assert_eq!(status, 404);
    assert!(body.contains("did you mean `/api/leads`"), "{body}");
    let (status, body) = get(&s, "/api/events");
    assert_eq!(status, 405);
    let v: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
    assert!(
        v["error"]["message"].as_str().unwrap_or("").contains("GET"),
        "{body}"
    );
    // Misspelt fields and events get the closest name.
    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "an", "fields": {"nmae": "An"}}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains("did you mean `name`"), "{body}");
    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "an", "fields": {"name": "An"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&s, "/api/events", r#"{"lead": "an", "event": "signpu"}"#);
    assert_eq!(status, 400);
    assert!(body.contains("did you mean `signup`"), "{body}");
}

#[test]
fn a_bad_dkim_key_stops_the_start_with_a_message_naming_the_key() {
    let dir = temp_dir("dkim-bad");
    let http = free_port();
    let key = dir.join("dkim.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n",
    )
    .expect("key file");
    let config = format!(
        "{}\n[dkim]\nselector = \"s1\"\ndomain = \"acme.vn\"\nprivate_key_file = \"{}\"\n",
        file_outbox_config(&dir, http),
        key.display()
    );
    std::fs::write(dir.join("service.toml"), config).expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .arg(program_dir())
        .arg("--config")
        .arg(dir.join("service.toml"))
        .current_dir(&dir)
        .env("TANDEM_LOG", "warn")
        .output()
        .expect("tandem run runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("dkim.private_key_file {}", key.display())),
        "{stderr}"
    );
    // Nothing was started: no store was made.
    assert!(!dir.join("tandem.db").exists());
}

#[test]
fn on_sigterm_the_outcomes_of_sent_mail_are_stored_before_the_exit() {
    let dir = temp_dir("mail-term");
    let (http, smtp_port) = (free_port(), free_port());
    let smtp = smtp_server(&dir, smtp_port);
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nconnections = 4\n",
        dir.join("tandem.db").display()
    );
    let mut s = start(&dir, &config, http);
    let n = 2000;
    let leads: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"id": "l{i}", "fields": {{"name": "L{i}", "email": "l{i}@x.vn"}}}}"#))
        .collect();
    let (status, body) = post(&s, "/api/leads", &format!("[{}]", leads.join(",")));
    assert_eq!(status, 200, "{body}");
    let events: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"lead": "l{i}", "event": "signup", "props": {{"plan": "p"}}}}"#))
        .collect();
    let (status, body) = post(&s, "/api/events", &format!("[{}]", events.join(",")));
    assert_eq!(status, 200, "{body}");
    // Stop it while it sends.
    wait_for("the first emails", 30, || {
        received(&smtp.maildir).len() >= 50
    });
    let pid = s.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(term.is_ok_and(|t| t.success()));
    let exited = s.child.wait().expect("tandem run exits");
    assert!(exited.success(), "{exited:?}");
    let got = received(&smtp.maildir).len();
    let conn = rusqlite::Connection::open(dir.join("tandem.db")).expect("store");
    let sent: usize = conn
        .query_row(
            "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count") as usize;
    drop(conn);
    // Every message the relay took is stored as sent, but for those still on the wire
    // at the stop (at most one per connection).
    assert!(
        sent <= got && got - sent <= 4,
        "relay got {got}, store says {sent} sent"
    );
    assert!(
        sent < n,
        "the stop came before the end ({sent} of {n} sent)"
    );
    // After a restart the rest goes out, and no stored email goes twice.
    drop(s);
    let _s = start(&dir, &config, http);
    // (Only the welcome emails: the follow-up a minute later is not part of this.)
    let hellos = || {
        received(&smtp.maildir)
            .into_iter()
            .filter(|m| mail_subject(m).starts_with("Chào"))
            .collect::<Vec<_>>()
    };
    wait_for("every email", 60, || hellos().len() >= n);
    std::thread::sleep(Duration::from_millis(500));
    let all = hellos();
    let ids: std::collections::HashSet<String> = all
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(ids.len(), n, "one Message-ID per lead");
    assert!(all.len() - n <= 4, "{} copies sent twice", all.len() - n);
}

#[test]
fn a_folder_refused_at_start_stops_the_start_unless_the_running_version_is_kept() {
    let dir = temp_dir("refused-folder");
    let http = free_port();
    let config = file_outbox_config(&dir, http);
    {
        let s = start(&dir, &config, http);
        let (status, body) = post(
            &s,
            "/api/leads",
            r#"{"id": "an", "fields": {"name": "An", "email": "an@saoviet.vn", "n": 10}}"#,
        );
        assert_eq!(status, 200, "{body}");
        wait_for("the open task", 20, || {
            get(&s, "/api/tasks").1.contains("an:review:1")
        });
    }
    // The same program without the handoff that has an open task: it cannot be installed.
    let folder = dir.join("without-review");
    std::fs::create_dir_all(folder.join("templates")).expect("folder");
    let text = std::fs::read_to_string(program_dir().join("program.journey")).expect("program");
    let cut = text.find("handoff review").expect("the handoff");
    std::fs::write(folder.join("program.journey"), &text[..cut]).expect("write");
    for t in ["hello.md", "followup.md"] {
        std::fs::copy(
            program_dir().join("templates").join(t),
            folder.join("templates").join(t),
        )
        .expect("copy");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .arg(&folder)
        .arg("--config")
        .arg(dir.join("service.toml"))
        .current_dir(&dir)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "refused: {stderr}");
    assert!(
        stderr.contains("review") && stderr.contains("--keep-running-version"),
        "{stderr}"
    );
    // With the flag the stored version keeps running, and the dashboard says why.
    let s = start_with(&dir, &config, http, &folder, &["--keep-running-version"]);
    let (_, body) = get(&s, "/api/dashboard/summary");
    let v: serde_json::Value = serde_json::from_str(&body).expect("summary");
    assert_eq!(v["program_refused"]["running_version"], 1, "{body}");
    assert!(
        v["program_refused"]["errors"]
            .to_string()
            .contains("review"),
        "{body}"
    );
}

#[test]
fn mail_waits_while_the_smtp_relay_is_down_and_arrives_once_when_it_is_back() {
    let dir = temp_dir("smtp-down");
    let (http, smtp_port) = (free_port(), free_port());
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\nclock_scale = 60\ntick_ms = 50\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n",
        dir.join("tandem.db").display()
    );
    let s = start(&dir, &config, http);
    let leads: Vec<serde_json::Value> = (0..10)
        .map(|i| serde_json::json!({"id": format!("d{i}"), "fields": {"name": format!("D{i}"), "email": format!("d{i}@saoviet.vn"), "n": 1}}))
        .collect();
    let (status, body) = post(
        &s,
        "/api/leads",
        &serde_json::Value::Array(leads).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let events: Vec<serde_json::Value> = (0..10)
        .map(|i| serde_json::json!({"lead": format!("d{i}"), "event": "signup", "props": {"plan": "pro"}}))
        .collect();
    let (status, body) = post(
        &s,
        "/api/events",
        &serde_json::Value::Array(events).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    // Nothing listens: every attempt fails and is put off; none is given up yet.
    std::thread::sleep(Duration::from_secs(2));
    let (_, metrics) = get(&s, "/api/metrics");
    assert!(
        metrics.contains("tandem_store_rows{kind=\"outbox_pending\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("outbox_failed"), "{metrics}");
    // The relay comes up: each welcome email (and the follow-up) arrives, once.
    let smtp = smtp_server(&dir, smtp_port);
    wait_for("the emails after the outage", 60, || {
        subjects(&smtp.maildir)
            .iter()
            .filter(|s| s.starts_with("Chào"))
            .count()
            >= 10
    });
    std::thread::sleep(Duration::from_secs(2));
    let mut ids: Vec<String> = received(&smtp.maildir)
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .map(str::to_owned)
        })
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no email twice");
    assert_eq!(
        subjects(&smtp.maildir)
            .iter()
            .filter(|s| s.starts_with("Chào"))
            .count(),
        10
    );
}

#[test]
fn the_demo_opens_and_clicks_only_emails_it_sent() {
    let dir = temp_dir("demo-opens");
    let http = free_port();
    let config = file_outbox_config(&dir, http);
    let journeys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys");
    let s = start_with(&dir, &config, http, &journeys, &["--demo"]);
    // About a lead a second, with a few events for recent leads in between.
    let mut seen = 0;
    wait_for("the demo to create 12 leads", 60, || {
        let (_, body) = get(&s, "/api/dashboard/summary");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        seen = v["funnel"]["reached"]
            .as_object()
            .map(|o| {
                o.values()
                    .filter_map(serde_json::Value::as_u64)
                    .sum::<u64>()
            })
            .unwrap_or(0);
        seen >= 12
    });
    let (_, body) = get(&s, "/api/dashboard/summary");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    for e in v["email"].as_array().expect("email") {
        assert_eq!(e["unattributed_opens"], 0, "{e}");
        assert_eq!(e["unattributed_clicks"], 0, "{e}");
        let (sent, opened) = (e["sent"].as_u64(), e["opened"].as_u64());
        assert!(opened <= sent, "{e}");
    }
}

/// One raw HTTP/1.1 GET (no client decoding anything): the status line and headers,
/// lower-cased, and the body's length.
fn raw_get(s: &Service, path: &str, extra: &[(&str, &str)]) -> (String, usize) {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connects");
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n",
        s.token
    );
    for (k, v) in extra {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    conn.write_all(request.as_bytes()).expect("sends");
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).expect("reads");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    (head, raw.len().saturating_sub(split + 4))
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
}

#[test]
fn assets_and_the_summary_are_compressed_and_revalidated_with_etags() {
    let dir = temp_dir("etags");
    let http = free_port();
    let s = start(&dir, &file_outbox_config(&dir, http), http);
    for path in ["/", "/app.js", "/app.css", "/api/dashboard/summary"] {
        let (plain, plain_len) = raw_get(&s, path, &[]);
        assert!(plain.starts_with("http/1.1 200"), "{path}: {plain}");
        let etag = header_value(&plain, "etag").expect("an ETag");
        // Compressed for a client that takes gzip (and smaller).
        let (zipped, zipped_len) = raw_get(&s, path, &[("Accept-Encoding", "gzip")]);
        assert_eq!(
            header_value(&zipped, "content-encoding").as_deref(),
            Some("gzip"),
            "{path}: {zipped}"
        );
        assert!(zipped_len < plain_len, "{path}: {zipped_len} ≥ {plain_len}");
        // A client holding the same bytes gets 304 and no body.
        let (again, again_len) = raw_get(&s, path, &[("If-None-Match", &etag)]);
        assert!(again.starts_with("http/1.1 304"), "{path}: {again}");
        assert_eq!(again_len, 0, "{path}");
        let (other, _) = raw_get(&s, path, &[("If-None-Match", "\"stale\"")]);
        assert!(other.starts_with("http/1.1 200"), "{path}: {other}");
    }
}

/// The task list a sales-ops lead works from: each task carries its deadlines, an SLA that
/// passes marks it escalated (to whom, when), `late=true` lists it until it is accepted, and
/// a bad parameter is refused with its name.
#[test]
fn the_task_list_shows_deadlines_escalations_and_late_tasks() {
    let dir = temp_dir("tasks-sla");
    let program = dir.join("program");
    std::fs::create_dir_all(program.join("templates")).expect("program dir");
    for entry in std::fs::read_dir(program_dir().join("templates")).expect("templates") {
        let entry = entry.expect("template");
        std::fs::copy(
            entry.path(),
            program.join("templates").join(entry.file_name()),
        )
        .expect("copy");
    }
    let source = std::fs::read_to_string(program_dir().join("program.journey")).expect("program");
    assert!(source.contains("accept within 2 hours else reassign"));
    std::fs::write(
        program.join("program.journey"),
        source.replace(
            "accept within 2 hours else reassign",
            "accept within 1 minute else escalate\n  complete within 1 day else escalate",
        ),
    )
    .expect("write program");
    let http = free_port();
    let config = format!(
        "{}clock_scale = 60\ntick_ms = 50\n",
        file_outbox_config(&dir, http)
    );
    let s = start_program(&dir, &config, http, &program);
    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "an", "fields": {"name": "Nguyễn An", "email": "an@saoviet.vn", "n": 10}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let tasks = |query: &str| -> Vec<serde_json::Value> {
        let (status, body) = get(&s, &format!("/api/tasks{query}"));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        v["tasks"].as_array().cloned().unwrap_or_default()
    };
    wait_for("the task", 10, || !tasks("").is_empty());
    // The lead list behind the funnel: the lead, in its stage, with the stage counts.
    let (status, body) = get(&s, "/api/leads");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["leads"][0]["id"], "an");
    assert_eq!(list["leads"][0]["name"], "Nguyễn An");
    let stage = list["leads"][0]["stage"]
        .as_str()
        .expect("stage")
        .to_owned();
    assert_eq!(list["stages"][&stage], 1, "{list}");
    let (_, body) = get(&s, &format!("/api/leads?stage={stage}&offset=1"));
    assert!(
        body.contains(r#""leads":[]"#) && body.contains(r#""total":1"#),
        "{body}"
    );
    let (status, body) = get(&s, "/api/leads?stage=nope");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown stage `nope`"), "{body}");
    let t = tasks("?assignee=rep@acme.vn").remove(0);
    let created = t["created_at"].as_i64().expect("created_at");
    assert_eq!(t["title"], "Gọi cho Nguyễn An");
    assert_eq!(t["lead_name"], "Nguyễn An");
    assert_eq!(t["accept_due_at"].as_i64(), Some(created + 60));
    assert_eq!(t["complete_due_at"].as_i64(), Some(created + 86_400));
    assert_eq!(t["due_at"], t["accept_due_at"]);
    assert!(tasks("?assignee=someone@else.vn").is_empty());

    // A minute of service time (a second here): the accept SLA fires.
    wait_for("the escalation", 20, || {
        tasks("?late=true")
            .first()
            .is_some_and(|t| t["escalations"] == 1)
    });
    let late = tasks("?late=true&team=crew&limit=10&offset=0").remove(0);
    assert_eq!(late["escalated_to"], "boss@acme.vn");
    assert!(
        late["escalated_at"].as_i64() >= Some(created + 60),
        "{late}"
    );
    assert!(late["overdue_seconds"].as_i64() > Some(0), "{late}");
    assert!(tasks("?late=true&offset=1").is_empty());

    // Accepted: measured against the complete deadline, a day away, so no longer late.
    let id = late["id"].as_str().expect("id").to_owned();
    assert_eq!(post(&s, &format!("/api/tasks/{id}/accept"), "").0, 200);
    wait_for("the accepted task off the late list", 10, || {
        tasks("?late=true").is_empty()
    });
    let t = tasks("?status=accepted").remove(0);
    assert_eq!(t["due_at"], t["complete_due_at"]);
    assert_eq!(t["overdue_seconds"], serde_json::Value::Null);

    for (query, names) in [
        ("?late=maybe", "`late`"),
        ("?limit=0", "`limit`"),
        ("?limit=1001", "`limit`"),
        ("?offset=-1", "`offset`"),
        ("?rep=x", "`rep`"),
    ] {
        let (status, body) = get(&s, &format!("/api/tasks{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(names), "{query}: {body}");
    }
}

/// The webinar example under `tandem run`: `enter on … then` copies the event's topic and
/// time into the lead (the confirmation's subject shows the topic), a date wait whose
/// moment has passed moves on at once and a later one ends on the service's clock (the
/// recording email), and `exit on demo_requested` takes a lead out while the rule's
/// notification reaches Sales by SMTP.
#[test]
fn the_webinar_example_copies_event_fields_waits_on_a_date_and_exits_on_an_event() {
    let dir = temp_dir("webinar");
    let (http, smtp_port) = (free_port(), free_port());
    let smtp = smtp_server(&dir, smtp_port);
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\nclock_scale = 3600\ntick_ms = 50\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n",
        dir.join("tandem.db").display()
    );
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/webinar");
    let s = start_program(&dir, &config, http, &program);
    let at = |hours: i64| {
        let now = jiff::Timestamp::now().as_second();
        jiff::Timestamp::from_second(now + hours * 3600)
            .expect("time")
            .to_string()
    };

    // Lan registered for a webinar that started an hour ago: the reminder's moment has
    // passed (sent at once), the recording's is an hour away (a second at 3600×).
    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "lan", "fields": {"name": "Phạm Lan", "email": "lan@songhong.vn", "company": "Sông Hồng"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let event = format!(
        r#"{{"lead": "lan", "event": "webinar_registered", "props": {{"starts_at": "{}", "topic": "Chuyển đổi số <b>&</b>"}}}}"#,
        at(-1)
    );
    let (status, body) = post(&s, "/api/events", &event);
    assert_eq!(status, 200, "{body}");
    wait_for("the confirmation with the copied topic", 30, || {
        subjects(&smtp.maildir)
            .iter()
            .any(|x| x == "Bạn đã đăng ký hội thảo Chuyển đổi số <b>&</b>")
    });
    wait_for("the reminder and then the recording", 60, || {
        let got = subjects(&smtp.maildir);
        got.iter()
            .any(|x| x == "Ngày mai: hội thảo Chuyển đổi số <b>&</b>")
            && got
                .iter()
                .any(|x| x == "Bản ghi hội thảo Chuyển đổi số <b>&</b>")
    });
    let (_, body) = get(&s, "/api/leads/lan");
    let lead: serde_json::Value = serde_json::from_str(&body).expect("lead JSON");
    assert_eq!(lead["fields"]["webinar_topic"], "Chuyển đổi số <b>&</b>");

    // Minh registers for next week, then asks for a demo: he leaves the journey (no
    // reminder), and the rule's notification reaches the team by SMTP.
    let (status, body) = post(
        &s,
        "/api/leads",
        r#"{"id": "minh", "fields": {"name": "Đỗ Minh", "email": "minh@cuulong.vn", "company": "Cửu Long"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let event = format!(
        r#"{{"lead": "minh", "event": "webinar_registered", "props": {{"starts_at": "{}", "topic": "CRM"}}}}"#,
        at(24 * 7)
    );
    assert_eq!(post(&s, "/api/events", &event).0, 200);
    let (status, body) = post(
        &s,
        "/api/events",
        r#"{"lead": "minh", "event": "demo_requested", "props": {"page": "/demo"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_for("the team's notification about Minh", 30, || {
        received(&smtp.maildir).iter().any(|m| {
            m.contains("To: binh.tran@acme.vn") && mail_subject(m).contains("xin demo sau webinar")
        })
    });
    wait_for("Minh out of the journey", 10, || {
        let (_, body) = get(&s, "/api/leads/minh");
        let lead: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        lead["timeline"].as_array().is_some_and(|t| {
            t.iter()
                .any(|l| l["kind"] == "journey_exited" && l["reason"] == "exit")
        })
    });
    assert!(!subjects(&smtp.maildir)
        .iter()
        .any(|x| x == "Ngày mai: hội thảo CRM"));
}

/// The deployment settings written in the program's own `tandem.toml` (as the language
/// places them: `[smtp]`, `store`, `listen` beside `[webhooks]`) are used by `tandem run`
/// without `--config`: the welcome email reaches the SMTP server they name.
#[test]
fn run_takes_its_smtp_settings_from_the_programs_tandem_toml() {
    let dir = temp_dir("program-toml");
    let (http, smtp_port) = (free_port(), free_port());
    let smtp = smtp_server(&dir, smtp_port);
    let program = dir.join("program");
    std::fs::create_dir_all(program.join("templates")).expect("program dir");
    for entry in std::fs::read_dir(program_dir()).expect("program").flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), program.join(entry.file_name())).expect("copy");
        }
    }
    for entry in std::fs::read_dir(program_dir().join("templates"))
        .expect("templates")
        .flatten()
    {
        std::fs::copy(
            entry.path(),
            program.join("templates").join(entry.file_name()),
        )
        .expect("copy");
    }
    std::fs::write(
        program.join("tandem.toml"),
        format!(
            "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n",
            dir.join("tandem.db").display()
        ),
    )
    .expect("tandem.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .arg(&program)
        .current_dir(&dir)
        .env("TANDEM_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tandem run starts");
    let mut s = Service {
        child,
        base: format!("http://127.0.0.1:{http}"),
        token: String::new(),
    };
    wait_for(
        "the service on the port of the program's tandem.toml",
        60,
        || ureq::get(format!("{}/healthz", s.base)).call().is_ok(),
    );
    s.token = std::fs::read_to_string(dir.join("tandem.token"))
        .expect("the token beside the store of the program's tandem.toml")
        .trim()
        .to_owned();
    sign_up_an(&s);
    wait_for("the welcome email over the SMTP of tandem.toml", 30, || {
        !subjects(&smtp.maildir).is_empty()
    });
    assert!(
        !dir.join("outbox").exists()
            || std::fs::read_dir(dir.join("outbox"))
                .map(|d| d.count())
                .unwrap_or(0)
                == 0,
        "nothing written to the file outbox"
    );
}
