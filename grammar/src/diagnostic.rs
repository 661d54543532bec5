//! Diagnostics as data: a stable code, a severity, a message and a span. Rendering happens at the edge (the CLI, the editor).

use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a program, at any phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable identifier (`E0001`, `W-CLOCK`, …), documented in `docs/diagnostics.md`.
    pub code: &'static str,
    pub severity: Severity,
    /// What is wrong, in words a marketer understands.
    pub message: String,
    /// Where: the offending token or node.
    pub span: Span,
    /// Secondary places that explain the problem (e.g. the first declaration of a duplicate).
    pub related: Vec<(Span, String)>,
    /// A fix to try ("did you mean `company_size`?").
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            related: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.related.push((span, note.into()));
        self
    }
}
