//! The example's CSRF settings: an exempt signed webhook, the switches, and the route listing
//! (the form and fetch flows are in the fixture app's tests and the browser tests).

use hmac::{Hmac, KeyInit, Mac};
use routekit_test::TestServer;
use sha2::Sha256;

use crate::helpers::assert_error;

async fn plain() -> TestServer {
    let (app, db) = crate::helpers::app().await;
    TestServer::spawn(app.into_service()).await.keep(db)
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn the_signed_webhook_is_exempt_from_csrf() {
    let db = routekit_test::TestDb::sqlite();
    let config = saas::Config {
        app: Default::default(),
        webhook_secret: Some("whsec_test".into()),
        auth: Some(routekit_auth::AuthConfig::new(db.url())),
        supabase: None,
        captcha: None,
    };
    let app = saas::app_with(config).await.unwrap();
    let server = TestServer::spawn(app.into_service()).await.keep(db);
    let body = r#"{"id":"evt_1","type":"payment.succeeded"}"#;
    // No cookie, no token, as a payment provider calls it.
    let client = reqwest::Client::new();
    let res = client
        .post(server.url("/api/webhooks/payments"))
        .header("x-signature", sign("whsec_test", body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["type"], "payment.succeeded");

    for signature in [sign("wrong", body), "sha256=zz".into(), String::new()] {
        let res = client
            .post(server.url("/api/webhooks/payments"))
            .header("x-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(res, 401, "invalid_signature").await;
    }
}

#[tokio::test]
async fn an_unconfigured_webhook_is_503() {
    let server = plain().await;
    let res = server
        .post("/api/webhooks/payments")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(res, 503, "webhook_not_configured").await;
}

#[tokio::test]
async fn the_environment_switch_turns_csrf_off() {
    let db = routekit_test::TestDb::sqlite();
    let server = routekit_test::ServerProcess::start(
        env!("CARGO_BIN_EXE_saas"),
        &[("ROUTEKIT_CSRF", "off"), ("DATABASE_URL", db.url())],
    )
    .await;
    // No token and no session: with CSRF off the refusal is the session's 401, not a 403.
    let res = reqwest::Client::new()
        .post(format!("{}/api/notes", server.url()))
        .json(&serde_json::json!({ "title": "Widget" }))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthenticated").await;
    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_misspelt_switch_stops_the_server_from_starting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saas"))
        .env("ROUTEKIT_CSRF", "of")
        .env("PORT", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ROUTEKIT_CSRF must be `on` or `off`"),
        "{stderr}"
    );
}
