//! One worker of a cluster (`[cluster]` in the configuration): a lease loop that claims a fair share of the partitions and runs one engine per partition it holds, and a router that queues every API request in the cluster inbox for the partitions' engines to apply.
//!
//! How the pieces fit (see also ARCHITECTURE.md, "Several workers"):
//!
//! - **Ingest.** The HTTP API talks to the [router](Router) exactly as it talks to the
//!   engine of a single node (the same [`Request`] channel). The router checks what it
//!   can without the leads' state (the item's shape, the event's name and properties,
//!   the fields' types), splits each request by partition, and writes the rows to the
//!   inbox in one durable transaction per group of requests before it acknowledges
//!   them. Checks that need the lead's state (a create of a lead that exists, an update
//!   of one that does not) are made by the partition's engine when it applies the row;
//!   a row it refuses is kept in the `refused` table and logged.
//! - **Engines.** For each partition it holds, the worker runs an ordinary
//!   [`Core`](crate::engine_thread::Core) on the partition's own store (schema `PREFIX_pN`),
//!   fenced by the lease: it rebuilds the partition's world from its input log, as a
//!   restart does, then pulls the partition's inbox rows in order and applies them with
//!   its timers in group commits that also delete the rows. A row is therefore applied
//!   exactly once, and a lead's acknowledged requests in the order they were
//!   acknowledged; timers and schedules belong to the partition's world, so they fire
//!   once, in whichever worker holds the partition.
//! - **Leases.** Every `lease_ttl_ms / 5` the lease loop heartbeats, renews, gives back
//!   what is over its fair share (once that engine has stopped), and claims free or
//!   expired partitions. A lost lease stops its engine; a commit made after the loss is
//!   refused by the fence, so nothing is written twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cluster::{partition_of, ClusterConfig, Held, Inbox, Lease, Leases, PartitionReader};
use crate::engine_thread::{Core, CoreSettings, Item, Refusal, Request};
use crate::pg::{Fence, PgStore};
use crate::store::{Records, StoreError};
use crate::ProgramLoader;

/// The request channels of the engines this worker runs, by partition.
type Engines = Arc<Mutex<HashMap<u32, Sender<Request>>>>;

/// What the engines and the router of a worker share.
#[derive(Clone)]
pub struct WorkerContext {
    /// The PostgreSQL URL.
    pub url: String,
    /// The `[cluster]` settings.
    pub config: ClusterConfig,
    /// This worker's name in the lease table.
    pub name: String,
    /// The engines' settings (`reports` is set per partition).
    pub settings: CoreSettings,
    /// Reads the program folder (each engine deploys it when it opens).
    pub load: ProgramLoader,
    /// The dashboard's version, for the live streams.
    pub live: Arc<tokio::sync::watch::Sender<crate::dashboard::Live>>,
    /// How often engines run due timers.
    pub tick: Duration,
    /// Where the other workers reach this one's API (`http://host:port`).
    pub address: String,
}

/// A running worker: the channel the API talks to, and how to stop it.
pub struct RunningWorker {
    /// The router's channel (given to the HTTP API in place of an engine's).
    pub router: Sender<Request>,
    /// The partitions held now (for the mailer).
    pub held: Held,
    stop: Arc<AtomicBool>,
    lease_thread: JoinHandle<()>,
    router_thread: JoinHandle<()>,
}

impl RunningWorker {
    /// Stops cleanly: the router first (no new requests are queued), then every engine
    /// after its current group, and the leases are given back so the other workers
    /// take the partitions over at once.
    pub fn shutdown(self) {
        let _ = self.router.send(Request::Shutdown);
        let _ = self.router_thread.join();
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.lease_thread.join();
    }
}

/// Starts a worker: makes the cluster's tables if needed, then the lease loop and the
/// router. Engines start as partitions are claimed (the first round runs at once).
pub fn start(ctx: WorkerContext) -> Result<RunningWorker, String> {
    let mut leases =
        crate::cluster::prepare(&ctx.url, &ctx.config, &ctx.name).map_err(|e| e.to_string())?;
    leases.set_address(ctx.address.clone());
    let inbox = Inbox::open(&ctx.url, &ctx.config.cluster_schema()).map_err(|e| e.to_string())?;
    let held: Held = Arc::new(Mutex::new(Vec::new()));
    let reader = PartitionReader::open(&ctx.url, ctx.config.clone(), held.clone(), &ctx.name)
        .map_err(|e| e.to_string())?;
    let engines: Engines = Arc::new(Mutex::new(HashMap::new()));
    let files = (ctx.load)()?;
    let pictures = crate::cluster::start_pictures(
        &ctx.url,
        &ctx.config.cluster_schema(),
        ctx.config.partitions,
        files.clone(),
        ctx.settings.clock,
    )?;
    let stop = Arc::new(AtomicBool::new(false));

    let (router_tx, router_rx) = std::sync::mpsc::channel::<Request>();
    let (opened_tx, opened_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let router_ctx = ctx.clone();
    let router_engines = engines.clone();
    // The program is not `Send` (compiled code): the router checks it on its own thread.
    let router_thread = std::thread::Builder::new()
        .name("tandem-router".into())
        .spawn(move || {
            let program = match crate::engine_thread::check(&files) {
                Ok(p) => p,
                Err(errors) => {
                    let _ = opened_tx.send(Err(format!(
                        "the program has errors; fix them first:\n{}",
                        errors.join("\n")
                    )));
                    return;
                }
            };
            let _ = opened_tx.send(Ok(()));
            Router {
                ctx: router_ctx,
                program,
                inbox,
                reader,
                engines: router_engines,
                pictures,
            }
            .serve(router_rx);
        })
        .map_err(|e| format!("cannot start the router thread: {e}"))?;
    opened_rx
        .recv()
        .map_err(|_| "the router stopped while opening".to_owned())??;

    // The listener is a task on the connections' runtime (see `crate::db`).
    crate::db::spawn(listen(
        ctx.url.clone(),
        ctx.config.cluster_schema(),
        engines.clone(),
        ctx.live.clone(),
        stop.clone(),
    ));

    let loop_stop = stop.clone();
    let loop_held = held.clone();
    let lease_thread = std::thread::Builder::new()
        .name("tandem-leases".into())
        .spawn(move || {
            LeaseLoop {
                ctx,
                leases,
                engines,
                held: loop_held,
                runners: BTreeMap::new(),
                stopping: Vec::new(),
            }
            .run(&loop_stop)
        })
        .map_err(|e| format!("cannot start the lease loop: {e}"))?;
    Ok(RunningWorker {
        router: router_tx,
        held,
        stop,
        lease_thread,
        router_thread,
    })
}

/// Wakes the engine of a partition this worker holds when rows are queued in its inbox
/// (`LISTEN` on [`crate::cluster::inbox_channel`]), so an idle engine does not poll, and
/// moves this worker's live streams on when a partition published new figures
/// ([`crate::cluster::figures_channel`]; at most every [`LIVE_EVERY`]). On a lost
/// connection it connects again and wakes every engine (notifications sent meanwhile
/// are lost; the engines' slow poll is the last resort). Stops with `stop`.
async fn listen(
    url: String,
    schema: String,
    engines: Engines,
    live: Arc<tokio::sync::watch::Sender<crate::dashboard::Live>>,
    stop: Arc<AtomicBool>,
) {
    let inbox = crate::cluster::inbox_channel(&schema);
    let figures = crate::cluster::figures_channel(&schema);
    let mut changed = false;
    let mut told = std::time::Instant::now();
    let mut tell = |changed: &mut bool| {
        if *changed && told.elapsed() >= LIVE_EVERY {
            live.send_modify(|v| {
                *v =
                    crate::dashboard::Live::all(v.version.wrapping_add(1) % crate::http::STREAM_END)
            });
            told = std::time::Instant::now();
            *changed = false;
        }
    };
    let wake = |p: Option<u32>| {
        if let Ok(map) = engines.lock() {
            for (partition, engine) in map.iter() {
                if p.is_none_or(|p| p == *partition) {
                    let _ = engine.send(Request::Wake);
                }
            }
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let connected = match crate::db::config(&url, None) {
            Ok(cfg) => cfg
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.0),
        };
        let (client, mut connection) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the inbox listener cannot connect; engines poll meanwhile");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // The connection's messages (notifications among them) come through its driver.
        let (notes, mut received) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        if notes.send(n).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the inbox listener lost its connection");
                        return;
                    }
                }
            }
        });
        // Quoted: the channels are named exactly as `pg_notify` names them.
        if let Err(e) = client
            .batch_execute(&format!("LISTEN \"{inbox}\"; LISTEN \"{figures}\""))
            .await
        {
            tracing::warn!(error = %e, "the inbox listener cannot listen");
            driver.abort();
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        wake(None);
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(LIVE_EVERY, received.recv()).await {
                Ok(Some(note)) if note.channel() == figures => changed = true,
                Ok(Some(note)) => wake(note.payload().parse().ok()),
                // The connection ended: connect again.
                Ok(None) => break,
                Err(_) => {}
            }
            tell(&mut changed);
        }
        driver.abort();
    }
}

/// How often, at most, a worker's live streams say the picture changed.
const LIVE_EVERY: Duration = Duration::from_millis(500);

/// The engine of one held partition, on its own thread.
struct Runner {
    lease: Lease,
    requests: Sender<Request>,
    /// Set once the engine has rebuilt the partition and serves.
    ready: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    /// Asked to stop because the partition is over this worker's share: its lease is
    /// given back once the engine has stopped.
    draining: bool,
}

impl Runner {
    fn spawn(ctx: &WorkerContext, lease: Lease, engines: &Engines) -> Result<Runner, String> {
        let (requests, rx) = std::sync::mpsc::channel::<Request>();
        let ready = Arc::new(AtomicBool::new(false));
        let ready_flag = ready.clone();
        let ctx = ctx.clone();
        let (engines, serving) = (engines.clone(), requests.clone());
        let thread = std::thread::Builder::new()
            .name(format!("tandem-p{}", lease.partition))
            .spawn(move || {
                let p = lease.partition;
                let started = std::time::Instant::now();
                let result = (|| -> Result<(), String> {
                    let store = PgStore::open_in(&ctx.url, Some(&ctx.config.partition_schema(p)))
                        .map_err(|e| e.to_string())?
                        .fenced(Fence {
                            schema: ctx.config.cluster_schema(),
                            worker: ctx.name.clone(),
                            lease,
                        });
                    let files = (ctx.load)()?;
                    let mut settings = ctx.settings.clone();
                    // A `report to` schedule runs in every partition's world: partition
                    // 0's engine alone emails it, with the figures of every partition
                    // from the board (one report per schedule run, on all the leads).
                    settings.reports = settings.reports && p == 0;
                    let board = crate::cluster::PartitionBoard::open(
                        &ctx.url,
                        &ctx.config.cluster_schema(),
                        lease,
                    )
                    .map_err(|e| e.to_string())?;
                    // The worker's live streams follow the board, not one engine.
                    let own_live =
                        Arc::new(tokio::sync::watch::channel(crate::dashboard::Live::default()).0);
                    let core = Core::open_on(
                        Box::new(store),
                        files,
                        settings,
                        own_live,
                        Some(Box::new(board)),
                    )?;
                    tracing::info!(
                        partition = p,
                        epoch = lease.epoch,
                        ms = started.elapsed().as_millis() as u64,
                        "serving the partition"
                    );
                    ready_flag.store(true, Ordering::SeqCst);
                    // The router sends it the lead pages of its partition from now on
                    // (not only from the lease loop's next round).
                    if let Ok(mut map) = engines.lock() {
                        map.insert(p, serving);
                    }
                    core.serve(rx, ctx.tick).map_err(|e| e.to_string())
                })();
                if let Err(e) = result {
                    tracing::warn!(partition = p, error = %e, "the partition's engine stopped");
                }
            })
            .map_err(|e| format!("cannot start an engine thread: {e}"))?;
        Ok(Runner {
            lease,
            requests,
            ready,
            thread,
            draining: false,
        })
    }

    fn stop(&self) {
        let _ = self.requests.send(Request::Shutdown);
    }
}

/// The lease loop's state.
struct LeaseLoop {
    ctx: WorkerContext,
    leases: Leases,
    engines: Engines,
    held: Held,
    runners: BTreeMap<u32, Runner>,
    /// Engines of lost leases, still finishing (their commits are refused by now).
    stopping: Vec<Runner>,
}

impl LeaseLoop {
    fn run(mut self, stop: &AtomicBool) {
        let ttl = self.ctx.config.lease_ttl_ms.max(100);
        let every = Duration::from_millis((ttl / 5).max(20));
        while !stop.load(Ordering::SeqCst) {
            if let Err(e) = self.round() {
                tracing::warn!(error = %e, "lease round failed; retrying");
            }
            self.publish();
            let mut slept = Duration::ZERO;
            while slept < every && !stop.load(Ordering::SeqCst) {
                let step = Duration::from_millis(20).min(every - slept);
                std::thread::sleep(step);
                slept += step;
            }
        }
        // A clean stop: every engine finishes its group, then the leases are given back
        // (after leaving the workers' table, so the others' shares grow at once).
        for r in self.runners.values() {
            r.stop();
        }
        if let Err(e) = self.leases.leave() {
            tracing::warn!(error = %e, "cannot leave the workers' table");
        }
        let runners = std::mem::take(&mut self.runners);
        for (_, r) in runners {
            let lease = r.lease;
            let _ = r.thread.join();
            if let Err(e) = self.leases.release(lease) {
                tracing::warn!(partition = lease.partition, error = %e, "cannot give the lease back");
            }
        }
        for r in self.stopping.drain(..) {
            let _ = r.thread.join();
        }
        self.publish();
    }

    /// One round: heartbeat, renew, stop engines of lost leases, give back what is over
    /// the fair share once its engine has stopped, restart nothing that failed (its
    /// lease is given back so the partition is rebuilt), claim up to the share.
    fn round(&mut self) -> Result<(), StoreError> {
        self.leases.heartbeat()?;
        let held: Vec<Lease> = self.runners.values().map(|r| r.lease).collect();
        let kept = self.leases.renew(&held)?;
        for lease in held.iter().filter(|l| !kept.contains(l)) {
            if let Some(r) = self.runners.remove(&lease.partition) {
                tracing::warn!(
                    partition = lease.partition,
                    epoch = lease.epoch,
                    "lost the lease; stopping the partition's engine"
                );
                r.stop();
                self.stopping.push(r);
            }
        }
        self.stopping.retain(|r| !r.thread.is_finished());
        // Engines that stopped by themselves (a refused commit, a store error) or that
        // drained: give their leases back.
        let finished: Vec<u32> = self
            .runners
            .iter()
            .filter(|(_, r)| r.thread.is_finished())
            .map(|(p, _)| *p)
            .collect();
        for p in finished {
            if let Some(r) = self.runners.remove(&p) {
                if !r.draining {
                    tracing::warn!(partition = p, "the engine stopped; giving the lease back");
                }
                self.leases.release(r.lease)?;
            }
        }
        let share = self.leases.fair_share()?;
        let active = self.runners.values().filter(|r| !r.draining).count();
        if active > share {
            // The highest partitions go first; each is given back once it has stopped.
            let extra: Vec<u32> = self
                .runners
                .iter()
                .rev()
                .filter(|(_, r)| !r.draining)
                .take(active - share)
                .map(|(p, _)| *p)
                .collect();
            for p in extra {
                if let Some(r) = self.runners.get_mut(&p) {
                    r.draining = true;
                    r.stop();
                }
            }
        }
        let room = share.saturating_sub(self.runners.len());
        for lease in self.leases.claim(room)? {
            // A partition regained while its old engine still finishes: that engine's
            // commits are refused (older epoch), so the new one may start now.
            match Runner::spawn(&self.ctx, lease, &self.engines) {
                Ok(r) => {
                    tracing::info!(
                        partition = lease.partition,
                        epoch = lease.epoch,
                        "claimed the partition"
                    );
                    self.runners.insert(lease.partition, r);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot start an engine");
                    self.leases.release(lease)?;
                }
            }
        }
        Ok(())
    }

    /// Tells the router and the mailer which engines serve now.
    fn publish(&self) {
        let ready: HashMap<u32, Sender<Request>> = self
            .runners
            .iter()
            .filter(|(_, r)| r.ready.load(Ordering::SeqCst) && !r.draining)
            .map(|(p, r)| (*p, r.requests.clone()))
            .collect();
        let held: Vec<Lease> = self.runners.values().map(|r| r.lease).collect();
        if let Ok(mut e) = self.engines.lock() {
            *e = ready;
        }
        if let Ok(mut h) = self.held.lock() {
            *h = held;
        }
    }
}

/// The router: what the API's requests become in a cluster worker.
struct Router {
    ctx: WorkerContext,
    /// The program folder as this worker read it (for the checks made before queueing).
    program: runtime::embed::Program,
    inbox: Inbox,
    reader: PartitionReader,
    engines: Engines,
    /// The picture thread (dashboard and diagrams from the board).
    pictures: Sender<crate::cluster::Ask>,
}

impl Router {
    fn serve(mut self, rx: Receiver<Request>) {
        let max_group = self.ctx.settings.max_group.max(1);
        while let Ok(first) = rx.recv() {
            let mut group: Vec<(Vec<Item>, crate::engine_thread::IngestReply)> = Vec::new();
            let mut others = Vec::new();
            let mut queued = 0usize;
            let mut stop = false;
            let mut next = Some(first);
            while let Some(req) = next {
                match req {
                    Request::Ingest { items, reply } => {
                        queued += items.len();
                        group.push((items, reply));
                    }
                    Request::Shutdown => {
                        stop = true;
                        break;
                    }
                    other => others.push(other),
                }
                next = if queued < max_group {
                    rx.try_recv().ok()
                } else {
                    None
                };
            }
            self.queue(group);
            for req in others {
                self.answer(req);
            }
            if stop {
                return;
            }
        }
    }

    /// Checks each request, splits it by partition and queues the rows of the whole
    /// group in one durable transaction; then answers each request.
    fn queue(&mut self, group: Vec<(Vec<Item>, crate::engine_thread::IngestReply)>) {
        if group.is_empty() {
            return;
        }
        let sym = self.program.workspace().symbols();
        let now = self.ctx.settings.clock.now();
        let partitions = self.ctx.config.partitions;
        let mut rows: Vec<(u32, String)> = Vec::new();
        let mut replies = Vec::new();
        for (items, reply) in group {
            if let Err(refusal) =
                crate::engine_thread::validate_items(sym, items.clone(), now, &|_: &str| None)
            {
                let _ = reply.send(Err(refusal));
                continue;
            }
            let n = items.len();
            let mut by_partition: BTreeMap<u32, Vec<Item>> = BTreeMap::new();
            for item in items {
                let p = partition_of(&runtime::scenario::normalize(&item.lead), partitions);
                by_partition.entry(p).or_default().push(item);
            }
            let mut encoded = Vec::with_capacity(by_partition.len());
            let mut failed = None;
            for (p, items) in by_partition {
                match serde_json::to_string(&items) {
                    Ok(json) => encoded.push((p, json)),
                    Err(e) => failed = Some(e.to_string()),
                }
            }
            match failed {
                Some(e) => {
                    let _ = reply.send(Err(Refusal {
                        status: 500,
                        index: None,
                        message: format!("cannot queue the request: {e}"),
                    }));
                }
                None => {
                    rows.extend(encoded);
                    replies.push((reply, n));
                }
            }
        }
        match self.inbox.queue(&rows) {
            Ok(()) => {
                for (reply, n) in replies {
                    let _ = reply.send(Ok(n));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot queue requests in the inbox");
                for (reply, _) in replies {
                    let _ = reply.send(Err(Refusal {
                        status: 503,
                        index: None,
                        message: format!("not stored: {e}"),
                    }));
                }
            }
        }
    }

    fn engines(&self) -> HashMap<u32, Sender<Request>> {
        self.engines.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn answer(&mut self, req: Request) {
        match req {
            Request::Lead { id, reply } => {
                let p = partition_of(
                    &runtime::scenario::normalize(&id),
                    self.ctx.config.partitions,
                );
                match self.engines().get(&p) {
                    Some(engine) => {
                        let _ = engine.send(Request::Lead { id, reply });
                    }
                    None => {
                        let _ = reply.send(self.stored_lead(&id, p));
                    }
                }
            }
            Request::Leads { query, reply } => {
                let answer = crate::engine_thread::check_lead_query(&self.program, &query)
                    .map(|()| self.leads(&query));
                let _ = reply.send(answer);
            }
            Request::Reload { mut files, reply } => {
                let answer = self.reload(&mut files);
                if answer.is_ok() {
                    let _ = self.pictures.send(crate::cluster::Ask::Program(files));
                }
                let _ = reply.send(answer);
            }
            Request::Schema { reply } => match self.engines().values().next() {
                Some(engine) => {
                    let _ = engine.send(Request::Schema { reply });
                }
                None => {
                    let _ = reply.send(crate::engine_thread::schema_json(&self.program, 0));
                }
            },
            Request::Dashboard { from, to, reply } => {
                let _ = self
                    .pictures
                    .send(crate::cluster::Ask::Summary { from, to, reply });
            }
            Request::JourneySvg { name, lang, reply } => {
                let _ = self
                    .pictures
                    .send(crate::cluster::Ask::Svg { name, lang, reply });
            }
            Request::Stats { reply } => {
                let mut sums: BTreeMap<String, f64> = BTreeMap::new();
                let engines = self.engines();
                for engine in engines.values() {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    if engine.send(Request::Stats { reply: tx }).is_ok() {
                        for (name, v) in rx.blocking_recv().unwrap_or_default() {
                            let slot = sums.entry(name.clone()).or_default();
                            if name == "tandem_program_version" {
                                *slot = slot.max(v);
                            } else {
                                *slot += v;
                            }
                        }
                    }
                }
                sums.insert("tandem_partitions_served".into(), engines.len() as f64);
                let _ = reply.send(sums.into_iter().collect());
            }
            Request::Ingest { .. } | Request::Shutdown | Request::Wake => {}
        }
    }

    /// `GET /api/leads` over the partitions this worker serves (each engine's first
    /// offset + limit, merged by id); `partitions` says how many of all answered, since the
    /// others' leads live in other workers' engines.
    fn leads(&mut self, q: &crate::engine_thread::LeadQuery) -> Value {
        let limit = q.limit.clamp(1, 1000);
        let each = crate::engine_thread::LeadQuery {
            offset: 0,
            limit: q.offset.saturating_add(limit).min(1000),
            ..q.clone()
        };
        let mut stages: BTreeMap<String, u64> = BTreeMap::new();
        let (mut total, mut answered, mut page) = (0u64, 0usize, Vec::new());
        for engine in self.engines().values() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            if engine
                .send(Request::Leads {
                    query: each.clone(),
                    reply: tx,
                })
                .is_err()
            {
                continue;
            }
            let Ok(Ok(v)) = rx.blocking_recv() else {
                continue;
            };
            answered += 1;
            total += v["total"].as_u64().unwrap_or(0);
            if let Some(m) = v["stages"].as_object() {
                for (k, n) in m {
                    *stages.entry(k.clone()).or_default() += n.as_u64().unwrap_or(0);
                }
            }
            if let Some(list) = v["leads"].as_array() {
                page.extend(list.iter().cloned());
            }
        }
        // The first offset + limit by id: the API pages them, with the other workers'.
        page.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        page.truncate(q.offset.saturating_add(limit));
        // Where the API asks for the other partitions' leads: each other worker's address.
        let local = self.engines();
        let mut elsewhere: Vec<String> = Vec::new();
        for p in (0..self.ctx.config.partitions).filter(|p| !local.contains_key(p)) {
            if let Ok(Some((_, Some(address)))) = self.reader.holder(p) {
                if !elsewhere.contains(&address) {
                    elsewhere.push(address);
                }
            }
        }
        serde_json::json!({
            "leads": page,
            "total": total,
            "limit": limit,
            "offset": q.offset,
            "stages": stages,
            "partitions": { "answered": answered, "of": self.ctx.config.partitions },
            "elsewhere": elsewhere,
        })
    }

    /// A lead of a partition another worker serves, as the store shows it: its recent
    /// timeline and its tasks (its fields and scores live in that worker's engine).
    fn stored_lead(&mut self, id: &str, partition: u32) -> Result<Option<Value>, String> {
        let lead = runtime::scenario::normalize(id);
        // A store that fails is a 503, never "no such lead".
        let lines = self
            .reader
            .recent_lines(&lead, 50)
            .map_err(|e| e.to_string())?;
        if lines.is_empty() {
            return Ok(None);
        }
        let timeline: Vec<Value> = lines
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let tasks = self.reader.lead_tasks(&lead).map_err(|e| e.to_string())?;
        // Who holds it: the API asks that worker for the whole page.
        let holder = self
            .reader
            .holder(partition)
            .map_err(|e| e.to_string())?
            .map(|(worker, address)| json!({ "worker": worker, "address": address }));
        Ok(Some(json!({
            "id": lead,
            "partition": partition,
            "served_elsewhere": true,
            "holder": holder,
            "timeline": timeline,
            "tasks": tasks,
        })))
    }

    /// A reload (`SIGHUP`, or `POST /api/program` with the folder's own files): checked
    /// here, then installed by every engine of this worker. Files other than the folder's
    /// are refused: a partition taken over later is opened from the folder, which would
    /// undo them.
    fn reload(
        &mut self,
        files: &mut crate::engine_thread::Files,
    ) -> Result<(u32, Value), Vec<String>> {
        files.sort();
        let mut folder = (self.ctx.load)().map_err(|e| vec![e])?;
        folder.sort();
        if *files != folder {
            return Err(vec![
                "in a cluster the program is deployed from the program folder: change the \
                 folder on every worker, then send each one SIGHUP (or restart it)"
                    .into(),
            ]);
        }
        self.program = crate::engine_thread::check(files)?;
        let mut answer: Result<(u32, Value), Vec<String>> =
            Ok((0, json!({ "changes": [], "partitions": 0 })));
        let engines = self.engines();
        let count = engines.len();
        for engine in engines.values() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            if engine
                .send(Request::Reload {
                    files: files.clone(),
                    reply: tx,
                })
                .is_err()
            {
                continue;
            }
            match rx.blocking_recv() {
                Ok(Ok((v, mut changes))) => {
                    if let Some(o) = changes.as_object_mut() {
                        o.insert("partitions".into(), json!(count));
                    }
                    if matches!(&answer, Ok((old, _)) if *old <= v) {
                        answer = Ok((v, changes));
                    }
                }
                Ok(Err(errors)) => answer = Err(errors),
                Err(_) => {}
            }
        }
        answer
    }
}
