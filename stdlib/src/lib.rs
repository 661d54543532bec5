//! The Tandem standard library: built-in functions, their signatures, implementations and docs.
//!
//! Each built-in is defined once here. The checker reads [`BUILTINS`] for
//! signatures, the interpreter and the JIT call the implementations in
//! [`functions`], and the editor shows [`Builtin::doc`] on hover.

pub mod functions;
pub mod template_vars;
pub mod timeline_kinds;
pub mod types;

pub use template_vars::{template_vars, TemplateKind, TemplateVar, TEMPLATE_VARS};
pub use timeline_kinds::TIMELINE_KINDS;
pub use types::{ElemType, Type};

/// What a parameter of a built-in accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// Any expression of this type.
    Value(Type),
    /// The bare name of an email template (`opened(ebook_delivery)`).
    Template,
}

/// One built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    pub name: &'static str,
    pub params: &'static [Param],
    pub result: Type,
    /// One paragraph for hover and the language reference.
    pub doc: &'static str,
    /// True when the result depends on the instant being processed.
    pub reads_clock: bool,
}

impl Builtin {
    /// `lower(text) -> text`, for messages and hovers.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| match p {
                Param::Value(t) => t.to_string(),
                Param::Template => "TEMPLATE".to_owned(),
            })
            .collect();
        format!("{}({}) -> {}", self.name, params.join(", "), self.result)
    }
}

const TEXT: Param = Param::Value(Type::Text);
const NUMBER: Param = Param::Value(Type::Number);
const TIME: Param = Param::Value(Type::Time);

/// Every built-in function but `count(…)`, which has its own syntax (see [`COUNT_DOC`]).
pub const BUILTINS: &[Builtin] = &[
    Builtin { name: "lower", params: &[TEXT], result: Type::Text, reads_clock: false,
        doc: "The text in lower case (Unicode-aware: `lower(\"GIÁM ĐỐC\")` is `\"giám đốc\"`)." },
    Builtin { name: "upper", params: &[TEXT], result: Type::Text, reads_clock: false,
        doc: "The text in upper case (Unicode-aware)." },
    Builtin { name: "trim", params: &[TEXT], result: Type::Text, reads_clock: false,
        doc: "The text without leading and trailing white space." },
    Builtin { name: "unaccent", params: &[TEXT], result: Type::Text, reads_clock: false,
        doc: "The text without Vietnamese diacritics: `unaccent(\"Giám đốc\")` is `\"Giam doc\"`, `đ` becomes `d`." },
    Builtin { name: "length", params: &[TEXT], result: Type::Number, reads_clock: false,
        doc: "The number of Unicode scalar values (characters) in the text." },
    Builtin { name: "domain", params: &[TEXT], result: Type::Text, reads_clock: false,
        doc: "The part of an email address after the last `@`, in lower case; `\"\"` when there is no `@`." },
    Builtin { name: "free_email", params: &[TEXT], result: Type::Bool, reads_clock: false,
        doc: "True when the address's domain is a free-mail provider (gmail.com, yahoo.com.vn, …; the list is in the standard library)." },
    Builtin { name: "now", params: &[], result: Type::Time, reads_clock: true,
        doc: "The instant being processed." },
    Builtin { name: "days_since", params: &[TIME], result: Type::Number, reads_clock: true,
        doc: "Whole days from the time to now, rounded down; negative when the time is in the future." },
    Builtin { name: "hours_since", params: &[TIME], result: Type::Number, reads_clock: true,
        doc: "Whole hours from the time to now, rounded down; negative when the time is in the future." },
    Builtin { name: "opened", params: &[Param::Template], result: Type::Bool, reads_clock: false,
        doc: "True when the lead ever opened an email made from this template." },
    Builtin { name: "clicked", params: &[Param::Template], result: Type::Bool, reads_clock: false,
        doc: "True when the lead ever clicked a link in an email made from this template." },
    Builtin { name: "round", params: &[NUMBER], result: Type::Number, reads_clock: false,
        doc: "The nearest whole number; halves go away from zero (`round(2.5)` is 3, `round(-2.5)` is -3)." },
    Builtin { name: "abs", params: &[NUMBER], result: Type::Number, reads_clock: false,
        doc: "The number without its sign." },
    Builtin { name: "min", params: &[NUMBER, NUMBER], result: Type::Number, reads_clock: false,
        doc: "The smaller of two numbers." },
    Builtin { name: "max", params: &[NUMBER, NUMBER], result: Type::Number, reads_clock: false,
        doc: "The larger of two numbers." },
];

/// Documentation of `count(EVENT [where EXPR] within DURATION)`.
pub const COUNT_DOC: &str = "count(EVENT [where EXPR] within DURATION) -> number: how many such events the lead received in the window (now − DURATION, now]. Inside `where`, `event.PROP` is the event being counted.";

/// Looks a built-in up by name.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

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
