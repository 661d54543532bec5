//! The language reference (`docs/language.md`) against the standard library's table: every built-in has its row with the right signature and result, and the published free-mail list is the one `free_email` uses.

use std::path::Path;

fn language_md() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_builtin_has_its_row_in_the_reference() {
    let doc = language_md();
    for b in stdlib::BUILTINS {
        let params: Vec<String> = b
            .params
            .iter()
            .map(|p| match p {
                stdlib::Param::Value(t) => t.to_string(),
                stdlib::Param::Template => "TEMPLATE".to_owned(),
            })
            .collect();
        let row = format!("| `{}({})` | {} |", b.name, params.join(", "), b.result);
        assert!(doc.contains(&row), "docs/language.md has no row `{row}`");
    }
}

#[test]
fn the_free_mail_list_in_the_reference_is_the_one_in_use() {
    let doc = language_md();
    let para = doc
        .split("\n\n")
        .find(|p| p.starts_with("The free-mail list of `free_email`"))
        .expect("the free-mail paragraph");
    let listed: Vec<&str> = para
        .split(':')
        .nth(1)
        .expect("a list after the colon")
        .split(". If")
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(listed, stdlib::FREE_MAIL_DOMAINS);
}
