//! Name resolution, step two, and type checking: every declaration of one file checked against the program's symbols.
//!
//! The result of checking a file depends only on that file and the
//! [`Symbols`] table, so an unchanged file need not be checked again while the
//! table stays the same (see `workspace`).

mod actions;
mod expressions;
mod journeys;
mod literals;
mod sales;
mod scores;
mod test_blocks;

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
            StepKind::Wait(_) | StepKind::WaitClock { .. } | StepKind::WaitDate { .. } => {}
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

    pub(super) fn timezone(&mut self, tz: &TextLit) {
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
}

fn find_assign(h: &HandoffDecl) -> Option<(&Ident, bool)> {
    h.items.iter().find_map(|i| match &i.kind {
        HandoffItemKind::Assign { team, .. } => Some((team, true)),
        _ => None,
    })
}
