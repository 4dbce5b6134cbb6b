//! `routekit auth`: every command against a real SQLite file and a real PostgreSQL database,
//! checked through the auth service the app runs.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use routekit_auth::{AuthConfig, AuthService};
use routekit_test::TestDb;
use serde_json::Value;

use crate::{stderr, stdout};

/// The MFA encryption key both sides use, so that neither writes a key file (PostgreSQL's
/// default is `data/auth.key` in the working folder).
const ENCRYPTION_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// `routekit auth <args>` with the app's `DATABASE_URL`, and `stdin` on standard input.
fn auth(db: &TestDb, args: &[&str], stdin: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_routekit"))
        .arg("auth")
        .args(args)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("DATABASE_URL", db.url())
        .env("ROUTEKIT_AUTH_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run routekit");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

fn json(output: Output) -> Value {
    serde_json::from_str(&ok(output)).expect("JSON output")
}

/// The app's view of the database, started fresh so that nothing is cached from before.
async fn service(db: &TestDb) -> AuthService {
    let mut config = AuthConfig::new(db.url());
    config.encryption_key = Some(ENCRYPTION_KEY.to_owned());
    AuthService::start(config).await.unwrap()
}

async fn sign_in(auth: &AuthService, password: &str) -> Result<String, String> {
    let client = auth.client(&Default::default(), None);
    auth.sign_in_with_password(&client, "ann@example.com", password)
        .await
        .map(|s| s.refresh_token)
        .map_err(|e| e.code().as_str().to_owned())
}

async fn every_command(db: TestDb) {
    // The app has started once: the schema exists.
    drop(service(&db).await);
    let password = "correct horse battery staple";

    let created = ok(auth(
        &db,
        &[
            "users",
            "create",
            "Ann@Example.com",
            "--password-stdin",
            "--role",
            "super-admin",
        ],
        &format!("{password}\n"),
    ));
    assert!(
        created.starts_with("created ann@example.com\n"),
        "{created}"
    );
    assert!(created.contains("role:         super-admin"), "{created}");
    let refresh = sign_in(&service(&db).await, password).await.unwrap();

    let list = json(auth(&db, &["users", "list", "--json"], ""));
    assert_eq!(list["total"], 1);
    assert_eq!(list["users"][0]["email"], "ann@example.com");
    assert_eq!(list["users"][0]["app_metadata"]["role"], "super-admin");
    let id = list["users"][0]["id"].as_str().unwrap().to_owned();
    let table = ok(auth(&db, &["users", "list"], ""));
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains(&id) && table.contains("super-admin"),
        "{table}"
    );
    assert!(table.ends_with("page 1 of 1 (1 users)\n"), "{table}");

    let shown = json(auth(&db, &["users", "show", &id, "--json"], ""));
    assert_eq!(shown["email"], "ann@example.com");

    // Revoking sessions ends the refresh token the sign-in gave.
    let revoked = ok(auth(&db, &["sessions", "revoke", "ann@example.com"], ""));
    assert!(
        revoked.starts_with("signed ann@example.com out everywhere"),
        "{revoked}"
    );
    let app = service(&db).await;
    let refused = app.refresh(&refresh).await.unwrap_err();
    assert_eq!(refused.status().as_u16(), 400, "{refused}");

    // A ban refuses sign-in until it is lifted.
    let banned = json(auth(
        &db,
        &["users", "ban", "ann@example.com", "--for", "24h", "--json"],
        "",
    ));
    assert!(banned["banned_until"].is_string(), "{banned}");
    assert_eq!(
        sign_in(&service(&db).await, password).await.unwrap_err(),
        "user_banned"
    );
    ok(auth(&db, &["users", "unban", &id], ""));
    sign_in(&service(&db).await, password).await.unwrap();

    let cleared = json(auth(
        &db,
        &["users", "set-role", &id, "--clear", "--json"],
        "",
    ));
    assert!(cleared["app_metadata"].get("role").is_none(), "{cleared}");
    let set = json(auth(
        &db,
        &["users", "set-role", &id, "editor", "--json"],
        "",
    ));
    assert_eq!(set["app_metadata"]["role"], "editor");

    // A new signing key: both are in the JWKS, and the service key verifies with the app.
    let before = service(&db).await.keys().jwks()["keys"]
        .as_array()
        .unwrap()
        .len();
    let rotated = json(auth(&db, &["keys", "rotate", "--json"], ""));
    let app = service(&db).await;
    let jwks = app.keys().jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids.len(), before + 1);
    assert!(kids.contains(&rotated["kid"].as_str().unwrap()));
    let key = ok(auth(&db, &["service-key", "--ttl", "1h"], ""));
    app.verify_service_role_key(key.trim()).await.unwrap();

    let deleted = ok(auth(&db, &["users", "delete", "ann@example.com"], ""));
    assert_eq!(deleted, format!("deleted ann@example.com ({id})\n"));
    let gone = auth(&db, &["users", "show", &id], "");
    assert_eq!(gone.status.code(), Some(1));
    let err = stderr(&gone);
    assert!(err.starts_with("error: user_not_found: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test]
async fn every_command_on_sqlite() {
    every_command(TestDb::sqlite()).await;
}

#[tokio::test]
async fn every_command_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        every_command(db).await;
    }
}

#[tokio::test]
async fn bad_input_is_one_line_and_changes_nothing() {
    let db = TestDb::sqlite();
    // No database yet: refused, and not created.
    let missing = auth(&db, &["users", "list"], "");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).starts_with("error: no database at "),
        "{}",
        stderr(&missing)
    );
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    assert!(!std::path::Path::new(&path).exists());

    drop(service(&db).await);
    let weak = auth(
        &db,
        &["users", "create", "bob@example.com", "--password-stdin"],
        "short\n",
    );
    assert_eq!(weak.status.code(), Some(1));
    assert!(
        stderr(&weak).starts_with("error: weak_password: "),
        "{}",
        stderr(&weak)
    );
    let empty = auth(
        &db,
        &["users", "create", "bob@example.com", "--password-stdin"],
        "",
    );
    assert!(stderr(&empty).contains("standard input held no password"));
    let ban = auth(
        &db,
        &["users", "ban", "bob@example.com", "--for", "forever"],
        "",
    );
    assert!(
        stderr(&ban).starts_with("error: validation_failed: "),
        "{}",
        stderr(&ban)
    );
    let bad_id = auth(&db, &["users", "show", "not-a-uuid"], "");
    assert_eq!(bad_id.status.code(), Some(1));
    let ttl = auth(&db, &["service-key", "--ttl", "soon"], "");
    assert_eq!(ttl.status.code(), Some(2));
    let list = json(auth(&db, &["users", "list", "--json"], ""));
    assert_eq!(list["total"], 0, "nothing was half-written");
}
