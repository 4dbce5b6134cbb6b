//! Every folder convention, served.

use serde_json::json;

use crate::helpers::{assert_error, get_json, raw_get, spawn};

#[tokio::test]
async fn hello_returns_the_seed_pages_json_exactly() {
    let server = spawn().await;
    let res = server.get("/hello").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.text().await.unwrap(), r#"{"text":"Hello"}"#);
}

#[tokio::test]
async fn dynamic_segment_is_read_with_path() {
    let server = spawn().await;
    assert_eq!(
        get_json(&server, "/users/42").await,
        json!({ "id": 42, "name": "user 42" })
    );
}

#[tokio::test]
async fn catch_all_gives_each_segment_decoded() {
    let server = spawn().await;
    let body = get_json(&server, "/docs/guide/getting%20started").await;
    assert_eq!(body["slug"], json!(["guide", "getting started"]));
}

#[tokio::test]
async fn optional_catch_all_matches_zero_or_more_segments() {
    let server = spawn().await;
    assert_eq!(
        get_json(&server, "/shop").await,
        json!({ "category": [], "page": "index" })
    );
    assert_eq!(
        get_json(&server, "/shop/shoes/red").await["category"],
        json!(["shoes", "red"])
    );
}

#[tokio::test]
async fn static_beats_dynamic_beats_catch_all() {
    let server = spawn().await;
    assert_eq!(
        get_json(&server, "/docs/intro").await,
        json!({ "page": "intro" })
    );
    assert_eq!(
        get_json(&server, "/docs/api").await,
        json!({ "section": "api" })
    );
    assert_eq!(
        get_json(&server, "/docs/api/auth").await["slug"],
        json!(["api", "auth"])
    );
}

#[tokio::test]
async fn route_groups_are_left_out_of_the_url() {
    let server = spawn().await;
    assert!(get_json(&server, "/about").await["about"].is_string());
    let res = server.get("/(marketing)/about").send().await.unwrap();
    assert_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn private_folders_are_not_routed() {
    let server = spawn().await;
    assert_error(
        server.get("/api/_internal").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn traversal_in_catch_all_values_is_rejected() {
    let server = spawn().await;
    for path in [
        "/docs/a/%2e%2e/secret",
        "/docs/a/..%2Fsecret",
        "/docs/a%2Fb/c",
        "/docs/a/%5C..",
        "/docs/a/./b",
        "/docs/a//b",
        "/docs/a/%00",
        "/docs/a/%FF",
        "/shop/%2E%2E",
    ] {
        let (status, body) = raw_get(&server, path).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("invalid_path_segment")),
            "{path}"
        );
    }
    // The same path, unencoded and well-formed, is served.
    assert_eq!(raw_get(&server, "/docs/a/secret").await.0, 200);
}

#[tokio::test]
async fn encoded_slash_never_becomes_a_separator_in_a_dynamic_segment() {
    let server = spawn().await;
    // `[section]` matches one raw segment; its decoded value may hold a `/`.
    assert_eq!(
        get_json(&server, "/docs/a%2Fb").await,
        json!({ "section": "a/b" })
    );
}

#[tokio::test]
async fn the_manifest_lists_every_route_file() {
    let app = routekit_fixture_app::app(routekit::AppConfig::default());
    let manifest = app.manifest();
    let items = manifest.iter().find(|r| r.url == "/api/items").unwrap();
    assert_eq!(items.file, "app/api/items/route.rs");
    assert_eq!(items.allow, "OPTIONS, POST");
    assert_eq!(items.settings.body_limit, Some(16 * 1024));
    let shop = manifest
        .iter()
        .find(|r| r.url == "/shop/[[...path]]")
        .unwrap();
    assert_eq!(shop.patterns, ["/shop", "/shop/{*path}"]);
    assert!(!manifest.iter().any(|r| r.file.contains("_internal")));
}

#[tokio::test]
async fn dot_segments_in_a_dynamic_segment_are_refused() {
    let server = spawn().await;
    for path in [
        "/docs/..",
        "/docs/.",
        "/docs/%2e%2e",
        "/docs/..%2F..%2Fetc",
        "/docs/a%2F..%2Fb",
        "/docs/%00",
    ] {
        let (status, body) = raw_get(&server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_path_param", "{path}");
    }
    // An encoded slash alone is still one value.
    let (status, body) = raw_get(&server, "/docs/a%2Fb").await;
    assert_eq!((status, body), (200, json!({"section": "a/b"})));
}
