//! Property tests standing in for a fuzzer in CI: arbitrary bytes and mutated valid programs never panic the parser, the checker, or the formatter.

use std::path::Path;

use compiler::{check_program, ProgramSource, SourceText};
use proptest::prelude::*;

fn example_files() -> Vec<SourceText> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("journeys");
    tests::load(&dir).journeys
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

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), proptest::sample::select(TOKENS))
            .prop_map(|(a, t)| Mutation::Insert(a, t)),
    ]
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
