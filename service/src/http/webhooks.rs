//! The webhook API: endpoints and their state, failed deliveries with each attempt, re-delivery one by one or of every failure since an instant, and resuming a paused endpoint.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{authorize, error, AppState};
use crate::store::{Records, WebhookRow};
use crate::Scope;

/// Runs `f` on the reader's store connection, off the async threads.
pub(super) async fn with_store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn Records) -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    let reader = state.reader.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut store = reader
            .lock()
            .map_err(|_| "the store lock is poisoned".to_owned())?;
        f(store.as_mut())
    })
    .await;
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(super::unavailable(e)),
        Err(e) => Err(super::unavailable(e.to_string())),
    }
}

/// An instant given as RFC 3339, in milliseconds.
fn instant_ms(name: &str, text: &str) -> Result<i64, Response> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("`{name}` must be an RFC 3339 instant such as 2026-12-01T00:00:00Z ({e})"),
                None,
            )
        })
}

fn ms_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// One delivery as the API shows it, with every attempt.
fn row_json(r: &WebhookRow) -> Value {
    let attempts: Vec<Value> = serde_json::from_str::<Vec<Value>>(&r.log)
        .unwrap_or_default()
        .into_iter()
        .map(|mut a| {
            if let Some(ms) = a.get("at_ms").and_then(Value::as_i64) {
                a["at"] = json!(ms_text(ms));
            }
            a
        })
        .collect();
    json!({
        "id": r.key,
        "webhook": r.webhook,
        "lead": r.lead,
        "kind": r.kind,
        "at": runtime::timeline::format_instant(r.at),
        "status": r.status,
        "attempts": r.attempts,
        "last_status": r.last_status,
        "error": r.error,
        "retry_window_started": ms_text(r.window_ms),
        "next_attempt": (r.status == "pending").then(|| ms_text(r.next_ms)),
        "attempt_log": attempts,
        "payload": serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
    })
}

/// `GET /api/webhooks`: the endpoints of the running program, paused ones, counts.
pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let (pauses, counts) = match with_store(&state, |s| {
        let pauses = s.webhook_pauses().map_err(|e| e.to_string())?;
        let counts = s.counts().map_err(|e| e.to_string())?;
        Ok((pauses, counts))
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let endpoints = state.webhooks.read().map(|e| e.clone()).unwrap_or_default();
    let list: Vec<Value> = endpoints
        .values()
        .map(|e| {
            let paused = pauses.iter().find(|p| p.webhook == e.name);
            // The URL without its query string, user or password (they may carry secrets).
            let mut shown = e.url.clone();
            shown.set_query(None);
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            json!({
                "name": e.name,
                "url": shown.as_str(),
                "signed": e.secret.is_some(),
                "events": e.events,
                "timeout_ms": e.timeout_ms,
                "max_in_flight": e.max_in_flight,
                "per_second": e.per_second,
                "paused": paused.map(|p| json!({"since": ms_text(p.at_ms), "reason": p.reason})),
            })
        })
        .collect();
    let count = |k: &str| {
        counts
            .iter()
            .find(|(n, _)| n == &format!("webhooks_{k}"))
            .map_or(0, |(_, v)| *v)
    };
    axum::Json(json!({
        "endpoints": list,
        "deliveries": {"pending": count("pending"), "sent": count("sent"), "failed": count("failed")},
    }))
    .into_response()
}

/// `GET /api/webhooks/failures?since=T&limit=N`: failed deliveries, newest first.
pub(super) async fn failures(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    if let Some(m) = super::unknown_parameter(&q, "since, limit") {
        return error(StatusCode::BAD_REQUEST, m, None);
    }
    let since = match q.get("since").map(|t| instant_ms("since", t)).transpose() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "`limit` must be a whole number from 1 to 1000",
                None,
            )
        }
    };
    match with_store(&state, move |s| {
        s.webhook_rows(Some("failed"), since, limit)
            .map_err(|e| e.to_string())
    })
    .await
    {
        Ok(rows) => {
            axum::Json(json!({ "failures": rows.iter().map(row_json).collect::<Vec<_>>() }))
                .into_response()
        }
        Err(r) => r,
    }
}

/// `GET /api/webhooks/deliveries/{id}`: one delivery with its attempts.
pub(super) async fn delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let key = id.clone();
    match with_store(&state, move |s| {
        s.webhook_row(&key).map_err(|e| e.to_string())
    })
    .await
    {
        Ok(Some(row)) => axum::Json(row_json(&row)).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("there is no webhook delivery `{id}`"),
            None,
        ),
        Err(r) => r,
    }
}

/// `POST /api/webhooks/deliveries/{id}/redeliver`: a failed delivery is queued again.
pub(super) async fn redeliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let now = state.clock.now_ms();
    let key = id.clone();
    let result = with_store(&state, move |s| {
        let row = s.webhook_row(&key).map_err(|e| e.to_string())?;
        let n = match &row {
            Some(r) if r.status == "failed" => s
                .requeue_webhooks(Some(&key), None, now)
                .map_err(|e| e.to_string())?,
            _ => 0,
        };
        Ok((row, n))
    })
    .await;
    match result {
        Ok((None, _)) => error(
            StatusCode::NOT_FOUND,
            format!("there is no webhook delivery `{id}`"),
            None,
        ),
        Ok((Some(row), 0)) => error(
            StatusCode::CONFLICT,
            format!(
                "delivery `{id}` is {}, not failed: only failed deliveries are re-delivered",
                row.status
            ),
            None,
        ),
        Ok((Some(_), n)) => axum::Json(json!({ "requeued": n })).into_response(),
        Err(r) => r,
    }
}

/// `POST /api/webhooks/recover?since=T`: every delivery that failed and was queued at
/// or after `T` is queued again.
pub(super) async fn recover(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    if let Some(m) = super::unknown_parameter(&q, "since") {
        return error(StatusCode::BAD_REQUEST, m, None);
    }
    let Some(since) = q.get("since") else {
        return error(
            StatusCode::BAD_REQUEST,
            "`since` is required: re-deliver the failures queued since this RFC 3339 instant",
            None,
        );
    };
    let since = match instant_ms("since", since) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    match with_store(&state, move |s| {
        s.requeue_webhooks(None, Some(since), now)
            .map_err(|e| e.to_string())
    })
    .await
    {
        Ok(n) => axum::Json(json!({ "requeued": n })).into_response(),
        Err(r) => r,
    }
}

/// `POST /api/webhooks/endpoints/{name}/resume`: a paused endpoint gets deliveries again.
pub(super) async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let known = state
        .webhooks
        .read()
        .map(|e| e.contains_key(&name))
        .unwrap_or(false);
    if !known {
        return error(
            StatusCode::NOT_FOUND,
            format!("the running program has no webhook `{name}`"),
            None,
        );
    }
    let n = name.clone();
    let now = state.clock.now_ms();
    match with_store(&state, move |s| {
        s.set_webhook_pause(&n, None, now)
            .map_err(|e| e.to_string())
    })
    .await
    {
        Ok(()) => axum::Json(json!({ "resumed": name })).into_response(),
        Err(r) => r,
    }
}
