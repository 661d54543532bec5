//! Real-process fault test of the store's disk: `tandem run` keeps its SQLite store on a small ext4 filesystem the test mounts from a loop device (it needs root, loop devices and e2fsprogs, and fails — never skips — without them). The disk fills up; an operator remounts it read-only; the kernel turns it read-only under the running service. Each time ingest answers 503 with `Retry-After` and a JSON error (never 200, 400 or 404, never a hang), the service exits with code 70 as docs/api.md promises, and after space is freed (or the filesystem repaired) and a restart every acknowledged lead reads back, nothing refused was stored, and `PRAGMA integrity_check` says ok.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::service::*;
use support::{free_port, program_dir};

/// The filesystem's size. With 4 KiB blocks ext4 keeps 4 MiB of it for its journal.
const IMAGE_MIB: u64 = 48;
/// The room left for the store at first: a ballast file takes the rest, and deleting it
/// is "freeing space" — enough for the snapshots a clean stop writes (about as large as
/// the leads' data again) and more ingest.
const FILL_ROOM_MIB: u64 = 6;
/// Leads per ingest request, and the bytes of each one's `name`.
const LEADS_PER_BATCH: usize = 40;
const NAME_BYTES: usize = 8 * 1024;
/// No request may take longer: past it, the service hangs.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent ingest requests sent while the store cannot be written.
const CONCURRENT: usize = 4;

/// Runs a command and returns its output (the test fails if it cannot be started).
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}); this test needs util-linux (mount, findmnt), e2fsprogs (mkfs.ext4, e2fsck) and python3")
        })
}

/// Runs a command that must succeed.
fn must(program: &str, args: &[&str]) {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this process runs as root (only root can mount, and plain file rights do
/// not stop root from writing, so a real read-only filesystem is needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|u| u.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// A small ext4 filesystem on a loop device, mounted with `errors=remount-ro` (as a
/// production filesystem usually is). Unmounted and deleted when dropped, panic or not.
struct Disk {
    dir: PathBuf,
    image: PathBuf,
    mnt: PathBuf,
}

impl Disk {
    fn new(dir: &Path) -> Disk {
        assert!(
            is_root(),
            "this test mounts a filesystem and must run as root (it fails rather than skip)"
        );
        let image = dir.join("disk.img");
        let mnt = dir.join("mnt");
        std::fs::create_dir_all(&mnt).expect("the mount point");
        let disk = Disk {
            dir: dir.to_path_buf(),
            image,
            mnt,
        };
        must(
            "truncate",
            &["-s", &format!("{IMAGE_MIB}M"), disk.image_str()],
        );
        // 4 KiB blocks, as production filesystems have (mkfs picks 1 KiB for one this
        // small). SQLite grows its memory-mapped `-shm` file by writing one byte per
        // 4 KiB page, which reserves the whole page only when a block is that large;
        // with 1 KiB blocks a full disk makes the mapping fault (SIGBUS) instead of
        // SQLite getting "disk full".
        must(
            "mkfs.ext4",
            &[
                "-q",
                "-F",
                "-b",
                "4096",
                "-L",
                "tandem-test",
                disk.image_str(),
            ],
        );
        disk.mount();
        disk
    }

    fn image_str(&self) -> &str {
        self.image.to_str().expect("a UTF-8 temp path")
    }

    fn mnt_str(&self) -> &str {
        self.mnt.to_str().expect("a UTF-8 temp path")
    }

    fn mount(&self) {
        let out = run(
            "mount",
            &[
                "-o",
                "loop,errors=remount-ro",
                self.image_str(),
                self.mnt_str(),
            ],
        );
        assert!(
            out.status.success(),
            "loop mounting is not possible on this machine ({}: {}); this test needs root and loop devices (a container needs them passed in) — it fails rather than skip",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    fn is_mounted(&self) -> bool {
        run("findmnt", &["-n", self.mnt_str()]).status.success()
    }

    /// `mount -o remount,OPTS`.
    fn remount(&self, opts: &str) {
        must("mount", &["-o", &format!("remount,{opts}"), self.mnt_str()]);
    }

    /// The loop device's name (`loop3`), checked to be one: the kernel's error trigger
    /// must never reach another filesystem.
    fn loop_name(&self) -> String {
        let out = run("findmnt", &["-n", "-o", "SOURCE", self.mnt_str()]);
        let source = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let name = source
            .strip_prefix("/dev/")
            .filter(|n| n.starts_with("loop") && n[4..].chars().all(|c| c.is_ascii_digit()))
            .unwrap_or_else(|| {
                panic!(
                    "{} is not mounted from a loop device: {source:?}",
                    self.mnt.display()
                )
            });
        name.to_owned()
    }

    /// What happens to a store when its disk fails: ext4 meets an error and, mounted
    /// `errors=remount-ro`, makes itself read-only under the open files. (A plain `mount
    /// -o remount,ro` is refused with "busy" while the service holds the store open for
    /// writing.) The error is raised through ext4's own test trigger for this device.
    fn fail_to_read_only(&self) {
        let trigger = PathBuf::from("/sys/fs/ext4")
            .join(self.loop_name())
            .join("trigger_fs_error");
        std::fs::write(&trigger, "tandem faults_disk test\n").unwrap_or_else(|e| {
            panic!(
                "cannot write {} ({e}): the kernel's ext4 error trigger is needed",
                trigger.display()
            )
        });
    }

    /// After an ext4 error the filesystem stays read-only until it is unmounted: unmount,
    /// check and repair it (as the boot-time check would), mount it again.
    fn repair(&self) {
        must("umount", &[self.mnt_str()]);
        let out = run("e2fsck", &["-f", "-y", self.image_str()]);
        // 0: clean, 1: errors corrected (the recorded error), 2: corrected, reboot.
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "e2fsck could not repair the filesystem ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
        self.mount();
    }

    /// Whether a file can be created on it now.
    fn writable(&self) -> bool {
        let probe = self.mnt.join("probe");
        let ok = std::fs::write(&probe, b"x").is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    }

    /// Bytes available to unprivileged users (`df`; root may use a few more).
    fn available(&self) -> u64 {
        let out = run("df", &["-B1", "--output=avail", self.mnt_str()]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("df: {}", String::from_utf8_lossy(&out.stderr)))
    }

    /// Writes `bytes` bytes into `path` (synced).
    fn write_file(&self, path: &Path, bytes: u64) {
        use std::io::Write;
        let mut f = std::fs::File::create(path).expect("a file on the disk");
        let chunk = vec![0x5au8; 1024 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            f.write_all(&chunk[..n]).expect("the ballast fits");
            left -= n as u64;
        }
        f.sync_all().expect("the ballast is synced");
    }

    /// Writes `path` until the disk refuses (all the space that is left).
    fn fill_up(&self, path: &Path) {
        use std::io::Write;
        let mut f = std::fs::File::create(path).expect("the filler file");
        let chunk = vec![0xa5u8; 64 * 1024];
        while f.write_all(&chunk).and_then(|()| f.sync_data()).is_ok() {}
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        // The service (declared after the disk) is dropped, and so killed, first.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.is_mounted() {
            if run("umount", &[self.mnt_str()]).status.success() {
                break;
            }
            if Instant::now() > deadline {
                let _ = run("umount", &["-l", self.mnt_str()]);
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if !self.is_mounted() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What a request got.
#[derive(Debug)]
enum Answer {
    /// An HTTP answer.
    Http {
        status: u16,
        retry_after: Option<String>,
        content_type: Option<String>,
        body: String,
    },
    /// No HTTP answer because the connection was refused: the process had stopped
    /// listening or was gone. (A timeout, or a connection closed without an answer,
    /// fails the test.)
    NotServed(String),
}

fn send(base: &str, token: &str, method: &str, path: &str, body: Option<&str>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into();
    let url = format!("{base}{path}");
    let auth = format!("Bearer {token}");
    let started = Instant::now();
    let result = match (method, body) {
        ("POST", Some(b)) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(b),
        _ => agent.get(&url).header("Authorization", &auth).call(),
    };
    match result {
        Ok(mut resp) => {
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let (retry_after, content_type) = (header("retry-after"), header("content-type"));
            let status = resp.status().as_u16();
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            Answer::Http {
                status,
                retry_after,
                content_type,
                body,
            }
        }
        Err(ureq::Error::Timeout(t)) => {
            panic!("{method} {path}: no answer within {REQUEST_TIMEOUT:?} ({t}): the service hangs")
        }
        // Nothing listens (the process stopped listening or is gone): not served.
        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Answer::NotServed(e.to_string())
        }
        Err(ureq::Error::ConnectionFailed) => Answer::NotServed("connection failed".into()),
        // The process closed the connection while the request was still being written (it
        // is stopping after a refused commit): the body never arrived whole, so the
        // request cannot have reached the engine — not served, like a refused connection.
        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Answer::NotServed(e.to_string())
        }
        // A connection the service took and closed without an answer: the request may
        // have reached the engine, and its 503 was lost.
        Err(e) => panic!(
            "{method} {path}: the connection ended without an answer after {:?}: {e}",
            started.elapsed()
        ),
    }
}

/// `count` leads named `{tag}-{first + i}`, each with a long `name` of its own.
fn leads(tag: &str, first: usize, count: usize) -> Vec<(String, String)> {
    (first..first + count)
        .map(|i| {
            let id = format!("{tag}-{i}");
            let unit = format!("{id} lorem ipsum dolor sit amet; ");
            let name: String = unit.repeat(NAME_BYTES / unit.len() + 1);
            (id, name)
        })
        .collect()
}

fn body_of(batch: &[(String, String)]) -> String {
    serde_json::Value::Array(
        batch
            .iter()
            .map(|(id, name)| serde_json::json!({"id": id, "fields": {"name": name, "n": 1}}))
            .collect(),
    )
    .to_string()
}

/// What every refused ingest must look like: 503, `Retry-After` (seconds), a JSON error.
fn assert_unavailable(answer: &Answer, what: &str) {
    let Answer::Http {
        status,
        retry_after,
        content_type,
        body,
    } = answer
    else {
        panic!("{what}: no HTTP answer: {answer:?}");
    };
    assert_eq!(*status, 503, "{what}: {body}");
    let seconds: u64 = retry_after
        .as_deref()
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| panic!("{what}: a 503 without `Retry-After` seconds: {answer:?}"));
    assert!(seconds >= 1, "{what}: Retry-After {seconds}");
    assert!(
        content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}: not JSON: {answer:?}"
    );
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: the JSON error shape: {body}"
    );
}

/// The ledger: every lead whose ingest was acknowledged, and every one refused.
#[derive(Default)]
struct Ledger {
    acked: BTreeMap<String, String>,
    refused: Vec<String>,
}

impl Ledger {
    /// Posts one batch and records the outcome; returns the answer.
    fn ingest(&mut self, s: &Service, batch: Vec<(String, String)>) -> Answer {
        let answer = send(
            &s.base,
            &s.token,
            "POST",
            "/api/leads",
            Some(&body_of(&batch)),
        );
        self.record(batch, &answer);
        answer
    }

    fn record(&mut self, batch: Vec<(String, String)>, answer: &Answer) {
        match answer {
            Answer::Http { status: 200, .. } => self.acked.extend(batch),
            _ => self.refused.extend(batch.into_iter().map(|(id, _)| id)),
        }
    }

    /// `CONCURRENT` batches at once while the store cannot be written: each is answered
    /// 503 (JSON, `Retry-After`) or not served at all once the process stopped
    /// listening — never anything else, never a hang — and at least one is a 503.
    fn ingest_while_unwritable(&mut self, s: &Service, tag: &str) {
        let batches: Vec<Vec<(String, String)>> = (0..CONCURRENT)
            .map(|k| leads(tag, k * LEADS_PER_BATCH, LEADS_PER_BATCH))
            .collect();
        let answers: Vec<Answer> = std::thread::scope(|scope| {
            let handles: Vec<_> = batches
                .iter()
                .map(|b| {
                    let body = body_of(b);
                    scope.spawn(move || send(&s.base, &s.token, "POST", "/api/leads", Some(&body)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut unavailable = 0;
        for (batch, answer) in batches.into_iter().zip(&answers) {
            match answer {
                Answer::Http { .. } => {
                    assert_unavailable(answer, &format!("{tag}: an ingest the store cannot take"));
                    unavailable += 1;
                }
                Answer::NotServed(why) => eprintln!("{tag}: a request was not served ({why})"),
            }
            self.record(batch, answer);
        }
        assert!(
            unavailable >= 1,
            "{tag}: at least one request is answered 503: {answers:?}"
        );
    }

    /// Reads every lead back through the API: the acknowledged ones with the exact
    /// text sent, the refused ones unknown (404: nothing of them was stored).
    fn check(&self, s: &Service, when: &str) {
        for (id, name) in &self.acked {
            match send(&s.base, &s.token, "GET", &format!("/api/leads/{id}"), None) {
                Answer::Http {
                    status: 200, body, ..
                } => {
                    let v: serde_json::Value = serde_json::from_str(&body).expect("a lead view");
                    assert_eq!(
                        v["fields"]["name"].as_str(),
                        Some(name.as_str()),
                        "{when}: the acknowledged lead {id} has its name"
                    );
                }
                other => panic!("{when}: the acknowledged lead {id} is lost: {other:?}"),
            }
        }
        for id in &self.refused {
            match send(&s.base, &s.token, "GET", &format!("/api/leads/{id}"), None) {
                Answer::Http { status: 404, .. } => {}
                other => panic!("{when}: the refused lead {id} must not exist: {other:?}"),
            }
        }
    }
}

/// Waits for the service to exit by itself; its exit code.
fn exit_code(s: &mut Service, what: &str) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = s.child.try_wait().expect("wait") {
            return status.code();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the service did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, and a clean exit (0).
fn stop(mut s: Service) {
    let term = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    assert_eq!(
        exit_code(&mut s, "SIGTERM"),
        Some(0),
        "a clean stop exits 0"
    );
}

/// A start that must be refused: exit code 2 and a message naming the cause.
fn start_refused(dir: &Path, program: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .arg(program)
        .arg("--config")
        .arg(dir.join("service.toml"))
        .current_dir(dir)
        .env("TANDEM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tandem run starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tandem run on a read-only store neither served nor exited");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(status.code(), Some(2), "a refused start exits 2: {stderr}");
    stderr
}

/// `PRAGMA integrity_check` and the number of stored inputs, read by python3's own
/// SQLite (read-only) with the service stopped.
fn integrity_and_inputs(db: &Path) -> (String, u64) {
    let out = run(
        "python3",
        &[
            "-c",
            "import sqlite3, sys\nc = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\nprint(c.execute('PRAGMA integrity_check').fetchone()[0])\nprint(c.execute('SELECT count(*) FROM inputs').fetchone()[0])",
            db.to_str().expect("a UTF-8 temp path"),
        ],
    );
    assert!(
        out.status.success(),
        "python3 reads the store: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = text.lines();
    let integrity = lines.next().unwrap_or_default().to_owned();
    let inputs = lines
        .next()
        .and_then(|n| n.trim().parse().ok())
        .expect("a count of inputs");
    (integrity, inputs)
}

fn assert_store_sound(db: &Path, ledger: &Ledger, when: &str) {
    let (integrity, inputs) = integrity_and_inputs(db);
    assert_eq!(integrity, "ok", "{when}: PRAGMA integrity_check");
    assert_eq!(
        inputs,
        ledger.acked.len() as u64,
        "{when}: the input log holds exactly the acknowledged leads (one input each)"
    );
}

#[test]
fn a_full_or_read_only_disk_is_answered_503_and_loses_nothing_acknowledged() {
    let started = Instant::now();
    let dir = temp_dir("faults-disk");
    let disk = Disk::new(&dir);
    let http = free_port();
    let program = program_dir();
    let db = disk.mnt.join("tandem.db");
    let ballast = disk.mnt.join("ballast");
    let room = FILL_ROOM_MIB * 1024 * 1024;
    let available = disk.available();
    assert!(
        available > 4 * room,
        "the new filesystem has {available} bytes free"
    );
    disk.write_file(&ballast, available - room);
    // The store (with the token and the secret beside it) on the small disk; the
    // working folder and the outbox elsewhere.
    let config = format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\noutbox = \"{}\"\n",
        db.display(),
        dir.join("outbox").display()
    );
    let mut ledger = Ledger::default();

    // 1. The disk fills up. Every ingest is acknowledged until one is refused: 503, and
    //    the service exits 70 (docs/api.md, section 7).
    let mut s = start_store_in(&dir, &config, http, &program, &[], &disk.mnt);
    let mut batch = 0;
    let first_refusal = loop {
        assert!(batch < 200, "the disk never filled");
        let answer = ledger.ingest(&s, leads("fill", batch * LEADS_PER_BATCH, LEADS_PER_BATCH));
        batch += 1;
        match &answer {
            Answer::Http { status: 200, .. } => {}
            _ => break answer,
        }
    };
    assert_unavailable(&first_refusal, "the first ingest the full disk refused");
    let Answer::Http { body, .. } = &first_refusal else {
        unreachable!()
    };
    assert!(
        body.contains("not stored") && body.contains("full"),
        "the message says nothing was stored and why: {body}"
    );
    assert!(
        ledger.acked.len() >= 3 * LEADS_PER_BATCH,
        "several batches were acknowledged before the disk filled: {}",
        ledger.acked.len()
    );
    assert_eq!(
        exit_code(&mut s, "after the store refused a commit"),
        Some(70),
        "the service exits 70 when the store refuses a commit"
    );
    drop(s);

    // 2. Restarted on the still-full disk (what a supervisor does): it comes up and
    //    serves reads, refuses ingest with 503 again, and exits 70 again. The rest of the
    //    free space is taken first, so nothing can be written at all.
    disk.fill_up(&disk.mnt.join("filler"));
    let mut s = start_store_in(&dir, &config, http, &program, &[], &disk.mnt);
    let (some_id, some_name) = ledger
        .acked
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("an acknowledged lead");
    match send(
        &s.base,
        &s.token,
        "GET",
        &format!("/api/leads/{some_id}"),
        None,
    ) {
        Answer::Http {
            status: 200, body, ..
        } => assert!(body.contains(&some_name), "reads work on a full disk"),
        other => panic!("a read on the full disk: {other:?}"),
    }
    ledger.ingest_while_unwritable(&s, "full");
    assert_eq!(exit_code(&mut s, "full again"), Some(70));
    drop(s);

    // 3. Space is freed: the restart rebuilds everything acknowledged, nothing refused
    //    is there, ingest works, and the store is sound.
    std::fs::remove_file(&ballast).expect("free the ballast");
    std::fs::remove_file(disk.mnt.join("filler")).expect("free the filler");
    let s = start_store_in(&dir, &config, http, &program, &[], &disk.mnt);
    ledger.check(&s, "after space was freed");
    let answer = ledger.ingest(&s, leads("freed", 0, LEADS_PER_BATCH));
    assert!(
        matches!(answer, Answer::Http { status: 200, .. }),
        "ingest works again: {answer:?}"
    );
    stop(s);
    assert_store_sound(&db, &ledger, "after the full disk");

    // 4. An operator remounts the filesystem read-only while the service is stopped
    //    (while it runs, the kernel refuses: the store is open for writing). The start
    //    is refused with exit code 2 and the reason; once remounted read-write, it
    //    starts and ingest works.
    disk.remount("ro");
    assert!(!disk.writable(), "the filesystem is read-only");
    let stderr = start_refused(&dir, &program);
    assert!(
        stderr.contains("Read-only file system") && stderr.contains("tandem.db"),
        "the refusal names the store and the cause: {stderr}"
    );
    disk.remount("rw");
    let mut s = start_store_in(&dir, &config, http, &program, &[], &disk.mnt);
    let answer = ledger.ingest(&s, leads("remounted", 0, LEADS_PER_BATCH));
    assert!(
        matches!(answer, Answer::Http { status: 200, .. }),
        "ingest works after the remount: {answer:?}"
    );

    // 5. The disk fails under the running service and the kernel makes the filesystem
    //    read-only: reads are still served, ingest is refused with 503, the service
    //    exits 70, and a restart on the read-only filesystem is refused (exit 2).
    disk.fail_to_read_only();
    assert!(!disk.writable(), "the kernel made the filesystem read-only");
    match send(
        &s.base,
        &s.token,
        "GET",
        &format!("/api/leads/{some_id}"),
        None,
    ) {
        Answer::Http { status: 200, .. } => {}
        other => panic!("a read on the read-only disk: {other:?}"),
    }
    ledger.ingest_while_unwritable(&s, "read-only");
    assert_eq!(exit_code(&mut s, "read-only"), Some(70));
    drop(s);
    let stderr = start_refused(&dir, &program);
    assert!(
        stderr.contains("Read-only file system"),
        "the refusal says why: {stderr}"
    );

    // 6. A remount read-write is not enough after an ext4 error: the filesystem is
    //    unmounted, checked and mounted again; then the restart has everything
    //    acknowledged, ingest works, and the store is sound.
    disk.repair();
    let s = start_store_in(&dir, &config, http, &program, &[], &disk.mnt);
    ledger.check(&s, "after the filesystem was repaired");
    let answer = ledger.ingest(&s, leads("repaired", 0, LEADS_PER_BATCH));
    assert!(
        matches!(answer, Answer::Http { status: 200, .. }),
        "ingest works after the repair: {answer:?}"
    );
    stop(s);
    assert_store_sound(&db, &ledger, "at the end");
    eprintln!(
        "faults_disk: {} leads acknowledged, {} refused, in {:?}",
        ledger.acked.len(),
        ledger.refused.len(),
        started.elapsed()
    );
    drop(disk);
}
