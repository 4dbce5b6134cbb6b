//! `pub const CAPTCHA: bool = true;` against a local fake siteverify endpoint: accepted,
//! refused, missing, replayed, a provider that hangs, fails or answers nonsense; checked after
//! CSRF, and the handler runs only with a token that passed.

use std::time::{Duration, Instant};

use routekit::axum::body::Bytes;
use routekit::captcha::{Captcha, CaptchaConfig, Provider};
use routekit::{App, Route, RouteTable};
use routekit_test::{Calls, FakeCaptcha, TestServer};
use serde_json::{Value, json};

const SECRET: &str = "0x-test-secret";

struct Setup {
    calls: Calls,
    provider: FakeCaptcha,
    server: TestServer,
}

/// `/contact`: POST with `CAPTCHA = true`, echoing its body; GET too. `/open`: POST without
/// a captcha. CSRF is off unless `csrf` says otherwise.
async fn setup(csrf: bool) -> Setup {
    let calls = Calls::default();
    let provider = FakeCaptcha::start().await;
    let config = CaptchaConfig::new(Provider::Turnstile, SECRET)
        .with_verify_url(provider.verify_url())
        .with_timeout(Duration::from_millis(300));
    let echo = {
        let calls = calls.clone();
        move |body: Bytes| {
            calls.hit();
            async move { body }
        }
    };
    let routes = RouteTable::new(vec![
        Route::new("/contact", "app/contact/route.rs", &["/contact"])
            .get(echo.clone())
            .post(echo.clone())
            .captcha(true),
        Route::new("/open", "app/open/route.rs", &["/open"]).post(echo),
    ]);
    let app = App::new(routes)
        .csrf(csrf)
        .captcha(Captcha::new(config).unwrap());
    Setup {
        calls,
        provider,
        server: TestServer::spawn(app.into_service()).await,
    }
}

async fn assert_error(res: reqwest::Response, status: u16, code: &str) {
    assert_eq!(res.status(), status, "expected {status} {code}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
}

#[tokio::test]
async fn an_accepted_token_reaches_the_handler_from_the_header_or_a_field() {
    let s = setup(false).await;
    let res = s
        .server
        .post("/contact")
        .header("x-captcha-token", "pass-header")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "hello");
    // A form field and a JSON field; the handler still reads the whole body.
    let res = s
        .server
        .post("/contact")
        .form(&[("message", "hi"), ("captcha_token", "pass-form")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.text().await.unwrap(),
        "message=hi&captcha_token=pass-form"
    );
    let body = json!({ "message": "hi", "captcha_token": "pass-json" });
    let res = s.server.post("/contact").json(&body).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), body);
    assert_eq!(s.calls.get(), 3);
    // The provider got the secret, the token and the client's address.
    let asked = s.provider.asked();
    assert_eq!(asked.len(), 3);
    assert!(
        asked
            .iter()
            .all(|a| a.secret == SECRET && a.remoteip == "127.0.0.1")
    );
    // Safe methods and routes without the setting never ask.
    let res = s.server.get("/contact").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = s.server.post("/open").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(s.provider.responses().len(), 3);
}

#[tokio::test]
async fn missing_refused_and_replayed_tokens_never_reach_the_handler() {
    let s = setup(false).await;
    let res = s.server.post("/contact").body("x").send().await.unwrap();
    assert_error(res, 400, "captcha_required").await;
    let res = s
        .server
        .post("/contact")
        .form(&[("captcha_token", "")])
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "captcha_required").await;
    let res = s
        .server
        .post("/contact")
        .header("x-captcha-token", "fail-1")
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "captcha_invalid").await;
    // Two different tokens in one request: which one is meant is a guess.
    let res = s
        .server
        .post("/contact")
        .header("x-captcha-token", "pass-a")
        .header("x-captcha-token", "pass-b")
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "captcha_invalid").await;
    assert_eq!(s.calls.get(), 0);
    // A token passes once; its replay is refused without asking the provider again.
    let res = s
        .server
        .post("/contact")
        .header("x-captcha-token", "pass-once")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = s
        .server
        .post("/contact")
        .form(&[("captcha_token", "pass-once")])
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "captcha_invalid").await;
    assert_eq!(s.calls.get(), 1);
    assert_eq!(s.provider.responses(), ["fail-1", "pass-once"]);
}

#[tokio::test]
async fn a_provider_that_hangs_fails_or_answers_nonsense_is_503_never_a_pass() {
    let s = setup(false).await;
    for token in ["garbage", "down", "hang"] {
        let started = Instant::now();
        let res = s
            .server
            .post("/contact")
            .header("x-captcha-token", token)
            .send()
            .await
            .unwrap();
        assert!(res.headers().contains_key("retry-after"), "{token}");
        assert_error(res, 503, "captcha_unavailable").await;
        // The hanging provider is given up on at the configured 300 ms, not the client's
        // patience (the bound is loose: it tells a timeout from none).
        assert!(started.elapsed() < Duration::from_secs(10), "{token}");
    }
    assert_eq!(s.calls.get(), 0);
    // Nothing left the server stuck: the next good token passes.
    let res = s
        .server
        .post("/contact")
        .header("x-captcha-token", "pass-after")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_csrf_check_comes_first_and_spends_no_token() {
    let s = setup(true).await;
    let res = s
        .server
        .post("/contact")
        .header("x-captcha-token", "pass-forged")
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "csrf_token_missing").await;
    assert!(
        s.provider.responses().is_empty(),
        "a forged request asked the provider"
    );
    assert_eq!(s.calls.get(), 0);
}

#[test]
fn a_captcha_route_in_an_app_without_a_captcha_does_not_start() {
    let routes = RouteTable::new(vec![
        Route::new("/contact", "app/contact/route.rs", &["/contact"])
            .post(|| async {})
            .captcha(true),
    ]);
    let err = App::new(routes).check().unwrap_err().to_string();
    assert!(
        err.starts_with(
            "app/contact/route.rs: `pub const CAPTCHA: bool = true` needs a captcha provider"
        ),
        "{err}"
    );
}
