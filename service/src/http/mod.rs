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
mod inbox;
mod tracking;
mod webhooks;

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
        .layer(DefaultBodyLimit::max(MAX_BODY))
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
    if let Some(m) = unknown_parameter(&q, "from, to, sections, recent_after") {
        return error(StatusCode::BAD_REQUEST, m, None);
    }
    let only = match q.get("sections").map(|s| summary_sections(s)) {
        None => None,
        Some(Ok(list)) => Some(list),
        Some(Err(m)) => return error(StatusCode::BAD_REQUEST, m, None),
    };
    let recent_after = match q.get("recent_after").map(|v| v.parse::<u64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "`recent_after` must be a whole number (the `seq` of a recent line)",
                None,
            )
        }
    };
    let (from, to) = (q.get("from").cloned(), q.get("to").cloned());
    match ask(&state, |reply| Request::Dashboard { from, to, reply }).await {
        Some(Ok(v)) => match serde_json::to_vec(&trim_summary(v, only.as_deref(), recent_after)) {
            Ok(body) => assets::tagged(&headers, "application/json", body),
            Err(e) => unavailable(e.to_string()),
        },
        Some(Err(r)) => refusal(r),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// The sections a `sections=` list names (comma-separated), or what is wrong with it.
fn summary_sections(list: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    match names
        .iter()
        .find(|n| !crate::dashboard::SECTIONS.contains(&n.as_str()))
    {
        Some(bad) => Err(format!(
            "unknown section `{bad}` ({})",
            crate::dashboard::SECTIONS.join(", ")
        )),
        None => Ok(names),
    }
}

/// A summary cut to what a live page asks for: only the named sections (with the version,
/// period, time zone and generation time always), and only the recent lines newer than
/// `recent_after`.
fn trim_summary(mut v: Value, only: Option<&[String]>, recent_after: Option<u64>) -> Value {
    const ALWAYS: [&str; 2] = ["version", "period"];
    if let Some(o) = v.as_object_mut() {
        if let Some(only) = only {
            // `steps` has no part of its own in a summary (it is the diagrams').
            // Parts outside the sections (render failures, a refused program, the
            // cluster) are small and always sent.
            o.retain(|k, _| {
                ALWAYS.contains(&k.as_str())
                    || only.iter().any(|s| s == k)
                    || !crate::dashboard::SECTIONS.contains(&k.as_str())
            });
        }
        if let (Some(after), Some(Value::Array(recent))) = (recent_after, o.get_mut("recent")) {
            recent.retain(|r| {
                r.get("seq")
                    .and_then(Value::as_u64)
                    .is_some_and(|s| s > after)
            });
        }
    }
    v
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
        Some(Some(Err(r))) => refusal(r),
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
    // At most four events a second (the changes in between are coalesced into the next);
    // a change after a quiet moment goes out at once.
    const GAP: std::time::Duration = std::time::Duration::from_millis(250);
    let events = futures_util::stream::unfold(
        (
            state.live.subscribe(),
            None::<crate::dashboard::Live>,
            tokio::time::Instant::now(),
        ),
        |(mut rx, sent, at)| async move {
            if sent.is_some() {
                if rx.changed().await.is_err() {
                    return None;
                }
                tokio::time::sleep_until(at + GAP).await;
            }
            let live = *rx.borrow_and_update();
            if live.version == STREAM_END {
                return None;
            }
            // The version and the sections that changed since the last event (every
            // section with its version in the first): a page re-fetches only those.
            let sections: Map<String, Value> = crate::dashboard::SECTIONS
                .iter()
                .enumerate()
                .filter(|(i, _)| sent.is_none_or(|s| s.sections[*i] != live.sections[*i]))
                .map(|(i, name)| ((*name).to_owned(), json!(live.sections[i])))
                .collect();
            let event = Event::default()
                .event("update")
                .data(json!({ "version": live.version, "sections": sections }).to_string());
            Some((
                Ok::<Event, std::convert::Infallible>(event),
                (rx, Some(live), tokio::time::Instant::now()),
            ))
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
async fn post_leads(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest]) {
        return r;
    }
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
async fn post_events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest]) {
        return r;
    }
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

/// `GET /api/leads?stage=&journey=&limit=&offset=`: the leads behind a count, newest first.
async fn get_leads(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Ingest, Scope::Sales]) {
        return r;
    }
    if let Some(m) = unknown_parameter(&q, "stage, journey, limit, offset") {
        return error(StatusCode::BAD_REQUEST, m, None);
    }
    let query = match (
        number_parameter(&q, "limit", 50, 1..=1000),
        number_parameter(&q, "offset", 0, 0..=10_000_000),
    ) {
        (Ok(limit), Ok(offset)) => crate::engine_thread::LeadQuery {
            stage: q.get("stage").cloned(),
            journey: q.get("journey").cloned(),
            limit,
            offset,
        },
        (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, m, None),
    };
    let asked = query.clone();
    match ask(&state, |reply| Request::Leads { query, reply }).await {
        Some(Ok(page)) => {
            axum::Json(leads_elsewhere(&state, &headers, &asked, page).await).into_response()
        }
        Some(Err(m)) => error(StatusCode::BAD_REQUEST, m, None),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// In a cluster, a lead list with the other workers' partitions added: each is asked for
/// its own (with the caller's token, marked forwarded so it does not ask further) and the
/// pages are merged by id. A worker that does not answer within 3 s is left out, and
/// `partitions.answered` says so.
async fn leads_elsewhere(
    state: &AppState,
    headers: &HeaderMap,
    q: &crate::engine_thread::LeadQuery,
    mut page: Value,
) -> Value {
    // Only a cluster worker's answer names the others (its leads not yet paged).
    let Some(elsewhere) = page.as_object_mut().and_then(|o| o.remove("elsewhere")) else {
        return page;
    };
    let forwarded = headers.contains_key(FORWARDED);
    let elsewhere: Vec<String> = match (forwarded, headers.get(header::AUTHORIZATION)) {
        (false, Some(_)) => elsewhere
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let auth = headers.get(header::AUTHORIZATION).cloned();
    let limit = q.limit.clamp(1, 1000);
    let mut leads: Vec<Value> = page["leads"].as_array().cloned().unwrap_or_default();
    for (address, auth) in elsewhere.into_iter().zip(std::iter::repeat(auth).flatten()) {
        let Ok(mut url) = url::Url::parse(&address) else {
            continue;
        };
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(["api", "leads"]);
        }
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(s) = &q.stage {
                pairs.append_pair("stage", s);
            }
            if let Some(j) = &q.journey {
                pairs.append_pair("journey", j);
            }
            pairs.append_pair(
                "limit",
                &q.offset.saturating_add(limit).min(1000).to_string(),
            );
        }
        let other = match ask_worker(state, url, auth.clone()).await {
            Ok(v) if v.is_object() => v,
            Ok(_) => {
                tracing::warn!(worker = %address, "a worker's part of a lead list is not an object");
                continue;
            }
            Err(why) => {
                tracing::warn!(worker = %address, error = %why, "a worker did not answer its part of a lead list");
                continue;
            }
        };
        let add = |page: &mut Value, key: &str, n: u64| {
            let now = page[key].as_u64().unwrap_or(0);
            page[key] = json!(now + n);
        };
        add(&mut page, "total", other["total"].as_u64().unwrap_or(0));
        add(
            &mut page["partitions"],
            "answered",
            other["partitions"]["answered"].as_u64().unwrap_or(0),
        );
        if let Some(m) = other["stages"].as_object() {
            for (k, n) in m {
                let now = page["stages"][k].as_u64().unwrap_or(0);
                page["stages"][k] = json!(now + n.as_u64().unwrap_or(0));
            }
        }
        leads.extend(other["leads"].as_array().cloned().unwrap_or_default());
    }
    leads.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    // Asked by another worker: its first offset + limit, which it pages itself.
    let skip = if forwarded { 0 } else { q.offset };
    page["leads"] = Value::Array(leads.into_iter().skip(skip).take(limit).collect());
    page
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
        Some(Ok(Some(view))) => match forward_lead(&state, &headers, &id, &view).await {
            Some(whole) => whole,
            None => axum::Json(view).into_response(),
        },
        Some(Ok(None)) => error(StatusCode::NOT_FOUND, format!("unknown lead `{id}`"), None),
        Some(Err(e)) => unavailable(e),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped", None),
    }
}

/// Marks a lead-page request one worker forwarded to another (never forwarded again).
const FORWARDED: &str = "x-tandem-forwarded";

/// In a cluster, the page of a lead whose partition another worker holds, as that
/// worker's engine shows it (fields, scores, stage, journeys), asked with the caller's
/// own token; `None` (the stored view is answered instead: timeline and tasks) when
/// this worker holds it, the request was forwarded already, or the holder does not
/// answer 200 within 3 s.
async fn forward_lead(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    view: &Value,
) -> Option<Response> {
    if view.get("served_elsewhere") != Some(&Value::Bool(true)) || headers.contains_key(FORWARDED) {
        return None;
    }
    let address = view.get("holder")?.get("address")?.as_str()?;
    let mut url = url::Url::parse(address).ok()?;
    url.path_segments_mut().ok()?.extend(["api", "leads", id]);
    let auth = headers.get(header::AUTHORIZATION)?.clone();
    match ask_worker(state, url, auth).await {
        Ok(whole) => Some(axum::Json(whole).into_response()),
        Err(why) => {
            tracing::warn!(lead = id, error = %why, "the partition's holder did not answer the lead page");
            None
        }
    }
}

/// A GET to another worker of the cluster, with the caller's token and marked forwarded
/// (so it does not ask further): its JSON answer, or why there is none (not 200 within
/// 3 s, or not JSON).
async fn ask_worker(
    state: &AppState,
    url: url::Url,
    auth: axum::http::HeaderValue,
) -> Result<Value, String> {
    let r = state
        .forward
        .get(url)
        .header(header::AUTHORIZATION, auth)
        .header(FORWARDED, "1")
        .timeout(std::time::Duration::from_secs(3))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != reqwest::StatusCode::OK {
        return Err(format!("answered {}", r.status().as_u16()));
    }
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
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

/// `GET /api/tasks` parameters: team, assignee, status (`open`, `accepted`, `rejected`,
/// `completed`), `late=true` (deadline passed before `now`), `limit` (1–1,000, default
/// 1,000) and `offset`.
fn task_query(q: &HashMap<String, String>, now: i64) -> Result<crate::store::TaskQuery, String> {
    if let Some(m) = unknown_parameter(q, "team, assignee, status, late, limit, offset") {
        return Err(m);
    }
    if let Some(s) = q.get("status") {
        if !matches!(s.as_str(), "open" | "accepted" | "rejected" | "completed") {
            return Err(format!(
                "`status` must be open, accepted, rejected or completed, not `{s}`"
            ));
        }
    }
    let late = match q.get("late").map(String::as_str) {
        None | Some("false") => None,
        Some("true") => Some(now),
        Some(v) => return Err(format!("`late` must be true or false, not `{v}`")),
    };
    let limit = number_parameter(q, "limit", 1000, 1..=1000)?;
    Ok(crate::store::TaskQuery {
        team: q.get("team").cloned(),
        assignee: q.get("assignee").cloned(),
        status: q.get("status").cloned(),
        late_at: late,
        limit,
        offset: number_parameter(q, "offset", 0, 0..=1_000_000)?,
    })
}

async fn get_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Sales]) {
        return r;
    }
    let query = match task_query(&q, state.clock.now()) {
        Ok(query) => query,
        Err(message) => return error(StatusCode::BAD_REQUEST, message, None),
    };
    let now = state.clock.now();
    let reader = state.reader.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let mut store = reader
            .lock()
            .map_err(|_| "the store lock is poisoned".to_owned())?;
        store.tasks(&query).map_err(|e| e.to_string())
    })
    .await;
    match rows {
        Ok(Ok(rows)) => {
            let tasks: Vec<Value> = rows
                .into_iter()
                .map(|t| {
                    let overdue = t.due_at.map(|d| now - d).filter(|&s| s > 0);
                    let mut v = serde_json::to_value(&t).unwrap_or(Value::Null);
                    if let Some(o) = v.as_object_mut() {
                        o.insert("overdue_seconds".into(), json!(overdue));
                    }
                    v
                })
                .collect();
            axum::Json(json!({ "tasks": tasks, "now": now })).into_response()
        }
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
    let (by, reason) = match bodies::one::<bodies::TaskOutcome>(&body) {
        Ok(o) => (o.by, o.reason),
        Err(r) => return refused(r),
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
