//! One writer per SQLite store, and private files: `tandem run` holds an exclusive lock beside its store for the life of the process (a second one is refused, naming the holder), and the store, its journal files, the token and the secret are readable by their owner only.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock on a store; released when dropped (or when the process dies, however it dies).
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `tandem.db` → `tandem.db.lock`.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the store's writer lock, before anything of the store is read or written. The
/// lock is an OS file lock (`flock`), so a process killed with SIGKILL leaves no stale
/// lock behind. The error names the store and who holds it.
pub fn lock_store(store: &Path) -> Result<StoreLock, String> {
    let path = lock_path(store);
    let mut file = private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(format!(
                "the store {} is in use by another `tandem run`{}; stop that one first, or give this one another `store`",
                store.display(),
                if holder.is_empty() {
                    String::new()
                } else {
                    format!(" ({holder})")
                }
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()))
        }
    }
    let holder = format!(
        "pid {} on {}, since {}",
        std::process::id(),
        host_name(),
        jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(holder.as_bytes()))
        .and_then(|()| file.flush());
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write the lock holder into {}", path.display());
    }
    Ok(StoreLock { _file: file, path })
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".into())
}

/// Options that create a file readable by its owner only.
pub fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Makes an existing file readable by its owner only (a file created by an older version
/// or by hand with wider rights is tightened); `Ok` when it does not exist. Refuses, with
/// the path and the reason, when the rights cannot be changed.
pub fn make_private(path: &Path) -> Result<(), String> {
    if tighten(path)? {
        tracing::warn!(file = %path.display(), "made private (it was readable by other users)");
    }
    Ok(())
}

/// Makes a file owner-only; whether it had to (its rights were wider).
pub fn tighten(path: &Path) -> Result<bool, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(false);
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                format!(
                    "{} can be read by other users (mode {:o}) and cannot be made private: {e}; run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                )
            })?;
            return Ok(true);
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(false)
}

/// Creates the SQLite store file (and tightens it and its journal files) so lead data is
/// readable by its owner only; SQLite gives the journal files the database file's rights.
pub fn private_store(store: &Path) -> Result<(), String> {
    if !store.exists() {
        private_options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(store)
            .map_err(|e| format!("cannot create the store {}: {e}", store.display()))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = store.as_os_str().to_owned();
        name.push(suffix);
        make_private(Path::new(&name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holder_named() {
        let dir = std::env::temp_dir().join(format!("tandem-guard-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let store = dir.join("tandem.db");
        let first = lock_store(&store).expect("the first writer locks");
        let second = lock_store(&store).expect_err("the second is refused");
        assert!(
            second.contains("tandem.db") && second.contains(&format!("pid {}", std::process::id())),
            "{second}"
        );
        drop(first);
        assert!(lock_store(&store).is_ok(), "released with the first");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn wide_files_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tandem-private-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("tandem.token");
        std::fs::write(&f, "x").expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        make_private(&f).expect("tightened");
        let mode = std::fs::metadata(&f).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let store = dir.join("new.db");
        private_store(&store).expect("created");
        let mode = std::fs::metadata(&store)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
