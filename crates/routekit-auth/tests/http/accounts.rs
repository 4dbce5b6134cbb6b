//! Sign-up, sign-in, the user endpoint, sign-out, and the error shapes.

use routekit_test::{TestDb, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_error, claims, start, start_with};

on_both_databases!(
    sign_up_signs_the_user_in,
    sign_up_refuses_duplicates_weak_passwords_and_bad_input,
    sign_up_can_be_switched_off,
    wrong_password_and_unknown_email_get_the_same_answer,
    the_user_endpoint_needs_a_live_session,
    sign_out_scopes_end_the_right_sessions,
    unconfirmed_users_cannot_sign_in,
);

async fn sign_up_signs_the_user_in(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("Ann@Example.com").await;
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["expires_in"], 3600);
    assert!(session["expires_at"].as_i64().unwrap() > 0);
    assert_eq!(session["refresh_token"].as_str().unwrap().len(), 54);
    let user = &session["user"];
    assert_eq!(user["email"], "ann@example.com");
    assert_eq!(user["aud"], "authenticated");
    assert_eq!(user["role"], "authenticated");
    assert_eq!(
        user["app_metadata"],
        json!({"provider": "email", "providers": ["email"]})
    );
    assert_eq!(user["user_metadata"], json!({"name": "Ann"}));
    assert_eq!(user["identities"][0]["provider"], "email");
    assert!(user["email_confirmed_at"].is_string());
    assert!(user.get("factors").is_none(), "omitted when empty");

    let claims = claims(session["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["aud"], "authenticated");
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["iss"], "http://127.0.0.1:3000/auth/v1");
    assert_eq!(claims["aal"], "aal1");
    assert_eq!(claims["amr"][0]["method"], "password");
    assert_eq!(claims["email"], "ann@example.com");
    assert_eq!(claims["is_anonymous"], false);
    assert_eq!(claims["user_metadata"], json!({"name": "Ann"}));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims["session_id"].as_str().unwrap().len() == 36);
}

async fn sign_up_refuses_duplicates_weak_passwords_and_bad_input(db: TestDb) {
    let auth = start(db).await;
    auth.sign_up("ann@example.com").await;
    let dup = auth
        .post(
            "/signup",
            json!({"email": "ANN@example.com", "password": PASSWORD}),
        )
        .await;
    assert_error(dup, 422, "user_already_exists").await;

    let weak = auth
        .post(
            "/signup",
            json!({"email": "bob@example.com", "password": "short"}),
        )
        .await;
    let body = assert_error(weak, 422, "weak_password").await;
    assert_eq!(body["weak_password"]["reasons"], json!(["length"]));
    let common = auth
        .post(
            "/signup",
            json!({"email": "bob@example.com", "password": "Password123"}),
        )
        .await;
    let body = assert_error(common, 422, "weak_password").await;
    assert_eq!(body["weak_password"]["reasons"], json!(["pwned"]));

    let no_password = auth
        .post("/signup", json!({"email": "bob@example.com"}))
        .await;
    assert_error(no_password, 400, "validation_failed").await;
    let bad_email = auth
        .post(
            "/signup",
            json!({"email": "not an email", "password": PASSWORD}),
        )
        .await;
    assert_error(bad_email, 400, "email_address_invalid").await;
    let bad_json = auth
        .request(reqwest::Method::POST, "/signup")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(bad_json, 400, "bad_json").await;
    // Nothing half-written: Bob can still sign up properly.
    auth.sign_up("bob@example.com").await;
}

async fn sign_up_can_be_switched_off(db: TestDb) {
    let auth = start_with(db, |c| c.with_signup(false)).await;
    let res = auth
        .post(
            "/signup",
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_error(res, 422, "signup_disabled").await;
    let settings: Value = auth
        .request(reqwest::Method::GET, "/settings")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["disable_signup"], true);
    assert_eq!(settings["external"]["email"], true);
    let health: Value = auth
        .request(reqwest::Method::GET, "/health")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["name"], "GoTrue");
}

async fn wrong_password_and_unknown_email_get_the_same_answer(db: TestDb) {
    let auth = start(db).await;
    auth.sign_up("ann@example.com").await;
    let wrong = assert_error(
        auth.sign_in("ann@example.com", "wrong password!").await,
        400,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_error(
        auth.sign_in("nobody@example.com", PASSWORD).await,
        400,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);

    let ok = auth.sign_in("ANN@example.com", PASSWORD).await;
    assert_eq!(ok.status(), 200);
    let session: Value = ok.json().await.unwrap();
    assert!(session.get("weak_password").is_none());
    let user = &session["user"];
    assert!(user["last_sign_in_at"].is_string());

    // The legacy error shape, for clients that send no API version.
    let legacy = auth
        .server
        .client()
        .post(auth.server.url("/auth/v1/token?grant_type=password"))
        .json(&json!({"email": "ann@example.com", "password": "nope nope nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 400);
    assert_eq!(legacy.headers()["x-sb-error-code"], "invalid_credentials");
    assert!(legacy.headers().get("x-supabase-api-version").is_none());
    let body: Value = legacy.json().await.unwrap();
    assert_eq!(body["code"], 400);
    assert_eq!(body["error_code"], "invalid_credentials");
    assert_eq!(body["msg"], "Invalid login credentials");

    let grant = auth.post("/token?grant_type=magic", json!({})).await;
    assert_error(grant, 400, "invalid_credentials").await;
    let missing = auth
        .post(
            "/token?grant_type=password",
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_error(missing, 400, "validation_failed").await;
}

async fn the_user_endpoint_needs_a_live_session(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let res = auth.get_user(token).await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["id"], session["user"]["id"]);

    let none = auth
        .request(reqwest::Method::GET, "/user")
        .send()
        .await
        .unwrap();
    assert_error(none, 401, "no_authorization").await;
    assert_error(auth.get_user("not-a-jwt").await, 403, "bad_jwt").await;

    let logout = auth
        .request(reqwest::Method::POST, "/logout?scope=local")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_error(auth.get_user(token).await, 403, "session_not_found").await;
}

async fn sign_out_scopes_end_the_right_sessions(db: TestDb) {
    let auth = start(db).await;
    auth.sign_up("ann@example.com").await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let s: Value = auth
            .sign_in("ann@example.com", PASSWORD)
            .await
            .json()
            .await
            .unwrap();
        tokens.push(s["access_token"].as_str().unwrap().to_owned());
    }
    let logout = |token: String, scope: &'static str| {
        auth.request(reqwest::Method::POST, &format!("/logout?scope={scope}"))
            .bearer_auth(token)
            .send()
    };
    let bad = logout(tokens[0].clone(), "everything").await.unwrap();
    assert_error(bad, 400, "validation_failed").await;

    assert_eq!(
        logout(tokens[0].clone(), "others").await.unwrap().status(),
        204
    );
    assert_eq!(auth.get_user(&tokens[0]).await.status(), 200);
    assert_eq!(auth.get_user(&tokens[1]).await.status(), 403);
    assert_eq!(auth.get_user(&tokens[2]).await.status(), 403);

    let s: Value = auth
        .sign_in("ann@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let fourth = s["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        logout(fourth.clone(), "global").await.unwrap().status(),
        204
    );
    assert_eq!(auth.get_user(&tokens[0]).await.status(), 403);
    assert_eq!(auth.get_user(&fourth).await.status(), 403);
}

async fn unconfirmed_users_cannot_sign_in(db: TestDb) {
    let auth = start_with(db, |mut c| {
        c.autoconfirm = false;
        c
    })
    .await;
    let res = auth
        .post(
            "/signup",
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.unwrap();
    assert!(
        user.get("access_token").is_none(),
        "no session without confirmation"
    );
    assert_eq!(user["email"], "ann@example.com");
    // Checked only after the password, so it reveals nothing to someone without it.
    assert_error(
        auth.sign_in("ann@example.com", "wrong password!").await,
        400,
        "invalid_credentials",
    )
    .await;
    assert_error(
        auth.sign_in("ann@example.com", PASSWORD).await,
        400,
        "email_not_confirmed",
    )
    .await;
}
