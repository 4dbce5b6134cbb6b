//! With a captcha configured, sign-up and password sign-in need GoTrue's
//! `gotrue_meta_security.captcha_token`, verified at a local fake siteverify endpoint.

use routekit_captcha::{CaptchaConfig, Provider};
use routekit_test::{FakeCaptcha, TestDb, on_both_databases};
use serde_json::json;

use crate::helpers::{Auth, PASSWORD, assert_error, start_with};

async fn with_captcha(db: TestDb, fake: &FakeCaptcha) -> Auth {
    let config = CaptchaConfig::new(Provider::HCaptcha, "0xsecret")
        .with_verify_url(fake.verify_url())
        .with_timeout(std::time::Duration::from_millis(300));
    start_with(db, move |c| c.with_captcha(config)).await
}

on_both_databases!(sign_up_and_sign_in_need_a_captcha_token_the_provider_accepts);

async fn sign_up_and_sign_in_need_a_captcha_token_the_provider_accepts(db: TestDb) {
    let fake = FakeCaptcha::start().await;
    let auth = with_captcha(db, &fake).await;
    let sign_up = |token: Option<&str>| {
        let security = match token {
            Some(t) => json!({ "captcha_token": t }),
            None => json!({}),
        };
        auth.post(
            "/signup",
            json!({ "email": "ann@example.com", "password": PASSWORD, "data": {}, "gotrue_meta_security": security }),
        )
    };
    // supabase-js sends `{}` without `options.captchaToken`.
    let body = assert_error(sign_up(None).await, 400, "captcha_failed").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("captcha_token"),
        "{body}"
    );
    assert_error(sign_up(Some("fail-1")).await, 400, "captcha_failed").await;
    assert_error(sign_up(Some("down")).await, 503, "unavailable").await;
    // Nothing was created by the refused sign-ups.
    let res = sign_up(Some("pass-1")).await;
    assert_eq!(res.status(), 200);
    // A token passes once.
    let sign_in = |token: &str| {
        auth.post(
            "/token?grant_type=password",
            json!({ "email": "ann@example.com", "password": PASSWORD, "gotrue_meta_security": { "captcha_token": token } }),
        )
    };
    assert_error(sign_in("pass-1").await, 400, "captcha_failed").await;
    assert_eq!(sign_in("pass-2").await.status(), 200);
    let res = auth
        .post(
            "/token?grant_type=password",
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    assert_error(res, 400, "captcha_failed").await;
    assert_eq!(fake.responses(), ["fail-1", "down", "pass-1", "pass-2"]);
    // Refreshing is no sign-in: no captcha.
    let session: serde_json::Value = sign_in("pass-3").await.json().await.unwrap();
    let res = auth
        .refresh(session["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), 200);
}
