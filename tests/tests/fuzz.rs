//! Property tests standing in for a fuzzer in CI: arbitrary bytes and mutated valid programs never panic the parser, the checker, or the formatter; mutated scenarios never panic the scenario reader.

use std::path::Path;

use compiler::{check_program, ProgramSource, SourceText};
use proptest::prelude::*;

/// The example programs' files: the embedded default and `examples/webinar` (which uses
/// `enter on … then`, `exit on`, date waits, `holidays` and the newer `expect` forms).
fn example_files() -> Vec<SourceText> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = tests::load(&root.join("journeys")).journeys;
    files.extend(tests::load(&root.join("examples/webinar")).journeys);
    files
}

fn run_everything(text: &str) {
    let parsed = grammar::parse(0, text);
    let _ = parsed.diagnostics.len();
    let program = ProgramSource::single("fuzz.journey", text);
    let ws = check_program(&program);
    let _ = tandem::render::json(&ws, Path::new(""));
    let _ = tandem::render::human(&ws, Path::new(""), false);
    if let Ok(once) = grammar::format::format_source(text) {
        let twice = grammar::format::format_source(&once);
        assert_eq!(Ok(once), twice, "formatting is idempotent");
    }
}

/// Pieces of the language, so random strings reach deep into the grammar.
const TOKENS: &[&str] = &[
    "rule ",
    "journey ",
    "segment ",
    "score ",
    "team ",
    "handoff ",
    "schedule ",
    "test ",
    "lead ",
    "event ",
    "const ",
    "when ",
    "then ",
    "if ",
    "else ",
    "and ",
    "or ",
    "not ",
    "in ",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\n",
    ";",
    ",",
    "=",
    "==",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "\"x\"",
    "\"\\u{1F600}\"",
    "\"\\q\"",
    "42",
    "3.5",
    "1_000",
    "2 days",
    "4 business hours",
    "9:00",
    "8:30-17:30",
    "2027-02-05",
    "mon-fri",
    "20%",
    "wait ",
    "for ",
    "until ",
    "up to ",
    "timeout ",
    "split ",
    "send ",
    "tag ",
    "set ",
    "stage",
    "score.fit",
    "event.url",
    "count(",
    "within ",
    "where ",
    "matches ",
    "between ",
    "is set",
    "# comment\n",
    "company_size",
    "đốc",
    "\r\n",
    "\t",
    "enter on ",
    "exit",
    "goal ",
];

fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..60).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, &'static str),
}

fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in muts {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Delete(a, n) => {
                let a = a % len;
                let b = (a + n % 64).min(bytes.len());
                bytes.drain(a.min(bytes.len())..b);
            }
            Mutation::Duplicate(a, n) => {
                let a = a % len;
                let b = (a + n % 64).min(bytes.len());
                let piece: Vec<u8> = bytes.get(a..b).map(<[u8]>::to_vec).unwrap_or_default();
                bytes.splice(b..b, piece);
            }
            Mutation::Insert(a, tok) => {
                let a = (a % len).min(bytes.len());
                bytes.splice(a..a, tok.bytes());
            }
        }
    }
    // Mutations can split a multi-byte character; the CLI rejects such files before parsing.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A deletion, a duplication, or an insertion of one of `tokens`.
fn mutation_with(tokens: &'static [&'static str]) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), proptest::sample::select(tokens))
            .prop_map(|(a, t)| Mutation::Insert(a, t)),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    mutation_with(TOKENS)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        run_everything(&s);
    }

    #[test]
    fn token_soup_never_panics(s in token_soup()) {
        run_everything(&s);
    }

    #[test]
    fn mutated_example_program_never_panics(
        file in 0usize..16,
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let files = example_files();
        let f = &files[file % files.len()];
        run_everything(&apply(&f.text, &muts));
    }
}

/// Template pieces: MiniJinja tags broken and nested, front matter, look-alike quotes.
const TEMPLATE_TOKENS: &[&str] = &[
    "{%",
    "%}",
    "{{",
    "}}",
    "{#",
    "#}",
    "{%}",
    "{% if x %}",
    "{% endif %}",
    "{% for t in lead.tags %}",
    "{% endfor %}",
    "{% else %}",
    "+++",
    "\n",
    "\"",
    "“",
    "é",
    "\u{a0}",
    "lead.",
    "unsubscribe_url",
    "-",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// A mutated template of the example program never panics the checker.
    #[test]
    fn mutated_template_never_panics(
        file in 0usize..32,
        muts in proptest::collection::vec(mutation_with(TEMPLATE_TOKENS), 1..6),
    ) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut program = tests::load(&root.join("journeys"));
        let n = program.templates.len();
        let t = &mut program.templates[file % n];
        t.text = apply(&t.text, &muts);
        let ws = check_program(&program);
        let _ = tandem::render::human(&ws, Path::new(""), false);
    }
}

/// A valid scenario for the example program: every kind of input and value.
const SCENARIO: &str = r#"{"start":"2026-01-05T09:00:00+07:00","until":"2026-01-20T00:00:00Z","inputs":[
{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{"name":"Nguyễn An","email":"an@saoviet.vn","company_size":250,"tags":["vip","hà nội"],"demo_requested_at":"2026-01-06T10:00:00Z"}},
{"at":"2026-01-05T09:05:00+07:00","lead":"an","event":"form_submitted","props":{"form":"demo_request","page":"/demo"}},
{"at":"2026-01-06T09:00:00+07:00","lead":"an","update":{"budget_vnd":5e8,"city":"Ha\u0300 Nội"}},
{"at":"2026-01-07T09:00:00+07:00","lead":"an","task":"to_sales","outcome":"reject","reason":"no_budget"}]}"#;

/// JSON pieces, so mutations reach past the first syntax error.
const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "1",
    "-0.5",
    "1e999",
    "\"at\":",
    "\"lead\":\"an\"",
    "\"create\":{}",
    "\"update\":",
    "\"event\":",
    "\"props\":",
    "\"task\":\"to_sales\"",
    "\"outcome\":\"accept\"",
    "\"start\":",
    "\"inputs\":[",
    "\"2026-01-05T09:00:00Z\"",
    "\"2026-02-30T09:00:00Z\"",
    "\"\\u0000\"",
    "\"e\\u0301\"",
    "exit on ",
    "enter on ",
    "wait until ",
    " before ",
    " after ",
    " at 9:00",
    "holidays vietnam",
    "expect ",
    "escalated ",
    "notified ",
];

fn json_mutation() -> impl Strategy<Value = Mutation> {
    mutation_with(JSON_TOKENS)
}

fn example_symbols() -> compiler::symbols::Symbols {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("journeys");
    check_program(&tests::load(&dir)).symbols().clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    /// The scenario reader (one pass, no JSON maps) never panics, and whatever it
    /// accepts it reads as it reads the same scenario written back by `serde_json`:
    /// nothing depends on how the text was laid out.
    #[test]
    fn mutated_scenario_never_panics_and_reads_as_serde_json_sees_it(
        muts in proptest::collection::vec(json_mutation(), 0..6),
    ) {
        let sym = example_symbols();
        let text = apply(SCENARIO, &muts);
        if let Ok(read) = runtime::scenario::parse_scenario(&text, &sym) {
            let value: serde_json::Value = serde_json::from_str(&text).expect("accepted, so JSON");
            let again = runtime::scenario::parse_scenario(&value.to_string(), &sym);
            prop_assert_eq!(Ok(read), again);
        }
    }
}

#[test]
fn the_fuzzed_scenario_is_valid_to_begin_with() {
    let read = runtime::scenario::parse_scenario(SCENARIO, &example_symbols()).expect("valid");
    assert_eq!(read.inputs.len(), 4);
}
