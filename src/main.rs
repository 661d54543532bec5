//! The `tandem` command-line interface: check, format, simulate, test and explain a journey program, preview its emails, and run it as a service (`tandem run`).

mod preview;

use tandem::{load, render};

/// mimalloc instead of the system allocator: the engine keeps every lead as many small
/// blocks, and mimalloc holds them in about 30 % less memory and frees them faster
/// (BENCHMARKS.md, "Engine").
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "One set of rules for Marketing and Sales: check, test and run Tandem journey programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// rustc-style snippets with carets
    Human,
    /// a JSON array of {file, line, column, end_line, end_column, severity, code, message}
    Json,
    /// GitHub Actions workflow annotations
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    /// an SVG picture (laid out by layout-rs)
    Svg,
    /// Graphviz DOT
    Dot,
    /// a Mermaid flowchart (renders in GitHub Markdown)
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    /// one line per declaration, indented lines per step
    Human,
    /// a JSON object {changes: [...]} for tools
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check a program: syntax, names, types, templates, lints. Exit 0 = no errors, 1 = errors, 2 = usage or I/O problem.
    Check {
        /// The program folder [default: `journeys` if it exists, else the current folder]
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Run a scenario on a virtual clock and print the timeline as JSON Lines (docs/simulate.md). Exit 2 on a bad program or scenario.
    Simulate {
        /// The program folder
        dir: PathBuf,
        /// The scenario (JSON)
        #[arg(long)]
        scenario: PathBuf,
        /// Which engine evaluates conditions: `jit` (compiled) or `interp` (interpreted)
        #[arg(long, default_value = "jit")]
        engine: compiler::engine::EngineKind,
    },
    /// Run every `test` block of a program; prints a line per test and `N passed, N failed`. Exit 1 if any fails.
    Test {
        /// The program folder [default: `journeys` if it exists, else the current folder]
        dir: Option<PathBuf>,
        /// Which engine evaluates conditions: `jit` (compiled) or `interp` (interpreted)
        #[arg(long, default_value = "jit")]
        engine: compiler::engine::EngineKind,
        /// Also report which journey steps, rules and handoff clauses the tests ran
        #[arg(long)]
        coverage: bool,
        /// Coverage as a table (human) or JSON
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Explain why a lead has its scores, stage and journeys at an instant of a scenario.
    Explain {
        /// The program folder
        dir: PathBuf,
        #[arg(long)]
        scenario: PathBuf,
        /// The lead's id
        #[arg(long)]
        lead: String,
        /// RFC 3339 instant [default: the scenario's `until`]
        #[arg(long)]
        at: Option<String>,
    },
    /// Run the program as a service: HTTP API, store, email and Sales tasks on a real clock.
    Run {
        /// The program folder [default: `journeys` if it exists, else the example program built into tandem]
        dir: Option<PathBuf>,
        /// Service configuration (TOML); every key has a default
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where HTTP listens [default: 127.0.0.1:8080, or `listen` in the config]
        #[arg(long)]
        listen: Option<String>,
        /// Feed synthetic leads and events so the numbers move
        #[arg(long)]
        demo: bool,
        /// When the folder cannot be installed over the version the store runs, keep
        /// running that version (with a warning on the dashboard) instead of refusing to start
        #[arg(long)]
        keep_running_version: bool,
        /// Stop after this many seconds (for tests and benchmarks)
        #[arg(long, hide = true)]
        run_for: Option<u64>,
    },
    /// Print what `tandem run` would send a lead from one email template: the HTML part
    /// (default), the text part, or the whole message. The unsubscribe link is the
    /// placeholder https://example.invalid/unsubscribe?preview, and links are shown as the
    /// template wrote them (the service adds click tracking and an open pixel when it
    /// sends). Exit 1 if the template does not render for this lead, 2 for a usage or file
    /// problem (bad program or lead file, unknown template).
    Preview(preview::PreviewArgs),
    /// Import leads from a CSV file into a running `tandem run` (creates or updates each lead; one row per lead, a header row naming the fields). Exit 1 if any row was rejected, 2 if the import could not run.
    Import(ImportArgs),
    /// The language server for editors (Language Server Protocol over stdin/stdout).
    Lsp,
    /// Draw journeys as diagrams (steps, branches, waits) for docs and pull requests.
    Graph {
        /// The program folder
        dir: PathBuf,
        /// One journey [default: every journey]
        journey: Option<String>,
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
        /// Write one file per journey (`NAME.svg|dot|mmd`) into this folder instead of stdout
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What changed in meaning between two versions of a program (journeys, rules, scores,
    /// handoffs, schedules) and, with --store, how many leads wait at each journey step
    /// that changed or disappeared.
    Diff {
        /// The program as it runs now
        old: PathBuf,
        /// The program about to be deployed
        new: PathBuf,
        /// The running service's store (a SQLite file such as `tandem.db`, or a
        /// `postgres://` URL): count the leads waiting at each affected step
        #[arg(long)]
        store: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: DiffFormat,
    },
    /// Rewrite every .journey file in the canonical layout (comments kept).
    Fmt {
        /// The program folder [default: `journeys` if it exists, else the current folder]
        dir: Option<PathBuf>,
        /// Do not write; exit 1 if any file is not formatted.
        #[arg(long)]
        check: bool,
    },
}

/// `tandem import`'s arguments.
#[derive(clap::Args)]
struct ImportArgs {
    /// The CSV file: a header row (`id` or `email`, then lead field names), one lead per row
    file: PathBuf,
    /// The service's base URL
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A token with the `ingest` scope [default: $TANDEM_TOKEN, else ./tandem.token]
    #[arg(long)]
    token: Option<String>,
    /// Rows per request (each applied all or none)
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Field separator [default: guessed from the header: `,`, `;` or tab]
    #[arg(long)]
    delimiter: Option<char>,
    /// Write the rejected rows (line, id, column, message) to this CSV file
    #[arg(long)]
    errors: Option<PathBuf>,
    /// Skip columns that are not lead fields instead of refusing the file
    #[arg(long)]
    ignore_unknown_columns: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check { dir, format } => check(&program_dir(dir), format),
        Command::Run {
            dir,
            config,
            listen,
            demo,
            keep_running_version,
            run_for,
        } => run(dir, config, listen, demo, keep_running_version, run_for),
        Command::Diff {
            old,
            new,
            store,
            format,
        } => diff(&old, &new, store.as_deref(), format),
        Command::Fmt { dir, check } => fmt(&program_dir(dir), check),
        Command::Import(args) => import(args),
        Command::Preview(args) => preview::preview(args),
        Command::Graph {
            dir,
            journey,
            format,
            out,
        } => graph(&dir, journey.as_deref(), format, out.as_deref()),
        Command::Lsp => {
            match lsp::run_stdio(|dir| load::load_program(dir).map_err(|e| e.to_string())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Test {
            dir,
            engine,
            coverage,
            format,
        } => test(&program_dir(dir), engine, coverage, format),
        Command::Explain {
            dir,
            scenario,
            lead,
            at,
        } => explain(&dir, &scenario, &lead, at.as_deref()),
        Command::Simulate {
            dir,
            scenario,
            engine,
        } => simulate(&dir, &scenario, engine),
    }
}

/// The folder given, or `journeys/` when there is one, or the current folder.
fn run(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
    listen: Option<String>,
    demo: bool,
    keep_running_version: bool,
    run_for: Option<u64>,
) -> ExitCode {
    let mut cfg = match &config {
        None => service::Config::default(),
        Some(path) => match std::fs::read_to_string(path) {
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
            Ok(text) => match service::Config::parse(&text) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            },
        },
    };
    if let Some(l) = listen {
        cfg.listen = l;
    }
    cfg.keep_running_version |= keep_running_version;
    let folder = dir.or_else(|| Some(PathBuf::from("journeys")).filter(|d| d.is_dir()));
    let load: service::ProgramLoader = match folder {
        Some(dir) => std::sync::Arc::new(move || {
            let source = load::load_program(&dir).map_err(|e| e.to_string())?;
            Ok(source.files())
        }),
        None => std::sync::Arc::new(|| Ok(tandem::embedded::files())),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,cranelift_jit=warn,cranelift_codegen=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    match service::run(service::Options {
        config: cfg,
        load,
        demo,
        run_for,
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn program_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| {
        let default = PathBuf::from("journeys");
        if default.is_dir() {
            default
        } else {
            PathBuf::from(".")
        }
    })
}

fn check(dir: &std::path::Path, format: Format) -> ExitCode {
    let source = match load::load_program(dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let ws = compiler::check_program(&source);
    let out = match format {
        Format::Human => render::human(&ws, dir, std::io::stdout().is_terminal()),
        Format::Json => render::json(&ws, dir),
        Format::Github => render::github(&ws, dir),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    let code = if ws.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends now: skip tearing down megabytes of syntax trees one node at a time.
    std::mem::forget(ws);
    code
}

fn fail(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Loads and checks a program; on errors prints them and returns exit code 2.
fn prepare(dir: &std::path::Path) -> Result<runtime::embed::Program, ExitCode> {
    prepare_source(dir).map(|(program, _)| program)
}

/// [`prepare`], also giving the files it read.
fn prepare_source(
    dir: &std::path::Path,
) -> Result<(runtime::embed::Program, compiler::ProgramSource), ExitCode> {
    let source = load::load_program(dir).map_err(|e| fail(e.to_string()))?;
    let ws = compiler::check_program(&source);
    if ws.has_errors() {
        eprint!("{}", render::human(&ws, dir, false));
        return Err(fail(format!(
            "{} does not check; fix the errors above first",
            dir.display()
        )));
    }
    let program = runtime::embed::Program::from_checked(ws, &source).map_err(|diags| {
        for d in &diags {
            eprintln!("error[{}]: {}", d.code, d.message);
        }
        fail(format!("{} does not compile", dir.display()))
    })?;
    Ok((program, source))
}

fn simulate(
    dir: &std::path::Path,
    scenario: &std::path::Path,
    engine: compiler::engine::EngineKind,
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

/// The coverage of a test run as JSON: journeys (steps run / never), rules, handoffs.
fn coverage_report(
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
fn coverage_table(r: &serde_json::Value) -> String {
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

fn explain(
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
    let mut world = match program.world(compiler::engine::EngineKind::Interp) {
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

fn test(
    dir: &std::path::Path,
    engine: compiler::engine::EngineKind,
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

fn fmt(dir: &std::path::Path, check_only: bool) -> ExitCode {
    let source = match load::load_program(dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut unformatted = Vec::new();
    let mut broken = false;
    for file in &source.journeys {
        match grammar::format::format_source(&file.text) {
            Ok(formatted) => {
                if formatted != file.text {
                    unformatted.push(file.path.clone());
                    if !check_only {
                        let path = dir.join(&file.path);
                        if let Err(e) = std::fs::write(&path, formatted) {
                            eprintln!("error: {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                }
            }
            Err(count) => {
                eprintln!(
                    "error: {}: has {count} syntax error(s); run `tandem check` and fix them first (the file was left as it is)",
                    dir.join(&file.path).display()
                );
                broken = true;
            }
        }
    }
    for path in &unformatted {
        let verb = if check_only {
            "would reformat"
        } else {
            "reformatted"
        };
        println!("{verb} {}", dir.join(path).display());
    }
    if broken || (check_only && !unformatted.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn import(args: ImportArgs) -> ExitCode {
    use tandem::import::{errors_csv, import, ImportOptions};
    let ImportArgs {
        file,
        url,
        token,
        batch,
        delimiter,
        errors,
        ignore_unknown_columns,
    } = args;
    let token = token
        .or_else(|| std::env::var("TANDEM_TOKEN").ok())
        .or_else(|| {
            std::fs::read_to_string("tandem.token")
                .ok()
                .map(|t| t.trim().to_owned())
        });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        eprintln!("error: no API token: pass --token, set TANDEM_TOKEN, or run where `tandem run` wrote tandem.token");
        return ExitCode::from(2);
    };
    let delimiter = match delimiter.map(u8::try_from) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            eprintln!("error: --delimiter must be one ASCII character");
            return ExitCode::from(2);
        }
    };
    let opts = ImportOptions {
        file: file.clone(),
        url: url.trim_end_matches('/').to_owned(),
        token,
        batch,
        delimiter,
        ignore_unknown_columns,
    };
    let report = match import(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if !report.skipped_columns.is_empty() {
        eprintln!(
            "skipped columns that are not lead fields: {}",
            report.skipped_columns.join(", ")
        );
    }
    println!(
        "{}: {} rows, {} imported, {} rejected",
        file.display(),
        report.rows,
        report.imported,
        report.rejected.len()
    );
    const SHOWN: usize = 20;
    for r in report.rejected.iter().take(SHOWN) {
        let column = r
            .column
            .as_deref()
            .map(|c| format!(" `{c}`"))
            .unwrap_or_default();
        let id = if r.id.is_empty() {
            String::new()
        } else {
            format!(" (lead `{}`)", r.id)
        };
        eprintln!("  line {}{id}{column}: {}", r.line, r.message);
    }
    if report.rejected.len() > SHOWN {
        eprintln!(
            "  … and {} more{}",
            report.rejected.len() - SHOWN,
            if errors.is_some() {
                ""
            } else {
                " (pass --errors FILE for all of them)"
            }
        );
    }
    if let Some(path) = errors {
        let written = errors_csv(&report.rejected)
            .and_then(|bytes| std::fs::write(&path, bytes).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `tandem diff OLD NEW [--store S]`.
fn diff(
    old_dir: &std::path::Path,
    new_dir: &std::path::Path,
    store: Option<&str>,
    format: DiffFormat,
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
    match format {
        DiffFormat::Json => {
            let v = service::deploy::changes_json(&changes, lowered, waiting);
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        DiffFormat::Human => {
            if changes.is_empty() {
                println!("no change in meaning");
            }
            for c in &changes {
                let parts = if c.parts.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.parts.join(", "))
                };
                println!(
                    "{} {}: {}{parts}",
                    c.kind.keyword(),
                    c.name,
                    c.change.word()
                );
                for s in &c.steps {
                    let n = match count(&c.name, s.node) {
                        Some(1) => " — 1 lead waits here".to_owned(),
                        Some(n) => format!(" — {n} leads wait here"),
                        None => String::new(),
                    };
                    println!(
                        "  step `{}` ({}:{}): {}{n}",
                        s.label,
                        s.file,
                        s.line,
                        service::deploy::fate_word(s.fate)
                    );
                }
            }
        }
    }
    ExitCode::SUCCESS
}

/// Rebuilds the world of a running service's store up to now, replaying its input log
/// version by version as the service does at start (a store with no recorded version is
/// replayed under `program`, whose files are `files`), and counts the leads waiting at
/// each step of each journey of `program`. The store's leads wait at steps of the version
/// it runs: a step of `program` counts the leads at the same step there (same text, same
/// successors); leads still in a kept earlier version of a journey are not counted.
fn waiting_in_store(
    program: &runtime::embed::Program,
    files: Vec<(String, String)>,
    location: &str,
) -> Result<Vec<Vec<u64>>, String> {
    use compiler::diff::{match_steps, Canon, StepFate};
    use service::store::Store;
    let mut store: Box<dyn Store> =
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Box::new(service::pg::PgStore::open(location).map_err(|e| format!("{location}: {e}"))?)
        } else {
            let path = std::path::Path::new(location);
            if !path.is_file() {
                return Err(format!("no store file at {location}"));
            }
            Box::new(
                service::store::SqliteStore::open_read_only(path)
                    .map_err(|e| format!("{location}: {e}"))?,
            )
        };
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
    let kind = compiler::engine::EngineKind::Jit;
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

fn graph(
    dir: &std::path::Path,
    only: Option<&str>,
    format: GraphFormat,
    out: Option<&std::path::Path>,
) -> ExitCode {
    use compiler::diagram;
    let program = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let lowered = program.lowered();
    let names: Vec<&str> = lowered.journeys.iter().map(|j| j.name.as_str()).collect();
    let chosen: Vec<usize> = match only {
        Some(name) => match names.iter().position(|n| *n == name) {
            Some(i) => vec![i],
            None => {
                return fail(format!(
                    "no journey `{name}` in {} (journeys: {})",
                    dir.display(),
                    names.join(", ")
                ))
            }
        },
        None => (0..names.len()).collect(),
    };
    if chosen.is_empty() {
        return fail(format!("{} has no journeys", dir.display()));
    }
    if matches!(format, GraphFormat::Svg) && chosen.len() > 1 && out.is_none() {
        return fail(
            "several journeys as SVG: name one journey, or pass --out DIR for one file each".into(),
        );
    }
    let ext = match format {
        GraphFormat::Svg => "svg",
        GraphFormat::Dot => "dot",
        GraphFormat::Mermaid => "mmd",
    };
    let mut stdout = String::new();
    for j in chosen {
        let Some(d) = diagram::journey(lowered, program.workspace(), j) else {
            continue;
        };
        let text = match format {
            GraphFormat::Svg => match diagram::to_svg(&d, None) {
                Ok(svg) => svg,
                Err(e) => return fail(format!("journey `{}`: {e}", d.journey)),
            },
            GraphFormat::Dot => diagram::to_dot(&d, None),
            GraphFormat::Mermaid => format!(
                "%% journey {}\n{}",
                d.journey,
                diagram::to_mermaid(&d, None)
            ),
        };
        match out {
            Some(folder) => {
                let path = folder.join(format!("{}.{ext}", d.journey));
                let written =
                    std::fs::create_dir_all(folder).and_then(|()| std::fs::write(&path, text));
                if let Err(e) = written {
                    return fail(format!("{}: {e}", path.display()));
                }
                println!("{}", path.display());
            }
            None => {
                if !stdout.is_empty() {
                    stdout.push('\n');
                }
                stdout.push_str(&text);
            }
        }
    }
    print!("{stdout}");
    ExitCode::SUCCESS
}
