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
pub mod engine;
pub mod eval;
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

/// One file of a program as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    /// Path relative to the program folder, with `/` separators.
    pub path: String,
    pub text: String,
}

/// What a program folder holds: `*.journey` files, `templates/*`, and `tandem.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramSource {
    pub journeys: Vec<SourceText>,
    pub templates: Vec<SourceText>,
    pub config: Option<SourceText>,
}

impl ProgramSource {
    /// A program of one `.journey` file (tests, examples, embedding).
    pub fn single(path: impl Into<String>, text: impl Into<String>) -> ProgramSource {
        ProgramSource {
            journeys: vec![SourceText {
                path: path.into(),
                text: text.into(),
            }],
            ..ProgramSource::default()
        }
    }

    /// A program from `(path, text)` pairs, sorted into kinds the way a folder is:
    /// `*.journey` files, `tandem.toml`, and everything else as a template.
    pub fn from_files(files: &[(String, String)]) -> ProgramSource {
        let mut source = ProgramSource::default();
        for (path, text) in files {
            let f = SourceText {
                path: path.clone(),
                text: text.clone(),
            };
            if path.ends_with(".journey") {
                source.journeys.push(f);
            } else if path == "tandem.toml" {
                source.config = Some(f);
            } else {
                source.templates.push(f);
            }
        }
        source
    }

    /// Every file as `(path, text)`, sorted by path (the inverse of [`ProgramSource::from_files`]).
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = self
            .journeys
            .iter()
            .chain(&self.templates)
            .chain(&self.config)
            .map(|f| (f.path.clone(), f.text.clone()))
            .collect();
        files.sort();
        files
    }
}

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
