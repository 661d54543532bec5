//! History exported from another tool (HubSpot, a spreadsheet) as engine inputs for `tandem backtest`: a leads CSV and an events CSV read into `create` and `event` inputs in time order, each validated exactly as the engine validates a scenario's input.
//!
//! # The leads file
//!
//! - A header row, then one lead a row. The separator (`,`, `;` or tab) is guessed from
//!   the header line; Excel's byte-order mark is tolerated; blank rows are skipped.
//! - An `id` column holds the lead id; without one, the `email` column is the id (and
//!   still sets the `email` field). Headers match lead fields as written, or lower-cased
//!   with spaces and dashes as `_` (`Company size` → `company_size`), as `tandem import`
//!   maps them.
//! - An optional column `created_at` (any case; also `createdate` / `create date` as
//!   HubSpot exports it) says when the lead was created; it is not a field.
//! - Every other column must be a settable lead field: unknown columns are refused,
//!   all named. Cells are read by the field's type as `tandem import` reads them
//!   (numbers with `.`, yes/no words, tags split on `;` or `,`, times as RFC 3339 or
//!   `2026-01-05`, `2026-01-05 09:30`, `05/01/2026` in the program's time zone, in whole
//!   seconds); an empty cell sets nothing. A lead id appears once.
//!
//! # The events file
//!
//! - A header row with the columns `lead`, `event` and `at` (any case; all three
//!   required), then one event a row. Same separator guess, byte-order mark and blank
//!   rows as the leads file.
//! - `lead` must be an id of the leads file; `event` an event inputs may send; `at` a
//!   time, read as a `time` cell is.
//! - An optional `properties` column holds a JSON object of property values, used as
//!   given (an empty cell: none).
//! - Any other column is a property of that name (as written, or folded like lead
//!   headers), read by the type the row's event declares for it; an empty cell sets
//!   nothing, so one file can hold several events with their own columns. A property
//!   set both in `properties` and by a column is refused.
//!
//! # The inputs
//!
//! Every lead gets one `create` at its `created_at`, else at its earliest event, else
//! (no events) at the earliest instant of the whole history; a `created_at` after one
//! of the lead's events is refused. Inputs are sorted by instant, stably: at one instant
//! creates come before events, and each file's order is kept otherwise. `index` is the
//! position after sorting.
//!
//! Each input's body goes through [`runtime::scenario::parse_action`], so names, types
//! and values are checked (and texts normalised) exactly as for a scenario. Errors name
//! the file, the line (the header is line 1) and the column:
//! ``events.csv line 14: column `minutes`: `abc` is not a number …``.

use std::collections::HashMap;
use std::path::Path;

use compiler::symbols::{EventInfo, Symbols};
use runtime::scenario::{normalize, parse_action, settable_fields, Input, InputKind, Object};
use serde_json::{Map, Value};

use crate::import::{
    bare, cell_value, field_cell, folded, guess_delimiter, instant_seconds, plan_columns,
    start_line, Schema,
};

/// History read from two CSV files, as engine inputs in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvHistory {
    /// The inputs: one `create` per lead, then its events, sorted by instant.
    pub inputs: Vec<Input>,
    /// Leads read (one `create` each).
    pub leads: usize,
    /// Events read.
    pub events: usize,
}

/// Reads the leads and events files (see the module documentation for their format).
pub fn read_history(
    leads_csv: &Path,
    events_csv: &Path,
    sym: &Symbols,
) -> Result<CsvHistory, String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::InvalidData {
                " (save it as \"CSV UTF-8\")"
            } else {
                ""
            };
            format!("{}: {e}{hint}", path.display())
        })
    };
    let leads_text = read(leads_csv)?;
    let events_text = read(events_csv)?;
    parse_history(
        sym,
        &leads_csv.display().to_string(),
        &leads_text,
        &events_csv.display().to_string(),
        &events_text,
    )
}

/// [`read_history`] on the files' contents; the names are only for messages.
pub fn parse_history(
    sym: &Symbols,
    leads_name: &str,
    leads_text: &str,
    events_name: &str,
    events_text: &str,
) -> Result<CsvHistory, String> {
    let tz = sym.timezone.as_ref().map(|(tz, _)| tz.as_str());
    let leads = read_leads(sym, tz, leads_name, leads_text)?;
    let by_id: HashMap<&str, usize> = leads
        .iter()
        .enumerate()
        .map(|(i, l)| (l.id.as_str(), i))
        .collect();
    let events = read_events(sym, tz, events_name, events_text, leads_name, &by_id)?;

    // Each lead's earliest event, and the earliest instant of all.
    let mut first_event: Vec<Option<(i64, u64)>> = vec![None; leads.len()];
    for e in &events {
        if let Some(first) = first_event.get_mut(e.lead) {
            if first.is_none_or(|(at, _)| e.at < at) {
                *first = Some((e.at, e.line));
            }
        }
    }
    let earliest = leads
        .iter()
        .filter_map(|l| l.created)
        .chain(events.iter().map(|e| e.at))
        .min();

    let mut inputs = Vec::with_capacity(leads.len() + events.len());
    for (lead, first) in leads.iter().zip(&first_event) {
        let at = match (lead.created, first) {
            (Some(created), Some((event_at, event_line))) if *event_at < created => {
                return Err(format!(
                    "{leads_name} line {}: column `{}`: the lead `{}` is created at {} but has an event before that, at {} ({events_name} line {event_line})",
                    lead.line,
                    lead.created_column,
                    lead.id,
                    instant_text(created),
                    instant_text(*event_at),
                ));
            }
            (Some(created), _) => created,
            (None, Some((event_at, _))) => *event_at,
            (None, None) => earliest.ok_or_else(|| {
                format!(
                    "{leads_name}: nothing says when the history starts: no lead has a `created_at` and {events_name} has no events"
                )
            })?,
        };
        inputs.push(Input {
            index: 0,
            at,
            lead: lead.id.clone(),
            kind: lead.kind.clone(),
        });
    }
    let lead_count = leads.len();
    let event_count = events.len();
    for e in events {
        let lead = leads.get(e.lead).map(|l| l.id.clone()).unwrap_or_default();
        inputs.push(Input {
            index: 0,
            at: e.at,
            lead,
            kind: e.kind,
        });
    }
    // Stable: creates (pushed first) stay before events at the same instant.
    inputs.sort_by_key(|i| i.at);
    for (index, input) in inputs.iter_mut().enumerate() {
        input.index = index;
    }
    Ok(CsvHistory {
        inputs,
        leads: lead_count,
        events: event_count,
    })
}

/// A row of the leads file, checked.
struct Lead {
    id: String,
    line: u64,
    created: Option<i64>,
    /// The header of the `created_at` column (for messages).
    created_column: String,
    kind: InputKind,
}

/// A row of the events file, checked.
struct Event {
    /// The lead's position in the leads file.
    lead: usize,
    at: i64,
    line: u64,
    kind: InputKind,
}

/// `file line n: column `c`: message`.
fn cell_error(file: &str, line: u64, column: &str, message: &str) -> String {
    format!("{file} line {line}: column `{column}`: {message}")
}

/// An instant as RFC 3339 text (for messages).
fn instant_text(at: i64) -> String {
    jiff::Timestamp::from_second(at).map_or_else(|_| format!("{at} s"), |t| t.to_string())
}

/// The header row and a reader positioned on the first data row.
fn open<'t>(name: &str, text: &'t str) -> Result<(Vec<String>, csv::Reader<&'t [u8]>), String> {
    let delimiter = guess_delimiter(text.lines().next().unwrap_or_default());
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("{name}: the header row: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    Ok((headers, reader))
}

/// Calls `f` with each data row that is not blank and its line; a row whose cell count
/// is not the header's is refused.
fn each_row(
    name: &str,
    text: &str,
    mut reader: csv::Reader<&[u8]>,
    width: usize,
    mut f: impl FnMut(u64, &csv::StringRecord) -> Result<(), String>,
) -> Result<(), String> {
    let mut record = csv::StringRecord::new();
    loop {
        let line = start_line(text, reader.position());
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(format!("{name} line {line}: {e}")),
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(line, |p| start_line(text, p));
        if record.len() != width {
            return Err(format!(
                "{name} line {line}: the row has {} cells, the header {width}",
                record.len()
            ));
        }
        f(line, &record)?;
    }
}

/// The one column whose folded header is among `names`, if any; two is an error.
fn column_named(file: &str, headers: &[String], names: &[&str]) -> Result<Option<usize>, String> {
    let mut found = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| names.contains(&folded(h).as_str()));
    let first = found.next().map(|(i, _)| i);
    if let Some((_, second)) = found.next() {
        return Err(format!(
            "{file}: two columns are `{}`: `{}` and `{}`",
            names.first().copied().unwrap_or_default(),
            bare(
                first
                    .and_then(|i| headers.get(i))
                    .map_or("", String::as_str)
            ),
            bare(second)
        ));
    }
    Ok(first)
}

/// Validates `body` as the engine does; when it is refused, finds the column at fault
/// by checking `base` with each value of `parts` alone (`key`, column, value).
fn checked(
    sym: &Symbols,
    action: &str,
    body: impl Fn(Map<String, Value>) -> Map<String, Value>,
    parts: &[(String, String, Value)],
    file: &str,
    line: u64,
) -> Result<InputKind, String> {
    let all: Map<String, Value> = parts
        .iter()
        .map(|(k, _, v)| (k.clone(), v.clone()))
        .collect();
    let message = match parse_action(sym, action, &Object::from(body(all))) {
        Ok(kind) => return Ok(kind),
        Err(m) => m,
    };
    for (key, column, value) in parts {
        let one = Map::from_iter([(key.clone(), value.clone())]);
        if let Err(m) = parse_action(sym, action, &Object::from(body(one))) {
            return Err(cell_error(file, line, column, &m));
        }
    }
    Err(format!("{file} line {line}: {message}"))
}

fn read_leads(
    sym: &Symbols,
    tz: Option<&str>,
    file: &str,
    text: &str,
) -> Result<Vec<Lead>, String> {
    let (headers, reader) = open(file, text)?;
    let created_column =
        column_named(file, &headers, &["created_at", "createdate", "create_date"])?;
    // The other columns are the id and fields, mapped as `tandem import` maps them.
    let kept: Vec<usize> = (0..headers.len())
        .filter(|i| Some(*i) != created_column)
        .collect();
    let kept_headers: Vec<String> = kept
        .iter()
        .filter_map(|i| headers.get(*i).cloned())
        .collect();
    let schema = Schema {
        fields: settable_fields(sym)
            .into_iter()
            .map(|(name, ty)| (name, ty.to_string()))
            .collect(),
        timezone: tz.map(str::to_owned),
    };
    let plan = plan_columns(&kept_headers, &schema, true).map_err(|e| format!("{file}: {e}"))?;
    if !plan.skipped.is_empty() {
        let known: Vec<&str> = schema.fields.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "{file}: the lead has no field for the column(s) {} (fields: {}; `created_at` gives when the lead was created); rename or remove them",
            plan.skipped
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        ));
    }
    let id_column = kept.get(plan.id_column).copied().unwrap_or_default();
    let id_header = bare(headers.get(id_column).map_or("", String::as_str)).to_owned();
    let created_header = created_column
        .and_then(|c| headers.get(c))
        .map_or_else(|| "created_at".to_owned(), |h| bare(h).to_owned());
    let fields: Vec<(usize, String, String, String)> = kept
        .iter()
        .zip(&plan.columns)
        .filter_map(|(i, column)| {
            let (name, ty) = column.clone()?;
            Some((*i, name, ty, bare(headers.get(*i)?).to_owned()))
        })
        .collect();

    let mut leads = Vec::new();
    let mut lines: HashMap<String, u64> = HashMap::new();
    each_row(file, text, reader, headers.len(), |line, record| {
        let id = normalize(record.get(id_column).unwrap_or_default().trim());
        if id.is_empty() {
            return Err(cell_error(file, line, &id_header, "the lead id is empty"));
        }
        if let Some(first) = lines.insert(id.clone(), line) {
            return Err(cell_error(
                file,
                line,
                &id_header,
                &format!("the lead `{id}` is already on line {first}"),
            ));
        }
        let mut parts = Vec::with_capacity(fields.len());
        for (i, name, ty, header) in &fields {
            let cell = record.get(*i).unwrap_or_default();
            match field_cell(name, ty, cell, tz) {
                Ok(Some(v)) => parts.push((name.clone(), header.clone(), v)),
                Ok(None) => {}
                Err(m) => return Err(cell_error(file, line, header, &m)),
            }
        }
        let created = match created_column {
            Some(c) => instant_seconds(record.get(c).unwrap_or_default(), tz)
                .map_err(|m| cell_error(file, line, &created_header, &m))?,
            None => None,
        };
        let body = |fields| Map::from_iter([("create".to_owned(), Value::Object(fields))]);
        let kind = checked(sym, "create", body, &parts, file, line)?;
        leads.push(Lead {
            id,
            line,
            created,
            created_column: created_header.clone(),
            kind,
        });
        Ok(())
    })?;
    Ok(leads)
}

/// The property a plain column of the events file sets for `event`: its header as
/// written if the event has that property, else folded, else as written (refused then).
fn property_name(event: Option<&EventInfo>, header: &str) -> String {
    let written = bare(header);
    if event.is_some_and(|e| e.prop(written).is_none()) {
        let folded = folded(header);
        if event.is_some_and(|e| e.prop(&folded).is_some()) {
            return folded;
        }
    }
    written.to_owned()
}

fn read_events(
    sym: &Symbols,
    tz: Option<&str>,
    file: &str,
    text: &str,
    leads_file: &str,
    leads: &HashMap<&str, usize>,
) -> Result<Vec<Event>, String> {
    let (headers, reader) = open(file, text)?;
    let required = |name: &str| {
        column_named(file, &headers, &[name])?.ok_or_else(|| {
            format!("{file}: the file has no `{name}` column (it needs `lead`, `event` and `at`)")
        })
    };
    let lead_column = required("lead")?;
    let event_column = required("event")?;
    let at_column = required("at")?;
    let properties_column = column_named(file, &headers, &["properties"])?;
    let header = |i: usize| bare(headers.get(i).map_or("", String::as_str)).to_owned();
    let (lead_header, event_header, at_header) =
        (header(lead_column), header(event_column), header(at_column));
    let properties_header = properties_column.map(header).unwrap_or_default();
    let plain: Vec<(usize, String)> = (0..headers.len())
        .filter(|i| {
            ![
                Some(lead_column),
                Some(event_column),
                Some(at_column),
                properties_column,
            ]
            .contains(&Some(*i))
        })
        .map(|i| (i, header(i)))
        .collect();

    let mut events = Vec::new();
    each_row(file, text, reader, headers.len(), |line, record| {
        let cell = |i: usize| record.get(i).unwrap_or_default().trim();
        let id = normalize(cell(lead_column));
        if id.is_empty() {
            return Err(cell_error(file, line, &lead_header, "the lead id is empty"));
        }
        let Some(&lead) = leads.get(id.as_str()) else {
            return Err(cell_error(
                file,
                line,
                &lead_header,
                &format!("the lead `{id}` is not in {leads_file}"),
            ));
        };
        let name = cell(event_column);
        if name.is_empty() {
            return Err(cell_error(
                file,
                line,
                &event_header,
                "the event name is empty",
            ));
        }
        let at = instant_seconds(cell(at_column), tz)
            .map_err(|m| cell_error(file, line, &at_header, &m))?
            .ok_or_else(|| cell_error(file, line, &at_header, "the time is empty"))?;
        let info = sym.events.get(name);

        let mut parts: Vec<(String, String, Value)> = Vec::new();
        if let Some(c) = properties_column {
            let json = cell(c);
            if !json.is_empty() {
                match serde_json::from_str::<Value>(json) {
                    Ok(Value::Object(given)) => {
                        for (k, v) in given {
                            parts.push((k, properties_header.clone(), v));
                        }
                    }
                    _ => {
                        return Err(cell_error(
                            file,
                            line,
                            &properties_header,
                            &format!("`{json}` is not a JSON object, like {{\"webinar\": \"Q1\"}}"),
                        ))
                    }
                }
            }
        }
        for (i, column) in &plain {
            let text = cell(*i);
            if text.is_empty() {
                continue;
            }
            let key = property_name(info, column);
            let value = match info.and_then(|e| e.prop(&key)) {
                Some(ty) => cell_value(&ty.to_string(), text, tz)
                    .map_err(|m| cell_error(file, line, column, &m))?
                    .unwrap_or_default(),
                None => Value::String(text.to_owned()),
            };
            if let Some((_, other, _)) = parts.iter().find(|(k, _, _)| *k == key) {
                return Err(cell_error(
                    file,
                    line,
                    column,
                    &format!("the property `{key}` is also set by the column `{other}`"),
                ));
            }
            parts.push((key, column.clone(), value));
        }

        let body = |props| {
            Map::from_iter([
                ("event".to_owned(), Value::String(name.to_owned())),
                ("props".to_owned(), Value::Object(props)),
            ])
        };
        // An unknown event (or one the runtime raises) is the `event` column's fault.
        if let Err(m) = parse_action(sym, "event", &Object::from(body(Map::new()))) {
            return Err(cell_error(file, line, &event_header, &m));
        }
        let kind = checked(sym, "event", body, &parts, file, line)?;
        events.push(Event {
            lead,
            at,
            line,
            kind,
        });
        Ok(())
    })?;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::scenario::{parse_instant, InputValue};

    fn symbols() -> Symbols {
        let program = compiler::ProgramSource::single(
            "p.journey",
            r#"timezone "Asia/Ho_Chi_Minh"
lead { name: text, company_size: number, demo_at: time }
event webinar_attended { webinar: text, minutes: number }
event form_submitted { form: text }
"#,
        );
        let ws = compiler::check_program(&program);
        assert!(!ws.has_errors(), "{:?}", ws.diagnostics());
        ws.symbols().clone()
    }

    fn parse(leads: &str, events: &str) -> Result<CsvHistory, String> {
        parse_history(&symbols(), "leads.csv", leads, "events.csv", events)
    }

    fn at(s: &str) -> i64 {
        parse_instant(s).expect("instant")
    }

    fn text(s: &str) -> InputValue {
        InputValue::Text(s.into())
    }

    /// `(at, lead, what)` per input, `what` being `create` or the event's name.
    fn outline(h: &CsvHistory) -> Vec<(usize, i64, String, String)> {
        h.inputs
            .iter()
            .map(|i| {
                let what = match &i.kind {
                    InputKind::Create(_) => "create".to_owned(),
                    InputKind::Event { event, .. } => event.clone(),
                    other => format!("{other:?}"),
                };
                (i.index, i.at, i.lead.clone(), what)
            })
            .collect()
    }

    #[test]
    fn a_hubspot_export_becomes_creates_typed_in_the_program_zone() {
        let semicolons = "\u{feff}Email;Name;Company size;Create Date\n\
                          an@acme.vn;Anh;120;05/01/2026\n\
                          \n\
                          bo@acme.vn;Bảo;;2026-01-06 09:30\n";
        let h = parse(semicolons, "lead,event,at\n").expect("valid");
        assert_eq!((h.leads, h.events), (2, 0));
        assert_eq!(
            h.inputs,
            vec![
                Input {
                    index: 0,
                    at: at("2026-01-05T00:00:00+07:00"),
                    lead: "an@acme.vn".into(),
                    kind: InputKind::Create(vec![
                        ("email".into(), text("an@acme.vn")),
                        ("name".into(), text("Anh")),
                        ("company_size".into(), InputValue::Number(120.0)),
                    ]),
                },
                Input {
                    index: 1,
                    at: at("2026-01-06T09:30:00+07:00"),
                    lead: "bo@acme.vn".into(),
                    kind: InputKind::Create(vec![
                        ("email".into(), text("bo@acme.vn")),
                        ("name".into(), text("Bảo")),
                    ]),
                },
            ]
        );
        let commas = "Email,Name,Company size,Create Date\n\
                      an@acme.vn,Anh,120,05/01/2026\n\
                      bo@acme.vn,Bảo,,2026-01-06 09:30\n";
        assert_eq!(parse(commas, "lead,event,at\n"), Ok(h));
    }

    #[test]
    fn event_properties_come_from_the_json_column_and_from_their_own_columns() {
        let leads = "id,name\nan,Anh\n";
        let events = "\u{feff}Lead;Event;At;Properties;Minutes;form\n\
                      an;webinar_attended;2026-01-05 10:00;\"{\"\"webinar\"\": \"\"Q1\"\"}\";45;\n\
                      an;form_submitted;2026-01-06T03:00:00Z;;;ebook\n\
                      an;webinar_attended;2026-01-07 10:00;{\"minutes\": 5};;\n";
        let h = parse(leads, events).expect("valid");
        assert_eq!((h.leads, h.events), (1, 3));
        let props: Vec<_> = h
            .inputs
            .iter()
            .filter_map(|i| match &i.kind {
                InputKind::Event { event, props } => Some((i.at, event.as_str(), props.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            props,
            vec![
                (
                    at("2026-01-05T10:00:00+07:00"),
                    "webinar_attended",
                    vec![
                        ("webinar".into(), text("Q1")),
                        ("minutes".into(), InputValue::Number(45.0))
                    ]
                ),
                (
                    at("2026-01-06T03:00:00Z"),
                    "form_submitted",
                    vec![("form".into(), text("ebook"))]
                ),
                (
                    at("2026-01-07T10:00:00+07:00"),
                    "webinar_attended",
                    vec![("minutes".into(), InputValue::Number(5.0))]
                ),
            ]
        );
    }

    #[test]
    fn inputs_are_in_time_order_with_each_create_before_its_events() {
        // `an`: created when its first (not first-listed) event happens; `bo`: at its
        // `created_at`, the instant of its only event; `cu`: no events, no date: at the
        // earliest instant of the history.
        let leads = "id,createdate\nan,\nbo,2026-01-06 08:00\ncu,\n";
        let events = "lead,event,at\n\
                      an,form_submitted,2026-01-07 08:00\n\
                      bo,form_submitted,2026-01-06 08:00\n\
                      an,webinar_attended,2026-01-05 08:00\n";
        let h = parse(leads, events).expect("valid");
        let t = |s: &str| at(&format!("{s}+07:00"));
        let row = |i: usize, at: i64, lead: &str, what: &str| (i, at, lead.into(), what.into());
        assert_eq!(
            outline(&h),
            vec![
                row(0, t("2026-01-05T08:00:00"), "an", "create"),
                row(1, t("2026-01-05T08:00:00"), "cu", "create"),
                row(2, t("2026-01-05T08:00:00"), "an", "webinar_attended"),
                row(3, t("2026-01-06T08:00:00"), "bo", "create"),
                row(4, t("2026-01-06T08:00:00"), "bo", "form_submitted"),
                row(5, t("2026-01-07T08:00:00"), "an", "form_submitted"),
            ]
        );
        assert_eq!((h.leads, h.events), (3, 3));
    }

    #[test]
    fn lead_ids_are_nfc_on_both_sides() {
        let decomposed = "Gia\u{301}m";
        let leads = format!("id,name\n{decomposed},{decomposed}\n");
        let h = parse(&leads, "lead,event,at\nGiám,form_submitted,2026-01-05\n").expect("valid");
        assert_eq!(h.inputs[0].lead, "Giám");
        assert_eq!(h.inputs[1].lead, "Giám");
        assert_eq!(
            h.inputs[0].kind,
            InputKind::Create(vec![("name".into(), text("Giám"))])
        );
    }

    fn err(leads: &str, events: &str) -> String {
        match parse(leads, events) {
            Ok(h) => panic!("accepted: {:?}", h.inputs),
            Err(e) => e,
        }
    }

    const LEADS: &str = "id,name\nan,Anh\n";

    #[test]
    fn an_unknown_event_is_refused_as_the_engine_refuses_it() {
        let e = err(
            LEADS,
            "lead,event,at\nan,form_submitted,2026-01-05\nan,webinar_atended,2026-01-05\n",
        );
        assert_eq!(
            e,
            "events.csv line 3: column `event`: unknown event `webinar_atended`; did you mean `webinar_attended`?"
        );
        let e = err(LEADS, "lead,event,at\nan,email_sent,2026-01-05\n");
        assert!(
            e.starts_with(
                "events.csv line 2: column `event`: `email_sent` is raised by the runtime"
            ),
            "{e}"
        );
    }

    #[test]
    fn an_event_of_a_lead_not_in_the_leads_file_names_its_row() {
        let e = err(
            LEADS,
            "lead,event,at\nan,form_submitted,2026-01-05\nbo,form_submitted,2026-01-05\n",
        );
        assert_eq!(
            e,
            "events.csv line 3: column `lead`: the lead `bo` is not in leads.csv"
        );
    }

    #[test]
    fn a_bad_cell_names_its_line_and_column() {
        // The blank line 3 is skipped but counted.
        let e = err(
            LEADS,
            "lead,event,at,minutes\nan,webinar_attended,2026-01-05,30\n\nan,webinar_attended,2026-01-05,abc\n",
        );
        assert!(
            e.starts_with("events.csv line 4: column `minutes`: `abc` is not a number"),
            "{e}"
        );
        let e = err("id,Company size\nan,12\nbo,nhiều\n", "lead,event,at\n");
        assert!(
            e.starts_with("leads.csv line 3: column `Company size`: `nhiều` is not a number"),
            "{e}"
        );
        let e = err(LEADS, "lead,event,at\nan,form_submitted,next monday\n");
        assert!(
            e.starts_with("events.csv line 2: column `at`: `next monday` is not a time"),
            "{e}"
        );
        let e = err("id,created_at\nan,soon\n", "lead,event,at\n");
        assert!(
            e.starts_with("leads.csv line 2: column `created_at`: `soon` is not a time"),
            "{e}"
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_crlf_and_newlines_in_quotes() {
        let events = "lead,event,at,webinar,minutes\r\n\
                      \r\n\
                      \r\n\
                      an,webinar_attended,2026-01-05,\"Q1\nrecap\",30\r\n\
                      \r\n\
                      an,webinar_attended,2026-01-05,Q2,x\r\n";
        let e = err(LEADS, events);
        assert!(
            e.starts_with("events.csv line 7: column `minutes`: `x` is not a number"),
            "{e}"
        );
        let h = parse(LEADS, &events.replace(",x\r\n", ",5\r\n")).expect("valid");
        assert_eq!(h.events, 2);
    }

    #[test]
    fn the_engine_checks_name_the_column_at_fault() {
        let e = err("id,name,timezone\nan,Anh,Mars/Base\n", "lead,event,at\n");
        assert_eq!(
            e,
            "leads.csv line 2: column `timezone`: `Mars/Base` is not a known IANA time zone"
        );
        let e = err(
            LEADS,
            "lead,event,at,properties,page\nan,form_submitted,2026-01-05,,/pricing\n",
        );
        assert!(
            e.starts_with("events.csv line 2: column `page`: the event `form_submitted` has no property `page`"),
            "{e}"
        );
        let e = err(
            LEADS,
            "lead,event,at,properties\nan,webinar_attended,2026-01-05,\"{\"\"minutes\"\": \"\"ten\"\"}\"\n",
        );
        assert!(
            e.starts_with("events.csv line 2: column `properties`: `minutes` must be a number"),
            "{e}"
        );
        let e = err(
            LEADS,
            "lead,event,at,properties\nan,webinar_attended,2026-01-05,[1]\n",
        );
        assert!(
            e.starts_with("events.csv line 2: column `properties`: `[1]` is not a JSON object"),
            "{e}"
        );
        let e = err(
            LEADS,
            "lead,event,at,properties,minutes\nan,webinar_attended,2026-01-05,\"{\"\"minutes\"\": 1}\",2\n",
        );
        assert!(
            e.starts_with("events.csv line 2: column `minutes`: the property `minutes` is also set by the column `properties`"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let e = err(LEADS, "lead,event,when\nan,form_submitted,2026-01-05\n");
        assert_eq!(
            e,
            "events.csv: the file has no `at` column (it needs `lead`, `event` and `at`)"
        );
        let e = err(LEADS, "Lead,At\n");
        assert!(
            e.starts_with("events.csv: the file has no `event` column"),
            "{e}"
        );
        let e = err("name\nAnh\n", "lead,event,at\n");
        assert!(e.contains("no `id` column"), "{e}");
    }

    #[test]
    fn unknown_lead_columns_are_all_named() {
        let e = err("id,name,Zalo,ghi chú\nan,Anh,x,y\n", "lead,event,at\n");
        assert!(
            e.starts_with(
                "leads.csv: the lead has no field for the column(s) `Zalo`, `ghi chú` (fields: "
            ),
            "{e}"
        );
        assert!(!e.contains("--ignore-unknown-columns"), "{e}");
    }

    #[test]
    fn leads_are_listed_once_and_created_before_their_events() {
        let e = err("id\nan\nbo\nan\n", "lead,event,at\n");
        assert_eq!(
            e,
            "leads.csv line 4: column `id`: the lead `an` is already on line 2"
        );
        let e = err(
            "id,Create Date\nan,2026-01-06\n",
            "lead,event,at\nan,form_submitted,2026-01-05\n",
        );
        assert_eq!(
            e,
            "leads.csv line 2: column `Create Date`: the lead `an` is created at 2026-01-05T17:00:00Z but has an event before that, at 2026-01-04T17:00:00Z (events.csv line 2)"
        );
        let e = err("id\nan\n", "lead,event,at\n");
        assert!(e.contains("nothing says when the history starts"), "{e}");
        let e = err("id,name\nan\n", "lead,event,at\n");
        assert_eq!(e, "leads.csv line 2: the row has 1 cells, the header 2");
    }

    #[test]
    fn empty_files_are_an_empty_history() {
        let h = parse("id\n", "lead,event,at\n").expect("valid");
        assert_eq!((h.inputs.len(), h.leads, h.events), (0, 0, 0));
    }

    #[test]
    fn the_files_are_read_from_disk() {
        let dir = std::env::temp_dir().join(format!("tandem-history-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (leads, events) = (dir.join("leads.csv"), dir.join("events.csv"));
        std::fs::write(&leads, LEADS).expect("write");
        std::fs::write(&events, "lead,event,at\nan,form_submitted,2026-01-05\n").expect("write");
        let h = read_history(&leads, &events, &symbols()).expect("valid");
        assert_eq!((h.leads, h.events, h.inputs.len()), (1, 1, 2));
        let missing = dir.join("nope.csv");
        let e = read_history(&leads, &missing, &symbols()).expect_err("missing");
        assert!(e.starts_with(&missing.display().to_string()), "{e}");
        std::fs::write(&events, b"lead,event,at\nan,form_submitted,\xff\n").expect("write");
        let e = read_history(&leads, &events, &symbols()).expect_err("not utf-8");
        assert!(e.contains("CSV UTF-8"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
