//! A program's files and the one loader that makes them a [`ProgramSource`]: which files of a folder belong to a program is decided here, once, whatever the folder is — the disk ([`DiskFs`], feature `disk`), memory ([`MemoryFs`]) or files compiled into a binary.
//!
//! Pure without the `disk` feature: the compiler depends on it for the types and never
//! reads anything.

use std::fmt;

/// One file of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    /// Path relative to the program folder, with `/` separators.
    pub path: String,
    pub text: String,
}

/// What a program folder holds: `*.journey` files, `templates/*`, and `tandem.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramSource {
    pub journeys: Vec<SourceText>,
    pub templates: Vec<SourceText>,
    pub config: Option<SourceText>,
}

impl ProgramSource {
    /// A program of one `.journey` file (tests, examples, embedding).
    pub fn single(path: impl Into<String>, text: impl Into<String>) -> ProgramSource {
        ProgramSource {
            journeys: vec![SourceText {
                path: path.into(),
                text: text.into(),
            }],
            ..ProgramSource::default()
        }
    }

    /// A program from `(path, text)` pairs, sorted into kinds the way a folder is:
    /// `*.journey` files, `tandem.toml`, and everything else as a template.
    pub fn from_files(files: &[(String, String)]) -> ProgramSource {
        let mut source = ProgramSource::default();
        for (path, text) in files {
            let f = SourceText {
                path: path.clone(),
                text: text.clone(),
            };
            if path.ends_with(".journey") {
                source.journeys.push(f);
            } else if path == "tandem.toml" {
                source.config = Some(f);
            } else {
                source.templates.push(f);
            }
        }
        source
    }

    /// Every file as `(path, text)`, sorted by path (the inverse of [`ProgramSource::from_files`]).
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = self
            .journeys
            .iter()
            .chain(&self.templates)
            .chain(&self.config)
            .map(|f| (f.path.clone(), f.text.clone()))
            .collect();
        files.sort();
        files
    }
}

/// Why a program could not be read: the file (or folder) and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// As the file system names it (a disk path, or a path inside the program).
    pub path: String,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for LoadError {}

/// Where a program's files come from.
pub trait FileSystem {
    /// Every file of the folder, as paths relative to it with `/` separators, in any
    /// order; folders whose name starts with `.` are left out.
    fn files(&self) -> Result<Vec<String>, LoadError>;
    /// A file's bytes.
    fn read(&self, path: &str) -> Result<Vec<u8>, LoadError>;
    /// How an error names a file (a disk path; the path itself in memory).
    fn display(&self, path: &str) -> String {
        path.to_owned()
    }
}

/// The program in a folder: every `*.journey` file at any depth, `templates/*.md` and
/// `templates/*.html`, and `tandem.toml` at the top, each as UTF-8 text, folders walked in
/// name order.
/// A file that is not UTF-8 or a folder without any `.journey` file is an error.
pub fn load(fs: &dyn FileSystem) -> Result<ProgramSource, LoadError> {
    let mut paths = fs.files()?;
    // A folder's entries in name order, each folder's files where its name falls (the
    // order a walk sorted by file name gives).
    paths.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    let mut source = ProgramSource::default();
    for path in paths {
        let kind = if path.ends_with(".journey") {
            Kind::Journey
        } else if path.starts_with("templates/")
            && path.matches('/').count() == 1
            && (path.ends_with(".md") || path.ends_with(".html"))
        {
            Kind::Template
        } else if path == "tandem.toml" {
            Kind::Config
        } else {
            continue;
        };
        let bytes = fs.read(&path)?;
        let text = String::from_utf8(bytes).map_err(|e| LoadError {
            path: fs.display(&path),
            message: format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        let file = SourceText { path, text };
        match kind {
            Kind::Journey => source.journeys.push(file),
            Kind::Template => source.templates.push(file),
            Kind::Config => source.config = Some(file),
        }
    }
    if source.journeys.is_empty() {
        return Err(LoadError {
            path: fs.display(""),
            message: "this folder has no `.journey` files".to_owned(),
        });
    }
    Ok(source)
}

enum Kind {
    Journey,
    Template,
    Config,
}

/// A program folder's files as they are, before [`load`] decides what each is:
/// `(path, text)` pairs. What the service receives, stores with each version and
/// snapshots; [`MemoryFs`] reads them.
pub type Files = Vec<(String, String)>;

/// A folder held in memory: `(path, text)` pairs (a program sent to `POST /api/program`,
/// stored versions, files compiled into a binary, tests).
pub struct MemoryFs<'a> {
    pub files: &'a [(String, String)],
}

impl FileSystem for MemoryFs<'_> {
    fn files(&self) -> Result<Vec<String>, LoadError> {
        Ok(self
            .files
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| !p.split('/').any(|part| part.starts_with('.')))
            .collect())
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        match self.files.iter().find(|(p, _)| p == path) {
            Some((_, text)) => Ok(text.as_bytes().to_vec()),
            None => Err(LoadError {
                path: path.to_owned(),
                message: "no such file".to_owned(),
            }),
        }
    }
}

/// A program folder on the disk.
#[cfg(feature = "disk")]
pub struct DiskFs {
    root: std::path::PathBuf,
}

#[cfg(feature = "disk")]
impl DiskFs {
    pub fn new(root: impl Into<std::path::PathBuf>) -> DiskFs {
        DiskFs { root: root.into() }
    }
}

#[cfg(feature = "disk")]
impl FileSystem for DiskFs {
    fn files(&self) -> Result<Vec<String>, LoadError> {
        if self.root.is_file() {
            let parent = self
                .root
                .parent()
                .map(|p| p.display().to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| ".".to_owned());
            return Err(LoadError {
                path: self.root.display().to_string(),
                message: format!(
                    "this is a file; give the program's folder (the one holding the .journey files, here probably `{parent}`)"
                ),
            });
        }
        if !self.root.is_dir() {
            return Err(LoadError {
                path: self.root.display().to_string(),
                message: "no such folder".to_owned(),
            });
        }
        let walker = walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        let mut out = Vec::new();
        for entry in walker {
            let entry = entry.map_err(|e| LoadError {
                path: e.path().unwrap_or(&self.root).display().to_string(),
                message: e.to_string(),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&self.root)
                .unwrap_or(entry.path());
            out.push(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
        Ok(out)
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        let full = self.root.join(path);
        std::fs::read(&full).map_err(|e| LoadError {
            path: full.display().to_string(),
            message: e.to_string(),
        })
    }
    fn display(&self, path: &str) -> String {
        if path.is_empty() {
            self.root.display().to_string()
        } else {
            self.root.join(path).display().to_string()
        }
    }
}

/// Reads the program folder at `root` from the disk.
#[cfg(feature = "disk")]
pub fn load_dir(root: &std::path::Path) -> Result<ProgramSource, LoadError> {
    load(&DiskFs::new(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect()
    }

    #[test]
    fn a_folder_becomes_journeys_templates_and_config_in_path_order() {
        let f = files(&[
            ("z.journey", "z"),
            ("a/b.journey", "b"),
            ("templates/hi.md", "hi"),
            ("templates/deep/no.md", "no"),
            ("templates/notes.txt", "no"),
            ("tandem.toml", "[webhooks]"),
            ("sub/tandem.toml", "no"),
            (".git/x.journey", "hidden"),
            ("README.md", "no"),
        ]);
        let p = load(&MemoryFs { files: &f }).expect("loads");
        let paths = |v: &[SourceText]| v.iter().map(|s| s.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&p.journeys), ["a/b.journey", "z.journey"]);
        // Name order, a folder where its name falls: `a/…` before `a.journey`.
        let g = files(&[("a.journey", "1"), ("a/b.journey", "2"), ("A.journey", "0")]);
        let q = load(&MemoryFs { files: &g }).expect("loads");
        assert_eq!(
            paths(&q.journeys),
            ["A.journey", "a/b.journey", "a.journey"]
        );
        assert_eq!(paths(&p.templates), ["templates/hi.md"]);
        assert_eq!(p.config.map(|c| c.text).as_deref(), Some("[webhooks]"));
    }

    #[test]
    fn no_journey_or_bad_text_is_an_error_naming_the_file() {
        let none = files(&[("templates/hi.md", "hi")]);
        let e = load(&MemoryFs { files: &none }).expect_err("no journey");
        assert!(e.message.contains("no `.journey` files"), "{e}");
        struct Bad;
        impl FileSystem for Bad {
            fn files(&self) -> Result<Vec<String>, LoadError> {
                Ok(vec!["x.journey".into()])
            }
            fn read(&self, _: &str) -> Result<Vec<u8>, LoadError> {
                Ok(vec![b'a', 0xff])
            }
        }
        let e = load(&Bad).expect_err("not UTF-8");
        assert_eq!(e.path, "x.journey");
        assert!(e.message.contains("offset 1"), "{e}");
    }
}
