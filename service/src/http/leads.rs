//! Leads: the list behind a count (`GET /api/leads`), one lead's page (`GET /api/leads/{id}`, asked of the worker holding it in a cluster) and its last email.

use super::*;

/// `GET /api/leads?stage=&journey=&limit=&offset=`: the leads behind a count, newest first.
pub(super) async fn get_leads(
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
pub(super) async fn leads_elsewhere(
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
pub(super) async fn get_lead(
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
pub(super) const FORWARDED: &str = "x-tandem-forwarded";

/// In a cluster, the page of a lead whose partition another worker holds, as that
/// worker's engine shows it (fields, scores, stage, journeys), asked with the caller's
/// own token; `None` (the stored view is answered instead: timeline and tasks) when
/// this worker holds it, the request was forwarded already, or the holder does not
/// answer 200 within 3 s.
pub(super) async fn forward_lead(
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
pub(super) async fn ask_worker(
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
pub(super) async fn get_last_email(
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
