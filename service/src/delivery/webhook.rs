//! Webhook deliveries over HTTP: the outbox drained by POSTs signed per Standard Webhooks 1.0, retried with exponential backoff and jitter over a window (about 28 hours by default), per-endpoint concurrency and rate limits, endpoints paused when they fail for a whole window.
//!
//! A delivery row is written in the commit of the line that caused it, so a crash loses
//! none; an attempt's outcome is written after it, in small batches (at most every
//! 50 ms), so a crash repeats at most the attempts in flight — with the same
//! `webhook-id`, which receivers use to drop the copy.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::effects::webhook::{Endpoint, Endpoints};
use crate::engine_thread::Clock;
use crate::store::{Records, WebhookAttempt, WebhookNext, WebhookRow};

/// The endpoints of the running program version (replaced on reload).
pub type SharedEndpoints = Arc<RwLock<Endpoints>>;

/// How deliveries are retried (`[webhook_delivery]` in the service configuration).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// The first retry's delay; each next one doubles it (with ±25 % jitter), up to
    /// `max_delay_ms`. Default 5000.
    #[serde(default = "default_base")]
    pub retry_base_ms: u64,
    /// The longest delay between two attempts. Default 36,000,000 (10 hours).
    #[serde(default = "default_max_delay")]
    pub max_delay_ms: u64,
    /// How long a delivery is retried before it fails, in hours. Default 28; at most 192
    /// (8 days).
    #[serde(default = "default_window")]
    pub retry_window_hours: f64,
    /// One attempt's timeout unless the webhook sets `timeout_ms`. Default 10000.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_base() -> u64 {
    5_000
}
fn default_max_delay() -> u64 {
    36_000_000
}
fn default_window() -> f64 {
    28.0
}
fn default_timeout() -> u64 {
    10_000
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            retry_base_ms: default_base(),
            max_delay_ms: default_max_delay(),
            retry_window_hours: default_window(),
            timeout_ms: default_timeout(),
        }
    }
}

impl DeliveryConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.retry_window_hours > 0.0 && self.retry_window_hours <= 192.0) {
            return Err(
                "webhook_delivery.retry_window_hours must be above 0 and at most 192 (8 days)"
                    .into(),
            );
        }
        if self.retry_base_ms == 0 || self.max_delay_ms < self.retry_base_ms {
            return Err(
                "webhook_delivery.retry_base_ms must be above 0 and at most max_delay_ms".into(),
            );
        }
        if !(100..=120_000).contains(&self.timeout_ms) {
            return Err("webhook_delivery.timeout_ms must be between 100 and 120000".into());
        }
        Ok(())
    }

    fn window_ms(&self) -> i64 {
        (self.retry_window_hours * 3_600_000.0) as i64
    }
}

/// Counters for `/api/metrics` (since the process started).
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Attempts made.
    pub attempts: AtomicU64,
    /// Deliveries that succeeded.
    pub sent: AtomicU64,
    /// Attempts that will be retried.
    pub retried: AtomicU64,
    /// Deliveries given up.
    pub failed: AtomicU64,
}

/// The key behind a `whsec_…` secret (the prefix is optional; the rest is base64).
pub fn decode_secret(s: &str) -> Result<Vec<u8>, String> {
    let b64 = s.trim().strip_prefix("whsec_").unwrap_or(s.trim());
    let key = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "is not `whsec_` followed by base64".to_owned())?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!("must hold 24 to 64 bytes, not {}", key.len()));
    }
    Ok(key)
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// 2xx.
    Sent(u16),
    /// Connection error, timeout, 408, 429 or 5xx: try again (after `Retry-After` if given).
    Again {
        status: Option<u16>,
        error: String,
        retry_after_ms: Option<i64>,
    },
    /// Any other answer (3xx are not followed; 4xx): give up now.
    Fail { status: u16, error: String },
}

/// Classifies a receiver's status.
fn verdict(status: u16, retry_after: Option<&str>, now_unix: i64) -> Verdict {
    match status {
        200..=299 => Verdict::Sent(status),
        408 | 429 | 500..=599 => Verdict::Again {
            status: Some(status),
            error: format!("HTTP {status}"),
            retry_after_ms: retry_after.and_then(|v| parse_retry_after(v, now_unix)),
        },
        300..=399 => Verdict::Fail {
            status,
            error: format!("HTTP {status}: redirects are not followed"),
        },
        _ => Verdict::Fail {
            status,
            error: format!("HTTP {status}"),
        },
    }
}

/// `Retry-After`: seconds, or an HTTP date; at most a day.
fn parse_retry_after(v: &str, now_unix: i64) -> Option<i64> {
    let v = v.trim();
    let secs = match v.parse::<i64>() {
        Ok(s) => s,
        Err(_) => jiff::fmt::rfc2822::parse(v).ok()?.timestamp().as_second() - now_unix,
    };
    Some(secs.clamp(0, 86_400) * 1000)
}

/// The delay before attempt `attempts + 1`: `base · 2^(attempts-1)`, ±25 % jitter, at
/// most `max`, and never before `Retry-After`.
fn backoff(cfg: &DeliveryConfig, attempts: u32, retry_after_ms: Option<i64>, unit: f64) -> i64 {
    let base = cfg.retry_base_ms as f64 * 2f64.powi(attempts.saturating_sub(1).min(40) as i32);
    let jittered = base * (0.75 + 0.5 * unit);
    let delay = jittered.min(cfg.max_delay_ms as f64) as i64;
    delay.max(retry_after_ms.unwrap_or(0))
}

/// A small random source for jitter (xorshift, seeded from the OS).
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Jitter(u64::from_le_bytes(seed) | 1)
    }
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The HTTP client: rustls, no redirects, no proxy from the environment.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Tandem-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// One POST.
async fn attempt(client: &reqwest::Client, e: &Endpoint, row: &WebhookRow) -> Verdict {
    let now_unix = jiff::Timestamp::now().as_second();
    let mut req = client
        .post(e.url.clone())
        .timeout(Duration::from_millis(e.timeout_ms))
        .header("content-type", "application/json")
        .header("webhook-id", &row.key)
        .header("webhook-timestamp", now_unix.to_string());
    if let Some(key) = &e.secret {
        req = req.header(
            "webhook-signature",
            signature(key, &row.key, now_unix, &row.body),
        );
    }
    for (k, v) in &e.headers {
        req = req.header(k, v);
    }
    match req.body(row.body.clone()).send().await {
        Ok(resp) => {
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            verdict(resp.status().as_u16(), retry_after.as_deref(), now_unix)
        }
        Err(err) => Verdict::Again {
            status: None,
            error: if err.is_timeout() {
                format!("timed out after {} ms", e.timeout_ms)
            } else if err.is_connect() {
                "cannot connect".to_owned()
            } else {
                "request failed".to_owned()
            },
            retry_after_ms: None,
        },
    }
}

/// Turns a verdict into what the store records.
fn outcome(
    cfg: &DeliveryConfig,
    row: &WebhookRow,
    v: Verdict,
    now_ms: i64,
    unit: f64,
) -> (WebhookAttempt, bool) {
    let attempts = row.attempts + 1;
    let (status, error, next, window_ran_out) = match v {
        Verdict::Sent(s) => (Some(s), None, WebhookNext::Sent, false),
        Verdict::Fail { status, error } => (Some(status), Some(error), WebhookNext::Failed, false),
        Verdict::Again {
            status,
            error,
            retry_after_ms,
        } => {
            let at = now_ms + backoff(cfg, attempts, retry_after_ms, unit);
            if at > row.window_ms.saturating_add(cfg.window_ms()) {
                let error = format!(
                    "{error}; retried for {} hours, giving up",
                    cfg.retry_window_hours
                );
                (status, Some(error), WebhookNext::Failed, true)
            } else {
                (status, Some(error), WebhookNext::Retry(at), false)
            }
        }
    };
    (
        WebhookAttempt {
            key: row.key.clone(),
            at_ms: now_ms,
            status,
            error,
            next,
        },
        window_ran_out,
    )
}

/// Drains the webhook outbox until `stop` turns true; then starts nothing new, waits
/// for the attempts in flight (at most their timeout), records their outcomes and
/// returns — so a clean stop sends nothing twice.
pub async fn run(
    mut store: Box<dyn Records>,
    endpoints: SharedEndpoints,
    clock: Clock,
    cfg: DeliveryConfig,
    stats: Arc<WebhookStats>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no deliveries");
            return;
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, WebhookRow, Verdict)>();
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut per_endpoint: HashMap<String, usize> = HashMap::new();
    let mut next_slot: HashMap<String, tokio::time::Instant> = HashMap::new();
    let mut jitter = Jitter::new();
    let mut paused: HashSet<String> = HashSet::new();
    let mut paused_read = tokio::time::Instant::now() - Duration::from_secs(10);
    loop {
        let stopping = *stop.borrow();
        // 1. Outcomes that came in: one commit for all of them.
        let mut done = Vec::new();
        while let Ok(x) = rx.try_recv() {
            done.push(x);
        }
        if !done.is_empty() {
            let now_ms = clock.now_ms();
            let mut attempts = Vec::with_capacity(done.len());
            let mut to_pause = Vec::new();
            for (endpoint, row, v) in done {
                in_flight.remove(&row.key);
                if let Some(n) = per_endpoint.get_mut(&endpoint) {
                    *n = n.saturating_sub(1);
                }
                let (a, ran_out) = outcome(&cfg, &row, v, now_ms, jitter.unit());
                stats.attempts.fetch_add(1, Ordering::Relaxed);
                match a.next {
                    WebhookNext::Sent => stats.sent.fetch_add(1, Ordering::Relaxed),
                    WebhookNext::Retry(_) => stats.retried.fetch_add(1, Ordering::Relaxed),
                    WebhookNext::Failed => stats.failed.fetch_add(1, Ordering::Relaxed),
                };
                if a.next != WebhookNext::Sent {
                    tracing::warn!(webhook = %endpoint, key = %row.key, status = ?a.status,
                        error = a.error.as_deref().unwrap_or(""), "webhook: attempt failed");
                }
                if ran_out {
                    to_pause.push(endpoint);
                }
                attempts.push(a);
            }
            let recorded = tokio::task::block_in_place(|| store.record_webhook_attempts(&attempts));
            if let Err(e) = recorded {
                tracing::error!(error = %e, "webhooks: cannot record attempts");
            }
            for endpoint in to_pause {
                let reason = format!(
                    "every attempt failed for {} hours; deliveries wait until the endpoint is resumed",
                    cfg.retry_window_hours
                );
                tracing::error!(webhook = %endpoint, "webhook endpoint paused: {reason}");
                let r = tokio::task::block_in_place(|| {
                    store.set_webhook_pause(&endpoint, Some((now_ms, &reason)), now_ms)
                });
                if let Err(e) = r {
                    tracing::error!(error = %e, "webhooks: cannot pause an endpoint");
                }
                paused.insert(endpoint);
            }
        }
        // 2. Paused endpoints, read again every second (the API resumes them).
        if paused_read.elapsed() >= Duration::from_secs(1) {
            if let Ok(list) = tokio::task::block_in_place(|| store.webhook_pauses()) {
                paused = list.into_iter().map(|p| p.webhook).collect();
            }
            paused_read = tokio::time::Instant::now();
        }
        if stopping {
            if in_flight.is_empty() {
                tracing::info!("webhooks: stopped, every attempt recorded");
                return;
            }
            // Wait for the attempts in flight (each ends by its timeout).
            if let Ok(Some(x)) = tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
                let _ = tx.send(x);
            }
            continue;
        }
        // 3. What is due and can start now: asked endpoint by endpoint, for the free
        //    places of each, so a paused, slow or busy endpoint (or a backlog of one)
        //    never hides another's deliveries. Rows of an endpoint the program no longer
        //    names are not asked for: they wait until it names it again.
        let now_ms = clock.now_ms();
        let current = endpoints.read().map(|e| e.clone()).unwrap_or_default();
        let mut due = Vec::new();
        for e in current.values() {
            let busy = per_endpoint.get(&e.name).copied().unwrap_or(0);
            if paused.contains(&e.name) || busy >= e.max_in_flight {
                continue;
            }
            let free = e.max_in_flight - busy;
            // Rows in flight are still pending in the store: ask for them too.
            match tokio::task::block_in_place(|| store.due_webhooks(&e.name, now_ms, free + busy)) {
                Ok(rows) => due.extend(
                    rows.into_iter()
                        .filter(|r| !in_flight.contains(&r.key))
                        .take(free),
                ),
                Err(err) => {
                    tracing::error!(webhook = %e.name, error = %err, "webhooks: cannot read the outbox")
                }
            }
        }
        let mut started = 0;
        for row in due {
            if in_flight.contains(&row.key) || paused.contains(&row.webhook) {
                continue;
            }
            let Some(e) = current.get(&row.webhook) else {
                continue;
            };
            let busy = per_endpoint.entry(e.name.clone()).or_insert(0);
            if *busy >= e.max_in_flight {
                continue;
            }
            *busy += 1;
            in_flight.insert(row.key.clone());
            started += 1;
            // Rate limit: attempts of one endpoint start at least 1/per_second apart.
            let start = if e.per_second > 0 {
                let gap = Duration::from_secs_f64(1.0 / f64::from(e.per_second));
                let slot = next_slot
                    .entry(e.name.clone())
                    .or_insert_with(tokio::time::Instant::now);
                let now = tokio::time::Instant::now();
                let at = (*slot).max(now);
                *slot = at + gap;
                Some(at)
            } else {
                None
            };
            let client = client.clone();
            let e = e.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Some(at) = start {
                    tokio::time::sleep_until(at).await;
                }
                let v = attempt(&client, &e, &row).await;
                let _ = tx.send((e.name.clone(), row, v));
            });
        }
        // 4. Wait for an outcome (at most 50 ms, so outcomes are committed in small
        //    batches), or idle a little when nothing is going on.
        if in_flight.is_empty() && started == 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => {}
            }
        } else if let Ok(Some(x)) = tokio::time::timeout(Duration::from_millis(50), rx.recv()).await
        {
            // Put it back for step 1 (the channel is ours alone).
            let _ = tx.send(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference libraries.
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("key");
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(decode_secret("whsec_***").is_err());
        assert!(decode_secret("whsec_YWJj").is_err(), "3 bytes is too short");
    }

    #[test]
    fn statuses_decide_between_retry_and_failure() {
        assert_eq!(verdict(204, None, 0), Verdict::Sent(204));
        assert!(matches!(verdict(503, None, 0), Verdict::Again { .. }));
        assert!(matches!(
            verdict(429, Some("120"), 0),
            Verdict::Again {
                retry_after_ms: Some(120_000),
                ..
            }
        ));
        assert!(matches!(
            verdict(410, None, 0),
            Verdict::Fail { status: 410, .. }
        ));
        assert!(matches!(
            verdict(302, None, 0),
            Verdict::Fail { status: 302, .. }
        ));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40),
            Some(60_000)
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        let cfg = DeliveryConfig::default();
        assert_eq!(backoff(&cfg, 1, None, 0.5), 5_000);
        assert_eq!(backoff(&cfg, 3, None, 0.5), 20_000);
        assert_eq!(backoff(&cfg, 1, None, 0.0), 3_750);
        assert_eq!(backoff(&cfg, 60, None, 1.0), 36_000_000);
        assert_eq!(backoff(&cfg, 1, Some(90_000), 0.5), 90_000);
    }

    #[test]
    fn a_delivery_fails_once_its_window_has_run_out() {
        let cfg = DeliveryConfig {
            retry_window_hours: 1.0,
            ..DeliveryConfig::default()
        };
        let row = WebhookRow {
            key: "k".into(),
            webhook: "w".into(),
            lead: None,
            kind: "webhook_called".into(),
            body: "{}".into(),
            at: 0,
            status: "pending".into(),
            attempts: 3,
            window_ms: 0,
            next_ms: 0,
            last_status: None,
            error: None,
            log: "[]".into(),
        };
        let again = Verdict::Again {
            status: Some(500),
            error: "HTTP 500".into(),
            retry_after_ms: None,
        };
        let (a, out) = outcome(&cfg, &row, again.clone(), 60_000, 0.5);
        assert!(matches!(a.next, WebhookNext::Retry(_)) && !out);
        let (a, out) = outcome(&cfg, &row, again, 3_600_000, 0.5);
        assert_eq!(a.next, WebhookNext::Failed);
        assert!(out, "the endpoint is paused");
    }
}
