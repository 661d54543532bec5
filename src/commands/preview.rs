//! `tandem preview`: one email template rendered for one lead (read from a JSON file) by the same renderer `tandem run` sends with — the HTML part, the text part, or the whole MIME message.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use compiler::graph::{ActionIr, NodeKind};
use runtime::embed::{EvaluatorKind, Program};
use runtime::scenario::{Input, InputKind, InputValue};
use serde_json::Value;

use super::{fail, prepare};

/// The unsubscribe link a preview shows: a placeholder, never a working link (the
/// service signs a real one per lead when it sends).
pub const UNSUBSCRIBE_URL: &str = "https://example.invalid/unsubscribe?preview";

/// The right part of a preview's Message-ID (the service uses its own host).
const MESSAGE_ID_DOMAIN: &str = "preview.invalid";

/// The lead's id when the lead file gives none.
const DEFAULT_LEAD_ID: &str = "preview";

/// What `tandem preview` prints.
#[derive(Clone, Copy, ValueEnum)]
pub enum PreviewFormat {
    /// the HTML part
    Html,
    /// the plain-text part
    Text,
    /// the whole MIME message (From, To, Subject, List-Unsubscribe, text and HTML parts)
    Eml,
}

/// `tandem preview`'s arguments.
#[derive(clap::Args)]
pub struct PreviewArgs {
    /// The program folder
    dir: PathBuf,
    /// The template's name (`ebook_delivery` for `templates/ebook_delivery.md`)
    template: String,
    /// The lead, as a JSON object of lead fields like a scenario's `create`, plus an
    /// optional `"id"` (default `preview`): {"id": "an", "name": "An", "email": "an@example.com"}
    #[arg(long)]
    lead: PathBuf,
    /// Which part of the email to print
    #[arg(long, value_enum, default_value = "html")]
    format: PreviewFormat,
    /// The journey the email is sent from, for templates that read `{{ journey }}`
    /// [default: the journey that sends TEMPLATE, when exactly one does]
    #[arg(long)]
    journey: Option<String>,
}

/// Runs `tandem preview`: exit 0 with the rendering on stdout, 1 when the template does
/// not render for this lead, 2 for a usage or file problem (bad program, bad lead file,
/// unknown template or journey).
pub fn preview(args: PreviewArgs) -> ExitCode {
    let program = match prepare(&args.dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(parts) = program.templates().get(&args.template) else {
        return fail(unknown_template(&program, &args.template));
    };
    let journey = match journey_of(&program, &args.template, args.journey.as_deref()) {
        Ok(j) => j,
        Err(msg) => return fail(msg),
    };
    let text = match std::fs::read_to_string(&args.lead) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", args.lead.display())),
    };
    let (id, fields) = match parse_lead(&text, program.workspace().symbols()) {
        Ok(l) => l,
        Err(e) => return fail(format!("{}: {e}", args.lead.display())),
    };
    let mut world = match program.world(EvaluatorKind::Interp) {
        Ok(w) => w,
        Err(e) => return fail(e.0),
    };
    // The lead is created now, so rules and journeys that run on creation have run (and
    // set what they set) before the email is rendered, as in `tandem run`.
    let now = jiff::Timestamp::now().as_second();
    world.start(now);
    world.input(&Input {
        index: 0,
        at: now,
        lead: id.clone(),
        kind: InputKind::Create(fields),
    });
    let engine = world.engine();
    let email = match engine.render_email(&id, &args.template, journey, UNSUBSCRIBE_URL) {
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            eprintln!("error: template `{}`: {e}", args.template);
            return ExitCode::from(1);
        }
        None => return fail(format!("the lead `{id}` was not created")),
    };
    let out = match args.format {
        PreviewFormat::Html => with_newline(email.html),
        PreviewFormat::Text => with_newline(email.text),
        PreviewFormat::Eml => {
            let to = engine
                .lead(&id)
                .map(|i| engine.lead_fields(i))
                .unwrap_or_default()
                .into_iter()
                .find_map(|(name, value)| match (name.as_str(), value) {
                    ("email", InputValue::Text(e)) if !e.is_empty() => Some(e),
                    _ => None,
                });
            let Some(to) = to else {
                return fail(format!(
                    "{}: the lead has no `email`, so `tandem run` sends it nothing; give one for --format eml",
                    args.lead.display()
                ));
            };
            let from = parts
                .from
                .clone()
                .or_else(|| program.lowered().sending.from.clone())
                .unwrap_or_else(|| service::Config::default().from);
            let mail = service::store::OutboxMail {
                key: service::sign::key(&[&id, &args.template, "preview"]),
                lead: id.clone(),
                template: args.template.clone(),
                from,
                to,
                subject: email.subject,
                html: email.html,
                text: email.text,
                unsubscribe: UNSUBSCRIBE_URL.to_owned(),
                at: now,
            };
            match service::mail::message(&mail, MESSAGE_ID_DOMAIN, None) {
                Ok(m) => m.formatted(),
                Err(
                    service::mail::SendError::Permanent(e) | service::mail::SendError::Transient(e),
                ) => {
                    return fail(e);
                }
            }
        }
    };
    if std::io::stdout().lock().write_all(&out).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn with_newline(mut s: String) -> Vec<u8> {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.into_bytes()
}

/// "no template `X`", with the closest name, or the list when none is close.
fn unknown_template(program: &Program, name: &str) -> String {
    let mut names: Vec<&str> = program.templates().keys().map(String::as_str).collect();
    names.sort_unstable();
    match compiler::suggest::did_you_mean(name, names.iter().copied()) {
        Some(s) => format!("the program has no template `{name}`; did you mean `{s}`?"),
        None if names.is_empty() => format!("the program has no template `{name}` (it has none)"),
        None => format!(
            "the program has no template `{name}`; its templates are {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The journey the email is rendered in: the one asked for, or else the only journey
/// whose steps send `template` (none when no journey or several do).
fn journey_of<'p>(
    program: &'p Program,
    template: &str,
    asked: Option<&'p str>,
) -> Result<Option<&'p str>, String> {
    let journeys = program
        .lowered()
        .journeys
        .iter()
        .filter(|j| j.kept_as.is_none());
    if let Some(name) = asked {
        if journeys.clone().any(|j| j.name == name) {
            return Ok(Some(name));
        }
        let hint = compiler::suggest::did_you_mean(name, journeys.map(|j| j.name.as_str()))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(format!(
            "--journey: the program has no journey `{name}`{hint}"
        ));
    }
    let mut sending = journeys.filter(|j| {
        j.graph
            .nodes
            .iter()
            .any(|n| matches!(&n.kind, NodeKind::Action(ActionIr::Send(t)) if t == template))
    });
    Ok(match (sending.next(), sending.next()) {
        (Some(j), None) => Some(j.name.as_str()),
        _ => None,
    })
}

/// The lead file: a JSON object of lead fields, validated as a scenario's `create` is,
/// and an optional `"id"`. Returns the id and the field values.
fn parse_lead(
    text: &str,
    sym: &compiler::symbols::Symbols,
) -> Result<(String, Vec<(String, InputValue)>), String> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| format!("the lead is not valid JSON: {e}"))?;
    let Value::Object(mut fields) = root else {
        return Err(
            "the lead must be a JSON object of lead fields, like {\"id\": \"an\", \"name\": \"An\"}"
                .to_owned(),
        );
    };
    let id = match fields.remove("id") {
        None => DEFAULT_LEAD_ID.to_owned(),
        Some(Value::String(s)) if !s.trim().is_empty() => runtime::scenario::normalize(&s),
        Some(other) => {
            return Err(format!(
                "`id` must be the lead's id, a non-empty text in quotes, not {other}"
            ))
        }
    };
    let mut input = serde_json::Map::new();
    input.insert("create".to_owned(), Value::Object(fields));
    match runtime::scenario::parse_action(sym, "create", &input.into())? {
        InputKind::Create(values) => Ok((id, values)),
        _ => Err("the lead must be a JSON object of lead fields".to_owned()),
    }
}
