//! Shared by the benchmark examples: reads the `journeys/` example program from disk.

use compiler::{ProgramSource, SourceText};

/// The `journeys/` folder's `.journey` files and templates.
pub fn journeys() -> ProgramSource {
    load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../journeys"))
}

fn load(dir: &std::path::Path) -> ProgramSource {
    let mut source = ProgramSource::default();
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "journey") {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            source.journeys.push(SourceText {
                path: name,
                text: read(&p),
            });
        }
    }
    for e in std::fs::read_dir(dir.join("templates"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = e.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        source.templates.push(SourceText {
            path: format!("templates/{name}"),
            text: read(&p),
        });
    }
    source
}
