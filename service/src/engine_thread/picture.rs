//! The shared picture as an engine shows it: its dashboard's figures with the journeys' live step counts, the summary and the diagrams made from figures, and — for a cluster partition — their publication on the board every worker reads.
//!
//! The summary and the diagrams are made from [`Figures`] only, by [`summary_of`] and
//! [`svg_of`]: a single node passes its own figures, a cluster worker the sum of every
//! partition's newest (see `cluster/board.rs`), so both answer alike.

use std::time::{Duration, Instant};

use runtime::embed::Program;
use serde_json::{json, Value};

use super::{Core, Refusal};
use crate::dashboard::{Figures, StepCounts};

/// Where a cluster partition's engine publishes its figures, and where the figures of
/// every partition are read (for a report on all the leads).
pub trait Board: Send {
    /// Replaces this partition's figures on the board.
    fn publish(&mut self, figures: &Figures) -> Result<(), String>;
    /// The newest figures of every partition that published any, but this one's.
    fn others(&mut self) -> Result<Vec<Figures>, String>;
}

/// How often, at most, a partition publishes its figures (when they changed).
pub const PUBLISH_EVERY: Duration = Duration::from_millis(500);

/// A publication waits at least this many times as long as the last one took: the
/// engine spends at most 1/50 of its time on them, however large the figures grow.
const PUBLISH_BUDGET: u32 = 50;

/// The journeys' step counts: leads waiting at each step now and each step's runs, by
/// journey name (the first journey of a name, as a diagram is looked up).
pub fn step_counts(
    program: &Program,
    engine: &runtime::engine::Engine<'_>,
) -> Vec<(String, StepCounts)> {
    let mut positions = engine.journey_positions();
    let mut out: Vec<(String, StepCounts)> = Vec::new();
    for (j, journey) in program.lowered().journeys.iter().enumerate() {
        if out.iter().any(|(name, _)| *name == journey.name) {
            continue;
        }
        let waiting = positions.get_mut(j).map(std::mem::take).unwrap_or_default();
        let visits = engine
            .coverage()
            .nodes
            .iter()
            .filter(|((jj, _), _)| *jj == j)
            .map(|((_, n), c)| (*n, *c))
            .collect();
        out.push((journey.name.clone(), StepCounts { waiting, visits }));
    }
    out
}

/// The summary of `figures` for a period under `program` (see `GET /api/dashboard/summary`).
pub fn summary_of(
    program: &Program,
    figures: &Figures,
    from: Option<&str>,
    to: Option<&str>,
    now: i64,
) -> Result<Value, Refusal> {
    let lowered = program.lowered();
    let tz = jiff::tz::TimeZone::get(&lowered.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let (from_day, to_day) =
        crate::dashboard::period(from, to, now, &tz).map_err(|message| Refusal {
            status: 400,
            index: None,
            message,
        })?;
    let names: Vec<String> = lowered
        .journeys
        .iter()
        .filter(|j| j.kept_as.is_none())
        .map(|j| j.name.clone())
        .collect();
    let mut v = figures.summary(from_day, to_day, &names);
    // Each reject reason with the label the program gives Sales (`reasons x "…"`).
    if let Some(reasons) = v["handoff"]["reasons"].as_array_mut() {
        for r in reasons {
            let label = r["reason"].as_str().and_then(|name| {
                lowered
                    .handoffs
                    .iter()
                    .flat_map(|h| &h.reasons)
                    .find_map(|(n, label)| (n == name).then_some(label.clone()).flatten())
            });
            if let Some(o) = r.as_object_mut() {
                o.insert("label".into(), json!(label));
            }
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "generated_at".into(),
            json!(runtime::timeline::format_instant(now)),
        );
        o.insert("timezone".into(), json!(lowered.timezone));
        o.insert(
            "mail_render_failures".into(),
            json!(figures.render_failures),
        );
        o.insert("program_refused".into(), figures.program_refused.clone());
    }
    Ok(v)
}

/// A journey's diagram with `steps`' counts (`None`: no such journey).
pub fn svg_of(
    program: &Program,
    name: &str,
    lang: &str,
    steps: Option<&StepCounts>,
) -> Option<Result<String, String>> {
    use compiler::diagram;
    let lowered = program.lowered();
    let j = lowered.journeys.iter().position(|j| j.name == name)?;
    let d = diagram::journey(lowered, program.workspace(), j)?;
    let steps = steps.cloned().unwrap_or_default();
    let waiting_word = if lang == "vi" {
        "đang chờ"
    } else {
        "waiting"
    }
    .to_owned();
    Some(diagram::to_svg(
        &d,
        Some(&diagram::Counts {
            waiting: steps.waiting,
            visits: steps.visits.into_iter().collect(),
            waiting_word,
            weight_words: if lang == "vi" {
                ("cấu hình".into(), "thực tế".into())
            } else {
                ("weight".into(), "observed".into())
            },
        }),
    ))
}

impl Core {
    /// This engine's figures: its dashboard's, render failures, a refused program folder,
    /// and — `with_steps`, for the board — the journeys' step counts (a scan of every
    /// lead, which a summary does not need).
    pub(super) fn figures(&self, with_steps: bool) -> Figures {
        let mut f = self.dashboard.figures();
        f.program_version = self.version;
        if with_steps {
            f.steps = step_counts(self.running.program(), self.running.world().engine_ref())
                .into_iter()
                .collect();
        }
        f.render_failures = self.render_failures;
        f.program_refused = match &self.refused_program {
            Some(errors) => json!({ "running_version": self.version, "errors": errors }),
            None => Value::Null,
        };
        f
    }

    /// The figures of every lead: this engine's, with (in a cluster) the other
    /// partitions' newest from the board.
    fn all_figures(&mut self) -> Result<Figures, Refusal> {
        let own = self.figures(false);
        let Some(board) = self.board.as_mut() else {
            return Ok(own);
        };
        let mut parts = board.others().map_err(|e| Refusal {
            status: 503,
            index: None,
            message: format!("the other partitions' figures cannot be read: {e}"),
        })?;
        parts.push(own);
        Ok(Figures::merge(&parts))
    }

    /// See [`super::Request::Dashboard`].
    pub(super) fn dashboard_summary(
        &mut self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Value, Refusal> {
        let now = self.settings.clock.now().max(self.running.world().now());
        let figures = self.all_figures()?;
        summary_of(self.running.program(), &figures, from, to, now)
    }

    /// See [`super::Request::JourneySvg`].
    pub(super) fn journey_svg(&mut self, name: &str, lang: &str) -> Option<Result<String, String>> {
        let program = self.running.program();
        let steps = step_counts(program, self.running.world().engine_ref());
        let own = steps.into_iter().find(|(n, _)| n == name).map(|(_, s)| s);
        svg_of(program, name, lang, own.as_ref())
    }

    /// Publishes this partition's figures on the board when they changed and the last
    /// publication is [`PUBLISH_EVERY`] old (or, with `now`, whenever they changed).
    pub(super) fn maybe_publish(&mut self, now: bool) {
        let (version, at) = self.published;
        // Publishing costs the engine time (the figures grow with days, sources and
        // journeys): it waits at least PUBLISH_BUDGET times as long as the last one took.
        let rest = PUBLISH_EVERY.max(self.publish_took * PUBLISH_BUDGET);
        if self.board.is_none()
            || (version == self.dashboard.version && version != u64::MAX)
            || (!now && at.elapsed() < rest)
        {
            return;
        }
        let started = Instant::now();
        let figures = self.figures(true);
        let Some(board) = self.board.as_mut() else {
            return;
        };
        let published = board.publish(&figures);
        self.publish_took = started.elapsed();
        match published {
            Ok(()) => self.published = (self.dashboard.version, Instant::now()),
            Err(e) => {
                // Tried again at the next step; the board shows the previous figures.
                tracing::warn!(error = %e, "the partition's figures were not published");
                self.published.1 = Instant::now();
            }
        }
    }
}
