//! The PostgreSQL store (`store = "postgres://…"` in the service config): the same `Store` contract as SQLite — input log, timeline, outbox, tasks, program versions — with numbered migrations applied at start and every commit one durable transaction (`synchronous_commit = on`).

use postgres::{Client, NoTls};

use runtime::scenario::Input;

use crate::store::{
    Commit, Delivery, DeliveryOutcome, InboxRow, OutboxMail, PendingMail, Store, StoreError,
    StoredProgram, StoredVersion, TaskChange, TaskRow,
};

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

/// The schema, one migration per entry; `schema_migrations` records which ran.
const MIGRATIONS: &[&str] = &["
CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE inputs (seq BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, lead TEXT NOT NULL, input TEXT NOT NULL);
CREATE TABLE timeline (n BIGSERIAL PRIMARY KEY, lead TEXT, at BIGINT NOT NULL, line TEXT NOT NULL);
CREATE INDEX timeline_lead ON timeline (lead, n);
CREATE TABLE outbox (
  key TEXT PRIMARY KEY, lead TEXT NOT NULL, template TEXT NOT NULL, sender TEXT NOT NULL,
  recipient TEXT NOT NULL, subject TEXT NOT NULL, html TEXT NOT NULL, body TEXT NOT NULL,
  unsubscribe TEXT NOT NULL, at BIGINT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL, sent_at BIGINT, error TEXT);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE TABLE tasks (
  id TEXT PRIMARY KEY, lead TEXT NOT NULL, handoff TEXT NOT NULL, team TEXT NOT NULL,
  assignee TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, created_at BIGINT NOT NULL,
  accepted_at BIGINT);
CREATE INDEX tasks_lead ON tasks (lead);
CREATE TABLE programs (version INTEGER PRIMARY KEY, at BIGINT NOT NULL, files TEXT NOT NULL);
", "
ALTER TABLE programs ADD COLUMN inputs_before BIGINT;
", crate::store::webhooks::pg::MIGRATION, "
CREATE INDEX IF NOT EXISTS outbox_lead ON outbox (lead, at);
", crate::store::snapshots::pg::MIGRATION];

/// A PostgreSQL connection used as the store.
pub struct PgStore {
    /// Always `Some` until the store is dropped.
    client: Option<Client>,
    /// Set when this store is one partition of a cluster: every commit checks the lease.
    fence: Option<Fence>,
    /// Where to connect again when the connection is lost (a database restart).
    url: String,
    schema: Option<String>,
}

/// A connection with every table in `schema` (created, under the migrations' advisory
/// lock, if needed) and durable commits; the cluster's connections are made here too.
pub(crate) fn connect(url: &str, schema: Option<&str>) -> Result<Client, StoreError> {
    let mut client = Client::connect(url, NoTls)
        .map_err(|e| StoreError(format!("cannot connect to {}: {e}", redact(url))))?;
    if let Some(schema) = schema {
        let mut tx = client.transaction()?;
        tx.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock(7297265); CREATE SCHEMA IF NOT EXISTS {schema}"
        ))?;
        tx.commit()?;
        client.batch_execute(&format!("SET search_path TO {schema}"))?;
    }
    client.batch_execute("SET synchronous_commit = on")?;
    Ok(client)
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
pub(crate) fn due_mail_in(
    c: &mut impl postgres::GenericClient,
    now: i64,
    limit: usize,
) -> Result<Vec<PendingMail>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c.query(
        "SELECT key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, attempts
         FROM outbox WHERE status = 'pending' AND next_at <= $1 ORDER BY next_at, key LIMIT $2",
        &[&now, &limit],
    )?;
    Ok(rows
        .iter()
        .map(|r| PendingMail {
            mail: outbox_mail(r),
            attempts: u32::try_from(r.get::<_, i32>(10)).unwrap_or(0),
        })
        .collect())
}

impl PgStore {
    /// The connection (made again if it was lost), for the cluster's own tables.
    pub(crate) fn client(&mut self) -> Result<&mut Client, StoreError> {
        self.c()
    }

    /// Runs `f` in one transaction that first checks the lease `fence` names (and
    /// share-locks its row until the end; see [`crate::cluster::fence`]): a worker that
    /// lost the partition reads nothing to deliver from it (`None`).
    pub fn under_lease<T>(
        &mut self,
        fence: &Fence,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut tx = self.c()?.transaction()?;
        if !crate::cluster::holds(&mut tx, &fence.schema, &fence.worker, fence.lease)? {
            return Ok(None);
        }
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(Some(out))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // The synchronous client closes by blocking on a runtime of its own, which tokio
        // forbids on a thread that drives tasks: close it on a thread of its own then.
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("tandem-pg-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

const TASK_COLUMNS: &str =
    "id, lead, handoff, team, assignee, status, reason, created_at, accepted_at";

fn task_row(r: &postgres::Row) -> TaskRow {
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
    }
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
        let mut client = connect(url, schema.as_deref())?;
        let mut tx = client.transaction()?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7297265);
             CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
        )?;
        let done: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )?
            .get(0);
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            if version > done {
                tx.batch_execute(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[&version],
                )?;
            }
        }
        tx.commit()?;
        Ok(PgStore {
            client: Some(client),
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
        self.c()?
            .batch_execute(&format!("SET search_path TO {schema}"))?;
        self.schema = Some(schema.to_owned());
        Ok(())
    }

    /// Runs `write` in one transaction which, for a partition's store, first checks the
    /// lease (see [`crate::cluster::fence`]): a worker that lost it writes nothing.
    fn guarded<T>(
        &mut self,
        write: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fence = self.fence.clone();
        let mut tx = self.c()?.transaction()?;
        if let Some(f) = fence {
            crate::cluster::fence(&mut tx, &f.schema, &f.worker, f.lease)?;
        }
        let out = write(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The connection; a new one when the old one was lost (a database restart), so a
    /// long-running reader or mailer recovers by itself.
    fn c(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            tracing::warn!("the PostgreSQL connection was lost; connecting again");
            self.client = Some(connect(&self.url, self.schema.as_deref())?);
        }
        self.client
            .as_mut()
            .ok_or_else(|| StoreError("the connection is closed".into()))
    }

    fn meta_value(&mut self, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .c()?
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// An outbox row's mail, from the columns `key, lead, template, sender, recipient,
/// subject, html, body, unsubscribe, at` (the first ten of the query).
fn outbox_mail(r: &postgres::Row) -> OutboxMail {
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

impl Store for PgStore {
    fn high_water(&mut self) -> Result<Option<i64>, StoreError> {
        self.meta_value("now")
    }

    fn meta(&mut self) -> Result<Option<(i64, u64)>, StoreError> {
        let Some(start) = self.meta_value("start")? else {
            return Ok(None);
        };
        let lines = self.meta_value("lines")?.unwrap_or(0);
        Ok(Some((start, u64::try_from(lines).unwrap_or(0))))
    }

    fn set_start(&mut self, at: i64) -> Result<(), StoreError> {
        self.guarded(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('start', $1) ON CONFLICT (key) DO NOTHING",
                &[&at],
            )?;
            Ok(())
        })
    }

    fn inputs(&mut self) -> Result<Vec<Input>, StoreError> {
        self.inputs_after(i64::MIN)
    }

    fn inputs_after(&mut self, after_seq: i64) -> Result<Vec<Input>, StoreError> {
        crate::store::snapshots::pg::inputs_after(self.c()?, after_seq)
    }

    fn reopen(&self) -> Result<Box<dyn Store>, StoreError> {
        // Under the same lease: a partition's snapshot writer is fenced like its engine.
        let mut other = PgStore::open_in(&self.url, self.schema.as_deref())?;
        other.fence = self.fence.clone();
        Ok(Box::new(other))
    }

    fn snapshots(&mut self) -> Result<Vec<crate::store::SnapshotInfo>, StoreError> {
        crate::store::snapshots::pg::list(self.c()?)
    }

    fn read_snapshot(&mut self, id: i64) -> Result<Vec<u8>, StoreError> {
        crate::store::snapshots::pg::read(self.c()?, id)
    }

    fn write_snapshot(
        &mut self,
        snapshot: &crate::store::SnapshotInfo,
        bytes: &[u8],
        keep: usize,
    ) -> Result<i64, StoreError> {
        let fence = self.fence.clone();
        crate::store::snapshots::pg::write(self.c()?, snapshot, bytes, keep, fence.as_ref())
    }

    fn commit(&mut self, c: &Commit) -> Result<(), StoreError> {
        let fence = self.fence.clone();
        let mut tx = self.c()?.transaction()?;
        if let Some(f) = &fence {
            crate::cluster::fence(&mut tx, &f.schema, &f.worker, f.lease)?;
        }
        // One statement per table for the whole group (arrays unnested server-side):
        // a round trip per row would cap a commit at the network's pace.
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
            )?;
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
            )?;
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
            )?;
        }
        crate::store::webhooks::pg::insert(&mut tx, &c.webhooks)?;
        for t in &c.tasks {
            match t {
                TaskChange::Created(row) => {
                    tx.execute(
                        "INSERT INTO tasks (id, lead, handoff, team, assignee, status, created_at)
                         VALUES ($1, $2, $3, $4, $5, 'open', $6) ON CONFLICT (id) DO NOTHING",
                        &[
                            &row.id,
                            &row.lead,
                            &row.handoff,
                            &row.team,
                            &row.assignee,
                            &row.created_at,
                        ],
                    )?;
                }
                TaskChange::Reassigned { id, to } => {
                    tx.execute("UPDATE tasks SET assignee = $2 WHERE id = $1", &[id, to])?;
                }
                TaskChange::Accepted { id, at } => {
                    tx.execute(
                        "UPDATE tasks SET status = 'accepted', accepted_at = $2 WHERE id = $1",
                        &[id, at],
                    )?;
                }
                TaskChange::Rejected { id, reason } => {
                    tx.execute(
                        "UPDATE tasks SET status = 'rejected', reason = $2 WHERE id = $1",
                        &[id, reason],
                    )?;
                }
                TaskChange::Completed { id } => {
                    tx.execute("UPDATE tasks SET status = 'completed' WHERE id = $1", &[id])?;
                }
            }
        }
        if let Some(f) = &fence {
            if !c.inbox_done.is_empty() {
                tx.execute(
                    &format!("DELETE FROM {}.inbox WHERE seq = ANY($1)", f.schema),
                    &[&c.inbox_done],
                )?;
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
                )?;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('lines', $1), ('now', $2)
             ON CONFLICT (key) DO UPDATE SET value = CASE WHEN meta.key = 'now'
               THEN GREATEST(meta.value, EXCLUDED.value) ELSE EXCLUDED.value END",
            &[&count(c.lines_total), &c.now],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn pulls_inbox(&self) -> bool {
        self.fence.is_some()
    }

    fn take_inbox(&mut self, limit: usize) -> Result<Vec<InboxRow>, StoreError> {
        let Some(f) = self.fence.clone() else {
            return Ok(Vec::new());
        };
        crate::cluster::quarantine::take(self.c()?, &f, limit)
    }

    fn inbox_failed(&mut self, seqs: &[i64], error: &str) -> Result<(), StoreError> {
        let Some(f) = self.fence.clone() else {
            return Ok(());
        };
        crate::cluster::quarantine::failed(self.c()?, &f, seqs, error)
    }

    fn set_lines_total(&mut self, n: u64) -> Result<(), StoreError> {
        self.guarded(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('lines', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&count(n)],
            )?;
            Ok(())
        })
    }

    fn latest_program(&mut self) -> Result<Option<StoredProgram>, StoreError> {
        let row = self.c()?.query_opt(
            "SELECT version, files FROM programs ORDER BY version DESC LIMIT 1",
            &[],
        )?;
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

    fn add_program(
        &mut self,
        files: &[(String, String)],
        at: i64,
        inputs_before: u64,
    ) -> Result<u32, StoreError> {
        let json = serde_json::to_string(files)
            .map_err(|e| StoreError(format!("a program does not serialize: {e}")))?;
        let before = count(inputs_before);
        let version: i32 = self.guarded(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO programs (version, at, files, inputs_before)
                     VALUES ((SELECT COALESCE(MAX(version), 0) + 1 FROM programs), $1, $2, $3)
                     RETURNING version",
                    &[&at, &json, &before],
                )?
                .get(0))
        })?;
        Ok(u32::try_from(version).unwrap_or(0))
    }

    fn programs(&mut self) -> Result<Vec<StoredVersion>, StoreError> {
        let rows = self.c()?.query(
            "SELECT version, at, inputs_before, files FROM programs ORDER BY version",
            &[],
        )?;
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
        due_mail_in(self.c()?, now, limit)
    }

    fn record_deliveries(&mut self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut tx = self.c()?.transaction()?;
        for d in deliveries {
            match &d.outcome {
                DeliveryOutcome::Sent { at } => tx.execute(
                    "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1 WHERE key = $1",
                    &[&d.key, at],
                )?,
                DeliveryOutcome::Retry { error, retry_at } => tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_at = $2, error = $3 WHERE key = $1",
                    &[&d.key, retry_at, error],
                )?,
                DeliveryOutcome::Failed { error } => tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, status = 'failed', error = $2 WHERE key = $1",
                    &[&d.key, error],
                )?,
            };
        }
        tx.commit()?;
        Ok(())
    }

    fn tasks(
        &mut self,
        team: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<TaskRow>, StoreError> {
        let rows = self.c()?.query(
            &format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE ($1::TEXT IS NULL OR team = $1) AND ($2::TEXT IS NULL OR status = $2)
                 ORDER BY created_at DESC, id DESC LIMIT 1000"
            ),
            &[&team, &status],
        )?;
        Ok(rows.iter().map(task_row).collect())
    }

    fn task(&mut self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        Ok(self
            .c()?
            .query_opt(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"),
                &[&id],
            )?
            .as_ref()
            .map(task_row))
    }

    fn lead_tasks(&mut self, lead: &str) -> Result<Vec<TaskRow>, StoreError> {
        let rows = self.c()?.query(
            &format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE lead = $1 ORDER BY created_at DESC, id DESC LIMIT 100"
            ),
            &[&lead],
        )?;
        Ok(rows.iter().map(task_row).collect())
    }

    fn recent_lines(&mut self, lead: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.c()?.query(
            "SELECT line FROM timeline WHERE lead = $1 ORDER BY n DESC LIMIT $2",
            &[&lead, &limit],
        )?;
        let mut out: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        out.reverse();
        Ok(out)
    }

    fn counts(&mut self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut out = Vec::new();
        for (table, prefix) in [
            ("outbox", "outbox"),
            ("tasks", "tasks"),
            ("webhook_outbox", "webhooks"),
        ] {
            let rows = self.c()?.query(
                &format!("SELECT status, COUNT(*) FROM {table} GROUP BY status ORDER BY status"),
                &[],
            )?;
            for r in rows {
                out.push((format!("{prefix}_{}", r.get::<_, String>(0)), r.get(1)));
            }
        }
        let inputs: i64 = self
            .c()?
            .query_one("SELECT COUNT(*) FROM inputs", &[])?
            .get(0);
        out.push(("inputs".into(), inputs));
        Ok(out)
    }
    fn last_mail(&mut self, lead: &str) -> Result<Option<(OutboxMail, String)>, StoreError> {
        let row = self.c()?.query_opt(
            "SELECT key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, status
             FROM outbox WHERE lead = $1 ORDER BY at DESC, key DESC LIMIT 1",
            &[&lead],
        )?;
        Ok(row.map(|r| (outbox_mail(&r), r.get(10))))
    }
    fn due_webhooks(
        &mut self,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::store::WebhookRow>, StoreError> {
        crate::store::webhooks::pg::due(self.c()?, webhook, now_ms, limit)
    }
    fn record_webhook_attempts(
        &mut self,
        attempts: &[crate::store::WebhookAttempt],
    ) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let mut tx = self.c()?.transaction()?;
        crate::store::webhooks::pg::record(&mut tx, attempts)?;
        tx.commit()?;
        Ok(())
    }
    fn webhook_rows(
        &mut self,
        status: Option<&str>,
        since_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<crate::store::WebhookRow>, StoreError> {
        crate::store::webhooks::pg::list(self.c()?, status, since_ms, limit)
    }
    fn webhook_row(&mut self, key: &str) -> Result<Option<crate::store::WebhookRow>, StoreError> {
        crate::store::webhooks::pg::get(self.c()?, key)
    }
    fn requeue_webhooks(
        &mut self,
        key: Option<&str>,
        since_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        crate::store::webhooks::pg::requeue(self.c()?, key, since_ms, now_ms)
    }
    fn webhook_pauses(&mut self) -> Result<Vec<crate::store::WebhookPause>, StoreError> {
        crate::store::webhooks::pg::pauses(self.c()?)
    }
    fn set_webhook_pause(
        &mut self,
        webhook: &str,
        pause: Option<(i64, &str)>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.c()?.transaction()?;
        crate::store::webhooks::pg::set_pause(&mut tx, webhook, pause, now_ms)?;
        tx.commit()?;
        Ok(())
    }
}
