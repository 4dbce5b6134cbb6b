//! Starting the example app and reading JSON errors.

use routekit_test::{TestDb, TestServer};
use serde_json::Value;

/// The example app with its auth server on a fresh SQLite file (its routes need sessions, so
/// it does not start without one), and the database, which must outlive the app.
pub(crate) async fn app() -> (routekit::App, TestDb) {
    let db = TestDb::sqlite();
    let config = saas::Config {
        auth: Some(routekit_auth::AuthConfig::new(db.url())),
        ..saas::Config::default()
    };
    let app = saas::app_with(config)
        .await
        .expect("the example app starts");
    (app, db)
}

/// The example app with its auth server on `db`.
pub(crate) async fn with_auth(db: &routekit_test::TestDb) -> TestServer {
    with_auth_config(routekit_auth::AuthConfig::new(db.url())).await
}

/// The example app with an auth server of the given settings.
pub(crate) async fn with_auth_config(auth: routekit_auth::AuthConfig) -> TestServer {
    let config = saas::Config {
        app: Default::default(),
        webhook_secret: None,
        auth: Some(auth),
        supabase: None,
        captcha: None,
    };
    let app = saas::app_with(config)
        .await
        .expect("the example app starts");
    TestServer::spawn(app.into_service()).await
}

pub(crate) use routekit_test::assert_error;

/// Enrolls and verifies a TOTP factor on the auth server at `base` for the `aal1` session's
/// user, through its HTTP API as supabase-js would; returns the `aal2` session.
pub(crate) async fn verify_a_totp_factor(base: &str, aal1: &str) -> Value {
    verified_totp_factor(base, aal1).await.0
}

/// As [`verify_a_totp_factor`], also returning the factor's secret.
pub(crate) async fn verified_totp_factor(base: &str, aal1: &str) -> (Value, Vec<u8>) {
    let client = reqwest::Client::new();
    let call = |path: String, body: Value| {
        client
            .post(format!("{base}/auth/v1{path}"))
            .header("x-supabase-api-version", "2024-01-01")
            .bearer_auth(aal1)
            .json(&body)
            .send()
    };
    let enrolled: Value = call(
        "/factors".into(),
        serde_json::json!({"factor_type": "totp"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let factor = enrolled["id"].as_str().unwrap();
    let secret =
        routekit_auth::base32_decode(enrolled["totp"]["secret"].as_str().unwrap()).unwrap();
    let challenge: Value = call(
        format!("/factors/{factor}/challenge"),
        serde_json::json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let step = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 30;
    let res = call(
        format!("/factors/{factor}/verify"),
        serde_json::json!({"challenge_id": challenge["id"], "code": routekit_auth::totp(&secret, step)}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "factor verified");
    (res.json().await.unwrap(), secret)
}

/// Repeats `request` until it is refused with 401 `unauthenticated`, asserting it is accepted
/// (200) until then and refused within `bound`; returns how long that took. For revocation,
/// which other instances learn of when their cached answer is rechecked.
pub(crate) async fn refused_within<F, Fut>(
    bound: std::time::Duration,
    mut request: F,
) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let start = std::time::Instant::now();
    loop {
        let res = request().await;
        if res.status() == 401 {
            assert_error(res, 401, "unauthenticated").await;
            return start.elapsed();
        }
        assert_eq!(res.status(), 200);
        assert!(
            start.elapsed() < bound,
            "still accepted {:?} after the sign-out",
            start.elapsed()
        );
        // Polling, not waiting for a fixed time: the bound is what is asserted.
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// The password every test account uses.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// Signs `email` up on the auth server at `base` (`http://127.0.0.1:PORT`); the session.
pub(crate) async fn sign_up(base: &str, email: &str) -> Value {
    auth_call(base, "/auth/v1/signup", email).await
}

/// Signs `email` in with the password on the auth server at `base`; the session.
pub(crate) async fn sign_in(base: &str, email: &str) -> Value {
    auth_call(base, "/auth/v1/token?grant_type=password", email).await
}

async fn auth_call(base: &str, path: &str, email: &str) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("x-supabase-api-version", "2024-01-01")
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// Signs every session of `access_token`'s user out on the auth server at `base`
/// (`POST /auth/v1/logout?scope=global`), asserting the 204.
pub(crate) async fn sign_out_everywhere(base: &str, access_token: &str) {
    let res = reqwest::Client::new()
        .post(format!("{base}/auth/v1/logout?scope=global"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

/// `GET /api/me` on `server`, shaped by `req` (credentials, headers); redirects not followed.
pub(crate) async fn me(
    server: &TestServer,
    req: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    req(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url("/api/me")))
    .send()
    .await
    .unwrap()
}

/// A session's access token.
pub(crate) fn token(session: &Value) -> String {
    session["access_token"].as_str().unwrap().to_owned()
}

/// `session` as the `@supabase/ssr` cookie of a page on 127.0.0.1 (`name=value`).
pub(crate) fn session_cookie(session: &Value) -> String {
    use base64::Engine;
    format!(
        "sb-127-auth-token=base64-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(session.to_string())
    )
}

/// A fresh PostgreSQL database reached through a proxy the test can cut, and the example's
/// settings pointing at it (through the proxy); `None` when PostgreSQL tests are skipped.
pub(crate) async fn postgres_behind_a_proxy()
-> Option<(TestDb, routekit_test::TcpProxy, saas::Config)> {
    let db = TestDb::postgres().await?;
    let (before, after) = db.url().split_once('@').unwrap();
    let (target, database) = after.split_once('/').unwrap();
    let proxy = routekit_test::TcpProxy::start(target).await;
    let url = format!("{before}@{}/{database}", proxy.addr());
    let config = saas::Config {
        auth: Some(routekit_auth::AuthConfig::new(url)),
        ..saas::Config::default()
    };
    Some((db, proxy, config))
}
