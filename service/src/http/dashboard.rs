//! The dashboard's API: the summary (`GET /api/dashboard/summary`, with `sections` and `recent_after`), the journey diagrams and the live stream of changes.

use super::*;

/// `GET /api/dashboard/summary?from=&to=`: the shared picture (funnel, journeys, email,
/// handoff, recent activity) for a period of days in the program's time zone.
pub(super) async fn dashboard_summary(
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
pub(super) fn summary_sections(list: &str) -> Result<Vec<String>, String> {
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
pub(super) fn trim_summary(
    mut v: Value,
    only: Option<&[String]>,
    recent_after: Option<u64>,
) -> Value {
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
pub(super) async fn journey_svg(
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
pub(super) async fn stream(
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
