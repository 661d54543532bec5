//! The Tandem language server (`tandem lsp`, stdio): keeps each open program in a `compiler::Workspace`, re-checks on every edit and answers completion, hover, definition, references, symbols, formatting and rename from `analysis`.
//!
//! A document belongs to the program in the nearest folder above it that holds a
//! `tandem.toml` or a `templates/` folder (else its own folder); that program's files are
//! read from disk once, and open documents replace their file's text.

pub mod analysis;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use compiler::workspace::{FileKind, Workspace};
use compiler::ProgramSource;
use grammar::{FileId, Severity, Span};
use line_index::{LineCol, LineIndex, WideEncoding, WideLineCol};
use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types as lsp;
use serde_json::Value;

use crate::analysis::NameKind;

/// Reads a program folder (the CLI's loader: `*.journey`, `templates/`, `tandem.toml`).
pub type Loader = fn(&Path) -> Result<ProgramSource, String>;

/// One program the editor has a document of.
pub struct Program {
    /// Its folder.
    pub root: PathBuf,
    /// Its files and the last check.
    pub ws: Workspace,
    /// Paths (relative to `root`) whose diagnostics were last published non-empty.
    published: HashSet<String>,
    /// Each file's line starts, built on first use after a change (every position of a
    /// diagnostic or an answer is converted with it).
    line_indexes: std::cell::RefCell<HashMap<FileId, std::rc::Rc<LineIndex>>>,
}

impl Program {
    /// A program from its folder's files (already read).
    pub fn new(root: PathBuf, source: ProgramSource) -> Program {
        let mut ws = Workspace::new(source);
        ws.check();
        Program {
            root,
            ws,
            published: HashSet::new(),
            line_indexes: Default::default(),
        }
    }

    /// Replaces a file's text, re-checks, and returns the diagnostics to publish: one
    /// entry per file that has diagnostics now or had some before.
    pub fn change(
        &mut self,
        rel: &str,
        text: String,
        utf8: bool,
    ) -> Vec<lsp::PublishDiagnosticsParams> {
        self.ws.set_file(rel, text);
        self.line_indexes.borrow_mut().clear();
        self.ws.check();
        let mut out = self.diagnostics(utf8);
        // The edited file always hears back, even when it is clean and was clean.
        if let Some(uri) = self.uri(rel) {
            if !out.iter().any(|p| p.uri == uri) {
                out.push(lsp::PublishDiagnosticsParams {
                    uri,
                    diagnostics: Vec::new(),
                    version: None,
                });
            }
        }
        out
    }

    fn diagnostics(&mut self, utf8: bool) -> Vec<lsp::PublishDiagnosticsParams> {
        let mut by_file: HashMap<FileId, Vec<lsp::Diagnostic>> = HashMap::new();
        for d in self.ws.diagnostics() {
            let Some(range) = self.range(d.span, utf8) else {
                continue;
            };
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            let related: Vec<lsp::DiagnosticRelatedInformation> = d
                .related
                .iter()
                .filter_map(|(span, note)| {
                    Some(lsp::DiagnosticRelatedInformation {
                        location: self.location(*span, utf8)?,
                        message: note.clone(),
                    })
                })
                .collect();
            by_file
                .entry(d.span.file)
                .or_default()
                .push(lsp::Diagnostic {
                    range,
                    severity: Some(match d.severity {
                        Severity::Error => lsp::DiagnosticSeverity::ERROR,
                        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
                    }),
                    code: Some(lsp::NumberOrString::String(d.code.to_owned())),
                    source: Some("tandem".into()),
                    message,
                    related_information: (!related.is_empty()).then_some(related),
                    ..lsp::Diagnostic::default()
                });
        }
        let mut out = Vec::new();
        let mut now = HashSet::new();
        for (id, diags) in by_file {
            let Some(f) = self.ws.file(id) else { continue };
            now.insert(f.path.clone());
            if let Some(uri) = self.uri(&f.path) {
                out.push(lsp::PublishDiagnosticsParams {
                    uri,
                    diagnostics: diags,
                    version: None,
                });
            }
        }
        for gone in self.published.difference(&now) {
            if let Some(uri) = self.uri(gone) {
                out.push(lsp::PublishDiagnosticsParams {
                    uri,
                    diagnostics: Vec::new(),
                    version: None,
                });
            }
        }
        self.published = now;
        out
    }

    fn uri(&self, rel: &str) -> Option<lsp::Url> {
        lsp::Url::from_file_path(self.root.join(rel)).ok()
    }

    fn file_id(&self, rel: &str) -> Option<FileId> {
        self.ws
            .files()
            .iter()
            .position(|f| f.path == rel)
            .and_then(|i| FileId::try_from(i).ok())
    }

    /// The file's line index (built once per version of the file).
    fn line_index(&self, file: FileId) -> Option<std::rc::Rc<LineIndex>> {
        let text = &self.ws.file(file)?.text;
        let mut cache = self.line_indexes.borrow_mut();
        let index = cache
            .entry(file)
            .or_insert_with(|| std::rc::Rc::new(LineIndex::new(text)));
        Some(index.clone())
    }

    /// A byte offset of a file as an LSP position.
    fn position(&self, file: FileId, offset: usize, utf8: bool) -> Option<lsp::Position> {
        let text = &self.ws.file(file)?.text;
        let index = self.line_index(file)?;
        let offset = u32::try_from(text.floor_char_boundary(offset)).ok()?;
        let lc = index.try_line_col(offset.into())?;
        if utf8 {
            return Some(lsp::Position::new(lc.line, lc.col));
        }
        let wide = index.to_wide(WideEncoding::Utf16, lc)?;
        Some(lsp::Position::new(wide.line, wide.col))
    }

    /// An LSP position as a byte offset of a file.
    fn offset(&self, file: FileId, pos: lsp::Position, utf8: bool) -> Option<usize> {
        let text = &self.ws.file(file)?.text;
        let index = self.line_index(file)?;
        let lc = if utf8 {
            LineCol {
                line: pos.line,
                col: pos.character,
            }
        } else {
            index.to_utf8(
                WideEncoding::Utf16,
                WideLineCol {
                    line: pos.line,
                    col: pos.character,
                },
            )?
        };
        index.offset(lc).map(|o| usize::from(o).min(text.len()))
    }

    fn range(&self, span: Span, utf8: bool) -> Option<lsp::Range> {
        Some(lsp::Range::new(
            self.position(span.file, span.start as usize, utf8)?,
            self.position(span.file, span.end as usize, utf8)?,
        ))
    }

    fn location(&self, span: Span, utf8: bool) -> Option<lsp::Location> {
        let path = &self.ws.file(span.file)?.path;
        Some(lsp::Location::new(self.uri(path)?, self.range(span, utf8)?))
    }
}

/// The nearest folder at or above `dir` with a `tandem.toml` or a `templates/` folder;
/// `dir` itself when there is none.
pub fn program_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join("tandem.toml").is_file() || d.join("templates").is_dir())
        .unwrap_or(dir)
        .to_path_buf()
}

/// The server's state between messages.
pub struct Server {
    load: Loader,
    programs: Vec<Program>,
    /// Positions are UTF-8 byte columns (negotiated) instead of UTF-16 units.
    utf8: bool,
}

/// Runs the server on stdin/stdout until the client says `exit`.
pub fn run_stdio(load: Loader) -> anyhow::Result<()> {
    let (connection, io_threads) = Connection::stdio();
    serve(&connection, load)?;
    drop(connection);
    io_threads.join()?;
    Ok(())
}

fn capabilities(utf8: bool) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(if utf8 {
            lsp::PositionEncodingKind::UTF8
        } else {
            lsp::PositionEncodingKind::UTF16
        }),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::FULL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..lsp::TextDocumentSyncOptions::default()
            },
        )),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".into(), "(".into(), " ".into()]),
            ..lsp::CompletionOptions::default()
        }),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: lsp::WorkDoneProgressOptions::default(),
        })),
        ..lsp::ServerCapabilities::default()
    }
}

/// The message loop over any connection (stdio, or in memory for tests).
pub fn serve(connection: &Connection, load: Loader) -> anyhow::Result<()> {
    let (id, params) = match connection.initialize_start() {
        Ok(started) => started,
        Err(e) if e.channel_is_disconnected() => anyhow::bail!(
            "standard input closed before an editor sent `initialize`: `tandem lsp` is the language server an editor starts (the VS Code extension is in editor-support/)"
        ),
        Err(e) => return Err(e.into()),
    };
    let init: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let utf8 = init
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|e| e.contains(&lsp::PositionEncodingKind::UTF8));
    let result = lsp::InitializeResult {
        capabilities: capabilities(utf8),
        server_info: Some(lsp::ServerInfo {
            name: "tandem".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    connection.initialize_finish(id, serde_json::to_value(result)?)?;
    let mut server = Server {
        load,
        programs: Vec::new(),
        utf8,
    };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let resp = server.request(req);
                connection.sender.send(Message::Response(resp))?;
            }
            Message::Notification(n) => {
                for out in server.notification(n) {
                    connection.sender.send(Message::Notification(out))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn publish(params: Vec<lsp::PublishDiagnosticsParams>) -> Vec<Notification> {
    params
        .into_iter()
        .map(|p| Notification::new("textDocument/publishDiagnostics".into(), p))
        .collect()
}

impl Server {
    /// The program a document belongs to (loaded on first use) and its path in it.
    fn program_of(&mut self, uri: &lsp::Url) -> Option<(usize, String)> {
        let path = uri.to_file_path().ok()?;
        let rel_in = |root: &Path| -> Option<String> {
            let rel = path.strip_prefix(root).ok()?;
            Some(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/"),
            )
        };
        let root = program_root(path.parent()?);
        if let Some(i) = self.programs.iter().position(|p| p.root == root) {
            return Some((i, rel_in(&root)?));
        }
        let source = (self.load)(&root).unwrap_or_default();
        self.programs.push(Program::new(root.clone(), source));
        Some((self.programs.len() - 1, rel_in(&root)?))
    }

    fn notification(&mut self, n: Notification) -> Vec<Notification> {
        let utf8 = self.utf8;
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = n.extract::<lsp::DidOpenTextDocumentParams>("textDocument/didOpen")
                else {
                    return Vec::new();
                };
                let Some((i, rel)) = self.program_of(&p.text_document.uri) else {
                    return Vec::new();
                };
                publish(self.programs[i].change(&rel, p.text_document.text, utf8))
            }
            "textDocument/didChange" => {
                let Ok(p) = n.extract::<lsp::DidChangeTextDocumentParams>("textDocument/didChange")
                else {
                    return Vec::new();
                };
                let Some(text) = p.content_changes.into_iter().last().map(|c| c.text) else {
                    return Vec::new();
                };
                let Some((i, rel)) = self.program_of(&p.text_document.uri) else {
                    return Vec::new();
                };
                publish(self.programs[i].change(&rel, text, utf8))
            }
            "textDocument/didClose" => {
                // Unsaved edits are dropped: the file is what is on disk again.
                let Ok(p) = n.extract::<lsp::DidCloseTextDocumentParams>("textDocument/didClose")
                else {
                    return Vec::new();
                };
                self.reread(&p.text_document.uri)
            }
            "workspace/didChangeWatchedFiles" => {
                let Ok(p) = n
                    .extract::<lsp::DidChangeWatchedFilesParams>("workspace/didChangeWatchedFiles")
                else {
                    return Vec::new();
                };
                p.changes.iter().flat_map(|c| self.reread(&c.uri)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Takes a file's text from disk again (a deleted file becomes empty).
    fn reread(&mut self, uri: &lsp::Url) -> Vec<Notification> {
        let Some(path) = uri.to_file_path().ok() else {
            return Vec::new();
        };
        let Some((i, rel)) = self.program_of(uri) else {
            return Vec::new();
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let utf8 = self.utf8;
        publish(self.programs[i].change(&rel, text, utf8))
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            "textDocument/completion" => self.on_position(req, Server::completion),
            "textDocument/hover" => self.on_position(req, Server::hover),
            "textDocument/definition" => self.on_position(req, Server::definition),
            "textDocument/references" => self.on_position(req, Server::references),
            "textDocument/prepareRename" => self.on_position(req, Server::prepare_rename),
            "textDocument/rename" => self.rename(req),
            "textDocument/documentSymbol" => self.on_document(req, Server::document_symbols),
            "textDocument/formatting" => self.on_document(req, Server::formatting),
            _ => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("unknown method {}", req.method),
                )
            }
        };
        match result {
            Ok(v) => Response::new_ok(id, v),
            Err(e) => Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, e),
        }
    }

    /// Runs `f(program, file, byte offset, params)` for a request at a position.
    fn on_position(
        &mut self,
        req: Request,
        f: fn(&Program, FileId, usize, &Value, bool) -> Value,
    ) -> Result<Value, String> {
        let doc: lsp::TextDocumentPositionParams =
            serde_json::from_value(req.params.clone()).map_err(|e| e.to_string())?;
        let Some((i, rel)) = self.program_of(&doc.text_document.uri) else {
            return Ok(Value::Null);
        };
        let program = &self.programs[i];
        let Some(file) = program.file_id(&rel) else {
            return Ok(Value::Null);
        };
        let Some(offset) = program.offset(file, doc.position, self.utf8) else {
            return Ok(Value::Null);
        };
        Ok(f(program, file, offset, &req.params, self.utf8))
    }

    fn on_document(
        &mut self,
        req: Request,
        f: fn(&Program, FileId, bool) -> Value,
    ) -> Result<Value, String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Doc {
            text_document: lsp::TextDocumentIdentifier,
        }
        let doc: Doc = serde_json::from_value(req.params).map_err(|e| e.to_string())?;
        let Some((i, rel)) = self.program_of(&doc.text_document.uri) else {
            return Ok(Value::Null);
        };
        let program = &self.programs[i];
        match program.file_id(&rel) {
            Some(file) => Ok(f(program, file, self.utf8)),
            None => Ok(Value::Null),
        }
    }

    fn completion(p: &Program, file: FileId, offset: usize, _: &Value, _: bool) -> Value {
        let items: Vec<lsp::CompletionItem> = analysis::completions(&p.ws, file, offset)
            .into_iter()
            .map(|c| lsp::CompletionItem {
                kind: Some(match c.kind {
                    _ if c.function => lsp::CompletionItemKind::FUNCTION,
                    None => lsp::CompletionItemKind::KEYWORD,
                    Some(NameKind::Field | NameKind::Prop) => lsp::CompletionItemKind::FIELD,
                    Some(NameKind::Const) => lsp::CompletionItemKind::CONSTANT,
                    Some(NameKind::Stage | NameKind::Reason) => {
                        lsp::CompletionItemKind::ENUM_MEMBER
                    }
                    Some(NameKind::Event) => lsp::CompletionItemKind::EVENT,
                    Some(NameKind::Template) => lsp::CompletionItemKind::FILE,
                    Some(NameKind::Segment | NameKind::Score) => lsp::CompletionItemKind::VARIABLE,
                    Some(_) => lsp::CompletionItemKind::MODULE,
                }),
                insert_text: c.function.then(|| format!("{}($0)", c.label)),
                insert_text_format: c.function.then_some(lsp::InsertTextFormat::SNIPPET),
                detail: Some(c.detail),
                documentation: c.doc.map(|d| {
                    lsp::Documentation::MarkupContent(lsp::MarkupContent {
                        kind: lsp::MarkupKind::Markdown,
                        value: d,
                    })
                }),
                label: c.label,
                ..lsp::CompletionItem::default()
            })
            .collect();
        serde_json::to_value(lsp::CompletionResponse::Array(items)).unwrap_or(Value::Null)
    }

    fn hover(p: &Program, file: FileId, offset: usize, _: &Value, utf8: bool) -> Value {
        let Some((range, markdown)) = analysis::hover(&p.ws, file, offset) else {
            return Value::Null;
        };
        let hover = lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: markdown,
            }),
            range: p.range(Span::new(file, range.start, range.end), utf8),
        };
        serde_json::to_value(hover).unwrap_or(Value::Null)
    }

    fn definition(p: &Program, file: FileId, offset: usize, _: &Value, utf8: bool) -> Value {
        let Some((_, decls)) = analysis::resolve(&p.ws, file, offset) else {
            return Value::Null;
        };
        let locations: Vec<lsp::Location> = decls
            .iter()
            .filter_map(|d| p.location(d.name_span, utf8))
            .collect();
        serde_json::to_value(locations).unwrap_or(Value::Null)
    }

    fn references(p: &Program, file: FileId, offset: usize, params: &Value, utf8: bool) -> Value {
        let include_decl = params
            .pointer("/context/includeDeclaration")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let Some((_, decls)) = analysis::resolve(&p.ws, file, offset) else {
            return Value::Null;
        };
        let Some(target) = decls.first() else {
            return Value::Null;
        };
        let locations: Vec<lsp::Location> = analysis::references(&p.ws, target)
            .into_iter()
            .filter(|s| include_decl || decls.iter().all(|d| d.name_span != *s))
            .filter_map(|s| p.location(s, utf8))
            .collect();
        serde_json::to_value(locations).unwrap_or(Value::Null)
    }

    fn prepare_rename(p: &Program, file: FileId, offset: usize, _: &Value, utf8: bool) -> Value {
        match analysis::resolve(&p.ws, file, offset) {
            Some((token, decls)) if decls.first().is_some_and(|d| d.kind != NameKind::Template) => {
                let range = p.range(Span::new(file, token.range.0, token.range.1), utf8);
                serde_json::to_value(range).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        }
    }

    fn rename(&mut self, req: Request) -> Result<Value, String> {
        let params: lsp::RenameParams =
            serde_json::from_value(req.params).map_err(|e| e.to_string())?;
        let doc = params.text_document_position;
        let Some((i, rel)) = self.program_of(&doc.text_document.uri) else {
            return Err("the document is not part of a program".into());
        };
        let p = &self.programs[i];
        let file = p.file_id(&rel).ok_or("the document is not open")?;
        let offset = p
            .offset(file, doc.position, self.utf8)
            .ok_or("the position is outside the document")?;
        let spans = analysis::rename(&p.ws, file, offset, &params.new_name)?;
        let mut changes: HashMap<lsp::Url, Vec<lsp::TextEdit>> = HashMap::new();
        for span in spans {
            if let Some(loc) = p.location(span, self.utf8) {
                changes.entry(loc.uri).or_default().push(lsp::TextEdit {
                    range: loc.range,
                    new_text: params.new_name.clone(),
                });
            }
        }
        serde_json::to_value(lsp::WorkspaceEdit {
            changes: Some(changes),
            ..lsp::WorkspaceEdit::default()
        })
        .map_err(|e| e.to_string())
    }

    fn document_symbols(p: &Program, file: FileId, utf8: bool) -> Value {
        fn convert(p: &Program, s: analysis::Symbol, utf8: bool) -> Option<lsp::DocumentSymbol> {
            let kind = match s.keyword {
                "journey" | "handoff" | "schedule" => lsp::SymbolKind::FUNCTION,
                "score" | "segment" => lsp::SymbolKind::VARIABLE,
                "const" => lsp::SymbolKind::CONSTANT,
                "event" => lsp::SymbolKind::EVENT,
                "lead" | "team" => lsp::SymbolKind::STRUCT,
                "field" | "property" => lsp::SymbolKind::FIELD,
                "rule" => lsp::SymbolKind::METHOD,
                _ => lsp::SymbolKind::NAMESPACE,
            };
            let children: Vec<lsp::DocumentSymbol> = s
                .children
                .into_iter()
                .filter_map(|c| convert(p, c, utf8))
                .collect();
            #[allow(deprecated)]
            Some(lsp::DocumentSymbol {
                name: s.name,
                detail: Some(s.keyword.to_owned()),
                kind,
                tags: None,
                deprecated: None,
                range: p.range(s.span, utf8)?,
                selection_range: p.range(s.name_span, utf8)?,
                children: (!children.is_empty()).then_some(children),
            })
        }
        let symbols: Vec<lsp::DocumentSymbol> = analysis::document_symbols(&p.ws, file)
            .into_iter()
            .filter_map(|s| convert(p, s, utf8))
            .collect();
        serde_json::to_value(symbols).unwrap_or(Value::Null)
    }

    fn formatting(p: &Program, file: FileId, utf8: bool) -> Value {
        let Some(f) = p.ws.file(file) else {
            return Value::Null;
        };
        if f.kind != FileKind::Journey {
            return Value::Null;
        }
        // A file with syntax errors is left alone (the diagnostics say why).
        let Ok(formatted) = grammar::format::format_source(&f.text) else {
            return Value::Null;
        };
        if formatted == f.text {
            return serde_json::json!([]);
        }
        let Some(range) = p.range(Span::new(file, 0, f.text.len()), utf8) else {
            return Value::Null;
        };
        serde_json::to_value(vec![lsp::TextEdit {
            range,
            new_text: formatted,
        }])
        .unwrap_or(Value::Null)
    }
}

/// For tests and benchmarks: a request id from a number.
pub fn request_id(n: i32) -> RequestId {
    RequestId::from(n)
}
