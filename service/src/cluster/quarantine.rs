//! Quarantine: a queued request that keeps failing is set aside with its error, so its partition moves on instead of stopping on it at every takeover; operators see it on the dashboard and the API and put it back with a retry.
//!
//! A request fails when the commit that applies it is refused because of its data
//! ([`StoreError::is_refused_data`]: a value the database cannot hold, a broken
//! constraint) or the engine fails on it — not when the database is away or busy or the
//! lease is lost, which are nobody's request's fault, and not for a timer: timers due
//! fire and commit on their own before a group of requests is applied. Its row's
//! `attempts` goes up (only while the lease holds and the database answers), and from
//! then on it is applied alone, so one bad request never takes innocent ones with it. At [`MAX_ATTEMPTS`] — or at once when
//! its text does not even parse — it moves to `PREFIX_cluster.quarantine`. Every move
//! is fenced by the partition's lease.

use deadpool_postgres::Object;
use serde_json::{json, Value};

use crate::db::GenericClient;

use super::{fence, plain_name};
use crate::pg::Fence;
use crate::store::{InboxRow, StoreError};

/// Failed applications after which a queued request is set aside.
pub const MAX_ATTEMPTS: i32 = 3;

/// The oldest rows of the fenced partition's inbox, at most `limit`: rows that failed
/// before come alone (or end the batch before them); rows that do not parse or failed
/// [`MAX_ATTEMPTS`] times are set aside on the way.
pub(crate) async fn take(
    c: &mut Object,
    f: &Fence,
    limit: usize,
) -> Result<Vec<InboxRow>, StoreError> {
    let schema = plain_name(&f.schema)?;
    let partition = i32::try_from(f.lease.partition).unwrap_or(-1);
    let rows = c
        .query(
            &format!(
                "SELECT seq, items, attempts, error FROM {schema}.inbox
             WHERE partition = $1 ORDER BY seq LIMIT $2"
            ),
            &[&partition, &i64::try_from(limit).unwrap_or(i64::MAX)],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let seq: i64 = r.get(0);
        let attempts: i32 = r.get(2);
        let last: Option<String> = r.get(3);
        let items = match serde_json::from_str(r.get::<_, &str>(1)) {
            Ok(items) => items,
            Err(e) => {
                set_aside(
                    c,
                    f,
                    seq,
                    &format!("the queued request does not parse: {e}"),
                )
                .await?;
                continue;
            }
        };
        if attempts >= MAX_ATTEMPTS {
            set_aside(c, f, seq, last.as_deref().unwrap_or("failed")).await?;
            continue;
        }
        if attempts > 0 {
            // Applied alone: it is the one that failed, or it goes with nothing.
            if out.is_empty() {
                out.push(InboxRow { seq, items });
            }
            break;
        }
        out.push(InboxRow { seq, items });
    }
    Ok(out)
}

/// Moves inbox row `seq` to the quarantine with `error`, under the lease.
async fn set_aside(c: &mut Object, f: &Fence, seq: i64, error: &str) -> Result<(), StoreError> {
    let schema = plain_name(&f.schema)?;
    let tx = c.transaction().await?;
    fence(&tx, schema, &f.worker, f.lease).await?;
    tx.execute(
        &format!(
            "INSERT INTO {schema}.quarantine (seq, partition, items, attempts, error)
             SELECT seq, partition, items, attempts, $2 FROM {schema}.inbox WHERE seq = $1
             ON CONFLICT (seq) DO UPDATE SET items = EXCLUDED.items, attempts = EXCLUDED.attempts,
               error = EXCLUDED.error, quarantined_at = now()"
        ),
        &[&seq, &error],
    )
    .await?;
    tx.execute(
        &format!("DELETE FROM {schema}.inbox WHERE seq = $1"),
        &[&seq],
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(
        seq,
        partition = f.lease.partition,
        error,
        "a queued request was set aside (quarantine)"
    );
    Ok(())
}

/// Counts one failed application of rows `seqs` with `error`, under the lease (a lost
/// lease or a database that is down counts nothing).
pub(crate) async fn failed(
    c: &mut Object,
    f: &Fence,
    seqs: &[i64],
    error: &str,
) -> Result<(), StoreError> {
    let schema = plain_name(&f.schema)?;
    let tx = c.transaction().await?;
    fence(&tx, schema, &f.worker, f.lease).await?;
    tx.execute(
        &format!(
            "UPDATE {schema}.inbox SET attempts = attempts + 1, error = $2 WHERE seq = ANY($1)"
        ),
        &[&seqs, &error],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The requests set aside, oldest first (`GET /api/inbox/quarantine`).
pub(crate) async fn list(c: &impl GenericClient, schema: &str) -> Result<Vec<Value>, StoreError> {
    let schema = plain_name(schema)?;
    let rows = c
        .query(
            &format!(
                "SELECT seq, partition, items, attempts, error,
                    to_char(quarantined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM {schema}.quarantine ORDER BY seq"
            ),
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let items: &str = r.get(2);
            json!({
                "seq": r.get::<_, i64>(0),
                "partition": r.get::<_, i32>(1),
                // As queued (it may not parse: that can be why it is here).
                "request": serde_json::from_str::<Value>(items).unwrap_or_else(|_| Value::String(items.to_owned())),
                "attempts": r.get::<_, i32>(3),
                "error": r.get::<_, String>(4),
                "at": r.get::<_, String>(5),
            })
        })
        .collect())
}

/// How many requests are set aside (for the dashboard).
pub(crate) async fn count(c: &impl GenericClient, schema: &str) -> Result<i64, StoreError> {
    let schema = plain_name(schema)?;
    Ok(
        c.query_one(&format!("SELECT COUNT(*) FROM {schema}.quarantine"), &[])
            .await?
            .get(0),
    )
}

/// Puts request `seq` back in its partition's inbox, in its old place, with no failed
/// attempts (`POST /api/inbox/quarantine/{seq}/retry`); `false` when there is no such row.
pub(crate) async fn retry(c: &mut Object, schema: &str, seq: i64) -> Result<bool, StoreError> {
    let schema = plain_name(schema)?;
    let tx = c.transaction().await?;
    let moved = tx.query_opt(
        &format!(
            "WITH gone AS (DELETE FROM {schema}.quarantine WHERE seq = $1 RETURNING seq, partition, items),
                  back AS (INSERT INTO {schema}.inbox (seq, partition, items)
                           SELECT seq, partition, items FROM gone RETURNING partition)
             SELECT pg_notify($2, partition::text) FROM back"
        ),
        &[&seq, &super::inbox_channel(schema)],
    ).await?;
    tx.commit().await?;
    Ok(moved.is_some())
}
