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
    /// How to write the report
    #[arg(long, value_enum, default_value = "human")]
    format: BacktestFormat,
    /// Count only what happened from this instant on (RFC 3339, or a date such as
    /// 2026-10-01 in the program's time zone); earlier history still sets each lead's state
    #[arg(long)]
    since: Option<String>,
    /// Replay the history up to this instant only (written as for --since)
    #[arg(long)]
    until: Option<String>,
    /// Replay a sample of the leads: this percentage of them, chosen by a hash of the
    /// lead id (the same leads every time)
    #[arg(long, value_parser = percent)]
    sample: Option<f64>,
    /// How many differing leads to list
    #[arg(long, default_value_t = 20)]
    leads: usize,
    /// Which engine evaluates conditions: `jit` (compiled) or `interp` (interpreted)
    #[arg(long, default_value = "jit")]
    engine: EvaluatorKind,
    /// The time zone of the instants in the human report, an IANA name such as
    /// Asia/Ho_Chi_Minh or UTC [default: NEW's `timezone`]; JSON and HTML stay in UTC
    #[arg(long, value_name = "ZONE", value_parser = tandem::local_time::parse_zone)]
    tz: Option<tandem::local_time::Zone>,
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
            let out = match args.format {
                BacktestFormat::Json => {
                    let v = serde_json::json!({ "history": history, "report": report });
                    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                BacktestFormat::Html => super::backtest_html::page(&report, &history),
                BacktestFormat::Human => {
                    let zone = tandem::local_time::Zone::or_program(
                        args.tz.clone(),
                        &new.lowered().timezone,
                    );
                    human(&report, &history, &zone)
                }
            };
            // Written at once: a closed pipe (`| head`) is an exit code, not a panic.
            if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
                return ExitCode::from(2);
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
    recorded: Recorded,
    start: i64,
    baseline: Baseline,
    versions: usize,
    /// The instant the last stored version was deployed at (the replay of what ran
    /// reaches it even after the last input).
    last_deploy: Option<i64>,
    /// Inputs in all (for the progress bar).
    total: u64,
}

/// Where the recorded inputs are.
enum Recorded {
    /// A store: read page by page by each replay, so memory follows the leads.
    Store(String),
    /// Read from CSV files.
    Memory(Vec<Input>),
}

/// Inputs per page read from a store.
const PAGE: usize = 4096;

/// A store's input log, page by page, in order.
struct Pages {
    store: Box<dyn service::store::Store>,
    after: i64,
    page: std::vec::IntoIter<(i64, Input)>,
    done: bool,
    error: Option<String>,
}

impl Pages {
    /// The log of the store at `location`, from its first input.
    fn open(location: &str) -> Result<Pages, String> {
        Ok(Pages {
            store: super::diff::open_store(location)?,
            after: i64::MIN,
            page: Vec::new().into_iter(),
            done: false,
            error: None,
        })
    }
}

impl Iterator for Pages {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        loop {
            if let Some((seq, input)) = self.page.next() {
                self.after = seq;
                return Some(input);
            }
            if self.done {
                return None;
            }
            match self.store.inputs_page(self.after, PAGE) {
                Ok(page) => {
                    self.done = page.len() < PAGE;
                    self.page = page.into_iter();
                }
                Err(e) => {
                    self.error = Some(format!("reading the store's inputs: {e}"));
                    self.done = true;
                }
            }
        }
    }
}

/// One replay's inputs: the recorded ones up to `--until`, of the sampled leads.
struct Feed<'a> {
    pages: Option<Pages>,
    memory: std::slice::Iter<'a, Input>,
    until: Option<i64>,
    sample: Option<f64>,
    /// Inputs handed out, and the instant of the last.
    count: usize,
    last: Option<i64>,
}

impl<'a> Feed<'a> {
    fn open(
        recorded: &'a Recorded,
        args: &BacktestArgs,
        until: Option<i64>,
    ) -> Result<Self, String> {
        let (pages, memory) = match recorded {
            Recorded::Store(location) => (Some(Pages::open(location)?), [].iter()),
            Recorded::Memory(inputs) => (None, inputs.iter()),
        };
        Ok(Feed {
            pages,
            memory,
            until,
            sample: args.sample,
            count: 0,
            last: None,
        })
    }

    /// A store that failed part way.
    fn error(&mut self) -> Option<String> {
        self.pages.as_mut().and_then(|p| p.error.take())
    }
}

impl<'a> Iterator for Feed<'a> {
    type Item = std::borrow::Cow<'a, Input>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let input = match &mut self.pages {
                Some(p) => std::borrow::Cow::Owned(p.next()?),
                None => std::borrow::Cow::Borrowed(self.memory.next()?),
            };
            if self.until.is_some_and(|u| input.at > u)
                || self.sample.is_some_and(|pct| !sampled(&input.lead, pct))
            {
                continue;
            }
            self.count += 1;
            self.last = Some(self.last.map_or(input.at, |l| l.max(input.at)));
            return Some(input);
        }
    }
}

/// The versions that ran, as a replay of fewer inputs (a sample, or up to `--until`)
/// must deploy them: each after as many of the *kept* inputs as were before it in the
/// whole log, and none deployed after `--until`. One more pass over the log, counting.
fn replay_positions(
    mut versions: Vec<service::store::StoredVersion>,
    location: &str,
    args: &BacktestArgs,
    until: Option<i64>,
) -> Result<Vec<service::store::StoredVersion>, String> {
    if let Some(u) = until {
        // The first version ran from the start, whatever `--until` says.
        let mut first = true;
        versions.retain(|v| std::mem::take(&mut first) || v.at <= u);
    }
    let mut marks: Vec<(u64, usize)> = versions
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.inputs_before.map(|n| (n, i)))
        .collect();
    marks.sort_unstable();
    let mut pages = Pages::open(location)?;
    let (mut raw, mut kept) = (0u64, 0u64);
    let mut next = marks.iter().peekable();
    loop {
        while let Some((n, i)) = next.next_if(|(n, _)| *n <= raw) {
            let _ = n;
            versions[*i].inputs_before = Some(kept);
        }
        let Some(input) = pages.next() else { break };
        raw += 1;
        if until.is_none_or(|u| input.at <= u)
            && args.sample.is_none_or(|pct| sampled(&input.lead, pct))
        {
            kept += 1;
        }
    }
    for (_, i) in next {
        versions[*i].inputs_before = Some(kept);
    }
    match pages.error {
        Some(e) => Err(e),
        None => Ok(versions),
    }
}

fn load(
    new: &runtime::embed::Program,
    args: &BacktestArgs,
    until_arg: Option<i64>,
) -> Result<Loaded, String> {
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
        let total = store
            .counts()
            .map_err(|e| format!("{location}: {e}"))?
            .into_iter()
            .find(|(what, _)| what == "inputs")
            .map_or(0, |(_, n)| u64::try_from(n).unwrap_or(0));
        let count = versions.len();
        let versions = if args.sample.is_some() || args.until.is_some() {
            replay_positions(versions, location, args, until_arg)?
        } else {
            versions
        };
        return Ok(Loaded {
            recorded: Recorded::Store(location.clone()),
            start,
            versions: count,
            last_deploy: match baseline_program {
                Some(_) => None,
                None => versions.iter().map(|v| v.at).max(),
            },
            baseline: match baseline_program {
                Some(p) => Baseline::Program(p),
                None => Baseline::Ran(versions),
            },
            total,
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
        total: history.inputs.len() as u64,
        recorded: Recorded::Memory(history.inputs),
        start,
        baseline: Baseline::Program(baseline),
        versions: 0,
        last_deploy: None,
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
    match tandem::import::instant_seconds(text, tz) {
        Ok(Some(at)) => Ok(at),
        Ok(None) => Err(format!("`{text}` is empty")),
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
    let loaded = load(new, args, until_arg)?;
    if let (Some(s), Some(u)) = (since, until_arg) {
        if s > u {
            return Err("--since is after --until".into());
        }
    }
    let window = since.map(|s| (s, until_arg.unwrap_or(i64::MAX)));
    let baseline_name = match (&loaded.baseline, &args.baseline) {
        (Baseline::Program(_), Some(dir)) => dir.display().to_string(),
        _ => "the versions that ran".to_owned(),
    };
    // The first pass sums both sides up and finds the leads that differ; a second keeps
    // the lines of the ones listed (memory by leads, not by lines).
    let none = rustc_hash::FxHashSet::default();
    let mut run = replay(new, &loaded, until_arg, args, window, &none)?;
    let listed: rustc_hash::FxHashSet<String> = Side::differing(&run.recorded, &run.new)
        .into_iter()
        .take(args.leads)
        .collect();
    if !listed.is_empty() {
        run = replay(new, &loaded, until_arg, args, window, &listed)?;
    }
    let start = loaded.start;
    let versions = loaded.versions;
    let Replayed {
        recorded,
        new: side,
        until,
        inputs,
        leads,
    } = run;

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
    let history = History {
        source: if args.store.is_some() { "store" } else { "csv" },
        baseline: baseline_name,
        inputs,
        leads,
        from: runtime::timeline::format_instant(start),
        until: runtime::timeline::format_instant(until),
        counted_from: since.map(runtime::timeline::format_instant),
        sample_percent: args.sample,
        versions,
    };
    Ok((report, history))
}

/// Both sides of one pass, and what was replayed.
struct Replayed {
    recorded: Side,
    new: Side,
    /// Where both clocks stopped.
    until: i64,
    inputs: usize,
    leads: usize,
}

/// Replays the recorded inputs under the baseline and under `new` at once, the baseline
/// on a second thread; each replay reads the inputs for itself (a store page by page),
/// so nothing holds the whole log. Both clocks stop at `--until`, else at the last input
/// (or the last deploy of what ran, if later).
fn replay(
    new: &runtime::embed::Program,
    loaded: &Loaded,
    until_arg: Option<i64>,
    args: &BacktestArgs,
    window: Option<(i64, i64)>,
    keep: &rustc_hash::FxHashSet<String>,
) -> Result<Replayed, String> {
    let (kind, start) = (args.engine, loaded.start);
    let side_for = || {
        let side = Side::keeping(keep.clone());
        match window {
            Some((from, to)) => side.within(from, to),
            None => side,
        }
    };
    let stop_at = |last: Option<i64>| {
        until_arg.unwrap_or_else(|| {
            last.unwrap_or(start)
                .max(loaded.last_deploy.unwrap_or(start))
                .max(start)
        })
    };
    let bar = progress(loaded.total * 2);
    std::thread::scope(|s| {
        let base = s.spawn(|| -> Result<(Side, i64), String> {
            let mut recorded = side_for();
            let mut feed = Feed::open(&loaded.recorded, args, until_arg)?;
            let until = match &loaded.baseline {
                Baseline::Ran(versions) => {
                    let mut rebuilt = service::engine_thread::rebuild_streaming(
                        versions.clone(),
                        &mut feed,
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
                    let until = stop_at(feed.last).max(rebuilt.running.world().now());
                    for l in rebuilt.running.with(|_, world| world.advance_to(until)) {
                        recorded.add(&l);
                    }
                    until
                }
                Baseline::Program(source) => {
                    let program = runtime::embed::Program::check(source.clone())
                        .map_err(|_| "the baseline does not check".to_owned())?;
                    let mut world = program
                        .world_without_log(kind)
                        .map_err(|e| format!("the baseline cannot run here: {}", e.0))?;
                    world.start(start);
                    run_feed(&mut world, &mut feed, &mut recorded, &bar, |_| {});
                    let until = stop_at(feed.last);
                    for l in world.advance_to(until) {
                        recorded.add(&l);
                    }
                    until
                }
            };
            match feed.error() {
                Some(e) => Err(e),
                None => Ok((recorded, until)),
            }
        });
        let mut side = side_for();
        let mut world = new
            .world_without_log(kind)
            .map_err(|e| format!("the new program cannot run here: {}", e.0))?;
        world.start(start);
        let mut feed = Feed::open(&loaded.recorded, args, until_arg)?;
        let mut leads = rustc_hash::FxHashSet::default();
        run_feed(&mut world, &mut feed, &mut side, &bar, |input| {
            if !leads.contains(input.lead.as_str()) {
                leads.insert(input.lead.clone());
            }
        });
        if let Some(e) = feed.error() {
            return Err(e);
        }
        let (recorded, until) = base
            .join()
            .map_err(|_| "the baseline's replay stopped unexpectedly".to_owned())??;
        // The baseline's clock may have gone past the last input (a later deploy).
        for l in world.advance_to(until) {
            side.add(&l);
        }
        bar.finish_and_clear();
        Ok(Replayed {
            recorded,
            new: side,
            until,
            inputs: feed.count,
            leads: leads.len(),
        })
    })
}

/// Runs every input of `feed` through `world`, each line into `side` and a tick of
/// `bar` per input; `seen` is shown each input first.
fn run_feed(
    world: &mut runtime::embed::World<'_>,
    feed: &mut Feed<'_>,
    side: &mut Side,
    bar: &indicatif::ProgressBar,
    mut seen: impl FnMut(&Input),
) {
    for input in feed {
        seen(&input);
        for l in world.input(&input) {
            side.add(&l);
        }
        bar.inc(1);
    }
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

/// The report as tables, instants written in `zone`.
fn human(r: &Report, h: &History, zone: &tandem::local_time::Zone) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let source = match h.source {
        "store" if h.baseline == "the versions that ran" => format!(
            "{} program version{} ran",
            h.versions,
            if h.versions == 1 { "" } else { "s" }
        ),
        "store" => format!("compared with {}", h.baseline),
        _ => format!("from CSV, compared with {}", h.baseline),
    };
    let _ = writeln!(
        out,
        "{} recorded inputs of {} leads, {} → {} ({source}); replayed on a virtual clock, nothing sent",
        h.inputs,
        h.leads,
        zone.localise(&h.from),
        zone.localise(&h.until),
    );
    if let Some(from) = &h.counted_from {
        let _ = writeln!(
            out,
            "counted from {} (earlier history sets each lead's state only)",
            zone.localise(from)
        );
    }
    if let Some(p) = h.sample_percent {
        let _ = writeln!(
            out,
            "a {p} % sample of the leads (by a hash of the lead id)"
        );
    }
    let _ = writeln!(out);
    let width = r
        .rows
        .iter()
        .map(|row| row.what.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let _ = writeln!(
        out,
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
        let _ = writeln!(
            out,
            "{:width$}  {:>9}  {:>9}  {:>7}",
            row.what, row.recorded, row.new, change
        );
    }
    let _ = writeln!(out);
    match &r.outcomes {
        None => {
            let _ = writeln!(
                out,
                "(no `mql` and `sql` stages in the funnel: MQL is not scored against outcomes)"
            );
        }
        Some(o) => {
            let _ = writeln!(
                out,
                "MQL against outcomes ({} leads with a known outcome, {} of them later SQL or better):",
                o.known, o.positives
            );
            let pct =
                |x: Option<f64>| x.map_or("—".to_owned(), |x| format!("{:.0} %", x * 100.0));
            let days = |x: Option<f64>| x.map_or("—".to_owned(), |x| format!("{x:.1}"));
            let _ = writeln!(
                out,
                "{:10}  {:>8}  {:>9}  {:>7}  {:>17}",
                "", "made MQL", "precision", "recall", "median days early"
            );
            for (name, s) in [("recorded", &o.recorded), ("new", &o.new)] {
                let _ = writeln!(
                    out,
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
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} leads would have a different story",
        r.leads_differing
    );
    for l in &r.leads {
        let _ = writeln!(
            out,
            "  {}: stage {} → {}",
            l.lead,
            or_none(&l.stage_recorded),
            or_none(&l.stage_new)
        );
        let _ = writeln!(
            out,
            "    recorded: {}",
            l.first_recorded
                .as_deref()
                .map_or_else(|| "(nothing more)".to_owned(), |l| zone.localise(l))
        );
        let _ = writeln!(
            out,
            "    new:      {}",
            l.first_new
                .as_deref()
                .map_or_else(|| "(nothing more)".to_owned(), |l| zone.localise(l))
        );
    }
    if r.leads_differing > r.leads.len() as u64 {
        let _ = writeln!(
            out,
            "  … and {} more (--leads N lists more)",
            r.leads_differing - r.leads.len() as u64
        );
    }
    out
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
