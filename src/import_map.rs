//! Column mappings for `tandem import`: `--map "First Name+Last Name=name"`, a mapping file of such lines (`--map-file`), and the HubSpot and Salesforce presets (`--preset`), which put a CRM export's headers onto the program's lead fields so the export imports as it is.
//!
//! Resolving a mapping against a file's header row and the program's schema is pure and
//! unit-tested here; [`crate::import::plan_mapped`] turns the result into a column plan.

use std::path::Path;

use crate::import::{bare, folded, Schema};

/// One mapping: the file's column (or columns joined with a space) and the field it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMap {
    /// The columns as written before `=`: one header, or headers joined by `+`.
    pub source: String,
    /// The lead field it sets, or `id` for the lead id.
    pub field: String,
    /// Where the mapping was written, for messages (`--map`, `mapping.txt line 3`).
    pub origin: String,
}

impl ColumnMap {
    /// `origin `source=field``, as messages name a mapping.
    fn named(&self) -> String {
        format!("{} `{}={}`", self.origin, self.source, self.field)
    }
}

/// Reads `HEADER=FIELD` (or `HEADER+HEADER=FIELD`); `origin` says where it was written.
pub fn parse(text: &str, origin: &str) -> Result<ColumnMap, String> {
    let unquote = |s: &str| {
        let s = s.trim();
        s.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(s)
            .trim()
            .to_owned()
    };
    // Field names have no `=`: the last one separates, so a header may hold one.
    match text.rsplit_once('=') {
        Some((source, field)) if !unquote(source).is_empty() && !unquote(field).is_empty() => {
            Ok(ColumnMap {
                source: unquote(source),
                field: unquote(field),
                origin: origin.to_owned(),
            })
        }
        _ => Err(format!(
            "{origin} `{}`: write HEADER=FIELD, such as `First Name=name` (or `First Name+Last Name=name` to join columns with a space)",
            text.trim()
        )),
    }
}

/// A mapping file: one `HEADER=FIELD` a line; blank lines and lines starting with `#`
/// are skipped. Errors name the file and the line.
pub fn read_file(path: &Path) -> Result<Vec<ColumnMap>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut maps = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        maps.push(parse(line, &format!("{} line {}", path.display(), n + 1))?);
    }
    Ok(maps)
}

/// A CRM's contact export, as its headers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// HubSpot's contacts export (`Record ID`, `First Name`, `Email`, `Phone Number`, …).
    Hubspot,
    /// Salesforce's contacts report export (`Contact ID`, `First Name`, `Account Name`, …).
    Salesforce,
}

/// One preset entry: the headers (joined with a space when several) and the fields they
/// may set, in order of preference.
type Entry = (&'static [&'static str], &'static [&'static str]);

const HUBSPOT: &[Entry] = &[
    (&["Record ID"], &["hubspot_id", "record_id", "crm_id"]),
    (&["First Name", "Last Name"], &["name", "full_name"]),
    (&["First Name"], &["first_name"]),
    (&["Last Name"], &["last_name"]),
    (&["Email"], &["email"]),
    (&["Phone Number"], &["phone", "phone_number"]),
    (&["Mobile Phone Number"], &["mobile", "mobile_phone"]),
    (&["Company Name"], &["company", "company_name"]),
    (&["Job Title"], &["title", "job_title"]),
    (&["City"], &["city"]),
    (&["Country/Region"], &["country"]),
    (&["Industry"], &["industry"]),
    (
        &["Number of Employees"],
        &["company_size", "employees", "number_of_employees"],
    ),
    (&["Annual Revenue"], &["annual_revenue", "revenue"]),
    (&["Website URL"], &["website"]),
    // `created_at` is when Tandem first saw the lead (read-only): the CRM's date goes to a field of its own.
    (&["Create Date"], &["crm_created_at", "create_date"]),
    (&["Lifecycle Stage"], &["lifecycle_stage"]),
    (&["Lead Status"], &["lead_status"]),
    (&["Original Source"], &["source", "original_source"]),
];

const SALESFORCE: &[Entry] = &[
    (&["Contact ID"], &["salesforce_id", "contact_id", "crm_id"]),
    (&["First Name", "Last Name"], &["name", "full_name"]),
    (&["First Name"], &["first_name"]),
    (&["Last Name"], &["last_name"]),
    (&["Email"], &["email"]),
    (&["Phone"], &["phone"]),
    (&["Mobile"], &["mobile", "mobile_phone"]),
    (&["Account Name"], &["company", "company_name", "account"]),
    (&["Title"], &["title", "job_title"]),
    (&["Department"], &["department"]),
    (&["Mailing City"], &["city"]),
    (&["Mailing Country"], &["country"]),
    (&["Industry"], &["industry"]),
    (&["Employees"], &["company_size", "employees"]),
    (&["Annual Revenue"], &["annual_revenue", "revenue"]),
    (&["Created Date"], &["crm_created_at", "created_date"]),
    (&["Lead Source"], &["source", "lead_source"]),
];

impl Preset {
    /// The preset's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Hubspot => "hubspot",
            Preset::Salesforce => "salesforce",
        }
    }

    fn entries(self) -> &'static [Entry] {
        match self {
            Preset::Hubspot => HUBSPOT,
            Preset::Salesforce => SALESFORCE,
        }
    }
}

/// A field set from mapped columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The field and its type.
    pub field: String,
    pub ty: String,
    /// The columns, joined with a space when several (empty cells left out).
    pub from: Vec<usize>,
    /// The headers as the file writes them, joined by `+` (for messages).
    pub header: String,
}

/// The explicit mappings resolved against a file's header row.
#[derive(Debug, Default, PartialEq)]
pub struct Resolved {
    /// Fields set from mapped columns.
    pub mapped: Vec<Mapped>,
    /// The column mapped to `id`, if one is.
    pub id: Option<usize>,
    /// Per column: whether a mapping took it (it is then not matched by its own name).
    pub claimed: Vec<bool>,
}

/// The column whose header is `name`: as written, else with case, spaces and dashes folded.
pub fn find_column(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| bare(h) == name.trim())
        .or_else(|| headers.iter().position(|h| folded(h) == folded(name)))
}

/// The columns a mapping's source names: the whole text as one header, else its
/// `+`-separated parts; the error names the first header the file lacks.
fn columns_of(headers: &[String], m: &ColumnMap) -> Result<Vec<usize>, String> {
    if let Some(i) = find_column(headers, &m.source) {
        return Ok(vec![i]);
    }
    let mut out = Vec::new();
    for part in m.source.split('+').map(str::trim) {
        match find_column(headers, part).filter(|_| !part.is_empty()) {
            Some(i) => out.push(i),
            None => {
                let columns: Vec<&str> = headers.iter().map(|h| bare(h)).collect();
                return Err(format!(
                    "{}: the file has no column `{part}` (its columns: {})",
                    m.named(),
                    columns.join(", ")
                ));
            }
        }
    }
    Ok(out)
}

fn header_of(headers: &[String], from: &[usize]) -> String {
    from.iter()
        .map(|&i| bare(headers.get(i).map_or("", String::as_str)).to_owned())
        .collect::<Vec<_>>()
        .join("+")
}

/// Resolves `--map` / `--map-file` mappings: each names columns the file has and a field
/// the program's lead has (or `id`); joined columns make a text, so only a text field
/// takes them; no field is set twice.
pub fn resolve(
    headers: &[String],
    schema: &Schema,
    maps: &[ColumnMap],
) -> Result<Resolved, String> {
    let mut out = Resolved {
        claimed: vec![false; headers.len()],
        ..Resolved::default()
    };
    let mut id_by: Option<&ColumnMap> = None;
    for m in maps {
        let from = columns_of(headers, m)?;
        if m.field == "id" {
            if from.len() != 1 {
                return Err(format!(
                    "{}: the lead id comes from one column, not several joined",
                    m.named()
                ));
            }
            if let Some(first) = id_by {
                return Err(format!(
                    "{} and {} both set the lead id",
                    first.named(),
                    m.named()
                ));
            }
            id_by = Some(m);
            out.id = Some(from[0]);
            out.claimed[from[0]] = true;
            continue;
        }
        let Some((field, ty)) = schema.fields.iter().find(|(n, _)| *n == m.field) else {
            let known: Vec<&str> = schema.fields.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "{}: the program's lead has no field `{}` (fields: {}; `id` is the lead id)",
                m.named(),
                m.field,
                known.join(", ")
            ));
        };
        if from.len() > 1 && ty != "text" {
            return Err(format!(
                "{}: joined columns make a text, and `{field}` is a {ty} field; map one column to it",
                m.named()
            ));
        }
        if let Some(first) = out.mapped.iter().find(|x| x.field == *field) {
            return Err(format!(
                "the columns `{}` and `{}` both set the field `{field}` ({})",
                first.header,
                header_of(headers, &from),
                m.named()
            ));
        }
        for &i in &from {
            out.claimed[i] = true;
        }
        out.mapped.push(Mapped {
            field: field.clone(),
            ty: ty.clone(),
            header: header_of(headers, &from),
            from,
        });
    }
    Ok(out)
}

/// The preset's entries that apply to this file and program: every header of the entry
/// is in the file and not taken by an explicit mapping, and one of its fields is in the
/// program and not set yet (`set` says which are). The first such field is taken.
pub fn preset_mappings(
    preset: Preset,
    headers: &[String],
    schema: &Schema,
    claimed: &[bool],
    set: &mut Vec<String>,
) -> Vec<Mapped> {
    let mut out = Vec::new();
    for (names, fields) in preset.entries() {
        let from: Option<Vec<usize>> = names
            .iter()
            .map(|n| find_column(headers, n).filter(|&i| !claimed.get(i).copied().unwrap_or(true)))
            .collect();
        let Some(from) = from else { continue };
        let target = fields.iter().find_map(|f| {
            schema
                .fields
                .iter()
                .find(|(n, ty)| n == f && (from.len() == 1 || ty == "text"))
                .filter(|(n, _)| !set.contains(n))
        });
        let Some((field, ty)) = target else { continue };
        set.push(field.clone());
        out.push(Mapped {
            field: field.clone(),
            ty: ty.clone(),
            header: header_of(headers, &from),
            from,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: &[(&str, &str)]) -> Schema {
        Schema {
            fields: fields
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            timezone: None,
        }
    }

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_mapping_is_header_equals_field_and_quotes_are_dropped() {
        let m = parse("\"First Name\" = name", "--map").expect("parses");
        assert_eq!(
            (m.source.as_str(), m.field.as_str()),
            ("First Name", "name")
        );
        let m = parse("a=b=c", "--map").expect("the last `=` separates");
        assert_eq!((m.source.as_str(), m.field.as_str()), ("a=b", "c"));
        for bad in ["name", "=name", "First Name=", " = "] {
            let e = parse(bad, "--map").expect_err(bad);
            assert!(e.contains("write HEADER=FIELD"), "{e}");
        }
    }

    #[test]
    fn a_mapping_file_skips_comments_and_names_its_bad_line() {
        let dir = std::env::temp_dir().join(format!("tandem-map-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("mapping.txt");
        std::fs::write(
            &path,
            "# HubSpot\n\nFirst Name+Last Name=name\nSố nhân sự=company_size\n",
        )
        .expect("write");
        let maps = read_file(&path).expect("reads");
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1].source, "Số nhân sự");
        assert!(
            maps[0].origin.ends_with("mapping.txt line 3"),
            "{}",
            maps[0].origin
        );
        std::fs::write(&path, "Email=email\nPhone\n").expect("write");
        let e = read_file(&path).expect_err("line 2");
        assert!(e.contains("mapping.txt line 2 `Phone`"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn mappings_name_the_missing_field_or_column() {
        let s = schema(&[("name", "text"), ("company_size", "number")]);
        let h = headers(&["Email", "First Name", "Last Name", "Employees"]);
        let map = |t: &str| parse(t, "--map").expect("parses");

        let e = resolve(&h, &s, &[map("First Name=fullname")]).expect_err("no such field");
        assert!(
            e.contains("`First Name=fullname`") && e.contains("no field `fullname`"),
            "{e}"
        );
        let e = resolve(&h, &s, &[map("Họ tên=name")]).expect_err("no such column");
        assert!(
            e.contains("`Họ tên=name`") && e.contains("no column `Họ tên`"),
            "{e}"
        );
        let e = resolve(&h, &s, &[map("First Name+Middle Name=name")]).expect_err("one missing");
        assert!(e.contains("no column `Middle Name`"), "{e}");
        let e = resolve(&h, &s, &[map("First Name+Employees=company_size")])
            .expect_err("joined into a number");
        assert!(e.contains("`company_size` is a number field"), "{e}");
        let e =
            resolve(&h, &s, &[map("First Name=name"), map("Last Name=name")]).expect_err("twice");
        assert!(e.contains("both set the field `name`"), "{e}");

        let r = resolve(
            &h,
            &s,
            &[
                map("first name + LAST NAME=name"),
                map("Employees=company_size"),
            ],
        )
        .expect("resolves");
        assert_eq!(r.mapped[0].from, vec![1, 2]);
        assert_eq!(r.mapped[0].header, "First Name+Last Name");
        assert_eq!(r.claimed, vec![false, true, true, true]);
        let r = resolve(&h, &s, &[map("Email=id")]).expect("the id");
        assert_eq!(r.id, Some(0));
    }

    #[test]
    fn a_preset_maps_only_onto_fields_the_program_has() {
        let h = headers(&[
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Company Name",
            "Job Title",
            "Number of Employees",
        ]);
        let s = schema(&[
            ("email", "text"),
            ("name", "text"),
            ("phone", "text"),
            ("company", "text"),
            ("company_size", "number"),
        ]);
        let mut set = Vec::new();
        let m = preset_mappings(Preset::Hubspot, &h, &s, &[false; 8], &mut set);
        let pairs: Vec<(&str, &str)> = m
            .iter()
            .map(|m| (m.header.as_str(), m.field.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("First Name+Last Name", "name"),
                ("Email", "email"),
                ("Phone Number", "phone"),
                ("Company Name", "company"),
                ("Number of Employees", "company_size"),
            ]
        );
        // A field already set (by the file's own `name` column, say) is left to it; a
        // column an explicit mapping took is not used.
        let mut set = vec!["name".to_string()];
        let mut claimed = [false; 8];
        claimed[4] = true;
        let m = preset_mappings(Preset::Hubspot, &h, &s, &claimed, &mut set);
        assert!(
            m.iter().all(|m| m.field != "name" && m.field != "phone"),
            "{m:?}"
        );
    }
}
