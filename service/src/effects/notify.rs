//! `notify` as mail: one internal email per recipient (team members in order, then the manager; the owner; an address), outside the marketing sending policy, through the outbox and its retries.

use crate::store::OutboxMail;

/// What a `notify` line asks for.
pub struct Notice<'a> {
    /// The lead it is about.
    pub lead: &'a str,
    /// The recipients, in order.
    pub to: &'a [String],
    /// The rendered text (one line, from the engine's renderer).
    pub text: &'a str,
    /// The line's instant.
    pub at: i64,
    /// The line's number in the whole timeline (keeps the keys of two equal notices apart).
    pub line_no: u64,
}

/// The emails of one notice: subject and body both carry the text; the body links to
/// the lead on the dashboard. The text was rendered as plain text; it is HTML-escaped here.
pub fn mails(n: &Notice<'_>, from: &str, base_url: &str) -> Vec<OutboxMail> {
    let link = format!("{base_url}/#lead={}", crate::sign::encode(n.lead));
    let subject = format!("[Tandem] {}", shorten(n.text, 150));
    let text = format!("{}\n\nLead: {} — {link}\n", n.text, n.lead);
    let html = format!(
        "<p>{}</p><p>Lead: <a href=\"{}\">{}</a></p>",
        runtime::render::escape::html(n.text),
        runtime::render::escape::html(&link),
        runtime::render::escape::html(n.lead),
    );
    n.to.iter()
        .filter(|a| !a.trim().is_empty())
        .map(|address| OutboxMail {
            key: crate::sign::key(&["notify", n.lead, address, &n.line_no.to_string()]),
            lead: String::new(),
            template: "notify".into(),
            from: from.to_owned(),
            to: address.clone(),
            subject: subject.clone(),
            html: html.clone(),
            text: text.clone(),
            unsubscribe: String::new(),
            at: n.at,
        })
        .collect()
}

/// At most `max` characters, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mail_per_recipient_in_order_with_escaped_text() {
        let to = vec!["a@acme.vn".to_owned(), "m@acme.vn".to_owned()];
        let n = Notice {
            lead: "an",
            to: &to,
            text: "<b>An</b> xem bảng giá",
            at: 10,
            line_no: 7,
        };
        let m = mails(&n, "Tandem <t@acme.vn>", "https://svc");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].to, "a@acme.vn");
        assert_eq!(m[1].to, "m@acme.vn");
        assert_ne!(m[0].key, m[1].key);
        assert_eq!(m[0].subject, "[Tandem] <b>An</b> xem bảng giá");
        assert!(m[0].html.contains("&lt;b&gt;An"));
        assert!(
            m[0].unsubscribe.is_empty(),
            "internal mail has no list headers"
        );
    }
}
