//! The one renderer: every message text — email subjects, HTML and text parts, task titles, `notify` texts, webhook payloads — is made here, from one context definition, by pure functions.
//!
//! The context a template reads is [`stdlib::TEMPLATE_VARS`] (the checker accepts the same
//! names): `lead` (fields formatted as the language says, plus `lead.score.NAME`),
//! `journey` and `unsubscribe_url`. Values from leads and events are escaped for the
//! target before they reach it: HTML-escaped in `.html` bodies, Markdown-escaped before a
//! `.md` body is rendered, and kept to one line in plain texts. A template that fails to
//! render returns a [`RenderError`]; the caller decides what that means (the engine keeps
//! its timeline as it always was; the service never mails it).

pub mod escape;
pub mod links;
pub mod payload;
pub mod text;

use std::cell::RefCell;

use minijinja::Value;
use rustc_hash::FxHashMap;

use crate::timeline::FieldValue;

/// A template's parts, as the program folder gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateParts {
    /// The subject template.
    pub subject: String,
    /// The body template (after the front matter).
    pub body: String,
    /// Whether the body is HTML (`.html`) rather than Markdown (`.md`).
    pub html: bool,
    /// The template's own sender (`from` in the front matter), if it has one.
    pub from: Option<String>,
}

/// An email as it will be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedEmail {
    /// The subject: plain text on one line.
    pub subject: String,
    /// The HTML part (links not yet tracked).
    pub html: String,
    /// The plain-text part, written for reading.
    pub text: String,
    /// The addresses the template's author wrote: the only links that may be tracked.
    pub links: Vec<String>,
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// `subject`, `body` or `text`.
    pub part: &'static str,
    /// What MiniJinja said.
    pub message: String,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} does not render: {}", self.part, self.message)
    }
}

impl std::error::Error for RenderError {}

/// The three targets a template can render for; each escapes values its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Plain,
    Html,
    Markdown,
}

/// One MiniJinja environment per target, each compiling a source once, and the lead
/// fields each source reads (so a context holds only those).
struct Compiled {
    env: minijinja::Environment<'static>,
    reads: FxHashMap<String, Vec<String>>,
}

/// The renderer: compiled templates, kept between messages. Not shared between threads.
pub struct Renderer {
    targets: [RefCell<Compiled>; 3],
}

impl Default for Renderer {
    fn default() -> Renderer {
        Renderer::new()
    }
}

fn environment(target: Target) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // `escape`/`e` would mark a value safe (HTML-escaped), which in Markdown would let it
    // through unescaped for Markdown: here they leave the value to the formatter, which
    // escapes it once for the target. Only `safe` says "this is markup".
    env.add_filter("escape", |v: Value| v);
    env.add_filter("e", |v: Value| v);
    env.set_formatter(move |out, _state, value| {
        // Values the caller built itself (the unsubscribe link) are marked safe; every
        // value that came from a lead or an event is escaped for the target.
        let shown = value.to_string();
        let written = if value.is_safe() {
            shown
        } else {
            match target {
                Target::Plain => shown,
                Target::Html => escape::html(&shown),
                Target::Markdown => escape::markdown(&shown),
            }
        };
        out.write_str(&written)
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
    });
    env
}

impl Renderer {
    /// An empty renderer.
    pub fn new() -> Renderer {
        let make = |t| {
            RefCell::new(Compiled {
                env: environment(t),
                reads: FxHashMap::default(),
            })
        };
        Renderer {
            targets: [
                make(Target::Plain),
                make(Target::Html),
                make(Target::Markdown),
            ],
        }
    }

    fn compiled(&self, target: Target) -> &RefCell<Compiled> {
        match target {
            Target::Plain => &self.targets[0],
            Target::Html => &self.targets[1],
            Target::Markdown => &self.targets[2],
        }
    }

    /// Compiles `source` for `target` once; the lead fields it reads (`lead.X` → `X`).
    fn prepare(&self, target: Target, source: &str) -> Result<Vec<String>, String> {
        let cell = self.compiled(target);
        if let Some(r) = cell.borrow().reads.get(source) {
            return Ok(r.clone());
        }
        let mut c = cell.borrow_mut();
        c.env
            .add_template_owned(source.to_owned(), source.to_owned())
            .map_err(|e| describe(&e))?;
        let mut reads: Vec<String> = c
            .env
            .get_template(source)
            .map(|t| {
                t.undeclared_variables(true)
                    .into_iter()
                    .filter_map(|v| {
                        v.strip_prefix("lead.")
                            .map(|f| f.split('.').next().unwrap_or("").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        reads.sort();
        reads.dedup();
        c.reads.insert(source.to_owned(), reads.clone());
        Ok(reads)
    }

    /// The lead fields these sources read (`score` stands for every `lead.score.X`); a
    /// source that does not compile reads nothing.
    pub fn fields_read(&self, plain: &[&str], email: Option<&TemplateParts>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in plain {
            out.extend(self.prepare(Target::Plain, s).unwrap_or_default());
        }
        if let Some(t) = email {
            out.extend(self.prepare(Target::Plain, &t.subject).unwrap_or_default());
            out.extend(self.prepare(body_target(t), &t.body).unwrap_or_default());
        }
        out.sort();
        out.dedup();
        out
    }

    fn render(&self, target: Target, source: &str, ctx: &Value) -> Result<String, String> {
        self.prepare(target, source)?;
        let c = self.compiled(target).borrow();
        let t = c.env.get_template(source).map_err(|e| describe(&e))?;
        t.render(ctx).map_err(|e| describe(&e))
    }

    /// A plain one-line text (a subject, a task title, a `notify` text), CR and LF removed.
    pub fn plain(&self, source: &str, ctx: &Value) -> Result<String, RenderError> {
        self.render(Target::Plain, source, ctx)
            .map(|s| escape::one_line(&s))
            .map_err(|message| RenderError {
                part: "text",
                message,
            })
    }

    /// A whole email: subject, HTML part, text part, and the links its author wrote.
    pub fn email(&self, t: &TemplateParts, ctx: &Value) -> Result<RenderedEmail, RenderError> {
        let subject = self
            .render(Target::Plain, &t.subject, ctx)
            .map(|s| escape::one_line(&s))
            .map_err(|message| RenderError {
                part: "subject",
                message,
            })?;
        let body = self
            .render(body_target(t), &t.body, ctx)
            .map_err(|message| RenderError {
                part: "body",
                message,
            })?;
        let (html, text) = if t.html {
            let text = text::html_to_text(&body);
            (body, text)
        } else {
            (text::markdown_to_html(&body), text::markdown_to_text(&body))
        };
        let html = links::neutralize_script_urls(&html);
        Ok(RenderedEmail {
            subject,
            html,
            text,
            links: links::written_links(&t.body),
        })
    }
}

/// MiniJinja's error without the template's name (which here is its whole source): what
/// went wrong, and on which line.
fn describe(e: &minijinja::Error) -> String {
    let what = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.line() {
        Some(line) => format!("{what} (line {line})"),
        None => what,
    }
}

fn body_target(t: &TemplateParts) -> Target {
    if t.html {
        Target::Html
    } else {
        Target::Markdown
    }
}

/// A number as templates see it: whole numbers as integers (`45`, not `45.0`).
pub fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// One lead field as templates see it: times as `YYYY-MM-DD HH:MM` in the lead's zone,
/// tags as a list.
pub fn field(value: FieldValue, tz: &jiff::tz::TimeZone) -> Value {
    match value {
        FieldValue::Text(s) | FieldValue::Stage(s) => Value::from(s),
        FieldValue::Number(x) => number(x),
        FieldValue::Bool(b) => Value::from(b),
        FieldValue::Time(t) => Value::from(local_time(t, tz)),
        FieldValue::Tags(tags) => Value::from(tags),
    }
}

/// An instant as `YYYY-MM-DD HH:MM` in a time zone.
pub fn local_time(t: i64, tz: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| {
            jiff::ZonedDateTime::new(ts, tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// The `lead` variable: the given fields, plus `score` when scores are given.
pub fn lead_value(
    fields: impl IntoIterator<Item = (String, Value)>,
    scores: Option<Vec<(String, f64)>>,
) -> Value {
    let mut map: std::collections::BTreeMap<String, Value> = fields.into_iter().collect();
    if let Some(scores) = scores {
        let s: std::collections::BTreeMap<String, Value> =
            scores.into_iter().map(|(k, v)| (k, number(v))).collect();
        map.insert("score".into(), Value::from(s));
    }
    Value::from(map)
}

/// The whole context, built from [`stdlib::TEMPLATE_VARS`]: `lead`, `journey` (empty
/// outside a journey) and `unsubscribe_url` (the caller's own link, kept as written).
pub fn context(lead: Value, journey: Option<&str>, unsubscribe_url: &str) -> Value {
    let mut map: std::collections::BTreeMap<&'static str, Value> = Default::default();
    for var in stdlib::TEMPLATE_VARS {
        let value = match var.name {
            "lead" => lead.clone(),
            "journey" => Value::from(journey.unwrap_or_default()),
            "unsubscribe_url" => Value::from_safe_string(unsubscribe_url.to_owned()),
            _ => Value::UNDEFINED,
        };
        map.insert(var.name, value);
    }
    Value::from(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(name: &str) -> Value {
        lead_value(
            [
                ("name".to_owned(), Value::from(name)),
                ("company_size".to_owned(), number(350.0)),
            ],
            Some(vec![("fit".into(), 45.0), ("engagement".into(), 12.5)]),
        )
    }

    #[test]
    fn every_documented_variable_is_in_the_context() {
        let ctx = context(lead("An"), Some("ebook"), "https://x/u");
        for var in stdlib::TEMPLATE_VARS {
            let v = ctx.get_attr(var.name).unwrap_or(Value::UNDEFINED);
            assert!(
                !v.is_undefined(),
                "`{}` is missing from the context",
                var.name
            );
        }
    }

    #[test]
    fn numbers_and_scores_render_as_the_language_says() {
        let r = Renderer::new();
        let ctx = context(lead("An"), None, "");
        assert_eq!(
            r.plain(
                "{{ lead.company_size }} {{ lead.score.fit }} {{ lead.score.engagement }}",
                &ctx
            ),
            Ok("350 45 12.5".to_owned())
        );
    }

    #[test]
    fn lead_data_is_escaped_in_html_and_markdown_and_links_are_the_authors() {
        let r = Renderer::new();
        let hostile = "<script>alert(1)</script> [x](https://evil.example)";
        let ctx = context(lead(hostile), None, "https://svc/u?l=1&s=2");
        let md = TemplateParts {
            subject: "Chào {{ lead.name }}\r\nBcc: a@b".into(),
            body: "Chào {{ lead.name }}\n\n[Xem](https://acme.vn/x) [Hủy]({{ unsubscribe_url }})"
                .into(),
            html: false,
            from: None,
        };
        let e = r.email(&md, &ctx).expect("renders");
        assert!(!e.html.contains("<script>"), "{}", e.html);
        assert!(
            !e.html.contains("href=\"https://evil.example"),
            "{}",
            e.html
        );
        assert!(
            e.html.contains("href=\"https://svc/u?l=1&amp;s=2\""),
            "{}",
            e.html
        );
        assert!(!e.subject.contains('\n') && !e.subject.contains('\r'));
        assert_eq!(e.links, ["https://acme.vn/x"]);
        let html = TemplateParts {
            body: "<p>{{ lead.name }}</p><a href=\"https://acme.vn/y\">y</a>".into(),
            html: true,
            ..md
        };
        let e = r.email(&html, &ctx).expect("renders");
        assert!(e.html.starts_with("<p>&lt;script&gt;"), "{}", e.html);
        assert_eq!(e.links, ["https://acme.vn/y"]);
        assert!(
            e.text.contains("<script>alert(1)</script>"),
            "the text part reads as written: {}",
            e.text
        );
    }

    #[test]
    fn the_escape_filter_never_lets_lead_data_through() {
        let r = Renderer::new();
        let ctx = context(lead("[bấm](https://evil.example/x) **x**"), None, "");
        for html in [false, true] {
            let t = TemplateParts {
                subject: "x".into(),
                body: "A: {{ lead.name | e }} B: {{ lead.name | escape }}".into(),
                html,
                from: None,
            };
            let e = r.email(&t, &ctx).expect("renders");
            assert!(!e.html.contains("<a href=\"https://evil"), "{}", e.html);
            assert!(!e.html.contains("<strong>"), "{}", e.html);
            assert!(
                !e.html.contains("&amp;#"),
                "escaped once, not twice: {}",
                e.html
            );
        }
    }

    #[test]
    fn a_value_in_a_link_address_goes_through_urlencode() {
        let r = Renderer::new();
        let ctx = context(lead("Sao Việt Co., Ltd. & [x]"), None, "");
        let t = TemplateParts {
            subject: "x".into(),
            body: "[Xem](https://acme.vn/p?c={{ lead.name | urlencode }})".into(),
            html: false,
            from: None,
        };
        let e = r.email(&t, &ctx).expect("renders");
        assert!(
            e.html.contains("<a href=\"https://acme.vn/p?c=Sao%20Vi%E1%BB%87t%20Co.%2C%20Ltd.%20%26%20%5Bx%5D\">"),
            "{}",
            e.html
        );
    }

    #[test]
    fn a_failing_template_is_an_error_not_its_source() {
        let r = Renderer::new();
        let ctx = context(lead("An"), None, "");
        let t = TemplateParts {
            subject: "x".into(),
            body: "{{ lead.name | no_such_filter }}".into(),
            html: false,
            from: None,
        };
        assert_eq!(r.email(&t, &ctx).map_err(|e| e.part), Err("body"));
    }
}
