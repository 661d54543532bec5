//! The HTTP side of `tandem run` (axum): the JSON API with bearer-token scopes, the tracking and consent endpoints (open pixel, signed click redirect, one-click unsubscribe) and signed one-click task actions.

// Helpers return a ready error `Response` as their `Err`: it is what every handler
// answers with, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

use crate::core::{Item, Refusal, Request};
use crate::sign::Signer;
use crate::store::Store;
use crate::Scope;

mod webhooks;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The engine thread.
    pub core: std::sync::mpsc::Sender<Request>,
    /// A read connection to the store (tasks, timelines, counts).
    pub reader: Arc<Mutex<Box<dyn Store>>>,
    /// Token values and their scopes.
    pub tokens: Arc<Vec<(String, Vec<Scope>)>>,
    /// Verifies signed links.
    pub signer: Signer,
    /// The dashboard's version (sent by the engine thread after each commit;
    /// [`STREAM_END`] at shutdown).
    pub live: Arc<tokio::sync::watch::Sender<u64>>,
    /// The service clock (instants of webhook deliveries).
    pub clock: crate::core::Clock,
    /// The running program's webhook endpoints.
    pub webhooks: crate::delivery::webhook::SharedEndpoints,
    /// Webhook delivery counters.
    pub webhook_stats: Arc<crate::delivery::webhook::WebhookStats>,
}

/// The largest request body accepted (a batch of events).
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// The most items in one batch.
pub const MAX_BATCH: usize = 10_000;

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/api/dashboard/summary", get(dashboard_summary))
        .route("/api/dashboard/journeys/{file}", get(journey_svg))
        .route("/api/stream", get(stream))
        .route("/api/leads", post(post_leads))
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
        .route("/t/o", get(open_pixel))
        .route("/t/c", get(click))
        .route("/u", get(unsubscribe_page).post(unsubscribe))
        .route("/act", get(act_page).post(act))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY))
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

/// The dashboard page and its assets, compiled into the binary (no CDN: works offline).
const INDEX_HTML: &str = include_str!("../../assets/index.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const APP_CSS: &str = include_str!("../../assets/app.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/dashboard/summary?from=&to=`: the shared picture (funnel, journeys, email,
/// handoff, recent activity) for a period of days in the program's time zone.
async fn dashboard_summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest, Scope::Sales]) {
        return r;
    }
    if let Some(k) = q.keys().find(|k| !matches!(k.as_str(), "from" | "to")) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown parameter `{k}` (from, to)"),
            None,
        );
    }
    let (from, to) = (q.get("from").cloned(), q.get("to").cloned());
    match ask(&state, |reply| Request::Dashboard { from, to, reply }).await {
        Some(Ok(v)) => axum::Json(v).into_response(),
        Some(Err(e)) => error(StatusCode::BAD_REQUEST, e, None),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// `GET /api/dashboard/journeys/{name}.svg`: the journey's diagram with leads waiting at
/// each step and the share taking each branch.
async fn journey_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest, Scope::Sales]) {
        return r;
    }
    let Some(name) = file.strip_suffix(".svg") else {
        return error(
            StatusCode::NOT_FOUND,
            "diagrams are `/api/dashboard/journeys/NAME.svg`",
            None,
        );
    };
    let lang = q.get("lang").cloned().unwrap_or_else(|| "en".into());
    let name = name.to_owned();
    match ask(&state, |reply| Request::JourneySvg {
        name: name.clone(),
        lang: lang.clone(),
        reply,
    })
    .await
    {
        Some(Some(Ok(svg))) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Some(Some(Err(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, e, None),
        Some(None) => error(
            StatusCode::NOT_FOUND,
            format!("unknown journey `{name}`"),
            None,
        ),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// `GET /api/stream` (Server-Sent Events): an `update` event with the dashboard's version
/// at once and whenever it changes (pushed by the engine thread after each commit). The token may come as `?token=` because
/// browsers' `EventSource` cannot set headers.
async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // A token in a URL ends up in proxies' and browsers' logs: refused, and said why.
    if q.contains_key("token") {
        return error(
            StatusCode::BAD_REQUEST,
            "give the token in the `Authorization: Bearer <token>` header, not in the URL",
            None,
        );
    }
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest, Scope::Sales]) {
        return r;
    }
    let events = futures_util::stream::unfold(
        (state.live.subscribe(), true),
        |(mut rx, first)| async move {
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let version = *rx.borrow_and_update();
            if version == STREAM_END {
                return None;
            }
            let event = Event::default()
                .event("update")
                .data(format!("{{\"version\":{version}}}"));
            Some((Ok::<Event, std::convert::Infallible>(event), (rx, false)))
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// A JSON body as a list of objects (one object or an array of them).
fn objects(body: &Bytes) -> Result<Vec<Map<String, Value>>, Response> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
            None,
        )
    })?;
    let list = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    list.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(o) => Ok(o),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "each item must be a JSON object",
                Some(i),
            )),
        })
        .collect()
}

fn lead_of(o: &Map<String, Value>, key: &str, i: usize) -> Result<String, Response> {
    match o.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            format!("`{key}` is missing (the lead's id, a text)"),
            Some(i),
        )),
    }
}

fn only_keys(o: &Map<String, Value>, allowed: &[&str], i: usize) -> Result<(), Response> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("unknown key `{k}` (allowed: {})", allowed.join(", ")),
            Some(i),
        )),
        None => Ok(()),
    }
}

/// The items of an ingest body (one object or a list): each may hold only `allowed`
/// keys, names its lead under `lead_key`, and becomes an item through `make(lead, object)`.
fn items_of(
    body: &Bytes,
    allowed: &[&str],
    lead_key: &str,
    mut make: impl FnMut(usize, String, Map<String, Value>) -> Result<Item, Response>,
) -> Result<Vec<Item>, Response> {
    let objs = objects(body)?;
    let mut items = Vec::with_capacity(objs.len());
    for (i, mut o) in objs.into_iter().enumerate() {
        only_keys(&o, allowed, i)?;
        let lead = lead_of(&o, lead_key, i)?;
        o.remove(lead_key);
        items.push(make(i, lead, o)?);
    }
    Ok(items)
}

/// `POST /api/leads`: `{"id": "...", "fields": {...}}` or a list; creates or updates.
async fn post_leads(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest]) {
        return r;
    }
    let items = items_of(&body, &["id", "fields"], "id", |_, lead, mut o| {
        let fields = o.remove("fields").unwrap_or(Value::Object(Map::new()));
        let mut body = Map::new();
        body.insert("fields".into(), fields);
        Ok(Item {
            lead,
            action: "upsert".into(),
            body,
        })
    });
    match items {
        Ok(items) => ingest(&state, items).await,
        Err(r) => r,
    }
}

/// `POST /api/events`: `{"lead": "...", "event": "...", "props": {...}}` or a list.
async fn post_events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest]) {
        return r;
    }
    let items = items_of(&body, &["lead", "event", "props"], "lead", |i, lead, o| {
        if !o.contains_key("event") {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "`event` is missing (the event's name)",
                Some(i),
            ));
        }
        Ok(Item {
            lead,
            action: "event".into(),
            body: o,
        })
    });
    match items {
        Ok(items) => ingest(&state, items).await,
        Err(r) => r,
    }
}

async fn ask<T>(state: &AppState, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Option<T> {
    let (reply, rx) = oneshot::channel();
    state.core.send(make(reply)).ok()?;
    rx.await.ok()
}

/// `GET /api/leads/{id}`.
async fn get_lead(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest, Scope::Sales]) {
        return r;
    }
    match ask(&state, |reply| Request::Lead {
        id: id.clone(),
        reply,
    })
    .await
    {
        Some(Some(view)) => axum::Json(view).into_response(),
        Some(None) => error(StatusCode::NOT_FOUND, format!("unknown lead `{id}`"), None),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// `GET /api/leads/{id}/last_email`: the newest email the lead was sent (or is about to
/// be), as rendered: subject, sender, recipient, outbox status, HTML and text parts.
async fn get_last_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Sales]) {
        return r;
    }
    let reader = state.reader.clone();
    let lead = runtime::scenario::normalize(&id);
    let found = tokio::task::spawn_blocking(move || {
        reader
            .lock()
            .map_err(|_| "the store lock is poisoned".to_owned())?
            .last_mail(&lead)
            .map_err(|e| e.to_string())
    })
    .await;
    match found {
        Ok(Ok(Some((m, status)))) => axum::Json(json!({
            "template": m.template,
            "subject": m.subject,
            "from": m.from,
            "to": m.to,
            "status": status,
            "at": runtime::timeline::format_instant(m.at),
            "html": untracked(&m.html, &state.signer),
            "text": m.text,
        }))
        .into_response(),
        Ok(Ok(None)) => error(
            StatusCode::NOT_FOUND,
            format!("no email was sent to the lead `{id}` (or there is no such lead)"),
            None,
        ),
        Ok(Err(e)) => unavailable(e),
        Err(e) => unavailable(e.to_string()),
    }
}

/// The query of `url` when it is this service's `path` (`/t/o` or `/t/c`), decoded.
fn tracking_query(url: &str, path: &str) -> Option<HashMap<String, String>> {
    let (_, query) = url.split_once(&format!("{path}?"))?;
    Some(url_form(query.replace("&amp;", "&").as_bytes()))
}

/// A sent email's HTML as the dashboard shows it: without the open pixel, and with each
/// click redirect replaced by the address it leads to, so looking at the email records
/// no open and no click. Only pixels and redirects signed by this service are touched.
fn untracked(html: &str, signer: &Signer) -> String {
    // The open pixel: the whole `<img …>` tag goes.
    let mut no_pixel = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find("<img src=\"") {
        let (before, tag) = rest.split_at(pos);
        no_pixel.push_str(before);
        let src = &tag[10..];
        let is_pixel = src
            .find('"')
            .and_then(|end| tracking_query(&src[..end], "/t/o"));
        let signed = is_pixel.is_some_and(|q| {
            let p = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
            signer.verify(&["o", p("l"), p("t")], p("s"))
        });
        match tag.find('>') {
            Some(end) if signed => rest = &tag[end + 1..],
            _ => {
                no_pixel.push_str(&tag[..10]);
                rest = &tag[10..];
            }
        }
    }
    no_pixel.push_str(rest);
    // Click redirects: back to the address the template's author wrote.
    let mut out = String::with_capacity(no_pixel.len());
    let mut rest = no_pixel.as_str();
    while let Some(pos) = rest.find("href=\"") {
        let (before, after) = rest.split_at(pos + 6);
        out.push_str(before);
        let Some(end) = after.find('"') else {
            rest = after;
            break;
        };
        let url = &after[..end];
        let target = tracking_query(url, "/t/c").and_then(|q| {
            let p = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
            signer
                .verify(&["c", p("l"), p("t"), p("u")], p("s"))
                .then(|| p("u").to_owned())
        });
        match target {
            Some(u) => out.push_str(&crate::mail::escape(&u)),
            None => out.push_str(url),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
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
async fn get_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Sales]) {
        return r;
    }
    if let Some(k) = q.keys().find(|k| !matches!(k.as_str(), "team" | "status")) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown parameter `{k}` (team, status)"),
            None,
        );
    }
    if let Some(s) = q.get("status") {
        if !matches!(s.as_str(), "open" | "accepted" | "rejected" | "completed") {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`status` must be open, accepted, rejected or completed, not `{s}`"),
                None,
            );
        }
    }
    let reader = state.reader.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let mut store = reader
            .lock()
            .map_err(|_| "the store lock is poisoned".to_owned())?;
        store
            .tasks(
                q.get("team").map(String::as_str),
                q.get("status").map(String::as_str),
            )
            .map_err(|e| e.to_string())
    })
    .await;
    match rows {
        Ok(Ok(rows)) => axum::Json(json!({ "tasks": rows })).into_response(),
        Ok(Err(e)) => unavailable(e),
        Err(e) => unavailable(e.to_string()),
    }
}

/// Applies an outcome to a task: looks the task up, then sends a `task` input.
async fn task_outcome(
    state: &AppState,
    id: &str,
    action: &str,
    by: Option<String>,
    reason: Option<String>,
) -> Response {
    if !matches!(action, "accept" | "reject" | "complete") {
        return error(
            StatusCode::NOT_FOUND,
            format!("no action `{action}` (accept, reject, complete)"),
            None,
        );
    }
    let reader = state.reader.clone();
    let id_owned = id.to_owned();
    let task = tokio::task::spawn_blocking(move || {
        reader
            .lock()
            .map_err(|_| "the store lock is poisoned".to_owned())?
            .task(&id_owned)
            .map_err(|e| e.to_string())
    })
    .await;
    let task = match task {
        Ok(Ok(Some(t))) => t,
        Ok(Ok(None)) => return error(StatusCode::NOT_FOUND, format!("unknown task `{id}`"), None),
        Ok(Err(e)) => return unavailable(e),
        Err(e) => return unavailable(e.to_string()),
    };
    if task.status != "open" && !(task.status == "accepted" && action == "complete") {
        return error(
            StatusCode::CONFLICT,
            format!("the task `{id}` is {} already", task.status),
            None,
        );
    }
    let mut body = Map::new();
    body.insert("task".into(), Value::String(task.handoff.clone()));
    body.insert("outcome".into(), Value::String(action.to_owned()));
    if let Some(by) = by {
        body.insert("by".into(), Value::String(by));
    }
    if let Some(reason) = reason {
        body.insert("reason".into(), Value::String(reason));
    }
    ingest(
        state,
        vec![Item {
            lead: task.lead,
            action: "task".into(),
            body,
        }],
    )
    .await
}

/// `POST /api/tasks/{id}/accept|reject|complete` with optional `{"by", "reason"}`.
async fn post_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Sales]) {
        return r;
    }
    let o = if body.is_empty() {
        Map::new()
    } else {
        match objects(&body) {
            Ok(mut v) if v.len() == 1 => v.remove(0),
            Ok(_) => return error(StatusCode::BAD_REQUEST, "the body must be one object", None),
            Err(r) => return r,
        }
    };
    if let Err(r) = only_keys(&o, &["by", "reason"], 0) {
        return r;
    }
    let text = |k: &str| -> Result<Option<String>, Response> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(error(
                StatusCode::BAD_REQUEST,
                format!("`{k}` must be a text"),
                None,
            )),
        }
    };
    let (by, reason) = match (text("by"), text("reason")) {
        (Ok(b), Ok(r)) => (b, r),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    task_outcome(&state, &id, &action, by, reason).await
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
async fn post_program(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid JSON: {e}"),
                None,
            )
        }
    };
    let Some(files) = v.get("files").and_then(Value::as_object) else {
        return error(
            StatusCode::BAD_REQUEST,
            "`files` is missing: an object of path → text",
            None,
        );
    };
    let mut list = Vec::new();
    for (path, text) in files {
        let Some(text) = text.as_str() else {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`files.{path}` must be a text"),
                None,
            );
        };
        list.push((path.clone(), text.to_owned()));
    }
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

/// A 1×1 transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> &'a str {
    q.get(k).map(String::as_str).unwrap_or("")
}

fn event_item(lead: &str, event: &str, props: Vec<(&str, &str)>) -> Item {
    let mut body = Map::new();
    body.insert("event".into(), Value::String(event.into()));
    let p: Map<String, Value> = props
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    body.insert("props".into(), Value::Object(p));
    Item {
        lead: lead.to_owned(),
        action: "event".into(),
        body,
    }
}

/// `GET /t/o?l=&t=&s=`: the open pixel (always answers the image).
async fn open_pixel(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, t) = (param(&q, "l"), param(&q, "t"));
    if state.signer.verify(&["o", l, t], param(&q, "s")) {
        let _ = ingest(
            &state,
            vec![event_item(l, "email_opened", vec![("template", t)])],
        )
        .await;
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PIXEL,
    )
        .into_response()
}

/// `GET /t/c?l=&t=&u=&s=`: records the click and redirects — only to a URL signed for
/// this lead and template, so it is not an open redirect.
async fn click(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, t, u) = (param(&q, "l"), param(&q, "t"), param(&q, "u"));
    if !state.signer.verify(&["c", l, t, u], param(&q, "s")) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let _ = ingest(
        &state,
        vec![event_item(
            l,
            "email_clicked",
            vec![("template", t), ("url", u)],
        )],
    )
    .await;
    Redirect::to(u).into_response()
}

/// `GET /u?l=&s=`: the unsubscribe page (a button, so link scanners unsubscribe no one).
async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, s) = (param(&q, "l"), param(&q, "s"));
    if !state.signer.verify(&["u", l], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Hủy đăng ký</title>\
         <form method=post action=\"/u?l={}&amp;s={}\"><p>Bạn sẽ không nhận email từ chúng tôi nữa. / You will get no more email from us.</p>\
         <button>Hủy đăng ký / Unsubscribe</button></form>",
        crate::sign::encode(l),
        crate::mail::escape(s)
    ))
    .into_response()
}

/// `POST /u?l=&s=`: one-click unsubscribe (RFC 8058) and the page's button.
async fn unsubscribe(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, s) = (param(&q, "l"), param(&q, "s"));
    if !state.signer.verify(&["u", l], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let r = ingest(&state, vec![event_item(l, "unsubscribed", vec![])]).await;
    if r.status().is_success() {
        Html("<!doctype html><meta charset=utf-8><p>Đã hủy đăng ký. / You are unsubscribed.</p>")
            .into_response()
    } else {
        r
    }
}

/// `GET /act?task=&do=&s=`: the one-click task page from a Sales email.
async fn act_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (task, action, s) = (param(&q, "task"), param(&q, "do"), param(&q, "s"));
    if !state.signer.verify(&["act", task, action], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let reason = if action == "reject" {
        "<p><label>Lý do / Reason: <input name=reason required></label></p>"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Task {t}</title>\
         <form method=post action=\"/act?task={te}&amp;do={a}&amp;s={s}\">{reason}\
         <button>{a} {t}</button></form>",
        t = crate::mail::escape(task),
        te = crate::sign::encode(task),
        a = crate::mail::escape(action),
        s = crate::mail::escape(s),
    ))
    .into_response()
}

/// `POST /act?task=&do=&s=` (form field `reason` for a rejection).
async fn act(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let (task, action, s) = (param(&q, "task"), param(&q, "do"), param(&q, "s"));
    if !state.signer.verify(&["act", task, action], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let form: HashMap<String, String> = url_form(&body);
    let reason = form.get("reason").cloned().filter(|r| !r.is_empty());
    task_outcome(&state, task, action, None, reason).await
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn url_form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_email_records_no_open_and_no_click() {
        let signer = Signer::new(b"the service's secret");
        let written = vec!["https://acme.vn/x?a=1&b=2".to_owned()];
        let body = "<p><a href=\"https://acme.vn/x?a=1&amp;b=2\">x</a> <a href=\"https://other.vn/\">o</a> <img src=\"https://acme.vn/logo.png\" alt=\"\"></p>";
        let tracked = crate::mail::track_links(body, "http://me", &signer, "l1", "ebook", &written);
        assert!(tracked.contains("http://me/t/c?l=l1"), "{tracked}");
        let pixel = format!(
            "<img src=\"http://me/t/o?l=l1&amp;t=ebook&amp;s={}\" width=\"1\" height=\"1\" alt=\"\">",
            signer.sign(&["o", "l1", "ebook"])
        );
        // Look-alikes not signed by this service stay as they are.
        let forged = "<img src=\"http://me/t/o?l=l1&amp;t=ebook&amp;s=00\" alt=\"\"><a href=\"http://me/t/c?l=l1&amp;t=ebook&amp;u=https%3A%2F%2Fevil.vn&amp;s=00\">e</a>";
        let shown = untracked(&format!("{tracked}{forged}\n{pixel}"), &signer);
        assert_eq!(shown, format!("{body}{forged}\n"));
        assert_eq!(untracked("<img src=\"", &signer), "<img src=\"");
        assert_eq!(untracked("<a href=\"x", &signer), "<a href=\"x");
    }
}
