//! Shared by the benchmark examples: reads the `journeys/` example program from disk.

use compiler::ProgramSource;

/// The `journeys/` folder's `.journey` files and templates.
pub fn journeys() -> ProgramSource {
    load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../journeys"))
}

fn load(dir: &std::path::Path) -> ProgramSource {
    source::load_dir(dir).unwrap_or_default()
}
