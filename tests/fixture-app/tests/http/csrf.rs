//! CSRF on a server-rendered page: a form with the hidden field, and fetch with the meta tag.

use routekit_test::TestServer;

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
    TestServer::spawn(crate::helpers::app().into_service()).await
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
