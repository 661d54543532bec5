//! A lead's email as the outbox keeps it: the renderer's parts, the author's links through the signed click redirect, the open pixel (unless open tracking is off), the signed one-click unsubscribe link.

use runtime::render::RenderedEmail;

use crate::sign::{encode, Signer};
use crate::store::OutboxMail;

/// What the service adds to a rendered email.
pub struct Tracking<'a> {
    /// The service's public URL (links point here).
    pub base_url: &'a str,
    /// Signs the links.
    pub signer: &'a Signer,
    /// Whether to add the open pixel (`opened(TEMPLATE)` and `email_opened` depend on it).
    pub open_pixel: bool,
}

/// The lead's signed one-click unsubscribe link (what templates read as `unsubscribe_url`).
pub fn unsubscribe_url(t: &Tracking<'_>, lead: &str) -> String {
    format!(
        "{}/u?l={}&s={}",
        t.base_url,
        encode(lead),
        t.signer.sign(&["u", lead])
    )
}

/// Who and when: the rest of an outbox row.
pub struct Envelope<'a> {
    /// The lead's id.
    pub lead: &'a str,
    /// The template's name.
    pub template: &'a str,
    /// The sender.
    pub from: String,
    /// The lead's address.
    pub to: String,
    /// The subject (the one the timeline line carries).
    pub subject: &'a str,
    /// The line's instant.
    pub at: i64,
}

/// The outbox row of one lead email.
pub fn lead_mail(rendered: RenderedEmail, e: Envelope<'_>, t: &Tracking<'_>) -> OutboxMail {
    let html = crate::mail::track_links(
        &rendered.html,
        t.base_url,
        t.signer,
        e.lead,
        e.template,
        &rendered.links,
    );
    let html = if t.open_pixel {
        format!(
            "{html}\n<img src=\"{}/t/o?l={}&amp;t={}&amp;s={}\" width=\"1\" height=\"1\" alt=\"\">",
            t.base_url,
            encode(e.lead),
            encode(e.template),
            t.signer.sign(&["o", e.lead, e.template])
        )
    } else {
        html
    };
    OutboxMail {
        key: crate::sign::key(&[e.lead, e.template, &e.at.to_string()]),
        lead: e.lead.to_owned(),
        template: e.template.to_owned(),
        from: e.from,
        to: e.to,
        subject: e.subject.to_owned(),
        html,
        text: rendered.text,
        unsubscribe: unsubscribe_url(t, e.lead),
        at: e.at,
    }
}
