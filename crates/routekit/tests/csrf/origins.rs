//! The second line of defence (`Sec-Fetch-Site`, `Origin`) and the Bearer exemption.

use routekit::csrf::CsrfConfig;

use crate::helpers::{Calls, app, assert_refused, browser, setup, spawn};

#[tokio::test]
async fn cross_site_requests_are_refused_even_with_a_valid_token() {
    let (calls, server, browser) = setup().await;
    let own = server.url("");
    let foreign_port = format!("http://127.0.0.1:{}", server.addr().port() + 1);
    let cases: [&[(&str, &str)]; 7] = [
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "cross-site"), ("origin", own.as_str())],
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://sub.127.0.0.1"),
        ],
        &[("sec-fetch-site", "something-new")],
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("origin", foreign_port.as_str())],
    ];
    for headers in cases {
        let mut req = browser
            .post(&server, "/submit")
            .header("x-csrf-token", &browser.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        assert_refused(req.send().await.unwrap(), "csrf_origin_rejected").await;
    }
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn same_origin_browser_requests_pass() {
    let (calls, server, browser) = setup().await;
    let own = server.url("");
    for headers in [
        vec![("sec-fetch-site", "same-origin"), ("origin", own.as_str())],
        vec![("origin", own.as_str())],
        vec![("sec-fetch-site", "none")],
    ] {
        let mut req = browser
            .post(&server, "/submit")
            .header("x-csrf-token", &browser.token);
        for (k, v) in &headers {
            req = req.header(*k, *v);
        }
        assert_eq!(req.send().await.unwrap().status(), 200, "{headers:?}");
    }
    // `Sec-Fetch-Site: none` (typed in the address bar) still needs the token.
    let res = browser
        .post(&server, "/submit")
        .header("sec-fetch-site", "none")
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    assert_eq!(calls.get(), 3);
}

#[tokio::test]
async fn a_trusted_sibling_origin_passes_but_still_needs_the_token() {
    let calls = Calls::default();
    let config = CsrfConfig::new()
        .add_trusted_origin("https://admin.example.com")
        .unwrap();
    let server = spawn(app(&calls).csrf_config(config)).await;
    let browser = browser(&server).await;
    let from_admin = |req: reqwest::RequestBuilder| {
        req.header("sec-fetch-site", "same-site")
            .header("origin", "https://admin.example.com")
    };
    let res = from_admin(browser.post(&server, "/submit"))
        .header("x-csrf-token", &browser.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = from_admin(browser.post(&server, "/submit"))
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn bearer_only_requests_are_exempt_but_not_with_a_cookie() {
    let calls = Calls::default();
    let server = spawn(app(&calls)).await;
    let api = reqwest::Client::new();
    let res = api
        .post(server.url("/submit"))
        .bearer_auth("an-access-token")
        .body("from a script")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(calls.get(), 1);

    // The same request with any cookie is a browser's and is checked.
    let res = api
        .post(server.url("/submit"))
        .bearer_auth("an-access-token")
        .header("cookie", "theme=dark")
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    let browser = browser(&server).await;
    let res = browser
        .post(&server, "/submit")
        .bearer_auth("an-access-token")
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    // Other schemes are not exempt.
    let res = api
        .post(server.url("/submit"))
        .basic_auth("user", Some("pass"))
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    assert_eq!(calls.get(), 1);
}
