//! `Db` on a real SQLite file and a real PostgreSQL database: the app's migrations beside a
//! library's, concurrent start-ups, and the route-file extractor.

use routekit_db::{APP_MIGRATIONS_TABLE, Backend, Db, DbError};
use routekit_test::TestDb;
use sqlx::migrate::Migrator;

static APP: Migrator = sqlx::migrate!("tests/migrations_a");
static LIBRARY: Migrator = sqlx::migrate!("tests/migrations_b");

/// Both numbered from 1: the app's table and the library's (`_sqlx_migrations`) keep them
/// apart, and running either again changes nothing.
async fn app_and_library_migrations_share_a_database(url: &str) {
    let db = Db::connect(url).await.unwrap();
    db.run_migrations(&LIBRARY).await.unwrap();
    db.migrate(&APP).await.unwrap();
    db.migrate(&APP).await.unwrap();
    db.run_migrations(&LIBRARY).await.unwrap();
    sqlx::query("INSERT INTO notes (id, owner, text, created_at) VALUES ($1, $2, $3, $4)")
        .bind("n1")
        .bind("u1")
        .bind("hello")
        .bind(7_i64)
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO library_things (id) VALUES ($1)")
        .bind("t1")
        .execute(db.pool())
        .await
        .unwrap();
    let (versions,): (i64,) = sqlx::query_as(concat!("SELECT COUNT(*) FROM ", "_app_migrations"))
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(versions, 2);
    assert_eq!(APP_MIGRATIONS_TABLE, "_app_migrations");
    let (library,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(library, 1);
}

#[tokio::test]
async fn app_and_library_migrations_share_a_sqlite_file() {
    let file = TestDb::sqlite();
    app_and_library_migrations_share_a_database(file.url()).await;
    assert_eq!(
        Db::connect(file.url()).await.unwrap().backend(),
        Backend::Sqlite
    );
}

#[tokio::test]
async fn app_and_library_migrations_share_a_postgres_database() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    app_and_library_migrations_share_a_database(pg.url()).await;
    assert_eq!(
        Db::connect(pg.url()).await.unwrap().backend(),
        Backend::Postgres
    );
}

#[tokio::test]
async fn instances_started_together_on_a_fresh_sqlite_file_take_turns() {
    let file = TestDb::sqlite();
    let starts = (0..4).map(|_| async {
        let db = Db::connect(file.url()).await?;
        db.migrate(&APP).await?;
        Ok::<_, DbError>(db)
    });
    for result in futures_util::future::join_all(starts).await {
        result.unwrap();
    }
}

#[tokio::test]
async fn a_folder_is_created_for_a_new_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a/b/app.db").display());
    Db::connect(&url).await.unwrap();
    assert!(dir.path().join("a/b/app.db").exists());
}

#[tokio::test]
async fn an_unknown_scheme_is_named() {
    let err = Db::connect("mysql://localhost/app").await.unwrap_err();
    assert!(matches!(err, DbError::Url(ref s) if s == "mysql"));
    assert!(err.to_string().contains("sqlite:// or postgres://"));
}

#[tokio::test]
async fn a_migration_changed_after_it_ran_is_refused() {
    let file = TestDb::sqlite();
    let db = Db::connect(file.url()).await.unwrap();
    db.migrate(&APP).await.unwrap();
    let mut changed: Vec<_> = APP.iter().cloned().collect();
    changed[0].checksum = std::borrow::Cow::Owned(vec![0; 48]);
    let changed = Migrator::with_migrations(changed);
    assert!(matches!(
        db.migrate(&changed).await,
        Err(DbError::Migrate(_))
    ));
}

#[tokio::test]
async fn the_extractor_reads_the_request_and_answers_500_json_without_a_db() {
    use axum::extract::FromRequestParts;
    let (mut parts, ()) = http::Request::new(()).into_parts();
    let refused = Db::from_request_parts(&mut parts, &()).await.unwrap_err();
    assert_eq!(refused.status(), 500);
    assert_eq!(refused.headers()["content-type"], "application/json");
    let file = TestDb::sqlite();
    parts
        .extensions
        .insert(Db::connect(file.url()).await.unwrap());
    let db = Db::from_request_parts(&mut parts, &()).await.unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
}

#[test]
fn outages_are_told_apart_from_query_errors() {
    assert!(routekit_db::is_outage(&sqlx::Error::PoolClosed));
    assert!(!routekit_db::is_outage(&sqlx::Error::ColumnNotFound(
        "x".into()
    )));
}
