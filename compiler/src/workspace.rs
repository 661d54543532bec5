//! A program held in memory between checks: re-parses only changed files, and re-checks only them while the declarations stay the same.

use grammar::ast::SourceFile;
use grammar::parser::BrokenDecl;
use grammar::{parse, Diagnostic, FileId, Parsed, Severity, Span};
use rayon::prelude::*;

use crate::check::{check_file, FileCheck};
use crate::symbols::{collect, Symbols, SymbolsDiff, TemplateName};
use crate::templates::{check_template_file, TemplateSource};
use crate::{codes, config_webhooks, lints, template_name, ProgramSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Journey,
    Template,
    Config,
}

/// One file of the workspace; its [`FileId`] is its index, stable for the workspace's life.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub kind: FileKind,
    pub path: String,
    pub text: String,
    parsed: Option<Parsed>,
    check: Option<FileCheck>,
    template: Option<(Vec<Diagnostic>, bool)>,
}

impl FileEntry {
    fn new(kind: FileKind, path: String, text: String, id: FileId) -> FileEntry {
        let parsed = (kind == FileKind::Journey).then(|| parse(id, &text));
        FileEntry {
            kind,
            path,
            text,
            parsed,
            check: None,
            template: None,
        }
    }

    /// The syntax tree of a journey file.
    pub fn ast(&self) -> Option<&SourceFile> {
        self.parsed.as_ref().map(|p| &p.file)
    }
}

/// The files of one program and the results of the last check.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    files: Vec<FileEntry>,
    /// Whether `symbols` holds the result of a check yet.
    checked: bool,
    symbols: Symbols,
    diagnostics: Vec<Diagnostic>,
}

impl Workspace {
    pub fn new(source: ProgramSource) -> Workspace {
        let mut ws = Workspace::default();
        let mut journeys = source.journeys;
        journeys.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        let mut templates = source.templates;
        templates.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        // Parsing is the bulk of the work on a large program: spread it over the cores.
        let parsed: Vec<FileEntry> = journeys
            .into_par_iter()
            .enumerate()
            .map(|(i, j)| FileEntry::new(FileKind::Journey, j.path, j.text, i as FileId))
            .collect();
        ws.files = parsed;
        for t in templates {
            ws.push(FileKind::Template, t.path, t.text);
        }
        if let Some(c) = source.config {
            ws.push(FileKind::Config, c.path, c.text);
        }
        ws
    }

    fn push(&mut self, kind: FileKind, path: String, text: String) {
        let id = FileId::try_from(self.files.len()).unwrap_or(FileId::MAX);
        self.files.push(FileEntry::new(kind, path, text, id));
    }

    /// Sets a file's text (adding the file if new). Only this file is re-parsed.
    pub fn set_file(&mut self, path: &str, text: String) {
        if let Some((i, entry)) = self
            .files
            .iter_mut()
            .enumerate()
            .find(|(_, f)| f.path == path)
        {
            if entry.text == text {
                return;
            }
            let id = FileId::try_from(i).unwrap_or(FileId::MAX);
            *entry = FileEntry::new(entry.kind, entry.path.clone(), text, id);
            return;
        }
        let kind = if path.ends_with(".journey") {
            FileKind::Journey
        } else if path == "tandem.toml" {
            FileKind::Config
        } else {
            FileKind::Template
        };
        self.push(kind, path.to_owned(), text);
    }

    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    pub fn file(&self, id: FileId) -> Option<&FileEntry> {
        self.files.get(id as usize)
    }

    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The journey files' syntax trees in program order (byte order of their paths).
    pub fn program_files(&self) -> Vec<(FileId, &SourceFile)> {
        let mut v: Vec<(FileId, &FileEntry)> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FileKind::Journey)
            .map(|(i, f)| (FileId::try_from(i).unwrap_or(FileId::MAX), f))
            .collect();
        v.sort_by(|a, b| a.1.path.as_bytes().cmp(b.1.path.as_bytes()));
        v.into_iter()
            .filter_map(|(i, f)| f.ast().map(|a| (i, a)))
            .collect()
    }

    /// The declarations that did not parse, in program order (see [`Parsed::broken`]).
    pub fn broken_decls(&self) -> Vec<&BrokenDecl> {
        let mut v: Vec<&FileEntry> = self
            .files
            .iter()
            .filter(|f| f.kind == FileKind::Journey)
            .collect();
        v.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        v.into_iter()
            .filter_map(|f| f.parsed.as_ref())
            .flat_map(|p| p.broken.iter())
            .collect()
    }

    /// Checks the program; returns all diagnostics, sorted by file and position.
    pub fn check(&mut self) -> &[Diagnostic] {
        let mut diags: Vec<Diagnostic> = Vec::new();

        // Config first: it names the webhooks.
        let mut webhooks = None;
        for (i, f) in self.files.iter().enumerate() {
            if f.kind == FileKind::Config {
                for (msg, range) in crate::config::webhook_problems(&f.text) {
                    diags.push(Diagnostic::error(
                        codes::WEBHOOK_CONFIG,
                        Span::new(i as FileId, range.start, range.end.max(range.start + 1)),
                        msg,
                    ));
                }
                match config_webhooks(&f.text) {
                    Ok(w) => webhooks = w,
                    Err((msg, range)) => diags.push(Diagnostic::error(
                        codes::SINGLETON,
                        Span::new(i as FileId, range.start, range.end.max(range.start + 1)),
                        msg,
                    )),
                }
            }
        }

        let order = self.program_files();
        let asts: Vec<&SourceFile> = order.iter().map(|(_, a)| *a).collect();
        let template_names: Vec<TemplateName> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FileKind::Template)
            .filter_map(|(i, f)| {
                let name = template_name(&f.path)?;
                Some(TemplateName {
                    name: name.to_owned(),
                    span: Span::new(i as FileId, 0, 0),
                })
            })
            .collect();
        let mut symbol_diags = Vec::new();
        let broken = self.broken_decls();
        let base = collect(&asts, &broken, &template_names, webhooks, &mut symbol_diags);
        drop(broken);
        diags.extend(symbol_diags);
        // Templates depend on what is declared, not where: re-check them only on a real change.
        let base_changed = !self.checked || self.symbols.diff(&base, false) == SymbolsDiff::Changed;
        drop(order);

        // Templates: checked against the schema; their unsubscribe flag feeds the symbols.
        let mut symbols = base;
        for (i, f) in self.files.iter_mut().enumerate() {
            if f.kind != FileKind::Template {
                continue;
            }
            let Some(name) = template_name(&f.path).map(str::to_owned) else {
                continue;
            };
            if base_changed || f.template.is_none() {
                let mut tdiags = Vec::new();
                let source = TemplateSource {
                    name: name.clone(),
                    file: i as FileId,
                    text: f.text.clone(),
                };
                let unsub = check_template_file(&symbols, &source, &mut tdiags);
                f.template = Some((tdiags, unsub));
            }
            if let Some((tdiags, unsub)) = &f.template {
                diags.extend(tdiags.iter().cloned());
                if let Some(info) = symbols.templates.get_mut(&name) {
                    if info.span.file == i as FileId {
                        info.has_unsubscribe = *unsub;
                    }
                }
            }
        }
        let diff = if self.checked && !base_changed {
            self.symbols.diff(&symbols, true)
        } else {
            SymbolsDiff::Changed
        };
        // Files edited since the last check have no cached result.
        let dirty: rustc_hash::FxHashSet<FileId> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FileKind::Journey && f.check.is_none())
            .map(|(i, _)| i as FileId)
            .collect();

        // Journey files: the per-file check, cached while the symbols stay the same.
        self.files.par_iter_mut().for_each(|f| {
            if f.kind != FileKind::Journey {
                return;
            }
            let Some(parsed) = &f.parsed else { return };
            // A file's result depends on the declarations of the others; when only
            // their places moved, just the notes that point into edited files are stale.
            let stale = match (&f.check, diff) {
                (None, _) | (_, SymbolsDiff::Changed) => true,
                (Some(_), SymbolsDiff::Same) => false,
                (Some(c), SymbolsDiff::SpansOnly) => c
                    .diagnostics
                    .iter()
                    .any(|d| d.related.iter().any(|(s, _)| dirty.contains(&s.file))),
            };
            if stale {
                let mut fc = check_file(&symbols, &parsed.file);
                lints::clock_lints(&parsed.file, &mut fc.diagnostics);
                f.check = Some(fc);
            }
        });
        for f in &self.files {
            if let Some(parsed) = &f.parsed {
                diags.extend(parsed.diagnostics.iter().cloned());
            }
        }
        let order = self.program_files();
        let asts: Vec<&SourceFile> = order.iter().map(|(_, a)| *a).collect();
        let facts: Vec<&crate::check::FileFacts> = self
            .files
            .iter()
            .filter_map(|f| f.check.as_ref().map(|c| &c.facts))
            .collect();
        for f in &self.files {
            if let Some(c) = &f.check {
                diags.extend(c.diagnostics.iter().cloned());
            }
        }

        // Program-wide checks. A declaration that does not parse still counts as
        // written: its syntax error is the one to report.
        let broken = self.broken_decls();
        let written = |keyword: &str| broken.iter().any(|b| b.keyword == keyword);
        let first_file = order.first().map(|(i, _)| *i).unwrap_or(0);
        let start = Span::new(first_file, 0, 0);
        if symbols.timezone.is_none() && !written("timezone") {
            diags.push(
                Diagnostic::error(codes::TIMEZONE, start, "the program has no `timezone`")
                    .with_help("add `timezone \"Asia/Ho_Chi_Minh\"` to one file"),
            );
        }
        let has_lead = asts
            .iter()
            .flat_map(|a| a.decls.iter())
            .any(|d| matches!(d.kind, grammar::ast::DeclKind::Lead(_)));
        if !has_lead && !written("lead") {
            diags.push(
                Diagnostic::error(
                    codes::SINGLETON,
                    start,
                    "the program has no `lead { … }` schema",
                )
                .with_help(
                    "declare the lead's fields once, e.g. `lead { name: text, company: text }`",
                ),
            );
        }
        lints::cycles(&facts, &mut diags);
        let mentioned: rustc_hash::FxHashSet<&str> = broken
            .iter()
            .flat_map(|b| b.words.iter().map(|w| w.name.as_str()))
            .collect();
        lints::unreachable_journeys(&asts, &facts, &mentioned, &mut diags);
        lints::reject_loops(&symbols, &asts, &mut diags);

        // Sort by file (program order of paths), then position.
        let rank: rustc_hash::FxHashMap<FileId, &str> = self
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (i as FileId, f.path.as_str()))
            .collect();
        diags.sort_by(|a, b| {
            let pa = rank.get(&a.span.file).copied().unwrap_or("");
            let pb = rank.get(&b.span.file).copied().unwrap_or("");
            pa.as_bytes()
                .cmp(pb.as_bytes())
                .then(a.span.start.cmp(&b.span.start))
                .then(a.code.cmp(b.code))
        });
        diags.dedup();
        self.checked = true;
        self.symbols = symbols;
        self.diagnostics = diags;
        &self.diagnostics
    }
}
