//! Renders diagnostics at the edge: rustc-style snippets (codespan-reporting), JSON, or GitHub workflow annotations.

use std::path::Path;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;
use compiler::{Diagnostic, Severity, Workspace};

/// The file path as shown to the user: the program folder joined with the file's relative path.
pub fn display_path(root: &Path, rel: &str) -> String {
    root.join(rel).to_string_lossy().into_owned()
}

pub use grammar::span::line_col;

fn files_db(ws: &Workspace, root: &Path) -> SimpleFiles<String, String> {
    let mut files = SimpleFiles::new();
    for f in ws.files() {
        files.add(display_path(root, &f.path), f.text.clone());
    }
    files
}

fn to_report(d: &Diagnostic, ws: &Workspace) -> Report<usize> {
    let severity = match d.severity {
        Severity::Error => ReportSeverity::Error,
        Severity::Warning => ReportSeverity::Warning,
    };
    let clamp = |file: u32, range: std::ops::Range<usize>| {
        let len = ws.file(file).map(|f| f.text.len()).unwrap_or(0);
        let text = ws.file(file).map(|f| f.text.as_str()).unwrap_or("");
        let s = text.floor_char_boundary(range.start.min(len));
        let e = text.floor_char_boundary(range.end.min(len)).max(s);
        s..e
    };
    let mut labels = vec![Label::primary(
        d.span.file as usize,
        clamp(d.span.file, d.span.range()),
    )];
    for (span, note) in &d.related {
        labels.push(
            Label::secondary(span.file as usize, clamp(span.file, span.range()))
                .with_message(note.clone()),
        );
    }
    let mut report = Report::new(severity)
        .with_code(d.code)
        .with_message(d.message.clone())
        .with_labels(labels);
    if let Some(help) = &d.help {
        report = report.with_notes(vec![format!("help: {help}")]);
    }
    report
}

/// Whether to colour output going to a stream: only a terminal, and never when the
/// `NO_COLOR` environment variable is set to anything (no-color.org).
pub fn colour(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Human output: snippets with carets. `color` decides ANSI colours.
pub fn human(ws: &Workspace, root: &Path, color: bool) -> String {
    let files = files_db(ws, root);
    let config = term::Config::default();
    let mut out = String::new();
    for d in ws.diagnostics() {
        let report = to_report(d, ws);
        if color {
            let mut buf = term::termcolor::Buffer::ansi();
            if term::emit_to_write_style(&mut buf, &config, &files, &report).is_ok() {
                out.push_str(&String::from_utf8_lossy(buf.as_slice()));
            }
        } else if let Ok(s) = term::emit_into_string(&config, &files, &report) {
            out.push_str(&s);
        }
    }
    out.push_str(&summary(ws));
    out
}

pub fn summary(ws: &Workspace) -> String {
    let errors = ws
        .diagnostics()
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = ws.diagnostics().len() - errors;
    let files = ws.files().len();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if errors == 0 && warnings == 0 {
        format!("checked {}: no problems\n", plural(files, "file"))
    } else {
        format!(
            "checked {}: {}, {}\n",
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// One JSON object per diagnostic, as an array.
pub fn json(ws: &Workspace, root: &Path) -> String {
    let items: Vec<serde_json::Value> = ws
        .diagnostics()
        .iter()
        .map(|d| {
            let (path, text) = ws
                .file(d.span.file)
                .map(|f| (display_path(root, &f.path), f.text.as_str()))
                .unwrap_or_default();
            let (line, column) = line_col(text, d.span.start as usize);
            let (end_line, end_column) = line_col(text, d.span.end as usize);
            let mut obj = serde_json::json!({
                "file": path,
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
                "severity": d.severity.as_str(),
                "code": d.code,
                "message": d.message,
            });
            if let (Some(help), Some(map)) = (&d.help, obj.as_object_mut()) {
                map.insert("help".into(), serde_json::Value::String(help.clone()));
            }
            obj
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// Escapes a value for a GitHub workflow command.
fn gh_escape(s: &str, property: bool) -> String {
    let mut out = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// GitHub Actions workflow commands (`::error file=…,line=…::message`).
pub fn github(ws: &Workspace, root: &Path) -> String {
    let mut out = String::new();
    for d in ws.diagnostics() {
        let (path, text) = ws
            .file(d.span.file)
            .map(|f| (display_path(root, &f.path), f.text.as_str()))
            .unwrap_or_default();
        let (line, col) = line_col(text, d.span.start as usize);
        let (end_line, end_col) = line_col(text, d.span.end as usize);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str(&format!(" (help: {h})"));
        }
        out.push_str(&format!(
            "::{level} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            gh_escape(&path, true),
            gh_escape(d.code, true),
            gh_escape(&message, false)
        ));
    }
    out
}
