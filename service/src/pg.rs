//! The PostgreSQL store (`store = "postgres://…"` in the service config): the same `Store` contract as SQLite — input log, timeline, outbox, tasks, program versions — with numbered migrations applied at start and every commit one durable transaction (`synchronous_commit = on`).

use deadpool_postgres::{Object, Pool, Transaction};

use runtime::scenario::Input;

use crate::db::{self, block_on, GenericClient};
use crate::store::schema;
use crate::store::{
    Commit, Delivery, DeliveryOutcome, InboxRow, OutboxMail, PendingMail, Records, Store,
    StoreError, StoredProgram, StoredVersion, TaskChange, TaskQuery, TaskRow, TASK_COLUMNS,
    TASK_DUE_SQL,
};

/// A PostgreSQL store: a pool of one connection (each store is used by one thread at a
/// time; the pool makes a new connection when the old one was lost, say by a database
/// restart, so a long-running reader or mailer recovers by itself).
pub struct PgStore {
    pool: Pool,
    /// For a reader over several schemas (a cluster's partitions): the schema every
    /// checkout is set to first.
    switch_to: Option<String>,
    /// Set when this store is one partition of a cluster: every commit checks the lease.
    fence: Option<Fence>,
    url: String,
    schema: Option<String>,
}

/// The lease a partition's store commits under (see [`crate::cluster::fence`]).
#[derive(Debug, Clone)]
pub struct Fence {
    /// The schema of the lease table.
    pub schema: String,
    pub worker: String,
    pub lease: crate::cluster::Lease,
}

/// The mail due at `now`, oldest first, at most `limit`.
pub(crate) async fn due_mail_in(
    c: &impl GenericClient,
    now: i64,
    limit: usize,
) -> Result<Vec<PendingMail>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c
        .query(
            "SELECT key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, attempts
             FROM outbox WHERE status = 'pending' AND next_at <= $1 ORDER BY next_at, key LIMIT $2",
            &[&now, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PendingMail {
            mail: outbox_mail(r),
            attempts: u32::try_from(r.get::<_, i32>(10)).unwrap_or(0),
        })
        .collect())
}

/// A transaction that, under `fence` (a partition's store), first checks the lease (see
/// [`crate::cluster::fence`]): a worker that lost it writes nothing.
async fn begin<'c>(
    c: &'c mut Object,
    fence: Option<&Fence>,
) -> Result<Transaction<'c>, StoreError> {
    let tx = c.transaction().await?;
    if let Some(f) = fence {
        crate::cluster::fence(&tx, &f.schema, &f.worker, f.lease).await?;
    }
    Ok(tx)
}

async fn meta_value(c: &impl GenericClient, key: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .await?
            .map(|r| r.get(0)),
    )
}

/// What a cluster's reader runs on a store's connection: owned inputs, a future borrowing
/// only the connection.
pub(crate) type OnConn<T> = Box<
    dyn for<'c> FnOnce(
        &'c mut Object,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, StoreError>> + 'c>,
    >,
>;

impl PgStore {
    /// A connection from the pool, set to the reader's schema if it switches.
    async fn conn(&self) -> Result<Object, StoreError> {
        let c = db::get(&self.pool).await?;
        if let Some(schema) = &self.switch_to {
            c.batch_execute(&format!("SET search_path TO {schema}"))
                .await?;
        }
        Ok(c)
    }

    /// Runs `f` on a connection of this store (the cluster's own tables: leases,
    /// quarantine), waiting for it.
    pub(crate) fn on_conn<T>(&self, f: OnConn<T>) -> Result<T, StoreError> {
        block_on(async {
            let mut c = self.conn().await?;
            f(&mut c).await
        })
    }

    /// The mail due at `now` (at most `limit`), read in one transaction that first checks
    /// the lease `fence` names and share-locks its row until the end (see
    /// [`crate::cluster::fence`]): a worker that lost the partition reads nothing (`None`).
    pub fn due_mail_under(
        &mut self,
        fence: &Fence,
        now: i64,
        limit: usize,
    ) -> Result<Option<Vec<PendingMail>>, StoreError> {
        block_on(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            if !crate::cluster::holds(&tx, &fence.schema, &fence.worker, fence.lease).await? {
                return Ok(None);
            }
            let rows = due_mail_in(&tx, now, limit).await?;
            tx.commit().await?;
            Ok(Some(rows))
        })
    }

    /// The same for an endpoint's webhook deliveries.
    pub fn due_webhooks_under(
        &mut self,
        fence: &Fence,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Option<Vec<crate::store::WebhookRow>>, StoreError> {
        block_on(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            if !crate::cluster::holds(&tx, &fence.schema, &fence.worker, fence.lease).await? {
                return Ok(None);
            }
            let rows = crate::store::webhooks::pg::due(&tx, webhook, now_ms, limit).await?;
            tx.commit().await?;
            Ok(Some(rows))
        })
    }
}

fn task_row(r: &tokio_postgres::Row) -> TaskRow {
    TaskRow {
        id: r.get(0),
        lead: r.get(1),
        handoff: r.get(2),
        team: r.get(3),
        assignee: r.get(4),
        status: r.get(5),
        reason: r.get(6),
        created_at: r.get(7),
        accepted_at: r.get(8),
        title: r.get(9),
        lead_name: r.get(10),
        accept_due_at: r.get(11),
        complete_due_at: r.get(12),
        due_at: None,
        escalations: r.get(13),
        escalated_to: r.get(14),
        escalated_at: r.get(15),
    }
    .with_due()
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Connects and applies the migrations not applied yet (each in its own transaction,
    /// serialized across workers by an advisory lock).
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_in(url, None)
    }

    /// Like [`PgStore::open`], with every table in `schema` (created if needed) instead
    /// of the connection's default one: tests and several services share one database.
    pub fn open_in(url: &str, schema: Option<&str>) -> Result<PgStore, StoreError> {
        let schema = schema
            .map(|s| crate::cluster::plain_name(s).map(str::to_owned))
            .transpose()?;
        let pool = db::pool(url, schema.as_deref(), 1)?;
        block_on(async {
            if let Some(schema) = &schema {
                db::make_schema(&pool, schema).await?;
            }
            let mut c = db::get(&pool).await?;
            let tx = c.transaction().await?;
            tx.batch_execute(
                "SELECT pg_advisory_xact_lock(7297265);
                 CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
            )
            .await?;
            let done: i32 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    &[],
                )
                .await?
                .get(0);
            for (i, migration) in schema::MIGRATIONS.iter().enumerate() {
                let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
                if version > done {
                    tx.batch_execute(&schema::postgres(migration)).await?;
                    tx.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)",
                        &[&version],
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })
        .map_err(|e| StoreError(format!("{}: {e}", db::redact(url))))?;
        Ok(PgStore {
            pool,
            switch_to: None,
            fence: None,
            url: url.to_owned(),
            schema,
        })
    }

    /// This store as one partition of a cluster: from now on each commit is made only
    /// while `fence.lease` is still held, and fails (writing nothing) once it is lost.
    pub fn fenced(mut self, fence: Fence) -> PgStore {
        self.fence = Some(fence);
        self
    }

    /// Makes `schema` (a partition's, already migrated) the one unqualified table names
    /// mean from now on: one connection reads every partition in turn.
    pub fn use_schema(&mut self, schema: &str) -> Result<(), StoreError> {
        let schema = crate::cluster::plain_name(schema)?;
        self.switch_to = Some(schema.to_owned());
        self.schema = Some(schema.to_owned());
        Ok(())
    }
}

/// An outbox row's mail, from the columns `key, lead, template, sender, recipient,
/// subject, html, body, unsubscribe, at` (the first ten of the query).
fn outbox_mail(r: &tokio_postgres::Row) -> OutboxMail {
    OutboxMail {
        key: r.get(0),
        lead: r.get(1),
        template: r.get(2),
        from: r.get(3),
        to: r.get(4),
        subject: r.get(5),
        html: r.get(6),
        text: r.get(7),
        unsubscribe: r.get(8),
        at: r.get(9),
    }
}

impl Records for PgStore {
    fn latest_program(&mut self) -> Result<Option<StoredProgram>, StoreError> {
        let row = block_on(async {
            self.conn()
                .await?
                .query_opt(
                    "SELECT version, files FROM programs ORDER BY version DESC LIMIT 1",
                    &[],
                )
                .await
                .map_err(StoreError::from)
        })?;
        match row {
            None => Ok(None),
            Some(r) => {
                let version: i32 = r.get(0);
                let json: String = r.get(1);
                let files: Vec<(String, String)> = serde_json::from_str(&json)
                    .map_err(|e| StoreError(format!("a stored program does not parse: {e}")))?;
                Ok(Some((u32::try_from(version).unwrap_or(0), files)))
            }
        }
    }
    fn programs(&mut self) -> Result<Vec<StoredVersion>, StoreError> {
        let rows = block_on(async {
            self.conn()
                .await?
                .query(
                    "SELECT version, at, inputs_before, files FROM programs ORDER BY version",
                    &[],
                )
                .await
                .map_err(StoreError::from)
        })?;
        rows.iter()
            .map(|r| {
                let version: i32 = r.get(0);
                let json: String = r.get(3);
                StoredVersion::from_row(
                    u32::try_from(version).unwrap_or(0),
                    r.get(1),
                    r.get(2),
                    &json,
                )
            })
            .collect()
    }
    fn due_mail(&mut self, now: i64, limit: usize) -> Result<Vec<PendingMail>, StoreError> {
        block_on(async { due_mail_in(&self.conn().await?, now, limit).await })
    }
    fn record_deliveries(&mut self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        block_on(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            for d in deliveries {
                match &d.outcome {
                    DeliveryOutcome::Sent { at } => tx.execute(
                        "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1 WHERE key = $1",
                        &[&d.key, at],
                    ).await?,
                    DeliveryOutcome::Retry { error, retry_at } => tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, next_at = $2, error = $3 WHERE key = $1",
                        &[&d.key, retry_at, error],
                    ).await?,
                    DeliveryOutcome::Failed { error } => tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, status = 'failed', error = $2 WHERE key = $1",
                        &[&d.key, error],
                    ).await?,
                };
            }
            tx.commit().await?;
            Ok(())
        })
    }
    fn tasks(&mut self, q: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        let order = if q.late_at.is_some() {
            "due ASC, id ASC"
        } else {
            "created_at DESC, id DESC"
        };
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        block_on(async {
            let rows = self
                .conn()
                .await?
                .query(
                    &format!(
                        "SELECT {TASK_COLUMNS}, {TASK_DUE_SQL} AS due FROM tasks
                         WHERE ($1::TEXT IS NULL OR team = $1) AND ($2::TEXT IS NULL OR assignee = $2)
                           AND ($3::TEXT IS NULL OR status = $3) AND ($4::BIGINT IS NULL OR {TASK_DUE_SQL} < $4)
                         ORDER BY {order} LIMIT $5 OFFSET $6"
                    ),
                    &[&q.team, &q.assignee, &q.status, &q.late_at, &q.page(), &offset],
                )
                .await?;
            Ok(rows.iter().map(task_row).collect())
        })
    }
    fn task(&mut self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        block_on(async {
            Ok(self
                .conn()
                .await?
                .query_opt(
                    &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"),
                    &[&id],
                )
                .await?
                .as_ref()
                .map(task_row))
        })
    }
    fn lead_tasks(&mut self, lead: &str) -> Result<Vec<TaskRow>, StoreError> {
        block_on(async {
            let rows = self
                .conn()
                .await?
                .query(
                    &format!(
                        "SELECT {TASK_COLUMNS} FROM tasks WHERE lead = $1 ORDER BY created_at DESC, id DESC LIMIT 100"
                    ),
                    &[&lead],
                )
                .await?;
            Ok(rows.iter().map(task_row).collect())
        })
    }
    fn recent_lines(&mut self, lead: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        block_on(async {
            let rows = self
                .conn()
                .await?
                .query(
                    "SELECT line FROM timeline WHERE lead = $1 ORDER BY n DESC LIMIT $2",
                    &[&lead, &limit],
                )
                .await?;
            let mut out: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            out.reverse();
            Ok(out)
        })
    }
    fn counts(&mut self) -> Result<Vec<(String, i64)>, StoreError> {
        block_on(async {
            let c = self.conn().await?;
            let mut out = Vec::new();
            for (table, prefix) in [
                ("outbox", "outbox"),
                ("tasks", "tasks"),
                ("webhook_outbox", "webhooks"),
            ] {
                let rows = c
                    .query(
                        &format!(
                            "SELECT status, COUNT(*) FROM {table} GROUP BY status ORDER BY status"
                        ),
                        &[],
                    )
                    .await?;
                for r in rows {
                    out.push((format!("{prefix}_{}", r.get::<_, String>(0)), r.get(1)));
                }
            }
            let inputs: i64 = c
                .query_one("SELECT COUNT(*) FROM inputs", &[])
                .await?
                .get(0);
            out.push(("inputs".into(), inputs));
            Ok(out)
        })
    }
    fn last_mail(&mut self, lead: &str) -> Result<Option<(OutboxMail, String)>, StoreError> {
        block_on(async {
            let row = self
                .conn()
                .await?
                .query_opt(
                    "SELECT key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, status
                     FROM outbox WHERE lead = $1 ORDER BY at DESC, key DESC LIMIT 1",
                    &[&lead],
                )
                .await?;
            Ok(row.map(|r| (outbox_mail(&r), r.get(10))))
        })
    }
    fn due_webhooks(
        &mut self,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::store::WebhookRow>, StoreError> {
        block_on(async {
            crate::store::webhooks::pg::due(&self.conn().await?, webhook, now_ms, limit).await
        })
    }
    fn record_webhook_attempts(
        &mut self,
        attempts: &[crate::store::WebhookAttempt],
    ) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        block_on(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            crate::store::webhooks::pg::record(&tx, attempts).await?;
            tx.commit().await?;
            Ok(())
        })
    }
    fn webhook_rows(
        &mut self,
        status: Option<&str>,
        since_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<crate::store::WebhookRow>, StoreError> {
        block_on(async {
            crate::store::webhooks::pg::list(&self.conn().await?, status, since_ms, limit).await
        })
    }
    fn webhook_row(&mut self, key: &str) -> Result<Option<crate::store::WebhookRow>, StoreError> {
        block_on(async { crate::store::webhooks::pg::get(&self.conn().await?, key).await })
    }
    fn requeue_webhooks(
        &mut self,
        key: Option<&str>,
        since_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        block_on(async {
            crate::store::webhooks::pg::requeue(&self.conn().await?, key, since_ms, now_ms).await
        })
    }
    fn webhook_pauses(&mut self) -> Result<Vec<crate::store::WebhookPause>, StoreError> {
        block_on(async { crate::store::webhooks::pg::pauses(&self.conn().await?).await })
    }
    fn set_webhook_pause(
        &mut self,
        webhook: &str,
        pause: Option<(i64, &str)>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        block_on(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            crate::store::webhooks::pg::set_pause(&tx, webhook, pause, now_ms).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

impl Store for PgStore {
    fn high_water(&mut self) -> Result<Option<i64>, StoreError> {
        block_on(async { meta_value(&self.conn().await?, "now").await })
    }
    fn meta(&mut self) -> Result<Option<(i64, u64)>, StoreError> {
        block_on(async {
            let c = self.conn().await?;
            let Some(start) = meta_value(&c, "start").await? else {
                return Ok(None);
            };
            let lines = meta_value(&c, "lines").await?.unwrap_or(0);
            Ok(Some((start, u64::try_from(lines).unwrap_or(0))))
        })
    }
    fn set_start(&mut self, at: i64) -> Result<(), StoreError> {
        block_on(async {
            let mut c = self.conn().await?;
            let tx = begin(&mut c, self.fence.as_ref()).await?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('start', $1) ON CONFLICT (key) DO NOTHING",
                &[&at],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }
    fn inputs(&mut self) -> Result<Vec<Input>, StoreError> {
        self.inputs_after(i64::MIN)
    }
    fn inputs_after(&mut self, after_seq: i64) -> Result<Vec<Input>, StoreError> {
        block_on(async {
            crate::store::snapshots::pg::inputs_after(&self.conn().await?, after_seq).await
        })
    }
    fn inputs_page(
        &mut self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Input)>, StoreError> {
        block_on(async {
            crate::store::snapshots::pg::inputs_page(&self.conn().await?, after_seq, limit).await
        })
    }
    fn reopen(&self) -> Result<Box<dyn Store>, StoreError> {
        // Under the same lease: a partition's snapshot writer is fenced like its engine.
        let mut other = PgStore::open_in(&self.url, self.schema.as_deref())?;
        other.fence = self.fence.clone();
        Ok(Box::new(other))
    }
    fn snapshots(&mut self) -> Result<Vec<crate::store::SnapshotInfo>, StoreError> {
        block_on(async { crate::store::snapshots::pg::list(&self.conn().await?).await })
    }
    fn read_snapshot(&mut self, id: i64) -> Result<Vec<u8>, StoreError> {
        block_on(async { crate::store::snapshots::pg::read(&self.conn().await?, id).await })
    }
    fn write_snapshot(
        &mut self,
        snapshot: &crate::store::SnapshotInfo,
        bytes: &[u8],
        keep: usize,
    ) -> Result<i64, StoreError> {
        block_on(async {
            let mut c = self.conn().await?;
            crate::store::snapshots::pg::write(&mut c, snapshot, bytes, keep, self.fence.as_ref())
                .await
        })
    }
    fn commit(&mut self, c: &Commit) -> Result<(), StoreError> {
        block_on(async {
            let mut conn = self.conn().await?;
            let tx = begin(&mut conn, self.fence.as_ref()).await?;
            write_commit(&tx, c, self.fence.as_ref()).await?;
            tx.commit().await?;
            Ok(())
        })
    }
    fn pulls_inbox(&self) -> bool {
        self.fence.is_some()
    }
    fn take_inbox(&mut self, limit: usize) -> Result<Vec<InboxRow>, StoreError> {
        let Some(f) = self.fence.clone() else {
            return Ok(Vec::new());
        };
        block_on(async {
            let mut c = self.conn().await?;
            crate::cluster::quarantine::take(&mut c, &f, limit).await
        })
    }
    fn inbox_failed(&mut self, seqs: &[i64], error: &str) -> Result<(), StoreError> {
        let Some(f) = self.fence.clone() else {
            return Ok(());
        };
        block_on(async {
            let mut c = self.conn().await?;
            crate::cluster::quarantine::failed(&mut c, &f, seqs, error).await
        })
    }
    fn set_lines_total(&mut self, n: u64) -> Result<(), StoreError> {
        block_on(async {
            let mut c = self.conn().await?;
            let tx = begin(&mut c, self.fence.as_ref()).await?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('lines', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&count(n)],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }
    fn add_program(
        &mut self,
        files: &[(String, String)],
        at: i64,
        inputs_before: u64,
    ) -> Result<u32, StoreError> {
        let json = serde_json::to_string(files)
            .map_err(|e| StoreError(format!("a program does not serialize: {e}")))?;
        let before = count(inputs_before);
        let version: i32 = block_on(async {
            let mut c = self.conn().await?;
            let tx = begin(&mut c, self.fence.as_ref()).await?;
            let v: i32 = tx
                .query_one(
                    "INSERT INTO programs (version, at, files, inputs_before)
                     VALUES ((SELECT COALESCE(MAX(version), 0) + 1 FROM programs), $1, $2, $3)
                     RETURNING version",
                    &[&at, &json, &before],
                )
                .await?
                .get(0);
            tx.commit().await?;
            Ok::<i32, StoreError>(v)
        })?;
        Ok(u32::try_from(version).unwrap_or(0))
    }
}

/// Writes one commit in `tx`: one statement per table for the whole group (arrays
/// unnested server-side: a round trip per row would cap a commit at the network's pace).
async fn write_commit(
    tx: &Transaction<'_>,
    c: &Commit,
    fence: Option<&Fence>,
) -> Result<(), StoreError> {
    let mut at = Vec::with_capacity(c.inputs.len());
    let mut lead = Vec::with_capacity(c.inputs.len());
    let mut json = Vec::with_capacity(c.inputs.len());
    for input in &c.inputs {
        at.push(input.at);
        lead.push(input.lead.clone());
        json.push(
            serde_json::to_string(input)
                .map_err(|e| StoreError(format!("an input does not serialize: {e}")))?,
        );
    }
    if !c.inputs.is_empty() {
        tx.execute(
            "INSERT INTO inputs (at, lead, input)
             SELECT at, lead, input FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[])
               WITH ORDINALITY AS u(at, lead, input, i)
             ORDER BY i",
            &[&at, &lead, &json],
        )
        .await?;
    }
    if !c.lines.is_empty() {
        let leads: Vec<Option<&str>> = c.lines.iter().map(|(l, _, _)| l.as_deref()).collect();
        let ats: Vec<i64> = c.lines.iter().map(|(_, a, _)| *a).collect();
        let lines: Vec<&str> = c.lines.iter().map(|(_, _, l)| l.as_str()).collect();
        tx.execute(
            "INSERT INTO timeline (lead, at, line)
             SELECT lead, at, line FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[])
               WITH ORDINALITY AS u(lead, at, line, i)
             ORDER BY i",
            &[&leads, &ats, &lines],
        )
        .await?;
    }
    if !c.mails.is_empty() {
        let col = |f: fn(&OutboxMail) -> &str| -> Vec<&str> { c.mails.iter().map(f).collect() };
        let ats: Vec<i64> = c.mails.iter().map(|m| m.at).collect();
        tx.execute(
            "INSERT INTO outbox (key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, next_at)
             SELECT k, l, t, s, r, su, h, b, u, a, a FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[],
               $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::BIGINT[])
               AS m(k, l, t, s, r, su, h, b, u, a)
             ON CONFLICT (key) DO NOTHING",
            &[
                &col(|m| &m.key),
                &col(|m| &m.lead),
                &col(|m| &m.template),
                &col(|m| &m.from),
                &col(|m| &m.to),
                &col(|m| &m.subject),
                &col(|m| &m.html),
                &col(|m| &m.text),
                &col(|m| &m.unsubscribe),
                &ats,
            ],
        )
        .await?;
    }
    crate::store::webhooks::pg::insert(tx, &c.webhooks).await?;
    for t in &c.tasks {
        match t {
            TaskChange::Created(row) => {
                tx.execute(
                    "INSERT INTO tasks (id, lead, handoff, team, assignee, status, created_at,
                       title, lead_name, accept_due_at, complete_due_at)
                     VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
                    &[
                        &row.id,
                        &row.lead,
                        &row.handoff,
                        &row.team,
                        &row.assignee,
                        &row.created_at,
                        &row.title,
                        &row.lead_name,
                        &row.accept_due_at,
                        &row.complete_due_at,
                    ],
                )
                .await?;
            }
            TaskChange::Escalated { id, to, at } => {
                tx.execute(
                    "UPDATE tasks SET escalations = escalations + 1, escalated_to = $2, escalated_at = $3 WHERE id = $1",
                    &[id, to, at],
                )
                .await?;
            }
            TaskChange::Reassigned { id, to } => {
                tx.execute("UPDATE tasks SET assignee = $2 WHERE id = $1", &[id, to])
                    .await?;
            }
            TaskChange::Accepted { id, at } => {
                tx.execute(
                    "UPDATE tasks SET status = 'accepted', accepted_at = $2 WHERE id = $1",
                    &[id, at],
                )
                .await?;
            }
            TaskChange::Rejected { id, reason } => {
                tx.execute(
                    "UPDATE tasks SET status = 'rejected', reason = $2 WHERE id = $1",
                    &[id, reason],
                )
                .await?;
            }
            TaskChange::Completed { id } => {
                tx.execute("UPDATE tasks SET status = 'completed' WHERE id = $1", &[id])
                    .await?;
            }
        }
    }
    if let Some(f) = fence {
        if !c.inbox_done.is_empty() {
            tx.execute(
                &format!("DELETE FROM {}.inbox WHERE seq = ANY($1)", f.schema),
                &[&c.inbox_done],
            )
            .await?;
        }
        for r in &c.refused {
            let index = r.index.and_then(|i| i32::try_from(i).ok());
            tx.execute(
                &format!(
                    "INSERT INTO {}.refused (seq, partition, status, item, message)
                     VALUES ($1, $2, $3, $4, $5)",
                    f.schema
                ),
                &[
                    &r.seq,
                    &i32::try_from(f.lease.partition).unwrap_or(-1),
                    &i32::from(r.status),
                    &index,
                    &r.message,
                ],
            )
            .await?;
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('lines', $1), ('now', $2)
         ON CONFLICT (key) DO UPDATE SET value = CASE WHEN meta.key = 'now'
           THEN GREATEST(meta.value, EXCLUDED.value) ELSE EXCLUDED.value END",
        &[&count(c.lines_total), &c.now],
    )
    .await?;
    Ok(())
}
