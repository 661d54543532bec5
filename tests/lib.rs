//! End-to-end test support: fixture programs on disk, the shared base program that invalid fixtures are checked against, and expectation markers.
//!
//! An invalid fixture (`fixtures/invalid/NAME.journey`, or a folder with
//! `.journey` files and `templates/`) is checked together with
//! `fixtures/base/`, a small valid program. Each line that must carry a
//! diagnostic says so in a comment: `# error: E0011` or `# warning: W-CLOCK`
//! (in a template, `{# error: E0049 #}`), once per diagnostic and, when a line
//! has several, in the order the checker reports them (by column, then code).

use std::path::{Path, PathBuf};

use compiler::{ProgramSource, SourceText};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every entry (file or folder) directly under `fixtures/<kind>`, sorted.
pub fn fixture_entries(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(kind))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_dir() || p.extension().is_some_and(|e| e == "journey"));
    v.sort();
    v
}

/// The fixture's name (file stem or folder name).
pub fn fixture_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Loads a program folder, panicking with the reason (tests only).
pub fn load(dir: &Path) -> ProgramSource {
    match tandem::load::load_program(dir) {
        Ok(p) => p,
        Err(e) => panic!("cannot load {}: {e}", dir.display()),
    }
}

/// The base program plus one invalid fixture (its files under `fixture/`, after the
/// base in program order); returns the program and the fixture's own paths.
pub fn with_base(fixture: &Path) -> (ProgramSource, Vec<String>) {
    let mut program = load(&fixtures_dir().join("base"));
    let mut own = Vec::new();
    if fixture.is_dir() {
        let extra = load(fixture);
        for mut j in extra.journeys {
            j.path = format!("fixture/{}/{}", fixture_name(fixture), j.path);
            own.push(j.path.clone());
            program.journeys.push(j);
        }
        for t in extra.templates {
            own.push(t.path.clone());
            program.templates.retain(|b| b.path != t.path);
            program.templates.push(t);
        }
        if let Some(config) = extra.config {
            own.push(config.path.clone());
            program.config = Some(config);
        }
    } else {
        let text = std::fs::read_to_string(fixture).unwrap_or_default();
        // Under `fixture/`, so the base program comes first in program order.
        let path = format!(
            "fixture/{}",
            fixture
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        own.push(path.clone());
        program.journeys.push(SourceText { path, text });
    }
    (program, own)
}

/// An expected diagnostic: file, 1-based line, severity, code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Marker {
    pub file: String,
    pub line: usize,
    pub severity: String,
    pub code: String,
}

/// Reads the `error: CODE` / `warning: CODE` markers of a file.
pub fn markers(file: &str, text: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for severity in ["error", "warning"] {
            let needle = format!("{severity}: ");
            let mut rest = line;
            while let Some(pos) = rest.find(&needle) {
                let after = &rest[pos + needle.len()..];
                let code: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if code.starts_with('E') || code.starts_with("W-") {
                    out.push(Marker {
                        file: file.to_owned(),
                        line: i + 1,
                        severity: severity.to_owned(),
                        code,
                    });
                }
                rest = after;
            }
        }
    }
    out
}
