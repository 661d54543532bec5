//! Request bodies as typed structs: serde refuses unknown keys and wrong types, and each refusal reads as the message the API documents (docs/api.md), with the item's index in a batch.
//!
//! A batch (`POST /api/leads`, `POST /api/events`) is one object or a list of them;
//! [`items`] splits it and parses each item on its own, so an error names the item.
//! The values of lead fields and event properties stay JSON here: they are checked
//! against the program by the same parser `tandem simulate` uses, on the engine
//! thread.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Why a body was refused: the message, and the item's place in a batch.
#[derive(Debug, PartialEq)]
pub(super) struct Refused {
    pub message: String,
    pub index: Option<usize>,
}

/// What went wrong with one key.
pub(super) enum Problem<'a> {
    Unknown(&'a str),
    Missing(&'a str),
    WrongType(&'a str),
}

/// A body type and how its refusals read.
pub(super) trait Body: DeserializeOwned {
    /// The keys it accepts, as the "unknown key" message lists them.
    const KEYS: &'static [&'static str];

    fn message(problem: Problem<'_>) -> String {
        default_message::<Self>(problem)
    }

    /// A required text key that was given empty, if any (read as missing).
    fn empty_key(&self) -> Option<&'static str> {
        None
    }
}

/// Keeps an explicit `null` as a value (serde would read it as absent).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// One item of `POST /api/leads`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LeadItem {
    pub id: String,
    #[serde(default, deserialize_with = "present")]
    pub fields: Option<Value>,
}

impl Body for LeadItem {
    const KEYS: &'static [&'static str] = &["id", "fields"];

    fn message(problem: Problem<'_>) -> String {
        match problem {
            Problem::Missing("id") | Problem::WrongType("id") => {
                "`id` is missing (the lead's id, a text)".to_owned()
            }
            other => default_message::<Self>(other),
        }
    }

    fn empty_key(&self) -> Option<&'static str> {
        self.id.is_empty().then_some("id")
    }
}

/// One item of `POST /api/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventItem {
    pub lead: String,
    /// The event's name; any value is passed on and checked with the props.
    pub event: Value,
    #[serde(default, deserialize_with = "present")]
    pub props: Option<Value>,
}

impl Body for EventItem {
    const KEYS: &'static [&'static str] = &["lead", "event", "props"];

    fn message(problem: Problem<'_>) -> String {
        match problem {
            Problem::Missing("lead") | Problem::WrongType("lead") => {
                "`lead` is missing (the lead's id, a text)".to_owned()
            }
            Problem::Missing("event") => "`event` is missing (the event's name)".to_owned(),
            other => default_message::<Self>(other),
        }
    }

    fn empty_key(&self) -> Option<&'static str> {
        self.lead.is_empty().then_some("lead")
    }
}

/// The body of `POST /api/tasks/{id}/accept|reject|complete` (all of it optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskOutcome {
    pub by: Option<String>,
    pub reason: Option<String>,
}

impl Body for TaskOutcome {
    const KEYS: &'static [&'static str] = &["by", "reason"];
}

/// The body of `POST /api/program`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgramBody {
    pub files: BTreeMap<String, String>,
}

impl Body for ProgramBody {
    const KEYS: &'static [&'static str] = &["files"];

    fn message(problem: Problem<'_>) -> String {
        match problem {
            // Not an object at all (`.`) reads the same.
            Problem::Missing("files") | Problem::WrongType("files" | ".") => {
                "`files` is missing: an object of path → text".to_owned()
            }
            other => default_message::<Self>(other),
        }
    }
}

/// [`Body::message`]'s default, for overrides to fall back on.
fn default_message<T: Body>(problem: Problem<'_>) -> String {
    match problem {
        Problem::Unknown(k) => format!("unknown key `{k}` (allowed: {})", T::KEYS.join(", ")),
        Problem::Missing(k) | Problem::WrongType(k) => format!("`{k}` must be a text"),
    }
}

/// Parses one JSON value as a `T`, naming the key that is wrong.
pub(super) fn parse<T: Body>(value: Value, index: Option<usize>) -> Result<T, Refused> {
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let quoted = |prefix: &str| {
            inner
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        };
        let message = if let Some(k) = quoted("unknown field `") {
            T::message(Problem::Unknown(&k))
        } else if let Some(k) = quoted("missing field `") {
            T::message(Problem::Missing(&k))
        } else {
            T::message(Problem::WrongType(&path))
        };
        Refused { message, index }
    })?;
    match parsed.empty_key() {
        Some(k) => Err(Refused {
            message: T::message(Problem::Missing(k)),
            index,
        }),
        None => Ok(parsed),
    }
}

/// A body as JSON, or the refusal that says it is not.
fn json(body: &[u8]) -> Result<Value, Refused> {
    serde_json::from_slice(body).map_err(|e| Refused {
        message: format!("the body is not valid JSON: {e}"),
        index: None,
    })
}

/// A JSON body: one object or a list of them, each parsed as a `T`.
pub(super) fn items<T: Body>(body: &[u8]) -> Result<Vec<T>, Refused> {
    let list = match json(body)? {
        Value::Array(a) => a,
        other => vec![other],
    };
    list.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(_) => parse(v, Some(i)),
            _ => Err(Refused {
                message: "each item must be a JSON object".to_owned(),
                index: Some(i),
            }),
        })
        .collect()
}

/// A JSON body that must be one object; an empty body is `T`'s default.
pub(super) fn one<T: Body + Default>(body: &[u8]) -> Result<T, Refused> {
    if body.is_empty() {
        return Ok(T::default());
    }
    match json(body)? {
        v @ Value::Object(_) => parse(v, None),
        _ => Err(Refused {
            message: "the body must be one object".to_owned(),
            index: None,
        }),
    }
}

/// A JSON body that must be one object.
pub(super) fn object<T: Body>(body: &[u8]) -> Result<T, Refused> {
    parse(json(body)?, None)
}

impl LeadItem {
    /// The engine's input: `{"fields": …}` (an absent `fields` is an empty object).
    pub fn into_body(self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert(
            "fields".into(),
            self.fields.unwrap_or(Value::Object(Map::new())),
        );
        body
    }
}

impl EventItem {
    /// The engine's input: `{"event": …, "props": …}`, `props` only when given.
    pub fn into_body(self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("event".into(), self.event);
        if let Some(p) = self.props {
            body.insert("props".into(), p);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused<T: Body + std::fmt::Debug>(body: &str) -> Refused {
        items::<T>(body.as_bytes()).expect_err(body)
    }

    #[test]
    fn batches_name_the_item_and_the_key() {
        let r = refused::<LeadItem>(r#"[{"id":"a"},{"id":"b","feilds":{}}]"#);
        assert_eq!(r.message, "unknown key `feilds` (allowed: id, fields)");
        assert_eq!(r.index, Some(1));
        for body in [r#"{"fields":{}}"#, r#"{"id":7}"#, r#"{"id":""}"#] {
            let r = refused::<LeadItem>(body);
            assert_eq!(
                r.message, "`id` is missing (the lead's id, a text)",
                "{body}"
            );
            assert_eq!(r.index, Some(0));
        }
        assert_eq!(
            refused::<LeadItem>("[1]").message,
            "each item must be a JSON object"
        );
        assert!(refused::<LeadItem>("{")
            .message
            .starts_with("the body is not valid JSON"));
        let r = refused::<EventItem>(r#"{"lead":"a","props":{}}"#);
        assert_eq!(r.message, "`event` is missing (the event's name)");
        let r = refused::<EventItem>(r#"{"event":"x"}"#);
        assert_eq!(r.message, "`lead` is missing (the lead's id, a text)");
    }

    #[test]
    fn values_pass_through_to_the_engine_as_given() {
        let list = items::<EventItem>(br#"{"lead":"a","event":5,"props":null}"#).expect("parses");
        let body = list.into_iter().next().expect("one").into_body();
        assert_eq!(body.get("event"), Some(&Value::from(5)));
        assert_eq!(
            body.get("props"),
            Some(&Value::Null),
            "an explicit null is kept"
        );
        let list = items::<LeadItem>(br#"{"id":"a"}"#).expect("parses");
        let body = list.into_iter().next().expect("one").into_body();
        assert_eq!(body.get("fields"), Some(&Value::Object(Map::new())));
    }

    #[test]
    fn single_objects() {
        let t = one::<TaskOutcome>(b"").expect("empty is fine");
        assert_eq!((t.by, t.reason), (None, None));
        let t = one::<TaskOutcome>(br#"{"by":null,"reason":"budget"}"#).expect("parses");
        assert_eq!(t.reason.as_deref(), Some("budget"));
        let r = one::<TaskOutcome>(br#"{"by":3}"#).expect_err("a number");
        assert_eq!(r.message, "`by` must be a text");
        let r = one::<TaskOutcome>(br#"{"who":"x"}"#).expect_err("unknown");
        assert_eq!(r.message, "unknown key `who` (allowed: by, reason)");
        assert_eq!(
            one::<TaskOutcome>(b"[]").expect_err("a list").message,
            "the body must be one object"
        );
        let r = object::<ProgramBody>(br#"{"files":{"a.journey":1}}"#).expect_err("a number");
        assert_eq!(r.message, "`files.a.journey` must be a text");
        for body in [&br#"{}"#[..], br#"{"files":[]}"#, b"3"] {
            let r = object::<ProgramBody>(body).expect_err("no files");
            assert_eq!(r.message, "`files` is missing: an object of path → text");
        }
    }
}
