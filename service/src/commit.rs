//! Durable commits off the engine thread: the engine applies the next group of requests while the previous group's transaction is written and fsynced, and each request is answered only once its own group is durable.
//!
//! The engine hands a finished [`Commit`] and the replies waiting for it to the committer
//! thread, which owns the store's writing connection and commits groups one at a time,
//! in the order they were handed over. At most [`DEPTH`] groups wait, so the engine
//! stays at most that far ahead of the store (and a slow disk slows the intake, instead
//! of growing a queue).
//!
//! What does not change: an acknowledged request is durable (its `200` is sent after its
//! group's commit); a group's inputs, lines and effects are one transaction; the log's
//! order is the order the engine applied them. When a commit is refused, its group and
//! every group behind it are answered `503` without being written, and the engine stops
//! at its next step, as before (its world holds inputs the store does not).
//!
//! What the engine thread must do before it reads what it wrote or writes elsewhere (a
//! new program version, whose position in the log must be exact; a snapshot, whose
//! position must be in the log): [`Committer::flush`].

use std::sync::{Arc, Condvar, Mutex};

use crate::engine_thread::{IngestReply, Refusal};
use crate::store::{Commit, Store, StoreError};

/// How many finished groups may wait for the disk (one being written, one queued).
pub const DEPTH: usize = 2;

/// How often the committer checkpoints the store's log between two commits.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

struct Job {
    commit: Commit,
    replies: Vec<(IngestReply, usize)>,
}

#[derive(Default)]
struct State {
    /// Groups handed over and not yet written (or refused).
    pending: usize,
    /// The first refusal; nothing is written after it.
    failed: Option<StoreError>,
}

/// The committer thread's handle (see the module documentation).
pub struct Committer {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    state: Arc<(Mutex<State>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn refuse(replies: Vec<(IngestReply, usize)>, message: &str) {
    for (reply, _) in replies {
        let _ = reply.send(Err(Refusal {
            status: 503,
            index: None,
            message: message.to_owned(),
        }));
    }
}

impl Committer {
    /// Starts the thread on `store` (the connection that writes).
    pub fn start(mut store: Box<dyn Store>) -> Result<Committer, String> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-commit".into())
            .spawn(move || {
                let mut checkpointed = std::time::Instant::now();
                for job in rx {
                    let (lock, cv) = &*shared;
                    let failed = lock
                        .lock()
                        .map(|s| s.failed.as_ref().map(|e| e.0.clone()))
                        .unwrap_or_else(|_| Some("the committer failed".into()));
                    let outcome = match failed {
                        Some(e) => Err(StoreError(e)),
                        // A panic in the store is a refused commit, not a hung engine.
                        None => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            store.commit(&job.commit)
                        }))
                        .unwrap_or_else(|_| Err(StoreError("the store panicked".into()))),
                    };
                    match outcome {
                        Ok(()) => {
                            for (reply, n) in job.replies {
                                let _ = reply.send(Ok(n));
                            }
                        }
                        Err(e) => {
                            refuse(job.replies, &format!("not stored: {e}"));
                            if let Ok(mut s) = lock.lock() {
                                if s.failed.is_none() {
                                    tracing::error!(error = %e, "the store refused a commit; this engine stops");
                                    s.failed = Some(e);
                                }
                            }
                        }
                    }
                    if let Ok(mut s) = lock.lock() {
                        s.pending = s.pending.saturating_sub(1);
                    }
                    cv.notify_all();
                    // Between two commits nothing is being written: a checkpoint now
                    // copies every frame of the WAL, so the next commit starts it over
                    // (written into pages the file already has) instead of growing it
                    // by freshly allocated, zero-filled blocks under a steady load.
                    if checkpointed.elapsed() >= CHECKPOINT_EVERY {
                        if let Err(e) = store.checkpoint_log() {
                            tracing::warn!(error = %e, "a WAL checkpoint failed");
                        }
                        checkpointed = std::time::Instant::now();
                    }
                }
            })
            .map_err(|e| format!("cannot start the committer: {e}"))?;
        Ok(Committer {
            jobs: Some(tx),
            state,
            thread: Some(thread),
        })
    }

    /// Waits until fewer than `limit` groups are pending; the first refusal, if any.
    fn wait(&self, limit: usize) -> Result<(), StoreError> {
        let (lock, cv) = &*self.state;
        let mut s = lock
            .lock()
            .map_err(|_| StoreError("the committer failed".into()))?;
        while s.pending >= limit && s.failed.is_none() {
            s = cv
                .wait(s)
                .map_err(|_| StoreError("the committer failed".into()))?;
        }
        match &s.failed {
            Some(e) => Err(StoreError(e.0.clone())),
            None => Ok(()),
        }
    }

    /// Hands over a finished group and the replies that wait for it; waits while
    /// [`DEPTH`] groups are pending. An error (the first refused commit) means the engine
    /// must stop; the group was answered `503`.
    pub fn submit(
        &self,
        commit: Commit,
        replies: Vec<(IngestReply, usize)>,
    ) -> Result<(), StoreError> {
        if let Err(e) = self.wait(DEPTH) {
            refuse(replies, &format!("not stored: {e}"));
            return Err(e);
        }
        let Some(jobs) = &self.jobs else {
            refuse(replies, "the engine stopped");
            return Err(StoreError("the committer has stopped".into()));
        };
        if let Ok(mut s) = self.state.0.lock() {
            s.pending += 1;
        }
        if let Err(e) = jobs.send(Job { commit, replies }) {
            refuse(e.0.replies, "the engine stopped");
            return Err(StoreError("the committer has stopped".into()));
        }
        Ok(())
    }

    /// Waits until every group handed over is written; the first refusal, if any.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.wait(1)
    }

    /// The first refused commit, if any (without waiting).
    pub fn failed(&self) -> Option<StoreError> {
        self.state
            .0
            .lock()
            .ok()
            .and_then(|s| s.failed.as_ref().map(|e| StoreError(e.0.clone())))
    }

    /// Writes what was handed over, then stops the thread.
    pub fn finish(mut self) -> Result<(), StoreError> {
        let result = self.flush();
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        result
    }
}
