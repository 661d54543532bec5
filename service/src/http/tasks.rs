//! Sales tasks: the SLA list (`GET /api/tasks`) and the outcomes (`POST /api/tasks/{id}/accept|reject|complete`).

use super::*;

/// `GET /api/tasks` parameters: team, assignee, status (`open`, `accepted`, `rejected`,
/// `completed`), `late=true` (deadline passed before `now`), `limit` (1–1,000, default
/// 1,000) and `offset`.
pub(super) fn task_query(
    q: &HashMap<String, String>,
    now: i64,
) -> Result<crate::store::TaskQuery, String> {
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

pub(super) async fn get_tasks(
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
pub(super) async fn task_outcome(
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
pub(super) async fn post_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &[Scope::Sales]) {
        return r;
    }
    let body = match super::whole_body(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (by, reason) = match bodies::one::<bodies::TaskOutcome>(&body) {
        Ok(o) => (o.by, o.reason),
        Err(r) => return refused(r),
    };
    task_outcome(&state, &id, &action, by, reason).await
}
