//! `tandem explain`: why a lead stands where it does at an instant of a scenario.

use super::*;

pub(crate) fn explain(
    dir: &std::path::Path,
    scenario: &std::path::Path,
    lead: &str,
    at: Option<&str>,
) -> ExitCode {
    let program = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let text = match std::fs::read_to_string(scenario) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    let parsed = match runtime::scenario::parse_scenario(&text, program.workspace().symbols()) {
        Ok(s) => s,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    let until = match at.map(runtime::scenario::parse_instant) {
        None => parsed.until,
        Some(Ok(t)) => t,
        Some(Err(e)) => return fail(format!("--at: {e}")),
    };
    let mut world = match program.world(compiler::evaluator::EvaluatorKind::Interp) {
        Ok(w) => w,
        Err(e) => return fail(e.0),
    };
    world.start(parsed.start);
    for input in parsed.inputs.iter().filter(|i| i.at <= until) {
        world.input(input);
    }
    world.advance_to(until);
    let Some(index) = world.engine().lead(lead) else {
        return fail(format!(
            "the scenario has no lead `{lead}` by {}",
            runtime::timeline::format_instant(until)
        ));
    };
    let x = world.engine().explain(index);
    let source_of = |span: compiler::Span| -> (String, String) {
        match program.workspace().file(span.file) {
            Some(f) => {
                let text = f
                    .text
                    .get(span.range())
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let (line, _) = render::line_col(&f.text, span.start as usize);
                (text, format!("{}:{line}", dir.join(&f.path).display()))
            }
            None => (String::new(), String::new()),
        }
    };
    let lowered = program.lowered();
    let num = |v: f64| {
        let mut b = ryu_js::Buffer::new();
        b.format(v).to_owned()
    };
    let mut out = format!(
        "lead {lead} at {}\n",
        runtime::timeline::format_instant(until)
    );
    out.push_str(&format!(
        "stage: {} (last changed by {})\n",
        x.stage, x.stage_cause
    ));
    for s in &x.scores {
        let mut bounds = Vec::new();
        if let Some(m) = s.min {
            bounds.push(format!("min {}", num(m)));
        }
        if let Some(m) = s.max {
            bounds.push(format!("max {}", num(m)));
        }
        if let Some((pct, secs)) = s.decay {
            bounds.push(format!(
                "event part decays {pct}% every {} days",
                num(secs as f64 / 86_400.0)
            ));
        }
        out.push_str(&format!(
            "score {} = {}: attribute part {} + event part {}{}\n",
            s.name,
            num(s.value),
            num(s.attribute_part),
            num(s.event_part),
            if bounds.is_empty() {
                String::new()
            } else {
                format!(" ({})", bounds.join(", "))
            }
        ));
        for (points, f, holds) in &s.if_lines {
            let span = lowered
                .origins
                .iter()
                .find(|o| o.func == *f)
                .map(|o| o.span)
                .unwrap_or_default();
            let (cond, place) = source_of(span);
            let mark = if *holds { "counts" } else { "no    " };
            let signed = if *points >= 0.0 {
                format!("+{}", num(*points))
            } else {
                num(*points)
            };
            out.push_str(&format!("  {mark} {signed:>5}  if {cond}  ({place})\n"));
        }
    }
    if x.journeys.is_empty() {
        out.push_str("journeys: none\n");
    }
    for (name, span, waiting) in &x.journeys {
        let (_, place) = source_of(*span);
        out.push_str(&format!("journey {name}: {waiting} at {place}\n"));
    }
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
