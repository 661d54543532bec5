//! Property tests of the renderer against hostile lead data: whatever a lead's fields hold, an email's HTML part gains no tag, attribute or link from them, and plain texts stay on one line.

use proptest::prelude::*;
use runtime::render::{context, lead_value, Renderer, TemplateParts};

fn template(html: bool, body: &str) -> TemplateParts {
    TemplateParts {
        subject: "Chào {{ lead.name }}".into(),
        body: body.into(),
        html,
        from: None,
    }
}

/// Characters that make markup, links and line breaks, mixed with text.
fn hostile() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("<".to_owned()),
            Just(">".to_owned()),
            Just("\"".to_owned()),
            Just("'".to_owned()),
            Just("&".to_owned()),
            Just("[x](https://evil.example/a)".to_owned()),
            Just("<a href=\"https://evil.example/b\">".to_owned()),
            Just("<script>".to_owned()),
            Just("\r\n".to_owned()),
            Just("`".to_owned()),
            Just("*".to_owned()),
            Just("\\".to_owned()),
            Just("https://evil.example/c".to_owned()),
            "[a-zA-Zà-ỹ ]{0,6}",
        ],
        0..12,
    )
    // Letters at both ends keep the template's own structure (a paragraph is never empty).
    .prop_map(|parts| format!("A{}Z", parts.concat()))
}

proptest! {
    #[test]
    fn lead_data_never_becomes_markup(name in hostile(), html in any::<bool>()) {
        let r = Renderer::new();
        let ctx = context(
            lead_value([("name".to_owned(), minijinja::Value::from(name.clone()))], None),
            None,
            "https://svc.example/u?l=1&s=2",
        );
        let body = if html {
            "<p>Chào {{ lead.name }}</p><p title=\"{{ lead.name }}\">x</p><a href=\"https://acme.vn/ok\">ok</a> <a href=\"{{ unsubscribe_url }}\">hủy</a>"
        } else {
            "Chào {{ lead.name }}\n\n> {{ lead.name }}\n\n[ok](https://acme.vn/ok) [hủy]({{ unsubscribe_url }})"
        };
        let email = r.email(&template(html, body), &ctx).expect("renders");
        prop_assert!(!email.html.contains("<script"), "{}", email.html);
        prop_assert!(!email.html.contains("evil.example/a\""), "{}", email.html);
        prop_assert!(!email.html.contains("<a href=\"https://evil"), "{}", email.html);
        prop_assert_eq!(email.html.matches("<a ").count(), 2, "only the author's two links: {}", email.html);
        // Every `<` in the HTML part is the template's own: the value's are entities.
        let tags = email.html.matches('<').count();
        let empty = r.email(&template(html, body), &context(
            lead_value([("name".to_owned(), minijinja::Value::from("x"))], None),
            None,
            "https://svc.example/u?l=1&s=2",
        )).expect("renders");
        prop_assert_eq!(tags, empty.html.matches('<').count(), "{}", email.html);
        prop_assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
        prop_assert_eq!(email.links, vec!["https://acme.vn/ok".to_owned()]);
    }
}
