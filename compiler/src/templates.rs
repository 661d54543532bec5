//! Email templates (spec 9.1): TOML front matter, MiniJinja syntax, and `lead.X` checked against the schema.

use grammar::ast::TextLit;
use grammar::{Diagnostic, FileId, Severity, Span};

use crate::codes;
use crate::suggest::did_you_mean;
use crate::symbols::{Bare, Symbols};

/// A template file of the program (`templates/NAME.md` or `.html`).
#[derive(Debug, Clone)]
pub struct TemplateSource {
    pub name: String,
    pub file: FileId,
    pub text: String,
}

/// A template split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTemplate {
    pub subject: String,
    pub from: Option<String>,
    pub body: String,
    /// Byte offset of the body in the file.
    pub body_offset: usize,
}

/// Splits `+++ front matter +++ body`; the error says what is wrong and where (byte range).
pub fn split_front_matter(text: &str) -> Result<ParsedTemplate, (String, std::ops::Range<usize>)> {
    let trimmed = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = text.len() - trimmed.len();
    let first_line_end = trimmed.find('\n').unwrap_or(trimmed.len());
    if trimmed[..first_line_end].trim_end() != "+++" {
        return Err((
            "a template starts with front matter between `+++` lines, holding at least `subject = \"…\"`".to_owned(),
            bom..bom + first_line_end,
        ));
    }
    let after = first_line_end + 1;
    let mut pos = after;
    let mut close = None;
    for line in trimmed.get(after..).unwrap_or("").split_inclusive('\n') {
        if line.trim_end() == "+++" {
            close = Some((pos, pos + line.len()));
            break;
        }
        pos += line.len();
    }
    let Some((close_start, body_start)) = close else {
        return Err((
            "the front matter is not closed: add a `+++` line after it".to_owned(),
            bom..bom + first_line_end,
        ));
    };
    let front = trimmed
        .get(after.min(close_start)..close_start)
        .unwrap_or("");
    let table: toml::Table = toml::from_str(front).map_err(|e| {
        let range = e
            .span()
            .map(|r| bom + after + r.start..bom + after + r.end)
            .unwrap_or(bom..bom + first_line_end);
        (
            format!("the front matter is not valid TOML: {}", e.message()),
            range,
        )
    })?;
    let subject = match table.get("subject") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(_) => {
            return Err((
                "`subject` must be a text in quotes".to_owned(),
                bom..bom + first_line_end,
            ))
        }
        None => {
            let inner = bom + after..(bom + close_start).saturating_sub(1).max(bom + after);
            let range = if front.trim().is_empty() {
                bom..bom + first_line_end
            } else {
                inner
            };
            return Err((
                "the template has no `subject` in its front matter".to_owned(),
                range,
            ));
        }
    };
    let from = match table.get("from") {
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err((
                "`from` must be a text in quotes".to_owned(),
                bom..bom + first_line_end,
            ))
        }
        None => None,
    };
    Ok(ParsedTemplate {
        subject,
        from,
        body: trimmed.get(body_start..).unwrap_or("").to_owned(),
        body_offset: bom + body_start,
    })
}

/// Checks one MiniJinja source; returns the undeclared variables (nested paths) it reads.
fn jinja(
    source: &str,
    file: FileId,
    base: usize,
    whole: Option<Span>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let env = minijinja::Environment::new();
    match env.template_from_str(source) {
        Ok(t) => {
            let mut vars: Vec<String> = t.undeclared_variables(true).into_iter().collect();
            vars.sort();
            Some(vars)
        }
        Err(e) => {
            let span = whole.unwrap_or_else(|| match e.range() {
                Some(r) => Span::new(file, base + r.start, base + r.end.max(r.start + 1)),
                None => Span::new(file, base, base + 1),
            });
            let detail = e.detail().unwrap_or("syntax error").to_owned();
            // The end of the text came inside a block: point at the block's opening tag.
            if let Some((at, len, tag)) = unclosed_block(source)
                .filter(|_| detail.contains("end of input") && whole.is_none())
            {
                diags.push(
                    Diagnostic::error(
                        codes::TEMPLATE,
                        Span::new(file, base + at, base + at + len),
                        format!("this `{{% {tag} %}}` is never closed"),
                    )
                    .with_help(format!("add `{{% end{tag} %}}` where the block ends")),
                );
                return None;
            }
            diags.push(Diagnostic::error(
                codes::TEMPLATE,
                span,
                format!("template syntax error: {detail}"),
            ));
            None
        }
    }
}

/// The last block tag (`{% if … %}`, `{% for … %}`, …) left open at the end of `source`:
/// its offset, length and keyword.
fn unclosed_block(source: &str) -> Option<(usize, usize, String)> {
    const BLOCKS: [&str; 6] = ["if", "for", "with", "filter", "macro", "call"];
    let mut open: Vec<(usize, usize, String)> = Vec::new();
    let mut rest = 0;
    while let Some(i) = source[rest..].find("{%") {
        let start = rest + i;
        let close = source[start + 2..].find("%}").map(|j| start + 2 + j);
        let end = close.map_or(source.len(), |c| c + 2);
        let inner = source[start + 2..close.unwrap_or(source.len())].trim_start_matches(['-', '+']);
        let word: String = inner
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if BLOCKS.contains(&word.as_str()) {
            open.push((start, end - start, word));
        } else if let Some(kind) = word.strip_prefix("end") {
            if let Some(k) = open.iter().rposition(|(_, _, w)| w == kind) {
                open.truncate(k);
            }
        }
        rest = end;
    }
    open.pop()
}

/// Checks the variables a template reads; `locate` finds a variable's span.
fn check_vars(
    sym: &Symbols,
    vars: &[String],
    allowed: &[&str],
    locate: &dyn Fn(&str) -> Span,
    diags: &mut Vec<Diagnostic>,
) {
    for var in vars {
        let mut parts = var.split('.');
        let head = parts.next().unwrap_or("");
        if !allowed.contains(&head) {
            let mut d = Diagnostic::error(
                codes::TEMPLATE,
                locate(head),
                format!("the template reads `{head}`, which it does not have"),
            );
            d = match did_you_mean(head, allowed.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!(
                    "a template can read {}; lead fields are `lead.NAME`",
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            diags.push(d);
            continue;
        }
        if head != "lead" {
            continue;
        }
        let Some(field) = parts.next() else { continue };
        if field == "score" {
            if let Some(score) = parts.next() {
                if !sym.scores.contains_key(score) {
                    let path = format!("lead.score.{score}");
                    let mut d = Diagnostic::error(
                        codes::TEMPLATE,
                        locate(&path),
                        format!("`{path}`: there is no score `{score}`"),
                    );
                    if let Some(s) = did_you_mean(score, sym.scores.keys().map(String::as_str)) {
                        d = d.with_help(format!("did you mean `lead.score.{s}`?"));
                    }
                    diags.push(d);
                }
            }
            continue;
        }
        if !matches!(sym.bare.get(field), Some(Bare::Field(_))) && !sym.unreadable.contains(field) {
            let path = format!("lead.{field}");
            let mut d = Diagnostic::error(
                codes::TEMPLATE,
                locate(&path),
                format!("`{path}`: the lead has no field `{field}`"),
            );
            let fields = sym
                .bare
                .iter()
                .filter(|(_, b)| matches!(b, Bare::Field(_)))
                .map(|(n, _)| n.as_str());
            if let Some(s) = did_you_mean(field, fields) {
                d = d.with_help(format!("did you mean `lead.{s}`?"));
            }
            diags.push(d);
        }
    }
}

/// Finds the first occurrence of `needle` in `hay` (starting at `base`) as a span, else `fallback`.
fn locate_in(hay: &str, base: usize, file: FileId, needle: &str, fallback: Span) -> Span {
    match hay.find(needle) {
        Some(i) => Span::new(file, base + i, base + i + needle.len()),
        None => fallback,
    }
}

/// Checks a template file; returns whether it has an unsubscribe link. A broken
/// template counts as having one: its own error says what to fix, and a second
/// error at every `send` of it would only add noise.
pub fn check_template_file(sym: &Symbols, t: &TemplateSource, diags: &mut Vec<Diagnostic>) -> bool {
    // A template is sent by its file name: a name `send` cannot write is a file no one can send.
    if !grammar::suggest::is_ident(&t.name) {
        let plain: String = grammar::suggest::without_accents(&t.name)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        diags.push(
            Diagnostic::error(
                codes::TEMPLATE,
                Span::new(t.file, 0, t.text.find('\n').unwrap_or(t.text.len()).max(1)),
                format!(
                    "the template file `{}` cannot be sent: `send` names a template by its file name, and `{}` is not a name",
                    t.name, t.name
                ),
            )
            .with_help(format!(
                "rename the file so that its name is `{plain}` (letters, digits and `_`, no accents), then `send {plain}`"
            )),
        );
    }
    let before = diags.len();
    let parsed = match split_front_matter(&t.text) {
        Ok(p) => p,
        Err((msg, range)) => {
            diags.push(Diagnostic::error(
                codes::TEMPLATE,
                Span::new(t.file, range.start, range.end.max(range.start + 1)),
                msg,
            ));
            return true;
        }
    };
    let first_line = Span::new(t.file, 0, t.text.find('\n').unwrap_or(t.text.len()).max(1));
    let subject_span = locate_in(&t.text, 0, t.file, "subject", first_line);
    let mut has_unsubscribe = false;
    let mut broken = false;
    if let Some(vars) = jinja(&parsed.subject, t.file, 0, Some(subject_span), diags) {
        has_unsubscribe |= vars.iter().any(|v| v == "unsubscribe_url");
        let locate = |n: &str| locate_in(&t.text, 0, t.file, n, subject_span);
        check_vars(
            sym,
            &vars,
            &stdlib::template_vars(stdlib::TemplateKind::Email),
            &locate,
            diags,
        );
    } else {
        broken = true;
    }
    if let Some(vars) = jinja(&parsed.body, t.file, parsed.body_offset, None, diags) {
        has_unsubscribe |= vars.iter().any(|v| v == "unsubscribe_url");
        let body_span = Span::new(t.file, parsed.body_offset, parsed.body_offset + 1);
        let locate = |n: &str| locate_in(&parsed.body, parsed.body_offset, t.file, n, body_span);
        check_vars(
            sym,
            &vars,
            &stdlib::template_vars(stdlib::TemplateKind::Email),
            &locate,
            diags,
        );
    } else {
        broken = true;
    }
    // A mistake in the template (a misspelt `unsubscribe_url`) is its one error: no second
    // one at every `send` of it for the link it seems to lack.
    broken |= diags[before..]
        .iter()
        .any(|d| d.severity == Severity::Error);
    has_unsubscribe || broken
}

/// Checks a template written inline: a task title or a `notify` text.
pub fn check_inline_template(sym: &Symbols, text: &TextLit, in_journey: bool) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    if !text.value.contains("{{") && !text.value.contains("{%") {
        return diags;
    }
    // The same definition the renderer builds its context from.
    let allowed = stdlib::template_vars(if in_journey {
        stdlib::TemplateKind::InlineInJourney
    } else {
        stdlib::TemplateKind::Inline
    });
    let allowed: &[&str] = &allowed;
    if let Some(vars) = jinja(&text.value, text.span.file, 0, Some(text.span), &mut diags) {
        let locate = |n: &str| {
            locate_in(
                &text.raw,
                text.span.start as usize + 1,
                text.span.file,
                n,
                text.span,
            )
        };
        check_vars(sym, &vars, allowed, &locate, &mut diags);
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_and_body() {
        let t = "+++\nsubject = \"Chào {{ lead.name }}\"\n+++\nXin chào\n";
        let p = split_front_matter(t).expect("valid");
        assert_eq!(p.subject, "Chào {{ lead.name }}");
        assert_eq!(p.body, "Xin chào\n");
        assert_eq!(&t[p.body_offset..], "Xin chào\n");
    }

    #[test]
    fn an_unclosed_block_is_found_at_its_opening_tag() {
        let t = "a {% if x %}b{% for y in z %}c{% endfor %} d";
        assert_eq!(unclosed_block(t), Some((2, 10, "if".to_owned())));
        assert_eq!(unclosed_block("{% if x %}{% endif %}"), None);
        assert_eq!(unclosed_block("{% if “"), Some((0, 9, "if".to_owned())));
        assert_eq!(unclosed_block("a {%} b"), None, "a `%}}` inside the `{{%`");
    }

    #[test]
    fn missing_subject_is_an_error() {
        assert!(split_front_matter("+++\nfrom = \"a@b.vn\"\n+++\nx").is_err());
        assert!(split_front_matter("no front matter").is_err());
        assert!(split_front_matter("+++\nsubject = \"x\"\n").is_err());
    }

    #[test]
    fn nested_variables_are_reported_as_paths() {
        let env = minijinja::Environment::new();
        let t = env
            .template_from_str("{{ lead.score.fit }} {{ unsubscribe_url }} {% for x in lead.tags %}{{ x }}{% endfor %}")
            .expect("valid");
        let vars = t.undeclared_variables(true);
        assert!(vars.contains("lead.score.fit"), "{vars:?}");
        assert!(vars.contains("unsubscribe_url"));
        assert!(!vars.contains("x"));
    }
}
