//! Black-box tests of the `tandem` binary: exit codes, output formats, and hostile input.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tandem() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

fn temp_program(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("create dir");
        std::fs::write(p, text).expect("write file");
    }
    dir
}

const HEADER: &str = "timezone \"Asia/Ho_Chi_Minh\"\nlead { name: text, company_size: number }\n";

#[test]
fn check_exits_zero_on_the_example_program() {
    let out = tandem()
        .arg("check")
        .arg(root().join("journeys"))
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no problems"));
}

#[test]
fn check_exits_one_with_json_pointing_at_the_line() {
    let src = format!("{HEADER}rule r {{\n  when company_sise > 10\n  then tag \"x\"\n}}\n");
    let dir = temp_program("json", &[("main.journey", &src)]);
    let out = tandem()
        .args(["check", "--format", "json"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let first = &v[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "E0011");
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 8);
    assert_eq!(first["end_line"], 4);
    assert_eq!(first["end_column"], 20);
    assert!(first["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("main.journey")));
    assert!(first["message"]
        .as_str()
        .is_some_and(|m| m.contains("company_sise")));
    let keys: Vec<&str> = first
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        &keys[..8],
        [
            "file",
            "line",
            "column",
            "end_line",
            "end_column",
            "severity",
            "code",
            "message"
        ]
    );
}

#[test]
fn human_format_shows_the_source_line_and_a_caret() {
    let src = format!("{HEADER}segment big = company_size > \"many\"\n");
    let dir = temp_program("human", &[("main.journey", &src)]);
    let out = tandem().arg("check").arg(&dir).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error[E0030]"), "{text}");
    assert!(
        text.contains("segment big = company_size > \"many\""),
        "{text}"
    );
    assert!(text.contains("^^^^^^"), "{text}");
}

#[test]
fn github_format_writes_workflow_annotations() {
    let src = format!("{HEADER}segment big = nope\n");
    let dir = temp_program("github", &[("main.journey", &src)]);
    let out = tandem()
        .args(["check", "--format", "github"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("::error file="), "{text}");
    assert!(text.contains(",line=3,col=15,"), "{text}");
    assert!(text.contains("title=E0011::"), "{text}");
}

#[test]
fn usage_and_io_problems_exit_two() {
    let out = tandem()
        .args(["check", "/no/such/folder"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such folder"));
    let out = tandem()
        .args(["check", "--format", "xml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let dir = temp_program("binary", &[("main.journey", "")]);
    std::fs::write(dir.join("main.journey"), [0xff, 0xfe, 0x00]).expect("write");
    let out = tandem().arg("check").arg(&dir).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
}

#[test]
fn ten_thousand_parentheses_give_a_diagnostic_not_a_crash() {
    let deep = format!(
        "{HEADER}segment deep = {}true{}\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let chain = format!(
        "{HEADER}segment long = company_size{}\n",
        " + 1".repeat(10_000)
    );
    let nots = format!("{HEADER}segment nots = {}true\n", "not ".repeat(10_000));
    for (name, src) in [("deep", deep), ("chain", chain), ("nots", nots)] {
        let dir = temp_program(name, &[("main.journey", &src)]);
        let out = tandem()
            .args(["check", "--format", "json"])
            .arg(&dir)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
        assert!(
            v.as_array()
                .is_some_and(|a| a.iter().any(|d| d["code"] == "E0002" && d["line"] == 3)),
            "{name}: {v}"
        );
    }
}

#[test]
fn fmt_check_reports_unformatted_files_and_fmt_fixes_them() {
    let src = format!("{HEADER}segment   big=company_size>10   # big ones\n");
    let dir = temp_program("fmt", &[("main.journey", &src)]);
    let out = tandem()
        .args(["fmt", "--check"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let out = tandem().arg("fmt").arg(&dir).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.join("main.journey")).expect("read back");
    assert!(
        text.contains("segment big = company_size > 10  # big ones\n"),
        "{text}"
    );
    let out = tandem()
        .args(["fmt", "--check"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_alone() {
    let src = format!("{HEADER}segment big = = 1\n");
    let dir = temp_program("fmt-broken", &[("main.journey", &src)]);
    let out = tandem().arg("fmt").arg(&dir).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(dir.join("main.journey")).expect("read"),
        src
    );
}

#[test]
fn conformance_scenarios_give_the_expected_timelines_with_both_engines() {
    let mut cases = 0;
    for folder in std::fs::read_dir(root().join("tests/conformance"))
        .expect("conformance")
        .flatten()
    {
        let dir = folder.path();
        if !dir.is_dir() {
            continue;
        }
        // A folder with its own `.journey` files is its program; else the spec examples are.
        let own = std::fs::read_dir(&dir)
            .expect("folder")
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "journey"));
        // `program.txt` names a program folder of the repository (e.g. an example).
        let named = std::fs::read_to_string(dir.join("program.txt")).ok();
        let program = if own {
            dir.clone()
        } else if let Some(named) = named {
            root().join(named.trim())
        } else {
            root().join("tests/fixtures/valid/spec_examples")
        };
        for entry in std::fs::read_dir(&dir).expect("folder").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let expected =
                std::fs::read_to_string(path.with_extension("jsonl")).expect("expected timeline");
            for engine in ["jit", "interp"] {
                let out = tandem()
                    .arg("simulate")
                    .arg(&program)
                    .arg("--scenario")
                    .arg(&path)
                    .args(["--engine", engine])
                    .output()
                    .expect("runs");
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{}: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    expected,
                    "{} with {engine}",
                    path.display()
                );
            }
            cases += 1;
        }
    }
    assert!(cases >= 5, "{cases} conformance scenarios");
}

#[test]
fn tandem_test_runs_the_example_programs_tests() {
    let out = tandem()
        .arg("test")
        .arg(root().join("journeys"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.ends_with("6 passed, 0 failed\n"), "{text}");
}

#[test]
fn a_bad_scenario_names_the_input_and_exits_two() {
    let dir = temp_program(
        "scenario",
        &[(
            "s.json",
            r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"an","update":{}}]}"#,
        )],
    );
    let out = tandem()
        .arg("simulate")
        .arg(root().join("journeys"))
        .arg("--scenario")
        .arg(dir.join("s.json"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("input 0: unknown lead `an`"));
}

#[test]
fn explain_names_the_score_lines_the_stage_cause_and_the_waits() {
    let out = tandem()
        .arg("explain")
        .arg(root().join("tests/fixtures/valid/spec_examples"))
        .arg("--scenario")
        .arg(root().join("tests/conformance/spec_program/01_ebook_nurture_to_sales_sla.json"))
        .args(["--lead", "an", "--at", "2026-01-07T12:00:00+07:00"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("score fit = 45: attribute part 45 + event part 0"),
        "{text}"
    );
    assert!(
        text.contains("counts   +15  if company_size between 50 and 199"),
        "{text}"
    );
    assert!(
        text.contains("no       -30  if domain(email) in free_mail"),
        "{text}"
    );
    assert!(
        text.contains("journey ebook_nurture: waiting for `email_clicked`"),
        "{text}"
    );
    // Why the lead is still in the journey: its goal and exit conditions, part by part.
    assert!(
        text.contains("journey ebook_nurture: goal is false now")
            && text.contains("  ✗ stage == mql   (stage = lead)"),
        "{text}"
    );
    let out = tandem()
        .arg("explain")
        .arg(root().join("tests/fixtures/valid/spec_examples"))
        .arg("--scenario")
        .arg(root().join("tests/conformance/spec_program/01_ebook_nurture_to_sales_sla.json"))
        .args(["--lead", "an"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stage: mql (last changed by rule `qualify_mql`)"),
        "{text}"
    );
}

#[test]
fn test_coverage_reports_steps_rules_and_handoff_clauses_as_json() {
    let out = tandem()
        .arg("test")
        .arg(root().join("journeys"))
        .args(["--coverage", "--format", "json"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // One JSON document and nothing else on standard output.
    let doc: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(doc["passed"], 6, "{doc}");
    assert_eq!(doc["failed"], 0);
    assert!(doc["tests"]
        .as_array()
        .is_some_and(|t| t.len() == 6 && t.iter().all(|x| x["passed"] == true)));
    let v = &doc["coverage"];
    let ebook = v["journeys"]
        .as_array()
        .and_then(|a| a.iter().find(|j| j["journey"] == "ebook_nurture"))
        .expect("journey");
    assert!(ebook["ran"].as_u64() > Some(0));
    assert!(v["rules"].as_array().is_some_and(|r| r
        .iter()
        .any(|x| x["rule"] == "qualify_mql" && x["fired"] == true)));
    let to_sales = v["handoffs"]
        .as_array()
        .and_then(|a| a.iter().find(|h| h["handoff"] == "to_sales"))
        .expect("handoff");
    assert_eq!(to_sales["outcomes"]["reject"], true);
    assert_eq!(to_sales["outcomes"]["complete"], false);
}

#[test]
fn a_failing_test_is_reported_as_junit_xml_json_and_github_annotations() {
    let src = format!(
        "{HEADER}rule big {{\n  when company_size > 100\n  then tag \"big\"\n}}\n\ntest \"a <small> & odd lead\" {{\n  lead an {{ company_size: 5 }}\n  expect an \"big\" in tags\n}}\n\ntest \"big one\" {{\n  lead bo {{ company_size: 500 }}\n  expect bo \"big\" in tags\n}}\n"
    );
    let dir = temp_program("test-formats", &[("main.journey", &src)]);
    let run = |format: &str| {
        let out = tandem()
            .arg("test")
            .arg(&dir)
            .args(["--format", format])
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, xml) = run("junit");
    assert_eq!(code, Some(1), "{xml}");
    assert!(xml.starts_with("<?xml version=\"1.0\""), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"tandem\" tests=\"2\" failures=\"1\">"),
        "{xml}"
    );
    // The name is escaped; the passing test has no failure element.
    assert!(
        xml.contains("name=\"a &lt;small&gt; &amp; odd lead\""),
        "{xml}"
    );
    assert!(xml.contains("<testcase name=\"big one\""), "{xml}");
    assert_eq!(xml.matches("<failure message=").count(), 1, "{xml}");

    let (code, json) = run("json");
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).expect("one JSON document");
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let failing = &v["tests"][0];
    assert_eq!(failing["passed"], false);
    assert_eq!(failing["line"], 8, "{v}");
    assert_eq!(failing["failed_line"], 10, "{v}");

    // An annotation on the failing `expect` line, then the usual lines.
    let (code, gh) = run("github");
    assert_eq!(code, Some(1));
    let first = gh.lines().next().unwrap_or("");
    assert!(
        first.starts_with("::error file=")
            && first.contains("main.journey,line=10,title=test a <small> & odd lead::"),
        "{gh}"
    );
    assert!(
        gh.contains("\nok      big one\n") && gh.ends_with("1 passed, 1 failed\n"),
        "{gh}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn human_output_writes_instants_in_the_program_zone_or_tz_and_machine_output_in_utc() {
    let src = format!(
        "{HEADER}rule big {{\n  when company_size > 100\n  then tag \"big\"\n}}\n\ntest \"small\" {{\n  start 2026-03-02 09:00\n  lead an {{ company_size: 5 }}\n  expect an \"big\" in tags\n}}\n"
    );
    let dir = temp_program("tz", &[("main.journey", &src)]);
    let run = |args: &[&str]| {
        let out = tandem()
            .arg("test")
            .arg(&dir)
            .args(args)
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The program is in Asia/Ho_Chi_Minh: its test starts at 09:00 there, 02:00 UTC.
    let (code, text, _) = run(&[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(r#"{"at":"2026-03-02 09:00 +07","lead":"an","kind":"lead_created"}"#),
        "{text}"
    );
    assert!(!text.contains("02:00:00Z"), "{text}");
    let (_, text, _) = run(&["--tz", "UTC"]);
    assert!(text.contains(r#""at":"2026-03-02 02:00 +00""#), "{text}");
    let (_, text, _) = run(&["--tz", "Asia/Kolkata", "--format", "github"]);
    assert!(text.contains(r#""at":"2026-03-02 07:30 +05:30""#), "{text}");
    // JSON and JUnit are for machines: UTC, whatever --tz says.
    let (_, json, _) = run(&["--tz", "Asia/Kolkata", "--format", "json"]);
    assert!(json.contains(r#""at": "2026-03-02T02:00:00Z""#), "{json}");
    let (_, xml, _) = run(&["--tz", "Asia/Kolkata", "--format", "junit"]);
    assert!(xml.contains("2026-03-02T02:00:00Z"), "{xml}");
    assert!(!xml.contains("+05:30"), "{xml}");
    // A zone that does not exist is a usage error naming it.
    let (code, _, err) = run(&["--tz", "Asia/Sai_Gon"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`Asia/Sai_Gon` is not a time zone"), "{err}");

    // backtest's human report; its JSON stays UTC.
    std::fs::write(
        dir.join("leads.csv"),
        "Email,Company size,Create Date\nan@x.vn,5,2026-10-01 09:00\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("events.csv"),
        "lead,event,at,url\nan@x.vn,page_viewed,2026-10-01 10:00,/pricing\n",
    )
    .expect("write");
    let program = temp_program(
        "tz-program",
        &[(
            "main.journey",
            &format!("{HEADER}event page_viewed {{ url: text }}\n"),
        )],
    );
    let backtest = |args: &[&str]| {
        let out = tandem()
            .arg("backtest")
            .arg(&program)
            .arg("--baseline")
            .arg(&program)
            .arg("--leads-csv")
            .arg(dir.join("leads.csv"))
            .arg("--events-csv")
            .arg(dir.join("events.csv"))
            .args(args)
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let text = backtest(&[]);
    assert!(
        text.contains("2026-10-01 09:00 +07 → 2026-10-01 10:00 +07"),
        "{text}"
    );
    let text = backtest(&["--tz", "Europe/Berlin", "--since", "2026-10-01 09:30"]);
    assert!(
        text.contains("2026-10-01 04:00 +02 → 2026-10-01 05:00 +02")
            && text.contains("counted from 2026-10-01 04:30 +02"),
        "{text}"
    );
    let json = backtest(&["--tz", "Europe/Berlin", "--format", "json"]);
    assert!(json.contains(r#""from": "2026-10-01T02:00:00Z""#), "{json}");

    // simulate has no --tz: its timeline is UTC, byte for byte.
    let out = tandem()
        .arg("simulate")
        .arg(&program)
        .args(["--scenario", "x.json", "--tz", "UTC"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&program);
}

#[test]
fn a_closed_pipe_is_an_exit_code_not_a_panic() {
    use std::process::Stdio;
    let dir = temp_program("closed-pipe", &[]);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("leads.csv"), "Email,Name\nan@x.vn,An\n").expect("write");
    std::fs::write(dir.join("events.csv"), "lead,event,at\n").expect("write");
    let journeys = root().join("journeys");
    let (leads, events) = (dir.join("leads.csv"), dir.join("events.csv"));
    let commands: [Vec<&std::ffi::OsStr>; 3] = [
        vec![
            "graph".as_ref(),
            journeys.as_ref(),
            "--format".as_ref(),
            "dot".as_ref(),
        ],
        vec!["diff".as_ref(), journeys.as_ref(), journeys.as_ref()],
        vec![
            "backtest".as_ref(),
            journeys.as_ref(),
            "--baseline".as_ref(),
            journeys.as_ref(),
            "--leads-csv".as_ref(),
            leads.as_ref(),
            "--events-csv".as_ref(),
            events.as_ref(),
        ],
    ];
    for args in commands {
        let mut child = tandem()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        // The reader goes away before the program has written anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("waits");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn webhooks_are_checked_against_tandem_toml() {
    let src =
        format!("{HEADER}rule sync {{\n  when company_size > 100\n  then webhook crm_sink\n}}\n");
    let dir = temp_program(
        "webhooks",
        &[
            ("main.journey", &src),
            (
                "tandem.toml",
                "[webhooks]\ncrm_sync = \"https://crm.example/hook\"\n",
            ),
        ],
    );
    let out = tandem()
        .args(["check", "--format", "json"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let d = &v[0];
    assert_eq!(d["code"], "E0025");
    assert_eq!(d["line"], 5);
    assert!(
        d["help"].as_str().is_some_and(|h| h.contains("crm_sink")),
        "{d}"
    );
}

#[test]
fn graph_draws_journeys_as_mermaid_dot_and_svg() {
    let journeys = root().join("journeys");
    let out = tandem()
        .args(["graph"])
        .arg(&journeys)
        .args(["ebook_nurture", "--format", "mermaid"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with("%% journey ebook_nurture\nflowchart TD\n"),
        "{text}"
    );
    assert!(text.contains("[\"send ebook_delivery\"]"), "{text}");
    assert!(text.contains("-->|\"50%\"|"), "{text}");

    let out = tandem()
        .args(["graph"])
        .arg(&journeys)
        .args(["--format", "dot"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text.matches("digraph ").count(),
        6,
        "one graph per journey: {text}"
    );

    let dir = std::env::temp_dir().join(format!("tandem-graph-{}", std::process::id()));
    let out = tandem()
        .args(["graph"])
        .arg(&journeys)
        .args(["--format", "svg", "--out"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg =
        std::fs::read_to_string(dir.join("trial_onboarding.svg")).expect("one file per journey");
    assert!(
        svg.contains("<svg") && svg.contains("send trial_welcome"),
        "{svg}"
    );

    for args in [vec!["nope"], vec!["--format", "svg"]] {
        let out = tandem()
            .args(["graph"])
            .arg(&journeys)
            .args(&args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

/// Every kind of step, for the direction of every kind of arrow in a diagram.
const EVERY_STEP: &str = "timezone \"Asia/Ho_Chi_Minh\"\n\nlead {\n  name: text\n  n: number\n  demo_at: time\n}\n\nevent signup { plan: text }\nevent ping { k: number }\n\nteam crew {\n  members \"rep@acme.vn\"\n  manager \"boss@acme.vn\"\n  hours mon-sun 0:00-23:59\n}\n\nhandoff to_sales {\n  assign team crew by round_robin\n  task \"Call {{ lead.name }}\"\n  accept within 1 business day else escalate\n}\n\njourney flow {\n  enter on signup\n\n  set n = 1\n  wait 1 day\n  wait until 9:00\n  wait until 1 day before demo_at at 9:00\n  wait for ping up to 2 days {\n    set n = 2\n  } timeout {\n    set n = 3\n  }\n  wait until n > 5 up to 3 days {\n    set n = 4\n  } timeout {\n    set n = 5\n  }\n  if n > 10 {\n    enroll other\n  } else {\n    handoff to_sales\n  }\n  split {\n    50% { set n = 6 }\n    50% { exit }\n  }\n}\n\njourney other {\n  set n = 7\n}\n";

/// The arrows of a Mermaid or DOT diagram as `(from box, arrow label, to box)`.
fn diagram_arrows(text: &str) -> Vec<(String, String, String)> {
    let mut boxes = std::collections::HashMap::new();
    let mut arrows = Vec::new();
    let unquote = |s: &str| {
        s.replace("#quot;", "\"")
            .replace("\\\"", "\"")
            .trim_matches('"')
            .to_owned()
    };
    for line in text.lines().map(str::trim) {
        // Mermaid: `nA --> nB`, `nA -->|"label"| nB`; DOT: `nA -> nB;`, `nA -> nB [label="…"];`.
        if let Some((from, rest)) = line.split_once(" -->").or_else(|| line.split_once(" -> ")) {
            let rest = rest.trim().trim_end_matches(';');
            let (label, to) = match rest.strip_prefix('|') {
                Some(r) => {
                    let (label, to) = r.split_once("| ").expect("a labelled Mermaid arrow");
                    (unquote(label), to.to_owned())
                }
                None => match rest.split_once(" [label=") {
                    Some((to, label)) => (unquote(label.trim_end_matches(']')), to.to_owned()),
                    None => (String::new(), rest.to_owned()),
                },
            };
            arrows.push((from.to_owned(), label, to.trim().to_owned()));
        } else if let Some(at) = line.find("label=\"") {
            // DOT box: `nI [shape=…, label="…"];`
            let id = line.split_whitespace().next().unwrap_or_default();
            let label = &line[at + 6..line.len() - 2];
            boxes.insert(id.to_owned(), unquote(label));
        } else if line.starts_with('n') {
            // Mermaid box: `nI["…"]`, `nI(["…"])`, `nI{"…"}`, `nI(("…"))`.
            if let Some(open) = line.find(['[', '(', '{']) {
                let label = line[open..].trim_matches(['[', ']', '(', ')', '{', '}']);
                boxes.insert(line[..open].to_owned(), unquote(label));
            }
        }
    }
    let name = |id: &str| boxes.get(id).cloned().unwrap_or_else(|| format!("?{id}"));
    let mut named: Vec<_> = arrows
        .into_iter()
        .map(|(from, label, to)| (name(&from), label, name(&to)))
        .collect();
    named.sort();
    named
}

#[test]
fn diagram_arrows_go_from_cause_to_effect_for_every_kind_of_step() {
    let dir = temp_program("graph-arrows", &[("main.journey", EVERY_STEP)]);
    let arrow =
        |from: &str, label: &str, to: &str| (from.to_owned(), label.to_owned(), to.to_owned());
    // Each arrow from the step that comes first in the flow to the one it leads to: a
    // wait to what follows it, a decision (`wait for`, `wait until … up to`, `if`,
    // `split`) to each of its ways on, labelled; the end of every branch to the step
    // after the block; `enroll`, `handoff` to the next step; `exit` to nothing.
    let mut expected = vec![
        arrow("start", "", "set n = 1"),
        arrow("set n = 1", "", "wait 1 day"),
        arrow("wait 1 day", "", "wait until 9:00"),
        arrow(
            "wait until 9:00",
            "",
            "wait until 1 day before demo_at at 9:00",
        ),
        arrow(
            "wait until 1 day before demo_at at 9:00",
            "",
            "wait for ping up to 2 days",
        ),
        arrow("wait for ping up to 2 days", "ping", "set n = 2"),
        arrow("wait for ping up to 2 days", "timeout", "set n = 3"),
        arrow("set n = 2", "", "wait until n > 5 up to 3 days"),
        arrow("set n = 3", "", "wait until n > 5 up to 3 days"),
        arrow("wait until n > 5 up to 3 days", "holds", "set n = 4"),
        arrow("wait until n > 5 up to 3 days", "timeout", "set n = 5"),
        arrow("set n = 4", "", "if n > 10"),
        arrow("set n = 5", "", "if n > 10"),
        arrow("if n > 10", "n > 10", "enroll other"),
        arrow("if n > 10", "else", "handoff to_sales"),
        arrow("enroll other", "", "split"),
        arrow("handoff to_sales", "", "split"),
        arrow("split", "50%", "set n = 6"),
        arrow("split", "50%", "exit"),
        arrow("set n = 6", "", "end"),
    ];
    expected.sort();
    for format in ["mermaid", "dot"] {
        let out = tandem()
            .arg("graph")
            .arg(&dir)
            .args(["flow", "--format", format])
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert_eq!(diagram_arrows(&text), expected, "{format}:\n{text}");
    }
    // The SVG (also the dashboard's picture) is drawn top to bottom: every arrow ends,
    // with its head, below where it starts.
    let out = tandem()
        .arg("graph")
        .arg(&dir)
        .args(["flow", "--format", "svg"])
        .output()
        .expect("runs");
    let svg = String::from_utf8_lossy(&out.stdout);
    let mut drawn = 0;
    for path in svg.split("<path ").skip(1) {
        if !path.starts_with("id=\"arrow") {
            continue;
        }
        let Some(d) = path.split(" d=\"").nth(1).and_then(|d| d.split('"').next()) else {
            continue;
        };
        assert!(path.contains("marker-end=\"url(#endarrow)\""), "{path}");
        assert!(!path.contains("marker-start"), "{path}");
        let numbers: Vec<f64> = d
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .filter_map(|n| n.parse().ok())
            .collect();
        let (start, end) = (numbers[1], numbers[numbers.len() - 1]);
        assert!(end > start, "an arrow drawn upwards: {d}");
        drawn += 1;
    }
    assert_eq!(drawn, expected.len(), "{svg}");
    let out = tandem()
        .arg("graph")
        .arg(&dir)
        .args(["other", "--format", "mermaid"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        diagram_arrows(&text),
        [
            ("set n = 7".to_owned(), String::new(), "end".to_owned()),
            ("start".to_owned(), String::new(), "set n = 7".to_owned()),
        ],
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_reports_changes_in_meaning_and_the_leads_waiting_at_changed_steps() {
    use service::store::{Commit, SqliteStore, Store};
    let journey = |first_wait: &str, tail: &str| {
        format!(
            "journey j {{\n  enter on demo_booked\n  wait {first_wait}\n  tag \"a\"\n{tail}}}\n"
        )
    };
    // One file: a segment behind rule `r`, scores, journey `j`.
    let program = |name: &str, segment: &str, scores: &str, j: String| {
        let text = format!(
            "{HEADER}event demo_booked\nsegment big = {segment}\n{j}\
             rule r {{\n  when big\n  then tag \"big\"\n}}\n{scores}"
        );
        temp_program(name, &[("main.journey", &text)])
    };
    let fit = "score fit {\n  +10 if company_size > 50\n  +5 if name is set\n}\n";
    let two_waits = "  wait 10 days\n  tag \"b\"\n";
    let old = program(
        "diff-old",
        "company_size > 100",
        fit,
        journey("30 days", two_waits),
    );
    // Same meaning, other text: comments, layout, score lines in another order.
    let reformatted = program(
        "diff-same",
        "company_size   >   100 # cỡ lớn",
        "score fit {\n  +5 if name is set\n\n  +10 if company_size > 50\n}\n",
        journey("30 days", two_waits),
    );
    // The segment behind rule `r` changes (its own text does not); the first wait
    // changes; the second wait and its tag go (so what follows `tag "a"` changes too);
    // a score is added.
    let new = program(
        "diff-new",
        "company_size > 200",
        &format!("{fit}score extra {{\n  +1 if name is set\n}}\n"),
        journey("20 days", ""),
    );

    let out = tandem()
        .arg("diff")
        .arg(&old)
        .arg(&reformatted)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no change in meaning\n"
    );

    // A store where one lead entered `j` an hour ago: it waits at `wait 30 days`.
    let store_path = old.join("tandem.db");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    {
        let mut store = SqliteStore::open(&store_path).expect("store opens");
        store.set_start(now - 7200).expect("start recorded");
        let input = |at: i64, kind| runtime::scenario::Input {
            index: 0,
            at,
            lead: "an".into(),
            kind,
        };
        let commit = Commit {
            inputs: vec![
                input(
                    now - 3600,
                    runtime::scenario::InputKind::Create(vec![(
                        "company_size".into(),
                        runtime::scenario::InputValue::Number(150.0),
                    )]),
                ),
                input(
                    now - 3500,
                    runtime::scenario::InputKind::Event {
                        event: "demo_booked".into(),
                        props: Vec::new(),
                    },
                ),
            ],
            ..Commit::default()
        };
        store.commit(&commit).expect("committed");
    }
    let out = tandem()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--store")
        .arg(&store_path)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text,
        "journey j: changed (steps)\n\
         \x20 step `wait 30 days` (main.journey:7): changed → `wait 20 days` — 1 lead waits here\n\
         \x20 step `tag \"a\"` (main.journey:8): moved — 0 leads wait here\n\
         \x20 step `wait 10 days` (main.journey:9): removed — 0 leads wait here\n\
         \x20 step `tag \"b\"` (main.journey:10): removed — 0 leads wait here\n\
         rule r: changed (when)\n\
         \x20 when: (company_size > 100) → (company_size > 200)\n\
         score extra: added\n"
    );

    let out = tandem()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["changes"][0]["steps"][0]["change"], "changed");
    assert_eq!(
        v["changes"][0]["steps"][0]["waiting"],
        serde_json::Value::Null
    );
    assert_eq!(v["changes"][1]["parts"][0], "when");

    // `--exit-code`: 0 without a change, 1 with changes; Markdown for a pull request.
    let code = |a: &Path, b: &Path| {
        tandem()
            .arg("diff")
            .arg(a)
            .arg(b)
            .arg("--exit-code")
            .output()
            .expect("runs")
            .status
            .code()
    };
    assert_eq!(code(&old, &reformatted), Some(0));
    assert_eq!(code(&old, &new), Some(1));
    let out = tandem()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .args(["--format", "markdown"])
        .output()
        .expect("runs");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.starts_with("### Tandem: what this change does\n"),
        "{md}"
    );
    assert!(md.contains("- **journey j** — changed (steps)\n  - step `wait 30 days` (main.journey:7): changed → `wait 20 days`\n"), "{md}");
    // A step added at the end is listed as added, and the steps before it as they are.
    let longer = program(
        "diff-longer",
        "company_size > 100",
        fit,
        journey("30 days", "  wait 10 days\n  tag \"b\"\n  tag \"c\"\n"),
    );
    let out = tandem()
        .arg("diff")
        .arg(&old)
        .arg(&longer)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("step `tag \"c\"` (main.journey:11): added"),
        "{text}"
    );
    assert!(
        !text.contains("wait 30 days"),
        "an unchanged step is not listed: {text}"
    );
    let _ = std::fs::remove_dir_all(&longer);

    let out = tandem()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .args(["--store", "/nonexistent/tandem.db"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store file"));
    let _ = std::fs::remove_dir_all(&old);
    let _ = std::fs::remove_dir_all(&reformatted);
    let _ = std::fs::remove_dir_all(&new);
}

/// `tandem preview journeys TEMPLATE --lead tests/fixtures/preview/LEAD [ARGS…]`.
fn preview(template: &str, lead: &str, args: &[&str]) -> std::process::Output {
    tandem()
        .arg("preview")
        .arg(root().join("journeys"))
        .arg(template)
        .arg("--lead")
        .arg(root().join("tests/fixtures/preview").join(lead))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn preview_escapes_a_hostile_lead_in_the_html_part() {
    for template in ["ebook_delivery", "webinar_invite_a"] {
        let out = preview(template, "hostile_lead.json", &[]);
        let html = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{template}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            html.contains("Chào &lt;script&gt;alert("),
            "{template}: {html}"
        );
        assert!(!html.contains("<script"), "{template}: {html}");
        // The URLs typed into the name stay text; only the author's links are links.
        assert!(
            html.contains("https://evil.example/login"),
            "{template}: {html}"
        );
        assert!(
            !html.contains("href=\"https://evil.example"),
            "{template}: {html}"
        );
        assert!(
            html.contains("href=\"https://example.invalid/unsubscribe?preview\""),
            "{template}: {html}"
        );
    }
    let out = preview("ebook_delivery", "hostile_lead.json", &["--format", "html"]);
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains(
            "<a href=\"https://acme.vn/tai-lieu/chuyen-doi-so.pdf\">Tải ebook (PDF, 42 trang)</a>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<strong>“Chuyển đổi số cho doanh nghiệp vừa”</strong>"),
        "{html}"
    );
}

#[test]
fn preview_prints_the_text_part() {
    let out = preview("ebook_delivery", "hostile_lead.json", &["--format", "text"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Plain text: the name as typed, no markup, the author's link spelt out.
    assert!(
        text.contains("Chào <script>alert(\"pwned\")</script> Mallory"),
        "{text}"
    );
    assert!(
        text.contains("Cảm ơn bạn đã quan tâm đến Acme Cloud."),
        "{text}"
    );
    assert!(
        text.contains("https://acme.vn/tai-lieu/chuyen-doi-so.pdf"),
        "{text}"
    );
    assert!(
        text.contains("https://example.invalid/unsubscribe?preview"),
        "{text}"
    );
    assert!(!text.contains("<p>") && !text.contains("**"), "{text}");
}

#[test]
fn preview_eml_is_the_whole_message() {
    let out = preview("ebook_delivery", "hostile_lead.json", &["--format", "eml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mail = mailparse::parse_mail(&out.stdout).expect("a MIME message");
    let header = |name: &str| {
        mail.headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
            .unwrap_or_default()
    };
    assert_eq!(
        header("Subject"),
        "<script>alert(\"pwned\")</script> Mallory https://evil.example/login \
         [thắng giải](https://evil.example/win), ebook “Chuyển đổi số cho doanh nghiệp vừa” \
         của bạn đây"
    );
    // The program's `sending { from }`: the template sets none.
    assert!(
        header("From").contains("<marketing@acme.vn>"),
        "{}",
        header("From")
    );
    assert_eq!(header("To"), "mallory@example.com");
    assert_eq!(
        header("List-Unsubscribe"),
        "<https://example.invalid/unsubscribe?preview>"
    );
    assert_eq!(mail.ctype.mimetype, "multipart/alternative");
    let parts: Vec<(String, String)> = mail
        .subparts
        .iter()
        .map(|p| {
            (
                p.ctype.mimetype.clone(),
                p.get_body().expect("a decodable body"),
            )
        })
        .collect();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0].0, "text/plain");
    assert!(parts[0].1.contains("Chào <script>"), "{}", parts[0].1);
    assert_eq!(parts[1].0, "text/html");
    assert!(parts[1].1.contains("Chào &lt;script&gt;"), "{}", parts[1].1);
}

#[test]
fn preview_names_an_unknown_template_and_bad_lead_files() {
    let out = preview("ebook_delivry", "hostile_lead.json", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no template `ebook_delivry`; did you mean `ebook_delivery`?"),
        "{err}"
    );
    for (lead, message) in [
        ("unknown_field_lead.json", "the lead has no field `nmae`"),
        (
            "wrong_type_lead.json",
            "`company_size` must be a number, not \"many\"",
        ),
        ("bad_json_lead.json", "the lead is not valid JSON"),
    ] {
        let out = preview("ebook_delivery", lead, &[]);
        assert_eq!(out.status.code(), Some(2), "{lead}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(lead) && err.contains(message), "{lead}: {err}");
    }
}

#[test]
fn preview_exits_one_when_the_template_does_not_render_for_this_lead() {
    let dir = temp_program(
        "preview-render",
        &[
            ("main.journey", HEADER),
            (
                "templates/size.md",
                "+++\nsubject = \"Hi {{ lead.name }}\"\n+++\n\
                 {{ lead.name | int }} people\n[Unsubscribe]({{ unsubscribe_url }})\n",
            ),
            ("number.json", r#"{"name": "250"}"#),
            ("word.json", r#"{"name": "An"}"#),
        ],
    );
    let run = |lead: &str| {
        tandem()
            .arg("preview")
            .arg(&dir)
            .arg("size")
            .arg("--lead")
            .arg(dir.join(lead))
            .args(["--format", "text"])
            .output()
            .expect("runs")
    };
    let out = run("number.json");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("250 people "), "{text}");
    let out = run("word.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("template `size`: the body does not render"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The example program with `edits` (file, old text, new text) made, in a temporary
/// folder.
fn edited_example(name: &str, edits: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let from = root().join("journeys");
    let mut files: Vec<(String, String)> = Vec::new();
    let mut stack = vec![from.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(&from)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                files.push((rel, std::fs::read_to_string(&path).expect("text")));
            }
        }
    }
    for (file, old, new) in edits {
        let (_, text) = files
            .iter_mut()
            .find(|(p, _)| p == file)
            .expect("the file is in the example");
        assert!(text.contains(old), "{file} has `{old}`");
        *text = text.replace(old, new);
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    temp_program(name, &refs)
}

#[test]
fn diff_shows_old_and_new_values_of_rules_and_scores() {
    let new = edited_example(
        "diff-values",
        &[
            (
                "rules.journey",
                "score.engagement >= 30",
                "score.engagement >= 25",
            ),
            (
                "scores.journey",
                "+25 if company_size >= 200",
                "+30 if company_size >= 200",
            ),
            (
                "scores.journey",
                "decay 25% every 30 days",
                "decay 20% every 30 days",
            ),
        ],
    );
    let out = tandem()
        .arg("diff")
        .arg(root().join("journeys"))
        .arg(&new)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // Only the part of the long condition that changed, in the language's operators.
    assert!(
        text.contains("  when: …(score.engagement >= 30)… → …(score.engagement >= 25)…"),
        "{text}"
    );
    assert!(
        text.contains("  if lines: +25 if (company_size >= 200) → +30 if (company_size >= 200)"),
        "{text}"
    );
    assert!(
        text.contains("  decay: 25% every 30 days → 20% every 30 days"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&new);
}

/// What a team or the program's settings change moves every SLA, escalation, wait or send
/// that reads them: `diff` lists it, and `--exit-code` fails the gate.
#[test]
fn diff_shows_team_calendars_and_program_settings() {
    let new = edited_example(
        "diff-settings",
        &[
            (
                "sales.journey",
                "manager \"dung.pham@acme.vn\"",
                "manager \"khanh.bui@acme.vn\"",
            ),
            (
                "sales.journey",
                "closed 2026-01-01  # Tết Dương lịch\n",
                "holidays vietnam\n",
            ),
            (
                "sales.journey",
                "hours mon-fri 8:30-17:30",
                "hours mon-fri 8:00-17:00",
            ),
            (
                "program.journey",
                "timezone \"Asia/Ho_Chi_Minh\"",
                "timezone \"Asia/Bangkok\"",
            ),
            (
                "sending.journey",
                "at most 3 emails per 7 days",
                "at most 2 emails per 7 days",
            ),
        ],
    );
    let out = tandem()
        .args(["diff", "--exit-code"])
        .arg(root().join("journeys"))
        .arg(&new)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for want in [
        "team sales_hcm: changed (manager, hours, closed, holidays)",
        "  manager: dung.pham@acme.vn → khanh.bui@acme.vn",
        "  hours: mon-fri 8:30-17:30 → mon-fri 8:00-17:00",
        "  holidays: none → vietnam",
        "program timezone: changed",
        "  timezone: Asia/Ho_Chi_Minh → Asia/Bangkok",
        "program sending: changed (cap)",
        "  cap: at most 3 per 1 week → at most 2 per 1 week",
    ] {
        assert!(text.contains(want), "no `{want}` in:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&new);
}

#[test]
fn diff_shows_old_and_new_values_of_a_handoff_sla() {
    // The example program with the first accept window halved.
    let from = root().join("journeys");
    let new = edited_example(
        "diff-sla",
        &[(
            "sales.journey",
            "accept within 4 business hours else escalate",
            "accept within 2 business hours else escalate",
        )],
    );
    let out = tandem()
        .arg("diff")
        .arg(&from)
        .arg(&new)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("handoff to_sales: changed (sla)"), "{text}");
    assert!(
        text.contains("sla: accept within 4 business hours else escalate; ")
            && text.contains(" → accept within 2 business hours else escalate; "),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&new);
}

#[test]
fn a_file_given_for_a_folder_is_named_as_such() {
    let out = tandem()
        .arg("check")
        .arg(root().join("journeys/rules.journey"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this is a file; give the program's folder") && err.contains("journeys"),
        "{err}"
    );
}

#[test]
fn a_misspelt_time_unit_gets_a_suggestion() {
    let src = format!("{HEADER}journey j {{\n  enter when company_size > 1\n  wait 2 dayz\n}}\n");
    let dir = temp_program("unit-typo", &[("main.journey", &src)]);
    let out = tandem()
        .arg("check")
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let first = &v[0];
    assert_eq!(first["code"], "E0001", "{v}");
    assert!(
        first["help"]
            .as_str()
            .is_some_and(|h| h.contains("did you mean `days`?")),
        "{v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_refuses_a_bad_listen_address_before_touching_anything() {
    let work = std::env::temp_dir().join(format!("tandem-cli-{}-listen", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("dir");
    let out = tandem()
        .current_dir(&work)
        .args(["run", "--listen", "localhost"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not an address to listen on"), "{err}");
    // Nothing was created: no store, no token.
    assert_eq!(std::fs::read_dir(&work).map(|d| d.count()).unwrap_or(0), 0);
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_failed_first_start_leaves_nothing_and_every_start_says_where_the_token_is() {
    let work = std::env::temp_dir().join(format!("tandem-cli-{}-first-start", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("dir");
    let listing = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };

    // The address is taken: refused, nothing created.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = busy.local_addr().expect("address").port().to_string();
    let out = tandem()
        .current_dir(&work)
        .args(["run", "--listen", &port, "--run-for", "1"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    assert_eq!(listing(&work), Vec::<String>::new());
    drop(busy);

    // The program does not check: the store, its lock and journal, the token and the
    // secret were made before the program was compiled, and are removed again.
    let bad = temp_program(
        "first-start-bad",
        &[(
            "main.journey",
            &format!("{HEADER}rule r {{\n  when company_sise > 10\n  then tag \"x\"\n}}\n"),
        )],
    );
    let out = tandem()
        .current_dir(&work)
        .arg("run")
        .arg(&bad)
        .args(["--listen", "127.0.0.1:0", "--run-for", "1"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("company_sise"), "{err}");
    assert_eq!(listing(&work), Vec::<String>::new(), "{err}");

    // A file that was there before a failed start stays as it was.
    std::fs::write(work.join("tandem.token"), "kept-by-hand\n").expect("token");
    let out = tandem()
        .current_dir(&work)
        .arg("run")
        .arg(&bad)
        .args(["--listen", "127.0.0.1:0", "--run-for", "1"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(listing(&work), ["tandem.token"]);
    assert_eq!(
        std::fs::read_to_string(work.join("tandem.token")).expect("token"),
        "kept-by-hand\n"
    );
    std::fs::remove_file(work.join("tandem.token")).expect("remove");

    // Two good starts: the first prints the token, the second where it is kept.
    let start = || {
        let out = tandem()
            .current_dir(&work)
            .args(["run", "--listen", "127.0.0.1:0", "--run-for", "1"])
            .env("TANDEM_LOG", "warn")
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = start();
    let token = std::fs::read_to_string(work.join("tandem.token")).expect("the token file");
    let token = token.trim();
    let place = std::fs::canonicalize(&work)
        .expect("canonical")
        .join("tandem.token")
        .display()
        .to_string();
    assert!(
        first.contains(&format!("admin API token (kept in {place}): {token}")),
        "{first}"
    );
    let second = start();
    assert!(
        second.contains(&format!("admin API token: kept in {place}\n")),
        "{second}"
    );
    assert!(
        !second.contains(token),
        "the token is printed once: {second}"
    );
    for file in ["tandem.db", "tandem.token", "tandem.secret"] {
        assert!(work.join(file).exists(), "{file} kept after serving");
    }
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir_all(&bad);
}

#[test]
fn logs_into_a_file_carry_no_colour_codes() {
    let work = std::env::temp_dir().join(format!("tandem-cli-{}-logs", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("dir");
    let out = tandem()
        .current_dir(&work)
        .args(["run", "--listen", "127.0.0.1:0", "--run-for", "1"])
        .env("TANDEM_LOG", "info")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("INFO"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err}");
    let _ = std::fs::remove_dir_all(&work);
}

/// Every `expect` form about what happened (sent at, escalated, reassigned, notified,
/// webhook) holds where it should and fails, with its message, where it should not:
/// `tests/fixtures/expectations/expected.tsv` holds each test's outcome, for both engines.
#[test]
fn expectation_forms_pass_and_fail_as_the_fixture_says() {
    let dir = root().join("tests/fixtures/expectations");
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let want: Vec<(&str, &str)> = expected
        .lines()
        .map(|l| l.split_once('\t').expect("name TAB message"))
        .collect();
    assert!(want.iter().any(|(_, m)| *m == "passes"));
    assert!(want.iter().any(|(_, m)| *m != "passes"));
    for engine in ["jit", "interp"] {
        let out = tandem()
            .args(["test", "--format", "json", "--engine", engine])
            .arg(&dir)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{engine}: some tests fail");
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON document");
        let got: Vec<(String, String)> = doc["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .map(|t| {
                let name = t["name"].as_str().expect("name").to_owned();
                let message = t["message"].as_str().unwrap_or("passes").to_owned();
                (name, message)
            })
            .collect();
        let got: Vec<(&str, &str)> = got.iter().map(|(n, m)| (n.as_str(), m.as_str())).collect();
        assert_eq!(got, want, "{engine}");
    }
    // Human lines write the times of a failed `sent … at` in `--tz` (default: the program's).
    for (tz, line) in [
        (
            None,
            "at 2026-03-02 11:00 +07; it was sent at 2026-03-02 10:00 +07",
        ),
        (
            Some("UTC"),
            "at 2026-03-02 04:00 +00; it was sent at 2026-03-02 03:00 +00",
        ),
    ] {
        let mut cmd = tandem();
        cmd.arg("test").arg(&dir);
        if let Some(tz) = tz {
            cmd.args(["--tz", tz]);
        }
        let out = cmd.output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(line), "{tz:?}: {text}");
    }
}

/// The webinar example (docs/language.md): checks clean, is formatted, and its tests pass;
/// each of its tests fails when the construct it is about is taken out.
#[test]
fn webinar_example_checks_and_its_tests_fail_without_each_construct() {
    let dir = root().join("examples/webinar");
    let out = tandem().arg("check").arg(&dir).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no problems"));
    let out = tandem()
        .args(["fmt", "--check"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = tandem().arg("test").arg(&dir).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("3 passed, 0 failed"), "{text}");

    let program = std::fs::read_to_string(dir.join("program.journey")).expect("read");
    let mutations = [
        (
            "  holidays vietnam",
            "  # no holidays",
            "Task tạo chiều trước Tết",
        ),
        (
            "  exit on demo_requested\n",
            "",
            "Lead xin demo thì rời webinar",
        ),
        (
            "wait until 1 day before webinar_at at 9:00",
            "wait 1 day",
            "Nhắc lịch lúc 9:00",
        ),
        (
            "    set webinar_at = event.starts_at\n",
            "",
            "Nhắc lịch lúc 9:00",
        ),
    ];
    for (from, to, failing) in mutations {
        assert!(program.contains(from), "the example has `{from}`");
        let copy = std::env::temp_dir().join(format!(
            "tandem-webinar-{}-{}",
            std::process::id(),
            failing.len() + from.len()
        ));
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(copy.join("templates")).expect("dir");
        for t in std::fs::read_dir(dir.join("templates"))
            .expect("templates")
            .flatten()
        {
            std::fs::copy(t.path(), copy.join("templates").join(t.file_name())).expect("copy");
        }
        std::fs::write(copy.join("program.journey"), program.replacen(from, to, 1)).expect("write");
        let out = tandem().arg("test").arg(&copy).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "without `{from}`: {text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("FAILED") && l.contains(failing)),
            "without `{from}`, `{failing}` should fail:\n{text}"
        );
        let _ = std::fs::remove_dir_all(&copy);
    }
}

/// The README's "Your first journey" section, run as written: its program and template
/// check clean, its test passes, and the two mistakes it suggests are caught.
#[test]
fn the_readme_first_journey_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme
        .find("## Your first journey")
        .expect("the README has a first-journey section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    // The section's code blocks, in order, without the list's indentation.
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            match current.take() {
                Some(lines) => blocks.push(lines.join("\n") + "\n"),
                None => current = Some(Vec::new()),
            }
        } else if let Some(lines) = current.as_mut() {
            lines.push(line.strip_prefix("   ").unwrap_or(line));
        }
    }
    assert!(
        blocks.len() >= 3,
        "program, template and test blocks: {blocks:?}"
    );
    let (program, template, test) = (&blocks[0], &blocks[1], &blocks[2]);
    assert!(program.contains("journey ebook") && template.starts_with("+++"));
    assert!(test.starts_with("test "));

    let dir = std::env::temp_dir().join(format!("tandem-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("templates")).expect("dir");
    std::fs::write(dir.join("templates/ebook_delivery.md"), template).expect("write");
    std::fs::write(dir.join("main.journey"), program).expect("write");
    let check = |dir: &Path| {
        let out = tandem().arg("check").arg(dir).output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = check(&dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("no problems"), "{text}");
    // Step 3: without the unsubscribe line, E0048; a misspelt field gets its suggestion.
    std::fs::write(
        dir.join("templates/ebook_delivery.md"),
        template.replace("[Hủy đăng ký]({{ unsubscribe_url }})", ""),
    )
    .expect("write");
    let (code, text) = check(&dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("E0048"), "{text}");
    std::fs::write(dir.join("templates/ebook_delivery.md"), template).expect("write");
    std::fs::write(
        dir.join("main.journey"),
        program.replacen("company_size between", "company_sise between", 1),
    )
    .expect("write");
    let (code, text) = check(&dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("did you mean `company_size`?"), "{text}");
    // Step 4 and 6: formatting, then the test on the virtual clock.
    std::fs::write(dir.join("main.journey"), format!("{program}\n{test}")).expect("write");
    let out = tandem().arg("fmt").arg(&dir).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tandem().arg("test").arg(&dir).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("1 passed, 0 failed"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `simulate --trace` adds `trace` lines and nothing else: without them the output is every
/// conformance scenario's expected timeline; with them, a re-registration refused by
/// `reenter never`, a rule that already held and a date wait whose moment had passed say so.
#[test]
fn simulate_trace_only_adds_lines_that_say_why_nothing_happened() {
    let mut seen = 0;
    for folder in ["spec_program", "edge_program", "webinar_program"] {
        let dir = root().join("tests/conformance").join(folder);
        let program = match std::fs::read_to_string(dir.join("program.txt")) {
            Ok(named) => root().join(named.trim()),
            Err(_) if folder == "spec_program" => root().join("tests/fixtures/valid/spec_examples"),
            Err(_) => dir.clone(),
        };
        for entry in std::fs::read_dir(&dir).expect("folder").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let out = tandem()
                .arg("simulate")
                .arg(&program)
                .arg("--scenario")
                .arg(&path)
                .arg("--trace")
                .output()
                .expect("runs");
            assert_eq!(out.status.code(), Some(0), "{}", path.display());
            let text = String::from_utf8_lossy(&out.stdout);
            let untraced: String = text
                .lines()
                .filter(|l| !l.contains(r#""kind":"trace""#))
                .map(|l| format!("{l}\n"))
                .collect();
            let expected = std::fs::read_to_string(path.with_extension("jsonl")).expect("expected");
            assert_eq!(untraced, expected, "{} with --trace", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 8, "{seen} scenarios");
    let out =
        tandem()
            .arg("simulate")
            .arg(root().join("examples/webinar"))
            .arg("--scenario")
            .arg(root().join(
                "tests/conformance/webinar_program/03_registering_again_after_the_journey.json",
            ))
            .arg("--trace")
            .output()
            .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let traces: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""kind":"trace""#))
        .collect();
    for want in [
        r#""what":"rule_held","message":"`enterprise` holds but does not fire again"#,
        r#""what":"wait_skipped","message":"`webinar` did not wait for `webinar_at`: that moment (2026-03-02T02:00:00Z) has passed"#,
        r#""at":"2026-03-10T03:00:00Z","lead":"minh","kind":"trace","what":"enroll_ignored","message":"not entered `webinar`: it was entered before"#,
    ] {
        assert!(
            traces.iter().any(|l| l.contains(want)),
            "no `{want}` in:\n{}",
            traces.join("\n")
        );
    }
    // A second registration while inside: not entered again (its `then` ran), and the
    // property it left out is not copied.
    let out = tandem()
        .arg("simulate")
        .arg(root().join("examples/webinar"))
        .arg("--scenario")
        .arg(root().join("tests/conformance/webinar_program/04_registration_without_a_time.json"))
        .arg("--trace")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        r#"{"at":"2026-03-03T03:00:00Z","lead":"lan","kind":"trace","what":"enroll_ignored","message":"not entered `webinar`: the lead is already in it (its `then` actions ran)"}"#,
        r#"{"at":"2026-03-03T03:00:00Z","lead":"lan","kind":"trace","what":"set_skipped","message":"`webinar_at` not set: the event did not carry the property it copies"}"#,
    ] {
        assert!(text.lines().any(|l| l == want), "no `{want}` in:\n{text}");
    }
}

/// A lead below the MQL bar: a mid-market company whose engagement decayed and was held
/// at its max on the way.
fn explain_program(name: &str) -> PathBuf {
    temp_program(
        name,
        &[
            (
                "program.journey",
                r#"timezone "Asia/Ho_Chi_Minh"
lead { name: text, company_size: number }
stages { subscriber, lead, mql }
event page_viewed { url: text }
event webinar_attended { minutes: number }
team sales {
  members "an@acme.vn"
  hours mon-fri 8:30-17:30
}
segment big_account = company_size >= 200
segment mid_market = company_size between 50 and 199
score engagement {
  +10 on page_viewed where event.url contains "/pricing"
  +25 on webinar_attended
  decay 50% every 7 days
  max 30
}
rule qualify_mql {
  when stage == lead and big_account and score.engagement >= 30
  then set stage = mql
}
rule warm {
  when score.engagement >= 10 and stage != mql
  then tag "warm"
}
handoff to_sales {
  when stage == mql
  assign team sales by round_robin
}
"#,
            ),
            (
                "s.json",
                r#"{
  "start": "2026-03-02T09:00:00+07:00",
  "until": "2026-03-12T09:00:00+07:00",
  "inputs": [
    {"at": "2026-03-02T09:00:00+07:00", "lead": "binh", "create": {"name": "Bình", "company_size": 120}},
    {"at": "2026-03-02T10:00:00+07:00", "lead": "binh", "event": "webinar_attended", "props": {"minutes": 40}},
    {"at": "2026-03-03T10:00:00+07:00", "lead": "binh", "event": "webinar_attended", "props": {"minutes": 55}},
    {"at": "2026-03-11T10:00:00+07:00", "lead": "binh", "event": "page_viewed", "props": {"url": "/pricing"}}
  ]
}"#,
            ),
        ],
    )
}

#[test]
fn explain_says_which_part_keeps_a_lead_from_mql_with_event_points_tags_and_segments() {
    let dir = explain_program("explain-human");
    let out = tandem()
        .arg("explain")
        .arg(&dir)
        .arg("--scenario")
        .arg(dir.join("s.json"))
        .args(["--lead", "binh"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for want in [
        "tags: warm\n",
        "  ✗ not in big_account\n",
        "  ✓ in     mid_market\n",
        "score engagement = 25: attribute part 0 + event part 25",
        // Each event's points, when, and what decay left of them.
        // (Instants in the program's zone, as the scenario writes them.)
        "lead binh at 2026-03-12 09:00 +07\n",
        "  event    +25  on webinar_attended at 2026-03-02 10:00 +07: 12.5 left after 1 decay step (× 0.5)\n",
        "  event    +25  on webinar_attended at 2026-03-03 10:00 +07: 12.5 left after 1 decay step (× 0.5); the event part was held at max 30\n",
        "  event    +10  on page_viewed where event.url contains \"/pricing\" at 2026-03-11 10:00 +07: 10 left (no decay step yet)\n",
        "  the event part is 25, not the 35 left above: it was held within max 30 when points were added\n",
        "  total: 0 + 25 = 25 (within max 30)\n",
        // The MQL rule, part by part: what holds and what does not, with the values read.
        "rule qualify_mql is false now",
        "  ✗ all of:\n",
        "      ✓ stage == lead   (stage = lead)\n",
        "      ✗ segment big_account: company_size >= 200   (company_size = 120)\n",
        "      ✗ score.engagement >= 30   (score.engagement = 25)\n",
        "rule warm is true now",
        "handoff to_sales is false now",
        "  ✗ stage == mql   (stage = lead)\n",
    ] {
        assert!(text.contains(want), "no `{want}` in:\n{text}");
    }
    // --tz writes them in another zone; a zone that does not exist is a usage error.
    let run = |tz: &str| {
        tandem()
            .arg("explain")
            .arg(&dir)
            .arg("--scenario")
            .arg(dir.join("s.json"))
            .args(["--lead", "binh", "--tz", tz])
            .output()
            .expect("runs")
    };
    let out = run("UTC");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("lead binh at 2026-03-12 02:00 +00\n")
            && text.contains("on webinar_attended at 2026-03-02 03:00 +00: "),
        "{text}"
    );
    let out = run("Mars/Olympus");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`Mars/Olympus` is not a time zone"), "{err}");
}

#[test]
fn explain_format_json_is_one_document_with_the_same_reasons() {
    let dir = explain_program("explain-json");
    let out = tandem()
        .arg("explain")
        .arg(&dir)
        .arg("--scenario")
        .arg(dir.join("s.json"))
        .args(["--lead", "binh", "--at", "2026-03-10T09:00:00+07:00"])
        // JSON is for machines: UTC, whatever --tz says.
        .args(["--format", "json", "--tz", "Asia/Kolkata"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(doc["lead"], "binh");
    assert_eq!(doc["at"], "2026-03-10T02:00:00Z");
    assert_eq!(doc["tags"], serde_json::json!(["warm"]));
    assert_eq!(
        doc["segments"],
        serde_json::json!([
            {"name": "big_account", "holds": false},
            {"name": "mid_market", "holds": true}
        ])
    );
    let engagement = &doc["scores"][0];
    assert_eq!(engagement["value"], 15.0);
    assert_eq!(engagement["decay"]["percent"], 50);
    let points = engagement["event_points"].as_array().expect("a list");
    assert_eq!(points.len(), 2, "{engagement}");
    assert_eq!(points[1]["event"], "webinar_attended");
    assert_eq!(points[1]["at"], "2026-03-03T03:00:00Z");
    assert_eq!(points[1]["points"], 25.0);
    assert_eq!(points[1]["decay_steps"], 1);
    assert_eq!(points[1]["decay_factor"], 0.5);
    assert_eq!(points[1]["left"], 12.5);
    assert_eq!(points[1]["clamped_to"], 30.0);
    let mql = &doc["rules"][0];
    assert_eq!(mql["name"], "qualify_mql");
    assert_eq!(mql["holds"], false);
    assert_eq!(mql["why"]["kind"], "all");
    let failing: Vec<&serde_json::Value> = mql["why"]["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|p| p["holds"] == false)
        .collect();
    assert_eq!(failing.len(), 2, "{mql}");
    assert_eq!(failing[0]["segment"], "big_account");
    assert_eq!(failing[1]["text"], "score.engagement >= 30");
    assert_eq!(
        failing[1]["reads"],
        serde_json::json!([{"expr": "score.engagement", "value": 15.0, "set": true}])
    );
    assert_eq!(doc["handoffs"][0]["name"], "to_sales");
    assert_eq!(doc["journeys"], serde_json::json!([]));
}
