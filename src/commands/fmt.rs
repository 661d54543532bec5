//! `tandem fmt`: the program's files in the one layout, or a check that they are.

use super::*;

pub(crate) fn fmt(dir: &std::path::Path, check_only: bool) -> ExitCode {
    let source = match load::load_program(dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut unformatted = Vec::new();
    let mut broken = false;
    for file in &source.journeys {
        match grammar::format::format_source(&file.text) {
            Ok(formatted) => {
                if formatted != file.text {
                    unformatted.push(file.path.clone());
                    if !check_only {
                        let path = dir.join(&file.path);
                        if let Err(e) = std::fs::write(&path, formatted) {
                            eprintln!("error: {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                }
            }
            Err(count) => {
                eprintln!(
                    "error: {}: has {count} syntax error(s); run `tandem check` and fix them first (the file was left as it is)",
                    dir.join(&file.path).display()
                );
                broken = true;
            }
        }
    }
    for path in &unformatted {
        let verb = if check_only {
            "would reformat"
        } else {
            "reformatted"
        };
        println!("{verb} {}", dir.join(path).display());
    }
    if broken || (check_only && !unformatted.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
