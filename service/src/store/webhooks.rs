//! Webhook deliveries as the store keeps them: one row per delivery (written in the commit of the line that caused it), its attempts, and paused endpoints; the SQLite side of it.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// A delivery the engine's commit writes: nothing lost between the line and the POST.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    /// The idempotency key: the `webhook-id` header, the same on every attempt.
    pub key: String,
    /// The webhook's name in `tandem.toml`.
    pub webhook: String,
    /// The lead it is about, if any.
    pub lead: Option<String>,
    /// `webhook_called`, or the kind of the subscribed timeline line.
    pub kind: String,
    /// The JSON body, rendered once.
    pub body: String,
    /// The engine instant of the line (seconds since 1970).
    pub at: i64,
    /// When it was queued, in milliseconds of the service clock (the retry window
    /// starts here).
    pub queued_ms: i64,
}

/// One delivery with its state.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebhookRow {
    /// The idempotency key.
    pub key: String,
    /// The webhook's name.
    pub webhook: String,
    /// The lead, if any.
    pub lead: Option<String>,
    /// What it is about.
    pub kind: String,
    /// The JSON body.
    #[serde(skip)]
    pub body: String,
    /// The line's instant (seconds).
    pub at: i64,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the current retry window started (ms).
    pub window_ms: i64,
    /// When the next attempt is due (ms).
    pub next_ms: i64,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<i64>,
    /// What went wrong last.
    pub error: Option<String>,
    /// Every attempt: `{"at_ms", "status", "error", "outcome"}`, oldest first.
    #[serde(skip)]
    pub log: String,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAttempt {
    /// The delivery.
    pub key: String,
    /// When the attempt ended (ms).
    pub at_ms: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// What happens next.
    pub next: WebhookNext,
}

/// After an attempt: done, again later, or given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookNext {
    /// Delivered (a 2xx answer).
    Sent,
    /// Try again at this instant (ms).
    Retry(i64),
    /// Given up: a 4xx other than 408/429, or the retry window ran out.
    Failed,
}

impl WebhookAttempt {
    /// The attempt as a log entry (JSON).
    pub fn log_entry(&self) -> String {
        let outcome = match self.next {
            WebhookNext::Sent => "sent",
            WebhookNext::Retry(_) => "retry",
            WebhookNext::Failed => "failed",
        };
        serde_json::json!({
            "at_ms": self.at_ms,
            "status": self.status,
            "error": self.error,
            "outcome": outcome,
        })
        .to_string()
    }
}

/// An endpoint paused after failing for a whole retry window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebhookPause {
    /// The webhook's name.
    pub webhook: String,
    /// Since when (ms).
    pub at_ms: i64,
    /// Why.
    pub reason: String,
}

/// The columns of [`WebhookRow`], in order (both stores).
pub const COLUMNS: &str =
    "key, webhook, lead, kind, body, at, status, attempts, window_ms, next_ms, last_status, error, log";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookRow> {
    Ok(WebhookRow {
        key: r.get(0)?,
        webhook: r.get(1)?,
        lead: r.get(2)?,
        kind: r.get(3)?,
        body: r.get(4)?,
        at: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        window_ms: r.get(8)?,
        next_ms: r.get(9)?,
        last_status: r.get(10)?,
        error: r.get(11)?,
        log: r.get(12)?,
    })
}

/// Inserts the commit's deliveries (a key already there is kept as it is).
pub(super) fn insert(tx: &Connection, rows: &[NewWebhook]) -> Result<(), StoreError> {
    let mut put = tx.prepare_cached(
        "INSERT OR IGNORE INTO webhook_outbox (key, webhook, lead, kind, body, at, window_ms, next_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?;
    for w in rows {
        put.execute(params![
            w.key,
            w.webhook,
            w.lead,
            w.kind,
            w.body,
            w.at,
            w.queued_ms
        ])?;
    }
    Ok(())
}

/// One endpoint's deliveries due at `now_ms`, oldest first (asked per endpoint, so a
/// backlog of one never hides the others').
pub(super) fn due(
    conn: &Connection,
    webhook: &str,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<WebhookRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_outbox WHERE webhook = ?1 AND status = 'pending'
           AND next_ms <= ?2 ORDER BY next_ms, key LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![webhook, now_ms, limit as i64], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records attempts, all in one transaction.
pub(super) fn record(conn: &mut Connection, attempts: &[WebhookAttempt]) -> Result<(), StoreError> {
    if attempts.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for a in attempts {
        let (status, next_ms) = match a.next {
            WebhookNext::Sent => ("sent", None),
            WebhookNext::Retry(at) => ("pending", Some(at)),
            WebhookNext::Failed => ("failed", None),
        };
        tx.prepare_cached(
            "UPDATE webhook_outbox SET status = ?2, attempts = attempts + 1,
               next_ms = COALESCE(?3, next_ms), last_status = ?4, error = ?5,
               log = json_insert(log, '$[#]', json(?6))
             WHERE key = ?1 AND status = 'pending'",
        )?
        .execute(params![
            a.key,
            status,
            next_ms,
            a.status.map(i64::from),
            a.error,
            a.log_entry()
        ])?;
    }
    tx.commit()?;
    Ok(())
}

/// Deliveries of one status (all when `None`) queued since `since_ms`, newest first.
pub(super) fn list(
    conn: &Connection,
    status: Option<&str>,
    since_ms: Option<i64>,
    limit: usize,
) -> Result<Vec<WebhookRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_outbox WHERE (?1 IS NULL OR status = ?1)
           AND (?2 IS NULL OR window_ms >= ?2) ORDER BY window_ms DESC, key LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![status, since_ms, limit as i64], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One delivery.
pub(super) fn get(conn: &Connection, key: &str) -> Result<Option<WebhookRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM webhook_outbox WHERE key = ?1"),
            [key],
            row,
        )
        .optional()?)
}

/// Puts failed deliveries (one by key, or every one queued since an instant) back in
/// the queue, due now, with a fresh retry window; returns how many.
pub(super) fn requeue(
    conn: &Connection,
    key: Option<&str>,
    since_ms: Option<i64>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let n = conn.execute(
        "UPDATE webhook_outbox SET status = 'pending', next_ms = ?3, window_ms = ?3
         WHERE status = 'failed' AND (?1 IS NULL OR key = ?1) AND (?2 IS NULL OR window_ms >= ?2)",
        params![key, since_ms, now_ms],
    )?;
    Ok(n as u64)
}

/// Paused endpoints.
pub(super) fn pauses(conn: &Connection) -> Result<Vec<WebhookPause>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT webhook, at_ms, reason FROM webhook_pauses ORDER BY webhook")?;
    let rows = stmt.query_map([], |r| {
        Ok(WebhookPause {
            webhook: r.get(0)?,
            at_ms: r.get(1)?,
            reason: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Pauses an endpoint (`Some`) or resumes it (`None`): its waiting deliveries get a
/// fresh retry window from `now_ms` and are due at once (the time paused does not count
/// against them).
pub(super) fn set_pause(
    conn: &mut Connection,
    webhook: &str,
    pause: Option<(i64, &str)>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    match pause {
        Some((at, reason)) => tx.execute(
            "INSERT INTO webhook_pauses (webhook, at_ms, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (webhook) DO UPDATE SET at_ms = excluded.at_ms, reason = excluded.reason",
            params![webhook, at, reason],
        )?,
        None => {
            tx.execute(
                "UPDATE webhook_outbox SET window_ms = ?2, next_ms = MIN(next_ms, ?2)
                 WHERE webhook = ?1 AND status = 'pending'",
                params![webhook, now_ms],
            )?;
            tx.execute("DELETE FROM webhook_pauses WHERE webhook = ?1", [webhook])?
        }
    };
    tx.commit()?;
    Ok(())
}

/// The same on PostgreSQL (tables made by the store's migrations).
pub(crate) mod pg {
    use crate::db::GenericClient;
    use tokio_postgres::Row;

    use super::{NewWebhook, WebhookAttempt, WebhookNext, WebhookPause, WebhookRow, COLUMNS};
    use crate::store::StoreError;

    fn row(r: &Row) -> WebhookRow {
        WebhookRow {
            key: r.get(0),
            webhook: r.get(1),
            lead: r.get(2),
            kind: r.get(3),
            body: r.get(4),
            at: r.get(5),
            status: r.get(6),
            attempts: u32::try_from(r.get::<_, i32>(7)).unwrap_or(0),
            window_ms: r.get(8),
            next_ms: r.get(9),
            last_status: r.get(10),
            error: r.get(11),
            log: r.get(12),
        }
    }

    /// Inserts a commit's deliveries (one statement for all of them).
    pub(crate) async fn insert(
        tx: &impl GenericClient,
        rows: &[NewWebhook],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let col = |f: fn(&NewWebhook) -> &str| -> Vec<&str> { rows.iter().map(f).collect() };
        let leads: Vec<Option<&str>> = rows.iter().map(|w| w.lead.as_deref()).collect();
        let ats: Vec<i64> = rows.iter().map(|w| w.at).collect();
        let queued: Vec<i64> = rows.iter().map(|w| w.queued_ms).collect();
        tx.execute(
            "INSERT INTO webhook_outbox (key, webhook, lead, kind, body, at, window_ms, next_ms)
             SELECT k, w, l, kd, b, a, q, q FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[],
               $5::TEXT[], $6::BIGINT[], $7::BIGINT[]) AS u(k, w, l, kd, b, a, q)
             ON CONFLICT (key) DO NOTHING",
            &[
                &col(|w| &w.key),
                &col(|w| &w.webhook),
                &leads,
                &col(|w| &w.kind),
                &col(|w| &w.body),
                &ats,
                &queued,
            ],
        ).await?;
        Ok(())
    }

    pub(crate) async fn due(
        c: &impl GenericClient,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM webhook_outbox WHERE webhook = $1 AND status = 'pending'
                   AND next_ms <= $2 ORDER BY next_ms, key LIMIT $3"
                ),
                &[&webhook, &now_ms, &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(row).collect())
    }

    pub(crate) async fn record(
        tx: &impl GenericClient,
        attempts: &[WebhookAttempt],
    ) -> Result<(), StoreError> {
        for a in attempts {
            let (status, next_ms) = match a.next {
                WebhookNext::Sent => ("sent", None),
                WebhookNext::Retry(at) => ("pending", Some(at)),
                WebhookNext::Failed => ("failed", None),
            };
            tx.execute(
                "UPDATE webhook_outbox SET status = $2, attempts = attempts + 1,
                   next_ms = COALESCE($3, next_ms), last_status = $4, error = $5,
                   log = (log::jsonb || jsonb_build_array($6::TEXT::jsonb))::TEXT
                 WHERE key = $1 AND status = 'pending'",
                &[
                    &a.key,
                    &status,
                    &next_ms,
                    &a.status.map(i64::from),
                    &a.error,
                    &a.log_entry(),
                ],
            )
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn list(
        c: &impl GenericClient,
        status: Option<&str>,
        since_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = c.query(
            &format!(
                "SELECT {COLUMNS} FROM webhook_outbox WHERE ($1::TEXT IS NULL OR status = $1)
                   AND ($2::BIGINT IS NULL OR window_ms >= $2) ORDER BY window_ms DESC, key LIMIT $3"
            ),
            &[&status, &since_ms, &(limit as i64)],
        ).await?;
        Ok(rows.iter().map(row).collect())
    }

    pub(crate) async fn get(
        c: &impl GenericClient,
        key: &str,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let rows = c
            .query(
                &format!("SELECT {COLUMNS} FROM webhook_outbox WHERE key = $1"),
                &[&key],
            )
            .await?;
        Ok(rows.first().map(row))
    }

    pub(crate) async fn requeue(
        c: &impl GenericClient,
        key: Option<&str>,
        since_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        Ok(c.execute(
            "UPDATE webhook_outbox SET status = 'pending', next_ms = $3, window_ms = $3
             WHERE status = 'failed' AND ($1::TEXT IS NULL OR key = $1)
               AND ($2::BIGINT IS NULL OR window_ms >= $2)",
            &[&key, &since_ms, &now_ms],
        )
        .await?)
    }

    pub(crate) async fn pauses(c: &impl GenericClient) -> Result<Vec<WebhookPause>, StoreError> {
        let rows = c
            .query(
                "SELECT webhook, at_ms, reason FROM webhook_pauses ORDER BY webhook",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| WebhookPause {
                webhook: r.get(0),
                at_ms: r.get(1),
                reason: r.get(2),
            })
            .collect())
    }

    pub(crate) async fn set_pause(
        c: &impl GenericClient,
        webhook: &str,
        pause: Option<(i64, &str)>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match pause {
            Some((at, reason)) => c.execute(
                "INSERT INTO webhook_pauses (webhook, at_ms, reason) VALUES ($1, $2, $3)
                 ON CONFLICT (webhook) DO UPDATE SET at_ms = excluded.at_ms, reason = excluded.reason",
                &[&webhook, &at, &reason],
            ).await?,
            None => {
                c.execute(
                    "UPDATE webhook_outbox SET window_ms = $2, next_ms = LEAST(next_ms, $2)
                     WHERE webhook = $1 AND status = 'pending'",
                    &[&webhook, &now_ms],
                ).await?;
                c.execute("DELETE FROM webhook_pauses WHERE webhook = $1", &[&webhook]).await?
            }
        };
        Ok(())
    }
}
