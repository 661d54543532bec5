//! Checks of the program's `tandem.toml` that need nothing but its text: each `[webhooks]` entry is a URL or a table with known keys, an http(s) `url`, timeline kinds that exist, and limits in range. (The service checks the rest when it starts: environment variables, secrets.)

use std::ops::Range;

use crate::suggest::did_you_mean;

/// The keys a webhook table may hold.
pub const WEBHOOK_KEYS: &[&str] = &[
    "url",
    "secret",
    "secret_env",
    "timeout_ms",
    "headers",
    "events",
    "max_in_flight",
    "per_second",
];

/// What is wrong with the webhooks of `tandem.toml`, each with the byte range of the
/// webhook's name in the file. A file that is not TOML has no problems here (the caller
/// reports that).
pub fn webhook_problems(text: &str) -> Vec<(String, Range<usize>)> {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    let Some(toml::Value::Table(hooks)) = table.get("webhooks") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in hooks {
        let at = locate(text, name);
        let mut problem = |m: String| out.push((format!("webhook `{name}`: {m}"), at.clone()));
        match value {
            toml::Value::String(url) => {
                if let Some(m) = url_problem(url) {
                    problem(m);
                }
            }
            toml::Value::Table(t) => {
                for key in t.keys() {
                    if !WEBHOOK_KEYS.contains(&key.as_str()) {
                        let hint = did_you_mean(key, WEBHOOK_KEYS.iter().copied())
                            .map(|k| format!("did you mean `{k}`? "))
                            .unwrap_or_default();
                        problem(format!(
                            "unknown key `{key}` ({hint}the keys are {})",
                            WEBHOOK_KEYS.join(", ")
                        ));
                    }
                }
                match t.get("url") {
                    Some(toml::Value::String(url)) => {
                        if let Some(m) = url_problem(url) {
                            problem(m);
                        }
                    }
                    Some(_) => problem("`url` must be a text in quotes".into()),
                    None => problem("the table has no `url`".into()),
                }
                if t.contains_key("secret") && t.contains_key("secret_env") {
                    problem("give `secret` or `secret_env`, not both".into());
                }
                if let Some(v) = t.get("secret") {
                    match v.as_str() {
                        Some(s) if s.starts_with("whsec_") => {}
                        _ => problem("`secret` must be a text starting with `whsec_`".into()),
                    }
                }
                match t.get("events") {
                    None => {}
                    Some(toml::Value::Array(kinds)) => {
                        for k in kinds {
                            match k.as_str() {
                                Some(k) if stdlib::TIMELINE_KINDS.contains(&k) => {}
                                Some(k) => {
                                    let hint =
                                        did_you_mean(k, stdlib::TIMELINE_KINDS.iter().copied())
                                            .map(|s| format!("; did you mean `{s}`?"))
                                            .unwrap_or_default();
                                    problem(format!("`events` names `{k}`, which is no kind of timeline line{hint}"));
                                }
                                None => problem("`events` must be a list of texts".into()),
                            }
                        }
                    }
                    Some(_) => problem("`events` must be a list of timeline kinds".into()),
                }
                for (key, range) in [
                    ("timeout_ms", 100..=120_000),
                    ("max_in_flight", 1..=64),
                    ("per_second", 0..=100_000),
                ] {
                    match t.get(key) {
                        None => {}
                        Some(toml::Value::Integer(n)) if range.contains(n) => {}
                        Some(_) => problem(format!(
                            "`{key}` must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        )),
                    }
                }
                match t.get("headers") {
                    None => {}
                    Some(toml::Value::Table(h)) if h.values().all(|v| v.is_str()) => {}
                    Some(_) => problem("`headers` must be a table of texts".into()),
                }
            }
            _ => problem("write a URL in quotes, or a table with `url`".into()),
        }
    }
    out
}

fn url_problem(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => None,
        _ => Some(format!("`{url}` is not an http:// or https:// address")),
    }
}

/// Where a webhook's name stands in the file (its key), else the first byte.
fn locate(text: &str, name: &str) -> Range<usize> {
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let at = from + pos;
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].trim_start().chars().next();
        let key_start = matches!(before, None | Some('\n' | ' ' | '\t' | '.' | '"'));
        if key_start && matches!(after, Some('=' | ']' | '"')) {
            return at..at + name.len();
        }
        from = at + name.len();
    }
    0..1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_named_and_placed() {
        let text = "[webhooks]\nok = \"https://crm.acme.vn/h\"\nbad = \"ftp://x\"\ncrm = { url = \"https://a.vn\", event = [\"stage_changed\"], events = [\"stage_change\"], timeout_ms = 5 }\n";
        let p = webhook_problems(text);
        let messages: Vec<&str> = p.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(p.len(), 4, "{messages:?}");
        assert!(messages[0].contains("`bad`") && messages[0].contains("ftp://x"));
        assert!(
            messages[1].contains("unknown key `event`")
                && messages[1].contains("did you mean `events`")
        );
        assert!(messages[2].contains("did you mean `stage_changed`"));
        assert!(messages[3].contains("timeout_ms"));
        assert_eq!(&text[p[0].1.clone()], "bad");
        assert_eq!(&text[p[1].1.clone()], "crm");
    }
}
