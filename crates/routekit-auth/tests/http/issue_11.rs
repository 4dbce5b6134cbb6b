//! Regression tests for issue #11: the attacks confirmed against main, each shown failing,
//! through the HTTP API and through the Rust API that pages and user code call.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use routekit_auth::{AuthService, Claims, Client, Rate, RateLimits, totp};
use routekit_test::{TestDb, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{Auth, PASSWORD, assert_error, claims, start, start_with, step};

on_both_databases!(
    wrong_totp_codes_lock_the_factor_whatever_the_caller,
    a_signed_out_session_or_a_banned_user_burns_no_codes,
    challenges_are_cleaned_up,
    forwarded_values_that_are_not_addresses_never_become_keys,
    the_client_chosen_first_hop_does_not_escape_the_limit,
    a_token_whose_user_does_not_own_its_session_is_refused,
    unknown_kids_reload_the_keys_at_most_once_per_interval,
    oversized_passwords_are_refused_before_normalisation,
    enrolment_checks_its_lengths_before_writing_a_factor,
    password_sign_ins_through_the_rust_api_are_rate_limited,
);

/// A user with a verified TOTP factor and a fresh `aal1` session: (factor, secret, claims).
async fn user_with_factor(auth: &Auth, email: &str) -> (String, Vec<u8>, Claims) {
    let session = auth.sign_up(email).await;
    let token = session["access_token"].as_str().unwrap();
    let (factor, secret, _) = auth.enroll(token, "phone").await;
    let res = auth
        .challenge_and_verify(token, &factor, &totp(&secret, step(0)))
        .await;
    assert_eq!(res.status(), 200, "factor verified");
    let aal1 = auth
        .service
        .sign_in_with_password(&Client::unknown(), email, PASSWORD)
        .await
        .unwrap();
    (factor, secret, aal1.claims)
}

/// A code that is wrong now (none of the three accepted steps).
fn wrong_code(secret: &[u8]) -> String {
    let near: Vec<String> = (-1..=1).map(|d| totp(secret, step(d))).collect();
    (0..)
        .map(|n| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

async fn pool(auth: &Auth) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(auth._db.url()).await.unwrap()
}

async fn wrong_totp_codes_lock_the_factor_whatever_the_caller(db: TestDb) {
    let auth = start(db).await;
    let (factor, secret, claims) = user_with_factor(&auth, "ann@example.com").await;
    // Each try from another address: per-IP limits alone would not stop them.
    let client = |n: u8| Client::from_ip(format!("198.51.100.{n}").parse().unwrap());
    for n in 0..5 {
        let err = auth
            .service
            .verify_totp_code(&client(n), &claims, &wrong_code(&secret))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "mfa_verification_failed", "try {n}");
    }
    // Locked: even the right code is not looked at.
    let err = auth
        .service
        .verify_totp_code(&client(9), &claims, &totp(&secret, step(0)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "over_request_rate_limit");
    let wait = err.retry_after().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    // Through the HTTP API too.
    let res = auth
        .as_user(
            reqwest::Method::POST,
            &format!("/factors/{factor}/challenge"),
            &aal1_token(&auth, "ann@example.com").await,
            None,
        )
        .await;
    let challenge: Value = res.json().await.unwrap();
    let res = auth
        .as_user(
            reqwest::Method::POST,
            &format!("/factors/{factor}/verify"),
            &aal1_token(&auth, "ann@example.com").await,
            Some(json!({"challenge_id": challenge["id"], "code": totp(&secret, step(0))})),
        )
        .await;
    assert_error(res, 429, "over_request_rate_limit").await;
    // Once the lock has passed, the right code works and the count starts again.
    let pool = pool(&auth).await;
    sqlx::query("UPDATE auth_factors SET locked_until = 0 WHERE id = $1")
        .bind(&factor)
        .execute(&pool)
        .await
        .unwrap();
    let aal2 = auth
        .service
        .verify_totp_code(&client(9), &claims, &totp(&secret, step(1)))
        .await
        .unwrap();
    assert_eq!(aal2.claims.aal, routekit_auth::Aal::Aal2);
    let failed: i64 = sqlx::query_scalar("SELECT failed_attempts FROM auth_factors WHERE id = $1")
        .bind(&factor)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(failed, 0);
}

/// A new `aal1` access token for `email`.
async fn aal1_token(auth: &Auth, email: &str) -> String {
    let session = auth
        .service
        .sign_in_with_password(&Client::unknown(), email, PASSWORD)
        .await
        .unwrap();
    session.access_token
}

async fn a_signed_out_session_or_a_banned_user_burns_no_codes(db: TestDb) {
    let auth = start(db).await;
    let (factor, secret, claims) = user_with_factor(&auth, "ann@example.com").await;
    let code = totp(&secret, step(1));
    auth.service
        .sign_out(&claims, routekit_auth::SignOutScope::Local)
        .await
        .unwrap();
    let err = auth
        .service
        .verify_totp_code(&Client::unknown(), &claims, &code)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "session_not_found");
    // The code was not used up: the time step did not advance, so a live session takes it.
    let pool = pool(&auth).await;
    let attempts: i64 =
        sqlx::query_scalar("SELECT failed_attempts FROM auth_factors WHERE id = $1")
            .bind(&factor)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(attempts, 0, "nothing was tried");
    let live = auth
        .service
        .sign_in_with_password(&Client::unknown(), "ann@example.com", PASSWORD)
        .await
        .unwrap();
    // A banned user mints no aal2 session either.
    ban(&pool, &live.claims.sub, Some(i64::MAX / 2)).await;
    let err = auth
        .service
        .verify_totp_code(&Client::unknown(), &live.claims, &code)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "user_banned");
    ban(&pool, &live.claims.sub, None).await;
    let aal2 = auth
        .service
        .verify_totp_code(&Client::unknown(), &live.claims, &code)
        .await
        .unwrap();
    assert_eq!(aal2.claims.aal, routekit_auth::Aal::Aal2);
}

/// Bans `user_id` until `until` (unix seconds), or lifts the ban.
async fn ban(pool: &sqlx::AnyPool, user_id: &str, until: Option<i64>) {
    sqlx::query("UPDATE auth_users SET banned_until = $1 WHERE id = $2")
        .bind(until)
        .bind(user_id)
        .execute(pool)
        .await
        .unwrap();
}

async fn challenges_are_cleaned_up(db: TestDb) {
    let auth = start(db).await;
    let (factor, secret, claims) = user_with_factor(&auth, "ann@example.com").await;
    let pool = pool(&auth).await;
    let open = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM auth_mfa_challenges WHERE factor_id = $1",
        )
        .bind(&factor)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    // The page's one-call verification leaves nothing behind when the code is wrong.
    for _ in 0..3 {
        let _ = auth
            .service
            .verify_totp_code(&Client::unknown(), &claims, &wrong_code(&secret))
            .await;
    }
    assert_eq!(open().await, 0);
    // Expired and used challenges go when the next one is opened.
    let c = auth
        .service
        .challenge(&Client::unknown(), &claims, &factor)
        .await
        .unwrap();
    sqlx::query("UPDATE auth_mfa_challenges SET created_at = created_at - 301 WHERE id = $1")
        .bind(&c.id)
        .execute(&pool)
        .await
        .unwrap();
    auth.service
        .challenge(&Client::unknown(), &claims, &factor)
        .await
        .unwrap();
    assert_eq!(open().await, 1, "only the new challenge is left");
}

async fn forwarded_values_that_are_not_addresses_never_become_keys(db: TestDb) {
    let auth = start_with(db, |c| c.with_rate_limit_header("x-forwarded-for")).await;
    let session = auth.sign_up("victim@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (factor, _, _) = auth.enroll(token, "phone").await;
    let victim = claims(token)["sub"].as_str().unwrap().to_owned();
    // Unauthenticated challenges whose "address" is the victim's per-user key used to drain
    // the victim's bucket (GoTrue's 15 per minute, burst 30) without a token.
    for _ in 0..40 {
        let _ = auth
            .request(
                reqwest::Method::POST,
                &format!("/factors/{factor}/challenge"),
            )
            .header("x-forwarded-for", format!("user:{victim}"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
    }
    let res = auth
        .request(
            reqwest::Method::POST,
            &format!("/factors/{factor}/challenge"),
        )
        .header("x-forwarded-for", "203.0.113.50")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the victim can still open a challenge");
}

async fn the_client_chosen_first_hop_does_not_escape_the_limit(db: TestDb) {
    let auth = start_with(db, |c| {
        let mut limits = RateLimits::default();
        limits.token = Rate {
            count: 1,
            window: Duration::from_secs(60),
            burst: 3,
        };
        c.with_rate_limits(limits)
            .with_rate_limit_header("x-forwarded-for")
    })
    .await;
    auth.sign_up("ann@example.com").await;
    // The proxy appends the address it saw (203.0.113.9); the client makes up a new first hop
    // for every request.
    let attempt = |n: u32| {
        auth.request(reqwest::Method::POST, "/token?grant_type=password")
            .header(
                "x-forwarded-for",
                format!("198.51.{}.{}, 203.0.113.9", n / 250, n % 250),
            )
            .json(&json!({"email": "ann@example.com", "password": "wrong password"}))
            .send()
    };
    for n in 0..3 {
        assert_eq!(attempt(n).await.unwrap().status(), 400);
    }
    assert_error(attempt(3).await.unwrap(), 429, "over_request_rate_limit").await;
    // IPv6 clients are one bucket per /64.
    let v6 = |host: &str| {
        auth.request(reqwest::Method::POST, "/token?grant_type=password")
            .header("x-forwarded-for", format!("2001:db8:5:6::{host}"))
            .json(&json!({"email": "ann@example.com", "password": "wrong password"}))
            .send()
    };
    for host in ["1", "2", "3"] {
        assert_eq!(v6(host).await.unwrap().status(), 400);
    }
    assert_error(v6("ffff").await.unwrap(), 429, "over_request_rate_limit").await;
}

const SECRET: &str = "a legacy secret of at least thirty-two characters";

/// `claims` signed with the legacy HS256 secret.
fn sign_hs256(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

async fn a_token_whose_user_does_not_own_its_session_is_refused(db: TestDb) {
    // A validly signed token (here: by whoever holds the shared secret) pairing Ann's session
    // with Bob's id. The session row, not the token, says whose it is.
    let auth = start_with(db, |c| c.with_jwt_secret(SECRET)).await;
    let ann = auth.sign_up("ann@example.com").await;
    let bob = auth.sign_up("bob@example.com").await;
    let mut forged = claims(ann["access_token"].as_str().unwrap());
    forged["sub"] = claims(bob["access_token"].as_str().unwrap())["sub"].clone();
    let forged = sign_hs256(&forged);
    assert_error(auth.get_user(&forged).await, 403, "session_not_found").await;
    let claims: Claims = serde_json::from_value(crate::helpers::claims(&forged)).unwrap();
    assert!(!auth.service.session_exists(&claims).await.unwrap());
    // The real token still works.
    let real = ann["access_token"].as_str().unwrap();
    assert_eq!(auth.get_user(real).await.status(), 200);
}

async fn unknown_kids_reload_the_keys_at_most_once_per_interval(db: TestDb) {
    let url = db.url().to_owned();
    let auth = start(db).await;
    let other = AuthService::start(routekit_auth::AuthConfig::new(url))
        .await
        .unwrap();
    let token = auth.sign_up("ann@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Forged kids (of the shape this server uses, so they are looked up) ...
    let (header, rest) = token.split_once('.').unwrap();
    let mut forged_header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    for _ in 0..20 {
        forged_header["kid"] = json!(uuid::Uuid::new_v4().to_string());
        let forged = format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(forged_header.to_string())
        );
        assert_error(auth.get_user(&forged).await, 403, "bad_jwt").await;
    }
    // ... cost one reload in all: a key another instance made just now is not seen until
    // the interval has passed (each forged token used to re-read the keys).
    other.keys().rotate().await.unwrap();
    let fresh = other
        .sign_in_with_password(&Client::unknown(), "ann@example.com", PASSWORD)
        .await
        .unwrap();
    assert!(
        auth.service
            .verify_access_token(&fresh.access_token)
            .await
            .is_err()
    );
    assert!(other.verify_access_token(&fresh.access_token).await.is_ok());
}

async fn oversized_passwords_are_refused_before_normalisation(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    // 1 MiB of U+FDFA grows about 11-fold under NFKC; it is refused as it came.
    let huge = "\u{FDFA}".repeat((1 << 20) / 3);
    let res = auth
        .post(
            "/token?grant_type=password",
            json!({"email": "ann@example.com", "password": huge}),
        )
        .await;
    assert_error(res, 400, "validation_failed").await;
    let res = auth
        .post(
            "/signup",
            json!({"email": "bob@example.com", "password": huge}),
        )
        .await;
    assert_error(res, 400, "validation_failed").await;
    let res = auth.put_user(token, json!({"password": huge})).await;
    assert_error(res, 400, "validation_failed").await;
    // 86 characters of it, 258 bytes as sent, are already too many.
    let res = auth
        .post(
            "/token?grant_type=password",
            json!({"email": "ann@example.com", "password": "\u{FDFA}".repeat(86)}),
        )
        .await;
    assert_error(res, 400, "validation_failed").await;
}

async fn enrolment_checks_its_lengths_before_writing_a_factor(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let enroll = |body: Value| auth.as_user(reqwest::Method::POST, "/factors", token, Some(body));
    // An issuer too long for a QR code used to answer 500 after inserting the factor.
    let res = enroll(json!({"factor_type": "totp", "issuer": "x".repeat(3000)})).await;
    assert_error(res, 400, "validation_failed").await;
    let res = enroll(json!({"factor_type": "totp", "friendly_name": "n".repeat(1000)})).await;
    assert_error(res, 400, "validation_failed").await;
    let res = enroll(json!({"factor_type": "totp", "friendly_name": "a\u{7}b"})).await;
    assert_error(res, 400, "validation_failed").await;
    let pool = pool(&auth).await;
    let factors: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_factors")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(factors, 0, "nothing was written");
    // The longest allowed names still fit in the QR code.
    let res = enroll(json!({
        "factor_type": "totp",
        "friendly_name": "n".repeat(128),
        "issuer": "\u{e9}".repeat(64),
    }))
    .await;
    assert_eq!(res.status(), 200);
}

async fn password_sign_ins_through_the_rust_api_are_rate_limited(db: TestDb) {
    // The limits live in the service: a page or a CLI calling it directly meets them too.
    let auth = start_with(db, |c| {
        let mut limits = RateLimits::default();
        limits.token = Rate {
            count: 1,
            window: Duration::from_secs(60),
            burst: 3,
        };
        limits.account = Rate {
            count: 1,
            window: Duration::from_secs(60),
            burst: 5,
        };
        c.with_rate_limits(limits)
    })
    .await;
    auth.sign_up("ann@example.com").await;
    let service = &auth.service;
    let from = |ip: &str| Client::from_ip(ip.parse().unwrap());
    for _ in 0..3 {
        let err = service
            .sign_in_with_password(&from("192.0.2.1"), "ann@example.com", "wrong password")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
    }
    let err = service
        .sign_in_with_password(&from("192.0.2.1"), "ann@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "over_request_rate_limit");
    assert!(err.retry_after().is_some());
    // Guesses at one account from many addresses meet the account's limit.
    for n in 0..2 {
        let err = service
            .sign_in_with_password(
                &from(&format!("198.51.100.{n}")),
                "ann@example.com",
                "nope nope",
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
    }
    let err = service
        .sign_in_with_password(&from("203.0.113.1"), "ann@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "over_request_rate_limit");
    // Another account is not affected.
    auth.service
        .sign_up(&Client::unknown(), "bob@example.com", PASSWORD, None)
        .await
        .unwrap();
    assert!(
        service
            .sign_in_with_password(&from("203.0.113.1"), "bob@example.com", PASSWORD)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_service_debug_output_shows_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let mut config = routekit_auth::AuthConfig::new(url).with_jwt_secret(SECRET);
    config.encryption_key = Some(URL_SAFE_NO_PAD.encode([7u8; 32]));
    let service = AuthService::start(config.clone()).await.unwrap();
    let printed = format!("{service:?}");
    assert!(!printed.contains(SECRET), "{printed}");
    assert!(!printed.contains(config.encryption_key.as_deref().unwrap()));
    assert!(printed.contains("[redacted]"));
}
