//! The Tandem standard library: built-in functions, their signatures, implementations and docs.
//!
//! Each built-in is defined once here, as one row of [`BUILTINS`] named by a
//! [`BuiltinId`]: the checker reads its signature, the lowering to IR and both
//! engines read its [`Implementation`], the lints read what it [`Reads`], and the
//! editor shows its doc on hover. No code outside this crate binds a built-in by
//! its name.

pub mod builtins;
pub mod functions;
pub mod holidays;
pub mod lunar;
pub mod template_vars;
pub mod timeline_kinds;
pub mod types;

pub use template_vars::{template_vars, TemplateKind, TemplateVar, TEMPLATE_VARS};
pub use timeline_kinds::TIMELINE_KINDS;
pub use types::{ElemType, Type};

pub use builtins::{
    builtin, Builtin, BuiltinId, Implementation, Param, Reads, BUILTINS, COUNT_DOC,
};

/// The published list of free-mail domains used by `free_email`.
pub const FREE_MAIL_DOMAINS: &[&str] = &[
    "126.com",
    "163.com",
    "aol.com",
    "gmail.com",
    "gmx.com",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "yahoo.com",
    "yahoo.com.vn",
    "yandex.com",
    "ymail.com",
    "zoho.com",
];
