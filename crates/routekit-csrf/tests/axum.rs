//! The layer on a plain axum app, without routekit.

use axum::Router;
use axum::routing::{get, post};
use routekit_csrf::{CsrfConfig, CsrfLayer, TOKEN_PATH, token_endpoint};
use routekit_test::TestServer;

fn app() -> Router {
    let csrf = CsrfLayer::new(CsrfConfig::new());
    let checked = Router::new()
        .route(TOKEN_PATH, get(token_endpoint))
        .route("/items", post(|| async { "created" }))
        .layer(csrf.clone());
    let webhooks = Router::new()
        .route("/webhook", post(|| async { "received" }))
        .layer(csrf.exempt());
    checked.merge(webhooks)
}

#[tokio::test]
async fn a_plain_axum_router_is_protected() {
    let server = TestServer::spawn(app()).await;
    let res = server.post("/items").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf_token_missing");

    let server = server.with_csrf().await;
    let res = server.post("/items").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "created");
}

#[tokio::test]
async fn an_exempt_router_is_not_checked() {
    let server = TestServer::spawn(app()).await;
    let res = server.post("/webhook").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "received");
}
