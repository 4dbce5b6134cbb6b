//! Where the token comes from, and what makes it invalid.

use crate::helpers::{Calls, app, assert_refused, browser, setup, spawn};

#[tokio::test]
async fn a_request_without_the_cookie_is_refused() {
    let calls = Calls::default();
    let server = spawn(app(&calls)).await;
    let token = browser(&server).await.token;
    // A client with no cookies at all, carrying a token that is valid for someone else.
    let res = reqwest::Client::new()
        .post(server.url("/submit"))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_invalid").await;
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_request_without_a_token_is_refused() {
    let (calls, server, browser) = setup().await;
    let res = browser.post(&server, "/submit").send().await.unwrap();
    assert_refused(res, "csrf_token_missing").await;
    let res = browser
        .post(&server, "/submit")
        .header("x-csrf-token", "")
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    // A body of a kind that cannot carry a token.
    let res = browser
        .post(&server, "/submit")
        .header("content-type", "text/plain")
        .body(format!("csrf_token={}", browser.token))
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_token_for_another_secret_is_refused() {
    let calls = Calls::default();
    let server = spawn(app(&calls)).await;
    let alice = browser(&server).await;
    let mallory = browser(&server).await;
    let res = alice
        .post(&server, "/submit")
        .header("x-csrf-token", &mallory.token)
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_invalid").await;
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn tampered_and_truncated_tokens_are_refused() {
    let (calls, server, browser) = setup().await;
    let token = &browser.token;
    let flipped = |at: usize| {
        let mut bytes = token.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    for bad in [
        flipped(0),
        flipped(40),
        flipped(85),
        token[..85].to_owned(),
        token[..43].to_owned(),
        format!("{token}A"),
        format!("{token}="),
        "x".repeat(86),
    ] {
        let res = browser
            .post(&server, "/submit")
            .header("x-csrf-token", &bad)
            .send()
            .await
            .unwrap();
        assert_refused(res, "csrf_token_invalid").await;
    }
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn the_token_is_read_from_the_header_form_multipart_and_json() {
    let (calls, server, browser) = setup().await;
    let token = &browser.token;

    let header = browser
        .post(&server, "/submit")
        .header("X-Csrf-Token", token)
        .body("raw")
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 200);
    assert_eq!(header.text().await.unwrap(), "raw");

    for content_type in [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
    ] {
        let body = format!("name=a&csrf_token={token}&note=x%20y");
        let res = browser
            .post(&server, "/submit")
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{content_type}");
        // The handler still reads the whole body.
        assert_eq!(res.text().await.unwrap(), body);
    }

    let multipart = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n"
    );
    let res = browser
        .post(&server, "/submit")
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(multipart.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), multipart);

    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let body = serde_json::json!({ "name": "a", "csrf_token": token }).to_string();
        let res = browser
            .post(&server, "/submit")
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{content_type}");
        assert_eq!(res.text().await.unwrap(), body);
    }
    assert_eq!(calls.get(), 7);
}

#[tokio::test]
async fn the_header_wins_over_the_body() {
    let (calls, server, browser) = setup().await;
    let res = browser
        .post(&server, "/submit")
        .header("x-csrf-token", "wrong")
        .form(&[("csrf_token", browser.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_invalid").await;
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn bodies_in_the_wrong_shape_have_no_token() {
    let (calls, server, browser) = setup().await;
    let token = &browser.token;
    for (content_type, body) in [
        ("application/json", format!(r#"["{token}"]"#)),
        (
            "application/json",
            format!(r#"{{"data":{{"csrf_token":"{token}"}}}}"#),
        ),
        ("application/json", format!(r#"{{"csrf_token":"{token}""#)),
        (
            "application/x-www-form-urlencoded",
            format!("csrf_tokens={token}"),
        ),
        ("multipart/form-data; boundary=B", format!("--B\r\n{token}")),
    ] {
        let res = browser
            .post(&server, "/submit")
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_refused(res, "csrf_token_missing").await;
    }
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn every_mutating_method_is_checked_including_unknown_ones() {
    let (calls, server, browser) = setup().await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let res = browser
            .request(&server, method, "/submit")
            .send()
            .await
            .unwrap();
        assert_refused(res, "csrf_token_missing").await;
    }
    for method in ["PROPFIND", "PURGE", "POST"] {
        let res = browser
            .request(&server, method, "/dav")
            .send()
            .await
            .unwrap();
        assert_refused(res, "csrf_token_missing").await;
    }
    assert_eq!(calls.get(), 0);
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let res = browser
            .request(&server, method, "/submit")
            .header("x-csrf-token", &browser.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{method}");
    }
    let res = browser
        .request(&server, "PROPFIND", "/dav")
        .header("x-csrf-token", &browser.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(calls.get(), 5);
}

#[tokio::test]
async fn safe_methods_are_never_blocked() {
    let calls = Calls::default();
    let server = spawn(app(&calls)).await;
    // No cookie, no token, a cross-site origin: reads still work.
    let client = reqwest::Client::new();
    for method in ["GET", "HEAD", "OPTIONS"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = client
            .request(method.clone(), server.url("/submit"))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{method}: {}", res.status());
    }
    assert_eq!(calls.get(), 2, "GET and HEAD ran the handler");
}

#[tokio::test]
async fn a_form_body_over_the_route_limit_is_413_without_running_the_handler() {
    let (calls, server, browser) = setup().await;
    let res = browser
        .post(&server, "/small")
        .form(&[
            ("csrf_token", browser.token.as_str()),
            ("note", &"x".repeat(100)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    let res = browser
        .post(&server, "/small")
        .header("x-csrf-token", &browser.token)
        .body("small enough")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn ambiguous_tokens_are_refused_issue_11() {
    let (calls, server, browser) = setup().await;
    // Two X-CSRF-Token headers, one of them right: which one a proxy or a handler reads is
    // anybody's guess, so neither is taken.
    for (first, second) in [
        (browser.token.as_str(), "forged"),
        ("forged", browser.token.as_str()),
    ] {
        let res = browser
            .post(&server, "/submit")
            .header("x-csrf-token", first)
            .header("x-csrf-token", second)
            .send()
            .await
            .unwrap();
        assert_refused(res, "csrf_token_invalid").await;
    }
    // A form with the field twice.
    let res = browser
        .post(&server, "/submit")
        .form(&[
            ("csrf_token", browser.token.as_str()),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_invalid").await;
    // A multipart form with the field twice.
    let body = format!(
        "--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n\
         --B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nforged\r\n--B--\r\n",
        browser.token
    );
    let res = browser
        .post(&server, "/submit")
        .header("content-type", "multipart/form-data; boundary=B")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_invalid").await;
    // A JSON object with the field twice has no token (serde refuses duplicate fields).
    let res = browser
        .post(&server, "/submit")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"csrf_token":"{}","csrf_token":"forged"}}"#,
            browser.token
        ))
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    assert_eq!(calls.get(), 0, "no handler ran");
    // The same token twice is not ambiguous.
    let res = browser
        .post(&server, "/submit")
        .header("x-csrf-token", &browser.token)
        .header("x-csrf-token", &browser.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(calls.get(), 1);
}
