//! Fuzz target: arbitrary bytes through the parser, the checker and the formatter must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = grammar::parse(0, text);
    let program = compiler::ProgramSource {
        journeys: vec![
            compiler::SourceText {
                path: "a.journey".into(),
                text: text.to_owned(),
            },
        ],
        templates: vec![compiler::SourceText {
            path: "templates/t.md".into(),
            text: text.to_owned(),
        }],
        config: None,
    };
    let _ = compiler::check_program(&program);
    if let Ok(once) = grammar::format::format_source(text) {
        assert_eq!(grammar::format::format_source(&once), Ok(once));
    }
});
