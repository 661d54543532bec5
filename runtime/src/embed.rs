//! The embedding API: what a Rust application (a CRM, a web backend) uses to run Tandem itself — check a program, feed inputs with their instants, read the timeline, save and restore the state.
//!
//! ```
//! use runtime::embed::{Program, EvaluatorKind};
//! use runtime::scenario::{Input, InputKind, InputValue};
//! use compiler::ProgramSource;
//!
//! let source = ProgramSource::single(
//!     "main.journey",
//!     "timezone \"Asia/Ho_Chi_Minh\"\nlead { name: text }\n",
//! );
//! let program = Program::check(source).expect("checks");
//! let mut world = program.world(EvaluatorKind::Interp).expect("engine");
//! world.start(1_767_578_400);
//! let lines = world.input(&Input {
//!     index: 0,
//!     at: 1_767_578_400,
//!     lead: "an".into(),
//!     kind: InputKind::Create(vec![("name".into(), InputValue::Text("An".into()))]),
//! });
//! assert_eq!(lines[0].to_json(), r#"{"at":"2026-01-05T02:00:00Z","lead":"an","kind":"lead_created"}"#);
//! ```

use compiler::{Diagnostic, ProgramSource, Severity, Workspace};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub use compiler::evaluator::EvaluatorKind;

use crate::engine::{Engine, TemplateParts, Unsupported};
use crate::scenario::Input;
use crate::timeline::Line;

/// A checked, compiled program: the unit an application loads and runs.
pub struct Program {
    workspace: Workspace,
    /// The files it was built from (with the kept journey versions of a deploy).
    source: ProgramSource,
    lowered: compiler::program::LoweredProgram,
    templates: FxHashMap<String, TemplateParts>,
}

impl Program {
    /// Checks and compiles a program's files (read them with `tandem::load::load_program`,
    /// or from anywhere else). Errors are the checker's diagnostics (warnings are kept in
    /// [`Program::warnings`]).
    pub fn check(source: ProgramSource) -> Result<Program, Vec<Diagnostic>> {
        Program::from_checked(compiler::check_program(&source), &source)
    }

    /// Compiles a program its caller has already checked into `workspace` (from
    /// `compiler::check_program(source)`), so a caller that renders the diagnostics
    /// itself checks only once. A workspace with errors gives back its diagnostics.
    pub fn from_checked(
        workspace: Workspace,
        source: &ProgramSource,
    ) -> Result<Program, Vec<Diagnostic>> {
        if workspace.has_errors() {
            return Err(workspace.diagnostics().to_vec());
        }
        let mut lowered = compiler::program::lower_program(&workspace).map_err(|e| {
            vec![Diagnostic::error(
                "E0099",
                e.span,
                format!("cannot compile: {}", e.message),
            )]
        })?;
        crate::versions::mark_kept(&mut lowered, &workspace);
        let mut templates = FxHashMap::default();
        for t in &source.templates {
            if let (Some(name), Ok(parts)) = (
                compiler::template_name(&t.path),
                compiler::templates::split_front_matter(&t.text),
            ) {
                templates.insert(
                    name.to_owned(),
                    TemplateParts {
                        subject: parts.subject,
                        body: parts.body,
                        html: t.path.ends_with(".html"),
                        from: parts.from,
                    },
                );
            }
        }
        Ok(Program {
            workspace,
            source: source.clone(),
            lowered,
            templates,
        })
    }

    /// The checker's warnings (the program has no errors).
    pub fn warnings(&self) -> Vec<&Diagnostic> {
        self.workspace
            .diagnostics()
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect()
    }

    /// The checked workspace (symbols, files), e.g. to validate scenarios.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The files the program was built from: a folder's, plus the journey versions a
    /// deploy kept (`crate::versions`). Building them again gives the same program.
    pub fn source(&self) -> &ProgramSource {
        &self.source
    }

    /// A world in the state [`World::checkpoint`] wrote for this same program (see
    /// `crate::engine` checkpoints), keeping no inputs (as [`Program::world_without_log`]),
    /// or why the bytes do not fit this program.
    pub fn resume(&self, bytes: &[u8], kind: EvaluatorKind) -> Result<World<'_>, Unsupported> {
        Ok(World {
            engine: Engine::resume(&self.lowered, kind, self.templates.clone(), bytes)?,
            log: None,
            start: None,
        })
    }

    /// The compiled program the engine runs.
    pub fn lowered(&self) -> &compiler::program::LoweredProgram {
        &self.lowered
    }

    /// The template subjects, by template name.
    pub fn templates(&self) -> &FxHashMap<String, TemplateParts> {
        &self.templates
    }

    /// A fresh world with no leads, evaluating conditions with `kind`.
    pub fn world(&self, kind: EvaluatorKind) -> Result<World<'_>, Unsupported> {
        Ok(World {
            engine: Engine::new(&self.lowered, kind, self.templates.clone())?,
            log: Some(Vec::new()),
            start: None,
        })
    }

    /// A fresh world that does not keep the inputs it receives, so it has no
    /// [`World::snapshot`]: for a host that logs inputs itself (the service's store),
    /// where a second copy of every input in memory would only cost space.
    pub fn world_without_log(&self, kind: EvaluatorKind) -> Result<World<'_>, Unsupported> {
        Ok(World {
            engine: Engine::new(&self.lowered, kind, self.templates.clone())?,
            log: None,
            start: None,
        })
    }

    /// Rebuilds a world from a snapshot by replaying its inputs (the engine is
    /// deterministic: the same program and inputs give the same state).
    pub fn restore(
        &self,
        snapshot: &Snapshot,
        kind: EvaluatorKind,
    ) -> Result<World<'_>, Unsupported> {
        let mut world = self.world(kind)?;
        if let Some(start) = snapshot.start {
            world.start(start);
        }
        for input in &snapshot.inputs {
            world.input(input);
        }
        world.advance_to(snapshot.now);
        Ok(world)
    }
}

/// A running world: leads, journeys, timers, tasks.
pub struct World<'p> {
    engine: Engine<'p>,
    /// Every input received, for snapshots; `None` for a world made without it.
    log: Option<Vec<Input>>,
    start: Option<i64>,
}

/// The state of a world, as data: where its clock started, the inputs it received,
/// and how far its clock has run. Serializable (JSON with serde).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When the clock started, or `None` if it has not.
    pub start: Option<i64>,
    /// How far the clock has run, in seconds since 1970.
    pub now: i64,
    /// The inputs received, in order.
    pub inputs: Vec<Input>,
}

impl<'p> World<'p> {
    /// Turns `trace` lines on or off (see [`Engine::set_trace`]).
    pub fn set_trace(&mut self, on: bool) {
        self.engine.set_trace(on);
    }

    /// Starts the clock (schedules' first runs are created now).
    pub fn start(&mut self, at: i64) {
        self.start = Some(at);
        self.engine.start(at);
    }

    /// Applies one input at its instant, after the timers due by then; returns the new lines.
    pub fn input(&mut self, input: &Input) -> Vec<Line> {
        if let Some(log) = &mut self.log {
            log.push(input.clone());
        }
        self.engine.input(input);
        self.engine.take_lines()
    }

    /// Runs every timer due up to `until`; returns the new lines.
    pub fn advance_to(&mut self, until: i64) -> Vec<Line> {
        self.engine.advance_to(until);
        self.engine.take_lines()
    }

    /// The current instant.
    pub fn now(&self) -> i64 {
        self.engine.now()
    }

    /// The state as data (see [`Program::restore`]); `None` for a world made by
    /// [`Program::world_without_log`], which keeps no inputs to replay.
    pub fn snapshot(&self) -> Option<Snapshot> {
        Some(Snapshot {
            start: self.start,
            now: self.engine.now(),
            inputs: self.log.clone()?,
        })
    }

    /// The world's state as bytes, for [`Program::resume`] with the same program: what a
    /// host that logs inputs stores so a start replays only the inputs after it.
    pub fn checkpoint(&self) -> Result<Vec<u8>, Unsupported> {
        self.engine.checkpoint()
    }

    /// Moves this world onto `next`, a new version of its program put together by
    /// [`crate::versions::compose`] from this world's program and leads (docs/language.md,
    /// "Deploying a new version"): leads inside a changed journey finish the version they entered with,
    /// everything else follows `next`, and new or changed triggers take their current
    /// values as their previous ones. Writes no timeline line. This world is left empty
    /// on success and unchanged on failure.
    ///
    /// The world's [`Snapshot`] lists inputs only: restoring it replays them all under
    /// the program given to [`Program::restore`], not under the versions deployed between
    /// them; a service that deploys records where each version began and replays
    /// version by version.
    pub fn deploy<'q>(
        &mut self,
        next: &'q Program,
        kind: EvaluatorKind,
    ) -> Result<World<'q>, Unsupported> {
        let engine = self
            .engine
            .migrate(next.lowered(), kind, next.templates().clone())?;
        Ok(World {
            engine,
            log: self.log.as_mut().map(std::mem::take),
            start: self.start,
        })
    }

    /// The engine, for queries (`in_journey`, `open_task_assignee`, …).
    pub fn engine(&mut self) -> &mut Engine<'p> {
        &mut self.engine
    }

    /// The engine, for the queries that only read (leads, fields, positions, coverage).
    pub fn engine_ref(&self) -> &Engine<'p> {
        &self.engine
    }
}
