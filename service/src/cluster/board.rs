//! The board: one row of figures per partition in the cluster's schema, published by the partition's engine as its numbers change, added up by any worker for the dashboard, the diagrams and the reports — the one picture of all leads, whichever worker answers.
//!
//! A publication is fenced by its epoch: a row is replaced only by figures of the same
//! or a newer lease, so a deposed worker cannot overwrite its successor's. Each one
//! announces its partition on [`figures_channel`], which the workers' listeners turn
//! into live-stream updates. A page load scans no store: the picture thread asks which
//! partitions published since it last looked (one small query), reads only those
//! figures, and keeps their sum until one changes.

use std::sync::mpsc::{Receiver, Sender};

use deadpool_postgres::Pool;
use serde_json::{json, Value};

use super::{plain_name, Lease};
use crate::dashboard::Figures;
use crate::db::{self, block_on, GenericClient};
use crate::engine_thread::{Files, Refusal};
use crate::store::StoreError;

/// The `LISTEN` channel on which a publication announces its partition.
pub fn figures_channel(schema: &str) -> String {
    format!("{schema}_figures")
}

/// The newest figures of every partition that published any (but `except`).
async fn read_all(
    client: &impl GenericClient,
    schema: &str,
    except: Option<u32>,
) -> Result<Vec<Figures>, StoreError> {
    let except = except.and_then(|p| i32::try_from(p).ok()).unwrap_or(-1);
    let rows = client
        .query(
            &format!(
                "SELECT partition, body FROM {schema}.figures WHERE partition <> $1 ORDER BY partition"
            ),
            &[&except],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let body: String = r.get(1);
        match serde_json::from_str::<Figures>(&body) {
            Ok(f) => out.push(f),
            // Written by another release: left out until its partition publishes again.
            Err(e) => {
                tracing::warn!(partition = r.get::<_, i32>(0), error = %e, "a partition's figures do not read")
            }
        }
    }
    Ok(out)
}

/// A partition engine's side of the board (see [`crate::engine_thread::Board`]).
pub struct PartitionBoard {
    pool: Pool,
    schema: String,
    lease: Lease,
    /// Publications made under this lease: with the epoch, it tells readers which
    /// partitions' figures moved since they last looked.
    published: i64,
}

impl PartitionBoard {
    /// Connects for the partition held under `lease`; `schema` is the cluster's.
    pub fn open(url: &str, schema: &str, lease: Lease) -> Result<PartitionBoard, StoreError> {
        Ok(PartitionBoard {
            pool: db::pool(url, None, 1)?,
            schema: plain_name(schema)?.to_owned(),
            lease,
            published: 0,
        })
    }
}

impl crate::engine_thread::Board for PartitionBoard {
    fn publish(&mut self, figures: &Figures) -> Result<(), String> {
        let body = serde_json::to_string(figures).map_err(|e| e.to_string())?;
        let partition = i32::try_from(self.lease.partition).unwrap_or(-1);
        // A new number for every attempt: one that committed but whose answer was lost
        // must not leave readers holding its body under a number used again.
        self.published += 1;
        let c = block_on(db::get(&self.pool)).map_err(|e| e.0)?;
        block_on(c.execute(
            &format!(
                "WITH up AS (
                       INSERT INTO {s}.figures AS f (partition, epoch, version, body)
                       VALUES ($1, $2, $5, $3)
                       ON CONFLICT (partition) DO UPDATE
                         SET epoch = EXCLUDED.epoch, version = EXCLUDED.version,
                             body = EXCLUDED.body, published_at = now()
                         WHERE f.epoch <= EXCLUDED.epoch
                       RETURNING partition)
                     SELECT pg_notify($4, partition::text) FROM up",
                s = self.schema
            ),
            &[
                &partition,
                &self.lease.epoch,
                &body,
                &figures_channel(&self.schema),
                &self.published,
            ],
        ))
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    fn others(&mut self) -> Result<Vec<Figures>, String> {
        block_on(async {
            let c = db::get(&self.pool).await?;
            read_all(&c, &self.schema, Some(self.lease.partition)).await
        })
        .map_err(|e| e.0)
    }
}

/// What a worker's picture thread is asked.
pub enum Ask {
    /// `GET /api/dashboard/summary` (see [`crate::engine_thread::Request::Dashboard`]).
    Summary {
        from: Option<String>,
        to: Option<String>,
        reply: tokio::sync::oneshot::Sender<Result<Value, Refusal>>,
    },
    /// A journey's diagram (see [`crate::engine_thread::Request::JourneySvg`]).
    Svg {
        name: String,
        lang: String,
        reply: tokio::sync::oneshot::Sender<Option<Result<String, Refusal>>>,
    },
    /// The program folder was deployed anew: journeys, stages and the time zone follow.
    Program(Files),
}

/// Starts a worker's picture thread: it answers the dashboard's questions from the
/// board, on a connection of its own, so a page load never waits behind ingest. `files`
/// is the program as the worker checked it.
pub fn start_pictures(
    url: &str,
    schema: &str,
    partitions: u32,
    files: Files,
    clock: crate::engine_thread::Clock,
) -> Result<Sender<Ask>, String> {
    let (tx, rx) = std::sync::mpsc::channel::<Ask>();
    let pool = db::pool(url, None, 1).map_err(|e| e.0)?;
    let schema = plain_name(schema).map_err(|e| e.0)?.to_owned();
    std::thread::Builder::new()
        .name("tandem-pictures".into())
        .spawn(move || {
            // The program is not `Send` (compiled code): it is checked on this thread.
            let Ok(program) = crate::engine_thread::check(&files) else {
                return;
            };
            Pictures {
                cached: Cached::default(),
                pool,
                schema,
                partitions,
                program,
                clock,
            }
            .serve(rx);
        })
        .map_err(|e| format!("cannot start the picture thread: {e}"))?;
    Ok(tx)
}

/// The board as the picture thread last read it: each partition's figures with the
/// epoch and version they were published at, and their sum (made again when one moves).
#[derive(Default)]
struct Cached {
    parts: std::collections::BTreeMap<i32, (i64, i64, Figures)>,
    sum: Option<Figures>,
}

struct Pictures {
    cached: Cached,
    pool: Pool,
    schema: String,
    partitions: u32,
    program: runtime::embed::Program,
    clock: crate::engine_thread::Clock,
}

impl Pictures {
    fn serve(mut self, rx: Receiver<Ask>) {
        while let Ok(ask) = rx.recv() {
            match ask {
                Ask::Summary { from, to, reply } => {
                    let _ = reply.send(self.summary(from.as_deref(), to.as_deref()));
                }
                Ask::Svg { name, lang, reply } => {
                    let _ = reply.send(self.svg(&name, &lang));
                }
                Ask::Program(files) => match crate::engine_thread::check(&files) {
                    Ok(p) => self.program = p,
                    Err(errors) => {
                        tracing::warn!(errors = %errors.join("; "), "the picture thread keeps the previous program")
                    }
                },
            }
        }
    }

    /// The sum of every partition's newest figures and how many partitions published,
    /// on a connection made again when it was lost. Only the figures published since the
    /// last look are read.
    fn board(&mut self) -> Result<(Figures, usize), Refusal> {
        let unavailable = |e: StoreError| Refusal {
            status: 503,
            index: None,
            message: format!("the partitions' figures cannot be read: {e}"),
        };
        let schema = &self.schema;
        let cached = &mut self.cached;
        let pool = &self.pool;
        let before = cached.parts.len();
        let moved = block_on(async {
            let client = db::get(pool).await?;
            let heads = client
                .query(
                    &format!("SELECT partition, epoch, version FROM {schema}.figures"),
                    &[],
                )
                .await?;
            let mut seen = std::collections::BTreeSet::new();
            let mut moved: Vec<i32> = Vec::new();
            for r in &heads {
                let (p, epoch, version): (i32, i64, i64) = (r.get(0), r.get(1), r.get(2));
                seen.insert(p);
                if cached
                    .parts
                    .get(&p)
                    .is_none_or(|(e, v, _)| (*e, *v) != (epoch, version))
                {
                    moved.push(p);
                }
            }
            cached.parts.retain(|p, _| seen.contains(p));
            if !moved.is_empty() {
                let rows = client
                    .query(
                        &format!(
                            "SELECT partition, epoch, version, body FROM {schema}.figures
                             WHERE partition = ANY($1)"
                        ),
                        &[&moved],
                    )
                    .await?;
                for r in rows {
                    let p: i32 = r.get(0);
                    match serde_json::from_str::<Figures>(r.get::<_, &str>(3)) {
                        Ok(f) => {
                            cached.parts.insert(p, (r.get(1), r.get(2), f));
                        }
                        // Written by another release: left out until it publishes again.
                        Err(e) => {
                            cached.parts.remove(&p);
                            tracing::warn!(partition = p, error = %e, "a partition's figures do not read");
                        }
                    }
                }
            }
            Ok::<bool, StoreError>(!moved.is_empty())
        })
        .map_err(unavailable)?;
        if moved || cached.parts.len() != before {
            cached.sum = None;
        }
        let parts = &cached.parts;
        let sum = cached.sum.get_or_insert_with(|| {
            let all: Vec<Figures> = parts.values().map(|(_, _, f)| f.clone()).collect();
            Figures::merge(&all)
        });
        Ok((sum.clone(), parts.len()))
    }

    fn summary(&mut self, from: Option<&str>, to: Option<&str>) -> Result<Value, Refusal> {
        let (figures, published) = self.board()?;
        let quarantined = block_on(async {
            super::quarantine::count(&db::get(&self.pool).await?, &self.schema).await
        })
        .map_err(|e| Refusal {
            status: 503,
            index: None,
            message: format!("the quarantine cannot be read: {e}"),
        })?;
        let mut v =
            crate::engine_thread::summary_of(&self.program, &figures, from, to, self.clock.now())?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "cluster".into(),
                json!({ "partitions": self.partitions, "published": published, "quarantined": quarantined }),
            );
        }
        Ok(v)
    }

    fn svg(&mut self, name: &str, lang: &str) -> Option<Result<String, Refusal>> {
        let figures = match self.board() {
            Ok((f, _)) => f,
            Err(r) => return Some(Err(r)),
        };
        crate::engine_thread::svg_of(&self.program, name, lang, figures.steps.get(name)).map(|r| {
            r.map_err(|message| Refusal {
                status: 500,
                index: None,
                message,
            })
        })
    }
}
