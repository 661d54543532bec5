//! The built-in functions: one enum naming them and one table defining each (name, signature, doc, what it reads, implementation).
//!
//! [`BUILTINS`] is indexed by [`BuiltinId`] (a unit test holds the order), so a
//! compiled program carries the small id and every consumer — the checker, the
//! lowering to IR, the interpreter, the JIT, the lints, the editor and the
//! language reference test — looks the rest up here. The implementations of
//! numeric and clock functions use the C calling convention so compiled code can
//! call the very same function the interpreter calls.

use crate::functions;
use crate::types::Type;

/// Every built-in function but `count(…)`, which has its own syntax (see [`COUNT_DOC`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuiltinId {
    Lower,
    Upper,
    Trim,
    Unaccent,
    Length,
    Domain,
    FreeEmail,
    Now,
    DaysSince,
    HoursSince,
    Opened,
    Clicked,
    Round,
    Abs,
    Min,
    Max,
}

impl BuiltinId {
    /// The table row of this built-in.
    pub fn builtin(self) -> &'static Builtin {
        // The table is in enum order (tested), so the index is always in range.
        &BUILTINS[self as usize]
    }

    /// The name a program calls it by.
    pub fn name(self) -> &'static str {
        self.builtin().name
    }

    /// A small number standing for the id in compiled code (the row's index).
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The id a [`BuiltinId::code`] stands for.
    pub fn from_code(code: u64) -> Option<Self> {
        let i = usize::try_from(code).ok()?;
        BUILTINS.get(i).map(|b| b.id)
    }
}

/// What a parameter of a built-in accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// Any expression of this type.
    Value(Type),
    /// The bare name of an email template (`opened(ebook_delivery)`).
    Template,
}

/// What a built-in's result depends on besides its arguments (its purity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Only its arguments: the same arguments give the same result.
    Arguments,
    /// The instant being processed, so its value moves as time passes.
    Clock,
    /// The lead's history of email opens and clicks.
    History,
}

/// How a built-in is computed; the engines dispatch on the shape.
#[derive(Debug, Clone, Copy)]
pub enum Implementation {
    /// `text -> text`.
    TextToText(fn(&str) -> String),
    /// `text -> number`.
    TextToNumber(fn(&str) -> f64),
    /// `text -> bool`.
    TextToBool(fn(&str) -> bool),
    /// `number -> number`.
    Number(extern "C" fn(f64) -> f64),
    /// `number, number -> number`.
    Number2(extern "C" fn(f64, f64) -> f64),
    /// `time -> number`, called with (the time, now) in Unix seconds.
    Since(extern "C" fn(i64, i64) -> f64),
    /// The instant being processed.
    Now,
    /// Whether the lead opened (or clicked in) an email made from the template argument.
    Engaged { clicked: bool },
}

/// One built-in function.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub id: BuiltinId,
    pub name: &'static str,
    pub params: &'static [Param],
    pub result: Type,
    /// One paragraph for hover and the language reference.
    pub doc: &'static str,
    pub reads: Reads,
    pub implementation: Implementation,
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

    /// True when the result depends on the instant being processed.
    pub fn reads_clock(&self) -> bool {
        self.reads == Reads::Clock
    }
}

const TEXT: Param = Param::Value(Type::Text);
const NUMBER: Param = Param::Value(Type::Number);
const TIME: Param = Param::Value(Type::Time);

use Implementation as I;

/// The table, in [`BuiltinId`] order.
#[rustfmt::skip]
pub const BUILTINS: &[Builtin] = &[
    Builtin { id: BuiltinId::Lower, name: "lower", params: &[TEXT], result: Type::Text,
        reads: Reads::Arguments, implementation: I::TextToText(functions::lower),
        doc: "The text in lower case (Unicode-aware: `lower(\"GIÁM ĐỐC\")` is `\"giám đốc\"`)." },
    Builtin { id: BuiltinId::Upper, name: "upper", params: &[TEXT], result: Type::Text,
        reads: Reads::Arguments, implementation: I::TextToText(functions::upper),
        doc: "The text in upper case (Unicode-aware)." },
    Builtin { id: BuiltinId::Trim, name: "trim", params: &[TEXT], result: Type::Text,
        reads: Reads::Arguments, implementation: I::TextToText(functions::trim),
        doc: "The text without leading and trailing white space." },
    Builtin { id: BuiltinId::Unaccent, name: "unaccent", params: &[TEXT], result: Type::Text,
        reads: Reads::Arguments, implementation: I::TextToText(functions::unaccent),
        doc: "The text without Vietnamese diacritics: `unaccent(\"Giám đốc\")` is `\"Giam doc\"`, `đ` becomes `d`." },
    Builtin { id: BuiltinId::Length, name: "length", params: &[TEXT], result: Type::Number,
        reads: Reads::Arguments, implementation: I::TextToNumber(functions::length),
        doc: "The number of Unicode scalar values (characters) in the text." },
    Builtin { id: BuiltinId::Domain, name: "domain", params: &[TEXT], result: Type::Text,
        reads: Reads::Arguments, implementation: I::TextToText(functions::domain),
        doc: "The part of an email address after the last `@`, in lower case; `\"\"` when there is no `@`." },
    Builtin { id: BuiltinId::FreeEmail, name: "free_email", params: &[TEXT], result: Type::Bool,
        reads: Reads::Arguments, implementation: I::TextToBool(functions::free_email),
        doc: "True when the address's domain is a free-mail provider (gmail.com, yahoo.com.vn, …; the list is in the standard library)." },
    Builtin { id: BuiltinId::Now, name: "now", params: &[], result: Type::Time,
        reads: Reads::Clock, implementation: I::Now,
        doc: "The instant being processed." },
    Builtin { id: BuiltinId::DaysSince, name: "days_since", params: &[TIME], result: Type::Number,
        reads: Reads::Clock, implementation: I::Since(functions::days_since),
        doc: "Whole days from the time to now, rounded down; negative when the time is in the future." },
    Builtin { id: BuiltinId::HoursSince, name: "hours_since", params: &[TIME], result: Type::Number,
        reads: Reads::Clock, implementation: I::Since(functions::hours_since),
        doc: "Whole hours from the time to now, rounded down; negative when the time is in the future." },
    Builtin { id: BuiltinId::Opened, name: "opened", params: &[Param::Template], result: Type::Bool,
        reads: Reads::History, implementation: I::Engaged { clicked: false },
        doc: "True when the lead ever opened an email made from this template." },
    Builtin { id: BuiltinId::Clicked, name: "clicked", params: &[Param::Template], result: Type::Bool,
        reads: Reads::History, implementation: I::Engaged { clicked: true },
        doc: "True when the lead ever clicked a link in an email made from this template." },
    Builtin { id: BuiltinId::Round, name: "round", params: &[NUMBER], result: Type::Number,
        reads: Reads::Arguments, implementation: I::Number(functions::round),
        doc: "The nearest whole number; halves go away from zero (`round(2.5)` is 3, `round(-2.5)` is -3)." },
    Builtin { id: BuiltinId::Abs, name: "abs", params: &[NUMBER], result: Type::Number,
        reads: Reads::Arguments, implementation: I::Number(functions::abs),
        doc: "The number without its sign." },
    Builtin { id: BuiltinId::Min, name: "min", params: &[NUMBER, NUMBER], result: Type::Number,
        reads: Reads::Arguments, implementation: I::Number2(functions::min),
        doc: "The smaller of two numbers." },
    Builtin { id: BuiltinId::Max, name: "max", params: &[NUMBER, NUMBER], result: Type::Number,
        reads: Reads::Arguments, implementation: I::Number2(functions::max),
        doc: "The larger of two numbers." },
];

/// Documentation of `count(EVENT [where EXPR] within DURATION)`.
pub const COUNT_DOC: &str = "count(EVENT [where EXPR] within DURATION) -> number: how many such events the lead received in the window (now − DURATION, now]. Inside `where`, `event.PROP` is the event being counted.";

/// Looks a built-in up by the name a program calls it by.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_id_order_and_names_are_unique() {
        for (i, b) in BUILTINS.iter().enumerate() {
            assert_eq!(b.id as usize, i, "{} is out of order", b.name);
            assert_eq!(BuiltinId::from_code(b.id.code()), Some(b.id));
            assert_eq!(builtin(b.name).map(|x| x.id), Some(b.id));
        }
        assert_eq!(BuiltinId::from_code(BUILTINS.len() as u64), None);
    }

    #[test]
    fn implementation_shape_matches_signature() {
        for b in BUILTINS {
            let (params, result): (&[Param], Type) = match b.implementation {
                I::TextToText(_) => (&[TEXT], Type::Text),
                I::TextToNumber(_) => (&[TEXT], Type::Number),
                I::TextToBool(_) => (&[TEXT], Type::Bool),
                I::Number(_) => (&[NUMBER], Type::Number),
                I::Number2(_) => (&[NUMBER, NUMBER], Type::Number),
                I::Since(_) => (&[TIME], Type::Number),
                I::Now => (&[], Type::Time),
                I::Engaged { .. } => (&[Param::Template], Type::Bool),
            };
            assert_eq!((b.params, b.result), (params, result), "{}", b.name);
        }
    }
}
