//! `tandem simulate` scenarios (docs/simulation.md): parsed and validated against the program before anything runs; a bad input is named by its index.

use compiler::symbols::{Bare, Symbols};
use stdlib::Type;
use unicode_normalization::UnicodeNormalization;

mod json;
mod read;
pub use json::{Json, Object};
pub use read::{parse_scenario, read_scenario, Window};

/// A value given to a lead field or event property: the same values a timeline line shows.
pub type InputValue = crate::timeline::FieldValue;

/// What a task input does to the lead's open task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TaskOutcome {
    /// The task is accepted.
    Accept,
    /// The task is rejected (needs a reason).
    Reject,
    /// The task is completed.
    Complete,
}

/// What an input does.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum InputKind {
    /// `create`: creates the lead with these field values.
    Create(Vec<(String, InputValue)>),
    /// `update`: sets these fields of the lead.
    Update(Vec<(String, InputValue)>),
    /// `event`: an outside event happens to the lead.
    Event {
        /// The event's name.
        event: String,
        /// Its properties, by name.
        props: Vec<(String, InputValue)>,
    },
    /// `task`: an outcome for the lead's open task of a handoff.
    Task {
        /// The handoff's name.
        handoff: String,
        /// The outcome.
        outcome: TaskOutcome,
        /// Who acted (default: the task's assignee).
        by: Option<String>,
        /// The rejection reason (only for `reject`, where it is required).
        reason: Option<String>,
    },
}

/// One input of a scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Input {
    /// Its 0-based position in `inputs`.
    pub index: usize,
    /// When it happens, in seconds since 1970.
    pub at: i64,
    /// The lead's id.
    pub lead: String,
    /// What it does.
    pub kind: InputKind,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Where the clock starts, in seconds since 1970.
    pub start: i64,
    /// Where the clock stops, in seconds since 1970.
    pub until: i64,
    /// The inputs, in non-decreasing `at`.
    pub inputs: Vec<Input>,
}

/// Why a scenario was refused (the CLI exits with code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The input concerned, if any.
    pub index: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "input {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn fail<T>(index: Option<usize>, message: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError {
        index,
        message: message.into(),
    })
}

/// An RFC 3339 instant with an offset, in whole seconds.
pub fn parse_instant(s: &str) -> Result<i64, String> {
    // After the date (whatever separates it from the time: `T`, `t` or a space), a `.`
    // or `,` can only start a fraction of a second.
    let time_part = s.get(10..).unwrap_or("");
    if time_part.contains(['.', ',']) {
        return Err(format!(
            "`{s}` has a fraction of a second; instants are in whole seconds"
        ));
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| {
            // A well-formed date and time that still is no instant is out of range.
            let civil = s
                .get(..19)
                .map(|d| d.replacen([' ', 't'], "T", 1))
                .and_then(|d| d.parse::<jiff::civil::DateTime>().ok());
            if civil.is_some_and(|c| c.year() >= 9999) && s.len() > 19 {
                format!("`{s}` is outside the instants Tandem handles (years up to 9998)")
            } else {
                format!("`{s}` is not an RFC 3339 instant with an offset, like \"2026-01-05T09:00:00+07:00\"")
            }
        })
}

fn nfc(s: &str) -> String {
    // Most texts are already NFC (all ASCII ones are): checked without rebuilding them.
    if s.is_ascii()
        || unicode_normalization::is_nfc_quick(s.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        return s.to_owned();
    }
    s.nfc().collect()
}

/// A lead id or text as inputs store it: Unicode NFC.
pub fn normalize(s: &str) -> String {
    nfc(s)
}

/// Fields an input may set: the writable ones, plus `stage`, `owner`, `timezone` and `tags`.
/// The lead fields an input may set (a scenario's `create`/`update`, the service's
/// `POST /api/leads`, `tandem import`), with their types, in lead-layout order: the
/// writable built-ins, `tags`, then the declared fields.
pub fn settable_fields(sym: &Symbols) -> Vec<(String, Type)> {
    let mut out: Vec<(usize, String, Type)> = sym
        .bare
        .iter()
        .filter_map(|(name, b)| match b {
            Bare::Field(f) if f.writable || name == "tags" => Some((f.slot, name.clone(), f.ty)),
            _ => None,
        })
        .collect();
    out.sort_by_key(|(slot, _, _)| *slot);
    out.into_iter().map(|(_, n, t)| (n, t)).collect()
}

fn settable_field(sym: &Symbols, name: &str) -> Result<Type, String> {
    match sym.bare.get(name) {
        Some(Bare::Field(f)) if f.writable || name == "tags" => Ok(f.ty),
        Some(Bare::Field(_)) => Err(format!("`{name}` is read-only; the runtime sets it")),
        _ => {
            let fields = sym.bare.iter().filter_map(|(n, b)| match b {
                Bare::Field(f) if f.writable || n == "tags" => Some(n.as_str()),
                _ => None,
            });
            Err(format!(
                "the lead has no field `{name}`{}",
                hint(compiler::suggest::did_you_mean(name, fields))
            ))
        }
    }
}

/// `; did you mean `x`?` when there is a close name.
fn hint(close: Option<&str>) -> String {
    close
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// The value `v` given to the field or property `name` of type `ty`.
fn value_of(sym: &Symbols, ty: Type, name: &str, v: &Json) -> Result<InputValue, String> {
    let wrong = || format!("`{name}` must be a {ty}, not {v}");
    Ok(match ty {
        Type::Text => InputValue::Text(nfc(v.as_str().ok_or_else(wrong)?)),
        Type::Number => {
            let x = v.as_f64().ok_or_else(wrong)?;
            if !x.is_finite() {
                return Err(wrong());
            }
            // `-0` is zero: no negative zero reaches a lead (as `tandem import` reads it).
            InputValue::Number(if x == 0.0 { 0.0 } else { x })
        }
        Type::Bool => InputValue::Bool(v.as_bool().ok_or_else(wrong)?),
        Type::Time => InputValue::Time(
            parse_instant(v.as_str().ok_or_else(wrong)?).map_err(|e| format!("`{name}`: {e}"))?,
        ),
        Type::Stage => {
            let s = v.as_str().ok_or_else(wrong)?;
            if sym.stage_index(s).is_none() {
                return Err(format!("`{name}`: `{s}` is not a stage"));
            }
            InputValue::Stage(s.to_owned())
        }
        Type::Tags => {
            let items = v
                .as_array()
                .ok_or_else(|| format!("`{name}` must be a list of texts"))?;
            let mut tags = Vec::new();
            for item in items {
                tags.push(nfc(item
                    .as_str()
                    .ok_or_else(|| format!("`{name}` must be a list of texts"))?));
            }
            InputValue::Tags(tags)
        }
        Type::Duration | Type::List(_) => return Err(wrong()),
    })
}

fn fields(
    sym: &Symbols,
    index: usize,
    v: &Json,
) -> Result<Vec<(String, InputValue)>, ScenarioError> {
    let Some(obj) = v.as_object() else {
        return fail(Some(index), "the fields must be an object");
    };
    let mut out = Vec::new();
    for (name, value) in obj {
        if name == "id" {
            return fail(
                Some(index),
                "`id` is read-only: a lead's id is the input's `lead`",
            );
        }
        let ty = settable_field(sym, name).or_else(|m| fail(Some(index), m))?;
        let parsed = value_of(sym, ty, name, value).or_else(|m| fail(Some(index), m))?;
        if let InputValue::Text(tz) = &parsed {
            if name == "timezone" && !tz.is_empty() && jiff::tz::TimeZone::get(tz).is_err() {
                return fail(Some(index), format!("`{tz}` is not a known IANA time zone"));
            }
        }
        out.push((name.to_owned(), parsed));
    }
    Ok(out)
}

/// Parses what one input does — `action` is `create`, `update`, `event` or `task`, and
/// `o` the input object holding it — validating names, types and values against the
/// program. The service uses it for its API; the message names the offending key.
pub fn parse_action(sym: &Symbols, action: &str, o: &Object) -> Result<InputKind, String> {
    let field_values = |v: &Json| fields(sym, 0, v).map_err(|e| e.message);
    Ok(match action {
        "create" => InputKind::Create(field_values(o.field("create"))?),
        "update" => InputKind::Update(field_values(o.field("update"))?),
        "event" => {
            let Some(name) = o.field("event").as_str() else {
                return Err("`event` must be the event's name".into());
            };
            let Some(info) = sym.events.get(name) else {
                let outside = sym
                    .events
                    .iter()
                    .filter(|(_, e)| e.from_outside)
                    .map(|(n, _)| n.as_str());
                return Err(format!(
                    "unknown event `{name}`{}",
                    hint(compiler::suggest::did_you_mean(name, outside))
                ));
            };
            if !info.from_outside {
                return Err(format!(
                    "`{name}` is raised by the runtime itself; an input cannot send it"
                ));
            }
            let mut props = Vec::new();
            match o.get("props") {
                None | Some(Json::Null) => {}
                Some(Json::Object(p)) => {
                    for (k, v) in p {
                        let Some(ty) = info.prop(k) else {
                            let known = info.props.iter().map(|(n, _)| n.as_str());
                            return Err(format!(
                                "the event `{name}` has no property `{k}`{}",
                                hint(compiler::suggest::did_you_mean(k, known))
                            ));
                        };
                        props.push((k.to_owned(), value_of(sym, ty, k, v)?));
                    }
                }
                Some(_) => return Err("`props` must be an object".into()),
            }
            InputKind::Event {
                event: name.to_owned(),
                props,
            }
        }
        "task" => {
            let Some(handoff) = o.field("task").as_str() else {
                return Err("`task` must be the handoff's name".into());
            };
            let Some(info) = sym.handoffs.get(handoff) else {
                return Err(format!("unknown handoff `{handoff}`"));
            };
            let outcome = match o.get("outcome").and_then(Json::as_str) {
                Some("accept") => TaskOutcome::Accept,
                Some("reject") => TaskOutcome::Reject,
                Some("complete") => TaskOutcome::Complete,
                _ => return Err("`outcome` must be `accept`, `reject` or `complete`".into()),
            };
            let by = match o.get("by") {
                None | Some(Json::Null) => None,
                Some(Json::String(s)) => Some(nfc(s)),
                Some(_) => return Err("`by` must be an email address in quotes".into()),
            };
            let reason = match (outcome, o.get("reason")) {
                (TaskOutcome::Reject, Some(Json::String(r))) => {
                    if !info.reasons.iter().any(|known| known == r) {
                        return Err(format!("unknown reason `{r}` for the handoff `{handoff}`"));
                    }
                    Some(r.to_string())
                }
                (TaskOutcome::Reject, _) => return Err("`reason` is required to reject".into()),
                (_, None | Some(Json::Null)) => None,
                (_, Some(_)) => return Err("`reason` goes only with `reject`".into()),
            };
            InputKind::Task {
                handoff: handoff.to_owned(),
                outcome,
                by,
                reason,
            }
        }
        other => return Err(format!("unknown action `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Symbols {
        let src = r#"
timezone "Asia/Ho_Chi_Minh"
lead { name: text, company_size: number, demo_at: time }
event form_submitted { form: text }
team sales { members "a@acme.vn" }
handoff to_sales {
  assign team sales by round_robin
  reasons no_budget "Chưa có ngân sách"
}
"#;
        let program = compiler::ProgramSource::single("p.journey", src);
        let ws = compiler::check_program(&program);
        assert!(!ws.has_errors(), "{:?}", ws.diagnostics());
        ws.symbols().clone()
    }

    fn err(json: &str) -> String {
        match parse_scenario(json, &symbols()) {
            Ok(s) => panic!("accepted: {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_the_documented_shape() {
        let s = parse_scenario(
            r#"{"start":"2026-01-05T09:00:00+07:00","inputs":[
              {"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{"name":"Anh","company_size":120,"tags":["vip"],"stage":"lead","timezone":"Asia/Bangkok","demo_at":"2026-01-06T10:00:00Z"}},
              {"at":"2026-01-05T09:00:00+07:00","lead":"an","event":"form_submitted","props":{"form":"ebook"}},
              {"at":"2026-01-07T10:00:00+07:00","lead":"an","task":"to_sales","outcome":"reject","reason":"no_budget"}]}"#,
            &symbols(),
        )
        .expect("valid");
        assert_eq!(s.start, 1_767_578_400);
        assert_eq!(s.until, s.inputs[2].at);
        assert_eq!(s.inputs.len(), 3);
        assert!(matches!(&s.inputs[0].kind, InputKind::Create(f) if f.len() == 6));
    }

    #[test]
    fn a_negative_zero_is_zero() {
        let text = r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{"company_size":-0.0}}]}"#;
        let s = parse_scenario(text, &symbols()).expect("valid");
        let InputKind::Create(fields) = &s.inputs[0].kind else {
            panic!("a create");
        };
        let Some((_, InputValue::Number(x))) = fields.iter().find(|(k, _)| k == "company_size")
        else {
            panic!("company_size is a number: {fields:?}");
        };
        assert!(*x == 0.0 && x.is_sign_positive(), "{x}");
    }

    #[test]
    fn names_the_bad_input() {
        let head = r#"{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{}}"#;
        let cases = [
            (r#"{"inputs":[ {"at":"2026-01-05T09:00:00.5+07:00","lead":"an","create":{}} ]}"#.to_owned(), "input 0: `2026-01-05T09:00:00.5+07:00` has a fraction"),
            (r#"{"inputs":[ {"at":"2026-01-05T09:00:00","lead":"an","create":{}} ]}"#.to_owned(), "input 0: `2026-01-05T09:00:00` is not an RFC 3339"),
            (r#"{"inputs":[ {"at":"9999-12-31T23:59:59+00:00","lead":"an","create":{}} ]}"#.to_owned(), "input 0: `9999-12-31T23:59:59+00:00` is outside the instants Tandem handles"),
            (r#"{"inputs":[ {"at":"2026-01-05T09:00:00+99:00","lead":"an","create":{}} ]}"#.to_owned(), "input 0: `2026-01-05T09:00:00+99:00` is not an RFC 3339"),
            (r#"{"inputs":[ {"at":"2026-01-05 09:00:00.5+07:00","lead":"an","create":{}} ]}"#.to_owned(), "input 0: `2026-01-05 09:00:00.5+07:00` has a fraction"),
            (r#"{"inputs":[ {"at":"2026-01-05t09:00:00,5+07:00","lead":"an","create":{}} ]}"#.to_owned(), "input 0: `2026-01-05t09:00:00,5+07:00` has a fraction"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T08:00:00+07:00","lead":"an","update":{{}}}}]}}"#), "input 1: time goes backwards"),
            (format!(r#"{{"inputs":[{head}, {head}]}}"#), "input 1: the lead `an` is created twice"),
            (r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"bo","update":{}}]}"#.to_owned(), "input 0: unknown lead `bo`"),
            (r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{"budget":1}}]}"#.to_owned(), "input 0: the lead has no field `budget`"),
            (r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{"company_size":"many"}}]}"#.to_owned(), "input 0: `company_size` must be a number"),
            (r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{"unsubscribed":true}}]}"#.to_owned(), "input 0: `unsubscribed` is read-only"),
            (r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{"timezone":"Mars/Base"}}]}"#.to_owned(), "input 0: `Mars/Base` is not a known IANA time zone"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T09:00:00+07:00","lead":"an","event":"email_sent","props":{{}}}}]}}"#), "input 1: `email_sent` is raised by the runtime"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T09:00:00+07:00","lead":"an","event":"form_submitted","props":{{"page":"x"}}}}]}}"#), "input 1: the event `form_submitted` has no property `page`"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T09:00:00+07:00","lead":"an","task":"to_sales","outcome":"reject"}}]}}"#), "input 1: `reason` is required"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T09:00:00+07:00","lead":"an","task":"to_sales","outcome":"reject","reason":"rude"}}]}}"#), "input 1: unknown reason `rude`"),
            ("{not json".to_owned(), "the scenario is not valid JSON"),
            // Read in one pass, yet checked as a whole: `start` after `inputs` still
            // applies to them, a JSON fault after a bad input is the one reported, and a
            // key given twice is refused rather than one of the two silently winning.
            (r#"{"inputs":[{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{}}],"start":"2026-01-06T00:00:00Z"}"#.to_owned(), "input 0: this input is before the scenario's `start`"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T09:00:00+07:00","lead":"an","create":{{}}}}],"start":"2026-01-05T09:00:00+07:00"}}"#), "input 1: the lead `an` is created twice"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-04T09:00:00+07:00","lead":"an","update":{{}}}}],"start":"2026-01-05T09:00:00+07:00"}}"#), "input 1: time goes backwards"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T09:00:00+07:00","lead":"bo","update":{{}}}}, 7 7]}}"#), "the scenario is not valid JSON"),
            (format!(r#"{{"inputs":[{head}],"inputs":[]}}"#), "`inputs` is given twice"),
            (r#"{"start":"2026-01-05T09:00:00Z","start":null,"inputs":[]}"#.to_owned(), "`start` is given twice"),
            (r#"[1,2]"#.to_owned(), "the scenario must be a JSON object"),
            (r#"{"inputs":{"a":1}}"#.to_owned(), "`inputs` must be a list"),
            (format!(r#"{{"inputs":[{head}, {{"at":"2026-01-05T09:00:00+07:00","lead":"an","update":{{"company_size":1,"company_size":"x"}}}}]}}"#), "input 1: `company_size` must be a number, not \"x\""),
        ];
        for (json, want) in cases {
            let got = err(&json);
            assert!(
                got.starts_with(want),
                "{json}\n  got:  {got}\n  want: {want}"
            );
        }
    }

    #[test]
    fn text_is_normalised_to_nfc() {
        let decomposed = "Gia\u{301}m đo\u{302}\u{301}c";
        let json = format!(
            r#"{{"inputs":[{{"at":"2026-01-05T09:00:00Z","lead":"an","create":{{"name":"{decomposed}"}}}}]}}"#
        );
        let s = parse_scenario(&json, &symbols()).expect("valid");
        let InputKind::Create(f) = &s.inputs[0].kind else {
            panic!("create")
        };
        assert_eq!(f[0].1, InputValue::Text("Giám đốc".into()));
    }
}
