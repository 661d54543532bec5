//! The store's schema, once for SQLite and PostgreSQL: numbered migrations written with a few type words that each database spells its own way, applied the same way by both.
//!
//! `{i64}` is a 64-bit integer (SQLite `INTEGER`, PostgreSQL `BIGINT`), `{serial}` an
//! integer key the database numbers (`INTEGER PRIMARY KEY` / `BIGSERIAL PRIMARY
//! KEY`), `{autoincrement}` one that never reuses a number, and `{blob}` bytes.
//! `INTEGER` and `TEXT` mean the same in both. Every statement may run again on a
//! database that has it already (`IF NOT EXISTS`; a column is added only when
//! missing), so a store made before the migrations were numbered upgrades in place.
//! PostgreSQL records the migrations that ran in `schema_migrations`, SQLite in
//! `PRAGMA user_version`. A migration, once released, never changes: add one.

/// One step of a migration.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// Statements, with type words.
    Sql(&'static str),
    /// A column added to a table unless it has it.
    AddColumn {
        table: &'static str,
        column: &'static str,
        decl: &'static str,
    },
}

/// The database a migration is written out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

const fn add(table: &'static str, column: &'static str, decl: &'static str) -> Step {
    Step::AddColumn {
        table,
        column,
        decl,
    }
}

/// The migrations, in order; the n-th is version n + 1.
pub(crate) const MIGRATIONS: &[&[Step]] = &[
    &[Step::Sql(
        "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value {i64} NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (seq {serial}, at {i64} NOT NULL, lead TEXT NOT NULL, input TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS timeline (n {autoincrement}, lead TEXT, at {i64} NOT NULL, line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS timeline_lead ON timeline (lead, n);
CREATE TABLE IF NOT EXISTS outbox (
  key TEXT PRIMARY KEY, lead TEXT NOT NULL, template TEXT NOT NULL, sender TEXT NOT NULL,
  recipient TEXT NOT NULL, subject TEXT NOT NULL, html TEXT NOT NULL, body TEXT NOT NULL,
  unsubscribe TEXT NOT NULL, at {i64} NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, next_at {i64} NOT NULL, sent_at {i64}, error TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY, lead TEXT NOT NULL, handoff TEXT NOT NULL, team TEXT NOT NULL,
  assignee TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, created_at {i64} NOT NULL,
  accepted_at {i64});
CREATE INDEX IF NOT EXISTS tasks_lead ON tasks (lead);
CREATE TABLE IF NOT EXISTS programs (version INTEGER PRIMARY KEY, at {i64} NOT NULL, files TEXT NOT NULL);
",
    )],
    // Where each program version began.
    &[add("programs", "inputs_before", "{i64}")],
    // The webhook outbox and paused endpoints.
    &[Step::Sql(
        "
CREATE TABLE IF NOT EXISTS webhook_outbox (
  key TEXT PRIMARY KEY, webhook TEXT NOT NULL, lead TEXT, kind TEXT NOT NULL, body TEXT NOT NULL,
  at {i64} NOT NULL, status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  window_ms {i64} NOT NULL, next_ms {i64} NOT NULL, last_status {i64}, error TEXT,
  log TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS webhook_due ON webhook_outbox (status, next_ms);
CREATE INDEX IF NOT EXISTS webhook_endpoint_due ON webhook_outbox (webhook, status, next_ms);
CREATE TABLE IF NOT EXISTS webhook_pauses (webhook TEXT PRIMARY KEY, at_ms {i64} NOT NULL, reason TEXT NOT NULL);
",
    )],
    // A lead's mail, for its page.
    &[Step::Sql(
        "CREATE INDEX IF NOT EXISTS outbox_lead ON outbox (lead, at);",
    )],
    // Snapshots of the world, in chunks.
    &[Step::Sql(
        "
CREATE TABLE IF NOT EXISTS snapshots (
  id {i64} PRIMARY KEY, position {i64} NOT NULL, after_seq {i64} NOT NULL,
  version INTEGER NOT NULL, format INTEGER NOT NULL, release TEXT NOT NULL,
  checksum {i64} NOT NULL, size {i64} NOT NULL, created_ms {i64} NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot_chunks (
  snapshot {i64} NOT NULL, n INTEGER NOT NULL, data {blob} NOT NULL,
  PRIMARY KEY (snapshot, n));
",
    )],
    // The task list's titles, deadlines and escalations.
    &[
        add("tasks", "title", "TEXT NOT NULL DEFAULT ''"),
        add("tasks", "lead_name", "TEXT NOT NULL DEFAULT ''"),
        add("tasks", "accept_due_at", "{i64}"),
        add("tasks", "complete_due_at", "{i64}"),
        add("tasks", "escalations", "{i64} NOT NULL DEFAULT 0"),
        add("tasks", "escalated_to", "TEXT"),
        add("tasks", "escalated_at", "{i64}"),
    ],
];

/// Statements with the type words spelled for `dialect`.
pub(crate) fn render(sql: &str, dialect: Dialect) -> String {
    let words: [(&str, &str); 4] = match dialect {
        Dialect::Sqlite => [
            ("{i64}", "INTEGER"),
            ("{serial}", "INTEGER PRIMARY KEY"),
            ("{autoincrement}", "INTEGER PRIMARY KEY AUTOINCREMENT"),
            ("{blob}", "BLOB"),
        ],
        Dialect::Postgres => [
            ("{i64}", "BIGINT"),
            ("{serial}", "BIGSERIAL PRIMARY KEY"),
            ("{autoincrement}", "BIGSERIAL PRIMARY KEY"),
            ("{blob}", "BYTEA"),
        ],
    };
    words.iter().fold(sql.to_owned(), |s, (word, spelled)| {
        s.replace(word, spelled)
    })
}

/// A migration as PostgreSQL statements (columns with `ADD COLUMN IF NOT EXISTS`).
pub(crate) fn postgres(migration: &[Step]) -> String {
    let mut out = String::new();
    for step in migration {
        match step {
            Step::Sql(sql) => out.push_str(&render(sql, Dialect::Postgres)),
            Step::AddColumn {
                table,
                column,
                decl,
            } => out.push_str(&format!(
                "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {};\n",
                render(decl, Dialect::Postgres)
            )),
        }
    }
    out
}

/// Brings a SQLite store to the latest migration, in one transaction.
pub(crate) fn migrate_sqlite(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(0);
    if done >= MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    for migration in &MIGRATIONS[done..] {
        for step in *migration {
            match step {
                Step::Sql(sql) => tx.execute_batch(&render(sql, Dialect::Sqlite))?,
                Step::AddColumn {
                    table,
                    column,
                    decl,
                } => {
                    let has = tx
                        .prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
                        .exists([table, column])?;
                    if !has {
                        tx.execute_batch(&format!(
                            "ALTER TABLE {table} ADD COLUMN {column} {}",
                            render(decl, Dialect::Sqlite)
                        ))?;
                    }
                }
            }
        }
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table → its columns in order, from a fresh SQLite store.
    fn sqlite_shape() -> Vec<(String, Vec<String>)> {
        let dir = std::env::temp_dir().join(format!("tandem-schema-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("store.db");
        crate::store::SqliteStore::open(&path).expect("opens");
        let conn = rusqlite::Connection::open(&path).expect("opens");
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("tables");
        let shape = tables
            .into_iter()
            .map(|t| {
                let cols: Vec<String> = conn
                    .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                    .and_then(|mut s| s.query_map([&t], |r| r.get(0))?.collect())
                    .expect("columns");
                (t, cols)
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        shape
    }

    #[test]
    fn sqlite_and_postgres_get_the_same_tables_and_columns() {
        let url = std::env::var("TANDEM_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("schema_shape_{}", std::process::id());
        let mut admin = postgres::Client::connect(&url, postgres::NoTls)
            .expect("PostgreSQL on 127.0.0.1:5432 (database test) is reachable");
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .expect("drop");
        crate::pg::PgStore::open_in(&url, Some(&schema)).expect("migrates");
        let mut pg: Vec<(String, Vec<String>)> = Vec::new();
        for row in admin
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name <> 'schema_migrations'
                 ORDER BY table_name, ordinal_position",
                &[&schema],
            )
            .expect("columns")
        {
            let (t, c): (String, String) = (row.get(0), row.get(1));
            match pg.last_mut() {
                Some((last, cols)) if *last == t => cols.push(c),
                _ => pg.push((t, vec![c])),
            }
        }
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .expect("drop");
        let sqlite = sqlite_shape();
        assert!(sqlite.len() >= 9, "{sqlite:?}");
        assert_eq!(sqlite, pg);
    }

    #[test]
    fn sqlite_migrations_run_once_and_upgrade_an_unnumbered_store() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory");
        // A store from before the numbering: the first tables, no version recorded.
        conn.execute_batch(&render(
            match MIGRATIONS[0][0] {
                Step::Sql(sql) => sql,
                Step::AddColumn { .. } => unreachable!("the first migration is SQL"),
            },
            Dialect::Sqlite,
        ))
        .expect("old tables");
        migrate_sqlite(&conn).expect("upgrades");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
        let has_title = conn
            .prepare("SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'title'")
            .and_then(|mut s| s.exists([]))
            .expect("query");
        assert!(has_title);
        migrate_sqlite(&conn).expect("a second run changes nothing");
    }
}
