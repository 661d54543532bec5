//! `tandem import`: a CSV of leads through the running service's API.

use super::*;

/// `--preset`: whose export the file is.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum PresetArg {
    /// HubSpot's contacts export
    Hubspot,
    /// Salesforce's contacts report export
    Salesforce,
}

pub(crate) fn import(args: ImportArgs) -> ExitCode {
    use tandem::import::{errors_csv, import, ImportOptions};
    use tandem::import_map::{self, Preset};
    let ImportArgs {
        file,
        url,
        token,
        batch,
        delimiter,
        errors,
        ignore_unknown_columns,
        maps: map_args,
        map_file,
        preset,
    } = args;
    // The mappings are read before anything else: a typo is named at once.
    let mut maps = Vec::new();
    for m in &map_args {
        match import_map::parse(m, "--map") {
            Ok(m) => maps.push(m),
            Err(e) => return fail(e),
        }
    }
    if let Some(path) = &map_file {
        match import_map::read_file(path) {
            Ok(more) => maps.extend(more),
            Err(e) => return fail(e),
        }
    }
    let preset = preset.map(|p| match p {
        PresetArg::Hubspot => Preset::Hubspot,
        PresetArg::Salesforce => Preset::Salesforce,
    });
    let token = token
        .or_else(|| std::env::var("TANDEM_TOKEN").ok())
        .or_else(|| {
            std::fs::read_to_string("tandem.token")
                .ok()
                .map(|t| t.trim().to_owned())
        });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        eprintln!("error: no API token: pass --token, set TANDEM_TOKEN, or run where `tandem run` wrote tandem.token");
        return ExitCode::from(2);
    };
    let delimiter = match delimiter.map(u8::try_from) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            eprintln!("error: --delimiter must be one ASCII character");
            return ExitCode::from(2);
        }
    };
    let opts = ImportOptions {
        file: file.clone(),
        url: url.trim_end_matches('/').to_owned(),
        token,
        batch: usize::from(batch),
        delimiter,
        ignore_unknown_columns,
        maps,
        preset,
    };
    let report = match import(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if !report.mapped_columns.is_empty() {
        let shown: Vec<String> = report
            .mapped_columns
            .iter()
            .map(|(header, field)| format!("`{header}` → {field}"))
            .collect();
        eprintln!("mapped columns: {}", shown.join(", "));
    }
    if !report.skipped_columns.is_empty() {
        eprintln!(
            "skipped columns that are not lead fields: {}",
            report.skipped_columns.join(", ")
        );
    }
    println!(
        "{}: {} rows, {} imported, {} rejected",
        file.display(),
        report.rows,
        report.imported,
        report.rejected.len()
    );
    const SHOWN: usize = 20;
    for r in report.rejected.iter().take(SHOWN) {
        let column = r
            .column
            .as_deref()
            .map(|c| format!(" `{c}`"))
            .unwrap_or_default();
        let id = if r.id.is_empty() {
            String::new()
        } else {
            format!(" (lead `{}`)", r.id)
        };
        eprintln!("  line {}{id}{column}: {}", r.line, r.message);
    }
    if report.rejected.len() > SHOWN {
        eprintln!(
            "  … and {} more{}",
            report.rejected.len() - SHOWN,
            if errors.is_some() {
                ""
            } else {
                " (pass --errors FILE for all of them)"
            }
        );
    }
    if let Some(path) = errors {
        let written = errors_csv(&report.rejected)
            .and_then(|bytes| std::fs::write(&path, bytes).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
