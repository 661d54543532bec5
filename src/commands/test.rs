//! `tandem test`: every `test` block of a program, with what they covered.

use super::*;

pub(crate) fn test(
    dir: &std::path::Path,
    engine: compiler::evaluator::EvaluatorKind,
    with_coverage: bool,
    format: Format,
) -> ExitCode {
    let ready = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (mut passed, mut failed) = (0, 0);
    let mut out = String::new();
    let mut covered = runtime::engine::Coverage::default();
    for (_, file) in ready.workspace().program_files() {
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
            match r.failure {
                None => {
                    passed += 1;
                    out.push_str(&format!("ok      {}\n", r.name));
                }
                Some((msg, lines)) => {
                    failed += 1;
                    out.push_str(&format!("FAILED  {}: {msg}\n", r.name));
                    for l in lines {
                        out.push_str(&format!("          {}\n", l.to_json()));
                    }
                }
            }
        }
    }
    if with_coverage {
        let report = coverage_report(&ready, dir, &covered);
        match format {
            Format::Json => {
                out.push_str(&serde_json::to_string_pretty(&report).unwrap_or_default());
                out.push('\n');
            }
            _ => out.push_str(&coverage_table(&report)),
        }
    }
    out.push_str(&format!("{passed} passed, {failed} failed\n"));
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The coverage of a test run as JSON: journeys (steps run / never), rules, handoffs.
pub(crate) fn coverage_report(
    program: &runtime::embed::Program,
    dir: &std::path::Path,
    c: &runtime::engine::Coverage,
) -> serde_json::Value {
    use compiler::graph::NodeKind;
    let place = |span: compiler::Span| -> (String, usize, String) {
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
    };
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
