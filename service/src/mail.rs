//! Email: tracked links (bodies come from `runtime::render`), the MIME message (List-Id, List-Unsubscribe, a stable Message-ID, DKIM signing) and the transport settings — SMTP (STARTTLS or TLS, credentials from environment variables) or `.eml` files in a folder. Sending is [`crate::delivery::smtp`].

use std::path::PathBuf;

use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::{header, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::TlsParameters;
use lettre::Message;

use crate::sign::{encode, Signer};
use crate::store::OutboxMail;

/// Whether a lead's `email` is one address that mail can be sent to (`an@saoviet.vn`: no
/// display name, no line break, no second header) — the rule both the API and
/// `tandem import` apply before a lead is stored.
pub fn is_lead_address(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

/// Escapes text for HTML (the renderer's one definition).
pub fn escape(s: &str) -> String {
    runtime::render::escape::html(s)
}

/// Rewrites `href="http…"` to the signed click redirect — only for the addresses in
/// `written` (the links the template's author wrote: an address that arrived in lead or
/// event data is never turned into a redirect carrying our signature). The service's own
/// links (unsubscribe) stay as they are.
pub fn track_links(
    html: &str,
    base: &str,
    signer: &Signer,
    lead: &str,
    template: &str,
    written: &[String],
) -> String {
    // The same address as written in the source and as it comes out of the renderer
    // (`&amp;`, percent-encoded non-ASCII, numeric references): compared decoded.
    let same = |a: &str| -> String {
        let decoded = runtime::render::text::decode_entities(a);
        percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned()
    };
    let written: Vec<String> = written.iter().map(|w| same(w)).collect();
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let next = ["href=\"", "href='"]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
            .min();
        let Some((pos, len)) = next else { break };
        let quote = rest.as_bytes()[pos + len - 1] as char;
        let (before, after) = rest.split_at(pos + len);
        out.push_str(before);
        let Some(end) = after.find(quote) else {
            rest = after;
            break;
        };
        let url = &after[..end];
        let plain = runtime::render::text::decode_entities(url);
        let tracked = (plain.starts_with("http://") || plain.starts_with("https://"))
            && !plain.starts_with(base)
            && written.contains(&same(&plain));
        if tracked {
            out.push_str(&format!(
                "{base}/t/c?l={}&amp;t={}&amp;u={}&amp;s={}",
                encode(lead),
                encode(template),
                encode(&plain),
                signer.sign(&["c", lead, template, &plain])
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
    Files(PathBuf),
    /// An SMTP relay.
    Smtp {
        /// The relay's address, security and credentials.
        relay: Relay,
        /// The most messages sent at once, each on a connection of its own (kept open
        /// between messages).
        connections: u32,
    },
}

/// An SMTP relay, checked: where it is, how the connection is protected, and the
/// credentials.
#[derive(Clone)]
pub struct Relay {
    /// The host name (also the name its TLS certificate must have).
    pub host: String,
    /// The port.
    pub port: u16,
    /// No TLS, STARTTLS (required), or TLS from the first byte.
    pub security: Security,
    /// The user name and password, if the relay wants them.
    pub credentials: Option<Credentials>,
}

/// How the connection to the relay is protected.
#[derive(Clone)]
pub enum Security {
    /// Plain text (a relay on loopback only).
    None,
    /// STARTTLS, required: a relay that does not offer it is not used.
    StartTls(TlsParameters),
    /// Implicit TLS (SMTPS).
    Tls(TlsParameters),
}

/// How many messages are written at once to the `.eml` folder, and the default number
/// of SMTP connections.
pub const DEFAULT_CONNECTIONS: u32 = 8;

impl Transport {
    /// The most deliveries the mailer runs at once.
    pub fn concurrency(&self) -> usize {
        match self {
            Transport::Files(_) => DEFAULT_CONNECTIONS as usize,
            Transport::Smtp { connections, .. } => (*connections).max(1) as usize,
        }
    }
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
    /// The most connections to the relay, each carrying one message at a time
    /// (default 8).
    #[serde(default = "default_connections")]
    pub connections: u32,
}

fn default_security() -> String {
    "starttls".into()
}

fn default_connections() -> u32 {
    DEFAULT_CONNECTIONS
}

impl SmtpConfig {
    /// Checks the settings and reads the credentials from the named environment
    /// variables.
    pub fn transport(&self) -> Result<Transport, String> {
        if self.connections == 0 || self.connections > 256 {
            return Err(format!(
                "smtp.connections must be between 1 and 256, not {}",
                self.connections
            ));
        }
        let tls = || TlsParameters::new(self.host.clone()).map_err(|e| format!("smtp: {e}"));
        let (security, port) = match self.security.as_str() {
            "starttls" => (Security::StartTls(tls()?), 587),
            "tls" => (Security::Tls(tls()?), 465),
            "none" => (Security::None, 25),
            other => {
                return Err(format!(
                    "smtp.security must be `starttls`, `tls` or `none`, not `{other}`"
                ))
            }
        };
        let credentials = match (&self.username_env, &self.password_env) {
            (Some(u), Some(p)) => {
                let user = std::env::var(u).map_err(|_| {
                    format!("the environment variable `{u}` (smtp.username_env) is not set")
                })?;
                let pass = std::env::var(p).map_err(|_| {
                    format!("the environment variable `{p}` (smtp.password_env) is not set")
                })?;
                Some(Credentials::new(user, pass))
            }
            (None, None) => None,
            _ => return Err("smtp.username_env and smtp.password_env go together".into()),
        };
        Ok(Transport::Smtp {
            relay: Relay {
                host: self.host.clone(),
                port: self.port.unwrap_or(port),
                security,
                credentials,
            },
            connections: self.connections,
        })
    }
}

/// DKIM settings (from `[dkim]` in the config).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimSettings {
    /// The selector: the public key is published at `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// The signing domain (`d=`); it should be the domain of the `From` address.
    pub domain: String,
    /// The private key: PEM (`RSA PRIVATE KEY` or `PRIVATE KEY`, RSA or Ed25519), or
    /// an Ed25519 seed in base64.
    pub private_key_file: PathBuf,
    /// `rsa` or `ed25519`; by default, what the key is.
    pub algorithm: Option<String>,
}

/// A loaded DKIM key and what it signs.
pub struct Dkim {
    config: DkimConfig,
    /// `v=DKIM1; k=…; p=…`: the TXT record to publish.
    pub dns_record: String,
    /// Where to publish it: `SELECTOR._domainkey.DOMAIN`.
    pub dns_name: String,
}

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dkim")
            .field("dns_name", &self.dns_name)
            .finish_non_exhaustive()
    }
}

/// The headers a DKIM signature covers. A header a message lacks is still listed, which
/// stops anyone adding it later (RFC 6376 §5.4); the List-Unsubscribe pair must be
/// signed for one-click unsubscribe (RFC 8058 §4). Not `Content-Type`: lettre writes the
/// top-level one with the body, where its signer does not see it.
const SIGNED_HEADERS: [&str; 9] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The DER prefix of a PKCS#8 Ed25519 private key (RFC 8410); the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A private key as read from the file.
enum KeyMaterial {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ed25519([u8; 32]),
}

impl DkimSettings {
    /// Reads and checks the key; the error names the file and what is wrong with it.
    pub fn load(&self) -> Result<Dkim, String> {
        let path = &self.private_key_file;
        let fail = |why: &str| format!("dkim.private_key_file {}: {why}", path.display());
        if self.selector.is_empty() || !is_dns_labels(&self.selector) {
            return Err(format!(
                "dkim.selector `{}` must be a DNS name (letters, digits, `-`, `.`)",
                self.selector
            ));
        }
        if self.domain.is_empty() || !is_dns_labels(&self.domain) {
            return Err(format!(
                "dkim.domain `{}` must be a domain name (letters, digits, `-`, `.`)",
                self.domain
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| fail(&format!("cannot read: {e}")))?;
        let key = read_key(&text).map_err(|why| fail(&why))?;
        let wanted = match self.algorithm.as_deref() {
            None => None,
            Some("rsa") => Some(DkimSigningAlgorithm::Rsa),
            Some("ed25519") => Some(DkimSigningAlgorithm::Ed25519),
            Some(other) => {
                return Err(format!(
                    "dkim.algorithm must be `rsa` or `ed25519`, not `{other}`"
                ))
            }
        };
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (signing, dns_record) = match key {
            KeyMaterial::Rsa(k) => {
                if let Some(DkimSigningAlgorithm::Ed25519) = wanted {
                    return Err(fail("this is an RSA key, but dkim.algorithm is `ed25519`"));
                }
                use rsa::pkcs1::EncodeRsaPrivateKey;
                use rsa::pkcs8::EncodePublicKey;
                use rsa::traits::PublicKeyParts;
                let bits = k.size() * 8;
                if bits < 1024 {
                    return Err(fail(&format!(
                        "an RSA key of {bits} bits is too short (receivers ignore DKIM keys under 1024 bits; use 2048)"
                    )));
                }
                let public = rsa::RsaPublicKey::from(k.as_ref())
                    .to_public_key_der()
                    .map_err(|e| fail(&format!("cannot derive the public key: {e}")))?;
                let pem = k
                    .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                    .map_err(|e| fail(&format!("cannot re-encode the key: {e}")))?;
                let signing = DkimSigningKey::new(&pem, DkimSigningAlgorithm::Rsa)
                    .map_err(|e| fail(&format!("not a usable RSA key: {e}")))?;
                (
                    signing,
                    format!("v=DKIM1; k=rsa; p={}", b64.encode(public.as_bytes())),
                )
            }
            KeyMaterial::Ed25519(seed) => {
                if let Some(DkimSigningAlgorithm::Rsa) = wanted {
                    return Err(fail("this is an Ed25519 key, but dkim.algorithm is `rsa`"));
                }
                let signing = DkimSigningKey::new(&b64.encode(seed), DkimSigningAlgorithm::Ed25519)
                    .map_err(|e| fail(&format!("not a usable Ed25519 key: {e}")))?;
                let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
                (
                    signing,
                    format!("v=DKIM1; k=ed25519; p={}", b64.encode(public.as_bytes())),
                )
            }
        };
        let config = DkimConfig::new(
            self.selector.clone(),
            self.domain.clone(),
            signing,
            SIGNED_HEADERS
                .iter()
                .map(|h| header::HeaderName::new_from_ascii_str(h))
                .collect(),
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        );
        let dns_name = format!("{}._domainkey.{}", self.selector, self.domain);
        tracing::info!(name = %dns_name, record = %dns_record, "DKIM: signing every email; the TXT record to publish");
        Ok(Dkim {
            config,
            dns_record,
            dns_name,
        })
    }
}

/// Letters, digits, `-`, `_` and `.` only, no empty label.
fn is_dns_labels(s: &str) -> bool {
    s.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Parses a private key file: PKCS#1 or PKCS#8 PEM (RSA or Ed25519), or a bare base64
/// Ed25519 seed (the form lettre takes).
fn read_key(text: &str) -> Result<KeyMaterial, String> {
    use base64::Engine as _;
    let text = text.trim();
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err("the key is encrypted; store it unencrypted with `openssl pkey -in KEY -out PLAIN`, readable by the service only".into());
    }
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        return rsa::RsaPrivateKey::from_pkcs1_pem(text)
            .map(|k| KeyMaterial::Rsa(Box::new(k)))
            .map_err(|e| format!("not a valid PEM RSA private key ({e})"));
    }
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        let der = pem_body(text, "PRIVATE KEY")
            .ok_or_else(|| "a broken PEM block (no END line or bad base64)".to_owned())?;
        if der.len() == 48 && der[..16] == ED25519_PKCS8_PREFIX {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&der[16..]);
            return Ok(KeyMaterial::Ed25519(seed));
        }
        use rsa::pkcs8::DecodePrivateKey;
        return rsa::RsaPrivateKey::from_pkcs8_der(&der)
            .map(|k| KeyMaterial::Rsa(Box::new(k)))
            .map_err(|e| format!("neither an RSA nor an Ed25519 private key ({e})"));
    }
    if text.contains("-----BEGIN") {
        return Err("not a private key this service reads (PEM `RSA PRIVATE KEY` or `PRIVATE KEY` holding RSA or Ed25519)".into());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| "neither PEM nor a base64 Ed25519 seed".to_owned())?;
    let seed: [u8; 32] = raw
        .try_into()
        .map_err(|_| "a base64 Ed25519 seed must be 32 bytes".to_owned())?;
    Ok(KeyMaterial::Ed25519(seed))
}

/// The bytes of the first PEM block labelled `label`.
fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// The domain of an address (`Name <user@domain>` or `user@domain`), lowercased.
fn address_domain(mailbox: &Mailbox) -> String {
    mailbox.email.domain().to_ascii_lowercase()
}

/// Builds the MIME message: multipart text + HTML, a Message-ID derived from the
/// idempotency key (a resend after a crash has the same id), and — on marketing mail,
/// the mail with an unsubscribe link — `List-Id: <tandem.SENDER-DOMAIN>` and the
/// List-Unsubscribe pair. Signed with DKIM when `dkim` is given.
pub fn message(mail: &OutboxMail, domain: &str, dkim: Option<&Dkim>) -> Result<Message, SendError> {
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad sender `{}`: {e}", mail.from)))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad recipient `{}`: {e}", mail.to)))?;
    let list = format!("<tandem.{}>", address_domain(&from));
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", mail.key)));
    if !mail.unsubscribe.is_empty() {
        builder = builder
            .header(ListId(list))
            .header(ListUnsubscribe(format!("<{}>", mail.unsubscribe)))
            .header(ListUnsubscribePost);
    }
    let mut msg = builder
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
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
    if let Some(dkim) = dkim {
        msg.sign(&dkim.config);
    }
    Ok(msg)
}

/// `List-Id: <tandem.domain>` (RFC 2919): one list per sender domain, since one
/// unsubscribe stops all of its marketing mail.
#[derive(Clone)]
struct ListId(String);

impl header::Header for ListId {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Id")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListId(s.to_owned()))
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_rewritten_to_signed_redirects_but_own_links_stay() {
        let s = Signer::new(b"k");
        let html =
            r#"<a href="https://acme.vn/x?a=1&amp;b=2">x</a> <a href="http://me/u?l=1">u</a>"#;
        let written = vec!["https://acme.vn/x?a=1&b=2".to_owned()];
        let out = track_links(html, "http://me", &s, "l1", "ebook", &written);
        let untracked = track_links(
            r#"<a href="https://evil.example/">x</a>"#,
            "http://me",
            &s,
            "l1",
            "ebook",
            &written,
        );
        assert_eq!(untracked, r#"<a href="https://evil.example/">x</a>"#);
        assert!(out.contains(
            "http://me/t/c?l=l1&amp;t=ebook&amp;u=https%3A%2F%2Facme.vn%2Fx%3Fa%3D1%26b%3D2&amp;s="
        ));
        assert!(out.contains(r#"href="http://me/u?l=1""#));
        // As the renderer writes them: `&amp;` in the source, single quotes, non-ASCII
        // percent-encoded by Markdown.
        let written = vec![
            "https://acme.vn/x?q=1&amp;r=2".to_owned(),
            "https://acme.vn/single".to_owned(),
            "https://acme.vn/hội-thảo".to_owned(),
        ];
        let html = r#"<a href="https://acme.vn/x?q=1&amp;r=2">a</a><a href='https://acme.vn/single'>b</a><a href="https://acme.vn/h%E1%BB%99i-th%E1%BA%A3o">c</a>"#;
        let out = track_links(html, "http://me", &s, "l1", "t", &written);
        assert_eq!(out.matches("http://me/t/c?").count(), 3, "{out}");
    }
}
