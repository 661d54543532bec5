//! Name resolution, step one: every declaration of every file collected into one table per namespace, with clashes reported.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use grammar::ast::*;
use grammar::parser::BrokenDecl;
use grammar::{Diagnostic, Span};
use stdlib::{ElemType, Type};

use crate::codes;

/// A lead field: declared in `lead { … }` or built in.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldInfo {
    pub ty: Type,
    pub writable: bool,
    /// Where it is declared; `None` for built-in fields.
    pub span: Option<Span>,
    /// Index in the lead layout (built-ins first, then declared fields in program order).
    pub slot: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConstInfo {
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageInfo {
    pub name: String,
    /// Position in the funnel; `None` for stages after `|`.
    pub funnel: Option<usize>,
    pub span: Option<Span>,
}

/// What a bare name in an expression means.
#[derive(Debug, Clone, PartialEq)]
pub enum Bare {
    Field(FieldInfo),
    Segment(Span),
    Const(ConstInfo),
    Stage(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventInfo {
    pub props: Vec<(String, Type)>,
    pub span: Option<Span>,
    /// May an input (a scenario, a test, the API) send this event?
    pub from_outside: bool,
    /// Properties declared with a type that could not be read: the type is the error,
    /// their uses are not checked.
    pub unreadable: Vec<String>,
}

impl EventInfo {
    pub fn prop(&self, name: &str) -> Option<Type> {
        self.props.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamInfo {
    pub span: Span,
    pub has_hours: bool,
    pub has_manager: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandoffInfo {
    pub span: Span,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateInfo {
    pub span: Span,
    pub has_unsubscribe: bool,
}

/// The result of [`Symbols::diff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolsDiff {
    Same,
    /// The same declarations, some at other places.
    SpansOnly,
    Changed,
}

/// A const's value, without spans (so moving a const is not changing it).
#[derive(Debug, Clone, PartialEq)]
pub enum ConstValue {
    Number(f64),
    Text(String),
    Bool(bool),
    Stage(String),
    List(Vec<ConstValue>),
}

impl ConstValue {
    pub fn of(lit: &Literal) -> ConstValue {
        match &lit.kind {
            LiteralKind::Number { value, .. } => ConstValue::Number(*value),
            LiteralKind::Text(t) => ConstValue::Text(t.value.clone()),
            LiteralKind::Bool(b) => ConstValue::Bool(*b),
            LiteralKind::Name(n) => ConstValue::Stage(n.name.clone()),
            LiteralKind::List(items) => {
                ConstValue::List(items.iter().map(ConstValue::of).collect())
            }
        }
    }
}

/// Every declared name of a program, by namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Symbols {
    pub timezone: Option<(String, Span)>,
    pub bare: HashMap<String, Bare>,
    pub stages: Vec<StageInfo>,
    pub events: HashMap<String, EventInfo>,
    pub scores: HashMap<String, Span>,
    pub rules: HashMap<String, Span>,
    pub journeys: HashMap<String, Span>,
    pub teams: HashMap<String, TeamInfo>,
    pub handoffs: HashMap<String, HandoffInfo>,
    pub schedules: HashMap<String, Span>,
    pub templates: HashMap<String, TemplateInfo>,
    /// Webhook names from `tandem.toml`; `None` when the program has no config to check against.
    pub webhooks: Option<Vec<String>>,
    /// Number of lead fields (built-in and declared).
    pub field_count: usize,
    /// The values of `const` declarations.
    pub const_values: HashMap<String, ConstValue>,
    /// Bare names declared by a declaration that does not parse, whose type could not be
    /// read (a broken `const`, a field of a broken `lead` without a readable type): the
    /// syntax error is reported, their uses are not.
    pub unreadable: HashSet<String>,
}

/// Built-in lead fields: name, type, writable by `set`.
pub const BUILTIN_FIELDS: &[(&str, Type, bool)] = &[
    ("id", Type::Text, false),
    ("email", Type::Text, true),
    ("created_at", Type::Time, false),
    ("stage", Type::Stage, true),
    ("owner", Type::Text, true),
    ("timezone", Type::Text, true),
    ("unsubscribed", Type::Bool, false),
    ("bounced", Type::Bool, false),
    ("last_activity_at", Type::Time, false),
    ("tags", Type::Tags, false),
];

/// A built-in event: name, properties, whether an input may send it.
pub type BuiltinEvent = (&'static str, &'static [(&'static str, Type)], bool);

/// Built-in events (spec 4.4).
pub const BUILTIN_EVENTS: &[BuiltinEvent] = &[
    ("lead_created", &[], false),
    ("lead_updated", &[], false),
    ("email_sent", &[("template", Type::Text)], false),
    ("email_opened", &[("template", Type::Text)], true),
    ("email_bounced", &[("template", Type::Text)], true),
    (
        "email_clicked",
        &[("template", Type::Text), ("url", Type::Text)],
        true,
    ),
    ("unsubscribed", &[], true),
    ("resubscribed", &[], true),
    (
        "stage_changed",
        &[("from", Type::Stage), ("to", Type::Stage)],
        false,
    ),
    (
        "task_created",
        &[("handoff", Type::Text), ("assignee", Type::Text)],
        false,
    ),
    (
        "task_accepted",
        &[("handoff", Type::Text), ("by", Type::Text)],
        false,
    ),
    (
        "task_completed",
        &[("handoff", Type::Text), ("by", Type::Text)],
        false,
    ),
    (
        "task_rejected",
        &[
            ("handoff", Type::Text),
            ("by", Type::Text),
            ("reason", Type::Text),
        ],
        false,
    ),
];

pub const DEFAULT_STAGES: &[&str] = &[
    "subscriber",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
];
pub const DEFAULT_OUTSIDE_STAGES: &[&str] = &["disqualified"];

/// A template file found in the program folder (checked separately, see `templates`).
#[derive(Debug, Clone)]
pub struct TemplateName {
    pub name: String,
    pub span: Span,
}

fn clash(diags: &mut Vec<Diagnostic>, what: &str, name: &Ident, first: Option<Span>) {
    let mut d = Diagnostic::error(
        codes::DUPLICATE,
        name.span,
        format!("{what} `{}` is declared more than once", name.name),
    );
    match first {
        Some(s) => d = d.with_related(s, "first declared here"),
        None => d = d.with_help(format!("`{}` is built in; choose another name", name.name)),
    }
    diags.push(d);
}

fn insert_unique<T>(
    map: &mut HashMap<String, T>,
    diags: &mut Vec<Diagnostic>,
    what: &str,
    name: &Ident,
    value: T,
    span_of: impl Fn(&T) -> Option<Span>,
) {
    if name.name.is_empty() {
        return;
    }
    if let Some(prev) = map.get(&name.name) {
        clash(diags, what, name, span_of(prev));
        return;
    }
    map.insert(name.name.clone(), value);
}

/// The type of a literal as written in a `const` or a default.
pub fn literal_type(lit: &Literal) -> Option<Type> {
    match &lit.kind {
        LiteralKind::Number { .. } => Some(Type::Number),
        LiteralKind::Text(_) => Some(Type::Text),
        LiteralKind::Bool(_) => Some(Type::Bool),
        LiteralKind::Name(_) => Some(Type::Stage),
        LiteralKind::List(items) => {
            let first = items.first().and_then(literal_type).unwrap_or(Type::Text);
            first.elem().map(Type::List)
        }
    }
}

/// Collects the symbols of all files. Template names come from the program folder.
/// `broken` are the declarations that did not parse: the names they still declare are
/// added where nothing else declares them, so that their uses are not reported.
pub fn collect(
    files: &[&SourceFile],
    broken: &[&BrokenDecl],
    templates: &[TemplateName],
    webhooks: Option<Vec<String>>,
    diags: &mut Vec<Diagnostic>,
) -> Symbols {
    let mut s = Symbols {
        webhooks,
        ..Symbols::default()
    };
    for (i, (name, ty, writable)) in BUILTIN_FIELDS.iter().enumerate() {
        s.bare.insert(
            (*name).to_owned(),
            Bare::Field(FieldInfo {
                ty: *ty,
                writable: *writable,
                span: None,
                slot: i,
            }),
        );
    }
    for (name, props, outside) in BUILTIN_EVENTS {
        s.events.insert(
            (*name).to_owned(),
            EventInfo {
                props: props.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect(),
                span: None,
                from_outside: *outside,
                unreadable: Vec::new(),
            },
        );
    }
    let mut slot = BUILTIN_FIELDS.len();
    let mut lead_span: Option<Span> = None;
    let mut stages_span: Option<Span> = None;
    let mut sending_span: Option<Span> = None;

    // Stages first: they are bare names too, and the default applies when none is declared.
    for file in files {
        for decl in &file.decls {
            if let DeclKind::Stages(st) = &decl.kind {
                if let Some(prev) = stages_span {
                    diags.push(
                        Diagnostic::error(
                            codes::SINGLETON,
                            decl.span,
                            "a program has at most one `stages` list",
                        )
                        .with_related(prev, "first declared here"),
                    );
                    continue;
                }
                stages_span = Some(keyword_span(decl));
                for (i, n) in st.funnel.iter().enumerate() {
                    s.stages.push(StageInfo {
                        name: n.name.clone(),
                        funnel: Some(i),
                        span: Some(n.span),
                    });
                }
                for n in &st.outside {
                    s.stages.push(StageInfo {
                        name: n.name.clone(),
                        funnel: None,
                        span: Some(n.span),
                    });
                }
                if st.funnel.len() < 2 {
                    diags.push(Diagnostic::error(
                        codes::SINGLETON,
                        decl.span,
                        "the funnel needs at least two stages: new leads start in the second one",
                    ));
                }
            }
        }
    }
    let broken_stages = broken.iter().find(|b| b.keyword == "stages");
    if let (None, Some(b)) = (stages_span, broken_stages) {
        // A stage list that does not parse: its words, in order, are the stages.
        let bar = b.bar.unwrap_or(b.words.len());
        for (i, n) in b.words.iter().enumerate() {
            if s.stages.iter().any(|st| st.name == n.name) {
                continue;
            }
            s.stages.push(StageInfo {
                name: n.name.clone(),
                funnel: (i < bar).then_some(i),
                span: Some(n.span),
            });
        }
    } else if stages_span.is_none() {
        for (i, n) in DEFAULT_STAGES.iter().enumerate() {
            s.stages.push(StageInfo {
                name: (*n).to_owned(),
                funnel: Some(i),
                span: None,
            });
        }
        for n in DEFAULT_OUTSIDE_STAGES {
            s.stages.push(StageInfo {
                name: (*n).to_owned(),
                funnel: None,
                span: None,
            });
        }
    }
    for (i, st) in s.stages.clone().iter().enumerate() {
        let ident = Ident {
            name: st.name.clone(),
            span: st.span.unwrap_or_default(),
        };
        let stages = s.stages.clone();
        insert_unique(
            &mut s.bare,
            diags,
            "the name",
            &ident,
            Bare::Stage(i),
            |b| bare_span(b, &stages),
        );
    }

    for file in files {
        for decl in &file.decls {
            match &decl.kind {
                DeclKind::Timezone(tz) => {
                    if let Some((_, prev)) = &s.timezone {
                        diags.push(
                            Diagnostic::error(
                                codes::TIMEZONE,
                                keyword_span(decl),
                                "a program has exactly one `timezone`; remove this one",
                            )
                            .with_related(*prev, "first declared here"),
                        );
                    } else {
                        s.timezone = Some((tz.value.clone(), tz.span));
                    }
                }
                DeclKind::Lead(lead) => {
                    if let Some(prev) = lead_span {
                        // Report it, but still learn its fields so they do not cascade into unknown names.
                        diags.push(
                            Diagnostic::error(
                                codes::SINGLETON,
                                keyword_span(decl),
                                "a program has exactly one `lead` schema; merge these fields into the first one",
                            )
                            .with_related(prev, "first declared here"),
                        );
                    } else {
                        lead_span = Some(keyword_span(decl));
                    }
                    for f in &lead.fields {
                        let ty = match Type::from_decl_name(&f.ty.name) {
                            Some(t) => t,
                            None => {
                                diags.push(
                                    Diagnostic::error(
                                        codes::UNKNOWN_TYPE,
                                        f.ty.span,
                                        format!("`{}` is not a field type", f.ty.name),
                                    )
                                    .with_help("a field is `text`, `number`, `bool` or `time`"),
                                );
                                // Its uses are not checked: the wrong type is the one mistake.
                                if !s.bare.contains_key(&f.name.name) {
                                    s.unreadable.insert(f.name.name.clone());
                                }
                                continue;
                            }
                        };
                        insert_unique(
                            &mut s.bare,
                            diags,
                            "the name",
                            &f.name,
                            Bare::Field(FieldInfo {
                                ty,
                                writable: true,
                                span: Some(f.name.span),
                                slot,
                            }),
                            |b| bare_span(b, &s.stages),
                        );
                        slot += 1;
                    }
                }
                DeclKind::Event(ev) => {
                    let mut props: Vec<(String, Type)> = Vec::new();
                    let mut unreadable: Vec<String> = Vec::new();
                    for p in &ev.props {
                        if props.iter().any(|(n, _)| *n == p.name.name) {
                            clash(diags, "the property", &p.name, None);
                            continue;
                        }
                        match Type::from_decl_name(&p.ty.name) {
                            Some(t) => props.push((p.name.name.clone(), t)),
                            None => {
                                diags.push(
                                    Diagnostic::error(
                                        codes::UNKNOWN_TYPE,
                                        p.ty.span,
                                        format!("`{}` is not a property type", p.ty.name),
                                    )
                                    .with_help("a property is `text`, `number`, `bool` or `time`"),
                                );
                                unreadable.push(p.name.name.clone());
                            }
                        }
                    }
                    insert_unique(
                        &mut s.events,
                        diags,
                        "the event",
                        &ev.name,
                        EventInfo {
                            props,
                            span: Some(ev.name.span),
                            from_outside: true,
                            unreadable,
                        },
                        |e| e.span,
                    );
                }
                DeclKind::Const(c) => {
                    let ty = literal_type(&c.value).unwrap_or(Type::Text);
                    s.const_values
                        .entry(c.name.name.clone())
                        .or_insert_with(|| ConstValue::of(&c.value));
                    insert_unique(
                        &mut s.bare,
                        diags,
                        "the name",
                        &c.name,
                        Bare::Const(ConstInfo {
                            ty,
                            span: c.name.span,
                        }),
                        |b| bare_span(b, &s.stages),
                    );
                }
                DeclKind::Segment(seg) => {
                    insert_unique(
                        &mut s.bare,
                        diags,
                        "the name",
                        &seg.name,
                        Bare::Segment(seg.name.span),
                        |b| bare_span(b, &s.stages),
                    );
                }
                DeclKind::Score(sc) => insert_unique(
                    &mut s.scores,
                    diags,
                    "the score",
                    &sc.name,
                    sc.name.span,
                    |x| Some(*x),
                ),
                DeclKind::Rule(r) => {
                    insert_unique(&mut s.rules, diags, "the rule", &r.name, r.name.span, |x| {
                        Some(*x)
                    })
                }
                DeclKind::Journey(j) => insert_unique(
                    &mut s.journeys,
                    diags,
                    "the journey",
                    &j.name,
                    j.name.span,
                    |x| Some(*x),
                ),
                DeclKind::Team(t) => {
                    let info = TeamInfo {
                        span: t.name.span,
                        has_hours: t
                            .items
                            .iter()
                            .any(|i| matches!(i.kind, TeamItemKind::Hours { .. })),
                        has_manager: t
                            .items
                            .iter()
                            .any(|i| matches!(i.kind, TeamItemKind::Manager(_))),
                    };
                    insert_unique(&mut s.teams, diags, "the team", &t.name, info, |x| {
                        Some(x.span)
                    })
                }
                DeclKind::Handoff(h) => {
                    let reasons = h
                        .items
                        .iter()
                        .filter_map(|i| match &i.kind {
                            HandoffItemKind::Reasons(r) => {
                                Some(r.iter().map(|r| r.name.name.clone()))
                            }
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    insert_unique(
                        &mut s.handoffs,
                        diags,
                        "the handoff",
                        &h.name,
                        HandoffInfo {
                            span: h.name.span,
                            reasons,
                        },
                        |x| Some(x.span),
                    )
                }
                DeclKind::Schedule(sc) => insert_unique(
                    &mut s.schedules,
                    diags,
                    "the schedule",
                    &sc.name,
                    sc.name.span,
                    |x| Some(*x),
                ),
                DeclKind::Sending(_) => {
                    if let Some(prev) = sending_span {
                        diags.push(
                            Diagnostic::error(
                                codes::SINGLETON,
                                decl.span,
                                "a program has at most one `sending` policy",
                            )
                            .with_related(prev, "first declared here"),
                        );
                    }
                    sending_span = Some(decl.span);
                }
                DeclKind::Stages(_) | DeclKind::Test(_) => {}
            }
        }
    }
    for b in broken {
        slot = s.learn_broken(b, slot);
    }
    for t in templates {
        let ident = Ident {
            name: t.name.clone(),
            span: t.span,
        };
        insert_unique(
            &mut s.templates,
            diags,
            "the template",
            &ident,
            TemplateInfo {
                span: t.span,
                has_unsubscribe: false,
            },
            |x| Some(x.span),
        );
    }
    s.field_count = slot;
    s
}

/// The span of the word that starts a declaration (`lead`, `stages`, …): short labels for long blocks.
fn keyword_span(decl: &Decl) -> Span {
    let len = decl.kind.keyword().len();
    Span::new(
        decl.span.file,
        decl.span.start as usize,
        decl.span.start as usize + len,
    )
}

fn bare_span(b: &Bare, stages: &[StageInfo]) -> Option<Span> {
    match b {
        Bare::Field(f) => f.span,
        Bare::Segment(s) => Some(*s),
        Bare::Const(c) => Some(c.span),
        Bare::Stage(i) => stages.get(*i).and_then(|s| s.span),
    }
}

impl Symbols {
    /// Adds what a declaration that does not parse still declares, where the name is
    /// free (a clash is not reported: the syntax error is). Returns the next field slot.
    fn learn_broken(&mut self, b: &BrokenDecl, mut slot: usize) -> usize {
        let name = b.name.as_ref().filter(|n| !n.name.is_empty());
        match (b.keyword, name) {
            ("lead", _) => {
                let mut loose: Vec<&Ident> = Vec::new();
                for (field, ty) in &b.typed {
                    match Type::from_decl_name(&ty.name) {
                        Some(t) if !self.bare.contains_key(&field.name) => {
                            self.bare.insert(
                                field.name.clone(),
                                Bare::Field(FieldInfo {
                                    ty: t,
                                    writable: true,
                                    span: Some(field.span),
                                    slot,
                                }),
                            );
                            slot += 1;
                        }
                        Some(_) => {}
                        None => loose.push(field),
                    }
                }
                // Words not read as `NAME: TYPE` may be fields too (`size number`, a
                // missing colon): their uses are not checked either.
                for w in loose.into_iter().chain(&b.words) {
                    if !self.bare.contains_key(&w.name) && Type::from_decl_name(&w.name).is_none() {
                        self.unreadable.insert(w.name.clone());
                    }
                }
            }
            ("event", Some(n)) if !self.events.contains_key(&n.name) => {
                let mut props: Vec<(String, Type)> = Vec::new();
                let mut unreadable: Vec<String> = Vec::new();
                for (p, ty) in &b.typed {
                    match Type::from_decl_name(&ty.name) {
                        Some(t) if !props.iter().any(|(q, _)| *q == p.name) => {
                            props.push((p.name.clone(), t));
                        }
                        Some(_) => {}
                        None => unreadable.push(p.name.clone()),
                    }
                }
                // Words not read as `NAME: TYPE` may be properties too.
                unreadable.extend(b.words.iter().map(|w| w.name.clone()));
                self.events.insert(
                    n.name.clone(),
                    EventInfo {
                        props,
                        span: Some(n.span),
                        from_outside: true,
                        unreadable,
                    },
                );
            }
            ("const", Some(n)) if !self.bare.contains_key(&n.name) => {
                self.unreadable.insert(n.name.clone());
            }
            ("segment", Some(n)) if !self.bare.contains_key(&n.name) => {
                self.bare.insert(n.name.clone(), Bare::Segment(n.span));
            }
            ("score", Some(n)) => {
                self.scores.entry(n.name.clone()).or_insert(n.span);
            }
            ("rule", Some(n)) => {
                self.rules.entry(n.name.clone()).or_insert(n.span);
            }
            ("journey", Some(n)) => {
                self.journeys.entry(n.name.clone()).or_insert(n.span);
            }
            ("schedule", Some(n)) => {
                self.schedules.entry(n.name.clone()).or_insert(n.span);
            }
            // What the team's broken lines said is unknown: assume what its uses need.
            ("team", Some(n)) => {
                self.teams.entry(n.name.clone()).or_insert(TeamInfo {
                    span: n.span,
                    has_hours: true,
                    has_manager: true,
                });
            }
            // Any word may be one of its reasons.
            ("handoff", Some(n)) => {
                self.handoffs
                    .entry(n.name.clone())
                    .or_insert_with(|| HandoffInfo {
                        span: n.span,
                        reasons: b.words.iter().map(|w| w.name.clone()).collect(),
                    });
            }
            _ => {}
        }
        slot
    }

    /// How this table differs from `newer`: not at all, only in where things are
    /// declared (an edit moved text), or in what is declared. One pass over both.
    /// Templates' unsubscribe flags are compared only when `with_flags`.
    pub fn diff(&self, newer: &Symbols, with_flags: bool) -> SymbolsDiff {
        let mut spans_same = true;
        let mut track = |a: Option<Span>, b: Option<Span>| spans_same &= a == b;
        fn map_eq<V>(
            a: &HashMap<String, V>,
            b: &HashMap<String, V>,
            mut f: impl FnMut(&V, &V) -> bool,
        ) -> bool {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| f(v, w)))
        }
        let mut bare_eq = |a: &Bare, b: &Bare| match (a, b) {
            (Bare::Field(x), Bare::Field(y)) => {
                track(x.span, y.span);
                x.ty == y.ty && x.writable == y.writable && x.slot == y.slot
            }
            (Bare::Segment(x), Bare::Segment(y)) => {
                track(Some(*x), Some(*y));
                true
            }
            (Bare::Const(x), Bare::Const(y)) => {
                track(Some(x.span), Some(y.span));
                x.ty == y.ty
            }
            (Bare::Stage(x), Bare::Stage(y)) => x == y,
            _ => false,
        };
        let mut same = map_eq(&self.bare, &newer.bare, &mut bare_eq);
        let mut span_map = |a: &Span, b: &Span| {
            spans_same &= a == b;
            true
        };
        same = same
            && map_eq(&self.scores, &newer.scores, &mut span_map)
            && map_eq(&self.rules, &newer.rules, &mut span_map)
            && map_eq(&self.journeys, &newer.journeys, &mut span_map)
            && map_eq(&self.schedules, &newer.schedules, &mut span_map);
        same =
            same && map_eq(&self.events, &newer.events, |a, b| {
                spans_same &= a.span == b.span;
                a.props == b.props && a.from_outside == b.from_outside
            }) && map_eq(&self.teams, &newer.teams, |a, b| {
                spans_same &= a.span == b.span;
                a.has_hours == b.has_hours && a.has_manager == b.has_manager
            }) && map_eq(&self.handoffs, &newer.handoffs, |a, b| {
                spans_same &= a.span == b.span;
                a.reasons == b.reasons
            }) && map_eq(&self.templates, &newer.templates, |a, b| {
                spans_same &= a.span == b.span;
                !with_flags || a.has_unsubscribe == b.has_unsubscribe
            });
        spans_same &= self.timezone == newer.timezone
            && self
                .stages
                .iter()
                .zip(&newer.stages)
                .all(|(a, b)| a.span == b.span);
        same = same
            && self.timezone.as_ref().map(|t| &t.0) == newer.timezone.as_ref().map(|t| &t.0)
            && self.stages.len() == newer.stages.len()
            && self
                .stages
                .iter()
                .zip(&newer.stages)
                .all(|(a, b)| a.name == b.name && a.funnel == b.funnel)
            && self.const_values == newer.const_values
            && self.unreadable == newer.unreadable
            && self.webhooks == newer.webhooks
            && self.field_count == newer.field_count;
        match (same, spans_same) {
            (false, _) => SymbolsDiff::Changed,
            (true, false) => SymbolsDiff::SpansOnly,
            (true, true) => SymbolsDiff::Same,
        }
    }

    /// Every bare name, for "did you mean" suggestions.
    pub fn bare_names(&self) -> impl Iterator<Item = &str> {
        self.bare.keys().map(String::as_str)
    }

    pub fn stage_index(&self, name: &str) -> Option<usize> {
        match self.bare.get(name) {
            Some(Bare::Stage(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn elem_of_const(&self, name: &str) -> Option<ElemType> {
        match self.bare.get(name) {
            Some(Bare::Const(ConstInfo {
                ty: Type::List(e), ..
            })) => Some(*e),
            _ => None,
        }
    }
}
