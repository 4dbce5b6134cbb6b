//! The example's CSRF flows: a form with the hidden field, fetch with the meta tag, an exempt
//! signed webhook, the switches, and the route listing.

use hmac::{Hmac, KeyInit, Mac};
use routekit_test::TestServer;
use sha2::Sha256;

use crate::helpers::assert_error;

fn meta_token(html: &str) -> String {
    let tag = r#"<meta name="csrf-token" content=""#;
    let start = html.find(tag).expect("meta tag") + tag.len();
    html[start..start + 86].to_owned()
}

fn hidden_field(html: &str) -> String {
    let tag = r#"name="csrf_token" value=""#;
    let start = html.find(tag).expect("hidden field") + tag.len();
    html[start..start + 86].to_owned()
}

/// `GET /guestbook`'s HTML, asserting 200.
async fn guestbook(server: &TestServer) -> String {
    let page = server.get("/guestbook").send().await.unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

async fn plain() -> TestServer {
    let (app, db) = crate::helpers::app().await;
    TestServer::spawn(app.into_service()).await.keep(db)
}

#[tokio::test]
async fn the_guestbook_form_posts_with_its_hidden_field() {
    let server = plain().await;
    let html = guestbook(&server).await;
    let token = hidden_field(&html);

    let message = format!("<b>hello</b> from {}", server.addr().port());
    let res = server
        .post("/guestbook")
        .form(&[
            ("csrf_token", token.as_str()),
            ("message", message.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/guestbook");
    let html = guestbook(&server).await;
    let escaped = format!("&lt;b&gt;hello&lt;/b&gt; from {}", server.addr().port());
    assert!(html.contains(&escaped), "the entry is listed, escaped");
    assert!(!html.contains(&message));

    // The same form without its token is refused and stores nothing.
    let unsent = format!("forged {}", server.addr().port());
    let res = server
        .post("/guestbook")
        .form(&[("message", unsent.as_str())])
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "csrf_token_missing").await;
    let html = guestbook(&server).await;
    assert!(!html.contains(&unsent));
}

#[tokio::test]
async fn the_guestbook_validates_its_form() {
    let server = plain().await;
    let html = guestbook(&server).await;
    let token = hidden_field(&html);
    let res = server
        .post("/guestbook")
        .form(&[("csrf_token", token.as_str()), ("message", "   ")])
        .send()
        .await
        .unwrap();
    assert_error(res, 422, "validation_failed").await;
    let res = server
        .post("/guestbook")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_error(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn fetch_with_the_meta_tag_token_creates_an_item() {
    let server = plain().await;
    let html = guestbook(&server).await;
    let token = meta_token(&html);
    assert_ne!(token, hidden_field(&html), "each token is masked afresh");
    let res = server
        .post("/api/items")
        .header("x-csrf-token", &token)
        .json(&serde_json::json!({ "name": "Widget", "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = server
        .post("/api/items")
        .json(&serde_json::json!({ "name": "Widget", "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "csrf_token_missing").await;
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
    let res = reqwest::Client::new()
        .post(format!("{}/api/items", server.url()))
        .json(&serde_json::json!({ "name": "Widget", "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
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

#[test]
fn saas_routes_lists_csrf_state_and_warns_about_the_webhook() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saas"))
        .arg("routes")
        .env_remove("ROUTEKIT_CSRF")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "POST                /api/items              checked  -                 -        app/api/items/route.rs"
        ),
        "{text}"
    );
    assert!(
        text.contains("GET, POST           /guestbook              checked  -"),
        "{text}"
    );
    assert!(
        text.contains(
            "GET                 /account                -        required          -        app/account/route.rs"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "DELETE, PATCH       /api/admin/users/[id]   checked  role:super-admin  -        app/api/admin/users/[id]/route.rs"
        ),
        "{text}"
    );
    assert!(
        text.contains("warning: POST /api/webhooks/payments is exempt from CSRF checks"),
        "{text}"
    );
}
