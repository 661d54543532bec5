//! The dashboard's page and its static files, compiled into the binary (no CDN: it works offline), each served with an `ETag` so a reload costs a `304`.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

/// Path, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../assets/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    // uPlot 1.6.32 (MIT; see assets/vendor/uplot/): the trend charts.
    (
        "/vendor/uplot.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/vendor/uplot/uPlot.iife.min.js"),
    ),
    (
        "/vendor/uplot.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/vendor/uplot/uPlot.min.css"),
    ),
    (
        "/vendor/uplot.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_str!("../../assets/vendor/uplot/LICENSE"),
    ),
];

/// One route per asset.
pub(super) fn routes() -> Router<AppState> {
    ASSETS
        .iter()
        .fold(Router::new(), |router, &(path, content_type, body)| {
            router.route(
                path,
                get(move |h: HeaderMap| async move {
                    tagged(&h, content_type, body.as_bytes().to_vec())
                }),
            )
        })
}

/// A body with its `ETag` (a hash of the bytes), or `304 Not Modified` when the client
/// already holds those bytes (`If-None-Match`). Caches revalidate every time
/// (`no-cache`): a new release or a new summary is never served stale.
pub(super) fn tagged(headers: &HeaderMap, content_type: &'static str, body: Vec<u8>) -> Response {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&body);
    let etag = format!("\"{}\"", hex::encode(&digest[..12]));
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let head = [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::ETAG, etag),
    ];
    if held {
        (StatusCode::NOT_MODIFIED, head).into_response()
    } else {
        (head, body).into_response()
    }
}
