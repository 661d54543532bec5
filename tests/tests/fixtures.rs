//! Fixture-driven tests: valid programs check cleanly, every invalid fixture reports exactly its marked diagnostics, rendered output is snapshotted, and `fmt` is idempotent.

use std::collections::BTreeSet;
use std::path::Path;

use compiler::{check_program, Severity};
use tests::{fixture_entries, fixture_name, fixtures_dir, load, markers, with_base, Marker};

fn example_program_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("journeys")
}

#[test]
fn valid_programs_check_without_errors_or_warnings() {
    let mut dirs = fixture_entries("valid");
    dirs.push(example_program_dir());
    dirs.push(fixtures_dir().join("base"));
    assert!(dirs.len() >= 3, "expected valid fixtures");
    for dir in dirs {
        let ws = check_program(&load(&dir));
        let shown = tandem::render::human(&ws, Path::new(""), false);
        assert!(ws.diagnostics().is_empty(), "{}:\n{shown}", dir.display());
    }
}

#[test]
fn invalid_fixtures_report_exactly_their_marked_diagnostics() {
    let entries = fixture_entries("invalid");
    assert!(
        entries.len() >= 30,
        "expected one invalid fixture per code, found {}",
        entries.len()
    );
    let mut codes_seen = BTreeSet::new();
    for fixture in entries {
        let name = fixture_name(&fixture);
        let (program, own) = with_base(&fixture);
        let mut expected: BTreeSet<Marker> = BTreeSet::new();
        for f in program
            .journeys
            .iter()
            .chain(program.templates.iter())
            .chain(program.config.iter())
        {
            if own.contains(&f.path) {
                expected.extend(markers(&f.path, &f.text));
            }
        }
        assert!(
            !expected.is_empty(),
            "{name}: the fixture marks no diagnostic"
        );
        let ws = check_program(&program);
        let mut actual: BTreeSet<Marker> = BTreeSet::new();
        for d in ws.diagnostics() {
            let file = ws
                .file(d.span.file)
                .expect("diagnostic points at a known file");
            let (line, _) = tandem::render::line_col(&file.text, d.span.start as usize);
            assert!(
                own.contains(&file.path),
                "{name}: a diagnostic landed in the base program: {d:?}"
            );
            actual.insert(Marker {
                file: file.path.clone(),
                line,
                severity: d.severity.as_str().to_owned(),
                code: d.code.to_owned(),
            });
            codes_seen.insert(d.code);
        }
        assert_eq!(
            actual, expected,
            "{name}: diagnostics differ from the markers"
        );
        let rendered = tandem::render::human(&ws, Path::new(""), false);
        insta::assert_snapshot!(format!("invalid__{name}"), rendered);
        let errors = ws
            .diagnostics()
            .iter()
            .any(|d| d.severity == Severity::Error);
        let marked_errors = expected.iter().any(|m| m.severity == "error");
        assert_eq!(errors, marked_errors, "{name}");
    }
    for code in [
        "E0001",
        "E0002",
        "E0003",
        "E0004",
        "E0005",
        "E0010",
        "E0011",
        "E0012",
        "E0013",
        "E0014",
        "E0015",
        "E0016",
        "E0017",
        "E0018",
        "E0019",
        "E0020",
        "E0021",
        "E0022",
        "E0023",
        "E0024",
        "E0030",
        "E0032",
        "E0033",
        "E0034",
        "E0040",
        "E0041",
        "E0042",
        "E0043",
        "E0044",
        "E0045",
        "E0046",
        "E0047",
        "E0048",
        "E0049",
        "E0050",
        "E0051",
        "E0052",
        "E0053",
        "E0055",
        "E0056",
        "E0060",
        "E0061",
        "E0062",
        "W-CLOCK",
        "W-NO-ENTRY",
        "W-REJECT-LOOP",
    ] {
        assert!(
            codes_seen.contains(code),
            "no invalid fixture produces {code}"
        );
    }
}

fn all_journey_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut roots = vec![fixtures_dir(), example_program_dir()];
    while let Some(dir) = roots.pop() {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    roots.push(p);
                } else if p.extension().is_some_and(|x| x == "journey") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
}

#[test]
fn fmt_is_idempotent_and_keeps_meaning_and_comments() {
    let files = all_journey_files();
    assert!(files.len() >= 20);
    let spans =
        regex::Regex::new(r"Span \{ file: \d+, start: \d+, end: \d+ \}").expect("valid regex");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let Ok(once) = grammar::format::format_source(&text) else {
            continue; // files with syntax errors are left alone by `tandem fmt`
        };
        let twice = grammar::format::format_source(&once).expect("formatted output parses");
        assert_eq!(once, twice, "{}: fmt is not idempotent", path.display());
        let before = grammar::parse(0, &text).file;
        let after = grammar::parse(0, &once).file;
        assert_eq!(
            before.comments.len(),
            after.comments.len(),
            "{}: comments lost",
            path.display()
        );
        for (a, b) in before.comments.iter().zip(&after.comments) {
            assert_eq!(a.text.trim_end(), b.text.trim_end(), "{}", path.display());
        }
        let shape = |f: &grammar::ast::SourceFile| {
            spans
                .replace_all(&format!("{:?}", f.decls), "_")
                .into_owned()
        };
        assert_eq!(
            shape(&before),
            shape(&after),
            "{}: fmt changed the meaning",
            path.display()
        );
    }
}

#[test]
fn formatted_example_program_is_stable() {
    let dir = example_program_dir();
    let program = load(&dir);
    for f in &program.journeys {
        let formatted = grammar::format::format_source(&f.text).expect("the example parses");
        assert_eq!(
            formatted, f.text,
            "journeys/{} is not formatted; run `tandem fmt journeys`",
            f.path
        );
    }
}

#[test]
fn formatted_spec_examples_snapshot() {
    let program = load(&fixtures_dir().join("valid").join("spec_examples"));
    let mut all = String::new();
    for f in &program.journeys {
        all.push_str(&format!("// {}\n", f.path));
        all.push_str(&grammar::format::format_source(&f.text).expect("spec examples parse"));
    }
    insta::assert_snapshot!("fmt__spec_examples", all);
}
