//! Lowers a checked program into what the runtime walks: every condition, score line, segment, `where` clause and `set` value as a compiled function, and every declaration as plain data (scores, rules, journeys with their step graphs, teams with calendars, handoffs with SLA clauses, schedules, the sending policy).

use rustc_hash::FxHashMap;

use grammar::ast::*;
use grammar::Span;

use crate::graph::{lower_action, ActionIr, GraphBuilder, JourneyGraph};
use crate::ir::{CompiledExprs, FuncId, LowerError};
use crate::workspace::Workspace;

/// Where a compiled function came from, for reports and benchmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// `rule qualify_mql: when`, `score fit: line 3`, …
    pub what: String,
    pub span: Span,
    pub func: FuncId,
}

/// A score: `if` lines (attribute part), `on` lines (event part), bounds, decay.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreIr {
    pub name: String,
    pub span: Span,
    pub if_lines: Vec<(f64, FuncId)>,
    /// Event, points, optional `where` (evaluated with that event in scope).
    pub on_lines: Vec<(String, f64, Option<FuncId>)>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Percentage and period in seconds.
    pub decay: Option<(u64, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleIr {
    pub name: String,
    pub span: Span,
    pub when: FuncId,
    pub then: Vec<ActionIr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JourneyIr {
    pub name: String,
    pub span: Span,
    pub enter_on: Vec<EnterOnIr>,
    pub enter_when: Vec<FuncId>,
    /// `exit on EVENT [where F]` lines: the event and its filter.
    pub exit_on: Vec<(String, Option<FuncId>)>,
    pub exit_when: Vec<FuncId>,
    pub goal: Vec<FuncId>,
    /// Seconds after the previous entry; `None` is `reenter never` (the default).
    pub reenter_after: Option<i64>,
    pub graph: JourneyGraph,
    /// For an earlier version of a journey kept for the leads still inside it (docs/language.md,
    /// "Deploying a new version"): the name it was compiled under. `name` is then the journey's own name,
    /// and nothing enters it. `None` for the program's own journeys.
    pub kept_as: Option<String>,
}

/// One `enter on EVENT [where F] [then ACTIONS]` line.
#[derive(Debug, Clone, PartialEq)]
pub struct EnterOnIr {
    pub event: String,
    pub filter: Option<FuncId>,
    /// Run with the event in scope when it enrolls the lead or arrives while it is inside.
    pub then: Vec<ActionIr>,
}

/// A calendar day.
pub type Day = (i32, u32, u32);

#[derive(Debug, Clone, PartialEq)]
pub struct TeamIr {
    pub name: String,
    pub span: Span,
    pub members: Vec<String>,
    pub manager: Option<String>,
    /// Weekday mask (bit 0 = Monday), opening and closing minute.
    pub hours: Vec<(u8, u32, u32)>,
    pub timezone: Option<String>,
    /// Inclusive ranges of closed days.
    pub closed: Vec<(Day, Day)>,
    /// Make-up days, with their hours (`None`: Monday's).
    pub open: Vec<(Day, Option<(u32, u32)>)>,
    /// `holidays COUNTRY`: the country whose public holidays close the team.
    pub holidays: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlaWindow {
    Seconds(i64),
    BusinessHours(f64),
    BusinessDays(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlaIr {
    pub kind: SlaKind,
    pub within: SlaWindow,
    pub action: SlaAction,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandoffIr {
    pub name: String,
    pub span: Span,
    pub when: Option<FuncId>,
    pub owner_first: bool,
    pub team: String,
    pub strategy: AssignStrategy,
    pub task: Option<String>,
    pub slas: Vec<SlaIr>,
    /// Name and label shown to Sales.
    pub reasons: Vec<(String, Option<String>)>,
    pub on_accept: Vec<ActionIr>,
    pub on_reject: Vec<ActionIr>,
    pub on_complete: Vec<ActionIr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleItemIr {
    ForLeads {
        filter: FuncId,
        actions: Vec<ActionIr>,
    },
    Report(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleIr {
    pub name: String,
    pub span: Span,
    pub cron: String,
    /// The expression, parsed once here (`None` only if it does not parse, which the
    /// checker reports first).
    pub compiled: Option<crate::cron5::Cron5>,
    pub timezone: Option<String>,
    pub items: Vec<ScheduleItemIr>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SendingIr {
    pub from: Option<String>,
    /// Local minutes `[start, end)`, possibly across midnight.
    pub quiet: Option<(u32, u32)>,
    /// At most N emails per D seconds.
    pub cap: Option<(u64, i64)>,
}

/// A checked program, lowered: everything the runtime needs, in program order.
#[derive(Debug, Clone, Default)]
pub struct LoweredProgram {
    pub exprs: CompiledExprs,
    pub origins: Vec<Origin>,
    pub timezone: String,
    /// Declared lead fields with their defaults (built-ins are in the layout).
    pub defaults: Vec<(String, Literal)>,
    pub scores: Vec<ScoreIr>,
    pub rules: Vec<RuleIr>,
    pub journeys: Vec<JourneyIr>,
    pub teams: Vec<TeamIr>,
    pub handoffs: Vec<HandoffIr>,
    pub schedules: Vec<ScheduleIr>,
    pub sending: SendingIr,
}

struct Collector<'a> {
    ws: &'a Workspace,
    segments: FxHashMap<String, Expr>,
    out: LoweredProgram,
}

impl Collector<'_> {
    fn func(&mut self, what: String, e: &Expr, event: Option<&str>) -> Result<FuncId, LowerError> {
        let func = self
            .out
            .exprs
            .add(self.ws.symbols(), &self.segments, e, event)?;
        self.out.origins.push(Origin {
            what,
            span: e.span,
            func,
        });
        Ok(func)
    }

    fn actions(
        &mut self,
        owner: &str,
        actions: &[Action],
        event: Option<&str>,
    ) -> Result<Vec<ActionIr>, LowerError> {
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            let mut lower = |e: &Expr, ev: Option<&str>| self.func(format!("{owner}: set"), e, ev);
            out.push(lower_action(a, event, &mut lower)?);
        }
        Ok(out)
    }

    fn score(&mut self, s: &ScoreDecl) -> Result<ScoreIr, LowerError> {
        let mut ir = ScoreIr {
            name: s.name.name.clone(),
            span: s.name.span,
            if_lines: Vec::new(),
            on_lines: Vec::new(),
            min: None,
            max: None,
            decay: None,
        };
        for (i, item) in s.items.iter().enumerate() {
            let what = format!("score {}: line {}", s.name.name, i + 1);
            match &item.kind {
                ScoreItemKind::If { points, cond } => ir
                    .if_lines
                    .push((points.value, self.func(what, cond, None)?)),
                ScoreItemKind::On {
                    points,
                    event,
                    filter,
                } => {
                    let f = match filter {
                        Some(f) => Some(self.func(what, f, Some(&event.name))?),
                        None => None,
                    };
                    ir.on_lines.push((event.name.clone(), points.value, f));
                }
                ScoreItemKind::Min(p) => ir.min = Some(p.value),
                ScoreItemKind::Max(p) => ir.max = Some(p.value),
                ScoreItemKind::Decay { percent, every } => {
                    ir.decay = Some((percent.value, every.seconds.round() as i64))
                }
            }
        }
        Ok(ir)
    }

    fn journey(&mut self, j: &JourneyDecl) -> Result<JourneyIr, LowerError> {
        let owner = format!("journey {}", j.name.name);
        let mut ir = JourneyIr {
            name: j.name.name.clone(),
            span: j.name.span,
            enter_on: Vec::new(),
            enter_when: Vec::new(),
            exit_on: Vec::new(),
            exit_when: Vec::new(),
            goal: Vec::new(),
            reenter_after: None,
            graph: JourneyGraph {
                name: j.name.name.clone(),
                nodes: Vec::new(),
            },
            kept_as: None,
        };
        for h in &j.header {
            match &h.kind {
                JourneyHeaderKind::EnterOn {
                    event,
                    filter,
                    then,
                    ..
                } => {
                    let f = match filter {
                        Some(f) => {
                            Some(self.func(format!("{owner}: enter on"), f, Some(&event.name))?)
                        }
                        None => None,
                    };
                    let mut actions = Vec::new();
                    for a in then {
                        let mut lower = |e: &Expr, ev: Option<&str>| {
                            self.func(format!("{owner}: enter on … then"), e, ev)
                        };
                        actions.push(crate::graph::lower_action(
                            a,
                            Some(&event.name),
                            &mut lower,
                        )?);
                    }
                    ir.enter_on.push(EnterOnIr {
                        event: event.name.clone(),
                        filter: f,
                        then: actions,
                    });
                }
                JourneyHeaderKind::ExitOn { event, filter } => {
                    let f = match filter {
                        Some(f) => {
                            Some(self.func(format!("{owner}: exit on"), f, Some(&event.name))?)
                        }
                        None => None,
                    };
                    ir.exit_on.push((event.name.clone(), f));
                }
                JourneyHeaderKind::EnterWhen(e) => {
                    let f = self.func(format!("{owner}: enter when"), e, None)?;
                    ir.enter_when.push(f);
                }
                JourneyHeaderKind::ExitWhen(e) => {
                    let f = self.func(format!("{owner}: exit when"), e, None)?;
                    ir.exit_when.push(f);
                }
                JourneyHeaderKind::Goal(e) => {
                    let f = self.func(format!("{owner}: goal"), e, None)?;
                    ir.goal.push(f);
                }
                JourneyHeaderKind::ReenterAfter(d) => {
                    ir.reenter_after = Some(d.seconds.round() as i64)
                }
                JourneyHeaderKind::ReenterNever => ir.reenter_after = None,
            }
        }
        let mut lower =
            |e: &Expr, event: Option<&str>| self.func(format!("{owner}: step"), e, event);
        ir.graph = GraphBuilder::new(&mut lower).journey(j)?;
        Ok(ir)
    }

    fn handoff(&mut self, h: &HandoffDecl) -> Result<HandoffIr, LowerError> {
        let owner = format!("handoff {}", h.name.name);
        let mut ir = HandoffIr {
            name: h.name.name.clone(),
            span: h.name.span,
            when: None,
            owner_first: false,
            team: String::new(),
            strategy: AssignStrategy::RoundRobin,
            task: None,
            slas: Vec::new(),
            reasons: Vec::new(),
            on_accept: Vec::new(),
            on_reject: Vec::new(),
            on_complete: Vec::new(),
        };
        for item in &h.items {
            match &item.kind {
                HandoffItemKind::When(e) => {
                    ir.when = Some(self.func(format!("{owner}: when"), e, None)?)
                }
                HandoffItemKind::Assign {
                    owner_first,
                    team,
                    strategy,
                } => {
                    ir.owner_first = *owner_first;
                    ir.team = team.name.clone();
                    ir.strategy = *strategy;
                }
                HandoffItemKind::Task(t) => ir.task = Some(t.value.clone()),
                HandoffItemKind::Sla {
                    kind,
                    within,
                    action,
                } => ir.slas.push(SlaIr {
                    kind: *kind,
                    within: match within {
                        SlaDuration::Plain(d) => SlaWindow::Seconds(d.seconds.round() as i64),
                        SlaDuration::BusinessHours { amount, .. } => {
                            SlaWindow::BusinessHours(*amount)
                        }
                        SlaDuration::BusinessDays { amount, .. } => {
                            SlaWindow::BusinessDays(*amount as u32)
                        }
                    },
                    action: *action,
                    span: item.span,
                }),
                HandoffItemKind::Reasons(rs) => ir.reasons.extend(rs.iter().map(|r| {
                    (
                        r.name.name.clone(),
                        r.label.as_ref().map(|l| l.value.clone()),
                    )
                })),
                HandoffItemKind::On { outcome, actions } => {
                    let (event, slot) = match outcome {
                        Outcome::Accept => ("task_accepted", 0),
                        Outcome::Reject => ("task_rejected", 1),
                        Outcome::Complete => ("task_completed", 2),
                    };
                    let lowered = self.actions(&owner, actions, Some(event))?;
                    match slot {
                        0 => ir.on_accept = lowered,
                        1 => ir.on_reject = lowered,
                        _ => ir.on_complete = lowered,
                    }
                }
            }
        }
        Ok(ir)
    }
}

fn day(d: &Date) -> Day {
    (d.year, d.month, d.day)
}

fn minutes(c: &Clock) -> u32 {
    c.hour * 60 + c.minute
}

fn team(t: &TeamDecl) -> TeamIr {
    let mut ir = TeamIr {
        name: t.name.name.clone(),
        span: t.name.span,
        members: Vec::new(),
        manager: None,
        hours: Vec::new(),
        timezone: None,
        closed: Vec::new(),
        open: Vec::new(),
        holidays: None,
    };
    for item in &t.items {
        match &item.kind {
            TeamItemKind::Members(m) => ir.members.extend(m.iter().map(|x| x.value.clone())),
            TeamItemKind::Manager(m) => ir.manager = Some(m.value.clone()),
            TeamItemKind::Hours { days, range } => {
                ir.hours
                    .push((days.mask, minutes(&range.start), minutes(&range.end)))
            }
            TeamItemKind::Timezone(tz) => ir.timezone = Some(tz.value.clone()),
            TeamItemKind::Closed(ranges) => ir.closed.extend(
                ranges
                    .iter()
                    .map(|(a, b)| (day(a), day(b.as_ref().unwrap_or(a)))),
            ),
            TeamItemKind::Open { date, range } => ir.open.push((
                day(date),
                range.as_ref().map(|r| (minutes(&r.start), minutes(&r.end))),
            )),
            TeamItemKind::Holidays(country) => ir.holidays = Some(country.name.clone()),
        }
    }
    ir
}

/// Lowers a program that checked without errors.
pub fn lower_program(ws: &Workspace) -> Result<LoweredProgram, LowerError> {
    let files = ws.program_files();
    let mut segments = FxHashMap::default();
    let mut templates = Vec::new();
    for f in ws.files() {
        if f.kind == crate::workspace::FileKind::Template {
            if let Some(name) = crate::template_name(&f.path) {
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
            timezone: ws
                .symbols()
                .timezone
                .as_ref()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            ..LoweredProgram::default()
        },
    };
    for (_, file) in &files {
        for d in &file.decls {
            match &d.kind {
                DeclKind::Lead(l) => {
                    for f in &l.fields {
                        if let Some(def) = &f.default {
                            c.out.defaults.push((f.name.name.clone(), def.clone()));
                        }
                    }
                }
                DeclKind::Segment(s) => {
                    c.func(format!("segment {}", s.name.name), &s.expr, None)?;
                }
                DeclKind::Score(s) => {
                    let ir = c.score(s)?;
                    c.out.scores.push(ir);
                }
                DeclKind::Rule(r) => {
                    let when = c.func(format!("rule {}: when", r.name.name), &r.when, None)?;
                    let then = c.actions(&format!("rule {}", r.name.name), &r.then, None)?;
                    c.out.rules.push(RuleIr {
                        name: r.name.name.clone(),
                        span: r.name.span,
                        when,
                        then,
                    });
                }
                DeclKind::Journey(j) => {
                    let ir = c.journey(j)?;
                    c.out.journeys.push(ir);
                }
                DeclKind::Team(t) => c.out.teams.push(team(t)),
                DeclKind::Handoff(h) => {
                    let ir = c.handoff(h)?;
                    c.out.handoffs.push(ir);
                }
                DeclKind::Schedule(s) => {
                    let mut items = Vec::new();
                    for item in &s.items {
                        match &item.kind {
                            ScheduleItemKind::ForLeads { filter, actions } => {
                                let owner = format!("schedule {}", s.name.name);
                                let filter = c.func(format!("{owner}: for leads"), filter, None)?;
                                let actions = c.actions(&owner, actions, None)?;
                                items.push(ScheduleItemIr::ForLeads { filter, actions });
                            }
                            ScheduleItemKind::Report(to) => items.push(ScheduleItemIr::Report(
                                to.iter().map(|t| t.value.clone()).collect(),
                            )),
                            ScheduleItemKind::Action(_) => {}
                        }
                    }
                    c.out.schedules.push(ScheduleIr {
                        name: s.name.name.clone(),
                        span: s.name.span,
                        cron: s.cron.value.clone(),
                        compiled: crate::cron5::parse(&s.cron.value).ok(),
                        timezone: s.timezone.as_ref().map(|t| t.value.clone()),
                        items,
                    });
                }
                DeclKind::Sending(s) => {
                    for item in &s.items {
                        match &item.kind {
                            SendingItemKind::From(f) => c.out.sending.from = Some(f.value.clone()),
                            SendingItemKind::QuietHours { start, end } => {
                                c.out.sending.quiet = Some((minutes(start), minutes(end)))
                            }
                            SendingItemKind::Cap { count, per, .. } => {
                                c.out.sending.cap = Some((*count, per.seconds.round() as i64))
                            }
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
                            c.func(format!("test {:?}: expect", t.name.value), e, None)?;
                        }
                    }
                }
                DeclKind::Timezone(_)
                | DeclKind::Stages(_)
                | DeclKind::Event(_)
                | DeclKind::Const(_) => {}
            }
        }
    }
    Ok(c.out)
}
