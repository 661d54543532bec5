//! Every email template of the example program (`journeys/`) renders for a lead through the one renderer the service mails with: no render error (which would keep the email from being sent), no template syntax left in any part, numbers and scores as the language writes them, lead data escaped.

use runtime::embed::{EvaluatorKind, Program};
use runtime::scenario::parse_scenario;

#[test]
fn every_example_template_renders_for_a_lead() {
    let source = tandem::load::load_program(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys"),
    )
    .expect("journeys/ loads");
    let program = Program::check(source).expect("journeys/ checks");
    let scenario = r#"{"inputs": [{"at": "2026-01-05T09:00:00+07:00", "lead": "an", "create": {
        "email": "an@saoviet.vn", "name": "<b>Nguyễn An</b>", "title": "Giám đốc vận hành",
        "company": "Sao Việt [x](https://evil.example)", "company_size": 350, "industry": "logistics",
        "city": "Hà Nội", "budget_vnd": 250000000, "last_reject_reason": "no_budget",
        "demo_requested_at": "2026-01-04T10:30:00+07:00"}}]}"#;
    let scenario = parse_scenario(scenario, program.workspace().symbols()).expect("scenario");
    let mut world = program.world(EvaluatorKind::Interp).expect("a world");
    world.start(scenario.start);
    for input in &scenario.inputs {
        world.input(input);
    }
    let mut names: Vec<&String> = program.templates().keys().collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "the example has its templates: {names:?}"
    );
    for name in names {
        let email = world
            .engine()
            .render_email(
                "an",
                name,
                Some("ebook_nurture"),
                "https://tandem.example/u?l=an&s=1",
            )
            .expect("the lead and the template exist")
            .unwrap_or_else(|e| panic!("`{name}` does not render: {e}"));
        for (part, text) in [
            ("subject", &email.subject),
            ("html", &email.html),
            ("text", &email.text),
        ] {
            assert!(
                !text.contains("{{") && !text.contains("{%"),
                "`{name}` {part} keeps template syntax: {text}"
            );
            assert!(
                !text.contains("350.0"),
                "`{name}` {part}: whole numbers as integers: {text}"
            );
        }
        assert!(
            !email.html.contains("<b>Nguyễn"),
            "`{name}`: lead data is escaped: {}",
            email.html
        );
        assert!(
            !email.html.contains("href=\"https://evil.example"),
            "`{name}`: no link from lead data"
        );
        assert!(
            email.html.contains("https://tandem.example/u?l=an"),
            "`{name}` has the unsubscribe link"
        );
        assert!(
            !email.text.contains("**"),
            "`{name}`: the text part is not raw Markdown: {}",
            email.text
        );
    }
}
