//! A condition explained: its `and`/`or`/`not` tree evaluated part by part with the reference interpreter, each test with the values it read (for `tandem explain`).
//!
//! Every part is evaluated, also those an evaluation would skip (`a and b` with `a`
//! false): evaluation is pure, and a reader wants to see every reason at once. A
//! segment named in a condition is lowered as its own condition put in place of the
//! name; its parts keep the spans of the segment's declaration, which is how a part
//! is known to be a segment ([`Part::segment`]).

use grammar::Span;
use stdlib::Type;

use crate::eval::EvalCtx;
use crate::interp;
use crate::ir::{IrExpr, IrKind};

/// What a part of a condition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// `a and b and …`: holds when every part holds.
    All,
    /// `a or b or …`: holds when any part holds.
    Any,
    /// `not (…)` around an `and` or an `or` (a `not` around a test is part of the test).
    Not,
    /// Anything else: a comparison, `in`, `contains`, `matches`, `between`, `is set`, a
    /// bool field or function.
    Test,
}

/// One part of a condition, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub kind: PartKind,
    /// Where the part is written (in the segment's declaration for a segment).
    pub span: Span,
    /// Its value now.
    pub holds: bool,
    /// Whether this part is a segment's condition standing for the segment's name.
    pub segment: bool,
    /// The parts inside an `and`, an `or` or a `not`, in source order.
    pub parts: Vec<Part>,
    /// For a test: the values it compared (constants left out).
    pub reads: Vec<Read>,
}

/// One value a test read.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The expression read; `None` for the lead's tags (`"x" in tags`).
    pub span: Option<Span>,
    pub value: Value,
    /// False for a lead field or event property never given a value that reads as zero,
    /// `""` or false (a default is a value).
    pub set: bool,
}

/// A value as a reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Bool(bool),
    /// Seconds since 1970.
    Time(i64),
    Stage(String),
    Text(String),
    Tags(Vec<String>),
}

/// Explains condition `body` in `ctx`. `written` is where the condition is written (the
/// `when` of a rule): a body whose span lies elsewhere is a segment named there.
pub fn explain(body: &IrExpr, written: Span, ctx: &mut EvalCtx<'_>) -> Part {
    child(body, written, ctx)
}

fn within(inner: Span, outer: Span) -> bool {
    inner.file == outer.file && inner.start >= outer.start && inner.end <= outer.end
}

/// A part inside `parent`'s span, marked as a segment when it lies outside it.
fn child(e: &IrExpr, parent: Span, ctx: &mut EvalCtx<'_>) -> Part {
    let mut p = part(e, ctx);
    p.segment = !within(e.span, parent);
    p
}

fn part(e: &IrExpr, ctx: &mut EvalCtx<'_>) -> Part {
    match &e.kind {
        IrKind::And(..) | IrKind::Or(..) => {
            let all = matches!(e.kind, IrKind::And(..));
            let mut parts = Vec::new();
            flatten(e, all, e.span, ctx, &mut parts);
            let holds = if all {
                parts.iter().all(|p| p.holds)
            } else {
                parts.iter().any(|p| p.holds)
            };
            Part {
                kind: if all { PartKind::All } else { PartKind::Any },
                span: e.span,
                holds,
                segment: false,
                parts,
                reads: Vec::new(),
            }
        }
        IrKind::Not(x) => {
            let inner = child(x, e.span, ctx);
            if inner.kind == PartKind::Test && !inner.segment {
                // `not x`, `x is missing`: one test, read as written.
                Part {
                    kind: PartKind::Test,
                    span: e.span,
                    holds: !inner.holds,
                    segment: false,
                    parts: Vec::new(),
                    reads: inner.reads,
                }
            } else {
                Part {
                    kind: PartKind::Not,
                    span: e.span,
                    holds: !inner.holds,
                    segment: false,
                    parts: vec![inner],
                    reads: Vec::new(),
                }
            }
        }
        _ => {
            let holds = interp::eval(e, ctx) != 0;
            let mut reads = Vec::new();
            operands(e, ctx, &mut reads);
            Part {
                kind: PartKind::Test,
                span: e.span,
                holds,
                segment: false,
                parts: Vec::new(),
                reads,
            }
        }
    }
}

/// The parts of a chain of `and`s (`all`) or `or`s, as one list; a segment's chain stays
/// a part of its own.
fn flatten(e: &IrExpr, all: bool, top: Span, ctx: &mut EvalCtx<'_>, out: &mut Vec<Part>) {
    match &e.kind {
        IrKind::And(a, b) | IrKind::Or(a, b)
            if matches!(e.kind, IrKind::And(..)) == all && within(e.span, top) =>
        {
            flatten(a, all, top, ctx, out);
            flatten(b, all, top, ctx, out);
        }
        _ => out.push(child(e, top, ctx)),
    }
}

/// Whether an expression reads anything but constants.
fn reads_data(e: &IrExpr) -> bool {
    let mut data = false;
    e.walk(&mut |x| {
        if !matches!(
            x.kind,
            IrKind::Number(_)
                | IrKind::Bool(_)
                | IrKind::Text(_)
                | IrKind::Stage(_)
                | IrKind::Not(_)
                | IrKind::Neg(_)
                | IrKind::And(..)
                | IrKind::Or(..)
                | IrKind::Arith(..)
                | IrKind::TimeShift(..)
                | IrKind::Compare(..)
                | IrKind::InList { .. }
                | IrKind::TextTest(..)
                | IrKind::Matches(..)
                | IrKind::Between(..)
                | IrKind::Call(..)
        ) {
            data = true;
        }
    });
    data
}

/// The values a test compares.
fn operands(e: &IrExpr, ctx: &mut EvalCtx<'_>, out: &mut Vec<Read>) {
    match &e.kind {
        IrKind::Compare(_, _, a, b) | IrKind::TextTest(_, a, b) => {
            read(a, ctx, out);
            read(b, ctx, out);
        }
        IrKind::Between(_, s, lo, hi) => {
            read(s, ctx, out);
            read(lo, ctx, out);
            read(hi, ctx, out);
        }
        IrKind::InList { item, .. } | IrKind::Matches(item, _) => read(item, ctx, out),
        IrKind::InTags { item, .. } => {
            read(item, ctx, out);
            let mut tags: Vec<String> = ctx
                .lead
                .tags
                .iter()
                .map(|t| ctx.exprs.interner.get(*t).to_owned())
                .collect();
            tags.sort();
            out.push(Read {
                span: None,
                value: Value::Tags(tags),
                set: true,
            });
        }
        IrKind::Call(_, args) => {
            for a in args {
                read(a, ctx, out);
            }
        }
        // A bool field, `is set`, `opened(…)`: the test is its own value.
        _ => {}
    }
}

/// One operand's value and, for a computed one (`score.fit + score.engagement`,
/// `lower(industry)`), the values it was computed from.
fn read(e: &IrExpr, ctx: &mut EvalCtx<'_>, out: &mut Vec<Read>) {
    if !reads_data(e) || matches!(e.kind, IrKind::Now) {
        return;
    }
    push(e, ctx, out);
    let mut inside: Vec<Read> = Vec::new();
    e.walk(&mut |x| {
        if !std::ptr::eq(x, e)
            && matches!(
                x.kind,
                IrKind::Field(_) | IrKind::Score(_) | IrKind::EventProp(_) | IrKind::Count { .. }
            )
        {
            push(x, ctx, &mut inside);
        }
    });
    for r in inside {
        if !out.iter().any(|o| o.span == r.span) {
            out.push(r);
        }
    }
}

fn push(e: &IrExpr, ctx: &mut EvalCtx<'_>, out: &mut Vec<Read>) {
    if out.iter().any(|o| o.span == Some(e.span)) {
        return;
    }
    let w = interp::eval(e, ctx);
    let value = match e.ty {
        Type::Number => Value::Number(f64::from_bits(w)),
        Type::Bool => Value::Bool(w != 0),
        Type::Time => Value::Time(w as i64),
        Type::Stage => Value::Stage(ctx.exprs.stages.name(w).to_owned()),
        _ => Value::Text(ctx.text(w).to_owned()),
    };
    // A field with a default is not "set" until given a value, but reads its default.
    let set = w != 0
        || match e.kind {
            IrKind::Field(slot) => ctx.lead.is_set(slot),
            IrKind::EventProp(i) => {
                i < 64 && ctx.event.is_some_and(|ev| ev.set_bits & (1 << i) != 0)
            }
            _ => true,
        };
    out.push(Read {
        span: Some(e.span),
        value,
        set,
    });
}
