//! The cluster inbox's quarantine over HTTP: the queued requests set aside after failing, with their error, and putting one back (`GET /api/inbox/quarantine`, `POST /api/inbox/quarantine/{seq}/retry`); a single node has none.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::webhooks::with_store;
use super::{authorize, error, AppState};
use crate::Scope;

/// `GET /api/inbox/quarantine`: every request set aside, oldest first.
pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    match with_store(&state, |s| s.quarantine().map_err(|e| e.to_string())).await {
        Ok(rows) => axum::Json(json!({ "count": rows.len(), "requests": rows })).into_response(),
        Err(r) => r,
    }
}

/// `POST /api/inbox/quarantine/{seq}/retry`: the request goes back to its partition's
/// inbox, in its old place, with no failed attempts.
pub(super) async fn retry(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(seq): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Admin]) {
        return r;
    }
    let Ok(seq) = seq.parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("`{seq}` is not a sequence number (see `GET /api/inbox/quarantine`)"),
            None,
        );
    };
    match with_store(&state, move |s| {
        s.retry_quarantined(seq).map_err(|e| e.to_string())
    })
    .await
    {
        Ok(true) => axum::Json(json!({ "retried": seq })).into_response(),
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            format!("no request {seq} is set aside"),
            None,
        ),
        Err(r) => r,
    }
}
