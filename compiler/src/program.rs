//! Lowers every expression of a checked program (segments, score lines, rules, triggers, waits, filters, `set` values, test expectations) into one [`CompiledExprs`].

use rustc_hash::FxHashMap;

use grammar::ast::*;

use crate::ir::{CompiledExprs, FuncId, LowerError};
use crate::workspace::Workspace;

/// Where a compiled function came from, for reports and benchmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// `rule qualify_mql: when`, `score fit: line 3`, …
    pub what: String,
    pub span: grammar::Span,
    pub func: FuncId,
}

/// The expressions of a program, compiled for the engines, and its journeys as graphs.
#[derive(Debug, Clone, Default)]
pub struct LoweredProgram {
    pub exprs: CompiledExprs,
    pub origins: Vec<Origin>,
    pub journeys: Vec<crate::graph::JourneyGraph>,
}

struct Collector<'a> {
    ws: &'a Workspace,
    segments: FxHashMap<String, Expr>,
    out: LoweredProgram,
}

impl Collector<'_> {
    fn add(&mut self, what: String, e: &Expr, event: Option<&str>) -> Result<(), LowerError> {
        let func = self
            .out
            .exprs
            .add(self.ws.symbols(), &self.segments, e, event)?;
        self.out.origins.push(Origin {
            what,
            span: e.span,
            func,
        });
        Ok(())
    }

    fn actions(
        &mut self,
        owner: &str,
        actions: &[Action],
        event: Option<&str>,
    ) -> Result<(), LowerError> {
        for a in actions {
            if let ActionKind::Set { field, value } = &a.kind {
                self.add(format!("{owner}: set {}", field.name), value, event)?;
            }
        }
        Ok(())
    }
}

/// Lowers a program that checked without errors.
pub fn lower_program(ws: &Workspace) -> Result<LoweredProgram, LowerError> {
    let files = ws.program_files();
    let mut segments = FxHashMap::default();
    let mut templates = Vec::new();
    for f in ws.files() {
        if let Some(name) = crate::template_name(&f.path) {
            if f.kind == crate::workspace::FileKind::Template {
                templates.push(name.to_owned());
            }
        }
    }
    for (_, file) in &files {
        for d in &file.decls {
            if let DeclKind::Segment(s) = &d.kind {
                segments
                    .entry(s.name.name.clone())
                    .or_insert_with(|| s.expr.clone());
            }
        }
    }
    let mut c = Collector {
        ws,
        segments,
        out: LoweredProgram {
            exprs: CompiledExprs::new(ws.symbols(), &templates),
            origins: Vec::new(),
            journeys: Vec::new(),
        },
    };
    for (_, file) in &files {
        for d in &file.decls {
            match &d.kind {
                DeclKind::Segment(s) => c.add(format!("segment {}", s.name.name), &s.expr, None)?,
                DeclKind::Score(s) => {
                    for (i, item) in s.items.iter().enumerate() {
                        match &item.kind {
                            ScoreItemKind::If { cond, .. } => {
                                c.add(format!("score {}: line {}", s.name.name, i + 1), cond, None)?
                            }
                            ScoreItemKind::On {
                                event,
                                filter: Some(f),
                                ..
                            } => c.add(
                                format!("score {}: line {}", s.name.name, i + 1),
                                f,
                                Some(&event.name),
                            )?,
                            _ => {}
                        }
                    }
                }
                DeclKind::Rule(r) => {
                    c.add(format!("rule {}: when", r.name.name), &r.when, None)?;
                    c.actions(&format!("rule {}", r.name.name), &r.then, None)?;
                }
                DeclKind::Journey(j) => {
                    let owner = format!("journey {}", j.name.name);
                    for h in &j.header {
                        match &h.kind {
                            JourneyHeaderKind::EnterOn {
                                event,
                                filter: Some(f),
                            } => c.add(format!("{owner}: enter on"), f, Some(&event.name))?,
                            JourneyHeaderKind::EnterWhen(e) => {
                                c.add(format!("{owner}: enter when"), e, None)?
                            }
                            JourneyHeaderKind::ExitWhen(e) => {
                                c.add(format!("{owner}: exit when"), e, None)?
                            }
                            JourneyHeaderKind::Goal(e) => {
                                c.add(format!("{owner}: goal"), e, None)?
                            }
                            _ => {}
                        }
                    }
                    let mut graph = {
                        let owner2 = owner.clone();
                        let mut lower = |e: &Expr,
                                         event: Option<&str>|
                         -> Result<FuncId, LowerError> {
                            let func = c.out.exprs.add(c.ws.symbols(), &c.segments, e, event)?;
                            c.out.origins.push(Origin {
                                what: format!("{owner2}: step"),
                                span: e.span,
                                func,
                            });
                            Ok(func)
                        };
                        crate::graph::GraphBuilder::new(&mut lower).journey(j)?
                    };
                    crate::graph::renumber_splits(&mut graph);
                    c.out.journeys.push(graph);
                }
                DeclKind::Handoff(h) => {
                    let owner = format!("handoff {}", h.name.name);
                    for item in &h.items {
                        match &item.kind {
                            HandoffItemKind::When(e) => c.add(format!("{owner}: when"), e, None)?,
                            HandoffItemKind::On { outcome, actions } => {
                                let ev = match outcome {
                                    Outcome::Accept => "task_accepted",
                                    Outcome::Reject => "task_rejected",
                                    Outcome::Complete => "task_completed",
                                };
                                c.actions(&owner, actions, Some(ev))?;
                            }
                            _ => {}
                        }
                    }
                }
                DeclKind::Schedule(s) => {
                    for item in &s.items {
                        if let ScheduleItemKind::ForLeads { filter, actions } = &item.kind {
                            c.add(format!("schedule {}: for leads", s.name.name), filter, None)?;
                            c.actions(&format!("schedule {}", s.name.name), actions, None)?;
                        }
                    }
                }
                DeclKind::Test(t) => {
                    for st in &t.stmts {
                        if let TestStmtKind::Expect {
                            expectation: Expectation::Expr(e),
                            ..
                        } = &st.kind
                        {
                            c.add(format!("test {:?}: expect", t.name.value), e, None)?;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(c.out)
}
