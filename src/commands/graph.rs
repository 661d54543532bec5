//! `tandem graph`: a journey's steps as DOT, Mermaid or SVG.

use super::*;

pub(crate) fn graph(
    dir: &std::path::Path,
    only: Option<&str>,
    format: GraphFormat,
    out: Option<&std::path::Path>,
) -> ExitCode {
    use compiler::diagram;
    let program = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let lowered = program.lowered();
    let names: Vec<&str> = lowered.journeys.iter().map(|j| j.name.as_str()).collect();
    let chosen: Vec<usize> = match only {
        Some(name) => match names.iter().position(|n| *n == name) {
            Some(i) => vec![i],
            None => {
                return fail(format!(
                    "no journey `{name}` in {} (journeys: {})",
                    dir.display(),
                    names.join(", ")
                ))
            }
        },
        None => (0..names.len()).collect(),
    };
    if chosen.is_empty() {
        return fail(format!("{} has no journeys", dir.display()));
    }
    if matches!(format, GraphFormat::Svg) && chosen.len() > 1 && out.is_none() {
        return fail(
            "several journeys as SVG: name one journey, or pass --out DIR for one file each".into(),
        );
    }
    let ext = match format {
        GraphFormat::Svg => "svg",
        GraphFormat::Dot => "dot",
        GraphFormat::Mermaid => "mmd",
    };
    let mut stdout = String::new();
    for j in chosen {
        let Some(d) = diagram::journey(lowered, program.workspace(), j) else {
            continue;
        };
        let text = match format {
            GraphFormat::Svg => match diagram::to_svg(&d, None) {
                Ok(svg) => svg,
                Err(e) => return fail(format!("journey `{}`: {e}", d.journey)),
            },
            GraphFormat::Dot => diagram::to_dot(&d, None),
            GraphFormat::Mermaid => format!(
                "%% journey {}\n{}",
                d.journey,
                diagram::to_mermaid(&d, None)
            ),
        };
        match out {
            Some(folder) => {
                let path = folder.join(format!("{}.{ext}", d.journey));
                let written =
                    std::fs::create_dir_all(folder).and_then(|()| std::fs::write(&path, text));
                if let Err(e) = written {
                    return fail(format!("{}: {e}", path.display()));
                }
                println!("{}", path.display());
            }
            None => {
                if !stdout.is_empty() {
                    stdout.push('\n');
                }
                stdout.push_str(&text);
            }
        }
    }
    // Written at once: a closed pipe (`| head`) is an exit code, not a panic.
    if std::io::stdout()
        .lock()
        .write_all(stdout.as_bytes())
        .is_err()
    {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
