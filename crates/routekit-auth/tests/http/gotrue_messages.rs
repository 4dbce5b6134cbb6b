//! What supabase-js and apps match on (issue #12): GoTrue's `bad_jwt` messages, and GoTrue's
//! error shape for a URL the server does not have.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use routekit_test::TestDb;
use serde_json::json;

use crate::helpers::{assert_error, claims, start};

const PREFIX: &str = "invalid JWT: unable to parse or verify signature, ";

#[tokio::test]
async fn refused_tokens_carry_gotrue_messages() {
    let auth = start(TestDb::sqlite()).await;
    let session = auth.sign_up("ann@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let mut expired = claims(token);
    expired["exp"] = json!(expired["iat"].as_i64().unwrap() - 120);
    let forged_payload = URL_SAFE_NO_PAD.encode(expired.to_string());
    let cases = [
        ("not-a-jwt".to_owned(), "token is malformed"),
        (
            format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([1u8; 64])),
            "token signature is invalid",
        ),
        (
            format!(
                "{header}.{forged_payload}.{}",
                rest.split_once('.').unwrap().1
            ),
            "token signature is invalid",
        ),
    ];
    for (bad, reason) in cases {
        let body = assert_error(auth.get_user(&bad).await, 403, "bad_jwt").await;
        assert_eq!(body["message"], format!("{PREFIX}{reason}"), "{bad}");
    }
}

#[tokio::test]
async fn an_unknown_auth_url_answers_in_gotrue_shape() {
    let auth = start(TestDb::sqlite()).await;
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let res = auth
            .request(method, "/no-such-endpoint")
            .send()
            .await
            .unwrap();
        assert_error(res, 404, "not_found").await;
    }
    // Without the version header, GoTrue's legacy shape.
    let res = reqwest::Client::new()
        .get(auth.server.url("/auth/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "not_found");
    assert_eq!(body["code"], 404);
    assert!(body["msg"].as_str().is_some_and(|m| !m.is_empty()));
}
