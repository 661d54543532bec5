//! What an editor asks about a program, answered from a checked `compiler::Workspace` in byte offsets: the name under the cursor, its declaration, its uses, completions, hovers and document symbols. Pure: no I/O and no protocol types (`server.rs` converts).

use std::collections::HashMap;
use std::ops::Range;

use compiler::symbols::Bare;
use compiler::workspace::{FileKind, Workspace};
use grammar::ast::{DeclKind, HandoffItemKind};
use grammar::{FileId, Span};

/// What a declared name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    Field,
    Score,
    Segment,
    Const,
    Stage,
    Event,
    /// An event property (`event.form`).
    Prop,
    Rule,
    Journey,
    Team,
    Handoff,
    Reason,
    Schedule,
    Template,
}

impl NameKind {
    /// The word for it in hovers and completion details.
    pub fn word(self) -> &'static str {
        match self {
            NameKind::Field => "lead field",
            NameKind::Score => "score",
            NameKind::Segment => "segment",
            NameKind::Const => "const",
            NameKind::Stage => "stage",
            NameKind::Event => "event",
            NameKind::Prop => "event property",
            NameKind::Rule => "rule",
            NameKind::Journey => "journey",
            NameKind::Team => "team",
            NameKind::Handoff => "handoff",
            NameKind::Reason => "reject reason",
            NameKind::Schedule => "schedule",
            NameKind::Template => "template",
        }
    }
}

/// One declaration of a name: where its name is written and the whole declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    pub kind: NameKind,
    pub name: String,
    /// The name as written (for a template: the start of its file).
    pub name_span: Span,
    /// The whole declaration (for hovers that show its source).
    pub decl_span: Span,
    /// For a property or a reason: the event or handoff it belongs to.
    pub owner: Option<String>,
}

/// Every declaration of the program's journey files and templates.
pub fn declarations(ws: &Workspace) -> Vec<Declaration> {
    let mut out = Vec::new();
    let mut push = |kind, name: &grammar::ast::Ident, decl_span: Span, owner: Option<&str>| {
        out.push(Declaration {
            kind,
            name: name.name.clone(),
            name_span: name.span,
            decl_span,
            owner: owner.map(str::to_owned),
        });
    };
    for (_, file) in ws.program_files() {
        for decl in &file.decls {
            let span = decl.span;
            match &decl.kind {
                DeclKind::Lead(l) => {
                    for f in &l.fields {
                        push(NameKind::Field, &f.name, f.span, None);
                    }
                }
                DeclKind::Stages(s) => {
                    for st in s.funnel.iter().chain(&s.outside) {
                        push(NameKind::Stage, st, span, None);
                    }
                }
                DeclKind::Event(e) => {
                    push(NameKind::Event, &e.name, span, None);
                    for p in &e.props {
                        push(NameKind::Prop, &p.name, p.span, Some(&e.name.name));
                    }
                }
                DeclKind::Const(c) => push(NameKind::Const, &c.name, span, None),
                DeclKind::Segment(s) => push(NameKind::Segment, &s.name, span, None),
                DeclKind::Score(s) => push(NameKind::Score, &s.name, span, None),
                DeclKind::Rule(r) => push(NameKind::Rule, &r.name, span, None),
                DeclKind::Journey(j) => push(NameKind::Journey, &j.name, span, None),
                DeclKind::Team(t) => push(NameKind::Team, &t.name, span, None),
                DeclKind::Handoff(h) => {
                    push(NameKind::Handoff, &h.name, span, None);
                    for item in &h.items {
                        if let HandoffItemKind::Reasons(reasons) = &item.kind {
                            for r in reasons {
                                push(NameKind::Reason, &r.name, r.name.span, Some(&h.name.name));
                            }
                        }
                    }
                }
                DeclKind::Schedule(s) => push(NameKind::Schedule, &s.name, span, None),
                DeclKind::Timezone(_) | DeclKind::Sending(_) | DeclKind::Test(_) => {}
            }
        }
    }
    for (i, f) in ws.files().iter().enumerate() {
        if f.kind != FileKind::Template {
            continue;
        }
        if let Some(name) = compiler::template_name(&f.path) {
            let start = Span::new(FileId::try_from(i).unwrap_or(FileId::MAX), 0, 0);
            out.push(Declaration {
                kind: NameKind::Template,
                name: name.to_owned(),
                name_span: start,
                decl_span: start,
                owner: None,
            });
        }
    }
    out
}

/// An identifier occurrence in a journey file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub range: (usize, usize),
    /// Written right after `event.` (a property).
    pub after_event_dot: bool,
    /// Followed by `(` (a function call).
    pub called: bool,
}

/// The identifiers of a journey file, outside comments and text literals.
pub fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            let after_event_dot = start >= 6 && &bytes[start - 6..start] == b"event.";
            let mut j = i;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            out.push(Token {
                range: (start, i),
                after_event_dot,
                called: bytes.get(j) == Some(&b'('),
            });
        } else if b.is_ascii_digit() {
            // A number, a duration count, a clock time or a date: not a name.
            while i < bytes.len() && (ident(bytes[i]) || bytes[i] == b'.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The identifier at or just before `offset`.
pub fn token_at(text: &str, offset: usize) -> Option<Token> {
    tokens(text)
        .into_iter()
        .find(|t| t.range.0 <= offset && offset <= t.range.1)
}

/// What the token at `offset` of `file` names, best match first.
pub fn resolve(ws: &Workspace, file: FileId, offset: usize) -> Option<(Token, Vec<Declaration>)> {
    let text = &ws.file(file)?.text;
    let token = token_at(text, offset)?;
    let name = &text[token.range.0..token.range.1];
    let decls = declarations(ws);
    // On a declaration's own name: exactly that declaration.
    if let Some(d) = decls
        .iter()
        .find(|d| d.name_span.file == file && d.name_span.range() == (token.range.0..token.range.1))
    {
        return Some((token, vec![d.clone()]));
    }
    let found: Vec<Declaration> = decls
        .into_iter()
        .filter(|d| d.name == name)
        .filter(|d| (d.kind == NameKind::Prop) == token.after_event_dot)
        .collect();
    Some((token, found))
}

/// In test blocks: the property keys of literal events (with their event), and the
/// test's own lead names (local to the test, never a declaration's use).
fn test_names(ws: &Workspace) -> (Vec<(Span, String)>, Vec<Span>) {
    use grammar::ast::TestStmtKind;
    let mut keys = Vec::new();
    let mut leads = Vec::new();
    for (_, file) in ws.program_files() {
        for decl in &file.decls {
            let DeclKind::Test(t) = &decl.kind else {
                continue;
            };
            for stmt in &t.stmts {
                match &stmt.kind {
                    TestStmtKind::Event { lead, event, props } => {
                        leads.push(lead.span);
                        keys.extend(props.iter().map(|p| (p.name.span, event.name.clone())));
                    }
                    TestStmtKind::Lead { lead, .. }
                    | TestStmtKind::Update { lead, .. }
                    | TestStmtKind::Task { lead, .. }
                    | TestStmtKind::Expect { lead, .. } => leads.push(lead.span),
                    TestStmtKind::Start { .. } | TestStmtKind::Advance(_) => {}
                }
            }
        }
    }
    (keys, leads)
}

/// Every place the declaration's name is used or declared, by file.
pub fn references(ws: &Workspace, target: &Declaration) -> Vec<Span> {
    let decls = declarations(ws);
    let (prop_keys, test_leads) = test_names(ws);
    // Names declared as something else at these places are not uses of `target`.
    let mut elsewhere: Vec<Span> = decls
        .iter()
        .filter(|d| d.kind != target.kind && d.name == target.name)
        .map(|d| d.name_span)
        .collect();
    elsewhere.extend(test_leads);
    // A test's literal event `{ form: … }` names properties of that event.
    let mut keyed = Vec::new();
    for (span, event) in prop_keys {
        if target.kind == NameKind::Prop && target.owner.as_deref() == Some(event.as_str()) {
            keyed.push(span);
        } else {
            elsewhere.push(span);
        }
    }
    let same: Vec<&Declaration> = decls
        .iter()
        .filter(|d| d.kind == target.kind && d.name == target.name)
        .collect();
    let mut out = Vec::new();
    for (i, f) in ws.files().iter().enumerate() {
        if f.kind != FileKind::Journey {
            continue;
        }
        let id = FileId::try_from(i).unwrap_or(FileId::MAX);
        for t in tokens(&f.text) {
            if f.text[t.range.0..t.range.1] != target.name {
                continue;
            }
            let span = Span::new(id, t.range.0, t.range.1);
            let is_decl_of_target =
                same.iter().any(|d| d.name_span == span) || keyed.contains(&span);
            if elsewhere.contains(&span) {
                continue;
            }
            if !is_decl_of_target && (target.kind == NameKind::Prop) != t.after_event_dot {
                continue;
            }
            out.push(span);
        }
    }
    out
}

/// Why a rename is refused, or the places to rewrite.
pub fn rename(
    ws: &Workspace,
    file: FileId,
    offset: usize,
    new_name: &str,
) -> Result<Vec<Span>, String> {
    if !grammar::suggest::is_ident(new_name) {
        return Err(format!(
            "`{new_name}` is not a name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    if RESERVED.contains(&new_name) {
        return Err(format!("`{new_name}` is a reserved word"));
    }
    let Some((_, decls)) = resolve(ws, file, offset) else {
        return Err("no name here".into());
    };
    let Some(target) = decls.first() else {
        return Err(
            "this name is built in or not declared in the program, so it cannot be renamed".into(),
        );
    };
    if target.kind == NameKind::Template {
        return Err("a template is named by its file: rename the file in templates/".into());
    }
    if declarations(ws)
        .iter()
        .any(|d| d.kind == target.kind && d.name == new_name && d.owner == target.owner)
    {
        return Err(format!(
            "a {} named `{new_name}` exists already",
            target.kind.word()
        ));
    }
    Ok(references(ws, target))
}

/// The words no name may take.
pub const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "true", "false", "if", "else", "between", "contains", "matches",
];

/// Contextual keywords offered by completion (the language's statement and clause words).
pub const KEYWORDS: &[&str] = &[
    "timezone",
    "lead",
    "stages",
    "event",
    "const",
    "segment",
    "score",
    "rule",
    "journey",
    "team",
    "handoff",
    "schedule",
    "sending",
    "test",
    "when",
    "then",
    "enter",
    "on",
    "where",
    "exit",
    "goal",
    "reenter",
    "after",
    "never",
    "send",
    "wait",
    "until",
    "for",
    "timeout",
    "up",
    "to",
    "split",
    "set",
    "tag",
    "untag",
    "notify",
    "webhook",
    "stop",
    "decay",
    "every",
    "clamp",
    "count",
    "within",
    "members",
    "manager",
    "hours",
    "closed",
    "open",
    "assign",
    "round_robin",
    "least_open",
    "task",
    "sla",
    "accept",
    "first_touch",
    "escalate",
    "reassign",
    "reasons",
    "reject",
    "complete",
    "report",
    "quiet",
    "at",
    "most",
    "emails",
    "per",
    "from",
    "expect",
    "start",
    "receive",
    "advance",
    "days",
    "hours",
    "minutes",
    "weeks",
    "business",
    "before",
    "holidays",
    "escalated",
    "reassigned",
    "notified",
];

/// One completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub label: String,
    /// `None` for a keyword or a built-in function.
    pub kind: Option<NameKind>,
    /// A short line: the type or signature.
    pub detail: String,
    /// Longer documentation (built-ins).
    pub doc: Option<String>,
    /// Built-in functions complete with their parentheses.
    pub function: bool,
}

fn field_type(ws: &Workspace, name: &str) -> Option<String> {
    match ws.symbols().bare.get(name) {
        Some(Bare::Field(f)) => Some(f.ty.to_string()),
        Some(Bare::Const(c)) => Some(c.ty.to_string()),
        _ => None,
    }
}

/// The line holding the `{` that is still open at the end of `text` (braces in strings and
/// comments do not count), or `None` at the top level.
fn enclosing_block_line(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    for line in text.rsplit('\n') {
        // The braces of this line, outside strings and comments, right to left.
        let mut braces = Vec::new();
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'#' => break,
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b @ (b'{' | b'}') => braces.push(b),
                _ => {}
            }
            i += 1;
        }
        for b in braces.into_iter().rev() {
            if b == b'}' {
                depth += 1;
            } else if depth == 0 {
                return Some(line);
            } else {
                depth -= 1;
            }
        }
    }
    None
}

/// What may be written at `offset`: after `event.` the events' properties; after `send`,
/// `opened(` or `clicked(` the templates; elsewhere every name of the program, the
/// built-in functions and the keywords.
pub fn completions(ws: &Workspace, file: FileId, offset: usize) -> Vec<Completion> {
    let Some(entry) = ws.file(file) else {
        return Vec::new();
    };
    let text = &entry.text;
    let mut start = offset.min(text.len());
    while start > 0
        && (text.as_bytes()[start - 1].is_ascii_alphanumeric()
            || text.as_bytes()[start - 1] == b'_')
    {
        start -= 1;
    }
    let before = &text[..text.floor_char_boundary(start)];
    let sym = ws.symbols();
    let mut out = Vec::new();
    if before.ends_with("event.") {
        // In `on X where …`, `count(X where …)` or `wait for X where …` only X's
        // properties; the event is the last event name earlier on the line.
        // Inside the `{ … }` of `enter on X … then`, X's properties.
        let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
        let last_event = |line: &'_ str| {
            tokens(line)
                .into_iter()
                .rev()
                .map(|t| line[t.range.0..t.range.1].to_owned())
                .find(|w| sym.events.contains_key(w))
        };
        let named = last_event(line).or_else(|| {
            enclosing_block_line(before)
                .filter(|l| {
                    let words: Vec<&str> =
                        tokens(l).iter().map(|t| &l[t.range.0..t.range.1]).collect();
                    words.starts_with(&["enter", "on"]) && words.contains(&"then")
                })
                .and_then(last_event)
        });
        let named = named.as_deref();
        let mut events: Vec<(&String, &compiler::symbols::EventInfo)> = sym
            .events
            .iter()
            .filter(|(name, _)| named.is_none_or(|n| n == name.as_str()))
            .collect();
        events.sort_by(|a, b| a.0.cmp(b.0));
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (event, info) in events {
            for (prop, ty) in &info.props {
                match seen.get(prop) {
                    Some(&i) => {
                        let c: &mut Completion = &mut out[i];
                        c.detail.push_str(&format!(", {event}"));
                    }
                    None => {
                        seen.insert(prop.clone(), out.len());
                        out.push(Completion {
                            label: prop.clone(),
                            kind: Some(NameKind::Prop),
                            detail: format!("{ty} — property of {event}"),
                            doc: None,
                            function: false,
                        });
                    }
                }
            }
        }
        return out;
    }
    let line = before.rsplit('\n').next().unwrap_or_default().trim_end();
    let wants_template =
        line.ends_with("send") || line.ends_with("opened(") || line.ends_with("clicked(");
    for d in declarations(ws) {
        if wants_template && d.kind != NameKind::Template {
            continue;
        }
        if d.kind == NameKind::Prop {
            continue;
        }
        let detail = match d.kind {
            NameKind::Field | NameKind::Const => format!(
                "{}: {}",
                d.kind.word(),
                field_type(ws, &d.name).unwrap_or_default()
            ),
            NameKind::Reason => format!("reject reason of {}", d.owner.clone().unwrap_or_default()),
            k => k.word().to_owned(),
        };
        out.push(Completion {
            label: d.name,
            kind: Some(d.kind),
            detail,
            doc: None,
            function: false,
        });
    }
    if wants_template {
        return out;
    }
    for (name, ty, _) in compiler::symbols::BUILTIN_FIELDS {
        out.push(Completion {
            label: (*name).to_owned(),
            kind: Some(NameKind::Field),
            detail: format!("built-in lead field: {ty}"),
            doc: None,
            function: false,
        });
    }
    for b in stdlib::BUILTINS {
        out.push(Completion {
            label: b.name.to_owned(),
            kind: None,
            detail: b.signature(),
            doc: Some(b.doc.to_owned()),
            function: true,
        });
    }
    out.push(Completion {
        label: "count".into(),
        kind: None,
        detail: "count(EVENT [where EXPR] within DURATION) -> number".into(),
        doc: Some(stdlib::COUNT_DOC.to_owned()),
        function: true,
    });
    let mut keywords: Vec<&str> = KEYWORDS.to_vec();
    keywords.extend_from_slice(RESERVED);
    keywords.sort_unstable();
    keywords.dedup();
    for k in keywords {
        if out.iter().any(|c| c.label == k) {
            continue;
        }
        out.push(Completion {
            label: k.to_owned(),
            kind: None,
            detail: "keyword".into(),
            doc: None,
            function: false,
        });
    }
    out
}

/// Markdown for the name at `offset`, and the range it covers.
pub fn hover(ws: &Workspace, file: FileId, offset: usize) -> Option<(Range<usize>, String)> {
    let (token, decls) = resolve(ws, file, offset)?;
    let text = &ws.file(file)?.text;
    let name = &text[token.range.0..token.range.1];
    let range = token.range.0..token.range.1;
    if token.called || decls.is_empty() {
        if let Some(b) = stdlib::builtin(name) {
            return Some((range, format!("```\n{}\n```\n\n{}", b.signature(), b.doc)));
        }
        if name == "count" {
            return Some((range, stdlib::COUNT_DOC.to_owned()));
        }
    }
    if decls.is_empty() {
        let (_, ty, writable) = compiler::symbols::BUILTIN_FIELDS
            .iter()
            .find(|(n, _, _)| *n == name)?;
        let note = if *writable {
            ""
        } else {
            " (read-only: the runtime sets it)"
        };
        return Some((
            range,
            format!("```\n{name}: {ty}\n```\n\nBuilt-in lead field{note}."),
        ));
    }
    let mut parts = Vec::new();
    for d in &decls {
        let source = ws.file(d.decl_span.file)?;
        let part = match d.kind {
            NameKind::Field => format!(
                "```\n{}: {}\n```\n\nLead field.",
                d.name,
                field_type(ws, &d.name).unwrap_or_default()
            ),
            NameKind::Prop => {
                let ty = d
                    .owner
                    .as_ref()
                    .and_then(|e| ws.symbols().events.get(e))
                    .and_then(|e| e.prop(&d.name))
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                format!(
                    "```\nevent.{}: {ty}\n```\n\nProperty of the event `{}`.",
                    d.name,
                    d.owner.clone().unwrap_or_default()
                )
            }
            NameKind::Reason => format!(
                "Reject reason `{}` of the handoff `{}`.",
                d.name,
                d.owner.clone().unwrap_or_default()
            ),
            NameKind::Template => {
                let head: String = source.text.lines().take(12).collect::<Vec<_>>().join("\n");
                format!(
                    "Template `{}` ({})\n\n```\n{head}\n```",
                    d.name, source.path
                )
            }
            NameKind::Stage => format!("Stage `{}`.", d.name),
            _ => {
                let full = source.text.get(d.decl_span.range()).unwrap_or_default();
                // A segment or const is short and its definition is the point; for the
                // rest show the head of the declaration.
                let shown: String = if matches!(d.kind, NameKind::Segment | NameKind::Const) {
                    full.lines().take(20).collect::<Vec<_>>().join("\n")
                } else {
                    full.lines().take(6).collect::<Vec<_>>().join("\n")
                };
                let line = grammar::span::line_col(&source.text, d.decl_span.start as usize).0;
                format!(
                    "```tandem\n{shown}\n```\n\n{} `{}`, {}:{line}",
                    capitalize(d.kind.word()),
                    d.name,
                    source.path
                )
            }
        };
        parts.push(part);
    }
    Some((range, parts.join("\n\n---\n\n")))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A declaration shown in the outline.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub name: String,
    /// The declaration keyword (`journey`, `score`, …).
    pub keyword: &'static str,
    pub span: Span,
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

/// The declarations of one journey file, with lead fields and event properties as children.
pub fn document_symbols(ws: &Workspace, file: FileId) -> Vec<Symbol> {
    let Some(ast) = ws.file(file).and_then(|f| f.ast()) else {
        return Vec::new();
    };
    let leaf = |name: &grammar::ast::Ident, keyword, span| Symbol {
        name: name.name.clone(),
        keyword,
        span,
        name_span: name.span,
        children: Vec::new(),
    };
    let mut out = Vec::new();
    for decl in &ast.decls {
        let kw = decl.kind.keyword();
        let keyword_span = Span::new(
            file,
            decl.span.start as usize,
            decl.span.start as usize + kw.len(),
        );
        let named = |name: &grammar::ast::Ident| leaf(name, kw, decl.span);
        let symbol = match &decl.kind {
            DeclKind::Lead(l) => Symbol {
                name: "lead".into(),
                keyword: kw,
                span: decl.span,
                name_span: keyword_span,
                children: l
                    .fields
                    .iter()
                    .map(|f| leaf(&f.name, "field", f.span))
                    .collect(),
            },
            DeclKind::Event(e) => Symbol {
                children: e
                    .props
                    .iter()
                    .map(|p| leaf(&p.name, "property", p.span))
                    .collect(),
                ..named(&e.name)
            },
            DeclKind::Const(c) => named(&c.name),
            DeclKind::Segment(s) => named(&s.name),
            DeclKind::Score(s) => named(&s.name),
            DeclKind::Rule(r) => named(&r.name),
            DeclKind::Journey(j) => named(&j.name),
            DeclKind::Team(t) => named(&t.name),
            DeclKind::Handoff(h) => named(&h.name),
            DeclKind::Schedule(s) => named(&s.name),
            DeclKind::Test(t) => Symbol {
                name: format!("test \"{}\"", t.name.value),
                keyword: kw,
                span: decl.span,
                name_span: keyword_span,
                children: Vec::new(),
            },
            DeclKind::Timezone(_) | DeclKind::Stages(_) | DeclKind::Sending(_) => Symbol {
                name: kw.to_owned(),
                keyword: kw,
                span: decl.span,
                name_span: keyword_span,
                children: Vec::new(),
            },
        };
        out.push(symbol);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use compiler::ProgramSource;

    const MAIN: &str = "timezone \"Asia/Ho_Chi_Minh\"\n\nlead {\n  company_size: number\n  form: text\n}\n\nevent form_submitted { form: text }\n\nsegment big = company_size >= 200\n\nscore fit {\n  +10 if big\n}\n\njourney welcome {\n  enter on form_submitted where event.form == \"x\" and big\n  send hello\n}\n\ntest \"t\" {\n  lead big { company_size: 500 }\n  event big form_submitted { form: \"x\" }\n  expect big in welcome\n}\n";
    const HELLO: &str = "+++\nsubject = \"Chào\"\n+++\nXin chào {{ lead.email }}\n";

    fn ws() -> Workspace {
        let mut ws = Workspace::new(ProgramSource::from_files(&[
            ("main.journey".into(), MAIN.into()),
            ("templates/hello.md".into(), HELLO.into()),
        ]));
        ws.check();
        ws
    }

    fn at(needle: &str, nth: usize) -> usize {
        MAIN.match_indices(needle)
            .nth(nth)
            .map(|(i, _)| i + 1)
            .expect("needle")
    }

    #[test]
    fn tokens_skip_comments_strings_and_numbers() {
        let t = tokens("a # b c\nx == \"y \\\" z\" and 2days event.form f (");
        let words: Vec<&str> = t
            .iter()
            .map(|t| &"a # b c\nx == \"y \\\" z\" and 2days event.form f ("[t.range.0..t.range.1])
            .collect();
        assert_eq!(words, ["a", "x", "and", "event", "form", "f"]);
        assert!(t[4].after_event_dot);
        assert!(t[5].called);
    }

    #[test]
    fn a_segment_use_resolves_to_its_declaration_and_its_uses_are_found() {
        let ws = ws();
        let (_, decls) = resolve(&ws, 0, at("big", 1)).expect("resolves");
        assert_eq!(decls.len(), 1);
        assert_eq!(decls[0].kind, NameKind::Segment);
        let refs = references(&ws, &decls[0]);
        assert_eq!(refs.len(), 3, "{refs:?}");
    }

    #[test]
    fn a_property_and_a_field_of_the_same_name_are_kept_apart() {
        let ws = ws();
        let (_, decls) = resolve(&ws, 0, at("event.form", 0) + 6).expect("resolves");
        assert_eq!(decls[0].kind, NameKind::Prop);
        let prop_refs = references(&ws, &decls[0]);
        assert_eq!(
            prop_refs.len(),
            3,
            "the event's declaration, event.form, the test's literal key"
        );
        let (_, decls) = resolve(&ws, 0, at("form: text", 0)).expect("resolves");
        assert_eq!(decls[0].kind, NameKind::Field);
        assert_eq!(
            references(&ws, &decls[0]).len(),
            1,
            "only the field's declaration"
        );
    }

    #[test]
    fn rename_refuses_bad_names_and_clashes() {
        let ws = ws();
        let off = at("big", 0);
        assert!(rename(&ws, 0, off, "2big").is_err());
        assert!(rename(&ws, 0, off, "and").is_err());
        assert!(rename(&ws, 0, at("fit", 0), "fit").is_err());
        assert_eq!(rename(&ws, 0, off, "lon").map(|s| s.len()), Ok(3));
        assert!(
            rename(&ws, 0, at("hello", 0), "hi").is_err(),
            "templates are files"
        );
    }

    #[test]
    fn event_dot_in_an_enter_then_block_offers_that_events_properties() {
        let text = "timezone \"Asia/Ho_Chi_Minh\"\nlead { topic: text, page: text }\n\
                    event registered { topic: text }\nevent visited { page: text }\n\
                    journey j {\n  enter on registered then {\n    set page = \"{ # }\"\n    set topic = event.\n  }\n  send hello\n}\n\
                    rule r {\n  when count(visited) > 1\n  then set page = event.\n}\n";
        let mut ws = Workspace::new(ProgramSource::from_files(&[
            ("main.journey".into(), text.into()),
            ("templates/hello.md".into(), HELLO.into()),
        ]));
        ws.check();
        let labels = |offset: usize| {
            let mut l: Vec<String> = completions(&ws, 0, offset)
                .into_iter()
                .map(|c| c.label)
                .collect();
            l.sort();
            l
        };
        let inside = text.find("topic = event.").expect("inside") + "topic = event.".len();
        assert_eq!(labels(inside), ["topic"]);
        let outside = text.rfind("event.").expect("outside") + "event.".len();
        let all = labels(outside);
        assert!(
            all.len() > 2 && all.contains(&"page".to_owned()) && all.contains(&"topic".to_owned()),
            "no enclosing enter on: every event's, built-in ones too: {all:?}"
        );
        assert_eq!(
            enclosing_block_line("a {\n b { }\n \"}\" # }\n"),
            Some("a {")
        );
        assert_eq!(enclosing_block_line("a { }\n"), None);
    }

    #[test]
    fn completion_depends_on_what_comes_before() {
        let ws = ws();
        let props = completions(&ws, 0, at("event.form", 0) + 6);
        assert_eq!(
            props.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
            ["form"]
        );
        let templates = completions(&ws, 0, at("send hello", 0) + 4);
        assert_eq!(
            templates
                .iter()
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>(),
            ["hello"]
        );
        let all = completions(&ws, 0, at("big\n", 0));
        for want in [
            "company_size",
            "big",
            "fit",
            "welcome",
            "lower",
            "count",
            "journey",
            "email",
        ] {
            assert!(all.iter().any(|c| c.label == want), "{want} missing");
        }
    }

    #[test]
    fn hovers_show_builtins_types_and_segment_definitions() {
        let ws = ws();
        let (_, h) = hover(&ws, 0, at("big", 1)).expect("hover");
        assert!(h.contains("segment big = company_size >= 200"), "{h}");
        let (_, h) = hover(&ws, 0, at("company_size", 1)).expect("hover");
        assert!(h.contains("company_size: number"), "{h}");
        let (_, h) = hover(&ws, 0, at("event.form", 0) + 6).expect("hover");
        assert!(h.contains("event.form: text"), "{h}");
    }

    #[test]
    fn the_outline_lists_declarations_with_fields_inside_lead() {
        let ws = ws();
        let syms = document_symbols(&ws, 0);
        let names: Vec<&str> = syms.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "timezone",
                "lead",
                "form_submitted",
                "big",
                "fit",
                "welcome",
                "test \"t\""
            ]
        );
        assert_eq!(syms[1].children.len(), 2);
    }
}
