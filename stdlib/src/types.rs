//! The value types of the Tandem language, shared by the checker, the engines and the editor.

use std::fmt;

/// The element type of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElemType {
    Text,
    Number,
    Stage,
}

/// A type in the language (spec section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Text,
    Number,
    Bool,
    /// An instant.
    Time,
    Stage,
    /// Only as a literal (`2 days`).
    Duration,
    List(ElemType),
    /// The lead's set of tags.
    Tags,
}

impl Type {
    /// The type a lead field or event property declaration names.
    pub fn from_decl_name(name: &str) -> Option<Type> {
        match name {
            "text" => Some(Type::Text),
            "number" => Some(Type::Number),
            "bool" => Some(Type::Bool),
            "time" => Some(Type::Time),
            _ => None,
        }
    }

    pub fn elem(self) -> Option<ElemType> {
        match self {
            Type::Text => Some(ElemType::Text),
            Type::Number => Some(ElemType::Number),
            Type::Stage => Some(ElemType::Stage),
            _ => None,
        }
    }
}

impl From<ElemType> for Type {
    fn from(e: ElemType) -> Type {
        match e {
            ElemType::Text => Type::Text,
            ElemType::Number => Type::Number,
            ElemType::Stage => Type::Stage,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Text => f.write_str("text"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Time => f.write_str("time"),
            Type::Stage => f.write_str("stage"),
            Type::Duration => f.write_str("duration"),
            Type::List(e) => write!(f, "list of {}", Type::from(*e)),
            Type::Tags => f.write_str("tags"),
        }
    }
}
