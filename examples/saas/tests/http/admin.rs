//! The example's super-admin routes (`app/api/admin`, `AUTH = Role("super-admin")`): an
//! operator with the role and a second factor lists users, gives roles, bans and deletes;
//! anyone else finds no such route.

use routekit::auth::{AccountUpdate, AuthConfig, AuthService};
use routekit_test::{TestDb, TestServer, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{assert_error, sign_in, sign_up, token, verify_a_totp_factor, with_auth};

/// The app, and the aal2 token of `boss@example.com`, made super admin by another instance
/// of the auth service on the same database (as `routekit auth users set-role` will).
async fn with_an_admin(db: &TestDb) -> (TestServer, String) {
    let server = with_auth(db).await.with_csrf().await;
    let base = server.url("");
    let boss = sign_up(&base, "boss@example.com").await;
    let operator = AuthService::start(AuthConfig::new(db.url())).await.unwrap();
    operator
        .admin()
        .update_user(
            boss["user"]["id"].as_str().unwrap(),
            AccountUpdate::role(Some("super-admin")),
        )
        .await
        .unwrap();
    let aal2 = verify_a_totp_factor(&base, &token(&boss)).await;
    (server, token(&aal2))
}

on_both_databases!(a_super_admin_manages_users_and_nobody_else_sees_the_routes);

async fn a_super_admin_manages_users_and_nobody_else_sees_the_routes(db: TestDb) {
    let (server, boss) = with_an_admin(&db).await;
    let base = server.url("");
    let ann = sign_up(&base, "ann@example.com").await;
    let ann_id = ann["user"]["id"].as_str().unwrap().to_owned();
    let call = |method: &str, path: &str, token: &str, body: Option<Value>| {
        let mut req = server.request(method, path).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send()
    };

    // Ann has no role: the routes are not there for her.
    for (method, path) in [
        ("GET", "/api/admin/users".to_owned()),
        ("PATCH", format!("/api/admin/users/{ann_id}")),
        ("DELETE", format!("/api/admin/users/{ann_id}")),
    ] {
        let body = (method == "PATCH").then(|| json!({ "role": "super-admin" }));
        let res = call(method, &path, &token(&ann), body).await.unwrap();
        assert_error(res, 404, "not_found").await;
    }

    let res = call("GET", "/api/admin/users?per_page=1", &boss, None)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["total"], 2);
    assert_eq!(list["next_page"], 2);
    assert_eq!(list["users"].as_array().unwrap().len(), 1);
    let res = call("GET", "/api/admin/users?per_page=1000", &boss, None)
        .await
        .unwrap();
    assert_error(res, 422, "validation_failed").await;

    // A role given, a bad one refused, then taken away.
    let path = format!("/api/admin/users/{ann_id}");
    let res = call("PATCH", &path, &boss, Some(json!({ "role": "editor" })))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "editor");
    let res = call("PATCH", &path, &boss, Some(json!({ "role": "Root Admin" })))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["path"], "role", "{body}");
    let res = call("PATCH", &path, &boss, Some(json!({ "role": null })))
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["role"], Value::Null);

    // Banned: her live session stops and she cannot sign in again.
    let res = call(
        "PATCH",
        &path,
        &boss,
        Some(json!({ "ban_duration": "24h" })),
    )
    .await
    .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["banned"], true);
    let res = server
        .get("/api/me")
        .bearer_auth(token(&ann))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthenticated").await;
    let res = reqwest::Client::new()
        .post(format!("{base}/auth/v1/token?grant_type=password"))
        .json(&json!({ "email": "ann@example.com", "password": crate::helpers::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = call(
        "PATCH",
        &path,
        &boss,
        Some(json!({ "ban_duration": "none" })),
    )
    .await
    .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["banned"], false);
    sign_in(&base, "ann@example.com").await;

    // Not themselves, and not without a CSRF token.
    let all: Value = call("GET", "/api/admin/users", &boss, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = all["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "boss@example.com")
        .unwrap();
    let boss_id = format!("/api/admin/users/{}", me["id"].as_str().unwrap());
    let res = call("DELETE", &boss_id, &boss, None).await.unwrap();
    assert_error(res, 409, "cannot_change_yourself").await;
    let res = reqwest::Client::new()
        .delete(server.url(&path))
        .bearer_auth(&boss)
        .header("cookie", "x=y")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = call("DELETE", &path, &boss, None).await.unwrap();
    assert_eq!(res.status(), 204);
    let res = call("DELETE", &path, &boss, None).await.unwrap();
    assert_error(res, 404, "user_not_found").await;
    let list: Value = call("GET", "/api/admin/users", &boss, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
}
