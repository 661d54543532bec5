//! The typed IR: checked expressions lowered to resolved slots, symbols and constants, with spans kept so a runtime problem still points at source.
//!
//! Values at run time are 64-bit words, the same for the interpreter and the
//! JIT: a number is its `f64` bits, a bool is 0 or 1, a time is seconds since
//! 1970 as `i64`, a stage is its [`stage code`](StageTable::code), and a text
//! is a [`TextHandle`]: an interned symbol, or (high bit set) a string made
//! during this evaluation.

use rustc_hash::FxHashMap;

use grammar::ast::{BinaryOp, CompareOp, Expr, ExprKind, TextOp};
use grammar::Span;
use stdlib::{BuiltinId, Implementation, Type};

use crate::symbols::{Bare, ConstValue, Symbols, BUILTIN_FIELDS};

/// A text value: an interned symbol, or with [`SCRATCH_BIT`] set, an index into the evaluation's scratch strings.
pub type TextHandle = u64;

/// Marks a [`TextHandle`] as a string made during evaluation (`lower(x)`, `domain(x)`).
pub const SCRATCH_BIT: u64 = 1 << 63;

/// Stage codes at or above this are stages outside the funnel.
pub const OUTSIDE_STAGE_BASE: u64 = 1 << 16;

/// All distinct texts, interned: equal texts have equal symbols. Symbol 0 is `""`.
///
/// Every text is stored once, back to back in one string (a million leads' emails and
/// names are a million small texts: one allocation each, twice over, cost more than the
/// texts themselves); the table holds symbols only and finds a text by hashing its bytes.
#[derive(Clone)]
pub struct Interner {
    /// Every text, one after another.
    bytes: String,
    /// Where each symbol's text ends in `bytes` (it starts where the previous one ends).
    ends: Vec<usize>,
    /// Symbols, by the hash of their text.
    table: hashbrown::HashTable<u32>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("texts", &self.ends.len())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Default for Interner {
    fn default() -> Interner {
        let mut i = Interner {
            bytes: String::new(),
            ends: Vec::new(),
            table: hashbrown::HashTable::new(),
        };
        i.intern("");
        i
    }
}

/// The hash the interner files texts under (also used for other tables keyed by text).
pub fn text_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.lookup(s) {
            return id;
        }
        let id = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
        self.bytes.push_str(s);
        self.ends.push(self.bytes.len());
        let Interner {
            bytes, ends, table, ..
        } = self;
        table.insert_unique(text_hash(s), id, |&sym| {
            text_hash(text_of(bytes, ends, sym))
        });
        id
    }

    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.table
            .find(text_hash(s), |&sym| self.get(sym) == s)
            .copied()
    }

    /// The text of a symbol (`""` for an unknown one: evaluation is total).
    pub fn get(&self, sym: u32) -> &str {
        text_of(&self.bytes, &self.ends, sym)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

fn text_of<'a>(bytes: &'a str, ends: &[usize], sym: u32) -> &'a str {
    let i = sym as usize;
    let Some(&end) = ends.get(i) else {
        return "";
    };
    let start = i
        .checked_sub(1)
        .and_then(|j| ends.get(j))
        .copied()
        .unwrap_or(0);
    bytes.get(start..end).unwrap_or("")
}

/// What a lead slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    Number,
    Bool,
    Time,
    Stage,
    Text,
    /// The tag set lives beside the record; its slot word is unused.
    Tags,
}

impl SlotKind {
    fn of(t: Type) -> SlotKind {
        match t {
            Type::Number => SlotKind::Number,
            Type::Bool => SlotKind::Bool,
            Type::Time => SlotKind::Time,
            Type::Stage => SlotKind::Stage,
            Type::Tags => SlotKind::Tags,
            _ => SlotKind::Text,
        }
    }
}

/// The fixed layout of a lead record: one 64-bit word per field, built-ins first.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub slots: Vec<(String, SlotKind)>,
    index: FxHashMap<String, usize>,
    /// Properties of each event (by event id), in declared order.
    pub events: Vec<(String, Vec<(String, SlotKind)>)>,
    event_index: FxHashMap<String, u32>,
    /// The most properties any event has: every event record has this many words.
    pub max_event_props: usize,
}

impl Layout {
    pub fn slot(&self, field: &str) -> Option<usize> {
        self.index.get(field).copied()
    }

    pub fn event(&self, name: &str) -> Option<u32> {
        self.event_index.get(name).copied()
    }

    pub fn event_prop(&self, event: u32, prop: &str) -> Option<(usize, SlotKind)> {
        let (_, props) = self.events.get(event as usize)?;
        props
            .iter()
            .position(|(n, _)| n == prop)
            .map(|i| (i, props[i].1))
    }

    /// Words needed for the "is set" bits of a lead record.
    pub fn set_words(&self) -> usize {
        self.slots.len().div_ceil(64)
    }
}

/// Stage names to codes: funnel position, or [`OUTSIDE_STAGE_BASE`] + k.
#[derive(Debug, Clone, Default)]
pub struct StageTable {
    pub names: Vec<String>,
    pub codes: Vec<u64>,
}

impl StageTable {
    pub fn code(&self, name: &str) -> Option<u64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.codes[i])
    }

    pub fn name(&self, code: u64) -> &str {
        self.codes
            .iter()
            .position(|c| *c == code)
            .map(|i| self.names[i].as_str())
            .unwrap_or("")
    }
}

/// A typed, resolved expression.
#[derive(Debug, Clone, PartialEq)]
pub struct IrExpr {
    pub kind: IrKind,
    pub ty: Type,
    pub span: Span,
}

impl IrExpr {
    /// Calls `f` on this expression and every expression inside it (depth first).
    /// The lowering bounds the depth ([`MAX_LOWERED_DEPTH`]).
    pub fn walk(&self, f: &mut dyn FnMut(&IrExpr)) {
        f(self);
        match &self.kind {
            IrKind::Not(x)
            | IrKind::Neg(x)
            | IrKind::TimeShift(x, _)
            | IrKind::Matches(x, _)
            | IrKind::InList { item: x, .. }
            | IrKind::InTags { item: x, .. } => x.walk(f),
            IrKind::And(a, b)
            | IrKind::Or(a, b)
            | IrKind::Arith(_, a, b)
            | IrKind::Compare(_, _, a, b)
            | IrKind::TextTest(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            IrKind::Between(_, a, b, c) => {
                a.walk(f);
                b.walk(f);
                c.walk(f);
            }
            IrKind::Call(_, args) => args.iter().for_each(|a| a.walk(f)),
            IrKind::Number(_)
            | IrKind::Bool(_)
            | IrKind::Text(_)
            | IrKind::Stage(_)
            | IrKind::Field(_)
            | IrKind::FieldIsSet(_)
            | IrKind::EventProp(_)
            | IrKind::EventPropIsSet(_)
            | IrKind::Score(_)
            | IrKind::Now
            | IrKind::Engaged(..)
            | IrKind::Count { .. } => {}
        }
    }
}

/// How two values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpKind {
    Number,
    /// Times (signed seconds).
    Time,
    /// Stage codes; ordering is false when either stage is outside the funnel.
    Stage,
    /// Text handles: equal when the strings are equal.
    Text,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IrKind {
    Number(f64),
    Bool(bool),
    /// An interned text constant.
    Text(u32),
    Stage(u64),
    /// A lead field's word.
    Field(usize),
    /// Whether a lead field was ever received or set.
    FieldIsSet(usize),
    /// A property of the event in scope.
    EventProp(usize),
    EventPropIsSet(usize),
    /// A score's current value.
    Score(usize),
    Now,
    Not(Box<IrExpr>),
    Neg(Box<IrExpr>),
    And(Box<IrExpr>, Box<IrExpr>),
    Or(Box<IrExpr>, Box<IrExpr>),
    Arith(ArithOp, Box<IrExpr>, Box<IrExpr>),
    /// A time moved by a number of seconds.
    TimeShift(Box<IrExpr>, i64),
    Compare(CompareOp, CmpKind, Box<IrExpr>, Box<IrExpr>),
    /// `x in [constants]` (words of the element type).
    InList {
        item: Box<IrExpr>,
        kind: CmpKind,
        list: Vec<u64>,
        negated: bool,
    },
    InTags {
        item: Box<IrExpr>,
        negated: bool,
    },
    TextTest(TextOp, Box<IrExpr>, Box<IrExpr>),
    /// Index into the program's regexes.
    Matches(Box<IrExpr>, usize),
    Between(CmpKind, Box<IrExpr>, Box<IrExpr>, Box<IrExpr>),
    /// A built-in computed from its arguments (and the clock, for `days_since`); how is
    /// the [`stdlib::Implementation`] of its row.
    Call(BuiltinId, Vec<IrExpr>),
    /// `opened(T)` / `clicked(T)`: index into the program's templates.
    Engaged(BuiltinId, u32),
    /// `count(EVENT where FILTER within D)`: the filter is a function of its own.
    Count {
        event: u32,
        filter: Option<FuncId>,
        window_secs: i64,
    },
}

/// Identifies a compiled function of a [`CompiledExprs`] set.
pub type FuncId = usize;

/// One function to compile: an expression and whether an event is in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Func {
    pub body: IrExpr,
    /// The event whose properties `EventProp` reads, if any.
    pub event: Option<u32>,
}

/// Everything the engines need to evaluate expressions of one program.
#[derive(Debug, Clone, Default)]
pub struct CompiledExprs {
    pub layout: Layout,
    pub stages: StageTable,
    pub interner: Interner,
    pub regexes: Vec<regex::Regex>,
    pub templates: Vec<String>,
    pub scores: Vec<String>,
    pub funcs: Vec<Func>,
    /// All zeros, as wide as the widest event: what `event_words` points at when no event is in scope.
    pub zero_event: Vec<u64>,
}

/// Why an expression could not be lowered (only on programs the checker rejected).
#[derive(Debug, Clone, PartialEq)]
pub struct LowerError {
    pub span: Span,
    pub message: String,
}

impl CompiledExprs {
    /// The layout, stages, scores and templates of a checked program.
    pub fn new(sym: &Symbols, template_names: &[String]) -> CompiledExprs {
        let mut c = CompiledExprs::default();
        // Lead layout: built-ins first, then declared fields by slot number.
        let mut fields: Vec<(usize, String, Type)> = sym
            .bare
            .iter()
            .filter_map(|(n, b)| match b {
                Bare::Field(f) => Some((f.slot, n.clone(), f.ty)),
                _ => None,
            })
            .collect();
        fields.sort_by_key(|f| f.0);
        debug_assert!(fields.len() >= BUILTIN_FIELDS.len());
        for (i, (_, name, ty)) in fields.into_iter().enumerate() {
            c.layout.index.insert(name.clone(), i);
            c.layout.slots.push((name, SlotKind::of(ty)));
        }
        let mut events: Vec<(&String, &crate::symbols::EventInfo)> = sym.events.iter().collect();
        events.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (name, info)) in events.into_iter().enumerate() {
            c.layout.event_index.insert(name.clone(), i as u32);
            let props: Vec<(String, SlotKind)> = info
                .props
                .iter()
                .map(|(n, t)| (n.clone(), SlotKind::of(*t)))
                .collect();
            c.layout.max_event_props = c.layout.max_event_props.max(props.len());
            c.layout.events.push((name.clone(), props));
        }
        c.zero_event = vec![0; c.layout.max_event_props.max(1)];
        let mut outside = 0;
        for st in &sym.stages {
            c.stages.names.push(st.name.clone());
            c.stages.codes.push(match st.funnel {
                Some(p) => p as u64,
                None => {
                    outside += 1;
                    OUTSIDE_STAGE_BASE + outside - 1
                }
            });
        }
        let mut scores: Vec<&String> = sym.scores.keys().collect();
        scores.sort();
        c.scores = scores.into_iter().cloned().collect();
        c.templates = template_names.to_vec();
        c
    }

    pub fn score_index(&self, name: &str) -> Option<usize> {
        self.scores.iter().position(|s| s == name)
    }

    /// Lowers a checked expression into a new function and returns its id.
    pub fn add(
        &mut self,
        sym: &Symbols,
        segments: &FxHashMap<String, Expr>,
        expr: &Expr,
        event: Option<&str>,
    ) -> Result<FuncId, LowerError> {
        let event_id = event.and_then(|e| self.layout.event(e));
        let body = Lowering {
            sym,
            segments,
            out: self,
            event: event_id,
            depth: 0,
            level: 0,
        }
        .lower(expr)?;
        self.funcs.push(Func {
            body,
            event: event_id,
        });
        Ok(self.funcs.len() - 1)
    }
}

struct Lowering<'a> {
    sym: &'a Symbols,
    segments: &'a FxHashMap<String, Expr>,
    out: &'a mut CompiledExprs,
    event: Option<u32>,
    /// Segment inlining depth (the checker rejects cycles; this bounds it anyway).
    depth: usize,
    /// Nesting of the expression being lowered, segments inlined (bounds every later recursion).
    level: usize,
}

/// How deep a lowered expression may nest, counting inlined segments.
pub const MAX_LOWERED_DEPTH: usize = 1024;

fn err(span: Span, message: impl Into<String>) -> LowerError {
    LowerError {
        span,
        message: message.into(),
    }
}

fn cmp_kind(t: Type) -> Option<CmpKind> {
    match t {
        Type::Number => Some(CmpKind::Number),
        Type::Time => Some(CmpKind::Time),
        Type::Stage => Some(CmpKind::Stage),
        Type::Text => Some(CmpKind::Text),
        Type::Bool => Some(CmpKind::Bool),
        _ => None,
    }
}

impl Lowering<'_> {
    fn node(kind: IrKind, ty: Type, span: Span) -> IrExpr {
        IrExpr { kind, ty, span }
    }

    fn lower(&mut self, e: &Expr) -> Result<IrExpr, LowerError> {
        self.level += 1;
        let r = if self.level > MAX_LOWERED_DEPTH {
            Err(err(
                e.span,
                "this condition nests too deeply once its segments are expanded",
            ))
        } else {
            self.lower_node(e)
        };
        self.level -= 1;
        r
    }

    fn lower_node(&mut self, e: &Expr) -> Result<IrExpr, LowerError> {
        let span = e.span;
        Ok(match &e.kind {
            ExprKind::Number { value, .. } => {
                Self::node(IrKind::Number(*value), Type::Number, span)
            }
            ExprKind::Text(t) => {
                let sym = self.out.interner.intern(&t.value);
                Self::node(IrKind::Text(sym), Type::Text, span)
            }
            ExprKind::Bool(b) => Self::node(IrKind::Bool(*b), Type::Bool, span),
            ExprKind::Duration(_) => {
                return Err(err(span, "a duration is only used to move a time"))
            }
            ExprKind::List(_) => return Err(err(span, "a list is only used after `in`")),
            ExprKind::Error => return Err(err(span, "this expression has an error")),
            ExprKind::Paren(inner) => self.lower(inner)?,
            ExprKind::Name(n) => match self.sym.bare.get(&n.name) {
                Some(Bare::Field(f)) => {
                    let slot = self
                        .out
                        .layout
                        .slot(&n.name)
                        .ok_or_else(|| err(span, "unknown field"))?;
                    Self::node(IrKind::Field(slot), f.ty, span)
                }
                Some(Bare::Stage(i)) => {
                    let code = self.out.stages.codes.get(*i).copied().unwrap_or(0);
                    Self::node(IrKind::Stage(code), Type::Stage, span)
                }
                Some(Bare::Segment(_)) => {
                    let seg = self
                        .segments
                        .get(&n.name)
                        .ok_or_else(|| err(span, "unknown segment"))?;
                    if self.depth > 64 {
                        return Err(err(span, "segments nest too deeply"));
                    }
                    self.depth += 1;
                    // Segments are read in the lead's context, never an event's.
                    let saved = self.event.take();
                    let r = self.lower(seg);
                    self.event = saved;
                    self.depth -= 1;
                    r?
                }
                Some(Bare::Const(c)) => {
                    let value = self.sym.const_values.get(&n.name).cloned();
                    let kind = match value {
                        Some(ConstValue::Number(x)) => IrKind::Number(x),
                        Some(ConstValue::Text(t)) => IrKind::Text(self.out.interner.intern(&t)),
                        Some(ConstValue::Bool(b)) => IrKind::Bool(b),
                        Some(ConstValue::Stage(st)) => IrKind::Stage(
                            self.out
                                .stages
                                .code(&st)
                                .ok_or_else(|| err(span, "unknown stage"))?,
                        ),
                        _ => {
                            return Err(err(
                                span,
                                format!("the list `{}` is only used after `in`", n.name),
                            ))
                        }
                    };
                    Self::node(kind, c.ty, span)
                }
                None => return Err(err(span, format!("unknown name `{}`", n.name))),
            },
            ExprKind::Member { head, member } => match head.name.as_str() {
                "score" => {
                    let i = self
                        .out
                        .score_index(&member.name)
                        .ok_or_else(|| err(span, "unknown score"))?;
                    Self::node(IrKind::Score(i), Type::Number, span)
                }
                "event" => {
                    let ev = self.event.ok_or_else(|| err(span, "no event in scope"))?;
                    let (i, kind) = self
                        .out
                        .layout
                        .event_prop(ev, &member.name)
                        .ok_or_else(|| err(span, "unknown property"))?;
                    Self::node(IrKind::EventProp(i), slot_type(kind), span)
                }
                _ => return Err(err(span, "unknown member")),
            },
            ExprKind::Call { func, args } => self.call(span, &func.name, args)?,
            ExprKind::Count {
                event,
                filter,
                within,
            } => {
                let ev = self
                    .out
                    .layout
                    .event(&event.name)
                    .ok_or_else(|| err(span, "unknown event"))?;
                let filter = match filter {
                    Some(f) => {
                        let saved = self.event.replace(ev);
                        let body = self.lower(f);
                        self.event = saved;
                        let body = body?;
                        self.out.funcs.push(Func {
                            body,
                            event: Some(ev),
                        });
                        Some(self.out.funcs.len() - 1)
                    }
                    None => None,
                };
                Self::node(
                    IrKind::Count {
                        event: ev,
                        filter,
                        window_secs: within.seconds.round() as i64,
                    },
                    Type::Number,
                    span,
                )
            }
            ExprKind::Neg(inner) => {
                let x = self.lower(inner)?;
                Self::node(IrKind::Neg(Box::new(x)), Type::Number, span)
            }
            ExprKind::Not(inner) => {
                let x = self.lower(inner)?;
                Self::node(IrKind::Not(Box::new(x)), Type::Bool, span)
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(span, *op, lhs, rhs)?,
            ExprKind::Compare { op, lhs, rhs } => {
                let l = self.lower(lhs)?;
                let r = self.lower(rhs)?;
                let kind = cmp_kind(l.ty)
                    .ok_or_else(|| err(span, "values of this type cannot be compared"))?;
                Self::node(
                    IrKind::Compare(*op, kind, Box::new(l), Box::new(r)),
                    Type::Bool,
                    span,
                )
            }
            ExprKind::In {
                negated,
                item,
                list,
            } => {
                let item = self.lower(item)?;
                if let ExprKind::Name(n) = &list.unparen().kind {
                    if n.name == "tags" {
                        return Ok(Self::node(
                            IrKind::InTags {
                                item: Box::new(item),
                                negated: *negated,
                            },
                            Type::Bool,
                            span,
                        ));
                    }
                }
                let kind = cmp_kind(item.ty).ok_or_else(|| err(span, "this type has no lists"))?;
                let words = self.constant_list(list)?;
                Self::node(
                    IrKind::InList {
                        item: Box::new(item),
                        kind,
                        list: words,
                        negated: *negated,
                    },
                    Type::Bool,
                    span,
                )
            }
            ExprKind::TextCompare { op, lhs, rhs } => {
                let l = self.lower(lhs)?;
                let r = self.lower(rhs)?;
                Self::node(
                    IrKind::TextTest(*op, Box::new(l), Box::new(r)),
                    Type::Bool,
                    span,
                )
            }
            ExprKind::Matches { subject, regex } => {
                let s = self.lower(subject)?;
                let re =
                    regex::Regex::new(&regex.value).map_err(|e| err(regex.span, e.to_string()))?;
                self.out.regexes.push(re);
                let idx = self.out.regexes.len() - 1;
                Self::node(IrKind::Matches(Box::new(s), idx), Type::Bool, span)
            }
            ExprKind::Between { subject, low, high } => {
                let s = self.lower(subject)?;
                let l = self.lower(low)?;
                let h = self.lower(high)?;
                let kind =
                    cmp_kind(s.ty).ok_or_else(|| err(span, "between needs numbers or times"))?;
                Self::node(
                    IrKind::Between(kind, Box::new(s), Box::new(l), Box::new(h)),
                    Type::Bool,
                    span,
                )
            }
            ExprKind::IsSet { subject, missing } => {
                let x = self.lower(subject)?;
                let set = match x.kind {
                    IrKind::Field(slot) => IrKind::FieldIsSet(slot),
                    IrKind::EventProp(i) => IrKind::EventPropIsSet(i),
                    _ => return Err(err(span, "`is set` needs a field")),
                };
                let node = Self::node(set, Type::Bool, span);
                if *missing {
                    Self::node(IrKind::Not(Box::new(node)), Type::Bool, span)
                } else {
                    node
                }
            }
        })
    }

    fn constant_list(&mut self, list: &Expr) -> Result<Vec<u64>, LowerError> {
        let span = list.span;
        match &list.unparen().kind {
            ExprKind::List(items) => items.iter().map(|i| self.constant_word(i)).collect(),
            ExprKind::Name(n) => {
                let value = self
                    .sym
                    .const_values
                    .get(&n.name)
                    .ok_or_else(|| err(span, "not a list const"))?
                    .clone();
                match value {
                    ConstValue::List(items) => {
                        items.iter().map(|v| self.const_word(v, span)).collect()
                    }
                    _ => Err(err(span, "not a list")),
                }
            }
            _ => Err(err(span, "`in` needs a list")),
        }
    }

    fn constant_word(&mut self, e: &Expr) -> Result<u64, LowerError> {
        let x = self.lower(e)?;
        match x.kind {
            IrKind::Number(n) => Ok(n.to_bits()),
            IrKind::Text(s) => Ok(u64::from(s)),
            IrKind::Stage(c) => Ok(c),
            IrKind::Bool(b) => Ok(u64::from(b)),
            _ => Err(err(e.span, "list items must be constants")),
        }
    }

    fn const_word(&mut self, v: &ConstValue, span: Span) -> Result<u64, LowerError> {
        match v {
            ConstValue::Number(n) => Ok(n.to_bits()),
            ConstValue::Text(t) => Ok(u64::from(self.out.interner.intern(t))),
            ConstValue::Bool(b) => Ok(u64::from(*b)),
            ConstValue::Stage(name) => self
                .out
                .stages
                .code(name)
                .ok_or_else(|| err(span, "unknown stage")),
            ConstValue::List(_) => Err(err(span, "nested list")),
        }
    }

    fn binary(
        &mut self,
        span: Span,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
    ) -> Result<IrExpr, LowerError> {
        // `time ± duration` folds the duration into a shift.
        if let ExprKind::Duration(d) = &rhs.unparen().kind {
            let t = self.lower(lhs)?;
            let secs = d.seconds.round() as i64;
            let secs = if op == BinaryOp::Sub { -secs } else { secs };
            return Ok(Self::node(
                IrKind::TimeShift(Box::new(t), secs),
                Type::Time,
                span,
            ));
        }
        if let ExprKind::Duration(d) = &lhs.unparen().kind {
            let t = self.lower(rhs)?;
            return Ok(Self::node(
                IrKind::TimeShift(Box::new(t), d.seconds.round() as i64),
                Type::Time,
                span,
            ));
        }
        let l = Box::new(self.lower(lhs)?);
        let r = Box::new(self.lower(rhs)?);
        Ok(match op {
            BinaryOp::And => Self::node(IrKind::And(l, r), Type::Bool, span),
            BinaryOp::Or => Self::node(IrKind::Or(l, r), Type::Bool, span),
            BinaryOp::Add => Self::node(IrKind::Arith(ArithOp::Add, l, r), Type::Number, span),
            BinaryOp::Sub => Self::node(IrKind::Arith(ArithOp::Sub, l, r), Type::Number, span),
            BinaryOp::Mul => Self::node(IrKind::Arith(ArithOp::Mul, l, r), Type::Number, span),
            BinaryOp::Div => Self::node(IrKind::Arith(ArithOp::Div, l, r), Type::Number, span),
        })
    }

    /// A call of a built-in, lowered by the shape of its implementation in `stdlib`.
    fn call(&mut self, span: Span, name: &str, args: &[Expr]) -> Result<IrExpr, LowerError> {
        let b =
            stdlib::builtin(name).ok_or_else(|| err(span, format!("unknown function `{name}`")))?;
        if args.len() != b.params.len() {
            return Err(err(
                span,
                format!("`{name}` takes {} arguments", b.params.len()),
            ));
        }
        let kind = match b.implementation {
            Implementation::Now => IrKind::Now,
            Implementation::Engaged { .. } => {
                let t = match args.first().map(|a| &a.unparen().kind) {
                    Some(ExprKind::Name(n)) => n.name.clone(),
                    _ => return Err(err(span, "expected a template name")),
                };
                let idx = match self.out.templates.iter().position(|x| *x == t) {
                    Some(i) => i,
                    None => {
                        self.out.templates.push(t);
                        self.out.templates.len() - 1
                    }
                } as u32;
                IrKind::Engaged(b.id, idx)
            }
            Implementation::TextToText(_)
            | Implementation::TextToNumber(_)
            | Implementation::TextToBool(_)
            | Implementation::Number(_)
            | Implementation::Number2(_)
            | Implementation::Since(_) => {
                let lowered = args
                    .iter()
                    .map(|a| self.lower(a))
                    .collect::<Result<Vec<_>, _>>()?;
                IrKind::Call(b.id, lowered)
            }
        };
        Ok(Self::node(kind, b.result, span))
    }
}

fn slot_type(k: SlotKind) -> Type {
    match k {
        SlotKind::Number => Type::Number,
        SlotKind::Bool => Type::Bool,
        SlotKind::Time => Type::Time,
        SlotKind::Stage => Type::Stage,
        SlotKind::Text => Type::Text,
        SlotKind::Tags => Type::Tags,
    }
}
