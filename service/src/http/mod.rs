//! The HTTP side of `tandem run` (axum): the JSON API with bearer-token scopes, the tracking and consent endpoints (open pixel, signed click redirect, one-click unsubscribe) and signed one-click task actions.

// Helpers return a ready error `Response` as their `Err`: it is what every handler
// answers with, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

use crate::engine_thread::{Item, Refusal, Request};
use crate::sign::Signer;
use crate::store::Records;
use crate::Scope;

mod assets;
mod bodies;
mod dashboard;
mod inbox;
mod leads;
mod tasks;
mod tracking;
mod webhooks;

use dashboard::{dashboard_summary, journey_svg, stream};
use leads::{get_last_email, get_lead, get_leads};
use tasks::{get_tasks, post_task, task_outcome};
use tracking::{act, act_page, click, open_pixel, unsubscribe, unsubscribe_page, untracked};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The engine thread.
    pub core: std::sync::mpsc::Sender<Request>,
    /// A read connection to the store (tasks, timelines, counts).
    pub reader: Arc<Mutex<Box<dyn Records>>>,
    /// Token values and their scopes.
    pub tokens: Arc<Vec<(String, Vec<Scope>)>>,
    /// Verifies signed links.
    pub signer: Signer,
    /// The dashboard's version (sent by the engine thread after each commit;
    /// [`STREAM_END`] at shutdown).
    pub live: Arc<tokio::sync::watch::Sender<crate::dashboard::Live>>,
    /// The service clock (instants of webhook deliveries).
    pub clock: crate::engine_thread::Clock,
    /// The running program's webhook endpoints.
    pub webhooks: crate::delivery::webhook::SharedEndpoints,
    /// Webhook delivery counters.
    pub webhook_stats: Arc<crate::delivery::webhook::WebhookStats>,
    /// Asks the worker holding a lead's partition for its page (a cluster).
    pub forward: reqwest::Client,
}

/// The largest request body accepted (a batch of events).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// How long a request body may take to arrive whole.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// The most items in one batch.
pub const MAX_BATCH: usize = 10_000;

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(assets::routes())
        .route("/api/dashboard/summary", get(dashboard_summary))
        .route("/api/dashboard/journeys/{file}", get(journey_svg))
        .route("/api/stream", get(stream))
        .route("/api/leads", post(post_leads).get(get_leads))
        .route("/api/leads/{id}", get(get_lead))
        .route("/api/leads/{id}/last_email", get(get_last_email))
        .route("/api/events", post(post_events))
        .route("/api/tasks", get(get_tasks))
        .route("/api/tasks/{id}/{action}", post(post_task))
        .route("/api/schema", get(schema))
        .route("/api/metrics", get(metrics))
        .route("/api/program", post(post_program))
        .route("/api/webhooks", get(webhooks::list))
        .route("/api/webhooks/failures", get(webhooks::failures))
        .route("/api/webhooks/deliveries/{id}", get(webhooks::delivery))
        .route(
            "/api/webhooks/deliveries/{id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/api/webhooks/recover", post(webhooks::recover))
        .route(
            "/api/webhooks/endpoints/{name}/resume",
            post(webhooks::resume),
        )
        .route("/api/inbox/quarantine", get(inbox::list))
        .route("/api/inbox/quarantine/{seq}/retry", post(inbox::retry))
        .route("/t/o", get(open_pixel))
        .route("/t/c", get(click))
        .route("/u", get(unsubscribe_page).post(unsubscribe))
        .route("/act", get(act_page).post(act))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        // The extractors' own refusals (a path that is not UTF-8, a bad query) are plain
        // text: every 4xx of the API is the JSON error instead.
        .layer(axum::middleware::map_response(json_client_errors))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // A body that stops arriving (a client that sent its headers and then stalls)
        // does not hold its connection for ever: reading it gives up after this long.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_READ_TIMEOUT,
        ))
        // gzip or brotli when the client takes it (not the live stream, not tiny bodies).
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// The fixed paths of the API, for "did you mean" on an unknown one.
const PATHS: &[&str] = &[
    "/healthz",
    "/api/dashboard/summary",
    "/api/stream",
    "/api/leads",
    "/api/events",
    "/api/tasks",
    "/api/schema",
    "/api/metrics",
    "/api/program",
    "/api/webhooks",
    "/api/webhooks/failures",
    "/api/webhooks/recover",
    "/api/inbox/quarantine",
];

/// 404 for a path no route serves: a JSON error like every other, with the closest path.
async fn no_route(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let hint = compiler::suggest::did_you_mean(path, PATHS.iter().copied())
        .map(|p| format!("; did you mean `{p}`?"))
        .unwrap_or_default();
    error(
        StatusCode::NOT_FOUND,
        format!("there is no `{method} {path}`{hint} (the API is described in docs/api.md)"),
        None,
    )
}

/// 405 for a known path asked with a method it does not take.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("`{}` does not take {method}", uri.path()),
        None,
    )
}

/// The version value that ends every live stream (sent at shutdown).
pub const STREAM_END: u64 = u64::MAX;

/// A plain-text 4xx answer (an axum extractor's refusal) as the API's JSON error, with
/// its text as the message.
async fn json_client_errors(response: Response) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    if !response.status().is_client_error() || !plain {
        return response;
    }
    let status = response.status();
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    error(status, text, None)
}

/// The request body, or the JSON error for one that did not arrive whole: larger than
/// [`MAX_BODY`] (413), or stalled past [`BODY_READ_TIMEOUT`] (408).
fn whole_body(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Bytes, Response> {
    body.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the body is larger than {MAX_BODY} bytes")
        } else if e.body_text().contains("timeout") {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
                None,
            );
        } else {
            format!("the body could not be read: {}", e.body_text())
        };
        error(status, message, None)
    })
}

fn error(status: StatusCode, message: impl Into<String>, index: Option<usize>) -> Response {
    let mut e = Map::new();
    e.insert("message".into(), Value::String(message.into()));
    if let Some(i) = index {
        e.insert("index".into(), json!(i));
    }
    let mut r = (status, axum::Json(json!({ "error": e }))).into_response();
    // A 503 is a failure of the store or the engine, not of the request: try again.
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    r
}

/// The store or the engine failed (not the request): 503 with `Retry-After`, never a 404
/// or a 400 that would make a client give up.
fn unavailable(message: impl Into<String>) -> Response {
    let message = message.into();
    tracing::error!(error = %message, "a request failed on the store or the engine");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the service cannot answer now ({message}); try again"),
        None,
    )
}

fn refusal(r: Refusal) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    error(status, r.message, r.index)
}

/// Checks the bearer token: 401 without a known one, 403 without the scope.
fn authorize(state: &AppState, headers: &HeaderMap, any_of: &[Scope]) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "missing `Authorization: Bearer <token>`",
            None,
        ));
    };
    let Some((_, scopes)) = state
        .tokens
        .iter()
        .find(|(value, _)| constant_time_eq(value.as_bytes(), token.as_bytes()))
    else {
        return Err(error(StatusCode::UNAUTHORIZED, "unknown token", None));
    };
    if scopes.contains(&Scope::Admin) || any_of.iter().any(|s| scopes.contains(s)) {
        Ok(())
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            format!("this token lacks the scope {any_of:?}"),
            None,
        ))
    }
}

/// Equal bytes, compared in constant time (`subtle`): how long a wrong token takes says
/// nothing about how much of it was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// Sends items to the engine and waits until they are durable.
async fn ingest(state: &AppState, items: Vec<Item>) -> Response {
    if items.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "nothing to apply (an empty list)",
            None,
        );
    }
    if items.len() > MAX_BATCH {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_BATCH} items per request"),
            None,
        );
    }
    let (reply, rx) = oneshot::channel();
    if state.core.send(Request::Ingest { items, reply }).is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the engine is stopping",
            None,
        );
    }
    match rx.await {
        Ok(Ok(n)) => (StatusCode::OK, axum::Json(json!({ "applied": n }))).into_response(),
        Ok(Err(r)) => refusal(r),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// A refused body as the API's error.
fn refused(r: bodies::Refused) -> Response {
    error(StatusCode::BAD_REQUEST, r.message, r.index)
}

/// `POST /api/leads`: `{"id": "...", "fields": {...}}` or a list; creates or updates.
async fn post_leads(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest]) {
        return r;
    }
    let body = match whole_body(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match bodies::items::<bodies::LeadItem>(&body) {
        Ok(list) => {
            let items = list
                .into_iter()
                .map(|l| Item {
                    lead: l.id.clone(),
                    action: "upsert".into(),
                    body: l.into_body(),
                })
                .collect();
            ingest(&state, items).await
        }
        Err(r) => refused(r),
    }
}

/// `POST /api/events`: `{"lead": "...", "event": "...", "props": {...}}` or a list.
async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest]) {
        return r;
    }
    let body = match whole_body(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match bodies::items::<bodies::EventItem>(&body) {
        Ok(list) => {
            let items = list
                .into_iter()
                .map(|e| Item {
                    lead: e.lead.clone(),
                    action: "event".into(),
                    body: e.into_body(),
                })
                .collect();
            ingest(&state, items).await
        }
        Err(r) => refused(r),
    }
}

async fn ask<T>(state: &AppState, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Option<T> {
    let (reply, rx) = oneshot::channel();
    state.core.send(make(reply)).ok()?;
    rx.await.ok()
}

/// `GET /api/schema`: the fields, stages and events inputs may carry (used by `tandem import`).
async fn schema(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest]) {
        return r;
    }
    match ask(&state, |reply| Request::Schema { reply }).await {
        Some(v) => axum::Json(v).into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// `GET /api/tasks?team=&status=`.
/// The first query parameter not among `keys` (`"a, b, c"`), as the 400 message names it.
fn unknown_parameter(q: &HashMap<String, String>, keys: &str) -> Option<String> {
    q.keys()
        .find(|k| !keys.split(", ").any(|x| x == k.as_str()))
        .map(|k| format!("unknown parameter `{k}` ({keys})"))
}

/// A whole-number query parameter within `range` (`default` when absent).
fn number_parameter(
    q: &HashMap<String, String>,
    key: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, String> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(format!(
                "`{key}` must be a whole number from {} to {}, not `{v}`",
                range.start(),
                range.end()
            )),
        },
    }
}

/// `GET /api/metrics`: Prometheus text format.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let Some(engine) = ask(&state, |reply| Request::Stats { reply }).await else {
        return unavailable("the engine stopped");
    };
    let reader = state.reader.clone();
    let counts = tokio::task::spawn_blocking(move || {
        reader
            .lock()
            .map_err(|_| "the store lock is poisoned".to_owned())?
            .counts()
            .map_err(|e| e.to_string())
    })
    .await;
    let counts = match counts {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return unavailable(e),
        Err(e) => return unavailable(e.to_string()),
    };
    let mut out = String::new();
    for (name, v) in engine {
        out.push_str(&format!("# TYPE {name} gauge\n{name} {v}\n"));
    }
    let w = &state.webhook_stats;
    for (name, v) in [
        ("tandem_webhook_attempts_total", &w.attempts),
        ("tandem_webhook_sent_total", &w.sent),
        ("tandem_webhook_retries_total", &w.retried),
        ("tandem_webhook_failed_total", &w.failed),
    ] {
        let v = v.load(std::sync::atomic::Ordering::Relaxed);
        out.push_str(&format!("# TYPE {name} counter\n{name} {v}\n"));
    }
    out.push_str("# TYPE tandem_store_rows gauge\n");
    for (name, v) in counts {
        out.push_str(&format!("tandem_store_rows{{kind=\"{name}\"}} {v}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// `POST /api/program`: `{"files": {"main.journey": "...", "templates/x.md": "..."}}`.
async fn post_program(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let body = match whole_body(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let list: Vec<(String, String)> = match bodies::object::<bodies::ProgramBody>(&body) {
        Ok(p) => p.files.into_iter().collect(),
        Err(r) => return refused(r),
    };
    match ask(&state, |reply| Request::Reload { files: list, reply }).await {
        Some(Ok((version, changes))) => {
            axum::Json(json!({ "version": version, "changes": changes["changes"] }))
                .into_response()
        }
        Some(Err(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "error": { "message": "the program has errors; the running version is unchanged", "errors": errors } })),
        )
            .into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}
