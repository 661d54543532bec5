//! PostgreSQL connections: pools of `tokio-postgres` connections (`deadpool-postgres`), all driven by one small tokio runtime of the service's own. Async code awaits them; the threads that are synchronous by design — each engine (the engine is pure), its committer and snapshot writer, a cluster's lease loop and router — wait on them with [`block_on`], which is never called from an async task.

use std::future::Future;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::store::StoreError;

pub use deadpool_postgres::{GenericClient, Transaction};

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        // SQLSTATE classes 22 (data exception), 23 (integrity constraint violation) and
        // 54 (program limit exceeded): the data is at fault, not the connection.
        match e.code().map(|c| c.code()) {
            Some(code) if matches!(code.get(..2), Some("22" | "23" | "54")) => {
                StoreError::refused_data(format!("{e} (SQLSTATE {code})"))
            }
            _ => StoreError(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        StoreError(format!("no PostgreSQL connection: {e}"))
    }
}

/// The runtime that drives every connection (one worker thread: the work is I/O).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tandem-pg")
            .enable_all()
            .build()
            // Without a runtime the service cannot reach its store at all.
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot start the PostgreSQL runtime");
                std::process::exit(2)
            })
    })
}

/// Runs `f` to its end on the calling thread, with the connections' runtime entered.
/// For synchronous threads only: never call it from an async task.
pub fn block_on<F: Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Runs `f` in the background on the connections' runtime.
pub fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) {
    runtime().spawn(f);
}

/// A URL with any password masked, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The connection settings of `url`, with `search_path` set to `schema` when given and
/// durable commits (`synchronous_commit = on`).
pub fn config(url: &str, schema: Option<&str>) -> Result<tokio_postgres::Config, StoreError> {
    let mut cfg = tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreError(format!("{} is not a PostgreSQL URL: {e}", redact(url))))?;
    let mut options = cfg.get_options().unwrap_or("").to_owned();
    if let Some(schema) = schema {
        let schema = crate::cluster::plain_name(schema)?;
        options.push_str(&format!(" -c search_path={schema}"));
    }
    options.push_str(" -c synchronous_commit=on");
    cfg.options(options.trim());
    Ok(cfg)
}

/// A pool of at most `size` connections to `url` (in `schema`); connections lost (a
/// database restart) are replaced on the next checkout.
pub fn pool(url: &str, schema: Option<&str>, size: usize) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config(url, schema)?,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|e| StoreError(format!("cannot make a PostgreSQL pool: {e}")))
}

/// A connection from `pool`, naming the server when none can be made.
pub async fn get(pool: &Pool) -> Result<Object, StoreError> {
    pool.get().await.map_err(StoreError::from)
}

/// Makes `schema` if it does not exist (under the migrations' advisory lock).
pub async fn make_schema(pool: &Pool, schema: &str) -> Result<(), StoreError> {
    let schema = crate::cluster::plain_name(schema)?;
    let mut c = get(pool).await?;
    let tx = c.transaction().await?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock(7297265); CREATE SCHEMA IF NOT EXISTS {schema}"
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::block_on;

    /// The service's async code reaches a synchronous store through `block_in_place` or
    /// `spawn_blocking`; waiting on the connections' runtime from there must work.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blocking_section_of_async_code_may_wait_on_the_connections() {
        let n = tokio::task::block_in_place(|| block_on(async { 1 + 1 }));
        assert_eq!(n, 2);
        let n = tokio::task::spawn_blocking(|| block_on(async { 2 + 2 }))
            .await
            .expect("the blocking task ends");
        assert_eq!(n, 4);
    }
}
