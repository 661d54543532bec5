//! `tandem diff`: what a new program version changes, with the leads waiting in a store.

use super::*;

/// A running service's store, read only: a SQLite file or a `postgres://` URL.
pub(crate) fn open_store(location: &str) -> Result<Box<dyn service::store::Store>, String> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        let store = service::pg::PgStore::open(location).map_err(|e| format!("{location}: {e}"))?;
        return Ok(Box::new(store));
    }
    let path = std::path::Path::new(location);
    if !path.is_file() {
        return Err(format!("no store file at {location}"));
    }
    let store = service::store::SqliteStore::open_read_only(path)
        .map_err(|e| format!("{location}: {e}"))?;
    Ok(Box::new(store))
}

/// `tandem diff OLD NEW [--store S]`.
pub(crate) fn diff(
    old_dir: &std::path::Path,
    new_dir: &std::path::Path,
    store: Option<&str>,
    format: DiffFormat,
    exit_code: bool,
) -> ExitCode {
    use compiler::diff::diff_programs;
    let (old, old_source) = match prepare_source(old_dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let new = match prepare(new_dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let waiting = match store {
        None => None,
        Some(s) => match waiting_in_store(&old, old_source.files(), s) {
            Ok(w) => Some(w),
            Err(e) => return fail(e),
        },
    };
    let changes = diff_programs(
        (old.lowered(), old.workspace()),
        (new.lowered(), new.workspace()),
    );
    let lowered = old.lowered();
    let waiting = waiting.as_deref();
    let count = |journey: &str, node: usize| -> Option<u64> {
        let j = lowered.journeys.iter().position(|j| j.name == journey);
        service::deploy::waiting_at(waiting, j, node)
    };
    let out = match format {
        DiffFormat::Json => {
            let v = service::deploy::changes_json(&changes, lowered, waiting);
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        DiffFormat::Human => human(&changes, &count),
        DiffFormat::Markdown => markdown(&changes, &count),
    };
    // Written at once: a closed pipe (`| head`) is an exit code, not a panic.
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    match (exit_code, changes.is_empty()) {
        (true, false) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

fn waiting_words(n: Option<u64>) -> String {
    match n {
        Some(1) => " — 1 lead waits here".to_owned(),
        Some(n) => format!(" — {n} leads wait here"),
        None => String::new(),
    }
}

/// A journey's changed, moved, removed and added steps, one line each after `prefix`,
/// step texts quoted by `quote` (the human and Markdown forms differ only there).
fn step_lines(
    out: &mut String,
    c: &compiler::diff::DeclChange,
    count: &dyn Fn(&str, usize) -> Option<u64>,
    prefix: &str,
    quote: &dyn Fn(&str) -> String,
) {
    for s in &c.steps {
        let what = match &s.new_label {
            Some(new) => format!("changed → {}", quote(new)),
            None => service::deploy::fate_word(s.fate).to_owned(),
        };
        let n = waiting_words(count(&c.name, s.node));
        out.push_str(&format!(
            "{prefix}step {} ({}:{}): {what}{n}\n",
            quote(&s.label),
            s.file,
            s.line
        ));
    }
    for s in &c.added_steps {
        out.push_str(&format!(
            "{prefix}step {} ({}:{}): added\n",
            quote(&s.label),
            s.file,
            s.line
        ));
    }
}

/// One line per declaration, indented lines for its values and steps.
fn human(
    changes: &[compiler::diff::DeclChange],
    count: &dyn Fn(&str, usize) -> Option<u64>,
) -> String {
    let mut out = String::new();
    if changes.is_empty() {
        out.push_str("no change in meaning\n");
    }
    for c in changes {
        let parts = if c.parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.parts.join(", "))
        };
        out.push_str(&format!(
            "{} {}: {}{parts}\n",
            c.kind.keyword(),
            c.name,
            c.change.word()
        ));
        for v in &c.values {
            out.push_str(&format!("  {}: {} → {}\n", v.part, v.old, v.new));
        }
        step_lines(&mut out, c, count, "  ", &|t| format!("`{t}`"));
    }
    out
}

/// The same as a Markdown comment for a pull request.
fn markdown(
    changes: &[compiler::diff::DeclChange],
    count: &dyn Fn(&str, usize) -> Option<u64>,
) -> String {
    let mut out = String::from("### Tandem: what this change does\n\n");
    if changes.is_empty() {
        out.push_str("No change in meaning.\n");
        return out;
    }
    let code = |t: &str| format!("`{}`", t.replace('`', "'"));
    for c in changes {
        out.push_str(&format!(
            "- **{} {}** — {}",
            c.kind.keyword(),
            c.name,
            c.change.word()
        ));
        if !c.parts.is_empty() {
            out.push_str(&format!(" ({})", c.parts.join(", ")));
        }
        out.push('\n');
        for v in &c.values {
            out.push_str(&format!(
                "  - {}: {} → {}\n",
                v.part,
                code(&v.old),
                code(&v.new)
            ));
        }
        step_lines(&mut out, c, count, "  - ", &code);
    }
    out
}

/// Rebuilds the world of a running service's store up to now, replaying its input log
/// version by version as the service does at start (a store with no recorded version is
/// replayed under `program`, whose files are `files`), and counts the leads waiting at
/// each step of each journey of `program`. The store's leads wait at steps of the version
/// it runs: a step of `program` counts the leads at the same step there (same text, same
/// successors); leads still in a kept earlier version of a journey are not counted.
pub(crate) fn waiting_in_store(
    program: &runtime::embed::Program,
    files: Vec<(String, String)>,
    location: &str,
) -> Result<Vec<Vec<u64>>, String> {
    use compiler::diff::{match_steps, Canon, StepFate};
    let mut store = open_store(location)?;
    let lowered = program.lowered();
    let Some((start, _)) = store.meta().map_err(|e| format!("{location}: {e}"))? else {
        return Ok(vec![Vec::new(); lowered.journeys.len()]);
    };
    let mut versions = store.programs().map_err(|e| format!("{location}: {e}"))?;
    if versions.is_empty() {
        versions.push(service::store::StoredVersion {
            version: 1,
            at: start,
            inputs_before: Some(0),
            files,
        });
    }
    let kind = compiler::evaluator::EvaluatorKind::Jit;
    // The newest snapshot the service wrote, then the inputs after it.
    let resumed = service::snapshot::resume_newest(
        &mut *store,
        &versions,
        kind,
        &service::engine_thread::dashboard_for,
    );
    let (inputs, from) = match resumed {
        Some(r) => (store.inputs_after(r.after_seq), Some(r.from)),
        None => (store.inputs(), None),
    };
    let inputs = inputs.map_err(|e| format!("{location}: {e}"))?;
    let mut rebuilt =
        service::engine_thread::rebuild(versions, &inputs, start, kind, from, |_, _, _| {})?;
    let now = jiff::Timestamp::now().as_second();
    let until = now.max(rebuilt.running.world().now());
    rebuilt.running.with(|_, world| world.advance_to(until));
    let positions = rebuilt.running.world().engine_ref().journey_positions();
    let running = rebuilt.running.program().lowered();
    let (oc, rc) = (Canon { p: lowered }, Canon { p: running });
    Ok(lowered
        .journeys
        .iter()
        .map(|oj| {
            let mut counts = vec![0; oj.graph.nodes.len()];
            let same = running
                .journeys
                .iter()
                .position(|j| j.kept_as.is_none() && j.name == oj.name);
            if let Some(rj) = same {
                let fates = match_steps(&rc, &running.journeys[rj].graph, &oc, &oj.graph);
                for (node, fate) in fates.into_iter().enumerate() {
                    if let (StepFate::Same(k), Some(n)) = (fate, positions[rj].get(node)) {
                        counts[k] += n;
                    }
                }
            }
            counts
        })
        .collect())
}
