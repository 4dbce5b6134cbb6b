//! TOTP enrollment, challenge and verification, AAL rules, and user updates.

use reqwest::Method;
use routekit_auth::totp;
use routekit_test::{TestDb, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_error, claims, start, step};

on_both_databases!(
    verifying_a_real_code_upgrades_to_aal2_with_a_new_session,
    wrong_reused_and_expired_codes_are_refused,
    an_aal1_session_cannot_change_secrets_once_mfa_is_on,
    unenrolling_needs_aal2_and_drops_sessions_to_aal1,
    factors_belong_to_their_user,
    user_updates_merge_data_and_guard_passwords,
);

async fn verifying_a_real_code_upgrades_to_aal2_with_a_new_session(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (factor, secret, body) = auth.enroll(token, "phone").await;
    assert_eq!(body["type"], "totp");
    assert_eq!(body["friendly_name"], "phone");
    let uri = body["totp"]["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Example:ann@example.com?secret="),
        "{uri}"
    );
    assert!(uri.contains("&issuer=Example&algorithm=SHA1&digits=6&period=30"));
    assert_eq!(body["totp"]["secret"].as_str().unwrap().len(), 32);
    assert!(
        body["totp"]["qr_code"]
            .as_str()
            .unwrap()
            .starts_with("<?xml")
    );
    assert!(body["totp"]["qr_code"].as_str().unwrap().contains("<svg"));

    let res = auth
        .challenge_and_verify(token, &factor, &totp(&secret, step(0)))
        .await;
    assert_eq!(res.status(), 200);
    let upgraded: Value = res.json().await.unwrap();
    let (before, after) = (
        claims(token),
        claims(upgraded["access_token"].as_str().unwrap()),
    );
    assert_eq!(after["aal"], "aal2");
    assert_ne!(
        after["session_id"], before["session_id"],
        "a new session id at the new level"
    );
    assert_ne!(upgraded["refresh_token"], session["refresh_token"]);
    let methods: Vec<&str> = after["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["totp", "password"], "newest first");
    assert_eq!(upgraded["user"]["factors"][0]["status"], "verified");
    // The aal1 session is gone; the new one works and lists the factor.
    assert_error(auth.get_user(token).await, 403, "session_not_found").await;
    let user: Value = auth
        .get_user(upgraded["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["factors"][0]["id"], factor.as_str());
    assert_eq!(user["factors"][0]["factor_type"], "totp");
    // Refreshing keeps aal2.
    let refreshed: Value = auth
        .refresh(upgraded["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["aal"],
        "aal2"
    );
}

async fn wrong_reused_and_expired_codes_are_refused(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (factor, secret, _) = auth.enroll(token, "phone").await;
    let wrong = if totp(&secret, step(0)) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = auth.challenge_and_verify(token, &factor, wrong).await;
    assert_error(res, 422, "mfa_verification_failed").await;
    let res = auth.challenge_and_verify(token, &factor, "").await;
    assert_error(res, 400, "validation_failed").await;

    // A challenge is single-use, and a code is accepted once even on a new challenge.
    let code = totp(&secret, step(0));
    let challenge: Value = auth
        .as_user(
            Method::POST,
            &format!("/factors/{factor}/challenge"),
            token,
            Some(json!({})),
        )
        .await
        .json()
        .await
        .unwrap();
    let verify = |token: String, challenge: Value, code: String| {
        let factor = factor.clone();
        let auth = &auth;
        async move {
            auth.as_user(
                Method::POST,
                &format!("/factors/{factor}/verify"),
                &token,
                Some(json!({"challenge_id": challenge["id"], "code": code})),
            )
            .await
        }
    };
    let ok = verify(token.to_owned(), challenge.clone(), code.clone()).await;
    assert_eq!(ok.status(), 200);
    let aal2: Value = ok.json().await.unwrap();
    let token2 = aal2["access_token"].as_str().unwrap().to_owned();
    assert_error(
        verify(token2.clone(), challenge, code.clone()).await,
        422,
        "mfa_ip_address_mismatch",
    )
    .await;
    assert_error(
        auth.challenge_and_verify(&token2, &factor, &code).await,
        422,
        "mfa_verification_failed",
    )
    .await;

    // An expired challenge, against the service directly (waiting 300 s is not a test).
    let claims: routekit_auth::Claims = serde_json::from_value(claims(&token2)).unwrap();
    let c = auth
        .service
        .challenge(&routekit_auth::Client::unknown(), &claims, &factor)
        .await
        .unwrap();
    assert!(c.expires_at > 0);
    let pool = sqlx_pool(&auth).await;
    sqlx::query("UPDATE auth_mfa_challenges SET created_at = created_at - 301 WHERE id = $1")
        .bind(&c.id)
        .execute(&pool)
        .await
        .unwrap();
    let err = auth
        .service
        .verify_totp(
            &routekit_auth::Client::unknown(),
            &claims,
            &factor,
            &c.id,
            &totp(&secret, step(1)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_challenge_expired");
    // And one verified from another IP than the one that opened it.
    let c = auth
        .service
        .challenge(&client("192.0.2.1"), &claims, &factor)
        .await
        .unwrap();
    let err = auth
        .service
        .verify_totp(
            &client("198.51.100.7"),
            &claims,
            &factor,
            &c.id,
            &totp(&secret, step(1)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_ip_address_mismatch");
    // The secret is not in the database in the clear.
    let stored: String = sqlx::query_scalar("SELECT secret FROM auth_factors WHERE id = $1")
        .bind(&factor)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(stored.starts_with("v1."));
    assert!(!stored.contains(&routekit_auth::base32(&secret)));
}

fn client(ip: &str) -> routekit_auth::Client {
    routekit_auth::Client::from_ip(ip.parse().unwrap())
}

async fn sqlx_pool(auth: &crate::helpers::Auth) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(auth._db.url()).await.unwrap()
}

async fn an_aal1_session_cannot_change_secrets_once_mfa_is_on(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (factor, secret, _) = auth.enroll(token, "phone").await;
    let res = auth
        .challenge_and_verify(token, &factor, &totp(&secret, step(0)))
        .await;
    assert_eq!(res.status(), 200);

    // A second device signs in with the password alone: aal1, and the user has a factor.
    let other: Value = auth
        .sign_in("ann@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let other = other["access_token"].as_str().unwrap();
    assert_eq!(claims(other)["aal"], "aal1");
    let res = auth
        .put_user(other, json!({"password": "another long passphrase"}))
        .await;
    assert_error(res, 401, "insufficient_aal").await;
    let res = auth
        .put_user(other, json!({"email": "new@example.com"}))
        .await;
    assert_error(res, 401, "insufficient_aal").await;
    let res = auth
        .as_user(
            Method::POST,
            "/factors",
            other,
            Some(json!({"factor_type": "totp", "friendly_name": "second"})),
        )
        .await;
    assert_error(res, 403, "insufficient_aal").await;
    let res = auth
        .as_user(Method::DELETE, &format!("/factors/{factor}"), other, None)
        .await;
    assert_error(res, 422, "insufficient_aal").await;
    // Metadata is not a secret.
    let res = auth
        .put_user(other, json!({"data": {"theme": "dark"}}))
        .await;
    assert_eq!(res.status(), 200);
}

async fn unenrolling_needs_aal2_and_drops_sessions_to_aal1(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (factor, secret, _) = auth.enroll(token, "phone").await;
    let upgraded: Value = auth
        .challenge_and_verify(token, &factor, &totp(&secret, step(0)))
        .await
        .json()
        .await
        .unwrap();
    let aal2 = upgraded["access_token"].as_str().unwrap();
    let res = auth
        .as_user(Method::DELETE, &format!("/factors/{factor}"), aal2, None)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"id": factor}));
    let user: Value = auth.get_user(aal2).await.json().await.unwrap();
    assert!(user.get("factors").is_none());
    // The session drops to aal1 at its next refresh.
    let refreshed: Value = auth
        .refresh(upgraded["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let c = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(c["aal"], "aal1");
    assert!(
        c["amr"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["method"] != "totp")
    );
    // An unverified factor can be removed at aal1.
    let aal1 = refreshed["access_token"].as_str().unwrap();
    let (pending, _, _) = auth.enroll(aal1, "pending").await;
    assert_eq!(
        auth.as_user(Method::DELETE, &format!("/factors/{pending}"), aal1, None)
            .await
            .status(),
        200
    );
}

async fn factors_belong_to_their_user(db: TestDb) {
    let auth = start(db).await;
    let ann = auth.sign_up("ann@example.com").await;
    let bob = auth.sign_up("bob@example.com").await;
    let (ann_token, bob_token) = (
        ann["access_token"].as_str().unwrap(),
        bob["access_token"].as_str().unwrap(),
    );
    let (factor, _, _) = auth.enroll(ann_token, "phone").await;
    let res = auth
        .as_user(
            Method::POST,
            &format!("/factors/{factor}/challenge"),
            bob_token,
            Some(json!({})),
        )
        .await;
    assert_error(res, 404, "mfa_factor_not_found").await;
    let res = auth
        .as_user(
            Method::DELETE,
            &format!("/factors/{factor}"),
            bob_token,
            None,
        )
        .await;
    assert_error(res, 404, "mfa_factor_not_found").await;
    let res = auth
        .as_user(
            Method::POST,
            "/factors/not-a-uuid/challenge",
            ann_token,
            Some(json!({})),
        )
        .await;
    assert_error(res, 404, "validation_failed").await;
    let res = auth
        .as_user(
            Method::POST,
            "/factors",
            ann_token,
            Some(json!({"factor_type": "totp", "friendly_name": "phone"})),
        )
        .await;
    assert_error(res, 422, "mfa_factor_name_conflict").await;
    let res = auth
        .as_user(
            Method::POST,
            "/factors",
            ann_token,
            Some(json!({"factor_type": "sms"})),
        )
        .await;
    assert_error(res, 400, "validation_failed").await;
}

async fn user_updates_merge_data_and_guard_passwords(db: TestDb) {
    let auth = start(db).await;
    let first = auth.sign_up("ann@example.com").await;
    let token = first["access_token"].as_str().unwrap();
    let other: Value = auth
        .sign_in("ann@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    let res = auth
        .put_user(token, json!({"data": {"theme": "dark"}}))
        .await;
    let user: Value = res.json().await.unwrap();
    assert_eq!(
        user["user_metadata"],
        json!({"name": "Ann", "theme": "dark"})
    );

    let res = auth.put_user(token, json!({"password": PASSWORD})).await;
    assert_error(res, 422, "same_password").await;
    let res = auth.put_user(token, json!({"password": "short"})).await;
    assert_error(res, 422, "weak_password").await;
    let res = auth
        .put_user(token, json!({"app_metadata": {"role": "admin"}}))
        .await;
    assert_error(res, 403, "not_admin").await;

    let res = auth
        .put_user(token, json!({"password": "a brand new passphrase"}))
        .await;
    assert_eq!(res.status(), 200);
    // The other device is signed out; this one stays; the new password works.
    assert_error(
        auth.get_user(other["access_token"].as_str().unwrap()).await,
        403,
        "session_not_found",
    )
    .await;
    assert_eq!(auth.get_user(token).await.status(), 200);
    assert_eq!(
        auth.sign_in("ann@example.com", "a brand new passphrase")
            .await
            .status(),
        200
    );
    assert_error(
        auth.sign_in("ann@example.com", PASSWORD).await,
        400,
        "invalid_credentials",
    )
    .await;

    auth.sign_up("bob@example.com").await;
    let res = auth
        .put_user(token, json!({"email": "BOB@example.com"}))
        .await;
    assert_error(res, 422, "email_exists").await;
    let res = auth
        .put_user(token, json!({"email": "ann@new.example"}))
        .await;
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["email"], "ann@new.example");
}
