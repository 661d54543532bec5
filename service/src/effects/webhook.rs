//! Webhooks as effects: the program's `[webhooks]` (a URL, or a table with its secret, timeout, headers, limits and the timeline kinds it subscribes to) and the delivery rows a line causes.

use std::collections::BTreeMap;

use runtime::render::payload::{payload, LeadSnapshot, PayloadInput};
use runtime::timeline::{Entry, Line};

use crate::store::NewWebhook;

/// The timeline kinds a webhook may subscribe to (every kind a line can have).
pub use stdlib::TIMELINE_KINDS as KINDS;

/// One endpoint, ready to deliver to.
#[derive(Clone, PartialEq)]
pub struct Endpoint {
    /// The name `webhook NAME` uses.
    pub name: String,
    /// Where deliveries are POSTed.
    pub url: url::Url,
    /// The signing key (the bytes behind `whsec_…`); `None`: deliveries are unsigned.
    pub secret: Option<Vec<u8>>,
    /// How long one attempt may take.
    pub timeout_ms: u64,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Timeline kinds delivered for every lead, without a line in any journey.
    pub events: Vec<String>,
    /// The most attempts at once.
    pub max_in_flight: usize,
    /// The most attempts started per second (0: no limit).
    pub per_second: u32,
}

impl std::fmt::Debug for Endpoint {
    // The secret is never printed, not even in a debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("signed", &self.secret.is_some())
            .field("events", &self.events)
            .finish()
    }
}

/// The program's endpoints by name.
pub type Endpoints = BTreeMap<String, Endpoint>;

/// A webhook as written: a URL, or a table.
enum Spec {
    Url(String),
    Table(Table),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    url: String,
    secret: Option<String>,
    secret_env: Option<String>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    events: Vec<String>,
    max_in_flight: Option<usize>,
    per_second: Option<u32>,
}

#[derive(serde::Deserialize)]
struct Config {
    #[serde(default)]
    webhooks: BTreeMap<String, toml::Value>,
}

/// Reads `[webhooks]` from the program's `tandem.toml` (absent: no webhooks). `env`
/// looks up environment variables (`secret_env`). Every problem is named: the webhook,
/// the key, what is wrong.
pub fn endpoints(
    config: Option<&str>,
    default_timeout_ms: u64,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoints, Vec<String>> {
    let Some(text) = config else {
        return Ok(Endpoints::new());
    };
    let parsed: Config =
        toml::from_str(text).map_err(|e| vec![format!("tandem.toml: {}", e.message())])?;
    let mut out = Endpoints::new();
    let mut errors = Vec::new();
    for (name, value) in parsed.webhooks {
        // Read as a URL or as a table, so an error names the key that is wrong.
        let spec = match value {
            toml::Value::String(url) => Ok(Spec::Url(url)),
            toml::Value::Table(_) => value
                .try_into::<Table>()
                .map(Spec::Table)
                .map_err(|e| e.message().to_owned()),
            other => Err(format!(
                "a {} is neither a URL nor a table",
                other.type_str()
            )),
        };
        let spec = match spec {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!(
                    "tandem.toml: webhook `{name}`: {e} (write `{name} = \"https://…\"` or a table with `url`, `secret` or `secret_env`, `timeout_ms`, `headers`, `events`, `max_in_flight`, `per_second`)"
                ));
                continue;
            }
        };
        match endpoint(&name, spec, default_timeout_ms, env) {
            Ok(e) => {
                out.insert(name, e);
            }
            Err(e) => errors.push(format!("tandem.toml: webhook `{name}`: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn endpoint(
    name: &str,
    spec: Spec,
    default_timeout_ms: u64,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    let t = match spec {
        Spec::Url(url) => Table {
            url,
            secret: None,
            secret_env: None,
            timeout_ms: None,
            headers: BTreeMap::new(),
            events: Vec::new(),
            max_in_flight: None,
            per_second: None,
        },
        Spec::Table(t) => t,
    };
    let url = url::Url::parse(&t.url).map_err(|e| format!("`url` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`url` must be http or https, not `{}`",
            url.scheme()
        ));
    }
    let secret_text =
        match (t.secret, t.secret_env) {
            (Some(_), Some(_)) => return Err("give `secret` or `secret_env`, not both".into()),
            (Some(s), None) => Some(s),
            (None, Some(var)) => Some(env(&var).ok_or_else(|| {
                format!("the environment variable `{var}` (secret_env) is not set")
            })?),
            (None, None) => None,
        };
    let secret = match secret_text {
        Some(s) => Some(
            crate::delivery::webhook::decode_secret(&s).map_err(|e| format!("the secret {e}"))?,
        ),
        None => None,
    };
    for kind in &t.events {
        if !KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "`events` names `{kind}`, which is no timeline kind (one of: {})",
                KINDS.join(", ")
            ));
        }
    }
    let mut headers = Vec::new();
    for (k, v) in t.headers {
        let reserved = k.to_ascii_lowercase();
        if reserved.starts_with("webhook-")
            || reserved == "content-type"
            || reserved == "content-length"
        {
            return Err(format!("header `{k}` is set by Tandem itself"));
        }
        if http_header_ok(&k, &v) {
            headers.push((k, v));
        } else {
            return Err(format!("header `{k}` is not a valid HTTP header"));
        }
    }
    let timeout_ms = t.timeout_ms.unwrap_or(default_timeout_ms);
    if !(100..=120_000).contains(&timeout_ms) {
        return Err("`timeout_ms` must be between 100 and 120000".into());
    }
    Ok(Endpoint {
        name: name.to_owned(),
        url,
        secret,
        timeout_ms,
        headers,
        events: t.events,
        max_in_flight: t.max_in_flight.unwrap_or(4).clamp(1, 64),
        per_second: t.per_second.unwrap_or(0),
    })
}

fn http_header_ok(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

/// What the service knows when a line is committed.
pub struct LineContext<'a> {
    /// The line.
    pub line: &'a Line,
    /// Its number in the whole timeline.
    pub line_no: u64,
    /// The lead once the input that caused it was applied.
    pub lead: Option<&'a LeadSnapshot>,
    /// The service clock (ms) when it is queued.
    pub queued_ms: i64,
}

/// The deliveries a line causes: a `webhook_called` line to its webhook, and the line to
/// every endpoint subscribed to its kind. A `webhook NAME` that names no endpoint is
/// returned as `Err(NAME)` (the caller logs and counts it).
pub fn rows(endpoints: &Endpoints, c: &LineContext<'_>) -> (Vec<NewWebhook>, Option<String>) {
    let mut out = Vec::new();
    let mut unknown = None;
    let lead = c.line.lead.as_deref();
    let line_no = c.line_no.to_string();
    let mut push = |e: &Endpoint, kind: &str, journey: Option<&str>, with_line: bool| {
        let key = format!(
            "msg_{}",
            crate::sign::key(&["webhook", &e.name, kind, lead.unwrap_or(""), &line_no])
        );
        let body = payload(&PayloadInput {
            kind,
            webhook: &e.name,
            key: &key,
            at: c.line.at,
            journey,
            lead: c.lead,
            line: with_line.then(|| {
                serde_json::from_str(&c.line.to_json()).unwrap_or(serde_json::Value::Null)
            }),
        });
        out.push(NewWebhook {
            key,
            webhook: e.name.clone(),
            lead: lead.map(str::to_owned),
            kind: kind.to_owned(),
            body: body.to_string(),
            at: c.line.at,
            queued_ms: c.queued_ms,
        });
    };
    if let Entry::WebhookCalled { webhook, journey } = &c.line.entry {
        match endpoints.get(webhook) {
            Some(e) => push(e, "webhook_called", journey.as_deref(), false),
            None => unknown = Some(webhook.clone()),
        }
    }
    let kind = c.line.entry.kind();
    for e in endpoints.values() {
        if e.events.iter().any(|k| k == kind) {
            let journey = match &c.line.entry {
                Entry::EmailSent { journey, .. } | Entry::EmailSuppressed { journey, .. } => {
                    journey.as_deref()
                }
                Entry::JourneyEntered { journey } | Entry::JourneyExited { journey, .. } => {
                    Some(journey.as_str())
                }
                _ => None,
            };
            push(e, kind, journey, true);
        }
    }
    (out, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn both_forms_are_read_and_problems_are_named() {
        let toml = r#"
[webhooks]
crm_sync = "https://crm.example/hook"
hubspot = { url = "http://127.0.0.1:9/x", secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", events = ["stage_changed"], timeout_ms = 2000 }
"#;
        let e = endpoints(Some(toml), 10_000, &no_env).expect("valid");
        assert_eq!(e["crm_sync"].timeout_ms, 10_000);
        assert!(e["crm_sync"].secret.is_none());
        assert_eq!(e["hubspot"].events, ["stage_changed"]);
        assert!(e["hubspot"].secret.is_some());
        let bad = "[webhooks]\nx = { url = \"ftp://a\" }\ny = { url = \"https://a\", events = [\"stage_change\"] }\nz = { url = \"https://a\", secret_env = \"NOPE\" }\nzz = { url = \"https://a\", timeout = 5 }\n";
        let errs = endpoints(Some(bad), 10_000, &no_env).expect_err("invalid");
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(
            errs[3].contains("`timeout`"),
            "the unknown key is named: {}",
            errs[3]
        );
        assert!(errs[0].contains("`x`") && errs[0].contains("ftp"));
        assert!(errs[1].contains("stage_change"));
        assert!(errs[2].contains("NOPE"));
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let toml = "[webhooks]\nh = { url = \"https://a\", secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\" }\n";
        let e = endpoints(Some(toml), 10_000, &no_env).expect("valid");
        let shown = format!("{:?}", e["h"]);
        assert!(!shown.contains("MfKQ"), "{shown}");
    }
}
