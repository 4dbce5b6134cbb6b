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

use sqlx::AnyPool;

use crate::error::AuthError;

pub use routekit_db::Backend;

/// A connection pool to the auth database: the app's [`Db`](routekit_db::Db), with the auth
/// schema migrated into it.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    db: routekit_db::Db,
}

/// The auth server's schema, recorded in sqlx's default `_sqlx_migrations` table (the app's
/// own migrations use `routekit_db::APP_MIGRATIONS_TABLE`).
static SCHEMA: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Connects (creating a SQLite file and its folder when needed) and runs the migrations.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), routekit_auth::AuthError> {
    /// let store = routekit_auth::Store::connect("sqlite://data/auth.db").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Store, AuthError> {
        let db = routekit_db::Db::connect(url).await.map_err(db_error)?;
        Store::open(db).await
    }

    /// The auth tables in an app's database: runs the auth migrations that have not run yet.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let db = routekit_db::Db::connect("sqlite://data/app.db").await?;
    /// let store = routekit_auth::Store::open(db).await?;
    /// # Ok(()) }
    /// ```
    pub async fn open(db: routekit_db::Db) -> Result<Store, AuthError> {
        db.run_migrations(&SCHEMA).await.map_err(db_error)?;
        Ok(Store {
            pool: db.pool().clone(),
            backend: db.backend(),
            db,
        })
    }

    /// The database the auth tables live in, for the app's own tables.
    ///
    /// ```no_run
    /// # async fn f(store: routekit_auth::Store) {
    /// let db: routekit_db::Db = store.db().clone();
    /// # }
    /// ```
    pub fn db(&self) -> &routekit_db::Db {
        &self.db
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// A database that cannot be reached is unavailable (503); anything else about opening it
/// (a bad URL, a missing feature, a failed migration) is a set-up error.
fn db_error(e: routekit_db::DbError) -> AuthError {
    match e {
        routekit_db::DbError::Sqlx(e) => e.into(),
        other => AuthError::internal(other),
    }
}
