//! The typed syntax tree of a Tandem source file; every node carries its span.

use crate::span::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A `"..."` literal: the decoded value and the raw text between the quotes.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLit {
    pub value: String,
    pub raw: String,
    pub span: Span,
}

/// A `#` comment, kept so that `tandem fmt` can put it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
    /// True when code precedes the comment on its line.
    pub trailing: bool,
}

/// One parsed `.journey` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceFile {
    pub decls: Vec<Decl>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    pub kind: DeclKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeclKind {
    Timezone(TextLit),
    Lead(LeadDecl),
    Stages(StagesDecl),
    Event(EventDecl),
    Const(ConstDecl),
    Segment(SegmentDecl),
    Score(ScoreDecl),
    Rule(RuleDecl),
    Journey(JourneyDecl),
    Team(TeamDecl),
    Handoff(HandoffDecl),
    Schedule(ScheduleDecl),
    Sending(SendingDecl),
    Test(TestDecl),
}

impl DeclKind {
    /// The word that starts this declaration in source.
    pub fn keyword(&self) -> &'static str {
        match self {
            DeclKind::Timezone(_) => "timezone",
            DeclKind::Lead(_) => "lead",
            DeclKind::Stages(_) => "stages",
            DeclKind::Event(_) => "event",
            DeclKind::Const(_) => "const",
            DeclKind::Segment(_) => "segment",
            DeclKind::Score(_) => "score",
            DeclKind::Rule(_) => "rule",
            DeclKind::Journey(_) => "journey",
            DeclKind::Team(_) => "team",
            DeclKind::Handoff(_) => "handoff",
            DeclKind::Schedule(_) => "schedule",
            DeclKind::Sending(_) => "sending",
            DeclKind::Test(_) => "test",
        }
    }
}

// ------------------------------------------------------------------ schema

#[derive(Debug, Clone, PartialEq)]
pub struct LeadDecl {
    pub fields: Vec<FieldDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: Ident,
    pub default: Option<Literal>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StagesDecl {
    pub funnel: Vec<Ident>,
    pub outside: Vec<Ident>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventDecl {
    pub name: Ident,
    pub props: Vec<PropDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PropDecl {
    pub name: Ident,
    pub ty: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConstDecl {
    pub name: Ident,
    pub value: Literal,
}

/// A constant value as written in `const`, field defaults and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub kind: LiteralKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiteralKind {
    Number {
        value: f64,
        raw: String,
    },
    Text(TextLit),
    Bool(bool),
    List(Vec<Literal>),
    /// A bare name: a stage, where a stage is expected.
    Name(Ident),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDecl {
    pub name: Ident,
    pub expr: Expr,
}

// ------------------------------------------------------------------ scores and rules

#[derive(Debug, Clone, PartialEq)]
pub struct ScoreDecl {
    pub name: Ident,
    pub items: Vec<ScoreItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScoreItem {
    pub kind: ScoreItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScoreItemKind {
    If {
        points: Points,
        cond: Expr,
    },
    On {
        points: Points,
        event: Ident,
        filter: Option<Expr>,
    },
    Min(Points),
    Max(Points),
    Decay {
        percent: Percent,
        every: DurationLit,
    },
}

/// A signed number as written (`+25`, `-30`, `100`).
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub value: f64,
    pub raw: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Percent {
    pub value: u64,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    pub name: Ident,
    pub when: Expr,
    pub then: Vec<Action>,
    /// True when `then` was written as a `{ … }` block.
    pub then_block: bool,
}

// ------------------------------------------------------------------ actions

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    Set { field: Ident, value: Expr },
    Tag(TextLit),
    Untag(TextLit),
    Send(Ident),
    Enroll(Ident),
    Notify { target: NotifyTarget, text: TextLit },
    Handoff(Ident),
    Webhook(Ident),
    Exit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NotifyTarget {
    Team(Ident),
    Owner(Span),
    Address(TextLit),
}

// ------------------------------------------------------------------ journeys

#[derive(Debug, Clone, PartialEq)]
pub struct JourneyDecl {
    pub name: Ident,
    pub header: Vec<JourneyHeader>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JourneyHeader {
    pub kind: JourneyHeaderKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JourneyHeaderKind {
    /// `enter on EVENT [where F] [then ACTIONS]`: the actions run, with `event.PROP`,
    /// when such an event enrolls the lead or arrives while it is inside.
    EnterOn {
        event: Ident,
        filter: Option<Expr>,
        then: Vec<Action>,
        then_block: bool,
    },
    EnterWhen(Expr),
    /// `exit on EVENT [where F]`: the lead leaves when such an event arrives.
    ExitOn {
        event: Ident,
        filter: Option<Expr>,
    },
    ExitWhen(Expr),
    Goal(Expr),
    ReenterAfter(DurationLit),
    ReenterNever,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Action(Action),
    Wait(DurationLit),
    WaitClock {
        days: Option<DaySpec>,
        clock: Clock,
    },
    WaitFor {
        event: Ident,
        filter: Option<Expr>,
        up_to: Option<DurationLit>,
        body: Option<Vec<Step>>,
        timeout: Option<Vec<Step>>,
    },
    /// `wait until [DURATION before|after] FIELD [at H:MM]`.
    WaitDate {
        /// The offset as written and whether it is `before` (true) or `after`.
        offset: Option<(DurationLit, bool)>,
        field: Ident,
        at: Option<Clock>,
    },
    WaitUntil {
        cond: Expr,
        up_to: Option<DurationLit>,
        body: Option<Vec<Step>>,
        timeout: Option<Vec<Step>>,
    },
    If {
        branches: Vec<(Expr, Vec<Step>)>,
        otherwise: Option<Vec<Step>>,
    },
    Split(Vec<SplitArm>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SplitArm {
    pub percent: Percent,
    pub steps: Vec<Step>,
    pub span: Span,
}

// ------------------------------------------------------------------ time

/// `2 days`, `1 day 12 hours`: the parts as written and the total in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationLit {
    pub parts: Vec<(f64, String, TimeUnit)>,
    pub seconds: f64,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Minute,
    Hour,
    Day,
    Week,
}

impl TimeUnit {
    pub fn seconds(self) -> f64 {
        match self {
            TimeUnit::Minute => 60.0,
            TimeUnit::Hour => 3_600.0,
            TimeUnit::Day => 86_400.0,
            TimeUnit::Week => 604_800.0,
        }
    }
    pub fn word(self, plural: bool) -> &'static str {
        match (self, plural) {
            (TimeUnit::Minute, false) => "minute",
            (TimeUnit::Minute, true) => "minutes",
            (TimeUnit::Hour, false) => "hour",
            (TimeUnit::Hour, true) => "hours",
            (TimeUnit::Day, false) => "day",
            (TimeUnit::Day, true) => "days",
            (TimeUnit::Week, false) => "week",
            (TimeUnit::Week, true) => "weeks",
        }
    }
}

/// A duration in an SLA clause: plain, or counted in the team's open time.
#[derive(Debug, Clone, PartialEq)]
pub enum SlaDuration {
    Plain(DurationLit),
    BusinessHours {
        amount: f64,
        raw: String,
        span: Span,
    },
    BusinessDays {
        amount: f64,
        raw: String,
        span: Span,
    },
}

impl SlaDuration {
    pub fn span(&self) -> Span {
        match self {
            SlaDuration::Plain(d) => d.span,
            SlaDuration::BusinessHours { span, .. } | SlaDuration::BusinessDays { span, .. } => {
                *span
            }
        }
    }
}

/// `9:00`, `17:30`: minutes since midnight (validity is checked later).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    pub hour: u32,
    pub minute: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockRange {
    pub start: Clock,
    pub end: Clock,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub span: Span,
}

/// A set of weekdays: bit 0 = Monday … bit 6 = Sunday, plus the items as written.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySpec {
    pub items: Vec<String>,
    pub mask: u8,
    pub span: Span,
}

// ------------------------------------------------------------------ teams and handoffs

#[derive(Debug, Clone, PartialEq)]
pub struct TeamDecl {
    pub name: Ident,
    pub items: Vec<TeamItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamItem {
    pub kind: TeamItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TeamItemKind {
    Members(Vec<TextLit>),
    Manager(TextLit),
    Hours {
        days: DaySpec,
        range: ClockRange,
    },
    Timezone(TextLit),
    Closed(Vec<(Date, Option<Date>)>),
    Open {
        date: Date,
        range: Option<ClockRange>,
    },
    /// `holidays COUNTRY`: a country's public holidays, every year.
    Holidays(Ident),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandoffDecl {
    pub name: Ident,
    pub items: Vec<HandoffItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandoffItem {
    pub kind: HandoffItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignStrategy {
    RoundRobin,
    LeastOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaKind {
    Accept,
    Complete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaAction {
    Escalate,
    Reassign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Accept,
    Reject,
    Complete,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Reject => "reject",
            Outcome::Complete => "complete",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub name: Ident,
    pub label: Option<TextLit>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HandoffItemKind {
    When(Expr),
    Assign {
        owner_first: bool,
        team: Ident,
        strategy: AssignStrategy,
    },
    Task(TextLit),
    Sla {
        kind: SlaKind,
        within: SlaDuration,
        action: SlaAction,
    },
    Reasons(Vec<Reason>),
    On {
        outcome: Outcome,
        actions: Vec<Action>,
    },
}

// ------------------------------------------------------------------ schedules and sending

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleDecl {
    pub name: Ident,
    pub cron: TextLit,
    pub timezone: Option<TextLit>,
    pub items: Vec<ScheduleItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleItem {
    pub kind: ScheduleItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleItemKind {
    ForLeads {
        filter: Expr,
        actions: Vec<Action>,
    },
    Report(Vec<TextLit>),
    /// An action written straight in a schedule, outside `for leads` (an error).
    Action(Action),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SendingDecl {
    pub items: Vec<SendingItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SendingItem {
    pub kind: SendingItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SendingItemKind {
    From(TextLit),
    QuietHours {
        start: Clock,
        end: Clock,
    },
    Cap {
        count: u64,
        count_span: Span,
        per: DurationLit,
    },
}

// ------------------------------------------------------------------ tests

#[derive(Debug, Clone, PartialEq)]
pub struct TestDecl {
    pub name: TextLit,
    pub stmts: Vec<TestStmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestStmt {
    pub kind: TestStmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    pub name: Ident,
    pub value: Literal,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Accept,
    Reject(Ident),
    Complete,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestStmtKind {
    Start {
        date: Date,
        clock: Option<Clock>,
    },
    Lead {
        lead: Ident,
        fields: Vec<FieldValue>,
    },
    Event {
        lead: Ident,
        event: Ident,
        props: Vec<FieldValue>,
    },
    Update {
        lead: Ident,
        fields: Vec<FieldValue>,
    },
    Advance(DurationLit),
    Task {
        lead: Ident,
        handoff: Ident,
        outcome: TaskOutcome,
    },
    Expect {
        lead: Ident,
        expectation: Expectation,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Sent(Ident),
    NotSent(Ident),
    In(Ident),
    NotIn(Ident),
    TaskAssigned {
        handoff: Ident,
        assignee: TextLit,
    },
    /// `sent TEMPLATE at DATE H:MM` (in the program's zone).
    SentAt {
        template: Ident,
        date: Date,
        clock: Clock,
    },
    /// `task HANDOFF [not] escalated [to "…"]`.
    TaskEscalated {
        handoff: Ident,
        to: Option<TextLit>,
        negated: bool,
    },
    /// `task HANDOFF [not] reassigned [to "…"]`.
    TaskReassigned {
        handoff: Ident,
        to: Option<TextLit>,
        negated: bool,
    },
    NoTask(Ident),
    /// `notified ["address"]` / `not notified ["address"]`: an internal email about the
    /// lead (a `notify`, or a task's notice: created, escalated, reassigned).
    Notified {
        to: Option<TextLit>,
        negated: bool,
    },
    /// `webhook NAME` / `not webhook NAME`.
    Webhook {
        webhook: Ident,
        negated: bool,
    },
    Expr(Expr),
}

// ------------------------------------------------------------------ expressions

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// Whether two values in this order satisfy the comparison.
    pub fn holds(self, order: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CompareOp::Eq => order == Equal,
            CompareOp::Ne => order != Equal,
            CompareOp::Lt => order == Less,
            CompareOp::Le => order != Greater,
            CompareOp::Gt => order == Greater,
            CompareOp::Ge => order != Less,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl TextOp {
    pub fn words(self) -> &'static str {
        match self {
            TextOp::Contains => "contains",
            TextOp::StartsWith => "starts with",
            TextOp::EndsWith => "ends with",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Number {
        value: f64,
        raw: String,
    },
    Text(TextLit),
    Bool(bool),
    Duration(DurationLit),
    List(Vec<Expr>),
    /// A bare name: a lead field, a segment, a const or a stage.
    Name(Ident),
    /// `head.member`: `score.fit`, `event.url`.
    Member {
        head: Ident,
        member: Ident,
    },
    Call {
        func: Ident,
        args: Vec<Expr>,
    },
    Count {
        event: Ident,
        filter: Option<Box<Expr>>,
        within: DurationLit,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Compare {
        op: CompareOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    In {
        negated: bool,
        item: Box<Expr>,
        list: Box<Expr>,
    },
    TextCompare {
        op: TextOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Matches {
        subject: Box<Expr>,
        regex: TextLit,
    },
    Between {
        subject: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    IsSet {
        subject: Box<Expr>,
        missing: bool,
    },
    Paren(Box<Expr>),
    /// Where the parser could not build an expression (a diagnostic says why).
    Error,
}

impl Expr {
    /// Strips parentheses.
    pub fn unparen(&self) -> &Expr {
        let mut e = self;
        while let ExprKind::Paren(inner) = &e.kind {
            e = inner;
        }
        e
    }
}
