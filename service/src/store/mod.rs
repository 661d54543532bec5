//! The durable store behind `tandem run`: the input log (the audit trail the engine is rebuilt from), timeline, outbox, tasks and program versions, behind a `Store` trait with a SQLite implementation.
//!
//! The engine is deterministic, so the store keeps what went *in* (every accepted
//! input, with its instant) and what came *out* (timeline lines, emails to send,
//! Sales tasks). One [`Commit`] — a group of inputs and everything they caused — is
//! written in one transaction and made durable before any of its inputs is
//! acknowledged. A PostgreSQL store implements the same trait; nothing above it
//! knows which one it talks to.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

pub(crate) mod schema;
pub mod snapshots;
pub mod webhooks;
pub use snapshots::SnapshotInfo;
pub use webhooks::{NewWebhook, WebhookAttempt, WebhookNext, WebhookPause, WebhookRow};

use runtime::scenario::Input;

/// A stored program version: its number and its files `(path, text)`.
pub type StoredProgram = (u32, compiler::Files);

/// One installed program version, with where it began in the input log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    /// The version's number (1, 2, …).
    pub version: u32,
    /// The engine's instant when it was installed.
    pub at: i64,
    /// How many inputs the log held when it was installed (the inputs before it ran
    /// under the earlier versions). `None` for versions stored before journey versions
    /// existed: such a version was replayed over the whole log.
    pub inputs_before: Option<u64>,
    /// Its files `(path, text)`.
    pub files: Vec<(String, String)>,
}

impl StoredVersion {
    /// A version from its row `(version, at, inputs_before, files as JSON)`, as both
    /// backends store it.
    pub fn from_row(
        version: u32,
        at: i64,
        inputs_before: Option<i64>,
        files: &str,
    ) -> Result<StoredVersion, StoreError> {
        Ok(StoredVersion {
            version,
            at,
            inputs_before: inputs_before.map(|b| u64::try_from(b).unwrap_or(0)),
            files: serde_json::from_str(files)
                .map_err(|e| StoreError(format!("a stored program does not parse: {e}")))?,
        })
    }
}

/// A store error: what failed, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

/// How a [`StoreError`] for data the store refused begins.
const REFUSED_DATA: &str = "the store refused the data: ";

impl StoreError {
    /// An error caused by the data written, not by the store being away, busy or fenced
    /// out (a value the database cannot hold, a broken constraint, a request the engine
    /// fails on): the cluster counts it against the requests that carried the data.
    pub fn refused_data(message: impl std::fmt::Display) -> StoreError {
        StoreError(format!("{REFUSED_DATA}{message}"))
    }

    /// Whether this error was made by [`StoreError::refused_data`].
    pub fn is_refused_data(&self) -> bool {
        self.0.starts_with(REFUSED_DATA)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

/// One email to deliver, rendered when the engine sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMail {
    /// The idempotency key (lead, template, instant); also the Message-ID's left part.
    pub key: String,
    /// The lead it goes to (empty for mail to a Sales rep).
    pub lead: String,
    /// The template's name (or `task` for task mail).
    pub template: String,
    /// The sender, as `Name <address>`.
    pub from: String,
    /// The recipient address.
    pub to: String,
    /// The rendered subject.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
    /// The one-click unsubscribe URL (empty for task mail).
    pub unsubscribe: String,
    /// When it was enqueued (seconds since 1970).
    pub at: i64,
}

/// A Sales task as the store keeps it (kept current from the timeline).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TaskRow {
    /// The engine's task id.
    pub id: String,
    /// The lead's id.
    pub lead: String,
    /// The handoff's name.
    pub handoff: String,
    /// The team's name.
    pub team: String,
    /// The current assignee.
    pub assignee: String,
    /// `open`, `accepted`, `rejected` or `completed`.
    pub status: String,
    /// The rejection reason, if rejected.
    pub reason: Option<String>,
    /// When it was created (seconds since 1970).
    pub created_at: i64,
    /// When it was accepted, if it was.
    pub accepted_at: Option<i64>,
    /// The task's title as rendered when it was created.
    pub title: String,
    /// The lead's name when the task was created (empty when it had none).
    pub lead_name: String,
    /// The first `accept within …` deadline (seconds since 1970), if the handoff has one.
    pub accept_due_at: Option<i64>,
    /// The first `complete within …` deadline, if the handoff has one.
    pub complete_due_at: Option<i64>,
    /// The deadline the task is measured against now: the accept deadline (or, without
    /// one, the complete deadline) while open, the complete deadline once accepted, none
    /// once closed. Derived on reading, never written.
    pub due_at: Option<i64>,
    /// How many times an SLA escalated it.
    pub escalations: i64,
    /// Who the last escalation went to (the team's manager), and when.
    pub escalated_to: Option<String>,
    pub escalated_at: Option<i64>,
}

impl TaskRow {
    /// Fills [`TaskRow::due_at`] from the status and the deadlines.
    pub fn with_due(mut self) -> TaskRow {
        self.due_at = match self.status.as_str() {
            "open" => self.accept_due_at.or(self.complete_due_at),
            "accepted" => self.complete_due_at,
            _ => None,
        };
        self
    }
}

/// Which tasks [`Store::tasks`] lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskQuery {
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub status: Option<String>,
    /// Only tasks whose deadline ([`TaskRow::due_at`]) is before this instant, most
    /// overdue first (otherwise newest first).
    pub late_at: Option<i64>,
    /// At most this many (the store caps it at 1,000), after skipping `offset`.
    pub limit: usize,
    pub offset: usize,
}

impl TaskQuery {
    /// The page size actually used: 1 to 1,000.
    pub fn page(&self) -> i64 {
        i64::try_from(self.limit.clamp(1, 1000)).unwrap_or(1000)
    }
}

/// The SQL of [`TaskRow::due_at`] (for filtering and ordering late tasks).
pub(crate) const TASK_DUE_SQL: &str = "CASE WHEN status = 'open' THEN COALESCE(accept_due_at, complete_due_at) WHEN status = 'accepted' THEN complete_due_at END";

/// A change to the tasks table caused by a timeline line.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChange {
    /// A new open task (boxed: the largest change by far).
    Created(Box<TaskRow>),
    /// The task moved to another rep.
    Reassigned { id: String, to: String },
    /// The task was accepted at an instant.
    Accepted { id: String, at: i64 },
    /// The task was rejected with a reason.
    Rejected { id: String, reason: String },
    /// The task was completed.
    Completed { id: String },
    /// An SLA escalated the task to someone (the team's manager) at an instant.
    Escalated { id: String, to: String, at: i64 },
}

/// Everything one group of inputs (or one clock tick) caused, written atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commit {
    /// Accepted inputs, in the order they were applied.
    pub inputs: Vec<Input>,
    /// Timeline lines as JSON, with their lead (in order).
    pub lines: Vec<(Option<String>, i64, String)>,
    /// Emails to send.
    pub mails: Vec<OutboxMail>,
    /// Webhook deliveries to make.
    pub webhooks: Vec<NewWebhook>,
    /// Task changes.
    pub tasks: Vec<TaskChange>,
    /// The total number of timeline lines written once this commit lands.
    pub lines_total: u64,
    /// The engine's instant when the commit was made. The store keeps the highest: a
    /// world rebuilt from the log catches up to it before it takes new inputs, so lines
    /// committed by timers are produced again, in the same order, and skipped — even when
    /// the new engine's clock is behind the old one's (another worker, a sped-up clock).
    pub now: i64,
    /// Cluster inbox rows this commit consumed (applied or refused): deleted in the same
    /// transaction, so each queued request is applied exactly once.
    pub inbox_done: Vec<i64>,
    /// Queued requests the partition's holder refused, kept for operators.
    pub refused: Vec<Refused>,
}

/// One request waiting in the cluster inbox: its sequence number and its items.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    /// The inbox's sequence number (the order requests were queued in).
    pub seq: i64,
    /// The items, as the API received them.
    pub items: Vec<crate::engine_thread::Item>,
}

/// A queued request the engine refused when it came to apply it (an update of a lead
/// that does not exist, a create of one that does, …): nothing of it was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// The inbox row.
    pub seq: i64,
    /// The HTTP status the request would have had.
    pub status: u16,
    /// The offending item's position in its request.
    pub index: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// An outbox row waiting for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingMail {
    /// The mail.
    pub mail: OutboxMail,
    /// Delivery attempts so far.
    pub attempts: u32,
}

/// Where `tandem run` keeps its state. Implementations must make [`Store::commit`]
/// atomic and durable before returning.
/// What every reader of a store needs — program versions, tasks, the timeline of a lead,
/// counts, the outboxes and what became of their deliveries — for one store or, in a
/// cluster, for every partition at once ([`crate::cluster::PartitionReader`]).
pub trait Records: Send {
    /// The latest program version: its number and files (path, text), if any.
    fn latest_program(&mut self) -> Result<Option<StoredProgram>, StoreError>;
    /// Every program version, oldest first.
    fn programs(&mut self) -> Result<Vec<StoredVersion>, StoreError>;
    /// Mails due for delivery at `now`, oldest first.
    fn due_mail(&mut self, now: i64, limit: usize) -> Result<Vec<PendingMail>, StoreError>;
    /// Records what became of delivery attempts, all in one transaction (one commit for a
    /// whole batch: a commit per mail would hold the store's write lock thousands of
    /// times a second and stall the engine's own commits).
    fn record_deliveries(&mut self, deliveries: &[Delivery]) -> Result<(), StoreError>;
    /// Tasks matching a query (see [`TaskQuery`]).
    fn tasks(&mut self, q: &TaskQuery) -> Result<Vec<TaskRow>, StoreError>;
    /// One task.
    fn task(&mut self, id: &str) -> Result<Option<TaskRow>, StoreError>;
    /// A lead's tasks, newest first.
    fn lead_tasks(&mut self, lead: &str) -> Result<Vec<TaskRow>, StoreError>;
    /// The lead's latest timeline lines (JSON), oldest first.
    fn recent_lines(&mut self, lead: &str, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Counts for `/api/metrics`: outbox by status and tasks by status.
    fn counts(&mut self) -> Result<Vec<(String, i64)>, StoreError>;
    /// The newest email of the lead's outbox (by instant, then key) and its status
    /// (`pending`, `sent` or `failed`), if the lead was ever mailed.
    fn last_mail(&mut self, lead: &str) -> Result<Option<(OutboxMail, String)>, StoreError>;
    /// The cluster's requests set aside after failing (none on a single node).
    fn quarantine(&mut self) -> Result<Vec<serde_json::Value>, StoreError> {
        Ok(Vec::new())
    }
    /// Puts a request set aside back in its inbox; `false` when there is none.
    fn retry_quarantined(&mut self, _seq: i64) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// Webhook deliveries due at `now_ms` (service clock, milliseconds), oldest first.
    fn due_webhooks(
        &mut self,
        _webhook: &str,
        _now_ms: i64,
        _limit: usize,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        Ok(Vec::new())
    }
    /// Records what became of webhook attempts, all in one transaction.
    fn record_webhook_attempts(&mut self, _attempts: &[WebhookAttempt]) -> Result<(), StoreError> {
        Ok(())
    }
    /// Webhook deliveries of one status (all when `None`) whose retry window started at
    /// or after `since_ms`, newest first.
    fn webhook_rows(
        &mut self,
        _status: Option<&str>,
        _since_ms: Option<i64>,
        _limit: usize,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        Err(no_webhooks())
    }
    /// One webhook delivery by key.
    fn webhook_row(&mut self, _key: &str) -> Result<Option<WebhookRow>, StoreError> {
        Err(no_webhooks())
    }
    /// Puts failed deliveries back in the queue (one by key, or all since an instant);
    /// returns how many.
    fn requeue_webhooks(
        &mut self,
        _key: Option<&str>,
        _since_ms: Option<i64>,
        _now_ms: i64,
    ) -> Result<u64, StoreError> {
        Err(no_webhooks())
    }
    /// Paused webhook endpoints.
    fn webhook_pauses(&mut self) -> Result<Vec<WebhookPause>, StoreError> {
        Ok(Vec::new())
    }
    /// Pauses (`Some((since_ms, reason))`) or resumes (`None`) an endpoint.
    fn set_webhook_pause(
        &mut self,
        _webhook: &str,
        _pause: Option<(i64, &str)>,
        _now_ms: i64,
    ) -> Result<(), StoreError> {
        Err(no_webhooks())
    }
}

/// A store an engine writes: the input log, commits, snapshots and program versions, plus
/// every [`Records`] read.
pub trait Store: Records {
    /// The clock's start instant and the number of timeline lines written, if the store is not new.
    fn meta(&mut self) -> Result<Option<(i64, u64)>, StoreError>;
    /// Records the clock's start (once, for a new store).
    fn set_start(&mut self, at: i64) -> Result<(), StoreError>;
    /// The highest engine instant a commit was made at ([`Commit::now`]), if any.
    fn high_water(&mut self) -> Result<Option<i64>, StoreError>;
    /// Every input ever accepted, in order.
    fn inputs(&mut self) -> Result<Vec<Input>, StoreError>;
    /// The inputs after sequence number `after_seq` (a [`SnapshotInfo::after_seq`]), in
    /// order: the tail a start replays after a snapshot.
    fn inputs_after(&mut self, after_seq: i64) -> Result<Vec<Input>, StoreError>;
    /// At most `limit` inputs after sequence number `after_seq`, in order, each with its
    /// sequence number: the log read page by page (`tandem backtest`).
    fn inputs_page(
        &mut self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Input)>, StoreError>;
    /// Copies the log's committed pages into the main file where the store has such a
    /// log (SQLite's WAL), so the log starts over instead of growing; called by the
    /// writing connection between commits.
    fn checkpoint_log(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// At a clean stop: copies the whole log into the main file and empties it, so the
    /// next start does not read it back (SQLite's WAL; nothing elsewhere).
    fn close_log(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Another connection to the same store (for the snapshot writer's thread).
    fn reopen(&self) -> Result<Box<dyn Store>, StoreError> {
        Err(StoreError("this store cannot be opened twice".into()))
    }
    /// The snapshots of the world, newest first (see [`snapshots`]).
    fn snapshots(&mut self) -> Result<Vec<SnapshotInfo>, StoreError> {
        Ok(Vec::new())
    }
    /// The bytes of one snapshot (checked by the caller against its checksum).
    fn read_snapshot(&mut self, _id: i64) -> Result<Vec<u8>, StoreError> {
        Err(StoreError("this store keeps no snapshots".into()))
    }
    /// Stores a snapshot and keeps only the newest `keep`; returns its id.
    fn write_snapshot(
        &mut self,
        _snapshot: &SnapshotInfo,
        _bytes: &[u8],
        _keep: usize,
    ) -> Result<i64, StoreError> {
        Err(StoreError("this store keeps no snapshots".into()))
    }
    /// Writes a group of inputs and their effects in one durable transaction.
    fn commit(&mut self, c: &Commit) -> Result<(), StoreError>;
    /// Resets the count of timeline lines written (after a program reload's replay).
    fn set_lines_total(&mut self, n: u64) -> Result<(), StoreError>;
    /// Stores a new program version installed at `at`, after `inputs_before` inputs of
    /// the log; returns its number.
    fn add_program(
        &mut self,
        files: &[(String, String)],
        at: i64,
        inputs_before: u64,
    ) -> Result<u32, StoreError>;
    /// Whether the engine takes its inputs from a cluster inbox (see
    /// [`Store::take_inbox`]) besides its request channel.
    fn pulls_inbox(&self) -> bool {
        false
    }
    /// The oldest requests waiting in this partition's cluster inbox (at most `limit`
    /// rows), not yet consumed by a commit. Empty for a store that is not a partition.
    fn take_inbox(&mut self, _limit: usize) -> Result<Vec<InboxRow>, StoreError> {
        Ok(Vec::new())
    }
    /// Counts one failed application of inbox rows `seqs` (see `cluster/quarantine.rs`).
    fn inbox_failed(&mut self, _seqs: &[i64], _error: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

fn no_webhooks() -> StoreError {
    StoreError("this store keeps no webhook deliveries".into())
}

/// What became of one delivery attempt of the outbox mail `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub key: String,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// Delivered at this instant.
    Sent { at: i64 },
    /// Failed for now; try again at `retry_at`.
    Retry { error: String, retry_at: i64 },
    /// Failed for good.
    Failed { error: String },
}

/// The SQLite store: one file, WAL journal, `synchronous = FULL` (each commit is fsynced).
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and applies the schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate_sqlite(&conn)?;
        Ok(SqliteStore { conn })
    }

    /// Opens an existing store for reading only (`tandem diff --store`, tools that run
    /// beside the service): no schema change, no writer lock, no write of any kind.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(SqliteStore { conn })
    }

    /// The engine's writer: commits never run a WAL checkpoint themselves (a checkpoint
    /// copies pages into the database file and would sit in an ingest's latency);
    /// [`SqliteStore::checkpoint`] runs them from another connection instead.
    pub fn open_writer(path: &Path) -> Result<SqliteStore, StoreError> {
        let store = SqliteStore::open(path)?;
        store.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // The indexes a commit updates (timeline by lead, outbox) stay in memory rather
        // than being read back from the file at every insert: 64 MiB of pages.
        store.conn.pragma_update(None, "cache_size", -65_536)?;
        Ok(store)
    }

    /// Copies committed WAL pages into the database file without blocking the writer
    /// (`PRAGMA wal_checkpoint(PASSIVE)`).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn meta_value(&self, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
        Ok(TaskRow {
            id: r.get(0)?,
            lead: r.get(1)?,
            handoff: r.get(2)?,
            team: r.get(3)?,
            assignee: r.get(4)?,
            status: r.get(5)?,
            reason: r.get(6)?,
            created_at: r.get(7)?,
            accepted_at: r.get(8)?,
            title: r.get(9)?,
            lead_name: r.get(10)?,
            accept_due_at: r.get(11)?,
            complete_due_at: r.get(12)?,
            due_at: None,
            escalations: r.get(13)?,
            escalated_to: r.get(14)?,
            escalated_at: r.get(15)?,
        }
        .with_due())
    }
}

/// An outbox row's mail, from the columns `key, lead, template, sender, recipient,
/// subject, html, body, unsubscribe, at` (the first ten of the query).
fn outbox_mail(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxMail> {
    Ok(OutboxMail {
        key: r.get(0)?,
        lead: r.get(1)?,
        template: r.get(2)?,
        from: r.get(3)?,
        to: r.get(4)?,
        subject: r.get(5)?,
        html: r.get(6)?,
        text: r.get(7)?,
        unsubscribe: r.get(8)?,
        at: r.get(9)?,
    })
}

pub(crate) const TASK_COLUMNS: &str =
    "id, lead, handoff, team, assignee, status, reason, created_at, accepted_at,
     title, lead_name, accept_due_at, complete_due_at, escalations, escalated_to, escalated_at";

impl Records for SqliteStore {
    fn latest_program(&mut self) -> Result<Option<StoredProgram>, StoreError> {
        let row: Option<(u32, String)> = self
            .conn
            .query_row(
                "SELECT version, files FROM programs ORDER BY version DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((v, json)) => {
                let files: Vec<(String, String)> = serde_json::from_str(&json)
                    .map_err(|e| StoreError(format!("a stored program does not parse: {e}")))?;
                Ok(Some((v, files)))
            }
        }
    }
    fn programs(&mut self) -> Result<Vec<StoredVersion>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT version, at, inputs_before, files FROM programs ORDER BY version")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (version, at, before, json) = row?;
            out.push(StoredVersion::from_row(version, at, before, &json)?);
        }
        Ok(out)
    }
    fn due_mail(&mut self, now: i64, limit: usize) -> Result<Vec<PendingMail>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, attempts
             FROM outbox WHERE status = 'pending' AND next_at <= ?1 ORDER BY next_at, key LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit as i64], |r| {
            Ok(PendingMail {
                mail: outbox_mail(r)?,
                attempts: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    fn record_deliveries(&mut self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for d in deliveries {
            match &d.outcome {
                DeliveryOutcome::Sent { at } => tx.prepare_cached(
                    "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1 WHERE key = ?1",
                )?
                .execute(params![d.key, at])?,
                DeliveryOutcome::Retry { error, retry_at } => tx.prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, next_at = ?2, error = ?3 WHERE key = ?1",
                )?
                .execute(params![d.key, retry_at, error])?,
                DeliveryOutcome::Failed { error } => tx.prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, status = 'failed', error = ?2 WHERE key = ?1",
                )?
                .execute(params![d.key, error])?,
            };
        }
        tx.commit()?;
        Ok(())
    }
    fn tasks(&mut self, q: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        let order = if q.late_at.is_some() {
            "due ASC, id ASC"
        } else {
            "created_at DESC, id DESC"
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TASK_COLUMNS}, {TASK_DUE_SQL} AS due FROM tasks
             WHERE (?1 IS NULL OR team = ?1) AND (?2 IS NULL OR assignee = ?2) AND (?3 IS NULL OR status = ?3)
               AND (?4 IS NULL OR {TASK_DUE_SQL} < ?4)
             ORDER BY {order} LIMIT ?5 OFFSET ?6"
        ))?;
        let rows = stmt.query_map(
            params![
                q.team,
                q.assignee,
                q.status,
                q.late_at,
                q.page(),
                i64::try_from(q.offset).unwrap_or(i64::MAX)
            ],
            SqliteStore::task_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    fn lead_tasks(&mut self, lead: &str) -> Result<Vec<TaskRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE lead = ?1 ORDER BY created_at DESC, id DESC LIMIT 100"
        ))?;
        let rows = stmt.query_map([lead], SqliteStore::task_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    fn task(&mut self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"),
                [id],
                SqliteStore::task_row,
            )
            .optional()?)
    }
    fn recent_lines(&mut self, lead: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT line FROM timeline WHERE lead = ?1 ORDER BY n DESC LIMIT ?2")?;
        let rows = stmt.query_map(params![lead, limit as i64], |r| r.get::<_, String>(0))?;
        let mut out: Vec<String> = rows.collect::<Result<_, _>>()?;
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
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT status, COUNT(*) FROM {table} GROUP BY status ORDER BY status"
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok((format!("{prefix}_{}", r.get::<_, String>(0)?), r.get(1)?))
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        let inputs: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM inputs", [], |r| r.get(0))?;
        out.push(("inputs".into(), inputs));
        Ok(out)
    }
    fn last_mail(&mut self, lead: &str) -> Result<Option<(OutboxMail, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, status
                 FROM outbox WHERE lead = ?1 ORDER BY at DESC, key DESC LIMIT 1",
                [lead],
                |r| {
                    Ok((
                        outbox_mail(r)?,
                        r.get(10)?,
                    ))
                },
            )
            .optional()?)
    }
    fn due_webhooks(
        &mut self,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        webhooks::due(&self.conn, webhook, now_ms, limit)
    }
    fn record_webhook_attempts(&mut self, attempts: &[WebhookAttempt]) -> Result<(), StoreError> {
        webhooks::record(&mut self.conn, attempts)
    }
    fn webhook_rows(
        &mut self,
        status: Option<&str>,
        since_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        webhooks::list(&self.conn, status, since_ms, limit)
    }
    fn webhook_row(&mut self, key: &str) -> Result<Option<WebhookRow>, StoreError> {
        webhooks::get(&self.conn, key)
    }
    fn requeue_webhooks(
        &mut self,
        key: Option<&str>,
        since_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        webhooks::requeue(&self.conn, key, since_ms, now_ms)
    }
    fn webhook_pauses(&mut self) -> Result<Vec<WebhookPause>, StoreError> {
        webhooks::pauses(&self.conn)
    }
    fn set_webhook_pause(
        &mut self,
        webhook: &str,
        pause: Option<(i64, &str)>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        webhooks::set_pause(&mut self.conn, webhook, pause, now_ms)
    }
}

impl Store for SqliteStore {
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
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('start', ?1)",
            [at],
        )?;
        Ok(())
    }
    fn inputs(&mut self) -> Result<Vec<Input>, StoreError> {
        self.inputs_after(i64::MIN)
    }
    fn inputs_after(&mut self, after_seq: i64) -> Result<Vec<Input>, StoreError> {
        snapshots::inputs_after(&self.conn, after_seq)
    }
    fn inputs_page(
        &mut self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Input)>, StoreError> {
        snapshots::inputs_page(&self.conn, after_seq, limit)
    }
    fn checkpoint_log(&mut self) -> Result<(), StoreError> {
        self.checkpoint()
    }
    fn close_log(&mut self) -> Result<(), StoreError> {
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err(StoreError(
                "another connection was reading; the WAL is emptied at the next checkpoint".into(),
            ));
        }
        Ok(())
    }
    fn reopen(&self) -> Result<Box<dyn Store>, StoreError> {
        let path = self
            .conn
            .path()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| StoreError("an in-memory store cannot be opened twice".into()))?;
        Ok(Box::new(SqliteStore::open(Path::new(path))?))
    }
    fn snapshots(&mut self) -> Result<Vec<SnapshotInfo>, StoreError> {
        snapshots::list(&self.conn)
    }
    fn read_snapshot(&mut self, id: i64) -> Result<Vec<u8>, StoreError> {
        snapshots::read(&self.conn, id)
    }
    fn write_snapshot(
        &mut self,
        snapshot: &SnapshotInfo,
        bytes: &[u8],
        keep: usize,
    ) -> Result<i64, StoreError> {
        snapshots::write(&mut self.conn, snapshot, bytes, keep)
    }
    fn commit(&mut self, c: &Commit) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut put_input =
                tx.prepare_cached("INSERT INTO inputs (at, lead, input) VALUES (?1, ?2, ?3)")?;
            for input in &c.inputs {
                let json = serde_json::to_string(input)
                    .map_err(|e| StoreError(format!("an input does not serialize: {e}")))?;
                put_input.execute(params![input.at, input.lead, json])?;
            }
            let mut put_line =
                tx.prepare_cached("INSERT INTO timeline (lead, at, line) VALUES (?1, ?2, ?3)")?;
            for (lead, at, line) in &c.lines {
                put_line.execute(params![lead, at, line])?;
            }
            let mut put_mail = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (key, lead, template, sender, recipient, subject, html, body, unsubscribe, at, next_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            )?;
            for m in &c.mails {
                put_mail.execute(params![
                    m.key,
                    m.lead,
                    m.template,
                    m.from,
                    m.to,
                    m.subject,
                    m.html,
                    m.text,
                    m.unsubscribe,
                    m.at
                ])?;
            }
            webhooks::insert(&tx, &c.webhooks)?;
            for t in &c.tasks {
                match t {
                    TaskChange::Created(row) => {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO tasks (id, lead, handoff, team, assignee, status, created_at,
                               title, lead_name, accept_due_at, complete_due_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, ?8, ?9, ?10)",
                        )?
                        .execute(params![
                            row.id,
                            row.lead,
                            row.handoff,
                            row.team,
                            row.assignee,
                            row.created_at,
                            row.title,
                            row.lead_name,
                            row.accept_due_at,
                            row.complete_due_at
                        ])?;
                    }
                    TaskChange::Escalated { id, to, at } => {
                        tx.prepare_cached(
                            "UPDATE tasks SET escalations = escalations + 1, escalated_to = ?2, escalated_at = ?3 WHERE id = ?1",
                        )?
                        .execute(params![id, to, at])?;
                    }
                    TaskChange::Reassigned { id, to } => {
                        tx.prepare_cached("UPDATE tasks SET assignee = ?2 WHERE id = ?1")?
                            .execute(params![id, to])?;
                    }
                    TaskChange::Accepted { id, at } => {
                        tx.prepare_cached(
                            "UPDATE tasks SET status = 'accepted', accepted_at = ?2 WHERE id = ?1",
                        )?
                        .execute(params![id, at])?;
                    }
                    TaskChange::Rejected { id, reason } => {
                        tx.prepare_cached(
                            "UPDATE tasks SET status = 'rejected', reason = ?2 WHERE id = ?1",
                        )?
                        .execute(params![id, reason])?;
                    }
                    TaskChange::Completed { id } => {
                        tx.prepare_cached("UPDATE tasks SET status = 'completed' WHERE id = ?1")?
                            .execute(params![id])?;
                    }
                }
            }
            tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES ('lines', ?1)")?
                .execute([i64::try_from(c.lines_total).unwrap_or(i64::MAX)])?;
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('now', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
            )?
            .execute([c.now])?;
        }
        tx.commit()?;
        Ok(())
    }
    fn set_lines_total(&mut self, n: u64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('lines', ?1)",
            [i64::try_from(n).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }
    fn add_program(
        &mut self,
        files: &[(String, String)],
        at: i64,
        inputs_before: u64,
    ) -> Result<u32, StoreError> {
        let json = serde_json::to_string(files)
            .map_err(|e| StoreError(format!("a program does not serialize: {e}")))?;
        let before = i64::try_from(inputs_before).unwrap_or(i64::MAX);
        self.conn.execute(
            "INSERT INTO programs (version, at, files, inputs_before) VALUES ((SELECT COALESCE(MAX(version), 0) + 1 FROM programs), ?1, ?2, ?3)",
            params![at, json, before],
        )?;
        Ok(self
            .conn
            .query_row("SELECT MAX(version) FROM programs", [], |r| r.get(0))?)
    }
}
