//! Reads a program folder from disk: every `*.journey` file under it, `templates/*.md|html`, and `tandem.toml`.

use std::path::{Path, PathBuf};

use compiler::{ProgramSource, SourceText};

/// Why a program folder could not be read (exit code 2).
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

fn read(path: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| LoadError {
        path: path.to_owned(),
        message: format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Loads the program in `root`. A missing folder, an unreadable file or a
/// folder without any `.journey` file is an error.
pub fn load_program(root: &Path) -> Result<ProgramSource, LoadError> {
    if !root.is_dir() {
        return Err(LoadError {
            path: root.to_owned(),
            message: "no such folder".to_owned(),
        });
    }
    let mut source = ProgramSource::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| LoadError {
            path: e
                .path()
                .map(Path::to_owned)
                .unwrap_or_else(|| root.to_owned()),
            message: e.to_string(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let rel = relative(root, path);
        if rel.ends_with(".journey") {
            source.journeys.push(SourceText {
                text: read(path)?,
                path: rel,
            });
        } else if entry.depth() == 2
            && rel.starts_with("templates/")
            && (rel.ends_with(".md") || rel.ends_with(".html"))
        {
            source.templates.push(SourceText {
                text: read(path)?,
                path: rel,
            });
        } else if rel == "tandem.toml" {
            source.config = Some(SourceText {
                text: read(path)?,
                path: rel,
            });
        }
    }
    if source.journeys.is_empty() {
        return Err(LoadError {
            path: root.to_owned(),
            message: "this folder has no `.journey` files".to_owned(),
        });
    }
    Ok(source)
}
