//! The database: SQLite by default (a file created on first run, WAL, `synchronous=FULL`),
//! PostgreSQL when the URL says so. One portable schema, migrated at start-up.
//!
//! All of the crate's SQL is here, one module per table group; queries answer with
//! `sqlx::Error` and typed rows, and the flows above decide what a result means.

mod email;
mod factors;
mod keys;
mod sessions;
mod users;

pub use email::MailboxEntry;
pub(crate) use email::{NewToken, TokenRow};
pub(crate) use factors::{ChallengeRow, NewFactor};
pub(crate) use keys::SigningKeyRow;
pub(crate) use sessions::{NewSession, SessionRow, Sessions};
pub(crate) use users::{NewUser, UserChanges};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::error::AuthError;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A connection pool to the auth database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Opens `path` (creating it) and waits for an exclusive lock on it, which lasts as long as
/// the file stays open; the operating system releases it if the process dies.
async fn lock_exclusively(path: String) -> Result<std::fs::File, AuthError> {
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
    .map_err(AuthError::internal)?
    .map_err(AuthError::internal)
}

impl Store {
    /// Connects (creating a SQLite file and its folder when needed) and runs the migrations.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), routekit_auth::AuthError> {
    /// let store = routekit_auth::Store::connect("sqlite://data/auth.db").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Store, AuthError> {
        sqlx::any::install_default_drivers();
        let mut lock_file = None;
        let (url, backend) = if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or(path);
            if !file.is_empty() && file != ":memory:" && !path.contains("mode=memory") {
                lock_file = Some(format!("{file}.lock"));
            }
            if let Some(dir) = Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(AuthError::internal)?;
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
            return Err(AuthError::internal(format!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got {})",
                url.split(':').next().unwrap_or_default()
            )));
        };
        // Without the store's feature sqlx has no driver for the URL: say which feature.
        let (feature, built_in) = match backend {
            Backend::Sqlite => ("sqlite", cfg!(feature = "sqlite")),
            Backend::Postgres => ("postgres", cfg!(feature = "postgres")),
        };
        let explain = |e: sqlx::Error| -> AuthError {
            if built_in {
                e.into()
            } else {
                AuthError::internal(format!(
                    "DATABASE_URL needs routekit-auth's `{feature}` feature (routekit has one of \
                     the same name)"
                ))
            }
        };
        let options = AnyConnectOptions::from_str(&url).map_err(explain)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            // A database outage answers 503 quickly instead of hanging requests.
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Durable commits: an acknowledged sign-up or refresh survives a crash.
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
        // sqlx serialises PostgreSQL migrations with an advisory lock, but takes no lock on
        // SQLite: instances started together on a fresh file raced to create the tables
        // (`table auth_users already exists`). An exclusive lock on a file beside the
        // database makes them take turns; the later ones find the schema migrated.
        let lock = match lock_file {
            Some(path) => Some(lock_exclusively(path).await?),
            None => None,
        };
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(AuthError::internal)?;
        drop(lock);
        Ok(Store { pool, backend })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}
