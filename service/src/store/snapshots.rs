//! Snapshots in the store: one row of what a snapshot is (log position, program version, format, checksum) and its bytes in chunks, written so a half-written snapshot is never read, with the inputs after a position for the replay of the tail; for SQLite and (submodule `pg`) PostgreSQL, so a cluster partition's store keeps its own.
//!
//! Writing: the chunks first, each in a short transaction of its own (the engine's
//! commits interleave with them rather than wait behind hundreds of megabytes), then
//! the row, in one transaction that also removes the snapshots beyond the newest `keep`
//! and every chunk no row names (left by a write that stopped halfway). A row exists
//! only once all its chunks do; a reader checks the checksum anyway.

use rusqlite::{params, Connection, OptionalExtension};

use runtime::scenario::Input;

use super::StoreError;

/// The bytes of a snapshot are stored in pieces of this size (SQLite and PostgreSQL both
/// cap one value well below a large world's state).
pub const CHUNK: usize = 4 << 20;

/// What a snapshot is, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Its number in the store (0 before it is written).
    pub id: i64,
    /// How many inputs of the log the state has applied.
    pub position: u64,
    /// The log's sequence number of the last of them (0: none), so the tail is read
    /// from there whatever gaps the numbering has.
    pub after_seq: i64,
    /// The program version the state ran.
    pub version: u32,
    /// The layout of the bytes (see `crate::snapshot`).
    pub format: u32,
    /// The release that wrote it (`tandem --version`).
    pub release: String,
    /// CRC-32 of the bytes.
    pub checksum: u32,
    /// The bytes' length.
    pub size: u64,
    /// When it was written (service clock, milliseconds).
    pub created_ms: i64,
}

const COLUMNS: &str =
    "id, position, after_seq, version, format, release, checksum, size, created_ms";

fn info(r: &rusqlite::Row<'_>) -> rusqlite::Result<SnapshotInfo> {
    Ok(SnapshotInfo {
        id: r.get(0)?,
        position: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        after_seq: r.get(2)?,
        version: r.get(3)?,
        format: r.get(4)?,
        release: r.get(5)?,
        checksum: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
        size: u64::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
        created_ms: r.get(8)?,
    })
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Parses stored inputs (JSON), failing on the first that does not parse.
pub(super) fn parse_inputs(rows: impl Iterator<Item = String>) -> Result<Vec<Input>, StoreError> {
    rows.map(|json| {
        serde_json::from_str(&json)
            .map_err(|e| StoreError(format!("a stored input does not parse: {e}")))
    })
    .collect()
}

/// Every snapshot, newest first.
pub(super) fn list(conn: &Connection) -> Result<Vec<SnapshotInfo>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM snapshots ORDER BY position DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], info)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The bytes of snapshot `id`, chunks in order.
pub(super) fn read(conn: &Connection, id: i64) -> Result<Vec<u8>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT data FROM snapshot_chunks WHERE snapshot = ?1 ORDER BY n")?;
    let mut rows = stmt.query([id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let chunk = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        out.extend_from_slice(chunk);
    }
    Ok(out)
}

/// Writes a snapshot (see the module documentation); returns its id.
pub(super) fn write(
    conn: &mut Connection,
    snapshot: &SnapshotInfo,
    bytes: &[u8],
    keep: usize,
) -> Result<i64, StoreError> {
    let after_seq = seq_at(conn, snapshot.position)?;
    let id: i64 = conn.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM snapshots), 0),
                    COALESCE((SELECT MAX(snapshot) FROM snapshot_chunks), 0)) + 1",
        [],
        |r| r.get(0),
    )?;
    // The chunks' transactions are not flushed one by one: the row's transaction below
    // is (`synchronous = FULL`), and flushing the WAL file then flushes every frame
    // written before it. A crash before that leaves chunks no row names, removed by the
    // next write. This connection never checkpoints (a checkpoint without a flush could
    // let the WAL start over before the file holds what it copied).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let chunks = bytes.chunks(CHUNK).enumerate().try_for_each(|(n, chunk)| {
        conn.execute(
            "INSERT INTO snapshot_chunks (snapshot, n, data) VALUES (?1, ?2, ?3)",
            params![id, int(n as u64), chunk],
        )
        .map(|_| ())
    });
    conn.pragma_update(None, "synchronous", "FULL")?;
    chunks?;
    let tx = conn.transaction()?;
    tx.execute(
        &format!("INSERT INTO snapshots ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            id,
            int(snapshot.position),
            after_seq,
            snapshot.version,
            snapshot.format,
            snapshot.release,
            i64::from(snapshot.checksum),
            int(bytes.len() as u64),
            snapshot.created_ms
        ],
    )?;
    tx.execute(
        "DELETE FROM snapshots WHERE id NOT IN
           (SELECT id FROM snapshots ORDER BY position DESC, id DESC LIMIT ?1)",
        [int(keep.max(1) as u64)],
    )?;
    tx.execute(
        "DELETE FROM snapshot_chunks WHERE snapshot NOT IN (SELECT id FROM snapshots)",
        [],
    )?;
    tx.commit()?;
    Ok(id)
}

/// The sequence number of the `position`-th input (0 for none); an error if the log
/// holds fewer.
fn seq_at(conn: &Connection, position: u64) -> Result<i64, StoreError> {
    if position == 0 {
        return Ok(0);
    }
    conn.query_row(
        "SELECT seq FROM inputs ORDER BY seq LIMIT 1 OFFSET ?1",
        [int(position - 1)],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError(format!("the log holds fewer than {position} inputs")))
}

/// The inputs after sequence number `after_seq`, in order.
pub(super) fn inputs_after(conn: &Connection, after_seq: i64) -> Result<Vec<Input>, StoreError> {
    let mut stmt = conn.prepare("SELECT input FROM inputs WHERE seq > ?1 ORDER BY seq")?;
    let rows = stmt.query_map([after_seq], |r| r.get::<_, String>(0))?;
    parse_inputs(rows.collect::<Result<Vec<_>, _>>()?.into_iter())
}

/// At most `limit` inputs after `after_seq`, with their sequence numbers.
pub(super) fn inputs_page(
    conn: &Connection,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<(i64, Input)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, input FROM inputs WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(rusqlite::params![after_seq, limit], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, json) = row?;
        let input = serde_json::from_str(&json)
            .map_err(|e| StoreError(format!("a stored input does not parse: {e}")))?;
        out.push((seq, input));
    }
    Ok(out)
}

/// The same for PostgreSQL.
pub(crate) mod pg {
    use deadpool_postgres::Object;
    use tokio_postgres::Row;

    use super::{int, SnapshotInfo, CHUNK, COLUMNS};
    use crate::db::GenericClient;
    use crate::store::StoreError;
    use runtime::scenario::Input;

    fn info(r: &Row) -> SnapshotInfo {
        SnapshotInfo {
            id: r.get(0),
            position: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
            after_seq: r.get(2),
            version: u32::try_from(r.get::<_, i32>(3)).unwrap_or(0),
            format: u32::try_from(r.get::<_, i32>(4)).unwrap_or(0),
            release: r.get(5),
            checksum: u32::try_from(r.get::<_, i64>(6)).unwrap_or(0),
            size: u64::try_from(r.get::<_, i64>(7)).unwrap_or(0),
            created_ms: r.get(8),
        }
    }

    pub async fn list(c: &impl GenericClient) -> Result<Vec<SnapshotInfo>, StoreError> {
        let rows = c
            .query(
                &format!("SELECT {COLUMNS} FROM snapshots ORDER BY position DESC, id DESC"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(info).collect())
    }

    pub async fn read(c: &impl GenericClient, id: i64) -> Result<Vec<u8>, StoreError> {
        let rows = c
            .query(
                "SELECT data FROM snapshot_chunks WHERE snapshot = $1 ORDER BY n",
                &[&id],
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            out.extend_from_slice(r.get::<_, &[u8]>(0));
        }
        Ok(out)
    }

    /// With `fence` (a cluster partition), the row is written only while the lease is
    /// held, checked in its transaction: a deposed worker's writer records nothing.
    pub async fn write(
        c: &mut Object,
        snapshot: &SnapshotInfo,
        bytes: &[u8],
        keep: usize,
        fence: Option<&crate::pg::Fence>,
    ) -> Result<i64, StoreError> {
        let after_seq: i64 = if snapshot.position == 0 {
            0
        } else {
            c.query_opt(
                "SELECT seq FROM inputs ORDER BY seq LIMIT 1 OFFSET $1",
                &[&int(snapshot.position - 1)],
            )
            .await?
            .map(|r| r.get(0))
            .ok_or_else(|| {
                StoreError(format!(
                    "the log holds fewer than {} inputs",
                    snapshot.position
                ))
            })?
        };
        let id: i64 = c
            .query_one(
                "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM snapshots), 0),
                                 COALESCE((SELECT MAX(snapshot) FROM snapshot_chunks), 0)) + 1",
                &[],
            )
            .await?
            .get(0);
        // As for SQLite: the chunks are made durable by the row's commit (the WAL is
        // flushed in order), not each on its own.
        c.batch_execute("SET synchronous_commit = off").await?;
        let mut written = Ok(());
        for (n, chunk) in bytes.chunks(CHUNK).enumerate() {
            let n = i32::try_from(n).unwrap_or(i32::MAX);
            if let Err(e) = c
                .execute(
                    "INSERT INTO snapshot_chunks (snapshot, n, data) VALUES ($1, $2, $3)",
                    &[&id, &n, &chunk],
                )
                .await
            {
                written = Err(e);
                break;
            }
        }
        c.batch_execute("SET synchronous_commit = on").await?;
        written?;
        let tx = c.transaction().await?;
        if let Some(f) = fence {
            crate::cluster::fence(&tx, &f.schema, &f.worker, f.lease).await?;
        }
        let version = i32::try_from(snapshot.version).unwrap_or(i32::MAX);
        let format = i32::try_from(snapshot.format).unwrap_or(i32::MAX);
        tx.execute(
            &format!(
                "INSERT INTO snapshots ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &id,
                &int(snapshot.position),
                &after_seq,
                &version,
                &format,
                &snapshot.release,
                &i64::from(snapshot.checksum),
                &int(bytes.len() as u64),
                &snapshot.created_ms,
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM snapshots WHERE id NOT IN
               (SELECT id FROM snapshots ORDER BY position DESC, id DESC LIMIT $1)",
            &[&int(keep.max(1) as u64)],
        )
        .await?;
        tx.execute(
            "DELETE FROM snapshot_chunks WHERE snapshot NOT IN (SELECT id FROM snapshots)",
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// At most `limit` inputs after `after_seq`, with their sequence numbers.
    pub async fn inputs_page(
        c: &impl GenericClient,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Input)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                "SELECT seq, input FROM inputs WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after_seq, &limit],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let input = serde_json::from_str(&r.get::<_, String>(1))
                .map_err(|e| StoreError(format!("a stored input does not parse: {e}")))?;
            out.push((r.get::<_, i64>(0), input));
        }
        Ok(out)
    }

    pub async fn inputs_after(
        c: &impl GenericClient,
        after_seq: i64,
    ) -> Result<Vec<Input>, StoreError> {
        let rows = c
            .query(
                "SELECT input FROM inputs WHERE seq > $1 ORDER BY seq",
                &[&after_seq],
            )
            .await?;
        super::parse_inputs(rows.iter().map(|r| r.get::<_, String>(0)))
    }
}
