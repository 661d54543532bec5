//! `tandem test`: every `test` block of a program, with what they covered.

use super::*;

/// How `tandem test` reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TestFormat {
    /// `ok NAME` or `FAILED NAME: why` with the timeline lines before the failure, the
    /// coverage table (with --coverage), then `N passed, N failed`
    Human,
    /// one JSON document and nothing else on stdout: {tests: [{name, file, line, passed,
    /// message, failed_line, timeline}], passed, failed, coverage} (coverage null without
    /// --coverage)
    Json,
    /// JUnit XML for CI systems that read test reports: a testcase per test, a failure with
    /// the message and the timeline lines (no coverage)
    Junit,
    /// a GitHub Actions `::error` annotation on the line of each failing expect, then the
    /// human output
    Github,
}

/// One test's outcome, where it is written.
#[derive(serde::Serialize)]
struct Outcome {
    name: String,
    file: String,
    line: usize,
    passed: bool,
    /// What failed.
    message: Option<String>,
    /// The line of the statement that failed.
    failed_line: Option<usize>,
    /// The last timeline lines before the failure (as the timeline writes them).
    #[serde(serialize_with = "lines_as_json")]
    timeline: Vec<String>,
}

/// Timeline lines as JSON objects inside the document (not as strings).
fn lines_as_json<S: serde::Serializer>(lines: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        lines
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_default()),
    )
}

pub(crate) fn test(
    dir: &std::path::Path,
    engine: compiler::evaluator::EvaluatorKind,
    with_coverage: bool,
    format: TestFormat,
    tz: Option<tandem::local_time::Zone>,
) -> ExitCode {
    let ready = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // Human lines write instants in `--tz` (default: the program's zone); JSON, JUnit and
    // the annotations keep the timeline's UTC.
    let zone = tandem::local_time::Zone::or_program(tz, &ready.lowered().timezone);
    let mut outcomes = Vec::new();
    let mut covered = runtime::engine::Coverage::default();
    let ws = ready.workspace();
    let place = |span| {
        let (file, line, _) = place(&ready, dir, span);
        (file, line)
    };
    for (_, file) in ws.program_files() {
        for decl in &file.decls {
            let grammar::ast::DeclKind::Test(t) = &decl.kind else {
                continue;
            };
            let r = runtime::testing::run_test(
                ready.lowered(),
                ready.workspace().symbols(),
                t,
                engine,
                ready.templates(),
            );
            covered.merge(&r.coverage);
            let (message, timeline) = match &r.failure {
                None => (None, Vec::new()),
                Some((msg, lines)) => (
                    Some(msg.clone()),
                    lines.iter().map(|l| l.to_json()).collect(),
                ),
            };
            let (file, line) = place(decl.span);
            outcomes.push(Outcome {
                name: r.name,
                file,
                line,
                passed: r.failure.is_none(),
                message,
                failed_line: r.failed_at.map(|s| place(s).1),
                timeline,
            });
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed = outcomes.len() - passed;
    let coverage = with_coverage.then(|| coverage_report(&ready, dir, &covered));
    let out = match format {
        TestFormat::Json => {
            let v = serde_json::json!({
                "tests": outcomes,
                "passed": passed,
                "failed": failed,
                "coverage": coverage,
            });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        TestFormat::Junit => junit(&outcomes),
        TestFormat::Human | TestFormat::Github => {
            let mut out = String::new();
            if format == TestFormat::Github {
                for o in outcomes.iter().filter(|o| !o.passed) {
                    out.push_str(&format!(
                        "::error file={},line={},title={}::{}\n",
                        annotation_property(&o.file),
                        o.failed_line.unwrap_or(o.line),
                        annotation_property(&format!("test {}", o.name)),
                        annotation_data(o.message.as_deref().unwrap_or("failed"))
                    ));
                }
            }
            out.push_str(&human(&outcomes, &zone));
            if let Some(report) = &coverage {
                out.push_str(&coverage_table(report));
            }
            out.push_str(&format!("{passed} passed, {failed} failed\n"));
            out
        }
    };
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `ok NAME` or `FAILED NAME: why` with the timeline lines before the failure, instants
/// written in `zone`.
fn human(outcomes: &[Outcome], zone: &tandem::local_time::Zone) -> String {
    let mut out = String::new();
    for o in outcomes {
        match &o.message {
            None => out.push_str(&format!("ok      {}\n", o.name)),
            Some(msg) => {
                out.push_str(&format!("FAILED  {}: {}\n", o.name, zone.localise(msg)));
                for l in &o.timeline {
                    out.push_str(&format!("          {}\n", zone.localise(l)));
                }
            }
        }
    }
    out
}

/// JUnit XML: one suite, a case per test (classname: its file), each failure with its
/// message and the timeline lines before it.
fn junit(outcomes: &[Outcome]) -> String {
    use runtime::render::escape::html as xml;
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{}\" failures=\"{failed}\">\n<testsuite name=\"tandem\" tests=\"{}\" failures=\"{failed}\">\n",
        outcomes.len(),
        outcomes.len()
    );
    for o in outcomes {
        out.push_str(&format!(
            "  <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
            xml(&o.name),
            xml(&o.file),
            xml(&o.file),
            o.line
        ));
        match &o.message {
            None => out.push_str("/>\n"),
            Some(msg) => {
                let body = &o.timeline;
                out.push_str(&format!(
                    ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                    xml(msg),
                    xml(&body.join("\n"))
                ));
            }
        }
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}

/// A workflow command's property value (`file=`, `title=`): `%`, CR, LF, `:` and `,`
/// escaped as GitHub documents.
fn annotation_property(s: &str) -> String {
    annotation_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A workflow command's message: `%`, CR and LF escaped.
fn annotation_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Where a span is: its file (under `dir`), its line, and the first line of its text.
fn place(
    program: &runtime::embed::Program,
    dir: &std::path::Path,
    span: compiler::Span,
) -> (String, usize, String) {
    match program.workspace().file(span.file) {
        Some(f) => {
            let (line, _) = render::line_col(&f.text, span.start as usize);
            let text = f
                .text
                .get(span.range())
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned();
            (dir.join(&f.path).display().to_string(), line, text)
        }
        None => (String::new(), 0, String::new()),
    }
}

/// The coverage of a test run as JSON: journeys (steps run / never), rules, handoffs.
pub(crate) fn coverage_report(
    program: &runtime::embed::Program,
    dir: &std::path::Path,
    c: &runtime::engine::Coverage,
) -> serde_json::Value {
    use compiler::graph::NodeKind;
    let place = |span| place(program, dir, span);
    let p = program.lowered();
    let journeys: Vec<serde_json::Value> = p
        .journeys
        .iter()
        .enumerate()
        .map(|(j, jr)| {
            // Node 0 (the entry) and the end are bookkeeping, not steps.
            let steps: Vec<usize> = (1..jr.graph.nodes.len())
                .filter(|&n| !matches!(jr.graph.nodes[n].kind, NodeKind::End))
                .collect();
            let mut missed: Vec<(usize, serde_json::Value)> = steps
                .iter()
                .filter(|n| !c.nodes.contains_key(&(j, **n)))
                .map(|n| {
                    let (file, line, step) = place(jr.graph.nodes[*n].span);
                    (
                        line,
                        serde_json::json!({"file": file, "line": line, "step": step}),
                    )
                })
                .collect();
            missed.sort_by_key(|m| m.0);
            let never: Vec<serde_json::Value> = missed.into_iter().map(|m| m.1).collect();
            serde_json::json!({
                "journey": jr.name,
                "steps": steps.len(),
                "ran": steps.len() - never.len(),
                "never": never,
            })
        })
        .collect();
    let rules: Vec<serde_json::Value> = p
        .rules
        .iter()
        .enumerate()
        .map(|(r, rule)| serde_json::json!({"rule": rule.name, "fired": c.rules.contains(&r)}))
        .collect();
    let handoffs: Vec<serde_json::Value> = p
        .handoffs
        .iter()
        .enumerate()
        .map(|(h, hd)| {
            let clauses: Vec<serde_json::Value> = hd
                .slas
                .iter()
                .enumerate()
                .map(|(k, sla)| {
                    let (_, line, text) = place(sla.span);
                    serde_json::json!({"clause": text, "line": line, "fired": c.slas.contains(&(h, k))})
                })
                .collect();
            serde_json::json!({
                "handoff": hd.name,
                "started": c.handoffs.contains(&h),
                "clauses": clauses,
                "outcomes": {
                    "accept": c.outcomes.contains(&(h, 0)),
                    "reject": c.outcomes.contains(&(h, 1)),
                    "complete": c.outcomes.contains(&(h, 2)),
                },
            })
        })
        .collect();
    serde_json::json!({"journeys": journeys, "rules": rules, "handoffs": handoffs})
}

/// The coverage report as a table.
pub(crate) fn coverage_table(r: &serde_json::Value) -> String {
    let mut out = String::from("coverage\n");
    let empty = Vec::new();
    for j in r["journeys"].as_array().unwrap_or(&empty) {
        out.push_str(&format!(
            "  journey {:<28} {:>3}/{:<3} steps ran\n",
            j["journey"].as_str().unwrap_or(""),
            j["ran"],
            j["steps"]
        ));
        for n in j["never"].as_array().unwrap_or(&empty) {
            out.push_str(&format!(
                "      never ran: {}  ({}:{})\n",
                n["step"].as_str().unwrap_or(""),
                n["file"].as_str().unwrap_or(""),
                n["line"]
            ));
        }
    }
    for rule in r["rules"].as_array().unwrap_or(&empty) {
        let fired = if rule["fired"].as_bool() == Some(true) {
            "fired"
        } else {
            "never fired"
        };
        out.push_str(&format!(
            "  rule    {:<28} {fired}\n",
            rule["rule"].as_str().unwrap_or("")
        ));
    }
    for h in r["handoffs"].as_array().unwrap_or(&empty) {
        let started = if h["started"].as_bool() == Some(true) {
            "started"
        } else {
            "never started"
        };
        out.push_str(&format!(
            "  handoff {:<28} {started}\n",
            h["handoff"].as_str().unwrap_or("")
        ));
        for c in h["clauses"].as_array().unwrap_or(&empty) {
            let fired = if c["fired"].as_bool() == Some(true) {
                "fired"
            } else {
                "never fired"
            };
            out.push_str(&format!(
                "      {:<52} {fired}\n",
                c["clause"].as_str().unwrap_or("")
            ));
        }
        for o in ["accept", "reject", "complete"] {
            let seen = if h["outcomes"][o].as_bool() == Some(true) {
                "tested"
            } else {
                "never tested"
            };
            out.push_str(&format!("      on {o:<49} {seen}\n"));
        }
    }
    out
}
