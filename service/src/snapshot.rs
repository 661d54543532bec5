//! Snapshots of the running world: the engine's state and the dashboard's aggregates at a position of the input log, written in the background, so a start loads the newest valid one and replays only the inputs after it.
//!
//! A snapshot's bytes are an envelope: a magic word, then a header (the engine's state
//! format, the program version and the exact files of the program it ran — a deploy's
//! kept journey versions included —, the log position, the timeline lines produced so
//! far), then the engine's checkpoint (`runtime::engine` checkpoints), then the
//! dashboard's. The store keeps a CRC-32 of the whole beside it, the envelope format and
//! the release that wrote it.
//!
//! A start tries the newest snapshot first and falls back to the next, then to a full
//! replay, whenever one is unreadable: checksum, envelope or state format, release, a
//! program version the store does not hold, files that differ from that version's, a
//! state that does not fit the program. Each refusal is logged with its reason. Nothing
//! is half restored: a snapshot is used whole or not at all.
//!
//! What does not go into a snapshot: counters of this process (`/api/metrics`), which
//! start at zero on every start as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use compiler::{ProgramSource, SourceText};
use runtime::embed::{EvaluatorKind, Program, World};
use serde::{Deserialize, Serialize};

use crate::dashboard::Dashboard;
use crate::engine_thread::{Files, StartFrom};
use crate::store::{SnapshotInfo, Store, StoredVersion};

/// The envelope's layout, or the meaning of what it holds; bumped when either changes
/// (older snapshots are then skipped and the log replayed). 2: the dashboard counts a new
/// lead in the stage the engine created it in (before: the first funnel stage).
pub const FORMAT: u32 = 2;
/// The release that writes snapshots; one written by another release is skipped (the
/// engine's state may be laid out differently).
pub const RELEASE: &str = env!("CARGO_PKG_VERSION");
const MAGIC: &[u8; 8] = b"TNDMSNAP";

/// `[snapshots]` in the service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Write snapshots and start from the newest valid one (default true); `false`
    /// replays the whole log at every start.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Write one after this many inputs since the last (default 100,000).
    #[serde(default = "default_every_inputs")]
    pub every_inputs: u64,
    /// Or after this many seconds, if any input came since the last (default 600).
    #[serde(default = "default_every_seconds")]
    pub every_seconds: u64,
    /// How many to keep, newest first (default 2, at most 20).
    #[serde(default = "default_keep")]
    pub keep: usize,
}

fn yes() -> bool {
    true
}
fn default_every_inputs() -> u64 {
    100_000
}
fn default_every_seconds() -> u64 {
    600
}
fn default_keep() -> usize {
    2
}

impl Default for SnapshotConfig {
    fn default() -> SnapshotConfig {
        SnapshotConfig {
            enabled: true,
            every_inputs: default_every_inputs(),
            every_seconds: default_every_seconds(),
            keep: default_keep(),
        }
    }
}

impl SnapshotConfig {
    /// Refuses values out of range, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.every_inputs == 0 {
            return Err("snapshots.every_inputs must be at least 1".into());
        }
        if self.every_seconds == 0 {
            return Err("snapshots.every_seconds must be at least 1".into());
        }
        if !(1..=20).contains(&self.keep) {
            return Err("snapshots.keep must be between 1 and 20".into());
        }
        Ok(())
    }
}

/// What a snapshot's header holds.
#[derive(Serialize, Deserialize)]
struct Header {
    engine_format: u32,
    version: u32,
    position: u64,
    lines: u64,
    /// The version's own files (as stored with it).
    files: Files,
    /// The program the world ran: the version's files plus kept journey versions.
    journeys: Vec<(String, String)>,
    templates: Vec<(String, String)>,
    config: Option<(String, String)>,
    engine_len: u64,
    dashboard_len: u64,
}

fn pairs(texts: &[SourceText]) -> Vec<(String, String)> {
    texts
        .iter()
        .map(|t| (t.path.clone(), t.text.clone()))
        .collect()
}

fn texts(pairs: Vec<(String, String)>) -> Vec<SourceText> {
    pairs
        .into_iter()
        .map(|(path, text)| SourceText { path, text })
        .collect()
}

/// The state of a running world to snapshot.
pub struct Taking<'a> {
    /// The program the world runs.
    pub program: &'a Program,
    /// The world, between inputs.
    pub world: &'a World<'a>,
    /// The dashboard fed every line the world produced.
    pub dashboard: &'a Dashboard,
    /// The program version and its own files.
    pub version: u32,
    pub files: &'a Files,
    /// Inputs of the log applied, and timeline lines produced.
    pub position: u64,
    pub lines: u64,
}

/// A snapshot as the engine thread takes it: its parts, put together (and checksummed)
/// by the writer thread, so the engine pays only for writing its own state.
pub struct Taken {
    info: SnapshotInfo,
    head: Vec<u8>,
    engine: Vec<u8>,
    dashboard: Vec<u8>,
}

impl Taken {
    /// The envelope's bytes, and the store's row with their checksum and size.
    pub fn into_bytes(self) -> (SnapshotInfo, Vec<u8>) {
        let mut bytes =
            Vec::with_capacity(12 + self.head.len() + self.engine.len() + self.dashboard.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(self.head.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&self.head);
        bytes.extend_from_slice(&self.engine);
        drop(self.engine);
        bytes.extend_from_slice(&self.dashboard);
        let info = SnapshotInfo {
            checksum: crc32fast::hash(&bytes),
            size: bytes.len() as u64,
            ..self.info
        };
        (info, bytes)
    }
}

/// Takes a snapshot of a running world (see [`Taken`]).
pub fn take(t: &Taking<'_>, now_ms: i64) -> Result<Taken, String> {
    let engine = t
        .world
        .checkpoint()
        .map_err(|e| format!("the engine's state cannot be written: {}", e.0))?;
    let dashboard = t.dashboard.save()?;
    let source = t.program.source();
    let header = Header {
        engine_format: runtime::engine::CHECKPOINT_FORMAT,
        version: t.version,
        position: t.position,
        lines: t.lines,
        files: t.files.clone(),
        journeys: pairs(&source.journeys),
        templates: pairs(&source.templates),
        config: source
            .config
            .as_ref()
            .map(|c| (c.path.clone(), c.text.clone())),
        engine_len: engine.len() as u64,
        dashboard_len: dashboard.len() as u64,
    };
    let head =
        postcard::to_allocvec(&header).map_err(|e| format!("the header cannot be written: {e}"))?;
    if u32::try_from(head.len()).is_err() {
        return Err("the program is too large".into());
    }
    Ok(Taken {
        info: SnapshotInfo {
            id: 0,
            position: t.position,
            after_seq: 0,
            version: t.version,
            format: FORMAT,
            release: RELEASE.into(),
            checksum: 0,
            size: 0,
            created_ms: now_ms,
        },
        head,
        engine,
        dashboard,
    })
}

/// The header and the two states of an envelope, or why it does not read.
fn open(bytes: &[u8]) -> Result<(Header, &[u8], &[u8]), String> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("it is not a Tandem snapshot")?;
    let (len, rest) = rest.split_at_checked(4).ok_or("it is cut short")?;
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let (head, rest) = rest.split_at_checked(len).ok_or("it is cut short")?;
    let header: Header =
        postcard::from_bytes(head).map_err(|e| format!("its header does not read: {e}"))?;
    let engine_len = usize::try_from(header.engine_len).map_err(|_| "it is too large")?;
    let (engine, dashboard) = rest.split_at_checked(engine_len).ok_or("it is cut short")?;
    if dashboard.len() as u64 != header.dashboard_len {
        return Err("its length does not match its header".into());
    }
    Ok((header, engine, dashboard))
}

/// A world restored from a snapshot, for the replay of the inputs after it.
pub struct Resumed {
    /// Where [`crate::engine_thread::rebuild`] starts.
    pub from: StartFrom,
    /// The dashboard as it was.
    pub dashboard: Dashboard,
    /// The log's sequence number of the last input the world applied.
    pub after_seq: i64,
}

/// The newest snapshot of `store` that is whole and fits, restored; `None` (each refusal
/// logged) when there is none. `versions` are the store's program versions;
/// `dashboard` makes the empty dashboard of a program.
pub fn resume_newest(
    store: &mut dyn Store,
    versions: &[StoredVersion],
    kind: EvaluatorKind,
    dashboard: &dyn Fn(&Program) -> Dashboard,
) -> Option<Resumed> {
    let list = match store.snapshots() {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = %e, "the snapshots cannot be listed; replaying the whole log");
            return None;
        }
    };
    for info in list {
        let started = Instant::now();
        match resume(store, &info, versions, kind, dashboard) {
            Ok(r) => {
                tracing::info!(
                    snapshot = info.id,
                    position = info.position,
                    bytes = info.size,
                    ms = started.elapsed().as_millis() as u64,
                    "resumed from a snapshot; replaying the inputs after it"
                );
                return Some(r);
            }
            Err(why) => tracing::warn!(
                snapshot = info.id,
                position = info.position,
                reason = %why,
                "a snapshot was skipped"
            ),
        }
    }
    None
}

fn resume(
    store: &mut dyn Store,
    info: &SnapshotInfo,
    versions: &[StoredVersion],
    kind: EvaluatorKind,
    dashboard: &dyn Fn(&Program) -> Dashboard,
) -> Result<Resumed, String> {
    if info.format != FORMAT {
        return Err(format!(
            "its format is {}, this release reads {FORMAT}",
            info.format
        ));
    }
    if info.release != RELEASE {
        return Err(format!(
            "release {} wrote it, this is {RELEASE}",
            info.release
        ));
    }
    let bytes = store.read_snapshot(info.id).map_err(|e| e.to_string())?;
    if bytes.len() as u64 != info.size || crc32fast::hash(&bytes) != info.checksum {
        return Err("its bytes do not match their checksum".into());
    }
    let (header, engine, saved) = open(&bytes)?;
    if header.engine_format != runtime::engine::CHECKPOINT_FORMAT {
        return Err("its engine state has another format".into());
    }
    if header.position != info.position || header.version != info.version {
        return Err("its header disagrees with the store's row".into());
    }
    let stored = versions
        .iter()
        .find(|v| v.version == header.version)
        .ok_or_else(|| format!("the store holds no program version {}", header.version))?;
    let mut own = stored.files.clone();
    own.sort();
    if own != header.files {
        return Err(format!(
            "its files differ from stored program version {}",
            header.version
        ));
    }
    let source = ProgramSource {
        journeys: texts(header.journeys),
        templates: texts(header.templates),
        config: header.config.map(|(path, text)| SourceText { path, text }),
    };
    let program = runtime::versions::compile(&source)
        .map_err(|e| format!("its program does not check: {}", e.join("; ")))?;
    let running = crate::engine_thread::Running::start(program, |p| p.resume(engine, kind))
        .map_err(|e| e.0)?;
    let dashboard = dashboard(running.program()).restore(saved)?;
    Ok(Resumed {
        from: StartFrom {
            running,
            version: header.version,
            files: header.files,
            position: header.position,
            lines: header.lines,
        },
        dashboard,
        after_seq: info.after_seq,
    })
}

/// Writes snapshots on a thread of its own, through a store connection of its own, so
/// the engine only pays for putting the bytes together.
pub struct Writer {
    jobs: Option<std::sync::mpsc::SyncSender<Taken>>,
    busy: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread; it keeps the newest `keep` snapshots.
    pub fn start(mut store: Box<dyn Store>, keep: usize) -> Result<Writer, String> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Taken>(1);
        let busy = Arc::new(AtomicBool::new(false));
        let flag = busy.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-snapshots".into())
            .spawn(move || {
                for taken in rx {
                    let started = Instant::now();
                    let (info, bytes) = taken.into_bytes();
                    match store.write_snapshot(&info, &bytes, keep) {
                        Ok(id) => tracing::info!(
                            snapshot = id,
                            position = info.position,
                            bytes = bytes.len(),
                            ms = started.elapsed().as_millis() as u64,
                            "snapshot written"
                        ),
                        Err(e) => tracing::warn!(
                            position = info.position,
                            error = %e,
                            "a snapshot could not be written; the next start replays more of the log"
                        ),
                    }
                    drop(bytes);
                    flag.store(false, Ordering::Release);
                }
            })
            .map_err(|e| format!("cannot start the snapshot writer: {e}"))?;
        Ok(Writer {
            jobs: Some(tx),
            busy,
            thread: Some(thread),
        })
    }

    /// Whether a snapshot is being written.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Hands a snapshot to the thread; `false` (nothing done) while one is being written.
    pub fn submit(&self, taken: Taken) -> bool {
        if self.busy() {
            return false;
        }
        let Some(jobs) = &self.jobs else {
            return false;
        };
        self.busy.store(true, Ordering::Release);
        if jobs.send(taken).is_err() {
            self.busy.store(false, Ordering::Release);
            return false;
        }
        true
    }

    /// Waits until what was handed over is written.
    pub fn finish(mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
