//! Starting the fixture app and reading JSON errors.

use routekit_test::TestServer;
use serde_json::Value;

/// The fixture app with the default settings (CSRF on).
pub(crate) fn app() -> routekit::App {
    routekit_fixture_app::app(routekit::AppConfig::default())
}

/// The fixture app on a fresh port, with a client that sends a CSRF token.
pub(crate) async fn spawn() -> TestServer {
    TestServer::spawn(app().into_service())
        .await
        .with_csrf()
        .await
}

/// The fixture app with extra routes merged in (for behaviour it has no route for).
pub(crate) async fn spawn_with(extra: routekit::axum::Router) -> TestServer {
    TestServer::spawn(app().merge(extra).into_service())
        .await
        .with_csrf()
        .await
}

pub(crate) use routekit_test::assert_error;

/// GETs `path` and returns the JSON body, asserting 200.
pub(crate) async fn get_json(server: &TestServer, path: &str) -> Value {
    let res = server.get(path).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

/// Sends `GET path` exactly as written, over a plain socket: HTTP clients normalise `.`, `..`
/// and `%2e` segments away before sending, and these tests need them on the wire.
pub(crate) async fn raw_get(server: &TestServer, path: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// POSTs `body` as-is to `/api/items` with `Content-Type: application/json`.
pub(crate) async fn post_raw_json(
    server: &TestServer,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    server
        .post("/api/items")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}
