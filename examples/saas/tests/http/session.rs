//! `Session` on a real server: where the token comes from, what refuses it, and the MFA rule.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use routekit_test::{TestDb, TestServer, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_error, me, session_cookie, token, with_auth};

async fn sign_up(server: &TestServer, email: &str) -> Value {
    crate::helpers::sign_up(&server.url(""), email).await
}

on_both_databases!(
    no_session_is_401_for_fetch_and_a_redirect_for_navigation,
    bearer_and_cookie_sessions_are_accepted,
    forged_expired_and_foreign_tokens_are_refused,
    a_signed_out_session_stops_working_at_once,
    a_session_signed_out_on_another_instance_stops_within_the_recheck_interval,
    a_user_banned_on_another_instance_is_refused_within_the_recheck_interval,
    a_user_with_a_verified_factor_needs_aal2,
    a_route_with_auth_required_runs_only_with_a_session,
    a_protected_mutation_needs_both_a_session_and_a_csrf_token,
    an_expiring_cookie_is_refreshed_on_the_server_and_rewritten,
    concurrent_requests_with_one_expiring_cookie_keep_the_family_alive,
);

async fn no_session_is_401_for_fetch_and_a_redirect_for_navigation(db: TestDb) {
    let server = with_auth(&db).await;
    assert_error(me(&server, |r| r).await, 401, "unauthenticated").await;
    assert_error(
        me(&server, |r| r.header("accept", "application/json")).await,
        401,
        "unauthenticated",
    )
    .await;
    let nav = me(&server, |r| r.header("sec-fetch-mode", "navigate")).await;
    assert_eq!(nav.status(), 307);
    assert_eq!(nav.headers()["location"], "/auth/sign-in?next=%2Fapi%2Fme");
    let nav = me(&server, |r| r.header("accept", "text/html,*/*;q=0.8")).await;
    assert_eq!(nav.status(), 307);
}

async fn bearer_and_cookie_sessions_are_accepted(db: TestDb) {
    let server = with_auth(&db).await;
    let session = sign_up(&server, "ann@example.com").await;
    let res = me(&server, |r| r.bearer_auth(token(&session))).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["aal"], "aal1");

    // As @supabase/ssr writes it: base64-prefixed, bare or in chunks; or raw JSON.
    let encoded = format!("base64-{}", URL_SAFE_NO_PAD.encode(session.to_string()));
    let res = me(&server, |r| {
        r.header("cookie", format!("sb-127-auth-token={encoded}"))
    })
    .await;
    assert_eq!(res.status(), 200);
    let (a, b) = encoded.split_at(encoded.len() / 2);
    let res = me(&server, |r| {
        r.header(
            "cookie",
            format!("sb-127-auth-token.0={a}; sb-127-auth-token.1={b}"),
        )
    })
    .await;
    assert_eq!(res.status(), 200);
    let raw = percent_encoding::utf8_percent_encode(
        &session.to_string(),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let res = me(&server, |r| {
        r.header("cookie", format!("sb-127-auth-token={raw}"))
    })
    .await;
    assert_eq!(res.status(), 200);
    // Only the name supabase-js gives this host's cookie is read (issue #11): a cookie another
    // subdomain planted under its own name is not a session here.
    let res = me(&server, |r| {
        r.header("cookie", format!("sb-localhost-auth-token={raw}"))
    })
    .await;
    assert_eq!(res.status(), 401);
}

async fn forged_expired_and_foreign_tokens_are_refused(db: TestDb) {
    let server = with_auth(&db).await;
    let session = sign_up(&server, "ann@example.com").await;
    let good = token(&session);
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let claims = decode(payload);
    let mut none_header = decode(header);
    none_header["alg"] = json!("none");
    let mut unknown_kid = decode(header);
    unknown_kid["kid"] = json!("nope");
    let mut expired = claims.clone();
    expired["exp"] = json!(1);
    let mut other_aud = claims.clone();
    other_aud["aud"] = json!("anon");
    // HS256 keyed with the published public key (the key-confusion attack).
    let jwks: Value = reqwest::get(server.url("/auth/v1/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut hs_header = decode(header);
    hs_header["alg"] = json!("HS256");
    let hs_input = format!("{}.{payload}", encode(&hs_header));
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(
        jwks["keys"][0].to_string().as_bytes(),
    )
    .unwrap();
    hmac::Mac::update(&mut mac, hs_input.as_bytes());
    let hs256 = format!(
        "{hs_input}.{}",
        URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(mac).into_bytes())
    );
    for bad in [
        hs256,
        "garbage".to_owned(),
        format!("{}.{payload}.", encode(&none_header)),
        format!(
            "{}.{payload}.{}",
            encode(&unknown_kid),
            rest.split_once('.').unwrap().1
        ),
        format!(
            "{header}.{}.{}",
            encode(&expired),
            rest.split_once('.').unwrap().1
        ),
        format!(
            "{header}.{}.{}",
            encode(&other_aud),
            rest.split_once('.').unwrap().1
        ),
    ] {
        assert_error(
            me(&server, |r| r.bearer_auth(&bad)).await,
            401,
            "unauthenticated",
        )
        .await;
    }
}

async fn a_signed_out_session_stops_working_at_once(db: TestDb) {
    let server = with_auth(&db).await;
    let session = sign_up(&server, "ann@example.com").await;
    let t = token(&session);
    assert_eq!(
        me(&server, |r| r.bearer_auth(&t)).await.status(),
        200,
        "now cached"
    );
    crate::helpers::sign_out_everywhere(&server.url(""), &t).await;
    assert_error(
        me(&server, |r| r.bearer_auth(&t)).await,
        401,
        "unauthenticated",
    )
    .await;
}

async fn a_session_signed_out_on_another_instance_stops_within_the_recheck_interval(db: TestDb) {
    // Two instances of the app on one database, as behind a load balancer.
    let instance = |recheck_after: std::time::Duration| {
        let url = db.url().to_owned();
        async move {
            let auth = routekit_auth::AuthService::start(routekit_auth::AuthConfig::new(url))
                .await
                .unwrap();
            let mut sessions = routekit::SessionConfig::default();
            sessions.recheck_after = recheck_after;
            let app = saas::routes_only(&saas::Config::default())
                .sessions(auth.clone())
                .session_config(sessions)
                .auth_api(auth);
            TestServer::spawn(app.into_service()).await
        }
    };
    let a = instance(std::time::Duration::from_secs(5)).await;
    let b = instance(std::time::Duration::from_millis(300)).await;
    let session = sign_up(&a, "ann@example.com").await;
    let t = token(&session);
    assert_eq!(
        me(&b, |r| r.bearer_auth(&t)).await.status(),
        200,
        "cached on b"
    );
    crate::helpers::sign_out_everywhere(&a.url(""), &t).await;
    assert_error(me(&a, |r| r.bearer_auth(&t)).await, 401, "unauthenticated").await;
    let took = crate::helpers::refused_within(std::time::Duration::from_millis(1300), || {
        me(&b, |r| r.bearer_auth(&t))
    })
    .await;
    eprintln!("instance b refused the session {took:?} after the sign-out on a");
}

async fn a_user_banned_on_another_instance_is_refused_within_the_recheck_interval(db: TestDb) {
    let operator = routekit_auth::AuthService::start(routekit_auth::AuthConfig::new(db.url()))
        .await
        .unwrap();
    let auth = routekit_auth::AuthService::start(routekit_auth::AuthConfig::new(db.url()))
        .await
        .unwrap();
    let mut sessions = routekit::SessionConfig::default();
    sessions.recheck_after = std::time::Duration::from_millis(300);
    let app = saas::routes_only(&saas::Config::default())
        .sessions(auth.clone())
        .session_config(sessions)
        .auth_api(auth);
    let server = TestServer::spawn(app.into_service()).await;
    let session = sign_up(&server, "ann@example.com").await;
    let t = token(&session);
    assert_eq!(
        me(&server, |r| r.bearer_auth(&t)).await.status(),
        200,
        "cached"
    );
    // The operator bans her through another instance of the auth service.
    operator
        .admin()
        .update_user(
            session["user"]["id"].as_str().unwrap(),
            routekit_auth::AccountUpdate::default().ban(routekit_auth::Ban::For(
                std::time::Duration::from_secs(3600),
            )),
        )
        .await
        .unwrap();
    let took = crate::helpers::refused_within(std::time::Duration::from_millis(1300), || {
        me(&server, |r| r.bearer_auth(&t))
    })
    .await;
    eprintln!("the app refused the banned user's session {took:?} after the ban");
}

async fn a_user_with_a_verified_factor_needs_aal2(db: TestDb) {
    let server = with_auth(&db).await;
    let session = sign_up(&server, "ann@example.com").await;
    let client = reqwest::Client::new();
    let aal1 = token(&session);
    // aal1 without a factor is enough.
    assert_eq!(me(&server, |r| r.bearer_auth(&aal1)).await.status(), 200);
    let verified = crate::helpers::verify_a_totp_factor(&server.url(""), &aal1).await;
    let aal2 = token(&verified);
    assert_eq!(me(&server, |r| r.bearer_auth(&aal2)).await.status(), 200);

    // A second device signs in with the password only: aal1, and the user has a factor.
    let second: Value = client
        .post(server.url("/auth/v1/token?grant_type=password"))
        .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_token = token(&second);
    assert_error(
        me(&server, |r| r.bearer_auth(&second_token)).await,
        403,
        "mfa_required",
    )
    .await;
    let nav = me(&server, |r| {
        r.bearer_auth(&second_token)
            .header("sec-fetch-mode", "navigate")
    })
    .await;
    assert_eq!(nav.status(), 307);
    assert_eq!(nav.headers()["location"], "/auth/verify?next=%2Fapi%2Fme");
    // A cookie whose copy of the user hides the factor changes nothing: the server asks its store.
    let mut forged = second.clone();
    forged["user"]["factors"] = json!([]);
    let cookie = format!("base64-{}", URL_SAFE_NO_PAD.encode(forged.to_string()));
    let res = me(&server, |r| {
        r.header("cookie", format!("sb-127-auth-token={cookie}"))
    })
    .await;
    assert_error(res, 403, "mfa_required").await;
}

async fn a_route_with_auth_required_runs_only_with_a_session(db: TestDb) {
    let server = with_auth(&db).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client.get(server.url("/account")).send().await.unwrap();
    assert_error(res, 401, "unauthenticated").await;
    let res = client
        .get(server.url("/account?tab=security"))
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    assert_eq!(
        res.headers()["location"],
        "/auth/sign-in?next=%2Faccount%3Ftab%3Dsecurity"
    );
    let session = sign_up(&server, "ann@example.com").await;
    let res = client
        .get(server.url("/account"))
        .bearer_auth(token(&session))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["signed_in_with"], json!(["password"]));
}

async fn a_protected_mutation_needs_both_a_session_and_a_csrf_token(db: TestDb) {
    let server = with_auth(&db).await;
    let session = sign_up(&server, "ann@example.com").await;
    let session_cookie = session_cookie(&session);
    // What a page holds: the CSRF cookie and its token.
    let res = reqwest::get(server.url("/_routekit/csrf")).await.unwrap();
    let csrf_cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = res.json().await.unwrap();
    let csrf_token = body["csrfToken"].as_str().unwrap().to_owned();
    let note = json!({"title": "remember the milk"});
    let post = |cookie: String, token: Option<&str>| {
        let mut req = reqwest::Client::new()
            .post(server.url("/api/notes"))
            .header("cookie", cookie)
            .json(&note);
        if let Some(token) = token {
            req = req.header("x-csrf-token", token);
        }
        req.send()
    };
    let res = post(
        format!("{session_cookie}; {csrf_cookie}"),
        Some(&csrf_token),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["title"], "remember the milk");
    // The token without a session: 401. The session without the token: 403.
    let res = post(csrf_cookie.clone(), Some(&csrf_token)).await.unwrap();
    assert_error(res, 401, "unauthenticated").await;
    let res = post(format!("{session_cookie}; {csrf_cookie}"), None)
        .await
        .unwrap();
    assert_error(res, 403, "csrf_token_missing").await;
}

/// The example with access tokens that are always within the refresh margin.
async fn with_short_tokens(db: &TestDb) -> TestServer {
    let config = saas::Config {
        app: Default::default(),
        webhook_secret: None,
        auth: Some(
            routekit_auth::AuthConfig::new(db.url())
                .with_jwt_exp(std::time::Duration::from_secs(30)),
        ),
        supabase: None,
        captcha: None,
    };
    TestServer::spawn(saas::app_with(config).await.unwrap().into_service()).await
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn an_expiring_cookie_is_refreshed_on_the_server_and_rewritten(db: TestDb) {
    let server = with_short_tokens(&db).await;
    let session = sign_up(&server, "ann@example.com").await;
    let encoded = format!("base64-{}", URL_SAFE_NO_PAD.encode(session.to_string()));
    // Sent in two chunks: the rewrite is one cookie, and the stale chunks are deleted.
    let (a, b) = encoded.split_at(encoded.len() / 2);
    let res = me(&server, |r| {
        r.header(
            "cookie",
            format!("sb-127-auth-token.0={a}; sb-127-auth-token.1={b}"),
        )
    })
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "private, no-cache, no-store, must-revalidate, max-age=0"
    );
    let cookies = set_cookies(&res);
    let fresh = cookies
        .iter()
        .find(|c| c.starts_with("sb-127-auth-token=base64-"))
        .expect("rewritten cookie");
    assert!(
        fresh.ends_with("; Path=/; SameSite=Lax; Max-Age=34560000"),
        "{fresh}"
    );
    assert!(!fresh.contains("HttpOnly"), "browser code reads it");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("sb-127-auth-token.0=; ") && c.contains("Max-Age=0"))
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("sb-127-auth-token.1=; ") && c.contains("Max-Age=0"))
    );
    let value = fresh
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("sb-127-auth-token=base64-");
    let rewritten: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).unwrap()).unwrap();
    assert_ne!(rewritten["refresh_token"], session["refresh_token"]);
    assert_eq!(rewritten["user"]["email"], "ann@example.com");
    assert!(rewritten["expires_at"].as_i64().unwrap() >= session["expires_at"].as_i64().unwrap());
}

async fn concurrent_requests_with_one_expiring_cookie_keep_the_family_alive(db: TestDb) {
    let server = with_short_tokens(&db).await;
    let session = sign_up(&server, "ann@example.com").await;
    let cookie = session_cookie(&session);
    let requests = (0..8).map(|_| me(&server, |r| r.header("cookie", cookie.clone())));
    let mut refresh_tokens = std::collections::HashSet::new();
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.status(), 200, "every request proceeds");
        let fresh = set_cookies(&res)
            .into_iter()
            .find(|c| c.starts_with("sb-127-auth-token="))
            .unwrap();
        let value = fresh
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("sb-127-auth-token=base64-")
            .to_owned();
        let rewritten: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).unwrap()).unwrap();
        refresh_tokens.insert(rewritten["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        refresh_tokens.len(),
        1,
        "one new token for all: {refresh_tokens:?}"
    );
    // The family lives on: the new refresh token works.
    let res = reqwest::Client::new()
        .post(server.url("/auth/v1/token?grant_type=refresh_token"))
        .json(&json!({"refresh_token": refresh_tokens.into_iter().next().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_failed_session_lookup_is_503_not_a_pass() {
    let Some((db, proxy, config)) = crate::helpers::postgres_behind_a_proxy().await else {
        return;
    };
    let server = TestServer::spawn(saas::app_with(config).await.unwrap().into_service()).await;
    let session = sign_up(&server, "ann@example.com").await;
    // A token the server has not seen yet: it must ask the store, which is down.
    proxy.cut().await;
    let res = me(&server, |r| r.bearer_auth(token(&session))).await;
    assert_error(res, 503, "unavailable").await;
    proxy.restore().await;
    assert_eq!(
        me(&server, |r| r.bearer_auth(token(&session)))
            .await
            .status(),
        200
    );
    drop(db);
}

#[tokio::test]
async fn an_app_nested_with_into_router_also_rewrites_a_refreshed_cookie() {
    let db = TestDb::sqlite();
    let auth = routekit_auth::AuthService::start(
        routekit_auth::AuthConfig::new(db.url()).with_jwt_exp(std::time::Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let app = saas::routes_only(&saas::Config::default())
        .sessions(auth.clone())
        .auth_api(auth);
    // The routes inside a larger axum app, without routekit's edge service.
    let outer = routekit::axum::Router::new()
        .route("/outer", routekit::axum::routing::get(|| async { "outer" }))
        .merge(app.into_router());
    let server = TestServer::spawn(outer).await;
    let session = sign_up(&server, "ann@example.com").await;
    let cookie = session_cookie(&session);
    let res = me(&server, |r| r.header("cookie", cookie)).await;
    assert_eq!(res.status(), 200);
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("sb-127-auth-token=base64-")),
        "the refreshed session is written back"
    );
    assert_eq!(
        res.headers()["cache-control"],
        "private, no-cache, no-store, must-revalidate, max-age=0"
    );
}
