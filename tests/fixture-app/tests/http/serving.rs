//! Trailing slashes, request ids and graceful shutdown.

use std::sync::Arc;

use routekit::axum::{Router, routing::get};
use tokio::sync::Notify;

use crate::helpers::{get_json, spawn};

#[tokio::test]
async fn trailing_slash_redirects_with_308_keeping_the_query() {
    let server = spawn().await;
    let res = server.get("/hello/?a=1&b=2").send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/hello?a=1&b=2");
    let res = server.post("/api/items/").send().await.unwrap();
    assert_eq!(
        res.status(),
        308,
        "methods other than GET redirect too (308 keeps the method)"
    );
    assert_eq!(res.headers()["location"], "/api/items");
}

#[tokio::test]
async fn trailing_slash_redirect_never_points_off_site() {
    let server = spawn().await;
    let res = server.get("//evil.example/").send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/evil.example");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let server = spawn().await;
    let a = server.get("/hello").send().await.unwrap();
    let b = server.get("/nope").send().await.unwrap();
    let (a, b) = (&a.headers()["x-request-id"], &b.headers()["x-request-id"]);
    assert_ne!(a, b);
    let res = server
        .get("/hello")
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc.123");
    let res = server
        .get("/hello")
        .header("x-request-id", "bad id!")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id!");
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (e, r) = (entered.clone(), release.clone());
    let app = crate::helpers::app();
    let app = app.merge(Router::new().route(
        "/test/slow",
        get(move || {
            let (e, r) = (e.clone(), r.clone());
            async move {
                e.notify_one();
                r.notified().await;
                "finished"
            }
        }),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(routekit::serve_with_shutdown(listener, app, async {
        let _ = stop_rx.await;
    }));

    let client = routekit_test::client();
    let in_flight = tokio::spawn(async move {
        client
            .get(format!("http://{addr}/test/slow"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    entered.notified().await;
    stop_tx.send(()).unwrap();
    // Shutdown has begun while the request is in its handler; it still completes.
    release.notify_one();
    assert_eq!(in_flight.await.unwrap(), "finished");
    server.await.unwrap().unwrap();
    let fresh = routekit_test::client()
        .get(format!("http://{addr}/hello"))
        .send()
        .await;
    assert!(fresh.is_err(), "no new connections after shutdown");
}

#[tokio::test]
async fn json_is_served_with_the_json_content_type() {
    let server = spawn().await;
    let _ = get_json(&server, "/hello").await;
}
