//! The embedded auth server inside the example app: mounted at `/auth/v1`, exempt from CSRF.

use routekit_test::TestDb;
use serde_json::{Value, json};

use crate::helpers::with_auth;

#[tokio::test]
async fn the_auth_api_is_served_and_exempt_from_csrf() {
    let db = TestDb::sqlite();
    let server = with_auth(&db).await;
    // A browser that holds the CSRF cookie but sends no token: the auth API reads only
    // the bearer token, so it needs none.
    let page = server.get("/auth/sign-in").send().await.unwrap();
    assert!(page.headers().get("set-cookie").is_some());
    let res = server
        .post("/auth/v1/signup")
        .header("x-supabase-api-version", "2024-01-01")
        .json(&json!({"email": "ann@example.com", "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    let user = server
        .get("/auth/v1/user")
        .bearer_auth(session["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 200);
    let health: Value = server
        .get("/auth/v1/health")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["name"], "GoTrue");
    // The app's own routes are still checked.
    let item = server
        .post("/api/notes")
        .json(&json!({"title": "Widget"}))
        .send()
        .await
        .unwrap();
    assert_eq!(item.status(), 403);
}

#[tokio::test]
async fn the_binary_creates_its_sqlite_database_on_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/auth.db");
    let url = format!("sqlite://{}", file.display());
    let server =
        routekit_test::ServerProcess::start(env!("CARGO_BIN_EXE_saas"), &[("DATABASE_URL", &url)])
            .await;
    let res = reqwest::get(format!("{}/auth/v1/.well-known/jwks.json", server.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let jwks: Value = res.json().await.unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert!(file.exists(), "the database file was created");
    assert!(server.terminate().await.success());
    // The signing key is kept: a restart publishes the same one.
    let server =
        routekit_test::ServerProcess::start(env!("CARGO_BIN_EXE_saas"), &[("DATABASE_URL", &url)])
            .await;
    let jwks: Value = reqwest::get(format!("{}/auth/v1/.well-known/jwks.json", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid);
    assert!(server.terminate().await.success());
}

/// Issue #12: `?` on an auth service error used to make every one a 500, a database outage
/// included.
#[tokio::test]
async fn a_handler_calling_the_auth_service_during_an_outage_answers_503() {
    use routekit::axum::routing::get;
    use routekit::{ApiResult, AuthApi, Json};

    let Some((_db, proxy, config)) = crate::helpers::postgres_behind_a_proxy().await else {
        return;
    };
    async fn probe(AuthApi(auth, _): AuthApi) -> ApiResult<Json<bool>> {
        let user = auth.user("00000000-0000-0000-0000-000000000000").await?;
        Ok(Json(user.is_some()))
    }
    let app = saas::app_with(config)
        .await
        .unwrap()
        .merge(routekit::axum::Router::new().route("/probe", get(probe)));
    let server = routekit_test::TestServer::spawn(app.into_service()).await;
    assert_eq!(server.get("/probe").send().await.unwrap().status(), 200);
    proxy.cut().await;
    crate::helpers::assert_error(
        server.get("/probe").send().await.unwrap(),
        503,
        "unavailable",
    )
    .await;
    proxy.restore().await;
    assert_eq!(server.get("/probe").send().await.unwrap().status(), 200);
}

/// Issue #12: an app whose routes need sessions, without auth, used to start and answer 500
/// on those routes; now it does not start, and says which files and what to do.
#[tokio::test]
async fn the_app_without_auth_does_not_start_and_names_the_files() {
    let app = saas::app_with(saas::Config::default()).await.unwrap();
    let problems = app.check().unwrap_err().to_string();
    for expected in [
        "app/api/me/route.rs: GET takes a `Session` or `SessionCookie`, but the app has no auth: call App::sessions(AuthService or SupabaseAuth) before serving",
        "app/account/route.rs: `pub const AUTH: Auth = Auth::Required` needs sessions",
        "app/auth/sign-in/route.rs: POST takes `AuthApi`, which needs the embedded auth server",
    ] {
        assert!(problems.contains(expected), "{expected}\nin:\n{problems}");
    }
    // `serve` returns it; `into_service` panics with it, before any request.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        saas::routes_only(&saas::Config::default()).into_service()
    }))
    .unwrap_err();
    let message = panicked.downcast_ref::<String>().unwrap();
    assert!(message.contains("app/api/me/route.rs"), "{message}");
    // Supabase mode has sessions; the pages that sign in with the embedded server answer 501.
    let project = routekit_auth::SupabaseConfig::new("http://127.0.0.1:9", "anon");
    let supabase = saas::routes_only(&saas::Config::default())
        .sessions(routekit_auth::SupabaseAuth::new(project).unwrap());
    assert!(supabase.check().is_ok());
    let server = routekit_test::TestServer::spawn(supabase.into_service())
        .await
        .with_csrf()
        .await;
    let res = server
        .post("/auth/sign-in")
        .form(&[
            ("email", "ann@example.com"),
            ("password", "x"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(res, 501, "embedded_auth_unavailable").await;
}

/// Issue #12: `.auth(a).supabase(p)` used to leave the embedded API mounted beside the hosted
/// project. Now one method sets the session source and one mounts the API: nothing is
/// mounted unless asked for, and the API beside Supabase sessions does not start.
#[tokio::test]
async fn the_auth_api_is_mounted_only_by_auth_api_and_never_beside_supabase_sessions() {
    let db = TestDb::sqlite();
    let auth = routekit_auth::AuthService::start(routekit_auth::AuthConfig::new(db.url()))
        .await
        .unwrap();
    let project = || {
        routekit_auth::SupabaseAuth::new(routekit_auth::SupabaseConfig::new(
            "http://127.0.0.1:9",
            "anon",
        ))
        .unwrap()
    };
    let health = |app: routekit::App| async move {
        let server = routekit_test::TestServer::spawn(app.into_service()).await;
        server
            .get("/auth/v1/health")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let routes = || saas::routes_only(&saas::Config::default());
    assert_eq!(health(routes().sessions(auth.clone())).await, 404);
    assert_eq!(health(routes().sessions(project())).await, 404);
    assert_eq!(
        health(routes().sessions(auth.clone()).auth_api(auth.clone())).await,
        200
    );
    let mixed = routes()
        .auth_api(auth)
        .sessions(project())
        .check()
        .unwrap_err();
    assert!(
        mixed
            .to_string()
            .contains("App::auth_api serves the embedded auth server"),
        "{mixed}"
    );
}

#[tokio::test]
async fn the_binary_confirms_sign_ups_by_mail_and_keeps_the_mail_locally_without_smtp() {
    let db = routekit_test::TestDb::sqlite();
    let mut server = routekit_test::ServerProcess::start(
        env!("CARGO_BIN_EXE_saas"),
        &[("DATABASE_URL", db.url())],
    )
    .await;
    let client = routekit_test::client();
    let settings: Value = client
        .get(format!("{}/auth/v1/settings", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["mailer_autoconfirm"], false);
    let res = client
        .post(format!("{}/auth/v1/signup", server.url()))
        .json(&json!({"email": "ann@example.com", "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.unwrap();
    assert!(
        user.get("access_token").is_none(),
        "no session before confirmation"
    );
    let page = client
        .get(format!("{}/_routekit/mailbox", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Confirm Your Signup") && page.contains("ann@example.com"));
    assert!(page.contains("/auth/v1/verify?token="));
    // Nothing of the mail reaches the log.
    let token_at = page.find("verify?token=").unwrap() + "verify?token=".len();
    let token = &page[token_at..token_at + 43];
    // The log, up to the line of the mailbox request, never carries it.
    loop {
        let line = server.next_line().await.expect("server log");
        assert!(
            !line.contains(token),
            "the mailed token is in the log: {line}"
        );
        if line.contains("/_routekit/mailbox") {
            break;
        }
    }
    assert!(server.terminate().await.success());
}
