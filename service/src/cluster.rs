//! Work sharing between several `tandem run` workers on one PostgreSQL database: leads are split into partitions, and a worker may write a partition only while it holds that partition's lease — a row claimed with `FOR UPDATE SKIP LOCKED`, kept by heartbeats, and fenced by an epoch.
//!
//! The clock of every lease is the database server's (`now()`), so workers on machines
//! whose clocks disagree still agree on who holds what. A lease that is not renewed
//! within its time to live expires; another worker's next claim takes it and bumps its
//! epoch. A store commit made under a lease first checks, in the same transaction, that
//! the lease row still names this worker and epoch, and holds that row (`FOR SHARE`)
//! until it commits: a takeover either happens before (and the old holder's commit
//! fails, nothing written) or after (and the new holder reads that commit when it
//! rebuilds the partition from its log).
//!
//! What is built on this (the partition's world rebuilt from its own log by the new
//! holder, ingest routed to partitions) is described in ARCHITECTURE.md.

use std::time::Duration;

use deadpool_postgres::Pool;

use crate::db::{self, block_on, GenericClient};

use crate::store::{Records, StoreError};

mod board;
pub mod quarantine;
pub use board::{figures_channel, start_pictures, Ask, PartitionBoard};

/// The schema of the lease table when none is given.
pub const DEFAULT_SCHEMA: &str = "tandem_cluster";

/// `[cluster]` in the service configuration: present, `tandem run` is one worker of a
/// cluster sharing one PostgreSQL database with the others.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// How many partitions leads are split into (default 16). Fixed for the life of
    /// the database: every worker must say the same.
    #[serde(default = "default_partitions")]
    pub partitions: u32,
    /// How long a lease lives without a heartbeat, in milliseconds (default 2000). A
    /// dead worker's partitions are taken over about this long after it stopped.
    #[serde(default = "default_ttl")]
    pub lease_ttl_ms: u64,
    /// The prefix of the schemas: `PREFIX_cluster` (leases, inbox) and `PREFIX_pN`
    /// (partition N's store). Default `tandem`.
    #[serde(default = "default_prefix")]
    pub schema_prefix: String,
    /// This worker's name in the lease table (default: host name and process id).
    pub worker: Option<String>,
    /// Where the other workers reach this one's API, as `http://host:port` (default:
    /// `http://` and `listen`, an unspecified host such as `0.0.0.0` replaced by this
    /// machine's name). A lead page asked of another worker is answered by this one
    /// when it holds the lead's partition.
    pub advertise: Option<String>,
}

fn default_partitions() -> u32 {
    16
}
fn default_ttl() -> u64 {
    2000
}
fn default_prefix() -> String {
    "tandem".into()
}

impl ClusterConfig {
    /// The schema holding the leases, the workers and the inbox.
    pub fn cluster_schema(&self) -> String {
        format!("{}_cluster", self.schema_prefix)
    }

    /// The schema holding partition `p`'s store.
    pub fn partition_schema(&self, p: u32) -> String {
        format!("{}_p{p}", self.schema_prefix)
    }
}

/// The partition of a lead: a stable hash of its id (FNV-1a), the same in every worker
/// and every release.
pub fn partition_of(lead: &str, partitions: u32) -> u32 {
    let n = u64::from(partitions.max(1));
    u32::try_from(runtime::engine::fnv1a64(lead) % n).unwrap_or(0)
}

/// A partition held by a worker, at an epoch (bumped by every claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lease {
    pub partition: u32,
    pub epoch: i64,
}

/// One worker's view of the lease table.
pub struct Leases {
    pool: Pool,
    /// Where the other workers reach this one's API (kept in the workers' table).
    address: Option<String>,
    schema: String,
    worker: String,
    partitions: u32,
    ttl_ms: i64,
}

/// `schema` if it is a plain name (letters, digits, `_`), safe to put in SQL text.
pub fn plain_name(schema: &str) -> Result<&str, StoreError> {
    if !schema.is_empty()
        && schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(schema)
    } else {
        Err(StoreError(format!("`{schema}` is not a plain schema name")))
    }
}

/// The leases a `RETURNING partition, epoch` statement answered, sorted.
fn leases_of(rows: &[tokio_postgres::Row]) -> Vec<Lease> {
    let mut leases: Vec<Lease> = rows
        .iter()
        .map(|r| Lease {
            partition: u32::try_from(r.get::<_, i32>(0)).unwrap_or(0),
            epoch: r.get(1),
        })
        .collect();
    leases.sort();
    leases
}

impl Leases {
    /// Connects as `worker`, creating the lease table in `schema` with `partitions` rows
    /// if it does not exist yet. Refused if the table exists with another number of
    /// partitions (the split of leads would change under running workers).
    pub fn open(
        url: &str,
        schema: &str,
        worker: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<Leases, StoreError> {
        let schema = plain_name(schema)?.to_owned();
        if partitions == 0 {
            return Err(StoreError("a cluster needs at least one partition".into()));
        }
        let pool = db::pool(url, None, 1)?;
        block_on(async {
            let mut client = db::get(&pool).await?;
            let tx = client.transaction().await?;
            tx.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock(7297266);
             CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.leases (
               partition INTEGER PRIMARY KEY,
               owner TEXT,
               epoch BIGINT NOT NULL DEFAULT 0,
               expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity');
             CREATE TABLE IF NOT EXISTS {schema}.workers (
               name TEXT PRIMARY KEY,
               expires_at TIMESTAMPTZ NOT NULL);
             ALTER TABLE {schema}.workers ADD COLUMN IF NOT EXISTS address TEXT;
             CREATE TABLE IF NOT EXISTS {schema}.inbox (
               seq BIGSERIAL PRIMARY KEY,
               partition INTEGER NOT NULL,
               items TEXT NOT NULL,
               queued_at TIMESTAMPTZ NOT NULL DEFAULT now());
             CREATE INDEX IF NOT EXISTS inbox_partition ON {schema}.inbox (partition, seq);
             CREATE TABLE IF NOT EXISTS {schema}.refused (
               seq BIGINT PRIMARY KEY,
               partition INTEGER NOT NULL,
               status INTEGER NOT NULL,
               item INTEGER,
               message TEXT NOT NULL,
               refused_at TIMESTAMPTZ NOT NULL DEFAULT now());
             ALTER TABLE {schema}.inbox ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE {schema}.inbox ADD COLUMN IF NOT EXISTS error TEXT;
             CREATE TABLE IF NOT EXISTS {schema}.quarantine (
               seq BIGINT PRIMARY KEY,
               partition INTEGER NOT NULL,
               items TEXT NOT NULL,
               attempts INTEGER NOT NULL,
               error TEXT NOT NULL,
               quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now());
             CREATE TABLE IF NOT EXISTS {schema}.figures (
               partition INTEGER PRIMARY KEY,
               epoch BIGINT NOT NULL,
               body TEXT NOT NULL,
               published_at TIMESTAMPTZ NOT NULL DEFAULT now());
             ALTER TABLE {schema}.figures ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0"
        )).await?;
            let existing: i64 = tx
                .query_one(&format!("SELECT COUNT(*) FROM {schema}.leases"), &[])
                .await?
                .get(0);
            if existing == 0 {
                let n = i32::try_from(partitions).unwrap_or(i32::MAX);
                tx.execute(
                    &format!(
                        "INSERT INTO {schema}.leases (partition) SELECT generate_series(0, $1 - 1)"
                    ),
                    &[&n],
                )
                .await?;
            } else if existing != i64::from(partitions) {
                return Err(StoreError(format!(
                "the cluster has {existing} partitions; this worker is configured for {partitions}"
            )));
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        Ok(Leases {
            pool,
            address: None,
            schema,
            worker: worker.to_owned(),
            partitions,
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
        })
    }

    /// This worker's name.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Says this worker is alive for one more time to live (workers that stop saying so
    /// drop out of everyone's [`Leases::fair_share`]).
    pub fn heartbeat(&mut self) -> Result<(), StoreError> {
        let c = block_on(db::get(&self.pool))?;
        block_on(c.execute(
            &format!(
                "INSERT INTO {}.workers (name, expires_at, address)
                 VALUES ($1, now() + $2 * interval '1 millisecond', $3)
                 ON CONFLICT (name) DO UPDATE
                   SET expires_at = EXCLUDED.expires_at, address = EXCLUDED.address",
                self.schema
            ),
            &[&self.worker, &(self.ttl_ms as f64), &self.address],
        ))?;
        Ok(())
    }

    /// Says where the other workers reach this one's API (see [`ClusterConfig::advertise`]).
    pub fn set_address(&mut self, address: String) {
        self.address = Some(address);
    }

    /// How many partitions this worker should hold: an even share (rounded up) among the
    /// live workers, this one included.
    pub fn fair_share(&mut self) -> Result<usize, StoreError> {
        let c = block_on(db::get(&self.pool))?;
        let others: i64 = block_on(c.query_one(
            &format!(
                "SELECT COUNT(*) FROM {}.workers WHERE expires_at >= now() AND name <> $1",
                self.schema
            ),
            &[&self.worker],
        ))?
        .get(0);
        let workers = u64::try_from(others).unwrap_or(0) + 1;
        Ok(usize::try_from(u64::from(self.partitions).div_ceil(workers)).unwrap_or(usize::MAX))
    }

    /// One round of a worker's lease loop: heartbeat, renew what it holds, give back what
    /// is over its share (the highest partitions), and claim free ones up to its share.
    /// Returns the leases held now, sorted; call it well within the time to live.
    pub fn round(&mut self, held: &[Lease]) -> Result<Vec<Lease>, StoreError> {
        self.heartbeat()?;
        let mut kept = self.renew(held)?;
        let share = self.fair_share()?;
        while kept.len() > share {
            if let Some(extra) = kept.pop() {
                self.release(extra)?;
            }
        }
        let more = self.claim(share - kept.len())?;
        kept.extend(more);
        kept.sort();
        Ok(kept)
    }

    /// Claims up to `at_most` partitions whose lease has expired (or was never taken),
    /// skipping rows another worker is claiming or committing under right now. Each
    /// claimed lease gets a new epoch.
    pub fn claim(&mut self, at_most: usize) -> Result<Vec<Lease>, StoreError> {
        if at_most == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(at_most).unwrap_or(i64::MAX);
        let c = block_on(db::get(&self.pool))?;
        let rows = block_on(c.query(
            &format!(
                "WITH free AS (
                   SELECT partition FROM {s}.leases WHERE expires_at < now()
                   ORDER BY partition LIMIT $1 FOR UPDATE SKIP LOCKED)
                 UPDATE {s}.leases l
                 SET owner = $2, epoch = l.epoch + 1,
                     expires_at = now() + $3 * interval '1 millisecond'
                 FROM free WHERE l.partition = free.partition
                 RETURNING l.partition, l.epoch",
                s = self.schema
            ),
            &[&limit, &self.worker, &(self.ttl_ms as f64)],
        ))?;
        Ok(leases_of(&rows))
    }

    /// Extends the leases this worker still holds; returns them. A lease missing from the
    /// answer is lost (it expired, or another worker took it): stop serving it.
    pub fn renew(&mut self, held: &[Lease]) -> Result<Vec<Lease>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let partitions: Vec<i32> = held
            .iter()
            .map(|l| i32::try_from(l.partition).unwrap_or(-1))
            .collect();
        let epochs: Vec<i64> = held.iter().map(|l| l.epoch).collect();
        let c = block_on(db::get(&self.pool))?;
        let rows = block_on(c.query(
            &format!(
                "UPDATE {s}.leases l SET expires_at = now() + $1 * interval '1 millisecond'
                 FROM UNNEST($2::INTEGER[], $3::BIGINT[]) AS h(partition, epoch)
                 WHERE l.partition = h.partition AND l.epoch = h.epoch
                   AND l.owner = $4 AND l.expires_at >= now()
                 RETURNING l.partition, l.epoch",
                s = self.schema
            ),
            &[&(self.ttl_ms as f64), &partitions, &epochs, &self.worker],
        ))?;
        Ok(leases_of(&rows))
    }

    /// Says this worker is gone (a clean shutdown), so the others' fair shares count
    /// without it at once instead of after the time to live.
    pub fn leave(&mut self) -> Result<(), StoreError> {
        let c = block_on(db::get(&self.pool))?;
        block_on(c.execute(
            &format!("DELETE FROM {}.workers WHERE name = $1", self.schema),
            &[&self.worker],
        ))?;
        Ok(())
    }

    /// Gives a lease back at once (a clean shutdown), so another worker need not wait
    /// for it to expire.
    pub fn release(&mut self, lease: Lease) -> Result<(), StoreError> {
        let partition = i32::try_from(lease.partition).unwrap_or(-1);
        let c = block_on(db::get(&self.pool))?;
        block_on(c.execute(
            &format!(
                "UPDATE {}.leases SET owner = NULL, expires_at = '-infinity'
                 WHERE partition = $1 AND epoch = $2 AND owner = $3",
                self.schema
            ),
            &[&partition, &lease.epoch, &self.worker],
        ))?;
        Ok(())
    }
}

/// The check a commit under a lease makes first, inside its transaction: the lease row
/// still names `worker` at `lease.epoch` and has not expired. The row stays share-locked
/// until the transaction ends, so no claim can take it in between (claims skip locked
/// rows). Fails, naming the partition, when the lease is lost.
pub async fn fence(
    tx: &impl GenericClient,
    schema: &str,
    worker: &str,
    lease: Lease,
) -> Result<(), StoreError> {
    if holds(tx, schema, worker, lease).await? {
        Ok(())
    } else {
        Err(StoreError(format!(
            "the lease of partition {} (epoch {}) is no longer held by `{worker}`: nothing was written",
            lease.partition, lease.epoch
        )))
    }
}

/// Whether `worker` still holds `lease` (same epoch, not expired); the row stays
/// share-locked until the transaction ends (see [`fence`]).
pub async fn holds(
    tx: &impl GenericClient,
    schema: &str,
    worker: &str,
    lease: Lease,
) -> Result<bool, StoreError> {
    let schema = plain_name(schema)?;
    let partition = i32::try_from(lease.partition).unwrap_or(-1);
    let held = tx
        .query_opt(
            &format!(
                "SELECT 1 FROM {schema}.leases
             WHERE partition = $1 AND owner = $2 AND epoch = $3 AND expires_at >= now()
             FOR SHARE"
            ),
            &[&partition, &worker, &lease.epoch],
        )
        .await?;
    Ok(held.is_some())
}

/// The cluster's inbox, as the workers that receive API requests write it: every
/// accepted request is queued here, durably, before it is acknowledged, and the
/// holder of each partition applies its rows in order (see [`crate::store::InboxRow`]).
pub struct Inbox {
    pool: Pool,
    schema: String,
}

/// The `LISTEN` channel on which queued inbox rows announce their partition.
pub fn inbox_channel(schema: &str) -> String {
    format!("{schema}_inbox")
}

impl Inbox {
    /// Connects to the inbox in `schema` (made by [`Leases::open`]).
    pub fn open(url: &str, schema: &str) -> Result<Inbox, StoreError> {
        let schema = plain_name(schema)?.to_owned();
        Ok(Inbox {
            pool: db::pool(url, None, 1)?,
            schema,
        })
    }

    /// Queues rows `(partition, items as JSON)` in one durable transaction, numbered in
    /// the order given.
    pub fn queue(&mut self, rows: &[(u32, String)]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let partitions: Vec<i32> = rows
            .iter()
            .map(|(p, _)| i32::try_from(*p).unwrap_or(-1))
            .collect();
        let items: Vec<&str> = rows.iter().map(|(_, i)| i.as_str()).collect();
        // One notification per partition, delivered when the rows are committed: the
        // engines holding them pull at once instead of at their next poll.
        let c = block_on(db::get(&self.pool))?;
        block_on(c.query(
            &format!(
                "WITH queued AS (
                   INSERT INTO {schema}.inbox (partition, items)
                   SELECT p, i FROM UNNEST($1::INTEGER[], $2::TEXT[]) WITH ORDINALITY AS u(p, i, n)
                   ORDER BY n
                   RETURNING partition)
                 SELECT pg_notify('{channel}', d.partition::TEXT)
                 FROM (SELECT DISTINCT partition FROM queued) d",
                schema = self.schema,
                channel = inbox_channel(&self.schema),
            ),
            &[&partitions, &items],
        ))?;
        Ok(())
    }

    /// How many requests are queued and not applied yet.
    pub fn waiting(&mut self) -> Result<i64, StoreError> {
        let c = block_on(db::get(&self.pool))?;
        Ok(
            block_on(c.query_one(&format!("SELECT COUNT(*) FROM {}.inbox", self.schema), &[]))?
                .get(0),
        )
    }
}

/// The leases this worker holds now (shared by its lease loop and its deliverers).
pub type Held = std::sync::Arc<std::sync::Mutex<Vec<Lease>>>;

/// A [`Store`] over every partition of a cluster, for a worker's readers: the API's
/// task and timeline reads (all partitions, or the lead's) and the mailer (only the
/// partitions this worker holds). One connection, switching schemas. Writes other than
/// delivery outcomes are refused: each partition's engine writes its own store.
pub struct PartitionReader {
    store: crate::pg::PgStore,
    config: ClusterConfig,
    held: Held,
    /// This worker's name in the lease table (deliveries are read under its leases).
    worker: String,
    /// The partition of each mail handed to the mailer, until its outcome is recorded.
    mail_partition: std::collections::HashMap<String, u32>,
    /// The same for webhook deliveries handed to the deliverer.
    webhook_partition: std::collections::HashMap<String, u32>,
}

impl PartitionReader {
    /// Connects; the partitions' schemas must exist (see [`prepare`]).
    pub fn open(
        url: &str,
        config: ClusterConfig,
        held: Held,
        worker: &str,
    ) -> Result<Self, StoreError> {
        let store = crate::pg::PgStore::open_in(url, Some(&config.partition_schema(0)))?;
        Ok(PartitionReader {
            store,
            config,
            held,
            worker: worker.to_owned(),
            mail_partition: std::collections::HashMap::new(),
            webhook_partition: std::collections::HashMap::new(),
        })
    }

    fn at(&mut self, p: u32) -> Result<&mut crate::pg::PgStore, StoreError> {
        let schema = self.config.partition_schema(p);
        self.store.use_schema(&schema)?;
        Ok(&mut self.store)
    }

    fn of_lead(&mut self, lead: &str) -> Result<&mut crate::pg::PgStore, StoreError> {
        let p = partition_of(&runtime::scenario::normalize(lead), self.config.partitions);
        self.at(p)
    }

    /// The worker holding partition `p` now and where its API is, if any holds it.
    pub fn holder(&mut self, p: u32) -> Result<Option<(String, Option<String>)>, StoreError> {
        let schema = self.config.cluster_schema();
        let partition = i32::try_from(p).unwrap_or(-1);
        let row = self.store.on_conn(Box::new(move |c| {
            Box::pin(async move {
                Ok(c.query_opt(
                    &format!(
                        "SELECT l.owner, w.address FROM {schema}.leases l
                         LEFT JOIN {schema}.workers w ON w.name = l.owner
                         WHERE l.partition = $1 AND l.owner IS NOT NULL AND l.expires_at >= now()"
                    ),
                    &[&partition],
                )
                .await?)
            })
        }))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn held_now(&self) -> Vec<Lease> {
        self.held.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// The fence of a lease this worker holds (deliveries are read under it: checked in
    /// the same transaction, so a worker that lost a partition sends nothing more for it).
    fn fence_of(&self, lease: Lease) -> crate::pg::Fence {
        crate::pg::Fence {
            schema: self.config.cluster_schema(),
            worker: self.worker.clone(),
            lease,
        }
    }
}

fn lost(lease: Lease) {
    tracing::info!(
        partition = lease.partition,
        "not delivering: the lease is lost"
    );
}

impl Records for PartitionReader {
    fn latest_program(&mut self) -> Result<Option<crate::store::StoredProgram>, StoreError> {
        self.at(0)?.latest_program()
    }
    fn programs(&mut self) -> Result<Vec<crate::store::StoredVersion>, StoreError> {
        self.at(0)?.programs()
    }
    fn due_mail(
        &mut self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<crate::store::PendingMail>, StoreError> {
        let mut out = Vec::new();
        for lease in self.held_now() {
            if out.len() >= limit {
                break;
            }
            let room = limit - out.len();
            let fence = self.fence_of(lease);
            let Some(due) = self
                .at(lease.partition)?
                .due_mail_under(&fence, now, room)?
            else {
                lost(lease);
                continue;
            };
            for m in &due {
                self.mail_partition
                    .insert(m.mail.key.clone(), lease.partition);
            }
            out.extend(due);
        }
        Ok(out)
    }
    fn record_deliveries(
        &mut self,
        deliveries: &[crate::store::Delivery],
    ) -> Result<(), StoreError> {
        let mut by_partition: std::collections::BTreeMap<u32, Vec<crate::store::Delivery>> =
            std::collections::BTreeMap::new();
        for d in deliveries {
            if let Some(p) = self.mail_partition.remove(&d.key) {
                by_partition.entry(p).or_default().push(d.clone());
            }
        }
        for (p, list) in by_partition {
            self.at(p)?.record_deliveries(&list)?;
        }
        Ok(())
    }
    fn tasks(
        &mut self,
        q: &crate::store::TaskQuery,
    ) -> Result<Vec<crate::store::TaskRow>, StoreError> {
        // Every partition's first offset + limit, merged in the query's order, then the page.
        let each = crate::store::TaskQuery {
            offset: 0,
            limit: q.offset.saturating_add(q.limit.clamp(1, 1000)),
            ..q.clone()
        };
        let mut all = Vec::new();
        for p in 0..self.config.partitions {
            all.extend(self.at(p)?.tasks(&each)?);
        }
        if q.late_at.is_some() {
            all.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.id.cmp(&b.id)));
        } else {
            all.sort_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then_with(|| b.id.cmp(&a.id))
            });
        }
        Ok(all
            .into_iter()
            .skip(q.offset)
            .take(q.limit.clamp(1, 1000))
            .collect())
    }
    fn task(&mut self, id: &str) -> Result<Option<crate::store::TaskRow>, StoreError> {
        for p in 0..self.config.partitions {
            if let Some(t) = self.at(p)?.task(id)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }
    fn lead_tasks(&mut self, lead: &str) -> Result<Vec<crate::store::TaskRow>, StoreError> {
        self.of_lead(lead)?.lead_tasks(lead)
    }
    fn recent_lines(&mut self, lead: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.of_lead(lead)?.recent_lines(lead, limit)
    }
    fn last_mail(
        &mut self,
        lead: &str,
    ) -> Result<Option<(crate::store::OutboxMail, String)>, StoreError> {
        self.of_lead(lead)?.last_mail(lead)
    }
    fn counts(&mut self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut sums: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for p in 0..self.config.partitions {
            for (k, v) in self.at(p)?.counts()? {
                *sums.entry(k).or_default() += v;
            }
        }
        Ok(sums.into_iter().collect())
    }
    fn quarantine(&mut self) -> Result<Vec<serde_json::Value>, StoreError> {
        let schema = self.config.cluster_schema();
        self.store.on_conn(Box::new(move |c| {
            Box::pin(async move { quarantine::list(&*c, &schema).await })
        }))
    }
    fn retry_quarantined(&mut self, seq: i64) -> Result<bool, StoreError> {
        let schema = self.config.cluster_schema();
        self.store.on_conn(Box::new(move |c| {
            Box::pin(async move { quarantine::retry(c, &schema, seq).await })
        }))
    }
    fn due_webhooks(
        &mut self,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::store::WebhookRow>, StoreError> {
        let mut out = Vec::new();
        for lease in self.held_now() {
            if out.len() >= limit {
                break;
            }
            let room = limit - out.len();
            let fence = self.fence_of(lease);
            let Some(due) = self
                .at(lease.partition)?
                .due_webhooks_under(&fence, webhook, now_ms, room)?
            else {
                lost(lease);
                continue;
            };
            for w in &due {
                self.webhook_partition
                    .insert(w.key.clone(), lease.partition);
            }
            out.extend(due);
        }
        Ok(out)
    }
    fn record_webhook_attempts(
        &mut self,
        attempts: &[crate::store::WebhookAttempt],
    ) -> Result<(), StoreError> {
        let mut by_partition: std::collections::BTreeMap<u32, Vec<crate::store::WebhookAttempt>> =
            std::collections::BTreeMap::new();
        for a in attempts {
            if let Some(p) = self.webhook_partition.remove(&a.key) {
                by_partition.entry(p).or_default().push(a.clone());
            }
        }
        for (p, list) in by_partition {
            self.at(p)?.record_webhook_attempts(&list)?;
        }
        Ok(())
    }
    fn webhook_rows(
        &mut self,
        status: Option<&str>,
        since_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<crate::store::WebhookRow>, StoreError> {
        let mut all = Vec::new();
        for p in 0..self.config.partitions {
            all.extend(self.at(p)?.webhook_rows(status, since_ms, limit)?);
        }
        all.sort_by(|a, b| {
            b.window_ms
                .cmp(&a.window_ms)
                .then_with(|| a.key.cmp(&b.key))
        });
        all.truncate(limit);
        Ok(all)
    }
    fn webhook_row(&mut self, key: &str) -> Result<Option<crate::store::WebhookRow>, StoreError> {
        for p in 0..self.config.partitions {
            if let Some(w) = self.at(p)?.webhook_row(key)? {
                return Ok(Some(w));
            }
        }
        Ok(None)
    }
    fn requeue_webhooks(
        &mut self,
        key: Option<&str>,
        since_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        for p in 0..self.config.partitions {
            n += self.at(p)?.requeue_webhooks(key, since_ms, now_ms)?;
        }
        Ok(n)
    }
    // Pauses are per endpoint, for the whole cluster: kept in partition 0's schema.
    fn webhook_pauses(&mut self) -> Result<Vec<crate::store::WebhookPause>, StoreError> {
        self.at(0)?.webhook_pauses()
    }
    fn set_webhook_pause(
        &mut self,
        webhook: &str,
        pause: Option<(i64, &str)>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // Pauses live with partition 0; the waiting deliveries are in every partition.
        self.at(0)?.set_webhook_pause(webhook, pause, now_ms)?;
        if pause.is_none() {
            for p in 1..self.config.partitions {
                self.at(p)?.set_webhook_pause(webhook, None, now_ms)?;
            }
        }
        Ok(())
    }
}

/// A secret every worker of the cluster shares (the admin token, the link-signing
/// key), kept in the cluster's schema: the first worker to ask makes it.
pub fn shared_secret(url: &str, schema: &str, name: &str) -> Result<String, StoreError> {
    let schema = plain_name(schema)?;
    let pool = db::pool(url, None, 1)?;
    let fresh = crate::sign::random_hex().map_err(StoreError)?;
    block_on(async {
        let mut client = db::get(&pool).await?;
        let tx = client.transaction().await?;
        tx.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock(7297266);
             CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        ))
        .await?;
        tx.execute(
            &format!(
                "INSERT INTO {schema}.secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            ),
            &[&name, &fresh],
        )
        .await?;
        let value: String = tx
            .query_one(
                &format!("SELECT value FROM {schema}.secrets WHERE name = $1"),
                &[&name],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(value)
    })
}

/// Makes the cluster's tables: the leases and the inbox, and every partition's store
/// (migrations run once, under the store's advisory lock), so readers find them all.
pub fn prepare(url: &str, config: &ClusterConfig, worker: &str) -> Result<Leases, StoreError> {
    let ttl = Duration::from_millis(config.lease_ttl_ms.max(100));
    let leases = Leases::open(
        url,
        &config.cluster_schema(),
        worker,
        config.partitions,
        ttl,
    )?;
    for p in 0..config.partitions {
        drop(crate::pg::PgStore::open_in(
            url,
            Some(&config.partition_schema(p)),
        )?);
    }
    Ok(leases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_in_range() {
        for n in [1u32, 2, 7, 16, 64] {
            for i in 0..1000 {
                let id = format!("lead-{i}");
                let p = partition_of(&id, n);
                assert!(p < n);
                assert_eq!(p, partition_of(&id, n), "the same id, the same partition");
            }
        }
        // The hash is fixed: these values must not change between releases.
        assert_eq!(partition_of("", 16), 0xcbf2_9ce4_8422_2325_u64 as u32 % 16);
        assert_eq!(partition_of("an", 1), 0);
        assert_eq!(partition_of("x", 0), 0, "no partitions counts as one");
    }

    #[test]
    fn schema_names_must_be_plain() {
        assert!(plain_name("tandem_cluster").is_ok());
        assert!(plain_name("a;drop").is_err());
        assert!(plain_name("").is_err());
    }
}
