//! `tandem simulate`: a scenario through the engine, the timeline's exact bytes out.

use super::*;

pub(crate) fn simulate(
    dir: &std::path::Path,
    scenario: &std::path::Path,
    engine: compiler::evaluator::EvaluatorKind,
) -> ExitCode {
    let ready = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let text = match std::fs::read_to_string(scenario) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    let parsed = match runtime::scenario::parse_scenario(&text, ready.workspace().symbols()) {
        Ok(s) => s,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    let mut world = match ready.world(engine) {
        Ok(w) => w,
        Err(e) => return fail(e.0),
    };
    world.start(parsed.start);
    let mut out = String::new();
    for input in &parsed.inputs {
        for line in world.input(input) {
            out.push_str(&line.to_json());
            out.push('\n');
        }
    }
    for line in world.advance_to(parsed.until) {
        out.push_str(&line.to_json());
        out.push('\n');
    }
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
