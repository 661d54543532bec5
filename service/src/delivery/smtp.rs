//! The mailer: delivers due outbox mail several messages at a time — over a pool of SMTP connections, or into `.eml` files — records the outcomes in small batches (at most 50 ms old), retries with backoff and reports bounces to the engine.
//!
//! Two halves. The *bookkeeper*, a thread of its own, owns the store connection: it
//! reads due mail, hands it out, collects the outcomes and commits them, many to one
//! transaction, at the latest [`RECORD_EVERY`] after the first of them arrived. The
//! *dispatcher*, an async task, runs up to `connections` deliveries at once. A mail is
//! handed out once: the bookkeeper remembers every key it handed out until that mail's
//! outcome is committed, so the next read of the outbox (which still shows the mail as
//! pending) skips it.
//!
//! What a crash costs: the mails being sent, plus those whose outcome arrived within the
//! last [`RECORD_EVERY`], go out again after the restart with the same `Message-ID`.
//! On a graceful stop the bookkeeper commits every outcome it received before it exits.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::DEFAULT_MECHANISMS;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::engine_thread::{self, Request};
use crate::mail::{self, Dkim, Relay, Security, SendError, Transport};
use crate::store::{Delivery, DeliveryOutcome, OutboxMail, PendingMail, Records};

/// Attempts before a transient failure counts as a bounce.
const MAX_ATTEMPTS: u32 = 6;
/// The longest an outcome waits before it is committed.
pub const RECORD_EVERY: Duration = Duration::from_millis(50);
/// The most outcomes in one commit.
const MAX_BATCH: usize = 2000;
/// How many fresh mails one read of the outbox asks for.
const FETCH: usize = 256;
/// The outbox is read again when fewer mails than this are waiting or being sent.
const LOW_WATER: usize = FETCH / 2;
/// No more mail is handed out while this many outcomes are not committed (a store that
/// refuses commits must not make the mailer send the whole outbox).
const MAX_UNRECORDED: usize = 20_000;
/// How long to wait before reading an empty outbox again.
const IDLE: Duration = Duration::from_millis(100);
/// How long to wait before committing again after the store refused.
const RETRY_RECORD: Duration = Duration::from_secs(1);
/// The longest wait for a connection to the relay to be ready (TCP, greeting, TLS, login).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest one message may take once connected.
const SEND_TIMEOUT: Duration = Duration::from_secs(120);
/// A connection unused this long is closed rather than used again (relays drop idle
/// clients after a while; RFC 5321 asks them to wait at least five minutes).
const IDLE_CLOSE: Duration = Duration::from_secs(60);

/// Delivers due outbox mail until the runtime stops: sent, or retried with backoff
/// (30 s, doubling, six tries in all), or — on a permanent failure — marked failed and
/// reported to the engine as `email_bounced` once the failure is stored. Messages are
/// signed with `dkim` when it is given; their `Message-ID` is `<key@domain>`.
pub async fn mailer(
    store: Box<dyn Records>,
    transport: Transport,
    dkim: Option<Arc<Dkim>>,
    core: std::sync::mpsc::Sender<Request>,
    domain: String,
    clock: engine_thread::Clock,
) {
    let concurrency = transport.concurrency();
    let sender = Arc::new(Sender::open(transport).await);
    let (work_tx, mut work_rx) = tokio::sync::mpsc::unbounded_channel::<PendingMail>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Note>();
    let book = Bookkeeper {
        store,
        work: work_tx,
        done: done_rx,
        core,
        clock,
    };
    let thread = match std::thread::Builder::new()
        .name("tandem-outbox".into())
        .spawn(move || book.run())
    {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "outbox: cannot start its thread; no mail is sent");
            return;
        }
    };
    // Dropped when the runtime shuts down (or the bookkeeper ended): the bookkeeper
    // commits what finished, and the process waits for it.
    let _finish = Finish {
        done: done_tx.clone(),
        thread: Some(thread),
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let domain: Arc<str> = domain.into();
    while let Some(pending) = work_rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let sender = sender.clone();
        let dkim = dkim.clone();
        let domain = domain.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let note = deliver(&sender, pending, &domain, dkim, clock).await;
            let _ = done.send(note);
            drop(slot);
        });
    }
}

/// The configured transport, made inside the runtime.
enum Sender {
    Files(std::path::PathBuf, AsyncFileTransport<Tokio1Executor>),
    Smtp(Connections),
}

impl Sender {
    async fn open(transport: Transport) -> Sender {
        match transport {
            Transport::Files(dir) => {
                if let Err(e) = tokio::fs::create_dir_all(&dir).await {
                    tracing::warn!(error = %e, dir = %dir.display(), "outbox: cannot create the folder");
                }
                let files = AsyncFileTransport::<Tokio1Executor>::new(&dir);
                Sender::Files(dir, files)
            }
            Transport::Smtp { relay, .. } => Sender::Smtp(Connections {
                relay,
                hello: ClientId::default(),
                idle: std::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    async fn send(&self, msg: Message) -> Result<(), SendError> {
        match self {
            Sender::Files(dir, files) => {
                // An `.eml` holds the lead's data and signed links: owner only, like the store.
                let private = |id: String| {
                    crate::guard::tighten(&dir.join(format!("{id}.eml")))
                        .map(|_| ())
                        .map_err(SendError::Transient)
                };
                if let Ok(id) = files.send(msg.clone()).await {
                    return private(id);
                }
                // The folder may have been removed: make it again, and try once more.
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendError::Transient(format!("{}: {e}", dir.display())))?;
                let id = files
                    .send(msg)
                    .await
                    .map_err(|e| SendError::Transient(e.to_string()))?;
                private(id)
            }
            Sender::Smtp(connections) => {
                match tokio::time::timeout(SEND_TIMEOUT, connections.send(&msg)).await {
                    Ok(result) => result,
                    Err(_) => Err(SendError::Transient(format!(
                        "no answer from the relay within {} s",
                        SEND_TIMEOUT.as_secs()
                    ))),
                }
            }
        }
    }
}

/// Open connections to the relay, reused from one message to the next. The dispatcher
/// runs at most `connections` sends at once, so at most that many are ever open.
///
/// Not lettre's own pool: its sockets keep Nagle's algorithm on, so the end-of-data
/// line (written apart from the message) waits for the relay's delayed ACK — about
/// 40 ms per message on every connection. These sockets set `TCP_NODELAY`, and a
/// connection is reused without lettre's extra `NOOP` before every message.
struct Connections {
    relay: Relay,
    hello: ClientId,
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl Connections {
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let envelope = msg.envelope();
        let bytes = msg.formatted();
        if let Some(mut conn) = self.take_idle() {
            match conn.send(envelope, &bytes).await {
                Ok(_) => {
                    self.put_back(conn);
                    return Ok(());
                }
                // The relay answered: that is its verdict on this message.
                Err(e) if e.is_transient() || e.is_permanent() => return Err(verdict(e)),
                // The connection had died while idle: a fresh one below.
                Err(_) => {}
            }
        }
        let mut conn = self.connect().await?;
        match conn.send(envelope, &bytes).await {
            Ok(_) => {
                self.put_back(conn);
                Ok(())
            }
            Err(e) => Err(verdict(e)),
        }
    }

    /// The most recently used idle connection, if one is fresh enough.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // Older connections sit at the front; those idle too long are dropped (closed).
        idle.retain(|(_, since)| since.elapsed() < IDLE_CLOSE);
        idle.pop().map(|(conn, _)| conn)
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.push((conn, Instant::now()));
    }

    /// A new connection, greeted, encrypted and logged in as configured. Any failure
    /// here is the relay's, not the message's: always worth a retry.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let relay = &self.relay;
        let connecting = async {
            let mut conn = match &relay.security {
                // lettre makes this socket itself (TLS from the first byte).
                Security::Tls(tls) => AsyncSmtpConnection::connect_tokio1(
                    (relay.host.as_str(), relay.port),
                    Some(CONNECT_TIMEOUT),
                    &self.hello,
                    Some(tls.clone()),
                    None,
                )
                .await
                .map_err(|e| e.to_string())?,
                Security::None | Security::StartTls(_) => {
                    let tcp = tokio::net::TcpStream::connect((relay.host.as_str(), relay.port))
                        .await
                        .map_err(|e| e.to_string())?;
                    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                    let mut conn =
                        AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                            .await
                            .map_err(|e| e.to_string())?;
                    if let Security::StartTls(tls) = &relay.security {
                        conn.starttls(tls.clone(), &self.hello)
                            .await
                            .map_err(|e| format!("STARTTLS: {e}"))?;
                    }
                    conn
                }
            };
            if let Some(credentials) = &relay.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials)
                    .await
                    .map_err(|e| format!("login: {e}"))?;
            }
            Ok::<_, String>(conn)
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(SendError::Transient(format!(
                "relay {}:{}: {e}",
                relay.host, relay.port
            ))),
            Err(_) => Err(SendError::Transient(format!(
                "relay {}:{}: not ready within {} s",
                relay.host,
                relay.port,
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// What the relay's refusal means for the message: 5xx never, anything else later.
fn verdict(e: lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Transient(e.to_string())
    }
}

/// What the dispatcher tells the bookkeeper.
enum Note {
    /// A delivery attempt ended; `bounced` holds the mail if it failed for good.
    Done {
        delivery: Delivery,
        bounced: Option<Box<OutboxMail>>,
    },
    /// The service is stopping: commit what arrived, and end.
    Stop,
}

/// Tells the bookkeeper to finish, and waits for it.
struct Finish {
    done: std::sync::mpsc::Sender<Note>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let _ = self.done.send(Note::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Builds (and signs) the message, sends it, and says what became of it.
async fn deliver(
    sender: &Sender,
    pending: PendingMail,
    domain: &Arc<str>,
    dkim: Option<Arc<Dkim>>,
    clock: engine_thread::Clock,
) -> Note {
    let PendingMail { mail: m, attempts } = pending;
    let (m, built) = match dkim {
        // Signing is CPU work (an RSA signature takes about a millisecond): off the
        // async threads.
        Some(dkim) => {
            let domain = domain.clone();
            let key = m.key.clone();
            match tokio::task::spawn_blocking(move || {
                let msg = mail::message(&m, &domain, Some(&dkim));
                (m, msg)
            })
            .await
            {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::error!(key = %key, error = %e, "outbox: signing stopped");
                    return Note::Done {
                        delivery: Delivery {
                            key,
                            outcome: DeliveryOutcome::Retry {
                                error: format!("signing stopped: {e}"),
                                retry_at: clock.now() + 30,
                            },
                        },
                        bounced: None,
                    };
                }
            }
        }
        None => {
            let msg = mail::message(&m, domain, None);
            (m, msg)
        }
    };
    let result = match built {
        Ok(msg) => sender.send(msg).await,
        Err(e) => Err(e),
    };
    let now = clock.now();
    let (outcome, bounced) = match result {
        Ok(()) => (DeliveryOutcome::Sent { at: now }, None),
        Err(SendError::Transient(e)) if attempts + 1 < MAX_ATTEMPTS => {
            let backoff = 30i64 << attempts.min(10);
            tracing::warn!(key = %m.key, error = %e, "outbox: will retry");
            let retry_at = now + backoff;
            (DeliveryOutcome::Retry { error: e, retry_at }, None)
        }
        Err(SendError::Transient(e) | SendError::Permanent(e)) => {
            tracing::warn!(key = %m.key, to = %m.to, error = %e, "outbox: gave up; the email bounced");
            (
                DeliveryOutcome::Failed { error: e },
                Some(Box::new(m.clone())),
            )
        }
    };
    Note::Done {
        delivery: Delivery {
            key: m.key,
            outcome,
        },
        bounced,
    }
}

/// The store side of the mailer (see the module's documentation).
struct Bookkeeper {
    store: Box<dyn Records>,
    work: tokio::sync::mpsc::UnboundedSender<PendingMail>,
    done: Receiver<Note>,
    core: std::sync::mpsc::Sender<Request>,
    clock: engine_thread::Clock,
}

/// Outcomes received and not yet committed.
#[derive(Default)]
struct Unrecorded {
    deliveries: Vec<Delivery>,
    bounced: Vec<OutboxMail>,
    /// When they must be committed.
    due: Option<Instant>,
}

impl Bookkeeper {
    fn run(mut self) {
        // Keys handed out whose outcome is not committed yet.
        let mut handed: HashSet<String> = HashSet::new();
        // Of those, how many are still waiting or being sent.
        let mut unfinished = 0usize;
        let mut batch = Unrecorded::default();
        let mut next_read = Instant::now();
        loop {
            let now = Instant::now();
            let wants_mail = unfinished < LOW_WATER && handed.len() < MAX_UNRECORDED;
            if wants_mail && now >= next_read {
                next_read = match self.store.due_mail(self.clock.now(), handed.len() + FETCH) {
                    Ok(due) => {
                        let mut fresh = 0usize;
                        for p in due {
                            if handed.contains(&p.mail.key) {
                                continue;
                            }
                            handed.insert(p.mail.key.clone());
                            if self.work.send(p).is_err() {
                                // The dispatcher is gone: the runtime is stopping.
                                self.finish(&mut batch, &mut handed);
                                return;
                            }
                            fresh += 1;
                            unfinished += 1;
                        }
                        if fresh == 0 {
                            now + IDLE
                        } else {
                            now
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "outbox: cannot read");
                        now + IDLE
                    }
                };
            }
            let mut deadline = now + IDLE;
            if let Some(due) = batch.due {
                deadline = deadline.min(due);
            }
            if unfinished < LOW_WATER && handed.len() < MAX_UNRECORDED {
                deadline = deadline.min(next_read);
            }
            let mut stop = false;
            match self
                .done
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(note) => stop |= take(note, &mut batch, &mut unfinished),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            while !stop && batch.deliveries.len() < MAX_BATCH {
                match self.done.try_recv() {
                    Ok(note) => stop |= take(note, &mut batch, &mut unfinished),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => stop = true,
                }
            }
            if stop {
                self.finish(&mut batch, &mut handed);
                return;
            }
            let due = batch.due.is_some_and(|d| Instant::now() >= d);
            if due || batch.deliveries.len() >= MAX_BATCH {
                self.record(&mut batch, &mut handed);
            }
        }
    }

    /// Takes every outcome already sent, commits, and returns.
    fn finish(&mut self, batch: &mut Unrecorded, handed: &mut HashSet<String>) {
        let mut ignored = 0usize;
        while let Ok(note) = self.done.try_recv() {
            take(note, batch, &mut ignored);
        }
        if !batch.deliveries.is_empty() {
            self.record(batch, handed);
        }
    }

    /// Commits the batch; then its bounces go to the engine.
    fn record(&mut self, batch: &mut Unrecorded, handed: &mut HashSet<String>) {
        if let Err(e) = self.store.record_deliveries(&batch.deliveries) {
            // Kept, and committed again later; nothing is sent twice meanwhile.
            tracing::error!(error = %e, count = batch.deliveries.len(), "outbox: cannot record deliveries");
            batch.due = Some(Instant::now() + RETRY_RECORD);
            return;
        }
        for d in batch.deliveries.drain(..) {
            handed.remove(&d.key);
        }
        batch.due = None;
        for m in batch.bounced.drain(..) {
            if m.lead.is_empty() {
                continue;
            }
            let mut body = serde_json::Map::new();
            body.insert("event".into(), "email_bounced".into());
            let mut props = serde_json::Map::new();
            props.insert("template".into(), m.template.clone().into());
            body.insert("props".into(), props.into());
            let (reply, _rx) = tokio::sync::oneshot::channel();
            let _ = self.core.send(Request::Ingest {
                items: vec![engine_thread::Item {
                    lead: m.lead.clone(),
                    action: "event".into(),
                    body,
                }],
                reply,
            });
        }
    }
}

/// Adds an outcome to the batch; true on [`Note::Stop`].
fn take(note: Note, batch: &mut Unrecorded, unfinished: &mut usize) -> bool {
    match note {
        Note::Done { delivery, bounced } => {
            *unfinished = unfinished.saturating_sub(1);
            batch.deliveries.push(delivery);
            batch.bounced.extend(bounced.map(|m| *m));
            if batch.due.is_none() {
                batch.due = Some(Instant::now() + RECORD_EVERY);
            }
            false
        }
        Note::Stop => true,
    }
}
