//! Validation of API inputs against the running program's symbols: ids, fields, events, properties and their types, all or nothing.

use super::*;

/// Turns API items into engine inputs, all or none. `known` says whether a lead exists;
/// `None` when the caller cannot know (a cluster worker queueing a request for another
/// partition): the checks that need it — a create of an existing lead, an update of an
/// unknown one — are then left to the engine that applies the request.
pub fn validate_items(
    sym: &compiler::symbols::Symbols,
    items: Vec<Item>,
    at: i64,
    known: &dyn Fn(&str) -> Option<bool>,
) -> Result<Vec<Input>, Refusal> {
    let mut created: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let lead = runtime::scenario::normalize(&item.lead);
        if lead.is_empty() {
            return Err(Refusal::bad(i, "`lead` is missing (the lead's id)"));
        }
        if lead.len() > 200 {
            return Err(Refusal::bad(i, "`lead` is longer than 200 bytes"));
        }
        // PostgreSQL texts cannot hold U+0000: such an input could never be stored (and,
        // queued in a cluster's inbox, would stop its partition at every try).
        let nul = if lead.contains('\0') {
            Some("lead".to_owned())
        } else {
            item.body.iter().find_map(|(k, v)| nul_at(k, v))
        };
        if let Some(path) = nul {
            return Err(Refusal::bad(
                i,
                format!("`{path}` contains a NUL character (U+0000), which cannot be stored"),
            ));
        }
        // Earlier requests of a group are applied before later ones are validated, so
        // the world knows their leads; this request's own creates are not applied yet.
        let exists = known(&lead).map(|e| e || created.contains(&lead));
        let mut body = item.body;
        let action = match item.action.as_str() {
            "upsert" => {
                let fields = body.remove("fields").unwrap_or(Value::Object(Map::new()));
                let key = if exists == Some(false) {
                    "create"
                } else {
                    "update"
                };
                body.insert(key.into(), fields);
                key
            }
            other => other,
        };
        match (action, exists) {
            ("create", Some(true)) => {
                return Err(Refusal {
                    status: 409,
                    index: Some(i),
                    message: format!("the lead `{lead}` exists already"),
                })
            }
            ("create", _) => {
                created.insert(lead.clone());
            }
            (_, Some(false)) => {
                return Err(Refusal {
                    status: 404,
                    index: Some(i),
                    message: format!("unknown lead `{lead}` (create it first)"),
                })
            }
            _ => {}
        }
        let kind = runtime::scenario::parse_action(sym, action, &body.into())
            .map_err(|m| Refusal::bad(i, m))?;
        mailable(&kind).map_err(|m| Refusal::bad(i, m))?;
        out.push(Input {
            index: 0,
            at,
            lead,
            kind,
        });
    }
    Ok(out)
}

/// Whether a JSON value holds U+0000 in any text or key.
/// A lead's `email` must be one address that can be mailed (`an@saoviet.vn`), as
/// `tandem import` requires: a line break or a second header in it (`a@b.vn\r\nBcc: …`)
/// is refused here, not bounced later (and never written into a log line). Empty is allowed
/// (the lead has no address).
fn mailable(kind: &runtime::scenario::InputKind) -> Result<(), String> {
    let fields = match kind {
        runtime::scenario::InputKind::Create(f) | runtime::scenario::InputKind::Update(f) => f,
        _ => return Ok(()),
    };
    for (name, value) in fields {
        if let (true, runtime::scenario::InputValue::Text(address)) = (name == "email", value) {
            if !address.is_empty() && !crate::mail::is_lead_address(address) {
                let shown: String = address.escape_debug().collect();
                return Err(format!(
                    "`email`: `{shown}` is not an email address (like an@saoviet.vn)"
                ));
            }
        }
    }
    Ok(())
}

/// Where the first NUL character of `v` (reached by `path`) is: `fields.name`,
/// `properties.tags[1]`, or a key holding one.
fn nul_at(path: &str, v: &Value) -> Option<String> {
    match v {
        Value::String(s) => s.contains('\0').then(|| path.to_owned()),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_at(&format!("{path}[{i}]"), x)),
        Value::Object(o) => o.iter().find_map(|(k, x)| {
            let inner = format!("{path}.{}", k.replace('\0', "\\u0000"));
            if k.contains('\0') {
                Some(inner)
            } else {
                nul_at(&inner, x)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_character_is_found_by_its_path() {
        let v: Value = serde_json::json!({"name": "An", "company": "A\u{0}B"});
        assert_eq!(nul_at("fields", &v).as_deref(), Some("fields.company"));
        let v: Value = serde_json::json!({"tags": ["a", "b\u{0}"]});
        assert_eq!(
            nul_at("properties", &v).as_deref(),
            Some("properties.tags[1]")
        );
        let v: Value = serde_json::json!({"a\u{0}": 1});
        assert_eq!(nul_at("fields", &v).as_deref(), Some("fields.a\\u0000"));
        assert_eq!(nul_at("fields", &serde_json::json!({"n": 1})), None);
    }
}
