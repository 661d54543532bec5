//! Property test: whatever the editor holds — half-typed declarations, Vietnamese text, stray quotes and bytes of every width — every question the server answers, at every offset, returns without panicking.

use compiler::workspace::Workspace;
use compiler::ProgramSource;
use lsp::analysis;
use proptest::prelude::*;

/// Pieces of real programs and noise, glued in random order.
fn text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "lead { n: number, email: text }\n",
        "event visit { url: text }\n",
        "segment big = n > 5\n",
        "score fit {\n  +10 if big\n  +5 on visit where event.url contains \"gia\"\n}\n",
        "journey j {\n  enter on visit\n  send hello\n  wait 2 days\n}\n",
        "rule r { when count(visit where event. within 2 days) >= 2 then tag \"x\" }\n",
        "event.",
        "send ",
        "opened(",
        "\"Chào Nguyễn\"",
        "# ghi chú tiếng Việt\n",
        "{",
        "}",
        "(",
        "\"",
        "\\",
        "big",
        "fit",
        "😀",
        "Đ",
        "\n",
        " ",
        "= ",
        "test \"t\" {\n  lead big { n: 1 }\n  event big visit { url: \"/a\" }\n}\n",
    ]);
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_answer_at_every_offset_returns(src in text()) {
        let mut ws = Workspace::new(ProgramSource::from_files(&[
            ("main.journey".into(), src.clone()),
            ("templates/hello.md".into(), "+++\nsubject = \"x\"\n+++\nhi {{ unsubscribe_url }}\n".into()),
        ]));
        ws.check();
        let _ = analysis::document_symbols(&ws, 0);
        for offset in 0..=src.len() + 2 {
            let _ = analysis::completions(&ws, 0, offset);
            let _ = analysis::hover(&ws, 0, offset);
            if let Some((_, decls)) = analysis::resolve(&ws, 0, offset) {
                if let Some(d) = decls.first() {
                    let _ = analysis::references(&ws, d);
                }
            }
            let _ = analysis::rename(&ws, 0, offset, "moi_ten");
        }
        let mut program = lsp::Program::new("/tmp/tandem-prop".into(), ProgramSource::default());
        let _ = program.change("main.journey", src, false);
    }
}
