//! GoTrue's admin API (`/auth/v1/admin/users`), authorised by a service-role key and by
//! nothing else, and the Rust API behind it.

use std::time::Duration;

use routekit_auth::{AccountUpdate, Ban, NewAccount};
use routekit_test::{TestDb, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{Auth, PASSWORD, assert_error, start, start_with};

impl Auth {
    fn service_key(&self) -> String {
        self.service
            .service_role_key(Duration::from_secs(600))
            .unwrap()
    }

    /// `method /admin{path}` with `key` as the bearer token (and as supabase-js's `apikey`).
    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .request(method, &format!("/admin{path}"))
            .header("apikey", key)
            .bearer_auth(key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    async fn create(&self, key: &str, body: Value) -> Value {
        let res = self
            .admin(reqwest::Method::POST, "/users", key, Some(body))
            .await;
        assert_eq!(res.status(), 200, "create");
        res.json().await.unwrap()
    }
}

/// A JWT signed with HS256 under `secret`.
fn hs256(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

on_both_databases!(only_a_service_role_key_opens_the_admin_api);

async fn only_a_service_role_key_opens_the_admin_api(db: TestDb) {
    let auth = start(db).await;
    let session = auth.sign_up("ann@example.com").await;
    let user_token = session["access_token"].as_str().unwrap();
    let key = auth.service_key();
    let list = |key: Option<String>| {
        let mut req = auth.request(reqwest::Method::GET, "/admin/users");
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        req.send()
    };
    assert_eq!(list(Some(key.clone())).await.unwrap().status(), 200);
    assert_error(list(None).await.unwrap(), 401, "no_authorization").await;
    // supabase-js with the anon key sends it as the bearer token.
    assert_error(list(Some("anon".into())).await.unwrap(), 403, "bad_jwt").await;
    assert_error(
        list(Some(user_token.into())).await.unwrap(),
        403,
        "not_admin",
    )
    .await;
    // The key with its payload changed to last longer: the signature no longer holds.
    let mut parts: Vec<String> = key.split('.').map(str::to_owned).collect();
    let mut claims = crate::helpers::claims(&key);
    claims["exp"] = json!(now() + 86_400 * 365);
    parts[1] = base64url(&claims.to_string());
    assert_error(list(Some(parts.join("."))).await.unwrap(), 403, "bad_jwt").await;
    // A key another server signed.
    let other = start(TestDb::sqlite()).await;
    assert_error(
        list(Some(other.service_key())).await.unwrap(),
        403,
        "bad_jwt",
    )
    .await;
    // Never from a cookie, whatever its name.
    let res = auth
        .request(reqwest::Method::GET, "/admin/users")
        .header(
            "cookie",
            format!("sb-127-auth-token={key}; sb-access-token={key}"),
        )
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "no_authorization").await;
    // Unknown admin endpoints are the operator's to learn about.
    let res = auth
        .admin(reqwest::Method::POST, "/generate_link", user_token, None)
        .await;
    assert_error(res, 403, "not_admin").await;
    let res = auth
        .admin(reqwest::Method::POST, "/generate_link", &key, None)
        .await;
    assert_error(res, 404, "not_found").await;
    // Every refusal left the users as they were.
    let res = auth.admin(reqwest::Method::GET, "/users", &key, None).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["users"].as_array().unwrap().len(), 1);
}

fn base64url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

on_both_databases!(service_keys_from_a_configured_secret_expire);

/// With GoTrue's JWT secret configured, an operator can mint the key elsewhere (as for a
/// self-hosted Supabase); it must be unexpired, issued here and say `service_role`.
async fn service_keys_from_a_configured_secret_expire(db: TestDb) {
    const SECRET: &str = "a jwt secret of at least thirty-two characters";
    let auth = start_with(db, |c| c.with_jwt_secret(SECRET)).await;
    let issuer = "http://127.0.0.1:3000/auth/v1";
    let list = |key: String| {
        auth.request(reqwest::Method::GET, "/admin/users")
            .bearer_auth(key)
            .send()
    };
    let claims =
        |role: &str, exp: i64| json!({ "iss": issuer, "role": role, "iat": now(), "exp": exp });
    let ok = hs256(SECRET, claims("service_role", now() + 60));
    assert_eq!(list(ok).await.unwrap().status(), 200);
    let expired = hs256(SECRET, claims("service_role", now() - 3600));
    let body = assert_error(list(expired).await.unwrap(), 403, "bad_jwt").await;
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let anon = hs256(SECRET, claims("anon", now() + 60));
    assert_error(list(anon).await.unwrap(), 403, "not_admin").await;
    let forged = hs256(
        "another secret of at least thirty-two characters",
        claims("service_role", now() + 60),
    );
    assert_error(list(forged).await.unwrap(), 403, "bad_jwt").await;
    let elsewhere = hs256(
        SECRET,
        json!({ "iss": "supabase", "role": "service_role", "iat": now(), "exp": now() + 60 }),
    );
    assert_error(list(elsewhere).await.unwrap(), 403, "bad_jwt").await;
    // A service-role claim on a token with a session is a user's token, not a key.
    let with_session = hs256(
        SECRET,
        json!({ "iss": issuer, "role": "service_role", "iat": now(), "exp": now() + 60, "session_id": "x" }),
    );
    assert_error(list(with_session).await.unwrap(), 403, "not_admin").await;
}

on_both_databases!(operators_create_read_update_and_delete_users);

async fn operators_create_read_update_and_delete_users(db: TestDb) {
    let auth = start_with(db, |c| c.with_autoconfirm(false)).await;
    let key = auth.service_key();
    let created = auth
        .create(
            &key,
            json!({
                "email": "Boss@Example.com",
                "password": PASSWORD,
                "email_confirm": true,
                "app_metadata": { "role": "super-admin" },
                "user_metadata": { "name": "Boss" },
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["email"], "boss@example.com");
    assert!(created["email_confirmed_at"].is_string(), "{created}");
    assert_eq!(created["app_metadata"]["role"], "super-admin");
    assert_eq!(created["app_metadata"]["provider"], "email");
    assert_eq!(created["user_metadata"]["name"], "Boss");
    assert!(created["last_sign_in_at"].is_null(), "{created}");
    // Confirmed by the operator, so the password signs in although confirmation is on.
    assert_eq!(
        auth.sign_in("boss@example.com", PASSWORD).await.status(),
        200
    );

    let res = auth
        .admin(
            reqwest::Method::POST,
            "/users",
            &key,
            Some(json!({ "email": "boss@example.com" })),
        )
        .await;
    assert_error(res, 422, "email_exists").await;
    let bad = |body: Value| auth.admin(reqwest::Method::POST, "/users", &key, Some(body));
    assert_error(bad(json!({})).await, 400, "validation_failed").await;
    assert_error(
        bad(json!({ "email": "nope" })).await,
        400,
        "email_address_invalid",
    )
    .await;
    assert_error(
        bad(json!({ "email": "c@example.com", "password": "short" })).await,
        422,
        "weak_password",
    )
    .await;
    assert_error(
        bad(json!({ "email": "c@example.com", "app_metadata": [1] })).await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        bad(json!({ "email": "c@example.com", "ban_duration": "forever" })).await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        bad(json!({ "email": "c@example.com", "role": "service_role" })).await,
        400,
        "validation_failed",
    )
    .await;
    // Without a password or confirmation: no password signs in.
    let plain = auth
        .create(&key, json!({ "email": "plain@example.com" }))
        .await;
    assert!(plain["email_confirmed_at"].is_null(), "{plain}");

    let res = auth
        .admin(reqwest::Method::GET, &format!("/users/{id}"), &key, None)
        .await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["id"], id.as_str());
    let res = auth
        .admin(reqwest::Method::GET, "/users/not-a-uuid", &key, None)
        .await;
    assert_error(res, 404, "validation_failed").await;
    let res = auth
        .admin(
            reqwest::Method::GET,
            "/users/00000000-0000-4000-8000-000000000000",
            &key,
            None,
        )
        .await;
    assert_error(res, 404, "user_not_found").await;

    // app_metadata merges: null removes a key.
    let res = auth
        .admin(
            reqwest::Method::PUT,
            &format!("/users/{id}"),
            &key,
            Some(json!({ "app_metadata": { "role": null, "plan": "pro" }, "user_metadata": { "team": "a" } })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert!(updated["app_metadata"].get("role").is_none(), "{updated}");
    assert_eq!(updated["app_metadata"]["plan"], "pro");
    assert_eq!(
        updated["user_metadata"],
        json!({ "name": "Boss", "team": "a" })
    );

    // A new password ends every session.
    let session: Value = auth
        .sign_in("boss@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let res = auth
        .admin(
            reqwest::Method::PUT,
            &format!("/users/{id}"),
            &key,
            Some(json!({ "password": "a brand new passphrase" })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let refresh = session["refresh_token"].as_str().unwrap();
    assert_error(auth.refresh(refresh).await, 400, "refresh_token_not_found").await;
    assert_error(
        auth.sign_in("boss@example.com", PASSWORD).await,
        400,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        auth.sign_in("boss@example.com", "a brand new passphrase")
            .await
            .status(),
        200
    );
    // A refused update changes nothing.
    let res = auth
        .admin(
            reqwest::Method::PUT,
            &format!("/users/{id}"),
            &key,
            Some(json!({ "email": "plain@example.com", "app_metadata": { "plan": "free" } })),
        )
        .await;
    assert_error(res, 422, "email_exists").await;
    let user = auth.service.admin().user(&id).await.unwrap();
    assert_eq!(user.email, "boss@example.com");
    assert_eq!(user.app_metadata()["plan"], "pro");

    let res = auth
        .admin(
            reqwest::Method::DELETE,
            &format!("/users/{id}"),
            &key,
            Some(json!({ "should_soft_delete": false })),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({}));
    let res = auth
        .admin(reqwest::Method::DELETE, &format!("/users/{id}"), &key, None)
        .await;
    assert_error(res, 404, "user_not_found").await;
    assert_error(
        auth.sign_in("boss@example.com", "a brand new passphrase")
            .await,
        400,
        "invalid_credentials",
    )
    .await;
}

on_both_databases!(users_are_listed_a_page_at_a_time);

async fn users_are_listed_a_page_at_a_time(db: TestDb) {
    let auth = start(db).await;
    let key = auth.service_key();
    for name in ["a", "b", "c"] {
        auth.create(&key, json!({ "email": format!("{name}@example.com") }))
            .await;
    }
    let page = |query: &str| {
        let path = format!("/users?{query}");
        let key = key.clone();
        let auth = &auth;
        async move { auth.admin(reqwest::Method::GET, &path, &key, None).await }
    };
    let res = page("page=1&per_page=2").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-total-count"], "3");
    assert_eq!(
        res.headers()["link"],
        "</auth/v1/admin/users?page=2&per_page=2>; rel=\"next\", </auth/v1/admin/users?page=2&per_page=2>; rel=\"last\""
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["aud"], "authenticated");
    assert_eq!(body["users"].as_array().unwrap().len(), 2);
    let res = page("page=2&per_page=2").await;
    assert_eq!(
        res.headers()["link"],
        "</auth/v1/admin/users?page=2&per_page=2>; rel=\"last\""
    );
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["users"].as_array().unwrap().len(), 1);
    // Every user once across the pages.
    let mut emails: Vec<String> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["users"].as_array().unwrap())
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    assert_eq!(emails, ["a@example.com", "b@example.com", "c@example.com"]);
    // supabase-js sends empty parameters for the defaults.
    let res = page("page=&per_page=").await;
    let all: Value = res.json().await.unwrap();
    assert_eq!(all["users"].as_array().unwrap().len(), 3);
    assert_error(page("page=x").await, 400, "validation_failed").await;
    assert_error(page("per_page=0").await, 400, "validation_failed").await;
    assert_error(page("per_page=100000").await, 400, "validation_failed").await;
}

on_both_databases!(banned_users_cannot_sign_in_refresh_or_use_their_tokens);

async fn banned_users_cannot_sign_in_refresh_or_use_their_tokens(db: TestDb) {
    let auth = start(db).await;
    let key = auth.service_key();
    let session = auth.sign_up("ann@example.com").await;
    let id = session["user"]["id"].as_str().unwrap().to_owned();
    let access = session["access_token"].as_str().unwrap();
    let refresh = session["refresh_token"].as_str().unwrap();
    let res = auth
        .admin(
            reqwest::Method::PUT,
            &format!("/users/{id}"),
            &key,
            Some(json!({ "ban_duration": "24h" })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let banned: Value = res.json().await.unwrap();
    assert!(banned["banned_until"].is_string(), "{banned}");
    assert_error(
        auth.sign_in("ann@example.com", PASSWORD).await,
        400,
        "user_banned",
    )
    .await;
    assert_error(auth.refresh(refresh).await, 400, "user_banned").await;
    assert_error(auth.get_user(access).await, 403, "user_banned").await;
    // The session check that routekit's `Session` makes sees no session.
    let claims = auth.service.verify_access_token(access).await.unwrap();
    assert!(auth.service.standing(&claims).await.unwrap().is_none());
    // Lifted: the same session works again.
    let res = auth
        .admin(
            reqwest::Method::PUT,
            &format!("/users/{id}"),
            &key,
            Some(json!({ "ban_duration": "none" })),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(auth.get_user(access).await.status(), 200);
    assert!(auth.service.standing(&claims).await.unwrap().is_some());
    assert_eq!(auth.refresh(refresh).await.status(), 200);
}

on_both_databases!(the_rust_api_gives_roles_and_signs_users_out_everywhere);

async fn the_rust_api_gives_roles_and_signs_users_out_everywhere(db: TestDb) {
    let auth = start(db).await;
    let admin = auth.service.admin();
    let ann = admin
        .create_user(
            NewAccount::new("ann@example.com")
                .password(PASSWORD)
                .email_confirm(true),
        )
        .await
        .unwrap();
    let first: Value = auth
        .sign_in("ann@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let second: Value = auth
        .sign_in("ann@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let claims = auth
        .service
        .verify_access_token(first["access_token"].as_str().unwrap())
        .await
        .unwrap();
    let standing = auth.service.standing(&claims).await.unwrap().unwrap();
    assert_eq!(standing.role, None);
    let seen = auth.service.revocation_generation();
    admin
        .update_user(&ann.id, AccountUpdate::role(Some("super-admin")))
        .await
        .unwrap();
    assert_ne!(
        auth.service.revocation_generation(),
        seen,
        "a role change drops cached sessions on this instance"
    );
    let standing = auth.service.standing(&claims).await.unwrap().unwrap();
    assert!(standing.has_role("super-admin"));
    // The token's own copy of app_metadata is not what decides.
    assert!(claims.app_metadata.get("role").is_none());
    admin
        .update_user(&ann.id, AccountUpdate::role(None))
        .await
        .unwrap();
    let standing = auth.service.standing(&claims).await.unwrap().unwrap();
    assert_eq!(standing.role, None);
    admin
        .update_user(
            &ann.id,
            AccountUpdate::default().ban(Ban::For(Duration::from_secs(60))),
        )
        .await
        .unwrap();
    assert!(auth.service.standing(&claims).await.unwrap().is_none());
    admin
        .update_user(&ann.id, AccountUpdate::default().ban(Ban::Lift))
        .await
        .unwrap();

    admin.sign_out(&ann.id).await.unwrap();
    for session in [&first, &second] {
        let refresh = session["refresh_token"].as_str().unwrap();
        assert_error(auth.refresh(refresh).await, 400, "refresh_token_not_found").await;
    }
    assert!(auth.service.standing(&claims).await.unwrap().is_none());
    let page = admin.list_users(1, 10).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.next_page(), None);
    admin.delete_user(&ann.id).await.unwrap();
    assert_eq!(
        admin.user(&ann.id).await.unwrap_err().code(),
        routekit_auth::ErrorCode::AdminUserNotFound
    );
    assert_eq!(admin.list_users(1, 10).await.unwrap().total, 0);
}
