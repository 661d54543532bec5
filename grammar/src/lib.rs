//! The Tandem journey language parser: pest grammar, typed AST with spans, diagnostics.
//!
//! The parser never fails: [`parse`] returns the AST it could build and every
//! diagnostic it found. It does no I/O.

extern crate alloc;

pub mod ast;
pub mod diagnostic;
pub mod format;
pub mod parser;
pub mod prepass;
pub mod span;
pub mod suggest;

pub use diagnostic::{Diagnostic, Severity};
pub use parser::{parse, Parsed};
pub use span::{FileId, Span};
