//! A database outage answers 503 JSON, and the service recovers without a restart.

use routekit_test::{TcpProxy, TestDb};

use crate::helpers::{Auth, PASSWORD, assert_error, start_with};

#[tokio::test]
async fn a_postgres_outage_is_503_and_the_service_recovers() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // The service reaches PostgreSQL through a proxy the test can cut.
    let (before, after) = db.url().split_once("@").unwrap();
    let (target, database) = after.split_once('/').unwrap();
    let proxy = TcpProxy::start(target).await;
    let url = format!("{before}@{}/{database}", proxy.addr());
    let auth: Auth = start_with(db, |mut c| {
        c.database_url = url;
        c
    })
    .await;
    auth.sign_up("ann@example.com").await;

    proxy.cut().await;
    for _ in 0..2 {
        let res = auth.sign_in("ann@example.com", PASSWORD).await;
        let body = assert_error(res, 503, "unavailable").await;
        let message = body["message"].as_str().unwrap();
        assert!(
            !message.contains("127.0.0.1") && !message.contains("postgres"),
            "{message}"
        );
    }
    // The JWKS needs no database.
    let jwks = auth
        .request(reqwest::Method::GET, "/.well-known/jwks.json")
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);

    proxy.restore().await;
    let res = auth.sign_in("ann@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200, "recovered without a restart");
}
