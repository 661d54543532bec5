//! `tandem run`: the durable service — the engine on a real clock behind an HTTP API, with a store, real email and Sales tasks. Only this crate and the CLI touch the outside world.
//!
//! Pieces: [`store`] (what is kept, and the `Store` boundary), [`core`] (the engine
//! thread: validate, apply, derive effects, commit), [`http`] (the API, tracking and
//! consent endpoints), [`mail`] (bodies, DKIM), [`delivery`] (sending), [`sign`] (signed links), and
//! [`demo`] (synthetic traffic for `--demo`).

pub mod cluster;
pub mod commit;
pub mod dashboard;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod deploy;
pub mod effects;
pub mod engine_thread;
pub mod guard;
pub mod http;
pub mod mail;
pub mod pg;
pub mod report;
pub mod sign;
pub mod snapshot;
pub mod store;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine_thread::{CoreSettings, Files, Request};
use crate::store::{Records, SqliteStore, Store};

/// The service configuration (`--config FILE`, TOML). Every key has a default, so
/// `tandem run` works with no file at all.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where HTTP listens (default `127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The store: a SQLite file (default `tandem.db` in the working folder), or a
    /// PostgreSQL URL (`postgres://user@host:5432/db`; migrations run at start).
    #[serde(default = "default_store")]
    pub store: String,
    /// The folder for `.eml` files when there is no `[smtp]` (default `outbox`).
    #[serde(default = "default_outbox")]
    pub outbox: String,
    /// The public URL of the service, for links in emails (default from `listen`).
    pub base_url: Option<String>,
    /// `jit` (default) or `interp`.
    #[serde(default = "default_engine")]
    pub engine: String,
    /// The sender when the program sets no `sending { from }`.
    #[serde(default = "default_from")]
    pub from: String,
    /// The most inputs committed in one transaction (default 5000).
    #[serde(default = "default_group")]
    pub max_group: usize,
    /// How often due timers are run, in milliseconds (default 200).
    #[serde(default = "default_tick")]
    pub tick_ms: u64,
    /// Speeds the clock up this many times (tests and demos; default 1, wall time).
    #[serde(default = "default_scale")]
    pub clock_scale: u32,
    /// SMTP relay; without it mail goes to `outbox` as `.eml` files.
    pub smtp: Option<mail::SmtpConfig>,
    /// DKIM signing of every outgoing email.
    pub dkim: Option<mail::DkimSettings>,
    /// API tokens besides the generated admin token.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Several workers on one PostgreSQL store (see [`cluster::ClusterConfig`]).
    pub cluster: Option<cluster::ClusterConfig>,
    /// How webhook deliveries are retried and timed out.
    #[serde(default)]
    pub webhook_delivery: delivery::webhook::DeliveryConfig,
    /// Keep running the stored program version when the folder is refused at start
    /// (`--keep-running-version`); by default such a start fails.
    #[serde(default)]
    pub keep_running_version: bool,
    /// Add the open-tracking pixel to lead emails (default true). Without it
    /// `opened(TEMPLATE)` and `email_opened` never happen; spam filters score a lone image
    /// in a short email (SpamAssassin's `HTML_IMAGE_ONLY_*`).
    #[serde(default = "default_true")]
    pub open_tracking: bool,
    /// When snapshots of the world are written, and whether a start reads them.
    #[serde(default)]
    pub snapshots: snapshot::SnapshotConfig,
}

fn default_true() -> bool {
    true
}

/// An API token: its scopes, and the environment variable holding its value.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs.
    pub name: String,
    /// Any of `ingest`, `sales`, `admin`.
    pub scopes: Vec<String>,
    /// The environment variable holding the token (tokens are never written in files).
    pub token_env: String,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_store() -> String {
    "tandem.db".into()
}
fn default_outbox() -> String {
    "outbox".into()
}
fn default_engine() -> String {
    "jit".into()
}
fn default_from() -> String {
    "Tandem <tandem@localhost>".into()
}
fn default_group() -> usize {
    5000
}
fn default_tick() -> u64 {
    200
}
fn default_scale() -> u32 {
    1
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: default_listen(),
            store: default_store(),
            outbox: default_outbox(),
            base_url: None,
            engine: default_engine(),
            from: default_from(),
            max_group: default_group(),
            tick_ms: default_tick(),
            clock_scale: default_scale(),
            smtp: None,
            dkim: None,
            tokens: Vec::new(),
            cluster: None,
            webhook_delivery: delivery::webhook::DeliveryConfig::default(),
            keep_running_version: false,
            open_tracking: true,
            snapshots: snapshot::SnapshotConfig::default(),
        }
    }
}

impl Config {
    /// Parses a configuration file's text; the error names the key.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The deployment settings of a program's own `tandem.toml` (every table but
    /// `[webhooks]`, which is the program's): `None` when it holds none.
    pub fn from_program_toml(text: &str) -> Result<Option<Config>, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        table.remove("webhooks");
        if table.is_empty() {
            return Ok(None);
        }
        table
            .try_into()
            .map(Some)
            .map_err(|e: toml::de::Error| e.to_string())
    }

    /// The top-level keys of a program's `tandem.toml` that are deployment settings.
    pub fn program_toml_keys(text: &str) -> Vec<String> {
        toml::from_str::<toml::Table>(text)
            .map(|t| t.keys().filter(|k| *k != "webhooks").cloned().collect())
            .unwrap_or_default()
    }
}

/// Reads the program's files: `(path, text)`, or why they cannot be read.
pub type ProgramLoader = Arc<dyn Fn() -> Result<Files, String> + Send + Sync>;

/// What `tandem run` was asked to do.
pub struct Options {
    /// The configuration.
    pub config: Config,
    /// Reads the program's files (again on `SIGHUP`).
    pub load: ProgramLoader,
    /// Feed synthetic leads and events.
    pub demo: bool,
    /// Stop after this many seconds (tests and benchmarks); `None` runs until a signal.
    pub run_for: Option<u64>,
}

/// A scope an API token can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Post leads and events.
    Ingest,
    /// Read and act on tasks.
    Sales,
    /// Everything, including program reloads.
    Admin,
}

/// Reads a file beside the store, or creates it with a fresh random value.
/// The file is readable by its owner only, whatever rights it had (tightened, or the
/// start is refused with the reason).
fn keep_secret(path: &Path) -> Result<(String, bool), String> {
    guard::make_private(path)?;
    if let Ok(text) = std::fs::read_to_string(path) {
        let t = text.trim().to_owned();
        if !t.is_empty() {
            return Ok((t, false));
        }
    }
    let value = sign::random_hex()?;
    use std::io::Write;
    guard::private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(format!("{value}\n").as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    guard::make_private(path)?;
    Ok((value, true))
}

/// What a start creates — the SQLite store with its journal files and lock, the token and
/// the secret — removed again (while the store's lock is still held) when the start fails
/// before the service serves: a failed first start leaves the folder as it found it. A
/// file that was there before the start is never removed.
#[derive(Default)]
struct Created {
    paths: Vec<PathBuf>,
    /// Set once the service serves: from then on everything stays.
    serving: bool,
    /// The store's writer lock, released after the files are removed.
    lock: Option<guard::StoreLock>,
}

impl Created {
    /// Notes `path` as this start's if it does not exist yet (call before creating it).
    fn note(&mut self, path: &Path) {
        if !path.exists() {
            self.paths.push(path.to_path_buf());
        }
    }

    /// Notes `path` as made by this start (it has just created it).
    fn note_made(&mut self, path: &Path) {
        self.paths.push(path.to_path_buf());
    }

    /// Notes a SQLite store and the journal files SQLite makes beside it, if the store
    /// does not exist yet (the journal files of an existing store may hold its data).
    fn note_store(&mut self, store: &Path) {
        if store.exists() {
            return;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = store.as_os_str().to_owned();
            name.push(suffix);
            self.note(Path::new(&name));
        }
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.serving {
            return;
        }
        let mut removed = Vec::new();
        for path in self.paths.iter().rev() {
            match std::fs::remove_file(path) {
                Ok(()) => removed.push(path.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "the start failed, and this file it created cannot be removed")
                }
            }
        }
        if !removed.is_empty() {
            tracing::info!(files = %removed.join(", "), "the start failed: removed what it had created");
        }
    }
}

/// Where the admin token is kept, as the start prints it: an absolute path when the
/// folder can be resolved, so it says where to look whatever the working folder was.
fn token_place(beside: &Path) -> String {
    let file = beside.join("tandem.token");
    std::fs::canonicalize(beside)
        .map(|dir| dir.join("tandem.token"))
        .unwrap_or(file)
        .display()
        .to_string()
}

/// Whether the configured store is a PostgreSQL URL rather than a SQLite file.
fn is_postgres(store: &str) -> bool {
    store.starts_with("postgres://") || store.starts_with("postgresql://")
}

/// A connection to the configured store (for readers: the API and the mailer).
fn open_store(store: &str) -> Result<Box<dyn Store>, String> {
    if is_postgres(store) {
        Ok(Box::new(
            pg::PgStore::open(store).map_err(|e| e.to_string())?,
        ))
    } else {
        Ok(Box::new(
            SqliteStore::open(Path::new(store)).map_err(|e| e.to_string())?,
        ))
    }
}

/// Runs the service until a signal (or `run_for`). A start that fails before it serves
/// removes the files it created.
pub fn run(opts: Options) -> Result<(), String> {
    let mut created = Created::default();
    let cfg = opts.config.clone();
    let engine: runtime::embed::EvaluatorKind = cfg.engine.parse()?;
    // A bad DKIM key stops the start, before anything is opened.
    let dkim = cfg
        .dkim
        .as_ref()
        .map(|d| d.load().map(Arc::new))
        .transpose()?;
    let store_path = PathBuf::from(&cfg.store);
    let postgres = is_postgres(&cfg.store);
    // The token and the link-signing secret live beside a SQLite file, or in the working
    // folder when the store is PostgreSQL.
    let beside = store_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !postgres)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if cfg.cluster.is_some() && !postgres {
        return Err("`[cluster]` needs a PostgreSQL store (`store = \"postgres://…\"`)".into());
    }
    // One writer per SQLite store, taken before anything of it is read or written, held
    // until this function returns; the store file holds every lead's data: owner only.
    // What this start creates is noted once the lock is held (a start refused the lock
    // notes nothing: the files are the other process's).
    if !postgres {
        let lock_path = guard::lock_path(&store_path);
        let lock_was_there = lock_path.exists();
        created.lock = Some(guard::lock_store(&store_path)?);
        if !lock_was_there {
            created.note_made(&lock_path);
        }
        created.note_store(&store_path);
        guard::private_store(&store_path)?;
    }
    let (admin_token, new_token, secret) = match &cfg.cluster {
        // Every worker signs and checks links with one secret, and takes one admin token:
        // both are kept in the database, made by the first worker.
        Some(cc) => {
            let schema = cc.cluster_schema();
            let token = cluster::shared_secret(&cfg.store, &schema, "admin_token")
                .map_err(|e| e.to_string())?;
            let secret = cluster::shared_secret(&cfg.store, &schema, "link_secret")
                .map_err(|e| e.to_string())?;
            // The file is owner-only like a single node's, and rewritten (and the token
            // printed) only when it does not hold the cluster's token yet.
            let path = beside.join("tandem.token");
            guard::make_private(&path)?;
            let fresh = std::fs::read_to_string(&path).map_or(true, |held| held.trim() != token);
            if fresh {
                created.note(&path);
                use std::io::Write;
                guard::private_options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(format!("{token}\n").as_bytes()))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            (token, fresh, secret)
        }
        None => {
            // Noted when this start made the file (one that was there, even empty, stays).
            let mut keep = |name: &str| -> Result<(String, bool), String> {
                let path = beside.join(name);
                let was_there = path.exists();
                let (value, made) = keep_secret(&path)?;
                if made && !was_there {
                    created.note_made(&path);
                }
                Ok((value, made))
            };
            let (admin_token, new_token) = keep("tandem.token")?;
            let (secret, _) = keep("tandem.secret")?;
            (admin_token, new_token, secret)
        }
    };
    let mut tokens: Vec<(String, Vec<Scope>)> = vec![(admin_token.clone(), vec![Scope::Admin])];
    for t in &cfg.tokens {
        let value = std::env::var(&t.token_env).map_err(|_| {
            format!(
                "token `{}`: the environment variable `{}` is not set",
                t.name, t.token_env
            )
        })?;
        let mut scopes = Vec::new();
        for s in &t.scopes {
            scopes.push(match s.as_str() {
                "ingest" => Scope::Ingest,
                "sales" => Scope::Sales,
                "admin" => Scope::Admin,
                other => {
                    return Err(format!(
                        "token `{}`: unknown scope `{other}` (ingest, sales, admin)",
                        t.name
                    ))
                }
            });
        }
        tokens.push((value, scopes));
    }
    let base_url = cfg
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.listen))
        .trim_end_matches('/')
        .to_owned();
    let signer = sign::Signer::new(secret.as_bytes());
    let settings = CoreSettings {
        base_url: base_url.clone(),
        signer: signer.clone(),
        default_from: cfg.from.clone(),
        engine,
        max_group: cfg.max_group.max(1),
        clock: engine_thread::Clock::new(cfg.clock_scale),
        reports: true,
        webhooks: Arc::new(std::sync::RwLock::new(Default::default())),
        webhook_timeout_ms: cfg.webhook_delivery.timeout_ms,
        keep_running_version: cfg.keep_running_version,
        snapshots: cfg.snapshots.clone(),
        open_tracking: cfg.open_tracking,
    };
    cfg.webhook_delivery.validate()?;
    cfg.snapshots.validate()?;
    let webhook_endpoints = settings.webhooks.clone();
    let webhook_endpoints_api = settings.webhooks.clone();
    let webhook_endpoints_stop = settings.webhooks.clone();
    let settings_clock = settings.clock;
    let files = (opts.load)()?;
    let live = Arc::new(tokio::sync::watch::channel(crate::dashboard::Live::default()).0);
    let tick = std::time::Duration::from_millis(cfg.tick_ms.max(10));
    // Set by the engine thread when the store refused a commit (a single node).
    let (engine_failed, engine_failed_rx) = tokio::sync::watch::channel(false);
    #[allow(clippy::type_complexity)]
    let (tx, engine, reader, mailer_store, webhook_store): (
        _,
        _,
        Box<dyn Records>,
        Box<dyn Records>,
        Box<dyn Records>,
    ) = match &cfg.cluster {
        Some(cc) => {
            let name = cc.worker.clone().unwrap_or_else(default_worker_name);
            let address = advertised_address(cc.advertise.as_deref(), &cfg.listen)?;
            let running = worker::start(worker::WorkerContext {
                url: cfg.store.clone(),
                config: cc.clone(),
                name: name.clone(),
                settings,
                load: opts.load.clone(),
                live: live.clone(),
                tick,
                address,
            })?;
            println!(
                "tandem: worker `{name}` of a cluster of {} partitions",
                cc.partitions
            );
            let held = running.held.clone();
            let all: cluster::Held = Arc::new(std::sync::Mutex::new(Vec::new()));
            (
                running.router.clone(),
                Engine::Cluster(running),
                Box::new(
                    cluster::PartitionReader::open(&cfg.store, cc.clone(), all, &name)
                        .map_err(|e| e.to_string())?,
                ),
                Box::new(
                    cluster::PartitionReader::open(&cfg.store, cc.clone(), held.clone(), &name)
                        .map_err(|e| e.to_string())?,
                ),
                Box::new(
                    cluster::PartitionReader::open(&cfg.store, cc.clone(), held, &name)
                        .map_err(|e| e.to_string())?,
                ),
            )
        }
        None => {
            let (tx, thread) = start_engine(
                &cfg,
                &store_path,
                files,
                settings,
                live.clone(),
                tick,
                engine_failed,
            )?;
            // Synchronous stores (the engine's contract): on PostgreSQL they wait on the
            // connections' runtime (`db`), from threads of their own or blocking sections.
            (
                tx,
                Engine::Single(thread),
                open_store(&cfg.store)?,
                open_store(&cfg.store)?,
                open_store(&cfg.store)?,
            )
        }
    };

    let transport = match &cfg.smtp {
        Some(smtp) => smtp.transport()?,
        None => mail::Transport::Files(PathBuf::from(&cfg.outbox)),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let created = &mut created;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))?;
        // Every start says where the admin token is kept; only the start that made it
        // prints the token itself.
        let token_file = token_place(&beside);
        if new_token {
            println!("admin API token (kept in {token_file}): {admin_token}");
        } else {
            println!("admin API token: kept in {token_file}");
        }
        let shown = if postgres { db::redact(&cfg.store) } else { store_path.display().to_string() };
        println!("tandem: serving on http://{local} (store {shown})");
        if new_token {
            println!("dashboard: http://{local}/#token={admin_token}");
        } else {
            println!("dashboard: http://{local}/ (sign in with the admin token kept in {token_file})");
        }
        let webhook_stats = Arc::new(delivery::webhook::WebhookStats::default());
        let (stop_webhooks, webhooks_stop) = tokio::sync::watch::channel(false);
        let webhooks = tokio::spawn(delivery::webhook::run(
            webhook_store,
            webhook_endpoints,
            settings_clock,
            cfg.webhook_delivery.clone(),
            webhook_stats.clone(),
            webhooks_stop,
        ));
        let state = http::AppState {
            clock: settings_clock,
            webhooks: webhook_endpoints_api,
            webhook_stats,
            core: tx.clone(),
            reader: Arc::new(std::sync::Mutex::new(reader)),
            tokens: Arc::new(tokens),
            signer,
            live: live.clone(),
            forward: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // Straight to the other worker: the caller's token never crosses a proxy.
                .no_proxy()
                .build()
                .map_err(|e| format!("cannot make the HTTP client: {e}"))?,
        };
        // The right part of Message-IDs: the service's public host.
        let domain = url::Url::parse(&base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        tokio::spawn(delivery::smtp::mailer(
            mailer_store,
            transport,
            dkim,
            tx.clone(),
            domain,
            settings_clock,
        ));
        if opts.demo {
            tokio::spawn(demo::feed(tx.clone()));
        }
        let reload_tx = tx.clone();
        let load = opts.load.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut hup) = signal(SignalKind::hangup()) else {
                    return;
                };
                while hup.recv().await.is_some() {
                    match load() {
                        Err(e) => tracing::error!(error = %e, "reload: cannot read the program"),
                        Ok(files) => {
                            let (reply, rx) = tokio::sync::oneshot::channel();
                            if reload_tx.send(Request::Reload { files, reply }).is_err() {
                                return;
                            }
                            match rx.await {
                                Ok(Ok((v, _))) => tracing::info!(version = v, "reloaded the program"),
                                Ok(Err(errors)) => tracing::error!(
                                    errors = %errors.join("; "),
                                    "reload refused: the new program has errors; the old one keeps running"
                                ),
                                Err(_) => {}
                            }
                        }
                    }
                }
            }
        });
        let app = http::router(state);
        // Serving from here: what the start created is the service's now.
        created.serving = true;
        let run_for = opts.run_for;
        let streams = live.clone();
        let mut failed = engine_failed_rx.clone();
        let shutdown = async move {
            let signal = stop_signal(run_for);
            // The store refused a commit (the engine thread has stopped): stop taking
            // requests and let those in flight get their answers (503) before the exit.
            let engine_failed = async move {
                if failed.wait_for(|f| *f).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = signal => {}
                () = engine_failed => {}
            }
            // Live streams never end by themselves: tell them to, so the graceful
            // shutdown does not wait for the browsers.
            streams.send_replace(crate::dashboard::Live::all(http::STREAM_END));
        };
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| format!("http: {e}"));
        if *engine_failed_rx.borrow() {
            // Every request the engine held has its 503 on the wire: exit now, so that a
            // supervisor restarts the service, which rebuilds the engine from the log.
            tracing::error!("the store refused a commit; stopped (exit code {EXIT_STORE_REFUSED})");
            std::process::exit(EXIT_STORE_REFUSED);
        }
        // A clean stop: webhook attempts in flight finish (each within its timeout) and
        // are recorded, so nothing is sent twice after the restart.
        let _ = stop_webhooks.send(true);
        let longest = webhook_endpoints_stop
            .read()
            .ok()
            .and_then(|e| e.values().map(|x| x.timeout_ms).max())
            .unwrap_or(cfg.webhook_delivery.timeout_ms);
        let bound = std::time::Duration::from_millis(longest + 1_000);
        if tokio::time::timeout(bound, webhooks).await.is_err() {
            tracing::warn!("webhooks: attempts still in flight at the stop; they will be made again");
        }
        served
    });
    match engine {
        Engine::Single(thread) => {
            let _ = tx.send(Request::Shutdown);
            let _ = thread.join();
        }
        Engine::Cluster(running) => running.shutdown(),
    }
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

/// Waits for the end of a run: `run_for` seconds, or SIGTERM / Ctrl-C.
async fn stop_signal(run_for: Option<u64>) {
    match run_for {
        Some(secs) => tokio::time::sleep(std::time::Duration::from_secs(secs)).await,
        None => {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// What runs the engine: one thread (a single node), or a cluster worker's engines.
enum Engine {
    Single(std::thread::JoinHandle<()>),
    Cluster(worker::RunningWorker),
}

/// A worker's default name: the host's name and the process id.
fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "worker".into())
}

fn default_worker_name() -> String {
    format!("{}-{}", host_name(), std::process::id())
}

/// Where the other workers reach this one's API: `[cluster] advertise` (an `http(s)://`
/// URL, checked), or `http://` and `listen` with an unspecified host (`0.0.0.0`, `::`)
/// replaced by this machine's name.
fn advertised_address(advertise: Option<&str>, listen: &str) -> Result<String, String> {
    if let Some(a) = advertise {
        let ok = url::Url::parse(a)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err(format!(
                "[cluster] advertise must be a URL such as \"http://10.0.0.5:8080\", not `{a}`"
            ));
        }
        return Ok(a.trim_end_matches('/').to_owned());
    }
    Ok(match listen.parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => format!("http://{}:{}", host_name(), addr.port()),
        _ => format!("http://{listen}"),
    })
}

/// The exit code after the store refused a commit (`EX_SOFTWARE`): the engine applied
/// inputs the store does not hold, so the process stops and a restart replays the log.
pub const EXIT_STORE_REFUSED: i32 = 70;

/// How long the HTTP side has, after the store refused a commit, to answer the requests
/// it holds (503) before the engine thread ends the process itself.
const STORE_REFUSED_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the single node's store and starts its engine thread (rebuilt from the log).
/// When the store refuses a commit, the thread sets `failed` (the HTTP side then stops
/// taking requests, answers those it holds and exits with [`EXIT_STORE_REFUSED`]) and,
/// should that not happen within [`STORE_REFUSED_GRACE`], exits itself.
fn start_engine(
    cfg: &Config,
    store_path: &Path,
    files: engine_thread::Files,
    settings: CoreSettings,
    live: Arc<tokio::sync::watch::Sender<crate::dashboard::Live>>,
    tick: std::time::Duration,
    failed: tokio::sync::watch::Sender<bool>,
) -> Result<
    (
        std::sync::mpsc::Sender<Request>,
        std::thread::JoinHandle<()>,
    ),
    String,
> {
    let store: Box<dyn Store> = if is_postgres(&cfg.store) {
        Box::new(pg::PgStore::open(&cfg.store).map_err(|e| e.to_string())?)
    } else {
        Box::new(SqliteStore::open_writer(store_path).map_err(|e| e.to_string())?)
    };
    let live_for_core = live;
    let (tx, rx) = std::sync::mpsc::channel::<Request>();
    // The engine is not `Send` (compiled code, shared texts): it is built on its own thread.
    let (opened_tx, opened_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let core_thread = std::thread::Builder::new()
        .name("tandem-engine".into())
        .spawn(
            move || match engine_thread::Core::open(store, files, settings, live_for_core) {
                Ok(core) => {
                    let _ = opened_tx.send(Ok(()));
                    if let Err(e) = core.serve(rx, tick) {
                        // The world applied inputs the store does not hold: the restart
                        // rebuilds it from the log (nothing refused was acknowledged).
                        // `serve` answered its group 503 and dropped the queue (503
                        // too); the HTTP side sends those answers, then exits.
                        tracing::error!(error = %e, "the store refused a commit; stopping");
                        let _ = failed.send(true);
                        std::thread::sleep(STORE_REFUSED_GRACE);
                        std::process::exit(EXIT_STORE_REFUSED);
                    }
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                }
            },
        )
        .map_err(|e| format!("cannot start the engine thread: {e}"))?;
    opened_rx
        .recv()
        .map_err(|_| "the engine thread stopped while opening".to_owned())??;
    // Checkpoints from a connection of its own, once the engine has opened: a start that
    // fails (a program that does not check) leaves no thread holding the store open.
    if !is_postgres(&cfg.store) {
        let checkpointer = SqliteStore::open(store_path).map_err(|e| e.to_string())?;
        std::thread::Builder::new()
            .name("tandem-checkpoint".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_millis(500));
                if let Err(e) = checkpointer.checkpoint() {
                    tracing::warn!(error = %e, "WAL checkpoint");
                }
            })
            .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
    }
    Ok((tx, core_thread))
}

#[cfg(test)]
mod tests {
    use super::advertised_address;

    #[test]
    fn a_worker_advertises_where_the_others_reach_it() {
        assert_eq!(
            advertised_address(None, "127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        let any = advertised_address(None, "0.0.0.0:9000").expect("an address");
        assert!(
            any.starts_with("http://") && any.ends_with(":9000") && !any.contains("0.0.0.0"),
            "{any}"
        );
        assert_eq!(
            advertised_address(Some("https://w1.acme.vn:8443/"), "0.0.0.0:8080").as_deref(),
            Ok("https://w1.acme.vn:8443")
        );
        for bad in ["w1:8080", "ftp://w1", "http://"] {
            let e = advertised_address(Some(bad), "127.0.0.1:8080").expect_err(bad);
            assert!(e.contains("[cluster] advertise"), "{e}");
        }
    }
}
