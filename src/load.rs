//! The CLI's door to the one program loader (`source::load` over the disk): the folder `tandem check`, `simulate`, `test`, `run` and the language server are given.

use std::path::Path;

pub use source::LoadError;

/// Loads the program in `root`. A missing folder, an unreadable file or a folder without
/// any `.journey` file is an error (exit code 2).
pub fn load_program(root: &Path) -> Result<compiler::ProgramSource, LoadError> {
    source::load_dir(root)
}
