//! `tandem import leads.csv`: turns a CSV export (Excel, a CRM) into lead upserts against a running `tandem run`, typed by the service's schema, in all-or-none batches, with a progress bar and a per-row error report.
//!
//! The conversion of a row (header mapping, cell → JSON value) is pure and unit-tested
//! here; only [`import`] talks to the service.

use std::io::Read;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use crate::import_map::{self, ColumnMap, Mapped, Preset};

/// What `tandem import` was asked to do.
pub struct ImportOptions {
    /// The CSV file.
    pub file: PathBuf,
    /// The service's base URL, like `http://127.0.0.1:8080`.
    pub url: String,
    /// A bearer token with the `ingest` (or `admin`) scope.
    pub token: String,
    /// Rows per request (each request is applied all or none).
    pub batch: usize,
    /// The field separator; `None` guesses `,`, `;` or tab from the header line.
    pub delimiter: Option<u8>,
    /// Skip columns that are not lead fields instead of refusing the file.
    pub ignore_unknown_columns: bool,
    /// Columns mapped onto fields (`--map`, `--map-file`), before the preset.
    pub maps: Vec<ColumnMap>,
    /// A CRM export's headers mapped onto the fields the program has (`--preset`).
    pub preset: Option<Preset>,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    /// The lead id of the row, if it had one.
    pub id: String,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

/// The outcome of an import that ran to the end of the file.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    /// Rows the service applied.
    pub imported: usize,
    /// Rows refused, in file order.
    pub rejected: Vec<RowError>,
    /// Columns skipped because they are not lead fields (`--ignore-unknown-columns`).
    pub skipped_columns: Vec<String>,
    /// Mapped columns and the field each sets (`--map`, `--map-file`, `--preset`).
    pub mapped_columns: Vec<(String, String)>,
}

/// The lead fields an upsert may set, with their types, as `GET /api/schema` gives them.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// `(name, type)`; types are `text`, `number`, `bool`, `time`, `stage`, `tags`.
    pub fields: Vec<(String, String)>,
    /// The program's time zone: dates and clock times without an offset are read in it.
    pub timezone: Option<String>,
}

impl Schema {
    /// Reads the `GET /api/schema` answer.
    pub fn from_json(v: &Value) -> Result<Schema, String> {
        let fields = v
            .get("fields")
            .and_then(Value::as_array)
            .ok_or("the service's schema has no `fields` list")?
            .iter()
            .filter_map(|f| {
                Some((
                    f.get("name")?.as_str()?.to_owned(),
                    f.get("type")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        let timezone = v.get("timezone").and_then(Value::as_str).map(str::to_owned);
        Ok(Schema { fields, timezone })
    }

    fn field(&self, name: &str) -> Option<&(String, String)> {
        self.fields.iter().find(|(n, _)| n == name)
    }
}

/// Where each column of the file goes.
#[derive(Debug, PartialEq)]
pub struct ColumnPlan {
    /// The column holding the lead id (`id`, or `email` when there is no `id` column).
    pub id_column: usize,
    /// Per column: the field of its name and its type, or `None` for the id column,
    /// mapped and skipped ones.
    pub columns: Vec<Option<(String, String)>>,
    /// Fields set from mapped columns (`--map`, `--preset`), one or several joined.
    pub mapped: Vec<Mapped>,
    /// Header names skipped as unknown.
    pub skipped: Vec<String>,
}

/// A header cell without surrounding space or Excel's byte-order mark.
pub(crate) fn bare(header: &str) -> &str {
    header.trim().trim_start_matches('\u{feff}').trim()
}

/// A header cell lower-cased with spaces and dashes as `_` (`Company size` → `company_size`).
pub(crate) fn folded(header: &str) -> String {
    bare(header)
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// A header cell as a field name: as written if that is a field, else [`folded`].
fn field_name(header: &str, schema: &Schema) -> Option<(String, String)> {
    schema
        .field(bare(header))
        .or_else(|| schema.field(&folded(header)))
        .cloned()
}

/// Maps the header row onto lead fields; the error names every unknown column.
pub fn plan_columns(
    headers: &[String],
    schema: &Schema,
    ignore_unknown: bool,
) -> Result<ColumnPlan, String> {
    plan_mapped(headers, schema, &[], None, ignore_unknown)
}

/// Maps the header row onto lead fields: first the explicit mappings (`maps`), then each
/// other column by its own name, then the preset's entries for fields still unset. The
/// lead id is the column mapped to `id`, else the `id` column, else the one giving
/// `email`. The error names every unknown column, or the mapping at fault.
pub fn plan_mapped(
    headers: &[String],
    schema: &Schema,
    maps: &[ColumnMap],
    preset: Option<Preset>,
    ignore_unknown: bool,
) -> Result<ColumnPlan, String> {
    let resolved = import_map::resolve(headers, schema, maps)?;
    let free = |i: usize| !resolved.claimed.get(i).copied().unwrap_or(true);
    let id_by_name = match resolved.id {
        Some(_) => None,
        None => headers
            .iter()
            .enumerate()
            .position(|(i, h)| free(i) && folded(h) == "id"),
    };
    let mut columns = Vec::with_capacity(headers.len());
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if !free(i) || Some(i) == id_by_name {
            columns.push(None);
            continue;
        }
        columns.push(field_name(h, schema));
    }
    let mut mapped = resolved.mapped;
    let mut set: Vec<String> = columns
        .iter()
        .flatten()
        .map(|(n, _)| n.clone())
        .chain(mapped.iter().map(|m| m.field.clone()))
        .collect();
    let from_preset = match preset {
        Some(p) => import_map::preset_mappings(p, headers, schema, &resolved.claimed, &mut set),
        None => Vec::new(),
    };
    for (i, h) in headers.iter().enumerate() {
        let used = from_preset.iter().any(|m| m.from.contains(&i));
        if free(i) && Some(i) != id_by_name && columns[i].is_none() && !used {
            unknown.push(h.trim().to_owned());
        }
    }
    mapped.extend(from_preset);
    let email_column = || {
        headers
            .iter()
            .enumerate()
            .position(|(i, h)| free(i) && folded(h) == "email")
            .or_else(|| {
                mapped
                    .iter()
                    .find(|m| m.field == "email" && m.from.len() == 1)
                    .map(|m| m.from[0])
            })
    };
    let id_column = resolved
        .id
        .or(id_by_name)
        .or_else(email_column)
        .ok_or("the file has no `id` column (nor an `email` column to use as the lead id); `--map \"HEADER=id\"` names the column that holds it")?;
    if !unknown.is_empty() && !ignore_unknown {
        let known: Vec<&str> = schema.fields.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "the lead has no field for the column(s) {} (fields: {}); rename them, map them (--map \"HEADER=FIELD\"), or pass --ignore-unknown-columns to skip them",
            unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
            known.join(", ")
        ));
    }
    let mut seen: Vec<(&str, String)> = Vec::new();
    let own = columns
        .iter()
        .zip(headers)
        .filter_map(|(c, h)| c.as_ref().map(|(n, _)| (n.as_str(), bare(h).to_owned())));
    let mapped_names = mapped.iter().map(|m| (m.field.as_str(), m.header.clone()));
    for (name, header) in own.chain(mapped_names) {
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            return Err(format!(
                "two columns set the field `{name}` (`{first}` and `{header}`)"
            ));
        }
        seen.push((name, header));
    }
    Ok(ColumnPlan {
        id_column,
        columns,
        mapped,
        skipped: unknown,
    })
}

/// One cell as the JSON value its field takes; an empty cell sets nothing (`None`).
pub fn cell_value(ty: &str, cell: &str, timezone: Option<&str>) -> Result<Option<Value>, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    Ok(Some(match ty {
        // `-0` and `-0.0` are 0: a negative zero never reaches the store or the output.
        "number" => match cell.parse::<f64>() {
            Ok(x) if x.is_finite() => json!(if x == 0.0 { 0.0 } else { x }),
            _ => {
                return Err(format!(
                    "`{cell}` is not a number (digits, with `.` before decimals and no thousands separators)"
                ))
            }
        },
        "bool" => match cell.to_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "x" | "có" | "co" | "đúng" => json!(true),
            "false" | "no" | "n" | "0" | "không" | "khong" | "sai" => json!(false),
            _ => return Err(format!("`{cell}` is not yes/no (true, false, yes, no, 1, 0, có, không)")),
        },
        "time" => json!(instant(cell, timezone)?),
        "tags" => Value::Array(
            cell.split([';', ','])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_owned()))
                .collect(),
        ),
        _ => json!(cell),
    }))
}

/// A lead field's cell as its value: [`cell_value`] by type, and the `email` field must
/// be one email address (`an@saoviet.vn`; no display name) — a lead with an address that
/// cannot be mailed is refused here rather than bouncing later.
pub fn field_cell(
    name: &str,
    ty: &str,
    cell: &str,
    timezone: Option<&str>,
) -> Result<Option<Value>, String> {
    let value = cell_value(ty, cell, timezone)?;
    if let (Some(Value::String(address)), "email") = (&value, name) {
        if !service::mail::is_lead_address(address) {
            return Err(format!(
                "`{address}` is not an email address (like an@saoviet.vn)"
            ));
        }
    }
    Ok(value)
}

/// A time cell (any form [`cell_value`] reads for `time`) as seconds since 1970; an
/// empty cell is `None`.
pub fn instant_seconds(cell: &str, timezone: Option<&str>) -> Result<Option<i64>, String> {
    match cell_value("time", cell, timezone)? {
        None => Ok(None),
        Some(Value::String(s)) => runtime::scenario::parse_instant(&s).map(Some),
        Some(other) => Err(format!("`{other}` is not a time")),
    }
}

/// An instant from a cell: RFC 3339 with an offset, or a date / date and clock time in
/// the program's time zone (`2026-01-05`, `2026-01-05 9:30`, `05/01/2026 09:30` = 5 January).
fn instant(cell: &str, timezone: Option<&str>) -> Result<String, String> {
    let whole =
        |t: jiff::Timestamp| jiff::Timestamp::from_second(t.as_second()).map(|t| t.to_string());
    if let Ok(t) = cell.parse::<jiff::Timestamp>() {
        return whole(t).map_err(|e| e.to_string());
    }
    let tz = timezone.unwrap_or("Asia/Ho_Chi_Minh");
    let zone = jiff::tz::TimeZone::get(tz).map_err(|e| format!("time zone `{tz}`: {e}"))?;
    // A date (`2026-01-05` or day first `05/01/2026`), then maybe a clock time (`9:30`,
    // `09:30`, `09:30:15`) after a space or `T`.
    let text = cell.trim();
    let (date_text, clock_text) = match text.split_once([' ', 'T']) {
        Some((d, c)) => (d, Some(c.trim())),
        None => (text, None),
    };
    let date = date_text.parse::<jiff::civil::Date>().ok().or_else(|| {
        let mut parts = date_text.split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        jiff::civil::Date::new(
            y.trim().parse().ok()?,
            m.trim().parse().ok()?,
            d.trim().parse().ok()?,
        )
        .ok()
    });
    let clock = match clock_text {
        None => Some(jiff::civil::Time::midnight()),
        Some(c) => clock_time(c),
    };
    let civil = date.zip(clock).map(|(d, t)| d.to_datetime(t));
    let Some(civil) = civil else {
        return Err(format!(
            "`{cell}` is not a time (write 2026-01-05, 2026-01-05 9:30, 05/01/2026 9:30 or an RFC 3339 instant)"
        ));
    };
    let at = zone
        .to_timestamp(civil)
        .map_err(|e| format!("`{cell}`: {e}"))?;
    whole(at).map_err(|e| e.to_string())
}

/// `9:30`, `09:30` or `09:30:15` as a clock time (one or two digits for the hour, two for
/// minutes and seconds).
fn clock_time(c: &str) -> Option<jiff::civil::Time> {
    let parts: Vec<&str> = c.split(':').collect();
    let number = |i: usize, widths: &[usize]| -> Option<i8> {
        let p = parts.get(i)?;
        if !widths.contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let seconds = match parts.len() {
        2 => 0,
        3 => number(2, &[2])?,
        _ => return None,
    };
    jiff::civil::Time::new(number(0, &[1, 2])?, number(1, &[2])?, seconds, 0).ok()
}

/// A row ready to send.
#[derive(Debug)]
struct PendingRow {
    line: u64,
    id: String,
    fields: Map<String, Value>,
}

/// Converts the record on `line`; the error names the first bad cell.
fn convert(
    record: &csv::StringRecord,
    plan: &ColumnPlan,
    timezone: Option<&str>,
    line: u64,
) -> Result<PendingRow, RowError> {
    let id = record
        .get(plan.id_column)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let refuse = |id: String, column: Option<String>, message: String| RowError {
        line,
        id,
        column,
        message,
    };
    if record.len() != plan.columns.len() {
        let message = format!(
            "the row has {} cells, the header {}",
            record.len(),
            plan.columns.len()
        );
        return Err(refuse(id, None, message));
    }
    if id.is_empty() {
        return Err(refuse(id, None, "the lead id is empty".into()));
    }
    let mut fields = Map::new();
    for (cell, column) in record.iter().zip(&plan.columns) {
        let Some((name, ty)) = column else { continue };
        match field_cell(name, ty, cell, timezone) {
            Ok(Some(v)) => {
                fields.insert(name.clone(), v);
            }
            Ok(None) => {}
            Err(m) => return Err(refuse(id, Some(name.clone()), m)),
        }
    }
    for m in &plan.mapped {
        let parts = m
            .from
            .iter()
            .map(|&i| record.get(i).unwrap_or_default().trim())
            .filter(|c| !c.is_empty());
        let cell = parts.collect::<Vec<_>>().join(" ");
        match field_cell(&m.field, &m.ty, &cell, timezone) {
            Ok(Some(v)) => {
                fields.insert(m.field.clone(), v);
            }
            Ok(None) => {}
            Err(e) => {
                let message = format!("column `{}`: {e}", m.header);
                return Err(refuse(id, Some(m.field.clone()), message));
            }
        }
    }
    Ok(PendingRow { line, id, fields })
}

/// Guesses the separator from the header line: the most frequent of `,`, `;` and tab.
pub fn guess_delimiter(header_line: &str) -> u8 {
    // `max_by_key` keeps the last of equal counts: `,` wins ties (a one-column header).
    [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| header_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into()
}

/// The `error.message` and `error.index` of a refusal body.
fn refusal_of(body: &str) -> (String, Option<usize>) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.trim().to_owned());
    let index = v
        .pointer("/error/index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok());
    (message, index)
}

/// Fetches the running program's schema.
pub fn fetch_schema(url: &str, token: &str) -> Result<Schema, String> {
    let mut resp = agent()
        .get(&format!("{url}/api/schema"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| {
            format!("cannot reach the service at {url} ({e}); is `tandem run` running?")
        })?;
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    if status != 200 {
        let (message, _) = refusal_of(&body);
        return Err(format!("{url}/api/schema answered {status}: {message}"));
    }
    let v: Value =
        serde_json::from_str(&body).map_err(|e| format!("the schema is not JSON: {e}"))?;
    Schema::from_json(&v)
}

/// Sends one batch; a row the service refuses (its index is in the answer) is reported
/// and the rest is sent again, so one bad row never blocks its neighbours. Returns the
/// number applied; `Err` stops the import (nothing of this batch was applied).
fn send(
    agent: &ureq::Agent,
    opts: &ImportOptions,
    mut rows: Vec<PendingRow>,
    rejected: &mut Vec<RowError>,
) -> Result<usize, String> {
    while !rows.is_empty() {
        let body: Vec<Value> = rows
            .iter()
            .map(|r| json!({ "id": r.id, "fields": r.fields }))
            .collect();
        let body = serde_json::to_string(&body).map_err(|e| e.to_string())?;
        let mut resp = agent
            .post(&format!("{}/api/leads", opts.url))
            .header("Authorization", &format!("Bearer {}", opts.token))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .map_err(|e| format!("the service at {} stopped answering ({e})", opts.url))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if status == 200 {
            return Ok(rows.len());
        }
        let (message, index) = refusal_of(&text);
        match index {
            Some(i) if (400..500).contains(&status) && i < rows.len() => {
                let row = rows.remove(i);
                let column = message
                    .split('`')
                    .nth(1)
                    .filter(|name| row.fields.contains_key(*name))
                    .map(str::to_owned);
                // The column is reported once: the service's "`stage`: …" loses its prefix.
                let message = column
                    .as_ref()
                    .and_then(|c| message.strip_prefix(&format!("`{c}`: ")))
                    .map(str::to_owned)
                    .unwrap_or(message);
                rejected.push(RowError {
                    line: row.line,
                    id: row.id,
                    column,
                    message,
                });
            }
            _ => return Err(format!("the service answered {status}: {message}")),
        }
    }
    Ok(0)
}

/// The line a record read from `at` starts on: the reader's position is where it began
/// reading, before the empty lines it skips and, in a CRLF file, before the `\n` of the
/// line ending it stopped at.
pub fn start_line(text: &str, at: &csv::Position) -> u64 {
    let skipped = usize::try_from(at.byte())
        .ok()
        .and_then(|b| text.as_bytes().get(b..))
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|b| **b == b'\n')
        .count();
    at.line() + skipped as u64
}

/// Imports the file; `Err` is a message for a problem that stopped the import (the
/// rows before it that were applied are counted in the message).
pub fn import(opts: &ImportOptions) -> Result<ImportReport, String> {
    let file_name = opts.file.display().to_string();
    let mut text = String::new();
    std::fs::File::open(&opts.file)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| format!("{file_name}: {e}"))?;
    let schema = fetch_schema(&opts.url, &opts.token)?;
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| guess_delimiter(text.lines().next().unwrap_or_default()));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{file_name}: the header row: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let plan = plan_mapped(
        &headers,
        &schema,
        &opts.maps,
        opts.preset,
        opts.ignore_unknown_columns,
    )
    .map_err(|e| format!("{file_name}: {e}"))?;
    let mut report = ImportReport {
        skipped_columns: plan.skipped.clone(),
        mapped_columns: plan
            .mapped
            .iter()
            .map(|m| (m.header.clone(), m.field.clone()))
            .collect(),
        ..ImportReport::default()
    };
    let bar = ProgressBar::new(text.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let agent = agent();
    let batch = opts.batch.clamp(1, 10_000);
    let mut pending = Vec::with_capacity(batch);
    let mut record = csv::StringRecord::new();
    loop {
        let line = start_line(&text, reader.position());
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                report.rows += 1;
                report.rejected.push(RowError {
                    line,
                    id: String::new(),
                    column: None,
                    message: e.to_string(),
                });
                continue;
            }
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        let line = record.position().map_or(line, |p| start_line(&text, p));
        match convert(&record, &plan, schema.timezone.as_deref(), line) {
            Ok(row) => pending.push(row),
            Err(e) => report.rejected.push(e),
        }
        if pending.len() >= batch {
            let rows = std::mem::replace(&mut pending, Vec::with_capacity(batch));
            report.imported += send(&agent, opts, rows, &mut report.rejected)
                .map_err(|e| stopped(&e, line, &report))?;
            bar.set_position(reader.position().byte());
            bar.set_message(format!(
                "{} imported, {} rejected",
                report.imported,
                report.rejected.len()
            ));
        }
    }
    if !pending.is_empty() {
        let line = pending.last().map_or(0, |r| r.line);
        report.imported += send(&agent, opts, pending, &mut report.rejected)
            .map_err(|e| stopped(&e, line, &report))?;
    }
    bar.finish_and_clear();
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

fn stopped(e: &str, line: u64, report: &ImportReport) -> String {
    format!(
        "{e}; stopped in the batch ending at line {line}: {} rows were imported before it (importing the file again is safe: it updates the same leads)",
        report.imported
    )
}

/// The rejected rows as CSV (`line,id,column,message`), for `--errors FILE`.
pub fn errors_csv(rejected: &[RowError]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = w.write_record(["line", "id", "column", "message"]);
    header.map_err(|e| e.to_string())?;
    for r in rejected {
        w.write_record([
            r.line.to_string().as_str(),
            &r.id,
            r.column.as_deref().unwrap_or(""),
            &r.message,
        ])
        .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema {
            fields: [
                ("email", "text"),
                ("stage", "stage"),
                ("tags", "tags"),
                ("company_size", "number"),
                ("vip", "bool"),
                ("signed_up_at", "time"),
            ]
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
            timezone: Some("Asia/Ho_Chi_Minh".into()),
        }
    }

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn header_names_fold_case_and_spaces_and_the_id_column_is_not_a_field() {
        let plan = plan_columns(
            &headers(&["\u{feff}ID", "Company Size", "email"]),
            &schema(),
            false,
        )
        .expect("plan");
        assert_eq!(plan.id_column, 0);
        assert_eq!(plan.columns[0], None);
        assert_eq!(
            plan.columns[1],
            Some(("company_size".into(), "number".into()))
        );
        assert_eq!(plan.columns[2], Some(("email".into(), "text".into())));
    }

    #[test]
    fn without_an_id_column_the_email_is_the_id_and_stays_a_field() {
        let plan = plan_columns(&headers(&["email", "vip"]), &schema(), false).expect("plan");
        assert_eq!(plan.id_column, 0);
        assert_eq!(plan.columns[0], Some(("email".into(), "text".into())));
    }

    #[test]
    fn unknown_columns_are_named_or_skipped_on_request() {
        let e = plan_columns(&headers(&["id", "zalo", "ghi chú"]), &schema(), false)
            .expect_err("refused");
        assert!(e.contains("`zalo`, `ghi chú`"), "{e}");
        let plan = plan_columns(&headers(&["id", "zalo"]), &schema(), true).expect("plan");
        assert_eq!(plan.skipped, vec!["zalo".to_string()]);
        let e = plan_columns(&headers(&["name"]), &schema(), false).expect_err("no id");
        assert!(e.contains("no `id` column"), "{e}");
        let e = plan_columns(&headers(&["id", "vip", "VIP"]), &schema(), false).expect_err("twice");
        assert!(e.contains("`vip`"), "{e}");
    }

    #[test]
    fn cells_take_their_field_types() {
        let tz = Some("Asia/Ho_Chi_Minh");
        assert_eq!(cell_value("number", " 350 ", tz), Ok(Some(json!(350.0))));
        assert!(cell_value("number", "1.234,5", tz).is_err());
        assert!(cell_value("number", "NaN", tz).is_err());
        assert!(field_cell("email", "text", "an@saoviet.vn", tz).is_ok());
        for bad in ["an", "an@", "an @saoviet.vn", "An <an@saoviet.vn>"] {
            let err = field_cell("email", "text", bad, tz).expect_err(bad);
            assert!(err.contains("is not an email address"), "{err}");
        }
        // Only the `email` field is an address.
        assert!(field_cell("name", "text", "an", tz).is_ok());
        assert_eq!(cell_value("bool", "Có", tz), Ok(Some(json!(true))));
        assert_eq!(cell_value("bool", "không", tz), Ok(Some(json!(false))));
        assert!(cell_value("bool", "maybe", tz).is_err());
        assert_eq!(cell_value("text", "  ", tz), Ok(None));
        assert_eq!(
            cell_value("tags", "vip; hà nội,,webinar", tz),
            Ok(Some(json!(["vip", "hà nội", "webinar"])))
        );
    }

    #[test]
    fn times_without_an_offset_are_read_in_the_program_zone() {
        let tz = Some("Asia/Ho_Chi_Minh");
        let t = |s: &str| cell_value("time", s, tz);
        assert_eq!(t("2026-01-05"), Ok(Some(json!("2026-01-04T17:00:00Z"))));
        assert_eq!(
            t("2026-01-05 09:30"),
            Ok(Some(json!("2026-01-05T02:30:00Z")))
        );
        assert_eq!(t("05/01/2026"), Ok(Some(json!("2026-01-04T17:00:00Z"))));
        assert_eq!(
            t("2026-01-05T09:00:00.75+07:00"),
            Ok(Some(json!("2026-01-05T02:00:00Z")))
        );
        assert_eq!(
            t("2026-01-05 9:30"),
            Ok(Some(json!("2026-01-05T02:30:00Z"))),
            "a one-digit hour, as the language writes 9:00"
        );
        assert_eq!(
            t("05/01/2026 9:30:15"),
            Ok(Some(json!("2026-01-05T02:30:15Z")))
        );
        assert_eq!(
            t("2026-01-05T09:30"),
            Ok(Some(json!("2026-01-05T02:30:00Z")))
        );
        assert!(t("next monday").is_err());
        assert!(t("31/02/2026").is_err());
        assert!(t("2026-01-05 9:3").is_err());
        assert!(t("2026-01-05 24:00").is_err());
        assert!(t("2026-01-05 9:30 sáng").is_err());
    }

    #[test]
    fn the_separator_is_guessed_from_the_header() {
        assert_eq!(guess_delimiter("id;email;company_size"), b';');
        assert_eq!(guess_delimiter("id,email"), b',');
        assert_eq!(guess_delimiter("id\temail"), b'\t');
        assert_eq!(guess_delimiter("id"), b',');
    }

    #[test]
    fn a_bad_cell_names_its_column_and_a_short_row_is_refused() {
        let plan = plan_columns(&headers(&["id", "company_size"]), &schema(), false).expect("plan");
        let rec = csv::StringRecord::from(vec!["an", "nhiều"]);
        let e = convert(&rec, &plan, None, 2).expect_err("bad number");
        assert_eq!(
            (e.id.as_str(), e.column.as_deref(), e.line),
            ("an", Some("company_size"), 2)
        );
        assert!(
            e.message.contains("`nhiều` is not a number"),
            "{}",
            e.message
        );
        let rec = csv::StringRecord::from(vec!["an"]);
        assert!(convert(&rec, &plan, None, 3).is_err());
        let rec = csv::StringRecord::from(vec!["an", "12"]);
        let row = convert(&rec, &plan, None, 4).expect("row");
        assert_eq!(row.fields.get("company_size"), Some(&json!(12.0)));
        // The email column (here also the id) must hold an address.
        let plan =
            plan_columns(&headers(&["email", "company_size"]), &schema(), false).expect("plan");
        let rec = csv::StringRecord::from(vec!["an.saoviet.vn", "12"]);
        let e = convert(&rec, &plan, None, 5).expect_err("not an address");
        assert_eq!(e.column.as_deref(), Some("email"));
        assert!(
            e.message.contains("is not an email address"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_negative_zero_is_zero() {
        for cell in ["-0", "-0.0", " -0.00 ", "-0e3"] {
            let v = cell_value("number", cell, None)
                .expect(cell)
                .expect("a value");
            assert_eq!(v.to_string(), "0.0", "{cell}");
            assert!(v.as_f64().is_some_and(f64::is_sign_positive), "{cell}");
        }
        // Written as numbers of the lead, through the whole row.
        let plan = plan_columns(&headers(&["id", "company_size"]), &schema(), false).expect("plan");
        let rec = csv::StringRecord::from(vec!["an", "-0.0"]);
        let row = convert(&rec, &plan, None, 2).expect("row");
        let body = serde_json::to_string(&row.fields).expect("json");
        assert_eq!(body, r#"{"company_size":0.0}"#);
        assert_eq!(cell_value("number", "-1.5", None), Ok(Some(json!(-1.5))));
    }

    #[test]
    fn a_hubspot_export_is_mapped_by_the_preset_and_by_hand() {
        let s = Schema {
            fields: [
                ("email", "text"),
                ("name", "text"),
                ("phone", "text"),
                ("company", "text"),
                ("company_size", "number"),
                ("city", "text"),
            ]
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
            timezone: None,
        };
        let h = headers(&[
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Company Name",
            "City",
            "Số nhân sự",
            "Lifecycle Stage",
        ]);
        // Without a mapping the unknown columns are named.
        let e = plan_mapped(&h, &s, &[], Some(Preset::Hubspot), false).expect_err("unknown");
        assert!(
            e.contains("`Record ID`, `Số nhân sự`, `Lifecycle Stage`"),
            "{e}"
        );
        let maps = [import_map::parse("Số nhân sự=company_size", "--map").expect("map")];
        let plan = plan_mapped(&h, &s, &maps, Some(Preset::Hubspot), true).expect("plan");
        assert_eq!(plan.id_column, 3, "the email is the lead id");
        assert_eq!(plan.skipped, ["Record ID", "Lifecycle Stage"]);
        let rec = csv::StringRecord::from(vec![
            "901",
            "An",
            "Nguyễn",
            "an@saoviet.vn",
            "0909 123 456",
            "Sao Việt",
            "Hà Nội",
            "-0",
            "lead",
        ]);
        let row = convert(&rec, &plan, None, 2).expect("row");
        assert_eq!(row.id, "an@saoviet.vn");
        assert_eq!(
            serde_json::to_value(&row.fields).expect("json"),
            json!({"email": "an@saoviet.vn", "city": "Hà Nội", "company_size": 0.0,
                   "name": "An Nguyễn", "phone": "0909 123 456", "company": "Sao Việt"})
        );
        // An empty part is left out of the join; a bad mapped cell names its column.
        let rec = csv::StringRecord::from(vec![
            "902",
            "",
            "Bình",
            "binh@x.vn",
            "",
            "",
            "",
            "nhiều",
            "",
        ]);
        let e = convert(&rec, &plan, None, 3).expect_err("not a number");
        assert_eq!(e.column.as_deref(), Some("company_size"));
        assert!(
            e.message
                .starts_with("column `Số nhân sự`: `nhiều` is not a number"),
            "{}",
            e.message
        );
        let rec = csv::StringRecord::from(vec!["902", "", "Bình", "binh@x.vn", "", "", "", "", ""]);
        let row = convert(&rec, &plan, None, 3).expect("row");
        assert_eq!(row.fields.get("name"), Some(&json!("Bình")));

        // `Record ID=id` makes the CRM's id the lead id; the email stays a field.
        let maps = [import_map::parse("Record ID=id", "--map").expect("map")];
        let plan = plan_mapped(&h, &s, &maps, Some(Preset::Hubspot), true).expect("plan");
        assert_eq!(plan.id_column, 0);
        // A mapping and a column of the field's own name both setting it is refused.
        let maps = [import_map::parse("Company Name=city", "--map").expect("map")];
        let e = plan_mapped(&h, &s, &maps, None, true).expect_err("twice");
        assert!(e.contains("two columns set the field `city`"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn any_cell_of_any_type_converts_or_is_refused_without_panicking(
            cell in "\\PC{0,24}",
            ty in proptest::sample::select(vec!["text", "number", "bool", "time", "stage", "tags"]),
        ) {
            let _ = cell_value(ty, &cell, Some("Asia/Ho_Chi_Minh"));
        }

        #[test]
        fn numbers_written_plainly_come_back_exactly(x in -1e12f64..1e12) {
            let written = format!("{x}");
            proptest::prop_assert_eq!(cell_value("number", &written, None), Ok(Some(json!(x))));
        }
    }

    #[test]
    fn the_error_report_is_csv() {
        let out = errors_csv(&[RowError {
            line: 3,
            id: "an".into(),
            column: Some("vip".into()),
            message: "`x, y` is not yes/no".into(),
        }])
        .expect("csv");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "line,id,column,message\n3,an,vip,\"`x, y` is not yes/no\"\n"
        );
    }
}
