//! Generates one `#[test]` per fixture (tests as data): each valid program, each invalid fixture, each single-mistake variant of the example program and each `.journey` file for the formatter, so one failure never hides the others.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_dir() || p.extension().is_some_and(|e| e == "journey"));
    v.sort();
    v
}

fn journey_files(root: &Path, out: &mut Vec<PathBuf>) {
    for p in entries(root) {
        if p.is_dir() {
            journey_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A test name from a path: lower case, anything but letters and digits as `_`, without
/// the `fixtures/` folder and the `.journey` extension.
fn slug(s: &str) -> String {
    let s = s.strip_prefix("fixtures/").unwrap_or(s);
    let s = s.strip_suffix(".journey").unwrap_or(s);
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    out.trim_matches('_').to_owned()
}

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let fixtures = here.join("fixtures");
    let journeys = here.join("..").join("journeys");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    println!("cargo:rerun-if-changed={}", journeys.display());
    let mut code = String::new();
    let rel = |p: &Path| {
        p.strip_prefix(&here)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut valid = entries(&fixtures.join("valid"));
    valid.push(fixtures.join("base"));
    valid.push(journeys.clone());
    for p in valid {
        let _ = writeln!(
            code,
            "#[test]\nfn valid_{}() {{ valid_program({:?}); }}",
            slug(&rel(&p)),
            rel(&p)
        );
    }
    for p in entries(&fixtures.join("invalid")) {
        let _ = writeln!(
            code,
            "#[test]\nfn {}() {{ invalid_fixture({:?}); }}",
            slug(&rel(&p)),
            rel(&p)
        );
    }
    let mut mistakes: Vec<PathBuf> = std::fs::read_dir(fixtures.join("single_mistake"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    mistakes.retain(|p| p.extension().is_some_and(|e| e == "mistake"));
    mistakes.sort();
    for p in mistakes {
        let _ = writeln!(
            code,
            "#[test]\nfn {}() {{ single_mistake({:?}); }}",
            slug(&rel(&p.with_extension(""))),
            rel(&p)
        );
    }
    let mut files = Vec::new();
    journey_files(&fixtures, &mut files);
    journey_files(&journeys, &mut files);
    for p in files {
        let _ = writeln!(
            code,
            "#[test]\nfn fmt_{}() {{ fmt_file({:?}); }}",
            slug(&rel(&p)),
            rel(&p)
        );
    }
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("fixture_tests.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
