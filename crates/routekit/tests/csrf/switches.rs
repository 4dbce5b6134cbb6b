//! Turning the check off: per route, app-wide; and what never turns it off.

use crate::helpers::{Calls, app, assert_refused, setup, spawn};

#[tokio::test]
async fn an_exempt_route_takes_mutations_without_a_token() {
    let calls = Calls::default();
    let server = spawn(app(&calls)).await;
    let res = reqwest::Client::new()
        .post(server.url("/hook"))
        .header("content-type", "application/json")
        .header("sec-fetch-site", "cross-site")
        .body(r#"{"event":"paid"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), r#"{"event":"paid"}"#);
    assert_eq!(calls.get(), 1);
    // Its neighbours are still checked.
    let res = reqwest::Client::new()
        .post(server.url("/submit"))
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn the_global_switch_turns_checks_and_tokens_off() {
    let calls = Calls::default();
    let server = spawn(app(&calls).csrf(false)).await;
    let client = routekit_test::client();
    for method in ["POST", "PUT", "DELETE"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = client
            .request(method, server.url("/submit"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = client.post(server.url("/dav")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(calls.get(), 4);
    // No token endpoint, no meta tags, and `CsrfToken` is empty.
    let res = client
        .get(server.url("/_routekit/csrf"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let page = client.get(server.url("/page")).send().await.unwrap();
    assert!(page.headers().get("set-cookie").is_none());
    assert!(!page.text().await.unwrap().contains("csrf-token"));
    let own = client.get(server.url("/own-meta")).send().await.unwrap();
    assert!(own.text().await.unwrap().contains(r#"content="""#));
}

#[tokio::test]
async fn method_overrides_are_never_honoured() {
    let (calls, server, browser) = setup().await;
    // A POST that claims to be a GET is still a POST, and still needs a token.
    let res = browser
        .post(&server, "/submit")
        .header("x-http-method-override", "GET")
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    let res = browser
        .post(&server, "/submit?_method=GET")
        .form(&[("_method", "GET")])
        .send()
        .await
        .unwrap();
    assert_refused(res, "csrf_token_missing").await;
    assert_eq!(calls.get(), 0);
    // And an override never reaches a handler for another method: `/page` has only GET.
    let res = browser
        .post(&server, "/page")
        .header("x-http-method-override", "GET")
        .header("x-csrf-token", &browser.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}
