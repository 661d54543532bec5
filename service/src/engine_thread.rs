//! The engine thread of `tandem run`: owns the checked program and the engine's world, validates and applies inputs in groups, turns timeline lines into effects (outbox mail, Sales tasks) and commits each group durably before acknowledging it.
//!
//! Everything else talks to it over a channel ([`Request`]). It is the only place the
//! engine runs, so inputs are applied in one total order, which is also the order of
//! the input log the engine is rebuilt from after a restart.

use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use compiler::ProgramSource;
use runtime::embed::{EvaluatorKind, Program};
use runtime::scenario::Input;
use runtime::timeline::{Entry, Line};
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

use crate::dashboard::{Dashboard, LeadSource};
use crate::sign::Signer;
use crate::store::{Commit, OutboxMail, Refused, Store, StoreError, TaskChange, TaskRow};
use std::sync::Arc;

mod effects;
mod lead;
mod lists;
mod picture;
mod rebuild;
mod reload;
mod running;
mod validate;

pub use lists::{check as check_lead_query, LeadQuery};
pub use picture::{step_counts, summary_of, svg_of, Board};
pub use rebuild::{rebuild, rebuild_streaming};
pub use running::Running;
pub use validate::validate_items;

/// A program folder's files, `(path, text)`: the one representation (see `source`).
pub use compiler::Files;

/// One input as the API received it: the lead, the action (`create`, `update`,
/// `upsert`, `event`, `task`) and the JSON object holding it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// The lead's id.
    pub lead: String,
    /// What to do.
    pub action: String,
    /// The input object (`{"create": {...}}`, `{"event": "x", "props": {...}}`, …).
    pub body: Map<String, Value>,
}

/// A refused request: the HTTP status, and which item and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// 400 (bad input), 404 (unknown lead or task), 409 (conflict), 500, 503.
    pub status: u16,
    /// The position of the offending item in a batch.
    pub index: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

impl Refusal {
    fn bad(index: usize, message: impl Into<String>) -> Refusal {
        Refusal {
            status: 400,
            index: Some(index),
            message: message.into(),
        }
    }
}

/// Where the answer to an ingest goes: the number applied, or why nothing was.
pub type IngestReply = oneshot::Sender<Result<usize, Refusal>>;

/// Where a group's request came from: the API (answered once durable), or a cluster
/// inbox row (consumed by the commit that applies or refuses it).
enum Origin {
    Api(IngestReply),
    Inbox(i64),
}

/// A periodic snapshot waits at least this many times as long as the last one held the
/// engine: taking snapshots costs the engine at most 0.5 % of its time, however many leads.
const SNAPSHOT_BUDGET: u32 = 200;

/// How long an idle cluster partition waits before looking at its inbox again when no
/// notification woke it ([`Request::Wake`]; a fallback for a lost notification).
pub const INBOX_POLL: Duration = Duration::from_millis(500);
/// The most inbox rows (queued requests) one group takes.
const INBOX_ROWS: usize = 200;

/// What the rest of the service asks the engine thread.
pub enum Request {
    /// Rows were queued in this partition's cluster inbox: look now (nothing else).
    Wake,
    /// Apply these inputs (all or none); the reply comes once they are durable.
    Ingest {
        /// The inputs.
        items: Vec<Item>,
        /// Replied with the number applied.
        reply: oneshot::Sender<Result<usize, Refusal>>,
    },
    /// The lead view (fields, scores explained, stage, journeys, recent timeline).
    Lead {
        /// The lead's id.
        id: String,
        /// `Ok(None)` if there is no such lead; `Err` when the store failed (a 503,
        /// never "not found").
        reply: oneshot::Sender<Result<Option<Value>, String>>,
    },
    /// A page of the leads in a stage or journey now (`GET /api/leads`).
    Leads {
        query: LeadQuery,
        /// The page, or what is wrong with the query (an unknown stage or journey).
        reply: oneshot::Sender<Result<Value, String>>,
    },
    /// Check and install a new program version.
    Reload {
        /// The new program's files.
        files: Files,
        /// The new version's number and what it changed (see [`crate::deploy`]), or the
        /// checker's messages.
        reply: oneshot::Sender<Result<(u32, Value), Vec<String>>>,
    },
    /// What inputs may carry under the running program: settable lead fields with their
    /// types, stages, and the events an input may send with their properties.
    Schema {
        /// The schema as JSON (`GET /api/schema`).
        reply: oneshot::Sender<Value>,
    },
    /// The dashboard summary for a period (`yyyy-mm-dd`, in the program's time zone).
    Dashboard {
        /// First day (default: 29 days before `to`).
        from: Option<String>,
        /// Last day (default: today).
        to: Option<String>,
        /// The summary, or what is wrong with the period (400) or the store (503).
        reply: oneshot::Sender<Result<Value, Refusal>>,
    },
    /// A journey's diagram with live counts, as SVG.
    JourneySvg {
        /// The journey's name.
        name: String,
        /// `vi` or `en`: the language of the counts' labels.
        lang: String,
        /// `None` for an unknown journey.
        reply: oneshot::Sender<Option<Result<String, Refusal>>>,
    },
    /// Engine figures for `/api/metrics`.
    Stats {
        /// `(name, value)` pairs.
        reply: oneshot::Sender<Vec<(String, f64)>>,
    },
    /// Stop after the current group.
    Shutdown,
}

/// Settings the engine thread needs from the configuration.
#[derive(Clone)]
pub struct CoreSettings {
    /// The public base URL of the service (links in emails), without a trailing `/`.
    pub base_url: String,
    /// Signs tracking, unsubscribe and task links.
    pub signer: Signer,
    /// The sender when the program's `sending { from }` is not set.
    pub default_from: String,
    /// Evaluate conditions with the JIT or the interpreter.
    pub engine: EvaluatorKind,
    /// The most inputs committed in one transaction.
    pub max_group: usize,
    /// The clock.
    pub clock: Clock,
    /// Whether `report to` schedules email their report (in a cluster, only partition
    /// 0's engine does, with the figures of every partition from the board).
    pub reports: bool,
    /// The running program's webhook endpoints, shared with the deliverer.
    pub webhooks: crate::delivery::webhook::SharedEndpoints,
    /// A webhook attempt's timeout when the webhook sets none.
    pub webhook_timeout_ms: u64,
    /// Whether lead emails carry the open pixel (`opened()` and `email_opened` need it).
    pub open_tracking: bool,
    /// When the program folder cannot be installed over the stored version at start:
    /// keep running the stored version (with a warning on the dashboard) instead of
    /// refusing to start.
    pub keep_running_version: bool,
    /// When snapshots are written and whether a start reads them.
    pub snapshots: crate::snapshot::SnapshotConfig,
}

/// The webhook endpoints a program's `tandem.toml` declares (secrets read from the
/// environment); every problem named.
pub fn endpoints_of(
    files: &Files,
    default_timeout_ms: u64,
) -> Result<crate::effects::webhook::Endpoints, Vec<String>> {
    let config = files
        .iter()
        .find(|(p, _)| p == "tandem.toml" || p.ends_with("/tandem.toml"))
        .map(|(_, t)| t.as_str());
    crate::effects::webhook::endpoints(config, default_timeout_ms, &|v| std::env::var(v).ok())
}

/// Checks a program; the error lists the checker's errors as `path:line: CODE message`.
pub fn check(files: &Files) -> Result<Program, Vec<String>> {
    runtime::versions::compile(&ProgramSource::from_files(files))
}

/// The engine thread's state.
pub struct Core {
    store: Box<dyn Store>,
    /// The running program and its world.
    running: Running,
    /// The running version's files, as stored (sorted by path).
    files: Files,
    /// The running version's webhook endpoints (a copy of `settings.webhooks`).
    endpoints: crate::effects::webhook::Endpoints,
    version: u32,
    lines_total: u64,
    settings: CoreSettings,
    inputs_applied: u64,
    mails_enqueued: u64,
    /// Emails not sent because their template failed to render.
    render_failures: u64,
    /// Why the program folder was refused while an older version keeps running (shown
    /// on the dashboard until a version is installed).
    refused_program: Option<Vec<String>>,
    /// Webhook deliveries queued, and `webhook NAME` lines naming no endpoint.
    webhooks_enqueued: u64,
    webhooks_unknown: u64,
    /// Lines the world will produce again that were committed before a restart (timers
    /// that fired after the last input): skipped, with their effects, when they recur.
    skip_lines: u64,
    /// The dashboard's numbers, fed every line the world produces.
    dashboard: Dashboard,
    /// The dashboard's version, watched by the live streams.
    live: Arc<tokio::sync::watch::Sender<crate::dashboard::Live>>,
    /// A commit the store refused outside a group (while installing a program): the
    /// engine stops at the end of the current step (see [`Core::serve`]).
    failed: Option<StoreError>,
    /// Writes snapshots in the background (`None` when they are off).
    writer: Option<crate::snapshot::Writer>,
    /// The log position and time of the last snapshot taken (at start: of the snapshot
    /// the world was restored from, 0 without one, so a long replay is followed by one).
    snapshot_at: (u64, std::time::Instant),
    /// At start: the position of the snapshot the world was restored from (0: none) and
    /// how many inputs were replayed after it.
    started_from: (u64, u64),
    /// Writes the groups' commits while the engine applies the next (while serving).
    committer: Option<crate::commit::Committer>,
    /// How long taking the last snapshot held the engine.
    snapshot_pause: Duration,
    /// Where a cluster partition publishes its figures (see [`Board`]).
    board: Option<Box<dyn Board>>,
    /// The dashboard version last published on the board, and when.
    published: (u64, std::time::Instant),
    /// How long the last publication took (see `core/picture.rs`).
    publish_took: Duration,
}

/// A lead's `source` field, read from the engine (for the dashboard's splits).
struct EngineLeads<'a, 'p>(&'a runtime::engine::Engine<'p>);

impl LeadSource for EngineLeads<'_, '_> {
    fn index(&self, lead: &str) -> Option<usize> {
        self.0.lead(lead)
    }
    fn source(&self, lead: &str) -> String {
        let field = self
            .0
            .lead(lead)
            .and_then(|i| self.0.lead_field(i, "source"));
        match field {
            Some(runtime::timeline::FieldValue::Text(s)) => s,
            _ => String::new(),
        }
    }
    fn name(&self, lead: &str) -> Option<String> {
        match self.0.lead(lead).and_then(|i| self.0.lead_field(i, "name")) {
            Some(runtime::timeline::FieldValue::Text(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
    fn stage(&self, lead: &str) -> Option<String> {
        match self
            .0
            .lead(lead)
            .and_then(|i| self.0.lead_field(i, "stage"))
        {
            Some(
                runtime::timeline::FieldValue::Stage(s) | runtime::timeline::FieldValue::Text(s),
            ) => Some(s),
            _ => None,
        }
    }
}

/// A world rebuilt from a store's input log (see [`rebuild`]).
pub struct Rebuilt {
    /// The latest version's program (with the journey versions it keeps) and the world,
    /// its clock at the last input (or the last version's installation).
    pub running: Running,
    /// The latest version's number.
    pub version: u32,
    /// The latest version's files, sorted by path.
    pub files: Files,
    /// How many timeline lines the world has produced (the snapshot's, then the replay's).
    pub lines: u64,
}

/// Where a rebuild starts: a world restored from a snapshot, `position` inputs into
/// the log, with `lines` timeline lines produced (see [`crate::snapshot`]).
pub struct StartFrom {
    pub running: Running,
    pub version: u32,
    pub files: Files,
    pub position: u64,
    pub lines: u64,
}

/// What inputs may carry under a program (see [`Request::Schema`]).
pub fn schema_json(program: &Program, version: u32) -> Value {
    let sym = program.workspace().symbols();
    let typed = |list: &[(String, stdlib::Type)]| -> Vec<Value> {
        list.iter()
            .map(|(name, ty)| json!({ "name": name, "type": ty.to_string() }))
            .collect()
    };
    let mut events: Vec<(&String, &compiler::symbols::EventInfo)> =
        sym.events.iter().filter(|(_, e)| e.from_outside).collect();
    events.sort_by(|a, b| a.0.cmp(b.0));
    json!({
        "version": version,
        "timezone": sym.timezone.as_ref().map(|(tz, _)| tz.clone()),
        "fields": typed(&runtime::scenario::settable_fields(sym)),
        "stages": sym.stages.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "events": events
            .into_iter()
            .map(|(name, e)| json!({ "name": name, "props": typed(&e.props) }))
            .collect::<Vec<_>>(),
    })
}

/// An empty dashboard for a program: its stages, funnel first.
pub fn dashboard_for(program: &Program) -> Dashboard {
    let sym = program.workspace().symbols();
    let mut funnel: Vec<(usize, String)> = sym
        .stages
        .iter()
        .filter_map(|s| s.funnel.map(|i| (i, s.name.clone())))
        .collect();
    funnel.sort();
    let funnel_len = funnel.len();
    let mut stages: Vec<String> = funnel.into_iter().map(|(_, n)| n).collect();
    stages.extend(
        sym.stages
            .iter()
            .filter(|s| s.funnel.is_none())
            .map(|s| s.name.clone()),
    );
    let tz =
        jiff::tz::TimeZone::get(&program.lowered().timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    Dashboard::new(tz, stages, funnel_len)
}

/// The service's clock: wall time, or — for tests and demos — wall time sped up by
/// `scale` from the moment the service started (`clock_scale` in the config).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    scale: i64,
    origin_ms: i64,
}

impl Clock {
    /// A clock running `scale` times faster than wall time (1: wall time).
    pub fn new(scale: u32) -> Clock {
        Clock {
            scale: i64::from(scale.max(1)),
            origin_ms: jiff::Timestamp::now().as_millisecond(),
        }
    }

    /// Now, in seconds since 1970.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Now, in milliseconds since 1970.
    pub fn now_ms(&self) -> i64 {
        let real = jiff::Timestamp::now().as_millisecond();
        self.origin_ms + (real - self.origin_ms).saturating_mul(self.scale)
    }
}

impl Core {
    /// Opens the engine on a store: rebuilds the world by replaying the input log
    /// version by version (each stored program version from the input where it was
    /// installed, deployed as it was live), then installs `files` as a new version if
    /// they differ from the latest stored one (a deploy, as by `POST /api/program`).
    pub fn open(
        store: Box<dyn Store>,
        files: Files,
        settings: CoreSettings,
        live: Arc<tokio::sync::watch::Sender<crate::dashboard::Live>>,
    ) -> Result<Core, String> {
        Core::open_on(store, files, settings, live, None)
    }

    /// [`Core::open`] for a cluster partition: its figures go to `board` from the start,
    /// and whatever it does while opening (a deploy, timers catching up, a report due
    /// then) already sees every partition's.
    pub fn open_on(
        mut store: Box<dyn Store>,
        mut files: Files,
        settings: CoreSettings,
        live: Arc<tokio::sync::watch::Sender<crate::dashboard::Live>>,
        board: Option<Box<dyn Board>>,
    ) -> Result<Core, String> {
        let err = |e: StoreError| e.to_string();
        files.sort();
        let clock = settings.clock;
        let kind = settings.engine;
        // A broken folder refuses the start, whatever the store holds.
        check(&files).map_err(|errors| {
            format!(
                "the program has errors; fix them first:\n{}",
                errors.join("\n")
            )
        })?;
        endpoints_of(&files, settings.webhook_timeout_ms).map_err(|errors| {
            format!(
                "the program's webhooks cannot be used; fix them first:\n{}",
                errors.join("\n")
            )
        })?;
        let meta = store.meta().map_err(err)?;
        let start = match meta {
            Some((start, _)) => start,
            None => {
                let s = clock.now();
                store.set_start(s).map_err(err)?;
                s
            }
        };
        let lines_written = meta.map(|(_, n)| n).unwrap_or(0);
        let mut versions = store.programs().map_err(err)?;
        if versions.is_empty() {
            let version = store.add_program(&files, start, 0).map_err(err)?;
            versions.push(crate::store::StoredVersion {
                version,
                at: start,
                inputs_before: Some(0),
                files: files.clone(),
            });
        }
        let resumed = if settings.snapshots.enabled {
            crate::snapshot::resume_newest(&mut *store, &versions, kind, &dashboard_for)
        } else {
            None
        };
        let (inputs, from, mut dashboard, position) = match resumed {
            Some(r) => {
                let position = r.from.position;
                let inputs = store.inputs_after(r.after_seq).map_err(err)?;
                (inputs, Some(r.from), Some(r.dashboard), position)
            }
            None => (store.inputs().map_err(err)?, None, None, 0),
        };
        tracing::info!(
            inputs = inputs.len(),
            after = position,
            versions = versions.len(),
            "replaying the input log"
        );
        let rebuilt = rebuild(
            versions,
            &inputs,
            start,
            kind,
            from,
            |program, lines, engine| {
                dashboard
                    .get_or_insert_with(|| dashboard_for(program))
                    .observe(lines, &EngineLeads(engine));
            },
        )?;
        let dashboard = dashboard.unwrap_or_else(|| dashboard_for(rebuilt.running.program()));
        let replayed = rebuilt.lines;
        let mut core = Core {
            store,
            running: rebuilt.running,
            files: rebuilt.files,
            endpoints: Default::default(),
            version: rebuilt.version,
            lines_total: replayed,
            settings,
            inputs_applied: position + inputs.len() as u64,
            mails_enqueued: 0,
            render_failures: 0,
            refused_program: None,
            webhooks_enqueued: 0,
            webhooks_unknown: 0,
            skip_lines: 0,
            dashboard,
            live,
            failed: None,
            writer: None,
            snapshot_at: (position, std::time::Instant::now()),
            started_from: (position, inputs.len() as u64),
            committer: None,
            snapshot_pause: Duration::ZERO,
            // Published at the first step (a forced publication: see `maybe_publish`).
            board,
            published: (u64::MAX, std::time::Instant::now()),
            publish_took: Duration::ZERO,
        };
        if core.settings.snapshots.enabled {
            match core.store.reopen() {
                Ok(other) => {
                    core.writer = Some(crate::snapshot::Writer::start(
                        other,
                        core.settings.snapshots.keep,
                    )?)
                }
                Err(e) => tracing::warn!(error = %e, "snapshots cannot be written to this store"),
            }
        }
        core.live.send_replace(core.dashboard.live());
        match endpoints_of(&core.files, core.settings.webhook_timeout_ms) {
            Ok(e) => core.set_endpoints(e),
            Err(errors) => tracing::error!(
                errors = %errors.join("; "),
                "the stored program's webhooks cannot be used; its deliveries wait"
            ),
        }
        if lines_written >= replayed {
            // Lines beyond the replay were committed by timers that fired after the last
            // input; they recur as the clock catches up and are skipped then.
            core.skip_lines = lines_written - replayed;
        } else {
            tracing::warn!(
                replayed,
                lines_written,
                "the log replays to more lines than were written; continuing from the log"
            );
            core.store.set_lines_total(replayed).map_err(err)?;
        }
        // The world stands at its last input; the engine that committed last may have
        // run its timers further (its clock ahead of this one's): catch up to the
        // furthest committed instant first, so those lines recur now, in their order,
        // and are skipped — not interleaved with new inputs at earlier instants.
        if let Some(high) = core.store.high_water().map_err(err)? {
            if high > core.running.world().now() {
                core.advance(high).map_err(err)?;
            }
        }
        if files != core.files {
            match core.reload(files) {
                Ok((v, changes)) => {
                    tracing::info!(version = v, changes = %changes["changes"], "installed the program folder as a new version")
                }
                Err(errors) if core.settings.keep_running_version => {
                    tracing::error!(
                        errors = %errors.join("; "),
                        version = core.version,
                        "THE PROGRAM FOLDER WAS REFUSED: it cannot be deployed over the stored version, which keeps running (--keep-running-version)"
                    );
                    core.refused_program = Some(errors);
                }
                Err(errors) => {
                    return Err(format!(
                        "the program folder cannot be deployed over the stored version {}:\n{}\nFix the folder, or start with --keep-running-version to keep running version {} anyway",
                        core.version,
                        errors.join("\n"),
                        core.version
                    ))
                }
            }
        }
        Ok(core)
    }

    /// Serves requests until `Shutdown` or the channel closes; runs due timers every
    /// `tick` in between. A cluster partition's engine also pulls the requests queued in
    /// its inbox (every [`INBOX_POLL`] while idle, at once while there is more), and
    /// applies them with the API's in the same group commits.
    ///
    /// Returns the store's error when a commit is refused: the world has then applied
    /// inputs the store does not hold, so this engine must not go on. The caller stops
    /// the process (one node), or drops the partition (a cluster), and the next engine
    /// rebuilds the world from the log. Nothing refused was acknowledged.
    pub fn serve(mut self, rx: Receiver<Request>, tick: Duration) -> Result<(), StoreError> {
        self.start_committer();
        let result = self.serve_loop(rx, tick);
        // Whatever was handed over is written (or refused) before the engine goes.
        let written = match self.committer.take() {
            Some(c) => c.finish(),
            None => Ok(()),
        };
        let result = result.and(written);
        if result.is_ok() {
            // A clean stop: the next start reads the store's main file, not a long WAL
            // (the final snapshot went through it).
            if let Err(e) = self.store.close_log() {
                tracing::warn!(error = %e, "the WAL could not be emptied at the stop");
            }
        }
        result
    }

    /// Commits from now on go through a committer thread on the store's writing
    /// connection (see [`crate::commit`]); the engine keeps a second connection for its
    /// reads. Not for a cluster partition, whose next inbox read must see the previous
    /// group's commit (it consumes the rows it applied).
    fn start_committer(&mut self) {
        if self.store.pulls_inbox() {
            return;
        }
        match self.store.reopen() {
            Ok(reads) => {
                let writes = std::mem::replace(&mut self.store, reads);
                match crate::commit::Committer::start(writes) {
                    Ok(c) => self.committer = Some(c),
                    Err(e) => tracing::error!(error = %e, "commits stay on the engine thread"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "commits stay on the engine thread"),
        }
    }

    /// Hands a finished group to the committer, or commits it here when there is none;
    /// either way each reply is answered once its group is durable (`503` if refused).
    fn commit(
        &mut self,
        commit: Commit,
        replies: Vec<(IngestReply, usize)>,
    ) -> Result<(), StoreError> {
        if let Some(c) = &self.committer {
            return c.submit(commit, replies);
        }
        match self.store.commit(&commit) {
            Ok(()) => {
                for (reply, n) in replies {
                    let _ = reply.send(Ok(n));
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "the store refused a commit; this engine stops");
                for (reply, _) in replies {
                    let _ = reply.send(Err(Refusal {
                        status: 503,
                        index: None,
                        message: format!("not stored: {e}"),
                    }));
                }
                Err(e)
            }
        }
    }

    /// Waits until every group handed to the committer is durable.
    fn flush(&mut self) -> Result<(), StoreError> {
        match &self.committer {
            Some(c) => c.flush(),
            None => Ok(()),
        }
    }

    fn serve_loop(&mut self, rx: Receiver<Request>, tick: Duration) -> Result<(), StoreError> {
        let pulls = self.store.pulls_inbox();
        let wait = if pulls { tick.min(INBOX_POLL) } else { tick };
        // A partition's engine looks at its inbox as soon as it serves (rows may have
        // waited while it was being rebuilt).
        let mut more_queued = pulls;
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        loop {
            let first = if more_queued {
                match rx.try_recv() {
                    Ok(r) => Some(r),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return Ok(()),
                }
            } else {
                match rx.recv_timeout(wait) {
                    Ok(r) => Some(r),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                }
            };
            let mut group: Vec<(Vec<Item>, Origin)> = Vec::new();
            let mut others = Vec::new();
            let mut queued = 0usize;
            let mut stop = false;
            let mut next = first;
            while let Some(req) = next {
                match req {
                    Request::Ingest { items, reply } => {
                        queued += items.len();
                        group.push((items, Origin::Api(reply)));
                    }
                    Request::Shutdown => {
                        stop = true;
                        break;
                    }
                    other => others.push(other),
                }
                next = if queued < self.settings.max_group {
                    rx.try_recv().ok()
                } else {
                    None
                };
            }
            more_queued = false;
            if pulls && !stop && queued < self.settings.max_group {
                let rows = self.store.take_inbox(INBOX_ROWS)?;
                // A batch can end early (before a row that failed once): look again.
                more_queued = !rows.is_empty();
                for row in rows {
                    // Rows left out stay in the inbox for the next group.
                    if queued >= self.settings.max_group && !group.is_empty() {
                        more_queued = true;
                        break;
                    }
                    queued += row.items.len();
                    group.push((row.items, Origin::Inbox(row.seq)));
                }
            }
            if !group.is_empty() {
                let seqs: Vec<i64> = group
                    .iter()
                    .filter_map(|(_, o)| match o {
                        Origin::Inbox(seq) => Some(*seq),
                        Origin::Api(_) => None,
                    })
                    .collect();
                if !seqs.is_empty() {
                    // Timers due by now fire and commit first, on their own: a timer
                    // whose effect the store refuses must not be blamed on the requests.
                    self.tick()?;
                }
                let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.ingest_group(group)
                }))
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Err(StoreError::refused_data(format!(
                        "the engine failed on the request (a bug; please report it): {what}"
                    )))
                });
                if let Err(e) = applied {
                    // Counted against the rows only when the requests themselves are at
                    // fault (data the database refuses, or the engine failing on them),
                    // and only while the lease and the database allow it: a request
                    // that keeps failing is set aside.
                    if !seqs.is_empty() && e.is_refused_data() {
                        if let Err(not) = self.store.inbox_failed(&seqs, &e.0) {
                            tracing::warn!(error = %not, "the failed rows were not counted");
                        }
                    }
                    return Err(e);
                }
            } else if !stop {
                self.tick()?;
            }
            if stop {
                self.flush()?;
                self.final_snapshot();
                self.maybe_publish(true);
                return Ok(());
            }
            for req in others {
                self.answer(req);
            }
            if let Some(e) = self.failed.take() {
                return Err(e);
            }
            self.maybe_snapshot(false);
            self.maybe_publish(false);
            if let Some(e) = self.committer.as_ref().and_then(|c| c.failed()) {
                return Err(e);
            }
        }
    }

    /// Takes a snapshot when enough inputs or time went by since the last (or, with
    /// `now`, whenever any input came since) and hands it to the writer. The engine pays
    /// for putting the bytes together; the writer thread stores them.
    fn maybe_snapshot(&mut self, now: bool) {
        if self.writer.is_none() {
            return;
        }
        let cfg = &self.settings.snapshots;
        let (position, at) = self.snapshot_at;
        let new = self.inputs_applied.saturating_sub(position);
        // The engine answers nothing while it takes one, and that pause grows with the
        // leads (about 1.4 s a million): it is kept under 1/SNAPSHOT_BUDGET of the time.
        let rested = at.elapsed() >= self.snapshot_pause * SNAPSHOT_BUDGET;
        let due = rested
            && (new >= cfg.every_inputs
                || (new > 0 && at.elapsed() >= Duration::from_secs(cfg.every_seconds)));
        if (!now && !due) || new == 0 || self.writer.as_ref().is_none_or(|w| w.busy()) {
            return;
        }
        // The snapshot's position must be in the log before the writer records it.
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "no snapshot was taken");
            return;
        }
        let Some(writer) = &self.writer else {
            return;
        };
        let started = std::time::Instant::now();
        let taking = crate::snapshot::Taking {
            program: self.running.program(),
            world: self.running.world(),
            dashboard: &self.dashboard,
            version: self.version,
            files: &self.files,
            position: self.inputs_applied,
            lines: self.lines_total,
        };
        self.snapshot_at = (self.inputs_applied, std::time::Instant::now());
        match crate::snapshot::take(&taking, self.settings.clock.now_ms()) {
            Ok(taken) => {
                self.snapshot_pause = started.elapsed();
                // The engine answered nothing meanwhile: worth seeing in the log.
                tracing::info!(
                    position = self.inputs_applied,
                    ms = started.elapsed().as_millis() as u64,
                    "snapshot taken; the writer stores it"
                );
                writer.submit(taken);
            }
            Err(e) => tracing::warn!(error = %e, "no snapshot was taken"),
        }
    }

    /// At a clean stop: the state as it stands, so the next start replays nothing; waits
    /// until it is written.
    fn final_snapshot(&mut self) {
        let Some(writer) = &self.writer else {
            return;
        };
        while writer.busy() {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.maybe_snapshot(true);
        if let Some(writer) = self.writer.take() {
            writer.finish();
        }
    }

    fn answer(&mut self, req: Request) {
        match req {
            Request::Lead { id, reply } => {
                let _ = reply.send(self.lead_view(&id));
            }
            Request::Leads { query, reply } => {
                let answer = lists::check(self.running.program(), &query)
                    .map(|()| lists::leads_page(self.running.world().engine_ref(), &query));
                let _ = reply.send(answer);
            }
            Request::Reload { files, reply } => {
                let _ = reply.send(self.reload(files));
            }
            Request::Schema { reply } => {
                let _ = reply.send(self.schema());
            }
            Request::Dashboard { from, to, reply } => {
                let _ = reply.send(self.dashboard_summary(from.as_deref(), to.as_deref()));
            }
            Request::JourneySvg { name, lang, reply } => {
                let svg = self.journey_svg(&name, &lang).map(|r| {
                    r.map_err(|message| Refusal {
                        status: 500,
                        index: None,
                        message,
                    })
                });
                let _ = reply.send(svg);
            }
            Request::Stats { reply } => {
                let _ = reply.send(vec![
                    (
                        "tandem_leads".into(),
                        self.running.world().engine_ref().lead_count() as f64,
                    ),
                    ("tandem_inputs_applied".into(), self.inputs_applied as f64),
                    ("tandem_mail_enqueued".into(), self.mails_enqueued as f64),
                    (
                        "tandem_mail_render_failures".into(),
                        self.render_failures as f64,
                    ),
                    (
                        "tandem_webhooks_enqueued".into(),
                        self.webhooks_enqueued as f64,
                    ),
                    (
                        "tandem_webhooks_unknown".into(),
                        self.webhooks_unknown as f64,
                    ),
                    ("tandem_program_version".into(), f64::from(self.version)),
                    (
                        "tandem_start_snapshot_position".into(),
                        self.started_from.0 as f64,
                    ),
                    (
                        "tandem_start_replayed_inputs".into(),
                        self.started_from.1 as f64,
                    ),
                ]);
            }
            Request::Ingest { .. } | Request::Shutdown | Request::Wake => {}
        }
    }

    /// The running program's input schema (see [`Request::Schema`]).
    fn schema(&self) -> Value {
        schema_json(self.running.program(), self.version)
    }

    /// Runs the timers due by now and commits what they caused.
    fn tick(&mut self) -> Result<(), StoreError> {
        let now = self.settings.clock.now().max(self.running.world().now());
        self.advance(now)
    }

    /// Runs the timers due by `now` and commits what they caused.
    fn advance(&mut self, now: i64) -> Result<(), StoreError> {
        let lines = self.running.with(|_, world| world.advance_to(now));
        if lines.is_empty() {
            return Ok(());
        }
        let mut commit = Commit::default();
        self.effects(&lines, &mut commit);
        commit.lines_total = self.lines_total;
        commit.now = self.running.world().now();
        self.commit(commit, Vec::new())?;
        self.live.send_replace(self.dashboard.live());
        Ok(())
    }

    /// Validates every item of every request, applies the valid requests in order,
    /// commits them (and the inbox rows they came from) in one transaction, then answers
    /// each API request. A refused commit is returned (see [`Core::serve`]).
    fn ingest_group(&mut self, group: Vec<(Vec<Item>, Origin)>) -> Result<(), StoreError> {
        if group.is_empty() {
            return Ok(());
        }
        let mut commit = Commit::default();
        let mut replies = Vec::new();
        let now = self.settings.clock.now().max(self.running.world().now());
        for (items, origin) in group {
            match (self.validate(items, now), origin) {
                (Err(refusal), Origin::Api(reply)) => {
                    let _ = reply.send(Err(refusal));
                }
                (Err(refusal), Origin::Inbox(seq)) => {
                    tracing::warn!(
                        seq,
                        status = refusal.status,
                        message = %refusal.message,
                        "a queued request was refused; nothing of it was applied"
                    );
                    commit.inbox_done.push(seq);
                    commit.refused.push(Refused {
                        seq,
                        status: refusal.status,
                        index: refusal.index,
                        message: refusal.message,
                    });
                }
                (Ok(inputs), origin) => {
                    for input in &inputs {
                        let lines = self.running.with(|_, world| world.input(input));
                        self.effects(&lines, &mut commit);
                    }
                    let n = inputs.len();
                    commit.inputs.extend(inputs);
                    match origin {
                        Origin::Api(reply) => replies.push((reply, n)),
                        Origin::Inbox(seq) => commit.inbox_done.push(seq),
                    }
                }
            }
        }
        commit.lines_total = self.lines_total;
        commit.now = self.running.world().now();
        let applied = commit.inputs.len() as u64;
        self.commit(commit, replies)?;
        self.inputs_applied += applied;
        self.live.send_replace(self.dashboard.live());
        Ok(())
    }

    /// Turns API items into engine inputs, all or none.
    fn validate(&mut self, items: Vec<Item>, at: i64) -> Result<Vec<Input>, Refusal> {
        let engine = self.running.world().engine_ref();
        validate_items(
            self.running.program().workspace().symbols(),
            items,
            at,
            &|lead: &str| Some(engine.lead(lead).is_some()),
        )
    }
}
