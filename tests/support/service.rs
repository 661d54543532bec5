//! The `tandem` binary as the end-to-end tests run it: a service in a folder of its own, JSON over HTTP with the admin token, and aiosmtpd as the SMTP server (its maildir read back).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::program_dir;

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub struct Service {
    pub child: Child,
    pub base: String,
    pub token: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(dir: &Path, config: &str, port: u16) -> Service {
    start_program(dir, config, port, &program_dir())
}

pub fn start_program(dir: &Path, config: &str, port: u16, program: &Path) -> Service {
    start_with(dir, config, port, program, &[])
}

/// Starts `tandem run PROGRAM --config DIR/service.toml ARGS…` and waits until it serves.
pub fn start_with(dir: &Path, config: &str, port: u16, program: &Path, args: &[&str]) -> Service {
    start_store_in(dir, config, port, program, args, dir)
}

/// [`start_with`] for a configuration whose store is in `store_dir` (where the admin
/// token is kept) rather than in `dir`.
pub fn start_store_in(
    dir: &Path,
    config: &str,
    port: u16,
    program: &Path,
    args: &[&str],
    store_dir: &Path,
) -> Service {
    std::fs::write(dir.join("service.toml"), config).expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("run")
        .arg(program)
        .arg("--config")
        .arg(dir.join("service.toml"))
        .args(args)
        .current_dir(dir)
        .env("TANDEM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tandem run starts");
    // Owned from here: a start that fails the test kills the process (Service's Drop).
    let mut service = Service {
        child,
        base: format!("http://127.0.0.1:{port}"),
        token: String::new(),
    };
    let health = format!("{}/healthz", service.base);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if ureq::get(&health).call().is_ok() {
            break;
        }
        if let Ok(Some(status)) = service.child.try_wait() {
            panic!("tandem run exited ({status}) instead of serving");
        }
        assert!(Instant::now() < deadline, "tandem run did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    service.token = std::fs::read_to_string(store_dir.join("tandem.token"))
        .expect("the admin token is written on first start")
        .trim()
        .to_owned();
    service
}

/// Sends `SIGTERM` and waits for the exit, at most 30 s (a clean stop is bounded).
pub fn stop_with_sigterm(s: &mut Service) -> std::process::ExitStatus {
    let term = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let started = Instant::now();
    loop {
        if let Some(status) = s.child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the service stops within a bounded time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A configuration with the store and a `.eml` outbox in `dir`, HTTP on `http`.
pub fn file_outbox_config(dir: &Path, http: u16) -> String {
    format!(
        "listen = \"127.0.0.1:{http}\"\nstore = \"{}\"\noutbox = \"{}\"\n",
        dir.join("tandem.db").display(),
        dir.join("outbox").display()
    )
}

/// Creates the lead `an` (n = 3) and sends it a `signup`, which enters the welcome journey.
pub fn sign_up_an(s: &Service) {
    let (status, body) = post(
        s,
        "/api/leads",
        r#"{"id": "an", "fields": {"name": "An", "email": "an@saoviet.vn", "n": 3}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        s,
        "/api/events",
        r#"{"lead": "an", "event": "signup", "props": {"plan": "pro"}}"#,
    );
    assert_eq!(status, 200, "{body}");
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs JSON with the admin token; returns (status, body).
pub fn post(s: &Service, path: &str, body: &str) -> (u16, String) {
    post_as(s, path, body, Some(&s.token))
}

pub fn post_as(s: &Service, path: &str, body: &str, token: Option<&str>) -> (u16, String) {
    let mut req = agent()
        .post(&format!("{}{path}", s.base))
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.send(body).expect("the request is answered");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

pub fn get(s: &Service, path: &str) -> (u16, String) {
    let mut resp = agent()
        .get(&format!("{}{path}", s.base))
        .header("Authorization", &format!("Bearer {}", s.token))
        .call()
        .expect("the request is answered");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

pub struct Smtp {
    pub child: Child,
    pub maildir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// aiosmtpd with its Mailbox handler: every message lands in a maildir.
pub fn smtp_server(dir: &Path, port: u16) -> Smtp {
    let maildir = dir.join("maildir");
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m aiosmtpd starts (pip install aiosmtpd)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    Smtp { child, maildir }
}

/// Every message the SMTP server received, as text.
pub fn received(maildir: &Path) -> Vec<String> {
    maildir_files(maildir)
        .into_iter()
        .map(|path| {
            let mut text = String::new();
            if let Ok(mut f) = std::fs::File::open(path) {
                let _ = f.read_to_string(&mut text);
            }
            text
        })
        .collect()
}

/// The message files of a maildir (`new` and `cur`).
fn maildir_files(maildir: &Path) -> Vec<PathBuf> {
    ["new", "cur"]
        .iter()
        .flat_map(|sub| {
            std::fs::read_dir(maildir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .collect()
}

/// Every received message's `Message-ID`, with when it landed (the file's time).
pub fn received_ids(maildir: &Path) -> Vec<(String, std::time::SystemTime)> {
    maildir_files(maildir)
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read(&path).ok()?;
            let landed = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
            let id = mailparse::parse_headers(&text)
                .ok()
                .and_then(|(h, _)| {
                    use mailparse::MailHeaderMap;
                    h.get_first_value("Message-ID")
                })
                .unwrap_or_default();
            Some((id, landed))
        })
        .collect()
}

/// The decoded subjects (RFC 2047) of the received messages.
pub fn subjects(maildir: &Path) -> Vec<String> {
    received(maildir)
        .iter()
        .map(|m| mail_subject(m))
        .filter(|s| !s.is_empty())
        .collect()
}

/// A message's decoded `Subject` (empty if it has none).
pub fn mail_subject(message: &str) -> String {
    mailparse::parse_mail(message.as_bytes())
        .ok()
        .and_then(|m| {
            use mailparse::MailHeaderMap;
            m.headers.get_first_value("Subject")
        })
        .unwrap_or_default()
}
