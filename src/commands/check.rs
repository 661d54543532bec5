//! `tandem check`: a program's diagnostics as text, JSON or GitHub annotations.

use super::*;

pub(crate) fn check(dir: &std::path::Path, format: Format) -> ExitCode {
    let source = match load::load_program(dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let ws = compiler::check_program(&source);
    let out = match format {
        Format::Human => render::human(&ws, dir, render::colour(std::io::stdout().is_terminal())),
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
