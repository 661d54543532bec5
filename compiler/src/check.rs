//! Name resolution, step two, and type checking: every declaration of one file checked against the program's symbols.
//!
//! The result of checking a file depends only on that file and the
//! [`Symbols`] table, so an unchanged file need not be checked again while the
//! table stays the same (see `workspace`).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use grammar::ast::*;
use grammar::{Diagnostic, Span};
use stdlib::{ElemType, Param, Type};

use crate::codes;
use crate::suggest::did_you_mean;
use crate::symbols::{literal_type, Bare, Symbols};
use crate::templates::check_inline_template;

/// What one file tells the program-wide checks (cycles, reachability).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileFacts {
    /// Segments and scores, with the segments and scores their definitions read.
    pub deps: Vec<Definition>,
    /// Journeys named by an `enroll` action anywhere in the file.
    pub enrolled: HashSet<String>,
}

/// A segment or score definition and what it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub node: Node,
    pub span: Span,
    pub reads: Vec<(Node, Span)>,
}

/// A node of the segment/score dependency graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    Segment(String),
    Score(String),
}

/// The result of checking one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileCheck {
    pub diagnostics: Vec<Diagnostic>,
    pub facts: FileFacts,
}

/// Where an action or expression sits: which event is in scope, and what may be done there.
#[derive(Clone, Copy)]
struct Scope<'a> {
    event: Option<&'a str>,
    in_journey: bool,
}

const NO_EVENT: Scope<'static> = Scope {
    event: None,
    in_journey: false,
};

struct Checker<'a> {
    sym: &'a Symbols,
    diags: Vec<Diagnostic>,
    /// Segments/scores read by the expression being checked.
    reads: Vec<(Node, Span)>,
}

pub fn check_file(sym: &Symbols, file: &SourceFile) -> FileCheck {
    let mut c = Checker {
        sym,
        diags: Vec::new(),
        reads: Vec::new(),
    };
    let mut facts = FileFacts::default();
    for decl in &file.decls {
        c.decl(decl, &mut facts);
    }
    FileCheck {
        diagnostics: c.diags,
        facts,
    }
}

fn collect_enrolls(actions: &[Action], out: &mut HashSet<String>) {
    for a in actions {
        if let ActionKind::Enroll(j) = &a.kind {
            out.insert(j.name.clone());
        }
    }
}

fn collect_step_enrolls(steps: &[Step], out: &mut HashSet<String>) {
    for s in steps {
        match &s.kind {
            StepKind::Action(a) => collect_enrolls(std::slice::from_ref(a), out),
            StepKind::WaitFor { body, timeout, .. } | StepKind::WaitUntil { body, timeout, .. } => {
                for b in body.iter().chain(timeout.iter()) {
                    collect_step_enrolls(b, out);
                }
            }
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (_, b) in branches {
                    collect_step_enrolls(b, out);
                }
                if let Some(b) = otherwise {
                    collect_step_enrolls(b, out);
                }
            }
            StepKind::Split(arms) => {
                for a in arms {
                    collect_step_enrolls(&a.steps, out);
                }
            }
            StepKind::Wait(_) | StepKind::WaitClock { .. } => {}
        }
    }
}

fn is_email(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !addr.contains(char::is_whitespace)
        }
        None => false,
    }
}

impl<'a> Checker<'a> {
    fn err(&mut self, code: &'static str, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, span, msg));
    }

    fn check_address(&mut self, t: &TextLit) {
        if !is_email(&t.value) {
            self.err(
                codes::BAD_ADDRESS,
                t.span,
                format!("`{}` is not an email address", t.value),
            );
        }
    }

    fn decl(&mut self, decl: &Decl, facts: &mut FileFacts) {
        match &decl.kind {
            DeclKind::Timezone(tz) => self.timezone(tz),
            DeclKind::Lead(lead) => {
                for f in &lead.fields {
                    if let (Some(default), Some(Bare::Field(info))) =
                        (&f.default, self.sym.bare.get(&f.name.name))
                    {
                        if info.span == Some(f.name.span) {
                            self.literal_of(default, info.ty, "the default");
                        }
                    }
                }
            }
            DeclKind::Stages(_) | DeclKind::Event(_) => {}
            DeclKind::Const(c) => self.const_decl(c),
            DeclKind::Segment(seg) => {
                self.reads.clear();
                self.condition(&seg.expr, NO_EVENT);
                facts.deps.push(Definition {
                    node: Node::Segment(seg.name.name.clone()),
                    span: seg.name.span,
                    reads: std::mem::take(&mut self.reads),
                });
            }
            DeclKind::Score(score) => {
                self.reads.clear();
                self.score(score);
                facts.deps.push(Definition {
                    node: Node::Score(score.name.name.clone()),
                    span: score.name.span,
                    reads: std::mem::take(&mut self.reads),
                });
            }
            DeclKind::Rule(rule) => {
                self.condition(&rule.when, NO_EVENT);
                self.actions(&rule.then, NO_EVENT);
                collect_enrolls(&rule.then, &mut facts.enrolled);
            }
            DeclKind::Journey(j) => {
                self.journey(j);
                collect_step_enrolls(&j.steps, &mut facts.enrolled);
            }
            DeclKind::Team(t) => self.team(t),
            DeclKind::Handoff(h) => {
                self.handoff(h);
                for item in &h.items {
                    if let HandoffItemKind::On { actions, .. } = &item.kind {
                        collect_enrolls(actions, &mut facts.enrolled);
                    }
                }
            }
            DeclKind::Schedule(s) => {
                self.schedule(s);
                for item in &s.items {
                    if let ScheduleItemKind::ForLeads { actions, .. } = &item.kind {
                        collect_enrolls(actions, &mut facts.enrolled);
                    }
                }
            }
            DeclKind::Sending(s) => self.sending(s),
            DeclKind::Test(t) => self.test(t),
        }
    }

    fn timezone(&mut self, tz: &TextLit) {
        if jiff::tz::TimeZone::get(&tz.value).is_err() {
            let mut d = Diagnostic::error(
                codes::TIMEZONE,
                tz.span,
                format!("`{}` is not a known IANA time zone", tz.value),
            );
            if tz.value.eq_ignore_ascii_case("asia/ho_chi_minh")
                || tz.value.eq_ignore_ascii_case("asia/saigon")
                || tz.value.to_lowercase().contains("vietnam")
            {
                d = d.with_help("for Vietnam write `\"Asia/Ho_Chi_Minh\"`");
            } else {
                d = d.with_help("use a name like `\"Asia/Ho_Chi_Minh\"` or `\"Asia/Bangkok\"`");
            }
            self.diags.push(d);
        }
    }

    // -------------------------------------------------------------- literals

    /// Checks a literal value against the type a field or property expects.
    fn literal_of(&mut self, lit: &Literal, want: Type, what: &str) {
        match (&lit.kind, want) {
            (LiteralKind::Number { .. }, Type::Number)
            | (LiteralKind::Text(_), Type::Text)
            | (LiteralKind::Bool(_), Type::Bool) => {}
            (LiteralKind::Text(t), Type::Time) => {
                if t.value.parse::<jiff::Timestamp>().is_err() {
                    self.err(
                        codes::TYPE_MISMATCH,
                        lit.span,
                        format!("{what} must be a time like \"2026-01-05T09:00:00+07:00\""),
                    );
                }
            }
            (LiteralKind::Name(n), Type::Stage) => {
                if self.sym.stage_index(&n.name).is_none() {
                    self.unknown_stage(n);
                }
            }
            (LiteralKind::List(items), Type::Tags) => {
                for i in items {
                    self.literal_of(i, Type::Text, "a tag");
                }
            }
            _ => {
                let got = literal_type(lit)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "a value".into());
                self.err(
                    codes::TYPE_MISMATCH,
                    lit.span,
                    format!("{what} must be a {want}, not a {got}"),
                );
            }
        }
    }

    fn unknown_stage(&mut self, n: &Ident) {
        let names: Vec<&str> = self.sym.stages.iter().map(|s| s.name.as_str()).collect();
        let mut d = Diagnostic::error(
            codes::UNKNOWN_NAME,
            n.span,
            format!("`{}` is not a stage", n.name),
        );
        if let Some(s) = did_you_mean(&n.name, names.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    fn const_decl(&mut self, c: &ConstDecl) {
        if let LiteralKind::List(items) = &c.value.kind {
            let want = items.first().and_then(literal_type);
            for item in items {
                match &item.kind {
                    LiteralKind::List(_) => self.err(
                        codes::BAD_CONST,
                        item.span,
                        "a list cannot contain another list",
                    ),
                    LiteralKind::Bool(_) => self.err(
                        codes::BAD_CONST,
                        item.span,
                        "a list holds text, numbers or stages, not true/false",
                    ),
                    LiteralKind::Name(n) if self.sym.stage_index(&n.name).is_none() => {
                        self.unknown_stage(n);
                    }
                    _ => {}
                }
                if literal_type(item) != want {
                    self.err(
                        codes::BAD_CONST,
                        item.span,
                        "all items of a list must have the same type",
                    );
                }
            }
        } else if let LiteralKind::Name(n) = &c.value.kind {
            if self.sym.stage_index(&n.name).is_none() {
                self.unknown_stage(n);
            }
        }
    }

    // -------------------------------------------------------------- scores

    fn score(&mut self, score: &ScoreDecl) {
        let mut min: Option<(f64, Span)> = None;
        let mut max: Option<(f64, Span)> = None;
        let mut decay = false;
        for item in &score.items {
            match &item.kind {
                ScoreItemKind::If { cond, .. } => self.condition(cond, NO_EVENT),
                ScoreItemKind::On { event, filter, .. } => {
                    self.event_filter(event, filter.as_ref())
                }
                ScoreItemKind::Min(p) => {
                    if min.replace((p.value, item.span)).is_some() {
                        self.err(codes::CLAUSE, item.span, "a score has at most one `min`");
                    }
                }
                ScoreItemKind::Max(p) => {
                    if max.replace((p.value, item.span)).is_some() {
                        self.err(codes::CLAUSE, item.span, "a score has at most one `max`");
                    }
                }
                ScoreItemKind::Decay { .. } => {
                    if decay {
                        self.err(codes::CLAUSE, item.span, "a score has at most one `decay`");
                    }
                    decay = true;
                }
            }
        }
        if let (Some((lo, lo_span)), Some((hi, hi_span))) = (min, max) {
            if lo > hi {
                self.diags.push(
                    Diagnostic::error(
                        codes::CLAUSE,
                        lo_span,
                        format!("the score's `min` ({lo}) is above its `max` ({hi})"),
                    )
                    .with_related(hi_span, "the `max`"),
                );
            }
        }
    }

    /// `on EVENT where F` / `enter on EVENT where F`: the event must exist; F sees its properties.
    fn event_filter(&mut self, event: &Ident, filter: Option<&Expr>) {
        if self.event_exists(event) {
            if let Some(f) = filter {
                let scope = Scope {
                    event: Some(&event.name),
                    in_journey: false,
                };
                self.condition(f, scope);
            }
        }
    }

    // -------------------------------------------------------------- journeys

    fn journey(&mut self, j: &JourneyDecl) {
        let mut reenter: Option<Span> = None;
        for h in &j.header {
            match &h.kind {
                JourneyHeaderKind::EnterOn { event, filter } => {
                    self.event_filter(event, filter.as_ref())
                }
                JourneyHeaderKind::EnterWhen(e)
                | JourneyHeaderKind::ExitWhen(e)
                | JourneyHeaderKind::Goal(e) => self.condition(e, NO_EVENT),
                JourneyHeaderKind::ReenterAfter(_) | JourneyHeaderKind::ReenterNever => {
                    if let Some(prev) = reenter.replace(h.span) {
                        self.diags.push(
                            Diagnostic::error(
                                codes::CLAUSE,
                                h.span,
                                "a journey has at most one `reenter` setting",
                            )
                            .with_related(prev, "first set here"),
                        );
                    }
                }
            }
        }
        let scope = Scope {
            event: None,
            in_journey: true,
        };
        self.steps(&j.steps, scope);
    }

    fn steps(&mut self, steps: &[Step], scope: Scope<'_>) {
        for s in steps {
            self.step(s, scope);
        }
    }

    fn step(&mut self, step: &Step, scope: Scope<'_>) {
        match &step.kind {
            StepKind::Action(a) => self.action(a, scope),
            StepKind::Wait(_) | StepKind::WaitClock { .. } => {}
            StepKind::WaitFor {
                event,
                filter,
                up_to,
                body,
                timeout,
            } => {
                let known = self.event_exists(event);
                let inner = Scope {
                    event: if known {
                        Some(&event.name)
                    } else {
                        scope.event
                    },
                    in_journey: true,
                };
                if let Some(f) = filter {
                    if known {
                        self.condition(f, inner);
                    }
                }
                if up_to.is_none() {
                    let head_end = filter.as_ref().map(|f| f.span).unwrap_or(event.span);
                    self.unbounded(step.span.to(head_end).with_end(head_end.end), "wait for");
                }
                if let Some(b) = body {
                    self.steps(b, inner);
                }
                if let Some(t) = timeout {
                    self.steps(t, scope);
                }
            }
            StepKind::WaitUntil {
                cond,
                up_to,
                body,
                timeout,
            } => {
                self.condition(cond, scope);
                if up_to.is_none() {
                    self.unbounded(step.span.with_end(cond.span.end), "wait until");
                }
                for b in body.iter().chain(timeout.iter()) {
                    self.steps(b, scope);
                }
            }
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    self.condition(cond, scope);
                    self.steps(body, scope);
                }
                if let Some(b) = otherwise {
                    self.steps(b, scope);
                }
            }
            StepKind::Split(arms) => {
                let total: u64 = arms.iter().map(|a| a.percent.value.min(100)).sum();
                if total != 100 {
                    let shown: Vec<String> = arms
                        .iter()
                        .map(|a| format!("{}%", a.percent.value))
                        .collect();
                    let head = arms.first().map(|a| a.span.start).unwrap_or(step.span.end);
                    self.err(
                        codes::SPLIT_PERCENT,
                        step.span.with_end(head.min(step.span.start + 5)),
                        format!(
                            "the branches of a split must add up to 100%, these add up to {total}% ({})",
                            shown.join(" + ")
                        ),
                    );
                }
                for a in arms {
                    self.steps(&a.steps, scope);
                }
            }
        }
    }

    fn unbounded(&mut self, span: Span, what: &str) {
        self.diags.push(
            Diagnostic::error(
                codes::UNBOUNDED_WAIT,
                span,
                format!("`{what}` needs a limit, or a lead could wait in this journey forever"),
            )
            .with_help("add `up to DURATION` (and a `timeout { … }` block for what to do then)"),
        );
    }

    // -------------------------------------------------------------- actions

    fn actions(&mut self, actions: &[Action], scope: Scope<'_>) {
        for a in actions {
            self.action(a, scope);
        }
    }

    fn action(&mut self, a: &Action, scope: Scope<'_>) {
        match &a.kind {
            ActionKind::Set { field, value } => {
                let want = match self.sym.bare.get(&field.name) {
                    Some(Bare::Field(info)) if info.writable => Some(info.ty),
                    Some(Bare::Field(info)) => {
                        let help = if info.ty == Type::Tags {
                            "change tags with `tag \"x\"` and `untag \"x\"`"
                        } else {
                            "the runtime keeps this field; it cannot be assigned"
                        };
                        self.diags.push(
                            Diagnostic::error(
                                codes::READ_ONLY,
                                field.span,
                                format!("`{}` is read-only", field.name),
                            )
                            .with_help(help),
                        );
                        None
                    }
                    Some(_) => {
                        self.err(
                            codes::READ_ONLY,
                            field.span,
                            format!("`{}` is not a lead field, so it cannot be set", field.name),
                        );
                        None
                    }
                    None => {
                        self.unknown_bare(field);
                        None
                    }
                };
                let got = self.expr(value, scope);
                if let (Some(w), Some(g)) = (want, got) {
                    if w != g {
                        self.err(
                            codes::TYPE_MISMATCH,
                            value.span,
                            format!("`{}` holds a {w}, but this value is a {g}", field.name),
                        );
                    }
                }
            }
            ActionKind::Tag(_) | ActionKind::Untag(_) => {}
            ActionKind::Send(t) => {
                if let Some(info) = self.template(t) {
                    if !info.has_unsubscribe {
                        self.diags.push(
                            Diagnostic::error(
                                codes::NO_UNSUBSCRIBE,
                                t.span,
                                format!(
                                    "the template `{}` has no unsubscribe link, so it cannot be sent as marketing email",
                                    t.name
                                ),
                            )
                            .with_related(info.span, "the template")
                            .with_help("add `[Hủy đăng ký]({{ unsubscribe_url }})` to the template (Decree 91/2020, Gmail/Yahoo bulk-sender rules)"),
                        );
                    }
                }
            }
            ActionKind::Enroll(j) => {
                if !self.sym.journeys.contains_key(&j.name) {
                    self.unknown(
                        codes::UNKNOWN_JOURNEY,
                        "journey",
                        j,
                        self.sym.journeys.keys(),
                    );
                }
            }
            ActionKind::Notify { target, text } => {
                match target {
                    NotifyTarget::Team(t) => {
                        if !self.sym.teams.contains_key(&t.name) {
                            self.unknown(codes::UNKNOWN_TEAM, "team", t, self.sym.teams.keys());
                        }
                    }
                    NotifyTarget::Owner(_) => {}
                    NotifyTarget::Address(addr) => self.check_address(addr),
                }
                let d = check_inline_template(self.sym, text, scope.in_journey);
                self.diags.extend(d);
            }
            ActionKind::Handoff(h) => {
                if !self.sym.handoffs.contains_key(&h.name) {
                    self.unknown(
                        codes::UNKNOWN_HANDOFF,
                        "handoff",
                        h,
                        self.sym.handoffs.keys(),
                    );
                }
            }
            ActionKind::Webhook(w) => {
                if let Some(hooks) = &self.sym.webhooks {
                    if !hooks.contains(&w.name) {
                        self.diags.push(
                            Diagnostic::error(
                                codes::UNKNOWN_WEBHOOK,
                                w.span,
                                format!("`tandem.toml` names no webhook `{}`", w.name),
                            )
                            .with_help(format!(
                                "add `{} = \"https://…\"` under `[webhooks]` in tandem.toml",
                                w.name
                            )),
                        );
                    }
                }
            }
            ActionKind::Exit => {
                if !scope.in_journey {
                    self.err(
                        codes::MISPLACED_ACTION,
                        a.span,
                        "`exit` leaves a journey, so it can only be used inside one",
                    );
                }
            }
        }
    }

    fn template(&mut self, t: &Ident) -> Option<&'a crate::symbols::TemplateInfo> {
        match self.sym.templates.get(&t.name) {
            Some(info) => Some(info),
            None => {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_TEMPLATE,
                    t.span,
                    format!("there is no template `{}`", t.name),
                );
                match did_you_mean(&t.name, self.sym.templates.keys().map(String::as_str)) {
                    Some(s) => d = d.with_help(format!("did you mean `{s}`?")),
                    None => {
                        d = d.with_help(format!(
                            "create `templates/{}.md` with a `subject` in its front matter",
                            t.name
                        ))
                    }
                }
                self.diags.push(d);
                None
            }
        }
    }

    fn unknown<'k>(
        &mut self,
        code: &'static str,
        what: &str,
        name: &Ident,
        known: impl Iterator<Item = &'k String>,
    ) {
        let mut d = Diagnostic::error(
            code,
            name.span,
            format!("there is no {what} `{}`", name.name),
        );
        if let Some(s) = did_you_mean(&name.name, known.map(String::as_str)) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    fn event_exists(&mut self, event: &Ident) -> bool {
        if self.sym.events.contains_key(&event.name) {
            return true;
        }
        self.unknown(codes::UNKNOWN_EVENT, "event", event, self.sym.events.keys());
        false
    }

    // -------------------------------------------------------------- teams, handoffs, schedules

    fn team(&mut self, t: &TeamDecl) {
        let mut members = false;
        let mut seen: HashSet<&str> = HashSet::default();
        for item in &t.items {
            match &item.kind {
                TeamItemKind::Members(m) => {
                    members = true;
                    for addr in m {
                        self.check_address(addr);
                        if !seen.insert(addr.value.as_str()) {
                            self.err(
                                codes::DUPLICATE,
                                addr.span,
                                format!("`{}` is listed twice in this team", addr.value),
                            );
                        }
                    }
                }
                TeamItemKind::Manager(m) => self.check_address(m),
                TeamItemKind::Timezone(tz) => self.timezone(tz),
                TeamItemKind::Hours { .. }
                | TeamItemKind::Closed(_)
                | TeamItemKind::Open { .. } => {}
            }
        }
        if !members {
            self.err(
                codes::CLAUSE,
                t.name.span,
                format!(
                    "the team `{}` has no `members`, so no task can be assigned to it",
                    t.name.name
                ),
            );
        }
    }

    fn handoff(&mut self, h: &HandoffDecl) {
        let mut assign: Option<(&Ident, bool)> = None;
        let mut seen_on: HashMap<Outcome, Span> = HashMap::default();
        let mut seen_reasons: HashSet<&str> = HashSet::default();
        let mut seen_when = false;
        let mut seen_task = false;
        for item in &h.items {
            match &item.kind {
                HandoffItemKind::When(e) => {
                    if seen_when {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "a handoff has at most one `when`; join the conditions with `or`",
                        );
                    }
                    seen_when = true;
                    self.condition(e, NO_EVENT);
                }
                HandoffItemKind::Assign { team, .. } => {
                    if assign.is_some() {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "a handoff has exactly one `assign`",
                        );
                    }
                    if !self.sym.teams.contains_key(&team.name) {
                        self.unknown(codes::UNKNOWN_TEAM, "team", team, self.sym.teams.keys());
                    }
                    assign = Some((team, true));
                }
                HandoffItemKind::Task(text) => {
                    if seen_task {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "a handoff has at most one `task` title",
                        );
                    }
                    seen_task = true;
                    let d = check_inline_template(self.sym, text, false);
                    self.diags.extend(d);
                }
                HandoffItemKind::Sla { within, action, .. } => {
                    if let Some((team, _)) = assign.or_else(|| find_assign(h)) {
                        if let Some(info) = self.sym.teams.get(&team.name) {
                            let business = !matches!(within, SlaDuration::Plain(_));
                            if business && !info.has_hours {
                                self.diags.push(
                                    Diagnostic::error(
                                        codes::NO_BUSINESS_HOURS,
                                        within.span(),
                                        format!(
                                            "business time needs opening hours, but the team `{}` has no `hours`",
                                            team.name
                                        ),
                                    )
                                    .with_related(info.span, "the team")
                                    .with_help("add a line like `hours mon-fri 8:30-17:30` to the team, or use plain hours/days"),
                                );
                            }
                            if *action == SlaAction::Escalate && !info.has_manager {
                                self.diags.push(
                                    Diagnostic::error(
                                        codes::CLAUSE,
                                        item.span,
                                        format!("`escalate` notifies the team's manager, but the team `{}` has no `manager`", team.name),
                                    )
                                    .with_related(info.span, "the team"),
                                );
                            }
                        }
                    }
                }
                HandoffItemKind::Reasons(reasons) => {
                    for r in reasons {
                        if !seen_reasons.insert(r.name.name.as_str()) {
                            self.err(
                                codes::DUPLICATE,
                                r.name.span,
                                format!("the reason `{}` is listed twice", r.name.name),
                            );
                        }
                    }
                }
                HandoffItemKind::On { outcome, actions } => {
                    if let Some(prev) = seen_on.insert(*outcome, item.span) {
                        self.diags.push(
                            Diagnostic::error(
                                codes::CLAUSE,
                                item.span,
                                format!(
                                    "`on {}` is written twice; merge the blocks",
                                    outcome.word()
                                ),
                            )
                            .with_related(prev, "first written here"),
                        );
                    }
                    let event = match outcome {
                        Outcome::Accept => "task_accepted",
                        Outcome::Reject => "task_rejected",
                        Outcome::Complete => "task_completed",
                    };
                    self.actions(
                        actions,
                        Scope {
                            event: Some(event),
                            in_journey: false,
                        },
                    );
                }
            }
        }
        if assign.is_none() {
            self.diags.push(
                Diagnostic::error(
                    codes::CLAUSE,
                    h.name.span,
                    format!("the handoff `{}` does not say who gets the task", h.name.name),
                )
                .with_help("add `assign team TEAM by round_robin` (or `assign owner else team TEAM by least_open`)"),
            );
        }
        if seen_on.contains_key(&Outcome::Reject) || seen_reasons.is_empty() {
            // Reasons are optional; rejecting then takes any reason name the handoff lists.
        }
    }

    fn schedule(&mut self, s: &ScheduleDecl) {
        if let Err(msg) = crate::cron5::parse(&s.cron.value) {
            self.diags.push(
                Diagnostic::error(
                    codes::INVALID_CRON,
                    s.cron.span,
                    format!("`{}` is not a valid cron expression: {msg}", s.cron.value),
                )
                .with_help(
                    "five fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\"",
                ),
            );
        }
        if let Some(tz) = &s.timezone {
            self.timezone(tz);
        }
        if s.items.is_empty() {
            self.err(
                codes::CLAUSE,
                s.name.span,
                "this schedule does nothing; add `for leads where … { … }` or `report to …`",
            );
        }
        for item in &s.items {
            match &item.kind {
                ScheduleItemKind::ForLeads { filter, actions } => {
                    self.condition(filter, NO_EVENT);
                    self.actions(actions, NO_EVENT);
                }
                ScheduleItemKind::Report(to) => {
                    for addr in to {
                        self.check_address(addr);
                    }
                }
                ScheduleItemKind::Action(a) => self.diags.push(
                    Diagnostic::error(
                        codes::MISPLACED_ACTION,
                        a.span,
                        "a schedule acts on leads only inside `for leads where … { … }`",
                    )
                    .with_help("wrap the action: `for leads where stage == lead { … }`"),
                ),
            }
        }
    }

    fn sending(&mut self, s: &SendingDecl) {
        let mut seen: HashMap<&'static str, Span> = HashMap::default();
        for item in &s.items {
            let key = match &item.kind {
                SendingItemKind::From(f) => {
                    self.check_address(f);
                    "from"
                }
                SendingItemKind::QuietHours { start, end } => {
                    if (start.hour, start.minute) == (end.hour, end.minute) {
                        self.err(
                            codes::CLAUSE,
                            item.span,
                            "quiet hours must start and end at different times",
                        );
                    }
                    "quiet hours"
                }
                SendingItemKind::Cap {
                    count, count_span, ..
                } => {
                    if *count == 0 {
                        self.err(codes::CLAUSE, *count_span, "a cap of 0 emails would stop every send; remove the line to send without a cap");
                    }
                    "at most"
                }
            };
            if let Some(prev) = seen.insert(key, item.span) {
                self.diags.push(
                    Diagnostic::error(
                        codes::CLAUSE,
                        item.span,
                        format!("`{key}` is set twice in `sending`"),
                    )
                    .with_related(prev, "first set here"),
                );
            }
        }
    }

    // -------------------------------------------------------------- tests

    fn test(&mut self, t: &TestDecl) {
        let mut leads: HashSet<&str> = HashSet::default();
        for (i, stmt) in t.stmts.iter().enumerate() {
            match &stmt.kind {
                TestStmtKind::Start { .. } => {
                    if i != 0 {
                        self.err(
                            codes::CLAUSE,
                            stmt.span,
                            "`start` must be the first statement of a test",
                        );
                    }
                }
                TestStmtKind::Lead { lead, fields } => {
                    if !leads.insert(lead.name.as_str()) {
                        self.err(
                            codes::UNKNOWN_LEAD,
                            lead.span,
                            format!("the lead `{}` is already created in this test", lead.name),
                        );
                    }
                    self.lead_fields(fields, true);
                }
                TestStmtKind::Update { lead, fields } => {
                    self.test_lead(lead, &leads);
                    self.lead_fields(fields, false);
                }
                TestStmtKind::Event {
                    lead, event, props, ..
                } => {
                    self.test_lead(lead, &leads);
                    match self.sym.events.get(&event.name) {
                        None => {
                            self.unknown(
                                codes::UNKNOWN_EVENT,
                                "event",
                                event,
                                self.sym.events.keys(),
                            );
                        }
                        Some(info) if !info.from_outside => self.err(
                            codes::BAD_TEST_INPUT,
                            event.span,
                            format!(
                                "`{}` is raised by the runtime itself; a test cannot send it",
                                event.name
                            ),
                        ),
                        Some(info) => {
                            for p in props {
                                match info.prop(&p.name.name) {
                                    Some(ty) => {
                                        self.literal_of(&p.value, ty, &format!("`{}`", p.name.name))
                                    }
                                    None => {
                                        let mut d = Diagnostic::error(
                                            codes::UNKNOWN_PROPERTY,
                                            p.name.span,
                                            format!(
                                                "the event `{}` has no property `{}`",
                                                event.name, p.name.name
                                            ),
                                        );
                                        if let Some(s) = did_you_mean(
                                            &p.name.name,
                                            info.props.iter().map(|(n, _)| n.as_str()),
                                        ) {
                                            d = d.with_help(format!("did you mean `{s}`?"));
                                        }
                                        self.diags.push(d);
                                    }
                                }
                            }
                        }
                    }
                }
                TestStmtKind::Advance(_) => {}
                TestStmtKind::Task {
                    lead,
                    handoff,
                    outcome,
                } => {
                    self.test_lead(lead, &leads);
                    match self.sym.handoffs.get(&handoff.name) {
                        None => self.unknown(
                            codes::UNKNOWN_HANDOFF,
                            "handoff",
                            handoff,
                            self.sym.handoffs.keys(),
                        ),
                        Some(info) => {
                            if let TaskOutcome::Reject(reason) = outcome {
                                if !info.reasons.contains(&reason.name) {
                                    let mut d = Diagnostic::error(
                                        codes::UNKNOWN_REASON,
                                        reason.span,
                                        format!(
                                            "`{}` is not one of the reasons of the handoff `{}`",
                                            reason.name, handoff.name
                                        ),
                                    );
                                    if let Some(s) = did_you_mean(
                                        &reason.name,
                                        info.reasons.iter().map(String::as_str),
                                    ) {
                                        d = d.with_help(format!("did you mean `{s}`?"));
                                    } else if !info.reasons.is_empty() {
                                        d = d.with_help(format!(
                                            "the reasons are: {}",
                                            info.reasons.join(", ")
                                        ));
                                    }
                                    self.diags.push(d);
                                }
                            }
                        }
                    }
                }
                TestStmtKind::Expect { lead, expectation } => {
                    self.test_lead(lead, &leads);
                    match expectation {
                        Expectation::Sent(t) | Expectation::NotSent(t) => {
                            self.template(t);
                        }
                        Expectation::In(j) | Expectation::NotIn(j) => {
                            if !self.sym.journeys.contains_key(&j.name) {
                                self.unknown(
                                    codes::UNKNOWN_JOURNEY,
                                    "journey",
                                    j,
                                    self.sym.journeys.keys(),
                                );
                            }
                        }
                        Expectation::TaskAssigned { handoff, .. }
                        | Expectation::NoTask(handoff) => {
                            if !self.sym.handoffs.contains_key(&handoff.name) {
                                self.unknown(
                                    codes::UNKNOWN_HANDOFF,
                                    "handoff",
                                    handoff,
                                    self.sym.handoffs.keys(),
                                );
                            }
                        }
                        Expectation::Expr(e) => self.condition(e, NO_EVENT),
                    }
                }
            }
        }
    }

    fn test_lead(&mut self, lead: &Ident, leads: &HashSet<&str>) {
        if !leads.contains(lead.name.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_LEAD,
                    lead.span,
                    format!("this test has no lead `{}` yet", lead.name),
                )
                .with_help(format!(
                    "create it first: `lead {} {{ email: \"…\" }}`",
                    lead.name
                )),
            );
        }
    }

    /// Fields given to a lead by a test (`lead` / `update`): writable ones, `tags`, and
    /// `id` when the lead is created (it defaults to the test's name for the lead).
    fn lead_fields(&mut self, fields: &[FieldValue], creating: bool) {
        for f in fields {
            match self.sym.bare.get(&f.name.name) {
                Some(Bare::Field(info)) => {
                    let settable =
                        info.writable || f.name.name == "tags" || (creating && f.name.name == "id");
                    if settable {
                        self.literal_of(&f.value, info.ty, &format!("`{}`", f.name.name));
                    } else {
                        self.err(
                            codes::READ_ONLY,
                            f.name.span,
                            format!("`{}` is read-only; the runtime sets it", f.name.name),
                        );
                    }
                }
                Some(_) => self.err(
                    codes::UNKNOWN_NAME,
                    f.name.span,
                    format!("`{}` is not a lead field", f.name.name),
                ),
                None => self.unknown_bare(&f.name),
            }
        }
    }

    // -------------------------------------------------------------- expressions

    /// Checks an expression that must be a condition.
    fn condition(&mut self, e: &Expr, scope: Scope<'_>) {
        if let Some(t) = self.expr(e, scope) {
            if t != Type::Bool {
                self.err(
                    codes::TYPE_MISMATCH,
                    e.span,
                    format!("a condition must be true or false, but this is a {t}"),
                );
            }
        }
    }

    fn unknown_bare(&mut self, name: &Ident) {
        let mut d = Diagnostic::error(
            codes::UNKNOWN_NAME,
            name.span,
            format!(
                "`{}` is not a lead field, segment, const or stage",
                name.name
            ),
        );
        if let Some(s) = did_you_mean(&name.name, self.sym.bare_names()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if self.sym.scores.contains_key(&name.name) {
            d = d.with_help(format!("to read the score, write `score.{}`", name.name));
        }
        self.diags.push(d);
    }

    fn mismatch(&mut self, span: Span, msg: String) -> Option<Type> {
        self.err(codes::TYPE_MISMATCH, span, msg);
        None
    }

    fn want(&mut self, e: &Expr, scope: Scope<'_>, want: Type, ctx: &str) -> Option<Type> {
        let t = self.expr(e, scope)?;
        if t == want {
            Some(t)
        } else {
            self.mismatch(e.span, format!("{ctx} needs a {want}, but this is a {t}"))
        }
    }

    /// The type of an expression, or `None` after reporting why it has none.
    fn expr(&mut self, e: &Expr, scope: Scope<'_>) -> Option<Type> {
        match &e.kind {
            ExprKind::Number { .. } => Some(Type::Number),
            ExprKind::Text(_) => Some(Type::Text),
            ExprKind::Bool(_) => Some(Type::Bool),
            ExprKind::Duration(_) => Some(Type::Duration),
            ExprKind::Error => None,
            ExprKind::Paren(inner) => self.expr(inner, scope),
            ExprKind::List(items) => {
                let mut elem: Option<ElemType> = None;
                for item in items {
                    let t = self.expr(item, scope)?;
                    match t.elem() {
                        None => {
                            return self.mismatch(
                                item.span,
                                format!("a list holds text, numbers or stages, not a {t}"),
                            )
                        }
                        Some(el) => match elem {
                            None => elem = Some(el),
                            Some(prev) if prev != el => {
                                return self.mismatch(
                                    item.span,
                                    "all items of a list must have the same type".into(),
                                )
                            }
                            Some(_) => {}
                        },
                    }
                }
                Some(Type::List(elem.unwrap_or(ElemType::Text)))
            }
            ExprKind::Name(n) => match self.sym.bare.get(&n.name) {
                Some(Bare::Field(f)) => Some(f.ty),
                Some(Bare::Segment(_)) => {
                    self.reads.push((Node::Segment(n.name.clone()), n.span));
                    Some(Type::Bool)
                }
                Some(Bare::Const(c)) => Some(c.ty),
                Some(Bare::Stage(_)) => Some(Type::Stage),
                None => {
                    self.unknown_bare(n);
                    None
                }
            },
            ExprKind::Member { head, member } => {
                match head.name.as_str() {
                    "score" => {
                        if self.sym.scores.contains_key(&member.name) {
                            self.reads
                                .push((Node::Score(member.name.clone()), member.span));
                            Some(Type::Number)
                        } else {
                            self.unknown(
                                codes::UNKNOWN_SCORE,
                                "score",
                                member,
                                self.sym.scores.keys(),
                            );
                            None
                        }
                    }
                    "event" => {
                        let Some(ev) = scope.event else {
                            self.diags.push(
                            Diagnostic::error(
                                codes::NO_EVENT_IN_SCOPE,
                                e.span,
                                format!("`event.{}` is only available where an event is being handled", member.name),
                            )
                            .with_help("use it in `on EVENT where …`, `enter on EVENT where …`, `count(EVENT where …)`, `wait for EVENT where …` or a handoff's `on` blocks"),
                        );
                            return None;
                        };
                        let info = self.sym.events.get(ev)?;
                        match info.prop(&member.name) {
                            Some(t) => Some(t),
                            None => {
                                let mut d = Diagnostic::error(
                                    codes::UNKNOWN_PROPERTY,
                                    member.span,
                                    format!("the event `{ev}` has no property `{}`", member.name),
                                );
                                if let Some(s) = did_you_mean(
                                    &member.name,
                                    info.props.iter().map(|(n, _)| n.as_str()),
                                ) {
                                    d = d.with_help(format!("did you mean `{s}`?"));
                                } else if info.props.is_empty() {
                                    d = d.with_help(format!("`{ev}` has no properties"));
                                }
                                self.diags.push(d);
                                None
                            }
                        }
                    }
                    "lead" => {
                        self.diags.push(
                        Diagnostic::error(
                            codes::UNKNOWN_MEMBER,
                            e.span,
                            format!("in a condition, lead fields are written bare: `{}`, not `lead.{}`", member.name, member.name),
                        )
                        .with_help(format!("write `{}`", member.name)),
                    );
                        None
                    }
                    other => {
                        self.err(
                        codes::UNKNOWN_MEMBER,
                        e.span,
                        format!("`{other}.{}` is not something a condition can read; only `score.NAME` and `event.PROP` have a dot", member.name),
                    );
                        None
                    }
                }
            }
            ExprKind::Call { func, args } => self.call(e, func, args, scope),
            ExprKind::Count {
                event,
                filter,
                within: _,
            } => {
                if self.event_exists(event) {
                    if let Some(f) = filter {
                        self.condition(
                            f,
                            Scope {
                                event: Some(&event.name),
                                in_journey: scope.in_journey,
                            },
                        );
                    }
                }
                Some(Type::Number)
            }
            ExprKind::Neg(inner) => self.want(inner, scope, Type::Number, "`-`"),
            ExprKind::Not(inner) => self
                .want(inner, scope, Type::Bool, "`not`")
                .map(|_| Type::Bool),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, scope),
            ExprKind::Compare { op, lhs, rhs } => {
                let l = self.expr(lhs, scope);
                let r = self.expr(rhs, scope);
                let (l, r) = (l?, r?);
                let ordering = !matches!(op, CompareOp::Eq | CompareOp::Ne);
                if l != r {
                    return self.mismatch(
                        rhs.span,
                        format!("`{}` compares two values of one type, but this is a {r} and the left side is a {l}", op.symbol()),
                    );
                }
                let ok = if ordering {
                    matches!(l, Type::Number | Type::Time | Type::Stage)
                } else {
                    matches!(
                        l,
                        Type::Number | Type::Time | Type::Stage | Type::Text | Type::Bool
                    )
                };
                if !ok {
                    let what = if ordering {
                        "numbers, times or stages"
                    } else {
                        "single values"
                    };
                    return self.mismatch(
                        lhs.span,
                        format!("`{}` works on {what}, not on a {l}", op.symbol()),
                    );
                }
                Some(Type::Bool)
            }
            ExprKind::In { item, list, .. } => {
                let it = self.expr(item, scope);
                let lt = self.list_operand(list, scope);
                let (it, lt) = (it?, lt?);
                match (it, lt) {
                    (Type::Text, Type::Tags) => Some(Type::Bool),
                    (t, Type::List(el)) if t.elem() == Some(el) => Some(Type::Bool),
                    (t, Type::List(el)) => self.mismatch(
                        item.span,
                        format!("this is a {t}, but the list holds {}s", Type::from(el)),
                    ),
                    _ => None,
                }
            }
            ExprKind::TextCompare { op, lhs, rhs } => {
                let l = self.want(lhs, scope, Type::Text, &format!("`{}`", op.words()));
                let r = self.want(rhs, scope, Type::Text, &format!("`{}`", op.words()));
                l.and(r).map(|_| Type::Bool)
            }
            ExprKind::Matches { subject, regex } => {
                let s = self.want(subject, scope, Type::Text, "`matches`");
                if let Err(err) = regex::Regex::new(&regex.value) {
                    let detail = match err {
                        regex::Error::Syntax(s) => {
                            let last = s.lines().last().unwrap_or("").trim();
                            last.strip_prefix("error: ").unwrap_or(last).to_owned()
                        }
                        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
                        _ => "the pattern is invalid".to_owned(),
                    };
                    self.err(
                        codes::INVALID_REGEX,
                        regex.span,
                        format!("this pattern is not a valid regular expression: {detail}"),
                    );
                }
                s.map(|_| Type::Bool)
            }
            ExprKind::Between { subject, low, high } => {
                let s = self.expr(subject, scope);
                let l = self.expr(low, scope);
                let h = self.expr(high, scope);
                let (s, l, h) = (s?, l?, h?);
                if !matches!(s, Type::Number | Type::Time) {
                    return self.mismatch(
                        subject.span,
                        format!("`between` works on numbers and times, not on a {s}"),
                    );
                }
                for (t, ex) in [(l, low), (h, high)] {
                    if t != s {
                        return self.mismatch(
                            ex.span,
                            format!("this bound is a {t}, but the value is a {s}"),
                        );
                    }
                }
                Some(Type::Bool)
            }
            ExprKind::IsSet { subject, missing } => {
                let word = if *missing { "is missing" } else { "is set" };
                match &subject.unparen().kind {
                    ExprKind::Name(n) => match self.sym.bare.get(&n.name) {
                        Some(Bare::Field(_)) => Some(Type::Bool),
                        Some(_) => {
                            self.err(
                                codes::NOT_A_FIELD,
                                subject.span,
                                format!(
                                    "`{word}` asks about a lead field, and `{}` is not one",
                                    n.name
                                ),
                            );
                            None
                        }
                        None => {
                            self.unknown_bare(n);
                            None
                        }
                    },
                    ExprKind::Member { head, .. } if head.name == "event" => {
                        self.expr(subject, scope).map(|_| Type::Bool)
                    }
                    _ => {
                        self.err(
                            codes::NOT_A_FIELD,
                            subject.span,
                            format!("`{word}` asks about a lead field or an event property"),
                        );
                        None
                    }
                }
            }
        }
    }

    fn list_operand(&mut self, list: &Expr, scope: Scope<'_>) -> Option<Type> {
        match &list.unparen().kind {
            ExprKind::List(_) => self.expr(list, scope),
            ExprKind::Name(n) => {
                let t = self.expr(list, scope)?;
                match t {
                    Type::List(_) | Type::Tags => Some(t),
                    _ => self.list_error(list, Some(&n.name)),
                }
            }
            _ => {
                self.expr(list, scope)?;
                self.list_error(list, None)
            }
        }
    }

    fn list_error(&mut self, list: &Expr, name: Option<&str>) -> Option<Type> {
        let msg = match name {
            Some(n) => format!("`in` needs a list, and `{n}` is not one"),
            None => "`in` needs a list: `[\"a\", \"b\"]`, a list const, or `tags`".to_owned(),
        };
        self.diags.push(
            Diagnostic::error(codes::NOT_A_LIST, list.span, msg)
                .with_help("for text inside text, use `contains`"),
        );
        None
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, scope: Scope<'_>) -> Option<Type> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.want(lhs, scope, Type::Bool, &format!("`{}`", op.symbol()));
                let r = self.want(rhs, scope, Type::Bool, &format!("`{}`", op.symbol()));
                l.and(r).map(|_| Type::Bool)
            }
            BinaryOp::Mul | BinaryOp::Div => {
                let l = self.want(lhs, scope, Type::Number, &format!("`{}`", op.symbol()));
                let r = self.want(rhs, scope, Type::Number, &format!("`{}`", op.symbol()));
                l.and(r).map(|_| Type::Number)
            }
            BinaryOp::Add | BinaryOp::Sub => {
                let l = self.expr(lhs, scope);
                let r = self.expr(rhs, scope);
                let (l, r) = (l?, r?);
                match (l, r) {
                    (Type::Number, Type::Number) => Some(Type::Number),
                    (Type::Time, Type::Duration) => Some(Type::Time),
                    (Type::Duration, Type::Time) if op == BinaryOp::Add => Some(Type::Time),
                    (Type::Time, Type::Number) | (Type::Number, Type::Time) => self.mismatch(
                        rhs.span.to(lhs.span),
                        format!(
                            "to move a time, `{}` a duration like `7 days`, not a number",
                            op.symbol()
                        ),
                    ),
                    (Type::Number, t) | (t, Type::Number) => self.mismatch(
                        if r == t { rhs.span } else { lhs.span },
                        format!(
                            "`{}` works on numbers (or a time and a duration), not on a {t}",
                            op.symbol()
                        ),
                    ),
                    (l, _) => self.mismatch(
                        lhs.span,
                        format!(
                            "`{}` works on numbers (or a time and a duration), not on a {l}",
                            op.symbol()
                        ),
                    ),
                }
            }
        }
    }

    fn call(&mut self, e: &Expr, func: &Ident, args: &[Expr], scope: Scope<'_>) -> Option<Type> {
        let Some(b) = stdlib::builtin(&func.name) else {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_FUNCTION,
                func.span,
                format!("there is no function `{}`", func.name),
            );
            let names = stdlib::BUILTINS.iter().map(|b| b.name).chain(["count"]);
            if let Some(s) = did_you_mean(&func.name, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            self.diags.push(d);
            for a in args {
                let _ = self.expr(a, scope);
            }
            return None;
        };
        if args.len() != b.params.len() {
            self.diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    e.span,
                    format!(
                        "`{}` takes {} argument{}, but {} {} given",
                        b.name,
                        b.params.len(),
                        if b.params.len() == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() == 1 { "is" } else { "are" }
                    ),
                )
                .with_help(format!("`{}`", b.signature())),
            );
            return None;
        }
        let mut ok = true;
        for (a, p) in args.iter().zip(b.params) {
            match p {
                Param::Template => match &a.unparen().kind {
                    ExprKind::Name(n) => {
                        if self.template(n).is_none() {
                            ok = false;
                        }
                    }
                    _ => {
                        self.err(
                            codes::TYPE_MISMATCH,
                            a.span,
                            format!(
                                "`{}` takes a template name, like `{}(ebook_delivery)`",
                                b.name, b.name
                            ),
                        );
                        ok = false;
                    }
                },
                Param::Value(t) => {
                    if self.want(a, scope, *t, &format!("`{}`", b.name)).is_none() {
                        ok = false;
                    }
                }
            }
        }
        ok.then_some(b.result)
    }
}

fn find_assign(h: &HandoffDecl) -> Option<(&Ident, bool)> {
    h.items.iter().find_map(|i| match &i.kind {
        HandoffItemKind::Assign { team, .. } => Some((team, true)),
        _ => None,
    })
}
