//! Each error status, with its JSON body and stable code.

use routekit::axum::{Router, routing::get};
use serde_json::json;

use crate::helpers::{assert_error, get_json, post_raw_json, spawn, spawn_with};

fn item() -> serde_json::Value {
    json!({ "name": "Widget", "quantity": 3, "tags": ["blue"] })
}

#[tokio::test]
async fn valid_item_is_echoed_with_201() {
    let server = spawn().await;
    let res = server
        .post("/api/items")
        .json(&item())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), item());
}

#[tokio::test]
async fn charset_parameter_is_accepted() {
    let server = spawn().await;
    let res = server
        .post("/api/items")
        .header("content-type", "application/json; charset=utf-8")
        .body(item().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn unknown_url_is_404_not_found() {
    let server = spawn().await;
    assert_error(server.get("/nope").send().await.unwrap(), 404, "not_found").await;
    assert_error(
        server.post("/nope/deeper").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn json_syntax_error_is_400() {
    let server = spawn().await;
    for body in ["{", "{\"name\": }", "[1,]", "{} {}", ""] {
        let res = post_raw_json(&server, body).await;
        assert_error(res, 400, "invalid_json").await;
    }
}

#[tokio::test]
async fn deeply_nested_json_is_400_not_a_crash() {
    let server = spawn().await;
    let body = format!("{{\"name\":{}}}", "[".repeat(5000));
    let res = post_raw_json(&server, body).await;
    assert_error(res, 400, "invalid_json").await;
}

#[tokio::test]
async fn wrong_shape_is_422_naming_the_field() {
    let server = spawn().await;
    let cases = [
        json!({ "name": "x" }),
        json!({ "name": "x", "quantity": "three" }),
        json!({ "name": "x", "quantity": -1 }),
        json!({ "name": "x", "quantity": 1, "colour": "red" }),
        json!([1, 2]),
    ];
    for body in cases {
        let res = server.post("/api/items").json(&body).send().await.unwrap();
        assert_error(res, 422, "validation_failed").await;
    }
    let res = server
        .post("/api/items")
        .json(&json!({ "name": "x", "quantity": "3" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["fields"],
        json!([{ "path": "quantity", "code": "invalid_type", "message": "expected u32" }]),
        "{body}"
    );
}

#[tokio::test]
async fn failed_validation_is_422_validation_failed() {
    let server = spawn().await;
    for (body, path, code) in [
        (json!({ "name": "  ", "quantity": 1 }), "name", "blank"),
        (json!({ "name": "x", "quantity": 0 }), "quantity", "range"),
        (
            json!({ "name": "x", "quantity": 1, "tags": [""] }),
            "tags",
            "tag",
        ),
    ] {
        let res = server.post("/api/items").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["fields"][0]["path"], path, "{body}");
        assert_eq!(body["error"]["fields"][0]["code"], code, "{body}");
    }
    // Every failing rule at once.
    let body = json!({ "name": "", "quantity": 5000, "tags": vec!["x"; 11] });
    let res = server.post("/api/items").json(&body).send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["fields"].as_array().map(Vec::len),
        Some(3),
        "{body}"
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let server = spawn().await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("nonsense"),
    ] {
        let mut req = server.post("/api/items").body(item().to_string());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        assert_error(req.send().await.unwrap(), 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn body_over_the_route_limit_is_413() {
    let server = spawn().await;
    let big = json!({ "name": "x".repeat(17 * 1024), "quantity": 1 });
    let res = server.post("/api/items").json(&big).send().await.unwrap();
    assert_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn body_over_the_app_limit_is_413_where_no_route_limit_is_set() {
    let server = spawn().await;
    let just_under = json!({ "name": "x".repeat(1000 * 1024) });
    let res = server
        .request("PUT", "/users/1")
        .json(&just_under)
        .send()
        .await
        .unwrap();
    // Passes the 1 MiB limit and reaches validation.
    assert_error(res, 422, "validation_failed").await;
    let over = json!({ "name": "x".repeat(1024 * 1024) });
    let res = server
        .request("PUT", "/users/1")
        .json(&over)
        .send()
        .await
        .unwrap();
    assert_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn invalid_path_parameter_is_400() {
    let server = spawn().await;
    for path in ["/users/abc", "/users/-1", "/users/99999999999999999999999"] {
        assert_error(
            server.get(path).send().await.unwrap(),
            400,
            "invalid_path_param",
        )
        .await;
    }
}

#[tokio::test]
async fn a_panicking_handler_is_500_and_the_server_keeps_serving() {
    let extra = Router::new().route(
        "/test/panic",
        get(|| async {
            if std::hint::black_box(true) {
                panic!("handler bug with secret details");
            }
        }),
    );
    let server = spawn_with(extra).await;
    let res = server.get("/test/panic").send().await.unwrap();
    assert_eq!(res.status(), 500);
    let text = res.text().await.unwrap();
    assert_eq!(
        text,
        r#"{"error":{"code":"internal","message":"internal error"}}"#
    );
    assert!(!text.contains("secret"));
    assert_eq!(
        get_json(&server, "/hello").await,
        json!({ "text": "Hello" })
    );
}
