//! Snapshots of the example program's structure: the syntax tree of each `journeys/` file and the lowered program (journeys as step graphs, rules, scores, handoffs, compiled expressions), so a change to the parser or the lowering shows up as a reviewed diff.

use std::path::Path;

use compiler::check_program;

/// Spans (byte offsets) left out: a snapshot shows the shape, not where each part sits.
fn without_spans(debug: &str) -> String {
    let spans = regex::Regex::new(r"Span \{\s*file: \d+,\s*start: \d+,\s*end: \d+,?\s*\}")
        .expect("valid regex");
    spans.replace_all(debug, "Span").into_owned()
}

fn journeys() -> compiler::ProgramSource {
    tests::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../journeys"))
}

#[test]
fn the_syntax_tree_of_each_example_file() {
    let program = journeys();
    assert!(program.journeys.len() >= 5);
    for f in &program.journeys {
        let parsed = grammar::parse(0, &f.text);
        assert!(parsed.diagnostics.is_empty(), "{}", f.path);
        let name = format!("ast__{}", f.path.trim_end_matches(".journey"));
        insta::assert_snapshot!(name, without_spans(&format!("{:#?}", parsed.file.decls)));
    }
}

#[test]
fn the_lowered_example_program() {
    let ws = check_program(&journeys());
    assert!(!ws.has_errors());
    let lowered = compiler::program::lower_program(&ws).expect("the example lowers");
    insta::assert_snapshot!("ir__journeys", without_spans(&format!("{lowered:#?}")));
}
