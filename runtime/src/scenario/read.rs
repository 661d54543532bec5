//! Reading a scenario in one pass: each input is typed and validated as soon as it is read, so the untyped JSON of only one input exists at a time.
//!
//! The checks and their order are those of the scenario format: a text that is not
//! JSON is refused as such wherever the fault is; then an unknown top-level key, a bad
//! `start` or `until`, a missing or non-list `inputs`; then the first bad input by
//! index. Reading stops typing inputs at the first bad one but still reads to the end,
//! so a JSON fault later in the text is the one reported, as it would be if the whole
//! text were parsed first.

use std::fmt;

use rustc_hash::FxHashSet;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::*;

/// Parses and validates a scenario against a checked program's symbols.
pub fn parse_scenario(json: &str, sym: &Symbols) -> Result<Scenario, ScenarioError> {
    let mut inputs = Vec::new();
    let window = read_scenario(json, sym, &mut |input| inputs.push(input))?;
    Ok(Scenario {
        start: window.start,
        until: window.until,
        inputs,
    })
}

/// Where a scenario's clock starts and stops, and how many inputs it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Where the clock starts, in seconds since 1970.
    pub start: i64,
    /// Where it stops.
    pub until: i64,
    /// The number of inputs.
    pub inputs: usize,
}

/// Reads and validates a scenario in one pass, handing each input to `each` as soon as
/// it is typed. An error anywhere refuses the whole scenario, but the inputs before the
/// first bad one have been handed over by then: a caller that must not act on a bad
/// scenario reads it twice, first with an `each` that keeps nothing (`tandem simulate`
/// does: memory follows the leads, not the inputs).
pub fn read_scenario(
    json: &str,
    sym: &Symbols,
    each: &mut dyn FnMut(Input),
) -> Result<Window, ScenarioError> {
    let mut state = State {
        sym,
        each,
        repeated_key: None,
        unknown_key: None,
        start: None,
        until: None,
        inputs: None,
        bad_input: None,
        created: FxHashSet::default(),
    };
    let mut de = serde_json::Deserializer::from_str(json);
    let shape = Top(&mut state)
        .deserialize(&mut de)
        .and_then(|shape| de.end().map(|()| shape))
        .or_else(|e| fail(None, format!("the scenario is not valid JSON: {e}")))?;
    if !shape {
        return fail(None, "the scenario must be a JSON object with `inputs`");
    }
    if let Some(key) = state.repeated_key {
        return fail(None, format!("`{key}` is given twice"));
    }
    if let Some(key) = state.unknown_key {
        return fail(
            None,
            format!("unknown key `{key}` (a scenario has `start`, `until` and `inputs`)"),
        );
    }
    let start = state.start.unwrap_or(Ok(None))?;
    let until = state.until.unwrap_or(Ok(None))?;
    let read = match state.inputs {
        Some(Some(read)) => read,
        Some(None) => return fail(None, "`inputs` must be a list"),
        None => return fail(None, "the scenario has no `inputs`"),
    };
    // `start` may come after `inputs` in the text: the inputs read up to the first bad
    // one are checked against it now, as they would have been while being read (they
    // are in time order, so the first is the earliest).
    if let Some(s) = start {
        if read.first.is_some_and(|at| at < s) {
            return fail(Some(0), "this input is before the scenario's `start`");
        }
        if let Some(bad) = &state.bad_input {
            if !bad.about_at && bad.at.is_some_and(|at| at < s) {
                return fail(
                    bad.error.index,
                    "this input is before the scenario's `start`",
                );
            }
        }
    }
    if let Some(bad) = state.bad_input {
        return Err(bad.error);
    }
    let start = start.or(read.first).unwrap_or(0);
    let until = until.or(read.last).unwrap_or(start);
    if until < start {
        return fail(None, "`until` is before `start`");
    }
    Ok(Window {
        start,
        until,
        inputs: read.count,
    })
}

/// What reading the `inputs` list saw.
struct Read {
    first: Option<i64>,
    last: Option<i64>,
    count: usize,
}

/// The first bad input.
struct BadInput {
    /// Its `at`, when that was read.
    at: Option<i64>,
    /// Whether it was refused for its `at` (checked before anything else about it).
    about_at: bool,
    error: ScenarioError,
}

struct State<'s> {
    sym: &'s Symbols,
    each: &'s mut dyn FnMut(Input),
    repeated_key: Option<String>,
    unknown_key: Option<String>,
    start: Option<Result<Option<i64>, ScenarioError>>,
    until: Option<Result<Option<i64>, ScenarioError>>,
    /// `Some(None)`: `inputs` is there but not a list.
    inputs: Option<Option<Read>>,
    bad_input: Option<BadInput>,
    created: FxHashSet<String>,
}

/// The scenario object; `false` when the text is JSON but not an object.
struct Top<'a, 's>(&'a mut State<'s>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

/// Consumes a value that is not what was asked for, answering `no`.
macro_rules! refuse_other_shapes {
    ($no:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($no)
        }
    };
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scenario object")
    }

    refuse_other_shapes!(false);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let state = self.0;
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            // A repeated key would make the order of reading matter: refused.
            if seen.contains(&key) {
                state.repeated_key.get_or_insert_with(|| key.clone());
            } else {
                seen.push(key.clone());
            }
            match key.as_str() {
                "start" | "until" => {
                    let value: Json = map.next_value()?;
                    let instant = instant(&key, &value);
                    if key == "start" {
                        state.start = Some(instant);
                    } else {
                        state.until = Some(instant);
                    }
                }
                "inputs" if state.inputs.is_none() => {
                    let list = map.next_value_seed(Inputs(state))?;
                    state.inputs = Some(list);
                }
                "inputs" => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    state.unknown_key.get_or_insert(key);
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(true)
    }
}

fn instant(key: &str, value: &Json) -> Result<Option<i64>, ScenarioError> {
    match value {
        Json::Null => Ok(None),
        Json::String(s) => parse_instant(s)
            .map(Some)
            .or_else(|m| fail(None, format!("`{key}`: {m}"))),
        other => fail(
            None,
            format!("`{key}` must be an instant in quotes, not {other}"),
        ),
    }
}

/// The `inputs` list, each input typed as it is read; `None` when it is not a list.
struct Inputs<'a, 's>(&'a mut State<'s>);

impl<'de> DeserializeSeed<'de> for Inputs<'_, '_> {
    type Value = Option<Read>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Inputs<'_, '_> {
    type Value = Option<Read>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of inputs")
    }

    refuse_other_shapes!(None);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let state = self.0;
        let start = state
            .start
            .as_ref()
            .and_then(|s| s.as_ref().ok().copied().flatten());
        let mut read = Read {
            first: None,
            last: None,
            count: 0,
        };
        while state.bad_input.is_none() {
            let Some(raw) = seq.next_element::<Json>()? else {
                return Ok(Some(read));
            };
            match typed(
                state.sym,
                &mut state.created,
                read.count,
                raw,
                read.last,
                start,
            ) {
                Ok(input) => {
                    read.first.get_or_insert(input.at);
                    read.last = Some(input.at);
                    (state.each)(input);
                }
                Err(bad) => state.bad_input = Some(bad),
            }
            read.count += 1;
        }
        // Past the first bad input: read on for JSON faults only.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(read))
    }
}

/// One input, typed and validated.
fn typed(
    sym: &Symbols,
    created: &mut FxHashSet<String>,
    index: usize,
    raw: Json,
    last_at: Option<i64>,
    start: Option<i64>,
) -> Result<Input, BadInput> {
    let i = Some(index);
    let at_fault = |message: String| BadInput {
        at: None,
        about_at: true,
        error: ScenarioError { index: i, message },
    };
    let Json::Object(o) = raw else {
        return Err(at_fault("an input must be an object".into()));
    };
    let at = match o.get("at") {
        Some(Json::String(s)) => parse_instant(s).map_err(at_fault)?,
        _ => return Err(at_fault("`at` is missing (an RFC 3339 instant)".into())),
    };
    let other = |message: String| BadInput {
        at: Some(at),
        about_at: false,
        error: ScenarioError { index: i, message },
    };
    if last_at.is_some_and(|prev| at < prev) {
        return Err(at_fault(
            "time goes backwards: inputs must be in non-decreasing `at`".into(),
        ));
    }
    if start.is_some_and(|s| at < s) {
        return Err(at_fault(
            "this input is before the scenario's `start`".into(),
        ));
    }
    let lead = match o.get("lead") {
        Some(Json::String(s)) if !s.is_empty() => nfc(s),
        _ => return Err(other("`lead` is missing (the lead's id)".into())),
    };
    let actions: Vec<&str> = ["create", "update", "event", "task"]
        .into_iter()
        .filter(|k| o.contains_key(k))
        .collect();
    if actions.len() != 1 {
        return Err(other(
            "an input has exactly one of `create`, `update`, `event` or `task`".into(),
        ));
    }
    let allowed: &[&str] = match actions[0] {
        "create" | "update" => &["at", "lead", "create", "update"],
        "event" => &["at", "lead", "event", "props"],
        _ => &["at", "lead", "task", "outcome", "by", "reason"],
    };
    if let Some(k) = o.keys().find(|k| !allowed.contains(k)) {
        return Err(other(format!(
            "unknown key `{k}` in a `{}` input",
            actions[0]
        )));
    }
    if actions[0] == "create" {
        if !created.insert(lead.clone()) {
            return Err(other(format!("the lead `{lead}` is created twice")));
        }
    } else if !created.contains(&lead) {
        return Err(other(format!("unknown lead `{lead}` (create it first)")));
    }
    let kind = parse_action(sym, actions[0], &o).map_err(other)?;
    Ok(Input {
        index,
        at,
        lead,
        kind,
    })
}
