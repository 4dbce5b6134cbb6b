//! The database handle of routekit apps: one [sqlx](https://docs.rs/sqlx) pool for a SQLite
//! file or a PostgreSQL server, chosen by URL, the app's own migrations, and an extractor
//! that hands the pool to route files.
//!
//! The embedded auth server (`routekit-auth`) keeps its tables in a [`Db`] too, and gives it
//! out with `AuthService::db()`, so that an app's tables live in the same database as its
//! users: one file to back up with SQLite, one server to point several instances at with
//! PostgreSQL.
//!
//! ```no_run
//! use routekit_db::Db;
//!
//! # async fn f() -> Result<(), routekit_db::DbError> {
//! // Migrations in ./migrations, embedded at compile time (the app depends on sqlx 0.9 with
//! // the `migrate` and `macros` features).
//! # /*
//! static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
//! # */
//! # static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
//!
//! let db = Db::connect("sqlite://data/app.db").await?;
//! db.migrate(&MIGRATIONS).await?;
//! # Ok(()) }
//! ```
//!
//! Route files take [`Db`] as an argument once the app has it (`App::db(db)` in routekit):
//!
//! ```
//! use routekit_db::Db;
//!
//! // app/api/count/route.rs
//! pub async fn GET(db: Db) -> Result<String, sqlx::Error> {
//!     let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notes").fetch_one(db.pool()).await?;
//!     Ok(n.to_string())
//! }
//! ```
//!
//! SQL that runs on both backends uses `$1`-style parameters (SQLite reads them as named
//! parameters bound in order), `BIGINT` unix times and `TEXT` ids, as routekit-auth does.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

/// The sqlx version routekit-db is built on, for `Db::pool()`'s types.
pub use sqlx;

/// The table that records which of the app's migrations have run. Separate from the
/// `_sqlx_migrations` table of the auth server's own schema, so that the app numbers its
/// migrations freely.
pub const APP_MIGRATIONS_TABLE: &str = "_app_migrations";

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Why a database could not be opened or migrated.
///
/// ```
/// let e = routekit_db::DbError::Url("mysql".into());
/// assert!(e.to_string().contains("sqlite:// or postgres://"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DbError {
    /// The URL names no backend routekit-db knows (the scheme is given).
    Url(String),
    /// The URL's backend was not compiled in (the feature to turn on is given).
    Feature(&'static str),
    /// Connecting, or a query, failed.
    Sqlx(sqlx::Error),
    /// A migration failed or does not match what was applied before.
    Migrate(sqlx::migrate::MigrateError),
    /// The SQLite file or its folder could not be created or locked.
    Io(std::io::Error),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Url(scheme) => write!(
                f,
                "DATABASE_URL must start with sqlite:// or postgres:// (got {scheme})"
            ),
            DbError::Feature(feature) => write!(
                f,
                "DATABASE_URL needs the `{feature}` feature (routekit, routekit-auth and \
                 routekit-db have one of that name)"
            ),
            DbError::Sqlx(e) => write!(f, "database: {e}"),
            DbError::Migrate(e) => write!(f, "migration: {e}"),
            DbError::Io(e) => write!(f, "database file: {e}"),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DbError::Sqlx(e) => Some(e),
            DbError::Migrate(e) => Some(e),
            DbError::Io(e) => Some(e),
            DbError::Url(_) | DbError::Feature(_) => None,
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        DbError::Sqlx(e)
    }
}

/// A connection pool to the app's database, cheap to clone (clones share the pool).
///
/// SQLite files are opened in WAL mode with `synchronous=FULL` (an acknowledged write
/// survives a crash), foreign keys on and a 5 s busy timeout; their folder is created when
/// missing. A failed acquire gives up after 3 s, so that an outage answers quickly.
///
/// ```no_run
/// # async fn f() -> Result<(), routekit_db::DbError> {
/// let db = routekit_db::Db::connect("postgres://postgres@127.0.0.1/app").await?;
/// assert_eq!(db.backend(), routekit_db::Backend::Postgres);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// For a SQLite file, the lock file that migrations take turns on.
    lock_path: Option<Arc<str>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the backend is shown.
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path/to/file.db`, `postgres://…`), creating a SQLite
    /// file and its folder when needed.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), routekit_db::DbError> {
    /// let db = routekit_db::Db::connect("sqlite://data/app.db").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let mut lock_path = None;
        let (url, backend) = if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or(path);
            if !file.is_empty() && file != ":memory:" && !path.contains("mode=memory") {
                lock_path = Some(Arc::from(format!("{file}.lock")));
            }
            if let Some(dir) = Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(DbError::Io)?;
            }
            let url = if path.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            (url, Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_owned(), Backend::Postgres)
        } else {
            return Err(DbError::Url(
                url.split(':').next().unwrap_or_default().to_owned(),
            ));
        };
        // Without the backend's feature sqlx has no driver for the URL: say which feature.
        let (feature, built_in) = match backend {
            Backend::Sqlite => ("sqlite", cfg!(feature = "sqlite")),
            Backend::Postgres => ("postgres", cfg!(feature = "postgres")),
        };
        let explain = |e: sqlx::Error| {
            if built_in {
                DbError::Sqlx(e)
            } else {
                DbError::Feature(feature)
            }
        };
        let options = AnyConnectOptions::from_str(&url).map_err(explain)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(explain)?;
        Ok(Db {
            pool,
            backend,
            lock_path,
        })
    }

    /// The sqlx pool, for queries.
    ///
    /// ```no_run
    /// # async fn f(db: routekit_db::Db) -> Result<(), sqlx::Error> {
    /// sqlx::query("DELETE FROM notes WHERE owner = $1").bind("user-id").execute(db.pool()).await?;
    /// # Ok(()) }
    /// ```
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The backend in use, for the rare SQL that differs.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs the app's migrations that have not run yet, recording them in
    /// [`APP_MIGRATIONS_TABLE`]. Instances started together take turns: PostgreSQL with
    /// sqlx's advisory lock, SQLite with an exclusive lock on a file beside the database.
    ///
    /// ```no_run
    /// # /*
    /// static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    /// # */
    /// # static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
    ///
    /// # async fn f(db: routekit_db::Db) -> Result<(), routekit_db::DbError> {
    /// db.migrate(&MIGRATIONS).await?;
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self, migrations: &Migrator) -> Result<(), DbError> {
        let mut migrator = Migrator::with_migrations(migrations.iter().cloned().collect());
        migrator.dangerous_set_table_name(APP_MIGRATIONS_TABLE);
        self.run_migrations(&migrator).await
    }

    /// Runs `migrator` as it is (its own table), under the same lock as [`Db::migrate`]: for
    /// libraries such as routekit-auth that keep their own schema in the app's database.
    ///
    /// ```no_run
    /// # /*
    /// static SCHEMA: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    /// # */
    /// # static SCHEMA: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
    ///
    /// # async fn f(db: routekit_db::Db) -> Result<(), routekit_db::DbError> {
    /// db.run_migrations(&SCHEMA).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run_migrations(&self, migrator: &Migrator) -> Result<(), DbError> {
        // sqlx serialises PostgreSQL migrations with an advisory lock, but takes no lock on
        // SQLite: instances started together on a fresh file raced to create the tables. An
        // exclusive lock on a file beside the database makes them take turns; the later ones
        // find the schema migrated.
        let lock = match &self.lock_path {
            Some(path) => Some(lock_exclusively(path.to_string()).await?),
            None => None,
        };
        let result = migrator.run(&self.pool).await.map_err(DbError::Migrate);
        drop(lock);
        result
    }
}

/// Opens `path` (creating it) and waits for an exclusive lock on it, which lasts as long as
/// the file stays open; the operating system releases it if the process dies.
async fn lock_exclusively(path: String) -> Result<std::fs::File, DbError> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| DbError::Io(std::io::Error::other(e)))?
    .map_err(DbError::Io)
}

/// Whether `e` means "the database is not reachable right now" (answer 503 and retry), not
/// "this query is wrong" (a 500): connection, TLS, protocol and pool failures, PostgreSQL's
/// connection exceptions (08…), shutdowns and restarts (57P01–57P03) and resource exhaustion
/// (53…), and SQLite's busy, locked, I/O, full and cannot-open errors. routekit answers a
/// handler's `?` on such an error with 503 `unavailable`.
///
/// ```
/// assert!(routekit_db::is_outage(&sqlx::Error::PoolTimedOut));
/// assert!(!routekit_db::is_outage(&sqlx::Error::RowNotFound));
/// ```
pub fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // PostgreSQL's SQLSTATE: five characters.
            Some(code) if code.len() == 5 => {
                code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(code, "57P01" | "57P02" | "57P03")
            }
            // SQLite extended result codes: the primary code is the low byte.
            Some(code) => code
                .parse::<i32>()
                .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14)),
            None => false,
        },
        _ => false,
    }
}

/// A route file takes `db: Db` once the app has one (`App::db` in routekit, or any layer
/// that puts a `Db` into the request's extensions). Without it the request answers 500
/// `internal` and the cause is logged.
impl<S: Send + Sync> FromRequestParts<S> for Db {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Db>() {
            Some(db) => Ok(db.clone()),
            None => {
                tracing::error!(
                    "a handler takes `Db`, but the app has none: call `App::db(db)` (or give the \
                     request a `Db` extension)"
                );
                let mut res = Response::new(axum::body::Body::from(
                    r#"{"error":{"code":"internal","message":"internal error"}}"#,
                ));
                *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Err(res.into_response())
            }
        }
    }
}
