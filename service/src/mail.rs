//! Email: bodies (Markdown templates to HTML with pulldown-cmark, HTML to a text part), tracked links, and delivery of the outbox with lettre — SMTP (STARTTLS or TLS, credentials from environment variables) or `.eml` files in a folder — with retries and backoff.

use lettre::message::{header, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::sign::{encode, Signer};
use crate::store::OutboxMail;

/// Markdown to HTML.
pub fn markdown_to_html(md: &str) -> String {
    let parser = pulldown_cmark::Parser::new(md);
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, parser);
    out
}

/// A rough text part for an HTML template: tags dropped, entities for `<>&"` undone.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Rewrites every `href="http…"` to the signed click redirect (unsubscribe links stay).
pub fn track_links(html: &str, base: &str, signer: &Signer, lead: &str, template: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find("href=\"") {
        let (before, after) = rest.split_at(pos + 6);
        out.push_str(before);
        let Some(end) = after.find('"') else {
            rest = after;
            break;
        };
        let url = &after[..end];
        if (url.starts_with("http://") || url.starts_with("https://")) && !url.starts_with(base) {
            let url = url.replace("&amp;", "&");
            out.push_str(&format!(
                "{base}/t/c?l={}&amp;t={}&amp;u={}&amp;s={}",
                encode(lead),
                encode(template),
                encode(&url),
                signer.sign(&["c", lead, template, &url])
            ));
        } else {
            out.push_str(url);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// How mail leaves the service.
#[derive(Clone)]
pub enum Transport {
    /// `.eml` files in a folder (the default: a newcomer sees the emails).
    Files(std::path::PathBuf),
    /// An SMTP relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Why a delivery failed: worth retrying, or not.
#[derive(Debug)]
pub enum SendError {
    /// Try again later (connection trouble, 4xx).
    Transient(String),
    /// Never (bad address, 5xx): the mail bounces.
    Permanent(String),
}

/// SMTP settings (from `[smtp]` in the config).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name.
    pub host: String,
    /// Its port (default 587 for STARTTLS, 465 for TLS, 25 for none).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none` (only for a relay on loopback).
    #[serde(default = "default_security")]
    pub security: String,
    /// The environment variable holding the user name, if the relay wants one.
    pub username_env: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
}

fn default_security() -> String {
    "starttls".into()
}

impl SmtpConfig {
    /// Builds the transport; credentials are read from the named environment variables.
    pub fn transport(&self) -> Result<Transport, String> {
        let builder = match self.security.as_str() {
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
                .map_err(|e| format!("smtp: {e}"))?
                .port(self.port.unwrap_or(587)),
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host)
                .map_err(|e| format!("smtp: {e}"))?
                .port(self.port.unwrap_or(465)),
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
                .port(self.port.unwrap_or(25)),
            other => {
                return Err(format!(
                    "smtp.security must be `starttls`, `tls` or `none`, not `{other}`"
                ))
            }
        };
        let builder = match (&self.username_env, &self.password_env) {
            (Some(u), Some(p)) => {
                let user = std::env::var(u).map_err(|_| {
                    format!("the environment variable `{u}` (smtp.username_env) is not set")
                })?;
                let pass = std::env::var(p).map_err(|_| {
                    format!("the environment variable `{p}` (smtp.password_env) is not set")
                })?;
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user, pass,
                ))
            }
            (None, None) => builder,
            _ => return Err("smtp.username_env and smtp.password_env go together".into()),
        };
        Ok(Transport::Smtp(builder.build()))
    }
}

/// Builds the MIME message: multipart text + HTML, List-Unsubscribe headers, and a
/// Message-ID derived from the idempotency key (a resend after a crash has the same id).
pub fn message(mail: &OutboxMail, domain: &str) -> Result<Message, SendError> {
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad sender `{}`: {e}", mail.from)))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad recipient `{}`: {e}", mail.to)))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", mail.key)));
    if !mail.unsubscribe.is_empty() {
        builder = builder
            .header(ListUnsubscribe(format!("<{}>", mail.unsubscribe)))
            .header(ListUnsubscribePost);
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(header::ContentType::TEXT_PLAIN)
                        .body(mail.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(header::ContentType::TEXT_HTML)
                        .body(mail.html.clone()),
                ),
        )
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
}

/// `List-Unsubscribe: <url>`.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// Sends one message.
pub async fn send(transport: &Transport, msg: Message) -> Result<(), SendError> {
    match transport {
        Transport::Files(dir) => {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| SendError::Transient(format!("{}: {e}", dir.display())))?;
            AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(msg)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(e.to_string()))
        }
        Transport::Smtp(smtp) => smtp.send(msg).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                SendError::Permanent(e.to_string())
            } else {
                SendError::Transient(e.to_string())
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_rewritten_to_signed_redirects_but_own_links_stay() {
        let s = Signer::new(b"k");
        let html =
            r#"<a href="https://acme.vn/x?a=1&amp;b=2">x</a> <a href="http://me/u?l=1">u</a>"#;
        let out = track_links(html, "http://me", &s, "l1", "ebook");
        assert!(out.contains(
            "http://me/t/c?l=l1&amp;t=ebook&amp;u=https%3A%2F%2Facme.vn%2Fx%3Fa%3D1%26b%3D2&amp;s="
        ));
        assert!(out.contains(r#"href="http://me/u?l=1""#));
    }

    #[test]
    fn markdown_becomes_html_and_html_becomes_text() {
        assert_eq!(
            markdown_to_html("**Chào** bạn"),
            "<p><strong>Chào</strong> bạn</p>\n"
        );
        assert_eq!(html_to_text("<p>A &amp; B</p>"), "A & B");
    }
}
