//! `tandem backtest NEW --store S`: the store's recorded inputs replayed on a virtual clock under the program that ran (its stored versions) and under NEW, side by side — no effect of either reaches anyone.

use super::*;
use runtime::backtest::{Report, Side};
use runtime::scenario::Input;

/// `tandem backtest NEW --store S [--format human|json] [--leads N] [--engine …]`.
pub(crate) fn backtest(
    new_dir: &std::path::Path,
    store: &str,
    format: DiffFormat,
    limit: usize,
    kind: compiler::evaluator::EvaluatorKind,
) -> ExitCode {
    if matches!(format, DiffFormat::Markdown) {
        return fail(
            "`--format markdown` is for `tandem diff`; backtest writes `human` or `json`".into(),
        );
    }
    let new = match prepare(new_dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match run_both(&new, store, kind, limit) {
        Ok((report, summary)) => {
            match format {
                DiffFormat::Json => {
                    let v = serde_json::json!({ "history": summary, "report": report });
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                }
                DiffFormat::Human | DiffFormat::Markdown => print_human(&report, &summary),
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// What was replayed.
#[derive(serde::Serialize)]
struct History {
    inputs: usize,
    leads: usize,
    from: String,
    until: String,
    versions: usize,
}

fn run_both(
    new: &runtime::embed::Program,
    location: &str,
    kind: compiler::evaluator::EvaluatorKind,
    limit: usize,
) -> Result<(Report, History), String> {
    let mut store = super::diff::open_store(location)?;
    let Some((start, _)) = store.meta().map_err(|e| format!("{location}: {e}"))? else {
        return Err(format!("{location}: the store has no history yet"));
    };
    let versions = store.programs().map_err(|e| format!("{location}: {e}"))?;
    if versions.is_empty() {
        return Err(format!("{location}: the store holds no program version"));
    }
    let version_count = versions.len();
    let inputs: Vec<Input> = store.inputs().map_err(|e| format!("{location}: {e}"))?;
    let passes = |keep: &rustc_hash::FxHashSet<String>| -> Result<(Side, Side, i64), String> {
        replay(new, versions.clone(), &inputs, start, kind, keep)
    };
    // The first pass sums both sides up and finds the leads that differ; a second keeps
    // the lines of the ones listed (memory by leads, not by lines).
    let none = rustc_hash::FxHashSet::default();
    let (mut recorded, mut side, mut until) = passes(&none)?;
    let listed: rustc_hash::FxHashSet<String> = Side::differing(&recorded, &side)
        .into_iter()
        .take(limit)
        .collect();
    if !listed.is_empty() {
        (recorded, side, until) = passes(&listed)?;
    }

    let stages = &new.lowered().exprs.stages;
    let mut named: Vec<(u64, String)> = stages
        .codes
        .iter()
        .copied()
        .zip(stages.names.iter().cloned())
        .collect();
    named.sort();
    let (funnel, outside): (Vec<_>, Vec<_>) = named
        .into_iter()
        .partition(|(code, _)| *code < compiler::ir::OUTSIDE_STAGE_BASE);
    let funnel: Vec<String> = funnel.into_iter().map(|(_, n)| n).collect();
    let outside: Vec<String> = outside.into_iter().map(|(_, n)| n).collect();
    let report = Report::new(&recorded, &side, &funnel, &outside, limit);
    let leads: std::collections::BTreeSet<&str> = inputs.iter().map(|i| i.lead.as_str()).collect();
    let history = History {
        inputs: inputs.len(),
        leads: leads.len(),
        from: runtime::timeline::format_instant(start),
        until: runtime::timeline::format_instant(until),
        versions: version_count,
    };
    Ok((report, history))
}

/// Replays `inputs` under the stored versions (as the service rebuilds) and under `new`,
/// on a virtual clock from `start`; returns both sides and where the clock stopped.
fn replay(
    new: &runtime::embed::Program,
    versions: Vec<service::store::StoredVersion>,
    inputs: &[Input],
    start: i64,
    kind: compiler::evaluator::EvaluatorKind,
    keep: &rustc_hash::FxHashSet<String>,
) -> Result<(Side, Side, i64), String> {
    let bar = progress(inputs.len() as u64 * 2);
    let mut recorded = Side::keeping(keep.clone());
    let mut rebuilt =
        service::engine_thread::rebuild(versions, inputs, start, kind, None, |_, lines, _| {
            bar.inc(1);
            for l in lines {
                recorded.add(l);
            }
        })?;
    let until = inputs
        .iter()
        .map(|i| i.at)
        .max()
        .unwrap_or(start)
        .max(rebuilt.running.world().now());
    for l in rebuilt.running.with(|_, world| world.advance_to(until)) {
        recorded.add(&l);
    }
    let mut side = Side::keeping(keep.clone());
    let mut world = new
        .world(kind)
        .map_err(|e| format!("the new program cannot run here: {e:?}"))?;
    world.start(start);
    for input in inputs {
        for l in world.input(input) {
            side.add(&l);
        }
        bar.inc(1);
    }
    for l in world.advance_to(until) {
        side.add(&l);
    }
    bar.finish_and_clear();
    Ok((recorded, side, until))
}

/// A progress bar on a terminal (standard error), nothing otherwise.
fn progress(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "replaying {bar:30} {pos}/{len} inputs, both programs (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn print_human(r: &Report, h: &History) {
    println!(
        "{} recorded inputs of {} leads, {} → {} ({} program version{} ran); replayed on a virtual clock, nothing sent",
        h.inputs,
        h.leads,
        h.from,
        h.until,
        h.versions,
        if h.versions == 1 { "" } else { "s" }
    );
    println!();
    let width = r
        .rows
        .iter()
        .map(|row| row.what.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    println!(
        "{:width$}  {:>9}  {:>9}  {:>7}",
        "", "recorded", "new", "change"
    );
    for row in &r.rows {
        if row.recorded == 0 && row.new == 0 {
            continue;
        }
        let change = i128::from(row.new) - i128::from(row.recorded);
        let change = if change == 0 {
            "=".to_owned()
        } else {
            format!("{change:+}")
        };
        println!(
            "{:width$}  {:>9}  {:>9}  {:>7}",
            row.what, row.recorded, row.new, change
        );
    }
    println!();
    match &r.outcomes {
        None => println!(
            "(no `mql` and `sql` stages in the funnel: MQL is not scored against outcomes)"
        ),
        Some(o) => {
            println!(
                "MQL against outcomes ({} leads with a known outcome, {} of them later SQL or better):",
                o.known, o.positives
            );
            let pct =
                |x: Option<f64>| x.map_or("—".to_owned(), |x| format!("{:.0} %", x * 100.0));
            let days = |x: Option<f64>| x.map_or("—".to_owned(), |x| format!("{x:.1}"));
            println!(
                "{:10}  {:>8}  {:>9}  {:>7}  {:>17}",
                "", "made MQL", "precision", "recall", "median days early"
            );
            for (name, s) in [("recorded", &o.recorded), ("new", &o.new)] {
                println!(
                    "{:10}  {:>8}  {:>9}  {:>7}  {:>17}",
                    name,
                    s.made_mql,
                    pct(s.precision),
                    pct(s.recall),
                    days(s.median_days_early)
                );
            }
        }
    }
    println!();
    println!("{} leads would have a different story", r.leads_differing);
    for l in &r.leads {
        println!(
            "  {}: stage {} → {}",
            l.lead,
            or_none(&l.stage_recorded),
            or_none(&l.stage_new)
        );
        println!(
            "    recorded: {}",
            l.first_recorded.as_deref().unwrap_or("(nothing more)")
        );
        println!(
            "    new:      {}",
            l.first_new.as_deref().unwrap_or("(nothing more)")
        );
    }
    if r.leads_differing > r.leads.len() as u64 {
        println!(
            "  … and {} more (--leads N lists more)",
            r.leads_differing - r.leads.len() as u64
        );
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "(none)"
    } else {
        s
    }
}
