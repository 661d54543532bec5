//! A Sales task's email (new, reassigned, escalated): the task's rendered title, the lead, and signed one-click accept/reject links.

use crate::mail::escape;
use crate::sign::{encode, key, Signer};
use crate::store::OutboxMail;

/// What a task email is about.
pub struct TaskNotice<'a> {
    /// The lead's id.
    pub lead: &'a str,
    /// The handoff's name.
    pub handoff: &'a str,
    /// The task id.
    pub task: &'a str,
    /// The task's title as the engine rendered it (the `notified` line after the task
    /// line), if there is one.
    pub title: Option<&'a str>,
    /// The recipient.
    pub to: &'a str,
    /// The line's instant.
    pub at: i64,
    /// What happened, in words (`mới`, `chuyển cho bạn`, `quá hạn SLA`).
    pub what: &'a str,
}

/// The email to a Sales rep about a task.
pub fn task_mail(n: &TaskNotice<'_>, base: &str, signer: &Signer, from: String) -> OutboxMail {
    let link = |action: &str| {
        format!(
            "{base}/act?task={}&do={action}&s={}",
            encode(n.task),
            signer.sign(&["act", n.task, action])
        )
    };
    let (accept, reject) = (link("accept"), link("reject"));
    let title = n.title.unwrap_or(n.handoff);
    let subject = format!("[Tandem] {title} — task {} ({})", n.what, n.lead);
    let text = format!(
        "{title}\n\nLead {} — handoff {}, task {}.\n\nNhận lead / Accept: {accept}\nTừ chối / Reject: {reject}\n",
        n.lead, n.handoff, n.task
    );
    let html = format!(
        "<p><b>{}</b></p><p>Lead <b>{}</b> — handoff {}, task {}.</p><p><a href=\"{}\">Nhận lead / Accept</a> · <a href=\"{}\">Từ chối / Reject</a></p>",
        escape(title),
        escape(n.lead),
        escape(n.handoff),
        escape(n.task),
        escape(&accept),
        escape(&reject)
    );
    OutboxMail {
        key: key(&[n.task, n.to, n.what, &n.at.to_string()]),
        lead: String::new(),
        template: "task".into(),
        from,
        to: n.to.to_owned(),
        subject,
        html,
        text,
        unsubscribe: String::new(),
        at: n.at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_is_shown_and_escaped() {
        let n = TaskNotice {
            lead: "an",
            handoff: "to_sales",
            task: "an:to_sales:1",
            title: Some("Gọi cho <b>An</b>"),
            to: "rep@acme.vn",
            at: 1,
            what: "mới",
        };
        let m = task_mail(
            &n,
            "https://svc",
            &Signer::new(b"k"),
            "T <t@acme.vn>".into(),
        );
        assert!(
            m.subject.starts_with("[Tandem] Gọi cho <b>An</b>"),
            "{}",
            m.subject
        );
        assert!(m.html.contains("Gọi cho &lt;b&gt;An"), "{}", m.html);
        assert!(m.html.contains("&amp;do=accept&amp;s="), "{}", m.html);
        assert!(m.text.starts_with("Gọi cho <b>An</b>\n"));
    }
}
