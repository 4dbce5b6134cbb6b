//! Getting the token to the page: the endpoint, the meta tag, the extractor, the cookie.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::helpers::{Calls, app, browser, meta_tokens, set_cookie, setup, spawn};

#[tokio::test]
async fn the_token_endpoint_sets_a_local_cookie_on_plain_http_localhost() {
    let server = spawn(app(&Calls::default())).await;
    let client = routekit_test::client();
    let res = client
        .get(server.url("/_routekit/csrf"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (value, line) = set_cookie(&res, "csrf").expect("csrf cookie");
    assert_eq!(value.len(), 43);
    assert_eq!(
        line,
        format!("csrf={value}; Path=/; HttpOnly; SameSite=Lax")
    );

    // A second visit reuses the cookie: no new Set-Cookie, a different token, both valid.
    let first: serde_json::Value = res.json().await.unwrap();
    let res = client
        .get(server.url("/_routekit/csrf"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("set-cookie").is_none());
    let second: serde_json::Value = res.json().await.unwrap();
    assert_ne!(first["csrfToken"], second["csrfToken"]);
    for token in [&first["csrfToken"], &second["csrfToken"]] {
        let res = client
            .post(server.url("/submit"))
            .header("x-csrf-token", token.as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_secure() {
    let server = spawn(app(&Calls::default())).await;
    let res = reqwest::Client::new()
        .get(server.url("/_routekit/csrf"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let (value, line) = set_cookie(&res, "__Host-csrf").expect("__Host-csrf cookie");
    assert_eq!(
        line,
        format!("__Host-csrf={value}; Path=/; HttpOnly; Secure; SameSite=Lax")
    );
    // A name other than localhost is never given the insecure cookie.
    let res = reqwest::Client::new()
        .get(server.url("/_routekit/csrf"))
        .header("host", "app.example.com")
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&res, "__Host-csrf").is_some());
    assert!(set_cookie(&res, "csrf").is_none());
}

#[tokio::test]
async fn html_pages_get_one_meta_tag_with_a_working_token() {
    let calls = Calls::default();
    let server = spawn(app(&calls)).await;
    let client = routekit_test::client();
    let res = client.get(server.url("/page")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        set_cookie(&res, "csrf").is_some(),
        "first visit sets the cookie"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let length: usize = res.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let html = res.text().await.unwrap();
    assert_eq!(
        length,
        html.len(),
        "Content-Length matches the rewritten page"
    );
    assert!(html.starts_with(r#"<!doctype html><html><head><meta name="csrf-token" content=""#));
    let tokens = meta_tokens(&html);
    assert_eq!(tokens.len(), 1);
    let res = client
        .post(server.url("/submit"))
        .header("x-csrf-token", &tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the page's token works");
    assert_eq!(calls.get(), 1);

    // A page that renders its own tag keeps it, alone.
    let html = client.get(server.url("/own-meta")).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert_eq!(meta_tokens(&html).len(), 1);
    // Fragments and JSON are left alone, and set no cookie.
    let fresh = routekit_test::client();
    let res = fresh.get(server.url("/fragment")).send().await.unwrap();
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(res.text().await.unwrap(), "<p>partial</p>");
    let res = fresh.get(server.url("/submit")).send().await.unwrap();
    assert!(res.headers().get("set-cookie").is_none());
    assert!(res.headers().get("cache-control").is_none());
}

#[tokio::test]
async fn head_requests_get_no_rewritten_body() {
    let server = spawn(app(&Calls::default())).await;
    let res = reqwest::Client::new()
        .head(server.url("/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn rotating_the_secret_retires_old_tokens() {
    let (calls, server, browser) = setup().await;
    let res = browser
        .post(&server, "/sign-in")
        .header("x-csrf-token", &browser.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(set_cookie(&res, "csrf").is_some(), "the new secret is sent");
    let fresh = res.text().await.unwrap();
    assert_eq!(fresh.len(), 86);
    let old = browser
        .post(&server, "/submit")
        .header("x-csrf-token", &browser.token)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 403);
    let new = browser
        .post(&server, "/submit")
        .header("x-csrf-token", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);
    assert_eq!(calls.get(), 1);
}

/// Collects log output in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn refusals_are_logged_without_the_token_or_cookie() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // `#[tokio::test]` runs the server on this thread, so a thread-local subscriber sees it.
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = spawn(app(&Calls::default())).await;
    let alice = browser(&server).await;
    let mallory = browser(&server).await;
    let res = alice
        .post(&server, "/submit")
        .header("x-csrf-token", &mallory.token)
        .header("cookie", "csrf=c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("CSRF check refused a request"), "{log}");
    assert!(log.contains("csrf_token_invalid"), "{log}");
    assert!(
        log.contains("path=\"/submit\"") || log.contains("path=/submit"),
        "{log}"
    );
    assert!(!log.contains(&mallory.token), "the token leaked: {log}");
    assert!(!log.contains("c2VjcmV0"), "the cookie leaked: {log}");
}

#[tokio::test]
async fn responses_are_not_sniffed_and_pages_cannot_be_framed_issue_11() {
    let (_, server, browser) = setup().await;
    let page = browser
        .request(&server, "GET", "/page")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        page.headers()["content-security-policy"],
        "frame-ancestors 'self'"
    );
    assert_eq!(page.headers()["x-frame-options"], "SAMEORIGIN");
    // JSON, errors and refusals are not sniffed either; only pages get framing rules.
    for res in [
        browser
            .request(&server, "GET", "/submit")
            .send()
            .await
            .unwrap(),
        browser
            .request(&server, "GET", "/nowhere")
            .send()
            .await
            .unwrap(),
        browser.post(&server, "/submit").send().await.unwrap(),
    ] {
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers().get("x-frame-options").is_none());
    }
}
