//! A PostgreSQL server of the test's own — a fresh data folder, a free port, trust auth — that the test may stop, restart and kill without touching the server other tests share.
//!
//! It runs the installed server's binaries (`pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`); as root it runs them as the `postgres` user, since
//! PostgreSQL refuses to run as root.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A server in a temporary folder, stopped and removed when dropped.
pub struct ThrowawayPg {
    dir: PathBuf,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    as_postgres: bool,
}

fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("PostgreSQL's server binaries (initdb, pg_ctl): install the postgresql package")
}

impl ThrowawayPg {
    /// Makes the data folder and starts the server.
    pub fn start(name: &str) -> ThrowawayPg {
        let dir = std::env::temp_dir().join(format!("tandem-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a folder for the server");
        // As root, the server's tools run as `postgres`.
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(
                ok.success(),
                "cannot give {} to the postgres user",
                dir.display()
            );
        }
        let pg = ThrowawayPg {
            dir,
            bin: bindir(),
            port: super::free_port(),
            as_postgres,
        };
        let data = pg.dir.join("data");
        let ok = pg
            .run("initdb")
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(ok.success(), "initdb failed in {}", data.display());
        pg.up();
        pg
    }

    fn run(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it answers.
    pub fn up(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let ok = self
            .run("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(self.dir.join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.join("server.log"))
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(
            ok.success(),
            "the server did not start: see {}",
            self.dir.join("server.log").display()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while postgres::Client::connect(&self.url(), postgres::NoTls).is_err() {
            assert!(Instant::now() < deadline, "the server does not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server the way a restart by an operator does (`-m fast`: every
    /// connection is cut, nothing committed is lost).
    pub fn down(&self) {
        let _ = self
            .run("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(self.dir.join("data"))
            .stdout(Stdio::null())
            .status();
    }
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        let _ = self
            .run("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(self.dir.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
