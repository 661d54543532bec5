//! The `tandem` command-line interface: check, format, simulate, test and explain a journey program, preview its emails, and run it as a service (`tandem run`).

mod commands;

use tandem::load;

/// mimalloc instead of the system allocator: the engine keeps every lead as many small
/// blocks, and mimalloc holds them in about 30 % less memory and frees them faster
/// (BENCHMARKS.md, "Engine").
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// a Markdown list, for a pull-request comment
    Markdown,
}

#[derive(Subcommand)]
enum Command {
    /// Check a program: syntax, names, types, templates, lints. Exit 0 = no errors, 1 = errors, 2 = usage or I/O problem.
    Check {
        /// The program folder [default: `journeys` if it exists, else the current folder]
        dir: Option<PathBuf>,
        /// How to print the errors and warnings
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Run a scenario on a virtual clock and print the timeline as JSON Lines (docs/simulation.md). Exit 2 on a bad program or scenario.
    Simulate {
        /// The program folder
        dir: PathBuf,
        /// The scenario: a JSON object with `start`, `until` and `inputs` (docs/simulation.md)
        #[arg(long)]
        scenario: PathBuf,
        /// Which engine evaluates conditions: `jit` (compiled) or `interp` (interpreted);
        /// both print the same bytes
        #[arg(long, default_value = "jit")]
        engine: compiler::evaluator::EvaluatorKind,
        /// Also print `trace` lines saying why something did not happen: an enroll or
        /// entry refused, a rule that held but did not fire again, an action not repeated
        /// (off by default: the timeline is then unchanged)
        #[arg(long)]
        trace: bool,
    },
    /// Run every `test` block of a program; prints a line per test and `N passed, N failed`. Exit 1 if any fails, 2 on a bad program.
    Test {
        /// The program folder [default: `journeys` if it exists, else the current folder]
        dir: Option<PathBuf>,
        /// Which engine evaluates conditions: `jit` (compiled) or `interp` (interpreted)
        #[arg(long, default_value = "jit")]
        engine: compiler::evaluator::EvaluatorKind,
        /// Also report which journey steps, rules and handoff clauses the tests ran
        #[arg(long)]
        coverage: bool,
        /// How to report the tests (--coverage adds to human, github and json, not junit)
        #[arg(long, value_enum, default_value = "human")]
        format: commands::test::TestFormat,
        /// The time zone of the instants in the human lines, an IANA name such as
        /// Asia/Ho_Chi_Minh or UTC [default: the program's `timezone`]; JSON and JUnit
        /// stay in UTC
        #[arg(long, value_name = "ZONE", value_parser = tandem::local_time::parse_zone)]
        tz: Option<tandem::local_time::Zone>,
    },
    /// Explain a lead at an instant of a scenario: each score line and event's points, tags, segments, each rule's, handoff's and journey's condition part by part, where it waits. Exit 2 on a bad program or scenario, or a lead the scenario has not created by then.
    Explain {
        /// The program folder
        dir: PathBuf,
        /// The scenario, as for `tandem simulate` (docs/simulation.md)
        #[arg(long)]
        scenario: PathBuf,
        /// The lead's id
        #[arg(long)]
        lead: String,
        /// The instant to explain, RFC 3339 with an offset (the scenario runs up to it)
        /// [default: the scenario's `until`]
        #[arg(long)]
        at: Option<String>,
        /// How to print: lines for a reader, or one JSON document
        #[arg(long, value_enum, default_value = "human")]
        format: commands::explain::ExplainFormat,
        /// The time zone of the instants in the human lines, an IANA name such as
        /// Asia/Ho_Chi_Minh or UTC [default: the program's `timezone`]; JSON stays in UTC
        #[arg(long, value_name = "ZONE", value_parser = tandem::local_time::parse_zone)]
        tz: Option<tandem::local_time::Zone>,
    },
    /// Run the program as a service: HTTP API, store, email and Sales tasks on a real clock.
    Run {
        /// The program folder [default: `journeys` if it exists, else the example program built into tandem]
        dir: Option<PathBuf>,
        /// Service configuration (TOML); every key has a default
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where HTTP listens: a port (8090, on 127.0.0.1) or HOST:PORT (0.0.0.0:8090)
        /// [default: 127.0.0.1:8080, or `listen` in the config]
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
    Preview(commands::preview::PreviewArgs),
    /// Import leads from a CSV file into a running `tandem run` (creates or updates each lead; one row per lead, a header row naming the fields). Exit 1 if any row was rejected, 2 if the import could not run.
    Import(ImportArgs),
    /// The language server for editors (Language Server Protocol over stdin/stdout), started by an editor rather than by hand. Exit 1 if the connection fails.
    Lsp,
    /// Draw journeys as diagrams (steps, branches, waits) for docs and pull requests. Exit 2 on a bad program or an unknown journey.
    Graph {
        /// The program folder
        dir: PathBuf,
        /// One journey [default: every journey]
        journey: Option<String>,
        /// The diagram's format (SVG of several journeys needs --out)
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
        /// Write one file per journey (`NAME.svg|dot|mmd`) into this folder instead of stdout
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What a new program would have done with recorded history: a running service's store
    /// (or leads and events exported as CSV from another tool) replayed on a virtual clock
    /// under the versions that ran (or a baseline program) and under NEW, side by side
    /// (stages, MQL/SQL, emails, tasks, escalations, journeys), MQL judged against what
    /// later happened to each lead, and the leads whose story differs. Nothing is sent.
    Backtest(commands::backtest::BacktestArgs),
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
        /// How to print the changes
        #[arg(long, value_enum, default_value = "human")]
        format: DiffFormat,
        /// Exit 1 when there are changes (0 when none, 2 on an error), like
        /// `git diff --exit-code`
        #[arg(long)]
        exit_code: bool,
    },
    /// Rewrite every .journey file in the canonical layout (comments kept). Exit 1 if a file has syntax errors (it is left as it is), or with --check if a file is not formatted.
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
    /// Rows per request (each applied all or none), 1 to 10000
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=10000))]
    batch: u16,
    /// Field separator [default: guessed from the header: `,`, `;` or tab]
    #[arg(long)]
    delimiter: Option<char>,
    /// Write the rejected rows (line, id, column, message) to this CSV file
    #[arg(long)]
    errors: Option<PathBuf>,
    /// Skip columns that are not lead fields instead of refusing the file
    #[arg(long)]
    ignore_unknown_columns: bool,
    /// Put a column onto a lead field: `--map "Số nhân sự=company_size"`; join columns
    /// with a space into a text field: `--map "First Name+Last Name=name"`; `=id` names
    /// the lead id's column (repeatable; before --preset)
    #[arg(long = "map", value_name = "HEADER=FIELD")]
    maps: Vec<String>,
    /// A file of mappings, one `HEADER=FIELD` a line (`#` starts a comment)
    #[arg(long, value_name = "FILE")]
    map_file: Option<PathBuf>,
    /// A CRM's contact export as it comes: its headers mapped onto the lead fields the
    /// program has (hubspot: First Name+Last Name → name, Phone Number → phone, Company
    /// Name → company, Job Title → title, Number of Employees → company_size, …;
    /// salesforce: Account Name → company, Title → title, Mailing City → city, Lead
    /// Source → source, Employees → company_size, …)
    #[arg(long, value_enum)]
    preset: Option<commands::import::PresetArg>,
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
            exit_code,
        } => diff(&old, &new, store.as_deref(), format, exit_code),
        Command::Backtest(args) => commands::backtest::backtest(args),
        Command::Fmt { dir, check } => fmt(&program_dir(dir), check),
        Command::Import(args) => import(args),
        Command::Preview(args) => commands::preview::preview(args),
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
            tz,
        } => test(&program_dir(dir), engine, coverage, format, tz),
        Command::Explain {
            dir,
            scenario,
            lead,
            at,
            format,
            tz,
        } => explain(&dir, &scenario, &lead, at.as_deref(), format, tz),
        Command::Simulate {
            dir,
            scenario,
            engine,
            trace,
        } => simulate(&dir, &scenario, engine, trace),
    }
}

use commands::{check::check, diff::diff, explain::explain, fmt::fmt, graph::graph};
use commands::{import::import, program_dir, run::run, simulate::simulate, test::test};

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// The help texts found so far, each with where it is (`tandem diff --format`), and
    /// the places that have none.
    #[derive(Default)]
    struct Found {
        texts: Vec<(String, String)>,
        missing: Vec<String>,
    }

    impl Found {
        /// A help text `place` must have.
        fn required(&mut self, place: String, text: Option<&clap::builder::StyledStr>) {
            match text.map(ToString::to_string) {
                Some(t) if !t.trim().is_empty() => self.texts.push((place, t)),
                _ => self.missing.push(place),
            }
        }

        /// A longer help text `place` may have as well.
        fn optional(&mut self, place: &str, text: Option<&clap::builder::StyledStr>) {
            if let Some(t) = text {
                self.texts.push((place.to_owned(), t.to_string()));
            }
        }
    }

    /// Every help text of `cmd` and of its subcommands, at any depth. clap's own `help`
    /// subcommand and `--help` / `--version` flags are not ours.
    fn walk(cmd: &clap::Command, path: &str, found: &mut Found) {
        found.required(path.to_owned(), cmd.get_about().or(cmd.get_long_about()));
        found.optional(path, cmd.get_long_about());
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let place = match arg.get_long() {
                Some(long) => format!("{path} --{long}"),
                None => format!("{path} <{}>", id.to_uppercase()),
            };
            found.required(place.clone(), arg.get_help().or(arg.get_long_help()));
            found.optional(&place, arg.get_long_help());
            // The values of a `value_enum` flag (`--format json`) say what each one does.
            if arg.get_action().takes_values() {
                for value in arg.get_possible_values() {
                    found.required(format!("{place} {}", value.get_name()), value.get_help());
                }
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            walk(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    /// The whole command line's help texts.
    fn found() -> Found {
        let mut cmd = Cli::command();
        cmd.build();
        let mut found = Found::default();
        walk(&cmd, "tandem", &mut found);
        found
    }

    #[test]
    fn every_command_argument_and_value_has_a_help_text() {
        let found = found();
        assert!(
            found.missing.is_empty(),
            "no help text for:\n  {}",
            found.missing.join("\n  ")
        );
        // The walk reaches the subcommands, their arguments and the flags' values.
        let places: Vec<&str> = found.texts.iter().map(|(p, _)| p.as_str()).collect();
        for place in [
            "tandem lsp",
            "tandem simulate <DIR>",
            "tandem test --format junit",
        ] {
            assert!(places.contains(&place), "{place} not walked");
        }
    }

    /// Help texts name only files of the repository: `docs/…` exists, and nothing points
    /// outside it.
    #[test]
    fn help_texts_point_only_at_files_in_the_repository() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut bad = Vec::new();
        for (place, text) in &found().texts {
            if text.contains("../") || text.contains("shared/") {
                bad.push(format!("{place}: points outside the repository: {text}"));
            }
            for (at, _) in text.match_indices("docs/") {
                let path: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
                    .collect();
                let path = path.trim_end_matches('.');
                if !root.join(path).is_file() {
                    bad.push(format!(
                        "{place}: names {path}, which is not in the repository"
                    ));
                }
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
