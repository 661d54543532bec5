//! Template files checked as a program folder holds them: a file no `send` can name is an error with the name to use, and a mistake inside a template is its one error (no second one at each `send` for a missing unsubscribe link).

use compiler::{check_program, ProgramSource};

const MAIN: &str = "timezone \"Asia/Ho_Chi_Minh\"\nlead { name: text }\nevent signup\njourney j {\n  enter on signup\n  send hello\n}\n";
const GOOD: &str = "+++\nsubject = \"Chào\"\n+++\nXin chào\n\n[Hủy]({{ unsubscribe_url }})\n";

fn messages(files: &[(&str, &str)]) -> Vec<String> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    let ws = check_program(&ProgramSource::from_files(&files));
    ws.diagnostics()
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

#[test]
fn a_template_file_no_send_can_name_is_an_error_naming_the_file_to_use() {
    let got = messages(&[
        ("main.journey", MAIN),
        ("templates/hello.md", GOOD),
        ("templates/thư-mời.md", GOOD),
    ]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("E0049 the template file `thư-mời` cannot be sent"),
        "{got:?}"
    );
    assert!(messages(&[("main.journey", MAIN), ("templates/hello.md", GOOD)]).is_empty());
}

#[test]
fn a_misspelt_unsubscribe_url_is_one_error_not_also_a_missing_link() {
    let typo = GOOD.replace("unsubscribe_url", "unsubscribe_link");
    let got = messages(&[("main.journey", MAIN), ("templates/hello.md", &typo)]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("E0049"), "{got:?}");
    // Without any link at all, the send is still refused.
    let none = "+++\nsubject = \"Chào\"\n+++\nXin chào\n";
    let got = messages(&[("main.journey", MAIN), ("templates/hello.md", none)]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("E0048"), "{got:?}");
}
