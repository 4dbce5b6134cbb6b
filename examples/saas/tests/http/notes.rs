//! The notes API (`/api/notes`, `/api/notes/[id]`) on both databases: every endpoint, every
//! refusal with nothing written, and one user's notes out of another's reach.

use routekit_test::{TestDb, TestServer, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{assert_error, session_cookie, sign_up, token, with_auth};

on_both_databases!(
    every_endpoint_creates_lists_reads_changes_and_deletes_a_note,
    bad_input_is_refused_field_by_field_and_writes_nothing,
    one_user_can_neither_see_nor_change_another_users_notes,
    without_a_session_or_a_csrf_token_nothing_runs,
    a_user_at_the_note_limit_is_refused_the_next_one,
);

/// A signed-up user's calls: Bearer token, as API clients send it (no CSRF token needed).
struct User {
    server: String,
    bearer: String,
    session: Value,
    client: reqwest::Client,
}

impl User {
    async fn new(server: &TestServer, email: &str) -> User {
        let session = sign_up(&server.url(""), email).await;
        User {
            server: server.url(""),
            bearer: token(&session),
            session,
            client: reqwest::Client::new(),
        }
    }

    fn call(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method.parse().unwrap(), format!("{}{path}", self.server))
            .bearer_auth(&self.bearer)
    }

    async fn json(&self, method: &str, path: &str, body: Value) -> reqwest::Response {
        self.call(method, path).json(&body).send().await.unwrap()
    }

    async fn list(&self) -> Vec<Value> {
        let res = self.call("GET", "/api/notes").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["notes"].as_array().unwrap().clone()
    }
}

async fn every_endpoint_creates_lists_reads_changes_and_deletes_a_note(db: TestDb) {
    let server = with_auth(&db).await;
    let ann = User::new(&server, "ann@example.com").await;
    assert!(ann.list().await.is_empty());

    let res = ann
        .json(
            "POST",
            "/api/notes",
            json!({ "title": "  Groceries ", "body": "milk" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let note: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/notes/{}", note["id"].as_str().unwrap())
    );
    assert_eq!(
        (&note["title"], &note["body"]),
        (&json!("Groceries"), &json!("milk"))
    );
    assert_eq!(note["created_at"], note["updated_at"]);
    // The body is optional; newest first.
    let res = ann
        .json("POST", "/api/notes", json!({ "title": "Ideas" }))
        .await;
    assert_eq!(res.status(), 201);
    let titles: Vec<Value> = ann
        .list()
        .await
        .iter()
        .map(|n| n["title"].clone())
        .collect();
    assert_eq!(titles, [json!("Ideas"), json!("Groceries")]);

    let res = ann.call("GET", &location).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), note);

    let res = ann
        .json("PATCH", &location, json!({ "body": "milk, eggs" }))
        .await;
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(
        (&changed["title"], &changed["body"]),
        (&json!("Groceries"), &json!("milk, eggs"))
    );
    assert!(changed["updated_at"].as_i64() >= note["updated_at"].as_i64());
    let res = ann
        .json("PATCH", &location, json!({ "title": "Shopping" }))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["title"], "Shopping");

    let res = ann.call("DELETE", &location).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_error(
        ann.call("GET", &location).send().await.unwrap(),
        404,
        "note_not_found",
    )
    .await;
    assert_error(
        ann.call("DELETE", &location).send().await.unwrap(),
        404,
        "note_not_found",
    )
    .await;
    assert_eq!(ann.list().await.len(), 1);
}

async fn bad_input_is_refused_field_by_field_and_writes_nothing(db: TestDb) {
    let server = with_auth(&db).await;
    let ann = User::new(&server, "ann@example.com").await;
    let long = "x".repeat(201);
    for (body, field) in [
        (json!({ "title": "   " }), "title"),
        (json!({ "title": long }), "title"),
        (json!({ "title": "ok", "body": "y".repeat(10_001) }), "body"),
    ] {
        let res = ann.json("POST", "/api/notes", body).await;
        assert_eq!(res.status(), 422);
        let error: Value = res.json().await.unwrap();
        assert_eq!(error["error"]["code"], "validation_failed");
        assert_eq!(error["error"]["fields"][0]["path"], field, "{error}");
    }
    // A field the API does not know, a missing title, JSON that is not JSON, and a body over
    // the route's 64 KiB.
    let res = ann
        .json(
            "POST",
            "/api/notes",
            json!({ "title": "a", "owner_id": "x" }),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = ann
        .json("POST", "/api/notes", json!({ "body": "no title" }))
        .await;
    assert_eq!(res.status(), 422);
    let res = ann
        .call("POST", "/api/notes")
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let huge = json!({ "title": "a", "body": "z".repeat(70 * 1024) });
    assert_error(
        ann.json("POST", "/api/notes", huge).await,
        413,
        "payload_too_large",
    )
    .await;
    assert!(ann.list().await.is_empty(), "nothing was written");

    let res = ann
        .json("POST", "/api/notes", json!({ "title": "Keep" }))
        .await;
    let note: Value = res.json().await.unwrap();
    let path = format!("/api/notes/{}", note["id"].as_str().unwrap());
    let res = ann.json("PATCH", &path, json!({})).await;
    assert_eq!(res.status(), 422);
    let res = ann.json("PATCH", &path, json!({ "title": "" })).await;
    assert_eq!(res.status(), 422);
    let stored = ann.list().await;
    assert_eq!(stored[0]["title"], "Keep");
    assert_eq!(stored[0]["updated_at"], note["updated_at"]);
}

async fn one_user_can_neither_see_nor_change_another_users_notes(db: TestDb) {
    let server = with_auth(&db).await;
    let ann = User::new(&server, "ann@example.com").await;
    let bob = User::new(&server, "bob@example.com").await;
    let res = ann
        .json("POST", "/api/notes", json!({ "title": "Ann's" }))
        .await;
    let note: Value = res.json().await.unwrap();
    let path = format!("/api/notes/{}", note["id"].as_str().unwrap());

    assert!(bob.list().await.is_empty());
    assert_error(
        bob.call("GET", &path).send().await.unwrap(),
        404,
        "note_not_found",
    )
    .await;
    let res = bob
        .json("PATCH", &path, json!({ "title": "Bob's now" }))
        .await;
    assert_error(res, 404, "note_not_found").await;
    assert_error(
        bob.call("DELETE", &path).send().await.unwrap(),
        404,
        "note_not_found",
    )
    .await;
    // An id that exists and one that does not are answered alike.
    let res = bob
        .call("GET", "/api/notes/no-such-id")
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "note_not_found").await;

    let ann_notes = ann.list().await;
    assert_eq!(ann_notes, [note]);
}

async fn without_a_session_or_a_csrf_token_nothing_runs(db: TestDb) {
    // The server's client holds a CSRF cookie and token but no session.
    let server = with_auth(&db).await.with_csrf().await;
    let ann = User::new(&server, "ann@example.com").await;
    let res = ann
        .json("POST", "/api/notes", json!({ "title": "Ann's" }))
        .await;
    let note: Value = res.json().await.unwrap();
    let path = format!("/api/notes/{}", note["id"].as_str().unwrap());
    let anonymous = reqwest::Client::new();
    for (method, url) in [
        ("GET", "/api/notes"),
        ("POST", "/api/notes"),
        ("GET", path.as_str()),
        ("PATCH", path.as_str()),
        ("DELETE", path.as_str()),
    ] {
        let res = server
            .request(method, url)
            .json(&json!({ "title": "anonymous" }))
            .send()
            .await
            .unwrap();
        assert_error(res, 401, "unauthenticated").await;
    }
    // The browser's cookie without the page's CSRF token: 403, for each mutation.
    let cookie = session_cookie(&ann.session);
    for (method, url) in [
        ("POST", "/api/notes"),
        ("PATCH", path.as_str()),
        ("DELETE", path.as_str()),
    ] {
        let res = anonymous
            .request(method.parse().unwrap(), server.url(url))
            .header("cookie", &cookie)
            .json(&json!({ "title": "forged" }))
            .send()
            .await
            .unwrap();
        assert_error(res, 403, "csrf_token_missing").await;
    }
    // The cookie alone still reads (a GET is no mutation).
    let res = anonymous
        .get(server.url("/api/notes"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(ann.list().await, [note]);
}

async fn a_user_at_the_note_limit_is_refused_the_next_one(db: TestDb) {
    let server = with_auth(&db).await;
    let ann = User::new(&server, "ann@example.com").await;
    let owner = ann.session["user"]["id"].as_str().unwrap().to_owned();
    // The limit's worth of notes, written straight into the app's table.
    let store = routekit::Db::connect(db.url()).await.unwrap();
    for i in 0..1000 {
        sqlx::query(
            "INSERT INTO notes (id, owner_id, title, body, created_at, updated_at) \
             VALUES ($1, $2, $3, '', $4, $4)",
        )
        .bind(format!("seed-{i}"))
        .bind(&owner)
        .bind(format!("note {i}"))
        .bind(i64::from(i))
        .execute(store.pool())
        .await
        .unwrap();
    }
    let res = ann
        .json("POST", "/api/notes", json!({ "title": "one more" }))
        .await;
    assert_error(res, 409, "note_limit_reached").await;
    assert_eq!(ann.list().await.len(), 1000);
    // Another user is not held back by Ann's notes.
    let bob = User::new(&server, "bob@example.com").await;
    let res = bob
        .json("POST", "/api/notes", json!({ "title": "Bob's" }))
        .await;
    assert_eq!(res.status(), 201);
}
