//! `tandem backtest NEW`: recorded history — a running service's store, or leads and events exported as CSV — replayed on a virtual clock under the program that ran (its stored versions, or a baseline program) and under NEW, side by side; no effect of either reaches anyone.

use std::path::PathBuf;

use super::*;
use compiler::evaluator::EvaluatorKind;
use runtime::backtest::{Report, Side};
use runtime::scenario::Input;

/// `tandem backtest`'s arguments.
#[derive(clap::Args)]
pub(crate) struct BacktestArgs {
    /// The program to try
    new: PathBuf,
    /// The running service's store (a SQLite file such as `tandem.db`, or a
    /// `postgres://` URL): its recorded inputs are the history
    #[arg(long, required_unless_present = "events_csv", conflicts_with_all = ["leads_csv", "events_csv"])]
    store: Option<String>,
    /// History exported from another tool: the leads (CSV with an `id` or `email` column,
    /// lead fields, and optionally `created_at`); needs --events-csv and --baseline
    #[arg(long, requires_all = ["events_csv", "baseline"])]
    leads_csv: Option<PathBuf>,
    /// History exported from another tool: the events (CSV with `lead`, `event`, `at`,
    /// then properties as columns or as a JSON object in `properties`)
    #[arg(long, requires_all = ["leads_csv", "baseline"])]
    events_csv: Option<PathBuf>,
    /// The program to compare NEW with, replayed over the same history (with --store it
    /// replaces the versions that ran; with CSV history it is required)
    #[arg(long)]
    baseline: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: BacktestFormat,
    /// Count only what happened from this instant on (RFC 3339, or a date such as
    /// 2026-10-01 in the program's time zone); earlier history still sets each lead's state
    #[arg(long)]
    since: Option<String>,
    /// Replay the history up to this instant only
    #[arg(long)]
    until: Option<String>,
    /// Replay a sample of the leads: this percentage of them, chosen by a hash of the
    /// lead id (the same leads every time)
    #[arg(long, value_parser = percent)]
    sample: Option<f64>,
    /// How many differing leads to list
    #[arg(long, default_value_t = 20)]
    leads: usize,
    /// Which evaluator runs conditions
    #[arg(long, default_value = "jit")]
    engine: EvaluatorKind,
}

/// How the report is written.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BacktestFormat {
    /// tables for a terminal
    Human,
    /// one JSON object {history, report}
    Json,
    /// one self-contained HTML page with charts (opens offline)
    Html,
}

fn percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
        _ => Err(format!("`{s}` is not a percentage above 0 and at most 100")),
    }
}

pub(crate) fn backtest(args: BacktestArgs) -> ExitCode {
    let new = match prepare(&args.new) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match run_both(&new, &args) {
        Ok((report, history)) => {
            match args.format {
                BacktestFormat::Json => {
                    let v = serde_json::json!({ "history": history, "report": report });
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                }
                BacktestFormat::Html => {
                    print!("{}", super::backtest_html::page(&report, &history));
                }
                BacktestFormat::Human => print_human(&report, &history),
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// What was replayed.
#[derive(serde::Serialize)]
pub(crate) struct History {
    /// `store` or `csv`.
    pub source: &'static str,
    /// What NEW was compared with: `the versions that ran` or the baseline's folder.
    pub baseline: String,
    pub inputs: usize,
    pub leads: usize,
    pub from: String,
    pub until: String,
    /// The start of the counted span (`--since`), when given.
    pub counted_from: Option<String>,
    /// `--sample`, when given.
    pub sample_percent: Option<f64>,
    /// Program versions that ran (a store's history).
    pub versions: usize,
}

/// What NEW is compared with.
enum Baseline {
    /// The program versions stored with the history, each from where it was deployed.
    Ran(Vec<service::store::StoredVersion>),
    /// One program, over the whole history.
    Program(compiler::ProgramSource),
}

/// The history to replay.
struct Loaded {
    inputs: Vec<Input>,
    start: i64,
    baseline: Baseline,
    versions: usize,
}

fn load(new: &runtime::embed::Program, args: &BacktestArgs) -> Result<Loaded, String> {
    let baseline_program = match &args.baseline {
        Some(dir) => Some(
            prepare_source(dir)
                .map(|(_, source)| source)
                .map_err(|_| format!("the baseline {} does not check", dir.display()))?,
        ),
        None => None,
    };
    if let Some(location) = &args.store {
        let mut store = super::diff::open_store(location)?;
        let Some((start, _)) = store.meta().map_err(|e| format!("{location}: {e}"))? else {
            return Err(format!("{location}: the store has no history yet"));
        };
        let versions = store.programs().map_err(|e| format!("{location}: {e}"))?;
        if versions.is_empty() && baseline_program.is_none() {
            return Err(format!("{location}: the store holds no program version"));
        }
        let count = versions.len();
        let inputs = store.inputs().map_err(|e| format!("{location}: {e}"))?;
        return Ok(Loaded {
            inputs,
            start,
            baseline: match baseline_program {
                Some(p) => Baseline::Program(p),
                None => Baseline::Ran(versions),
            },
            versions: count,
        });
    }
    let (Some(leads), Some(events), Some(baseline)) =
        (&args.leads_csv, &args.events_csv, baseline_program)
    else {
        return Err(
            "give the history: --store, or --leads-csv and --events-csv with --baseline".into(),
        );
    };
    // The history must mean the same to both programs: read against each.
    let read = |sym: &compiler::symbols::Symbols, which: &str| {
        tandem::history_csv::read_history(leads, events, sym)
            .map_err(|e| format!("{e} (reading the history for {which})"))
    };
    let history = read(new.workspace().symbols(), "the new program")?;
    let checked = compiler::check_program(&baseline);
    read(checked.symbols(), "the baseline")?;
    let start = history.inputs.first().map_or(0, |i| i.at);
    Ok(Loaded {
        inputs: history.inputs,
        start,
        baseline: Baseline::Program(baseline),
        versions: 0,
    })
}

/// An instant given on the command line, read in the program's time zone.
fn instant_arg(flag: &str, text: &str, new: &runtime::embed::Program) -> Result<i64, String> {
    let tz = new
        .workspace()
        .symbols()
        .timezone
        .as_ref()
        .map(|(tz, _)| tz.as_str());
    match tandem::import::cell_value("time", text, tz) {
        Ok(Some(serde_json::Value::String(s))) => runtime::scenario::parse_instant(&s),
        Ok(_) => Err(format!("`{text}` is empty")),
        Err(e) => Err(e),
    }
    .map_err(|e| format!("{flag}: {e}"))
}

/// Whether a lead is in a `pct` % sample: FNV-1a of its id, the same on every run and
/// every machine.
fn sampled(lead: &str, pct: f64) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in lead.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((h % 10_000) as f64) < pct * 100.0
}

fn run_both(
    new: &runtime::embed::Program,
    args: &BacktestArgs,
) -> Result<(Report, History), String> {
    let since = args
        .since
        .as_deref()
        .map(|t| instant_arg("--since", t, new))
        .transpose()?;
    let until_arg = args
        .until
        .as_deref()
        .map(|t| instant_arg("--until", t, new))
        .transpose()?;
    let Loaded {
        mut inputs,
        start,
        baseline,
        versions,
    } = load(new, args)?;
    if let Some(u) = until_arg {
        inputs.retain(|i| i.at <= u);
    }
    if let Some(pct) = args.sample {
        inputs.retain(|i| sampled(&i.lead, pct));
    }
    let last = inputs.iter().map(|i| i.at).max().unwrap_or(start);
    let until = until_arg.unwrap_or(last).max(start);
    if let (Some(s), Some(u)) = (since, until_arg) {
        if s > u {
            return Err("--since is after --until".into());
        }
    }
    let window = since.map(|s| (s, until));
    let baseline_name = match (&baseline, &args.baseline) {
        (Baseline::Program(_), Some(dir)) => dir.display().to_string(),
        _ => "the versions that ran".to_owned(),
    };
    // The first pass sums both sides up and finds the leads that differ; a second keeps
    // the lines of the ones listed (memory by leads, not by lines).
    let none = rustc_hash::FxHashSet::default();
    let (mut recorded, mut side) =
        replay(new, &baseline, &inputs, start, until, args, window, &none)?;
    let listed: rustc_hash::FxHashSet<String> = Side::differing(&recorded, &side)
        .into_iter()
        .take(args.leads)
        .collect();
    if !listed.is_empty() {
        (recorded, side) = replay(new, &baseline, &inputs, start, until, args, window, &listed)?;
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
    let report = Report::new(&recorded, &side, &funnel, &outside, args.leads);
    let leads: std::collections::BTreeSet<&str> = inputs.iter().map(|i| i.lead.as_str()).collect();
    let history = History {
        source: if args.store.is_some() { "store" } else { "csv" },
        baseline: baseline_name,
        inputs: inputs.len(),
        leads: leads.len(),
        from: runtime::timeline::format_instant(start),
        until: runtime::timeline::format_instant(until),
        counted_from: since.map(runtime::timeline::format_instant),
        sample_percent: args.sample,
        versions,
    };
    Ok((report, history))
}

/// Replays `inputs` under the baseline and under `new` at once, the baseline on a
/// second thread (the two share nothing but the inputs), on a virtual clock from
/// `start` to `until`; returns both sides.
#[allow(clippy::too_many_arguments)]
fn replay(
    new: &runtime::embed::Program,
    baseline: &Baseline,
    inputs: &[Input],
    start: i64,
    until: i64,
    args: &BacktestArgs,
    window: Option<(i64, i64)>,
    keep: &rustc_hash::FxHashSet<String>,
) -> Result<(Side, Side), String> {
    let kind = args.engine;
    let side_for = || {
        let side = Side::keeping(keep.clone());
        match window {
            Some((from, to)) => side.within(from, to),
            None => side,
        }
    };
    let bar = progress(inputs.len() as u64 * 2);
    std::thread::scope(|s| {
        let base = s.spawn(|| -> Result<Side, String> {
            let mut recorded = side_for();
            match baseline {
                Baseline::Ran(versions) => {
                    let mut rebuilt = service::engine_thread::rebuild(
                        versions.clone(),
                        inputs,
                        start,
                        kind,
                        None,
                        |_, lines, _| {
                            bar.inc(1);
                            for l in lines {
                                recorded.add(l);
                            }
                        },
                    )?;
                    for l in rebuilt.running.with(|_, world| world.advance_to(until)) {
                        recorded.add(&l);
                    }
                }
                Baseline::Program(source) => {
                    let program = runtime::embed::Program::check(source.clone())
                        .map_err(|_| "the baseline does not check".to_owned())?;
                    let mut world = program
                        .world_without_log(kind)
                        .map_err(|e| format!("the baseline cannot run here: {}", e.0))?;
                    world.start(start);
                    for input in inputs {
                        for l in world.input(input) {
                            recorded.add(&l);
                        }
                        bar.inc(1);
                    }
                    for l in world.advance_to(until) {
                        recorded.add(&l);
                    }
                }
            }
            Ok(recorded)
        });
        let mut side = side_for();
        let mut world = new
            .world_without_log(kind)
            .map_err(|e| format!("the new program cannot run here: {}", e.0))?;
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
        let recorded = base
            .join()
            .map_err(|_| "the baseline's replay stopped unexpectedly".to_owned())??;
        bar.finish_and_clear();
        Ok((recorded, side))
    })
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
    let source = match h.source {
        "store" if h.baseline == "the versions that ran" => format!(
            "{} program version{} ran",
            h.versions,
            if h.versions == 1 { "" } else { "s" }
        ),
        "store" => format!("compared with {}", h.baseline),
        _ => format!("from CSV, compared with {}", h.baseline),
    };
    println!(
        "{} recorded inputs of {} leads, {} → {} ({source}); replayed on a virtual clock, nothing sent",
        h.inputs, h.leads, h.from, h.until,
    );
    if let Some(from) = &h.counted_from {
        println!("counted from {from} (earlier history sets each lead's state only)");
    }
    if let Some(p) = h.sample_percent {
        println!("a {p} % sample of the leads (by a hash of the lead id)");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_stable_and_about_the_size_asked() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("lead{i}")).collect();
        let n = ids.iter().filter(|id| sampled(id, 10.0)).count();
        assert!(
            (1_700..2_300).contains(&n),
            "{n} of 20,000 in a 10 % sample"
        );
        assert!(ids.iter().all(|id| sampled(id, 100.0)));
        // The same ids every time, and a larger sample holds a smaller one.
        assert!(ids
            .iter()
            .filter(|id| sampled(id, 10.0))
            .all(|id| sampled(id, 25.0)));
    }

    #[test]
    fn percentages_outside_the_range_are_refused() {
        assert_eq!(percent("25%"), Ok(25.0));
        assert!(percent("0").is_err());
        assert!(percent("150").is_err());
        assert!(percent("ten").is_err());
    }
}
