//! Supabase mode: the example app verifies sessions issued by a "hosted" project, which here
//! is a second routekit auth server on its own port, reached over HTTP as a hosted Supabase
//! project would be.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use routekit::SessionConfig;
use routekit_auth::{AuthConfig, AuthService, SupabaseAuth, SupabaseConfig};
use routekit_test::{TestDb, TestServer, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_error, me, session_cookie as cookie, token};

on_both_databases!(
    jwks_tokens_are_verified_locally_and_the_project_is_asked_once_per_token,
    tokens_the_project_did_not_sign_are_refused,
    a_rotated_signing_key_is_fetched_on_its_first_unknown_kid,
    the_project_decides_the_mfa_rule_whatever_the_cookie_says,
    the_project_decides_the_role_whatever_the_cookie_says,
    a_session_signed_out_at_the_project_stops_working,
    legacy_hs256_tokens_need_the_configured_secret,
    an_expiring_cookie_is_refreshed_by_the_project,
    a_forged_expiring_cookie_never_reaches_the_projects_token_endpoint,
    a_refused_refresh_is_not_retried_on_every_request,
);

const LEGACY_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

/// A request's `apikey` and `Authorization` headers.
type KeyHeaders = (String, Option<String>);

/// The "hosted" project, with counts of the calls the app makes to it.
struct Project {
    server: TestServer,
    auth: AuthService,
    user_calls: Arc<AtomicUsize>,
    jwks_calls: Arc<AtomicUsize>,
    token_calls: Arc<AtomicUsize>,
    /// The `apikey` and `Authorization` headers of each JWKS request.
    jwks_headers: Arc<Mutex<Vec<KeyHeaders>>>,
}

async fn project(db: &TestDb, configure: impl FnOnce(AuthConfig) -> AuthConfig) -> Project {
    project_on(TestServer::reserve().await, db, configure).await
}

async fn project_on(
    reserved: routekit_test::Reserved,
    db: &TestDb,
    configure: impl FnOnce(AuthConfig) -> AuthConfig,
) -> Project {
    // Its tokens name it as their issuer, as https://<ref>.supabase.co/auth/v1 does.
    let config = configure(AuthConfig::new(db.url()).with_site_url(reserved.url("")));
    let auth = AuthService::start(config).await.unwrap();
    let (user_calls, jwks_calls, jwks_headers) = (Arc::default(), Arc::default(), Arc::default());
    let token_calls: Arc<AtomicUsize> = Arc::default();
    let counted = {
        let (user_calls, jwks_calls, jwks_headers): (
            Arc<AtomicUsize>,
            Arc<AtomicUsize>,
            Arc<Mutex<Vec<_>>>,
        ) = (
            Arc::clone(&user_calls),
            Arc::clone(&jwks_calls),
            Arc::clone(&jwks_headers),
        );
        let token_calls = Arc::clone(&token_calls);
        move |req: routekit::axum::extract::Request| {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            match req.uri().path() {
                "/auth/v1/user" => {
                    user_calls.fetch_add(1, Ordering::SeqCst);
                }
                "/auth/v1/token" => {
                    token_calls.fetch_add(1, Ordering::SeqCst);
                }
                "/auth/v1/.well-known/jwks.json" => {
                    jwks_calls.fetch_add(1, Ordering::SeqCst);
                    jwks_headers.lock().unwrap().push((
                        header("apikey").unwrap_or_default(),
                        header("authorization"),
                    ));
                }
                _ => {}
            }
            req
        }
    };
    let router = tower::ServiceExt::map_request(routekit_auth::router(auth.clone()), counted);
    Project {
        server: reserved.spawn(router).await,
        auth,
        user_calls,
        jwks_calls,
        token_calls,
        jwks_headers,
    }
}

impl Project {
    fn config(&self) -> SupabaseConfig {
        SupabaseConfig::new(self.server.url(""), "anon-key")
    }

    async fn sign_up(&self, email: &str) -> Value {
        crate::helpers::sign_up(&self.server.url(""), email).await
    }

    async fn sign_in(&self, email: &str) -> Value {
        crate::helpers::sign_in(&self.server.url(""), email).await
    }
}

/// The example app in Supabase mode.
async fn app(project: SupabaseConfig, sessions: SessionConfig) -> TestServer {
    let app = saas::routes_only(&saas::Config::default())
        .sessions(SupabaseAuth::new(project).unwrap())
        .session_config(sessions);
    TestServer::spawn(app.into_service()).await
}

async fn jwks_tokens_are_verified_locally_and_the_project_is_asked_once_per_token(db: TestDb) {
    let project = project(&db, |c| c).await;
    let app = app(project.config(), SessionConfig::default()).await;
    let session = project.sign_up("ann@example.com").await;
    for _ in 0..3 {
        let res = me(&app, |r| r.bearer_auth(token(&session))).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["email"], "ann@example.com");
        assert_eq!(body["id"], session["user"]["id"]);
    }
    let res = me(&app, |r| r.header("cookie", cookie(&session))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(project.jwks_calls.load(Ordering::SeqCst), 1, "JWKS cached");
    // The key goes in `apikey`; a key that is not a JWT (a publishable key) is never sent as
    // a Bearer token.
    assert_eq!(
        *project.jwks_headers.lock().unwrap(),
        [("anon-key".to_owned(), None)]
    );
    assert_eq!(
        project.user_calls.load(Ordering::SeqCst),
        1,
        "the session and its factors are looked up once, then cached"
    );
    // No session at all: the same refusals as with the embedded server.
    assert_error(me(&app, |r| r).await, 401, "unauthenticated").await;
    let nav = me(&app, |r| r.header("sec-fetch-mode", "navigate")).await;
    assert_eq!(nav.status(), 307);
    assert_eq!(nav.headers()["location"], "/auth/sign-in?next=%2Fapi%2Fme");
}

async fn tokens_the_project_did_not_sign_are_refused(db: TestDb) {
    let project = project(&db, |c| c).await;
    let app = app(project.config(), SessionConfig::default()).await;
    let good = token(&project.sign_up("ann@example.com").await);
    // A rogue server claiming the project's issuer, with keys of its own (an unknown kid).
    let rogue_db = TestDb::sqlite();
    let rogue_auth =
        AuthService::start(AuthConfig::new(rogue_db.url()).with_site_url(project.server.url("")))
            .await
            .unwrap();
    let rogue = TestServer::spawn(routekit_auth::router(rogue_auth)).await;
    let rogue_token = {
        let res = reqwest::Client::new()
            .post(rogue.url("/auth/v1/signup"))
            .json(&json!({"email": "eve@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        token(&res.json::<Value>().await.unwrap())
    };
    // The rogue's kid names the project's key: the signature does not verify.
    let project_kid = project.auth.keys().jwks()["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (header, rest) = rogue_token.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"] = json!(project_kid);
    let borrowed_kid = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
    // HS256 when the app has no legacy secret; `alg: none`.
    let (good_header, good_rest) = good.split_once('.').unwrap();
    let payload = good_rest.split_once('.').unwrap().0;
    let mut hs: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(good_header).unwrap()).unwrap();
    hs["alg"] = json!("HS256");
    let hs256 = format!(
        "{}.{payload}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(hs.to_string())
    );
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
    let mut expired: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    expired["exp"] = json!(1);
    let expired = format!(
        "{good_header}.{}.{}",
        URL_SAFE_NO_PAD.encode(expired.to_string()),
        good_rest.split_once('.').unwrap().1
    );
    for bad in [
        rogue_token,
        borrowed_kid,
        hs256,
        none,
        expired,
        "garbage".to_owned(),
    ] {
        assert_error(
            me(&app, |r| r.bearer_auth(&bad)).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    assert_eq!(
        project.user_calls.load(Ordering::SeqCst),
        0,
        "refused locally"
    );
    assert!(
        project.jwks_calls.load(Ordering::SeqCst) <= 2,
        "one fetch, and at most one more for the unknown kid"
    );
    assert_eq!(me(&app, |r| r.bearer_auth(&good)).await.status(), 200);
}

async fn a_rotated_signing_key_is_fetched_on_its_first_unknown_kid(db: TestDb) {
    let project = project(&db, |c| c).await;
    let app = app(project.config(), SessionConfig::default()).await;
    let before = project.sign_up("ann@example.com").await;
    assert_eq!(
        me(&app, |r| r.bearer_auth(token(&before))).await.status(),
        200
    );
    assert_eq!(project.jwks_calls.load(Ordering::SeqCst), 1);
    let new_kid = project.auth.keys().rotate().await.unwrap();
    let after = project.sign_in("ann@example.com").await;
    let header = token(&after).split('.').next().unwrap().to_owned();
    assert!(
        String::from_utf8(URL_SAFE_NO_PAD.decode(header).unwrap())
            .unwrap()
            .contains(&new_kid)
    );
    assert_eq!(
        me(&app, |r| r.bearer_auth(token(&after))).await.status(),
        200
    );
    assert_eq!(
        project.jwks_calls.load(Ordering::SeqCst),
        2,
        "fetched again once"
    );
    // The retired key is still listed until its tokens expire.
    assert_eq!(
        me(&app, |r| r.bearer_auth(token(&before))).await.status(),
        200
    );
}

async fn the_project_decides_the_mfa_rule_whatever_the_cookie_says(db: TestDb) {
    let project = project(&db, |c| c).await;
    let app = app(project.config(), SessionConfig::default()).await;
    let aal1 = project.sign_up("ann@example.com").await;
    assert_eq!(
        me(&app, |r| r.bearer_auth(token(&aal1))).await.status(),
        200
    );
    let aal2 = crate::helpers::verify_a_totp_factor(&project.server.url(""), &token(&aal1)).await;
    let res = me(&app, |r| r.bearer_auth(token(&aal2))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["aal"], "aal2");
    // A second device, password only; its cookie's copy of the user hides the factor.
    let mut second = project.sign_in("ann@example.com").await;
    assert_error(
        me(&app, |r| r.bearer_auth(token(&second))).await,
        403,
        "mfa_required",
    )
    .await;
    second["user"]["factors"] = json!([]);
    assert_error(
        me(&app, |r| r.header("cookie", cookie(&second))).await,
        403,
        "mfa_required",
    )
    .await;
    let nav = me(&app, |r| {
        r.header("cookie", cookie(&second))
            .header("sec-fetch-mode", "navigate")
    })
    .await;
    assert_eq!(nav.status(), 307);
    assert_eq!(nav.headers()["location"], "/auth/verify?next=%2Fapi%2Fme");
}

async fn the_project_decides_the_role_whatever_the_cookie_says(db: TestDb) {
    let project = project(&db, |c| c).await;
    let mut rechecked = SessionConfig::default();
    rechecked.recheck_after = Duration::from_millis(300);
    let routes = routekit::RouteTable::new(vec![
        routekit::Route::new("/admin", "app/admin/route.rs", &["/admin"])
            .get(|| async { "the admin page" })
            .auth(routekit::Auth::Role("super-admin")),
    ]);
    let app = routekit::App::new(routes)
        .sessions(SupabaseAuth::new(project.config()).unwrap())
        .session_config(rechecked);
    let app = TestServer::spawn(app.into_service()).await;
    let admin = |r: reqwest::RequestBuilder| r.send();
    let get = |r: &dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder| {
        admin(r(app.get("/admin")))
    };
    let boss = project.sign_up("boss@example.com").await;
    let ann = project.sign_up("ann@example.com").await;
    let boss_id = boss["user"]["id"].as_str().unwrap().to_owned();
    // The project's own admin API gives the role (as a Supabase dashboard would).
    project
        .auth
        .admin()
        .update_user(
            &boss_id,
            routekit_auth::AccountUpdate::role(Some("super-admin")),
        )
        .await
        .unwrap();
    let boss = crate::helpers::verify_a_totp_factor(&project.server.url(""), &token(&boss)).await;
    let ann = crate::helpers::verify_a_totp_factor(&project.server.url(""), &token(&ann)).await;
    let res = get(&|r| r.bearer_auth(token(&boss))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_error(
        get(&|r| r.bearer_auth(token(&ann))).await.unwrap(),
        404,
        "not_found",
    )
    .await;
    // Ann's cookie claims the role in its copy of the user: the project says otherwise.
    let mut claimed = ann.clone();
    claimed["user"]["app_metadata"]["role"] = json!("super-admin");
    assert_error(
        get(&|r| r.header("cookie", cookie(&claimed)))
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    // Taken away at the project: refused once the app rechecks.
    project
        .auth
        .admin()
        .update_user(&boss_id, routekit_auth::AccountUpdate::role(None))
        .await
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let res = get(&|r| r.bearer_auth(token(&boss))).await.unwrap();
        if res.status() == 404 {
            break;
        }
        assert_eq!(res.status(), 200);
        assert!(
            start.elapsed() < Duration::from_millis(1300),
            "the role outlived the recheck"
        );
    }
}

async fn a_session_signed_out_at_the_project_stops_working(db: TestDb) {
    let project = project(&db, |c| c).await;
    let mut rechecked = SessionConfig::default();
    rechecked.recheck_after = Duration::from_millis(300);
    let app = app(project.config(), rechecked).await;
    let session = project.sign_up("ann@example.com").await;
    assert_eq!(
        me(&app, |r| r.bearer_auth(token(&session))).await.status(),
        200
    );
    crate::helpers::sign_out_everywhere(&project.server.url(""), &token(&session)).await;
    // The app learns of it when its cached answer is rechecked: within `recheck_after`.
    let took =
        crate::helpers::refused_within(Duration::from_millis(300) + Duration::from_secs(1), || {
            me(&app, |r| r.bearer_auth(token(&session)))
        })
        .await;
    eprintln!("refused {took:?} after the sign-out at the project");
}

async fn legacy_hs256_tokens_need_the_configured_secret(db: TestDb) {
    let project = project(&db, |c| c.with_jwt_secret(LEGACY_SECRET)).await;
    let session = project.sign_up("ann@example.com").await;
    let header = token(&session).split('.').next().unwrap().to_owned();
    assert_eq!(
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()["alg"],
        "HS256"
    );
    let with_secret = app(
        project.config().with_jwt_secret(LEGACY_SECRET),
        SessionConfig::default(),
    )
    .await;
    let res = me(&with_secret, |r| r.bearer_auth(token(&session))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["email"],
        "ann@example.com"
    );
    let wrong_secret = app(
        project
            .config()
            .with_jwt_secret("another-secret-that-is-also-32-characters-long"),
        SessionConfig::default(),
    )
    .await;
    let no_secret = app(project.config(), SessionConfig::default()).await;
    for app in [wrong_secret, no_secret] {
        assert_error(
            me(&app, |r| r.bearer_auth(token(&session))).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    assert_eq!(
        project.jwks_calls.load(Ordering::SeqCst),
        0,
        "HS256 needs no JWKS"
    );
}

async fn an_expiring_cookie_is_refreshed_by_the_project(db: TestDb) {
    let project = project(&db, |c| c.with_jwt_exp(Duration::from_secs(30))).await;
    let app = app(project.config(), SessionConfig::default()).await;
    let session = project.sign_up("ann@example.com").await;
    let requests = (0..4).map(|_| me(&app, |r| r.header("cookie", cookie(&session))));
    let mut refresh_tokens = std::collections::HashSet::new();
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.status(), 200);
        let fresh = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("sb-127-auth-token=base64-"))
            .expect("rewritten cookie");
        let value =
            fresh.split(';').next().unwrap()["sb-127-auth-token=base64-".len()..].to_owned();
        let rewritten: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).unwrap()).unwrap();
        assert_ne!(rewritten["refresh_token"], session["refresh_token"]);
        refresh_tokens.insert(rewritten["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        refresh_tokens.len(),
        1,
        "the project's reuse rule: one new session"
    );
    // A refresh token the project refuses: no session, not an error.
    let mut revoked = session.clone();
    revoked["refresh_token"] = json!("not-a-refresh-token");
    assert_error(
        me(&app, |r| r.header("cookie", cookie(&revoked))).await,
        401,
        "unauthenticated",
    )
    .await;
}

/// Issue #11: a cookie with a forged, expired access token used to make the app call the
/// project's `/token` for every request, from the app's own address, which can exhaust the
/// project's per-IP limit for every user of the app.
async fn a_forged_expiring_cookie_never_reaches_the_projects_token_endpoint(db: TestDb) {
    let project = project(&db, |c| c).await;
    let app = app(project.config(), SessionConfig::default()).await;
    let session = project.sign_up("ann@example.com").await;
    // The real token's claims, expired, under a signature that is not the project's.
    let real = token(&session);
    let mut parts = real.split('.');
    let header = parts.next().unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 10);
    let forged = format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    );
    let mut cookie_session = session.clone();
    cookie_session["access_token"] = json!(forged);
    let before = project.token_calls.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_error(
            me(&app, |r| r.header("cookie", cookie(&cookie_session))).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    assert_eq!(
        project.token_calls.load(Ordering::SeqCst),
        before,
        "never refreshed"
    );
    // The real refresh token was not spent either.
    let res = reqwest::Client::new()
        .post(
            project
                .server
                .url("/auth/v1/token?grant_type=refresh_token"),
        )
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn a_refused_refresh_is_not_retried_on_every_request(db: TestDb) {
    let project = project(&db, |c| c.with_jwt_exp(Duration::from_secs(30))).await;
    let app = app(project.config(), SessionConfig::default()).await;
    let session = project.sign_up("ann@example.com").await;
    // A real (expiring) access token with a refresh token the project refuses.
    let mut revoked = session.clone();
    revoked["refresh_token"] = json!("not-a-refresh-token");
    let before = project.token_calls.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_error(
            me(&app, |r| r.header("cookie", cookie(&revoked))).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    assert_eq!(
        project.token_calls.load(Ordering::SeqCst) - before,
        1,
        "one refresh call, remembered as failed"
    );
}

#[tokio::test]
async fn an_unreachable_project_is_503_not_a_pass() {
    let db = TestDb::sqlite();
    // The app reaches the project through a proxy that can be cut; the project's public URL
    // (its issuer) is the proxy's.
    let reserved = TestServer::reserve().await;
    let proxy =
        routekit_test::TcpProxy::start(reserved.url("").trim_start_matches("http://")).await;
    let public = format!("http://{}", proxy.addr());
    let project = project_on(reserved, &db, |c| c.with_site_url(&public)).await;
    let mut config = SupabaseConfig::new(&public, "anon-key");
    config.timeout = Duration::from_secs(2);
    let app = app(config, SessionConfig::default()).await;
    let session = project.sign_up("ann@example.com").await;
    proxy.cut().await;
    assert_error(
        me(&app, |r| r.bearer_auth(token(&session))).await,
        503,
        "unavailable",
    )
    .await;
    proxy.restore().await;
    assert_eq!(
        me(&app, |r| r.bearer_auth(token(&session))).await.status(),
        200
    );
    drop(db);
}
