//! The Tandem compiler, front half: name resolution across all files of a program, type checking, template checks and lints.
//!
//! Pure: it takes file contents and returns diagnostics and a checked
//! program. It never reads the disk, spawns threads or knows about the
//! runtime; the CLI and the service gather the files.

pub mod check;
pub mod codes;
pub mod config;
pub mod cron5;
pub mod diagram;
pub mod diff;
pub mod eval;
pub mod evaluator;
pub mod explain;
pub mod graph;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod lints;
pub mod program;
pub mod suggest;
pub mod symbols;
pub mod templates;
pub mod workspace;

pub use grammar::{Diagnostic, FileId, Severity, Span};
pub use symbols::Symbols;
pub use workspace::Workspace;

pub use source::{Files, ProgramSource, SourceText};

/// The name of a template file (`templates/ebook.md` → `ebook`), if it is one.
pub fn template_name(path: &str) -> Option<&str> {
    let file = path.rsplit('/').next()?;
    file.strip_suffix(".md")
        .or_else(|| file.strip_suffix(".html"))
}

/// Webhook names declared in `tandem.toml` under `[webhooks]`; `Err` if the file is not TOML.
pub fn config_webhooks(
    config: &str,
) -> Result<Option<Vec<String>>, (String, std::ops::Range<usize>)> {
    let table: toml::Table = toml::from_str(config).map_err(|e| {
        (
            format!("tandem.toml is not valid TOML: {}", e.message()),
            e.span().unwrap_or(0..1),
        )
    })?;
    Ok(match table.get("webhooks") {
        Some(toml::Value::Table(t)) => Some(t.keys().cloned().collect()),
        _ => None,
    })
}

/// Checks a whole program at once. Diagnostics are sorted by file and position.
pub fn check_program(source: &ProgramSource) -> Workspace {
    let mut ws = Workspace::new(source.clone());
    ws.check();
    ws
}
