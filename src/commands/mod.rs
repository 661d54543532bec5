//! The CLI's commands, one module each, and what they share: the program folder a command is given, a failure's message and exit code, a program checked and compiled.

pub(crate) mod backtest;
pub(crate) mod backtest_html;
pub(crate) mod check;
pub(crate) mod diff;
pub(crate) mod explain;
pub(crate) mod fmt;
pub(crate) mod graph;
pub(crate) mod import;
pub(crate) mod preview;
pub(crate) mod run;
pub(crate) mod simulate;
pub(crate) mod test;

pub(crate) use std::io::{IsTerminal, Write};
pub(crate) use std::path::PathBuf;
pub(crate) use std::process::ExitCode;

pub(crate) use tandem::{load, render};

pub(crate) use crate::{DiffFormat, Format, GraphFormat, ImportArgs};

pub(crate) fn program_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| {
        let default = PathBuf::from("journeys");
        if default.is_dir() {
            default
        } else {
            PathBuf::from(".")
        }
    })
}

pub(crate) fn fail(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Loads and checks a program; on errors prints them and returns exit code 2.
pub(crate) fn prepare(dir: &std::path::Path) -> Result<runtime::embed::Program, ExitCode> {
    prepare_source(dir).map(|(program, _)| program)
}

/// [`prepare`], also giving the files it read.
pub(crate) fn prepare_source(
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
