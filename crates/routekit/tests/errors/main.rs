//! HTML error pages for navigations (`App::error_pages`) against a real server: every error
//! kind a browser can meet, the JSON kept for API calls, and handlers' own answers untouched.

use routekit::axum::response::Html;
use routekit::http::StatusCode;
use routekit::{App, ErrorPage, Form, Json, Route, RouteTable};
use routekit_test::{Calls, TestServer};
use serde_json::Value;

const NAVIGATE: (&str, &str) = ("sec-fetch-mode", "navigate");

fn page(error: &ErrorPage) -> Html<String> {
    let fields: String = error
        .fields
        .iter()
        .map(|f| format!("<li>{}: {}</li>", f.path(), f.message()))
        .collect();
    Html(format!(
        "<!doctype html><title>{status}</title><h1>{status} {code}</h1><p>{message}</p><p>{path}</p><ul>{fields}</ul>",
        status = error.status.as_u16(),
        code = error.code,
        message = error.message,
        path = error.path,
    ))
}

#[derive(serde::Deserialize, validator::Validate)]
struct Entry {
    #[validate(length(min = 3))]
    text: String,
}

fn app(calls: &Calls) -> App {
    let counted = |calls: &Calls| {
        let calls = calls.clone();
        move || {
            let calls = calls.clone();
            async move {
                calls.hit();
                "ran"
            }
        }
    };
    let form = {
        let calls = calls.clone();
        move |routekit::Valid(Form(entry)): routekit::Valid<Form<Entry>>| {
            let calls = calls.clone();
            async move {
                calls.hit();
                entry.text
            }
        }
    };
    let routes = RouteTable::new(vec![
        Route::new("/form", "app/form/route.rs", &["/form"])
            .get(counted(calls))
            .post(form),
        Route::new("/only-get", "app/only-get/route.rs", &["/only-get"]).get(counted(calls)),
        Route::new("/panics", "app/panics/route.rs", &["/panics"]).get(|| async {
            if true {
                panic!("a bug");
            }
            "never"
        }),
        Route::new("/own-json", "app/own-json/route.rs", &["/own-json"]).get(|| async {
            (
                StatusCode::CONFLICT,
                Json(serde_json::json!({ "taken": true })),
            )
        }),
        Route::new("/own-html", "app/own-html/route.rs", &["/own-html"])
            .get(|| async { (StatusCode::GONE, Html("<p>gone, my way</p>")) }),
    ]);
    App::new(routes).body_limit(1024).error_pages(page)
}

async fn server(calls: &Calls) -> TestServer {
    TestServer::spawn(app(calls).into_service()).await
}

async fn text(res: reqwest::Response) -> (StatusCode, String, String) {
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    (status, kind, res.text().await.unwrap())
}

#[tokio::test]
async fn an_unknown_url_is_the_apps_404_page_for_a_browser_and_json_for_an_api_call() {
    let calls = Calls::default();
    let server = server(&calls).await;
    let res = server
        .get("/nowhere?x=1")
        .header(NAVIGATE.0, NAVIGATE.1)
        .send()
        .await
        .unwrap();
    let (status, kind, body) = text(res).await;
    assert_eq!(status, 404);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(
        body.contains("<h1>404 not_found</h1>") && body.contains("/nowhere?x=1"),
        "{body}"
    );
    // The same rule as Session's: Accept that prefers HTML, without fetch metadata.
    let res = server
        .get("/nowhere")
        .header("accept", "text/html,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert!(text(res).await.1.starts_with("text/html"));
    for (name, value) in [("sec-fetch-mode", "cors"), ("accept", "application/json")] {
        let res = server
            .get("/nowhere")
            .header(name, value)
            .send()
            .await
            .unwrap();
        let (status, kind, body) = text(res).await;
        assert_eq!((status.as_u16(), kind.as_str()), (404, "application/json"));
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}

#[tokio::test]
async fn a_form_posted_without_its_csrf_token_is_the_403_page_and_the_handler_does_not_run() {
    let calls = Calls::default();
    let server = server(&calls).await;
    let res = server
        .post("/form")
        .header(NAVIGATE.0, NAVIGATE.1)
        .form(&[("text", "hello")])
        .send()
        .await
        .unwrap();
    let (status, kind, body) = text(res).await;
    assert_eq!(status, 403);
    assert!(kind.starts_with("text/html"));
    assert!(body.contains("<h1>403 csrf_"), "{body}");
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_405_keeps_its_allow_header_and_a_413_and_a_422_are_pages_too() {
    let calls = Calls::default();
    let server = server(&calls).await.with_csrf().await;
    let res = server
        .post("/only-get")
        .header(NAVIGATE.0, NAVIGATE.1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD, OPTIONS");
    let (status, kind, body) = text(res).await;
    assert_eq!(status, 405);
    assert!(
        kind.starts_with("text/html") && body.contains("method_not_allowed"),
        "{body}"
    );

    let big = "x".repeat(4096);
    let res = server
        .post("/form")
        .header(NAVIGATE.0, NAVIGATE.1)
        .form(&[("text", big.as_str())])
        .send()
        .await
        .unwrap();
    let (status, kind, _) = text(res).await;
    assert_eq!(
        (status.as_u16(), kind.starts_with("text/html")),
        (413, true)
    );

    let res = server
        .post("/form")
        .header(NAVIGATE.0, NAVIGATE.1)
        .form(&[("text", "ab")])
        .send()
        .await
        .unwrap();
    let (status, kind, body) = text(res).await;
    assert_eq!(status, 422);
    assert!(kind.starts_with("text/html"));
    assert!(body.contains("<li>text: "), "{body}");
    assert_eq!(calls.get(), 0);
    // The valid form reaches the handler, and its answer is its own.
    let res = server
        .post("/form")
        .header(NAVIGATE.0, NAVIGATE.1)
        .form(&[("text", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(text(res).await.2, "abc");
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_panic_is_the_500_page_without_its_cause() {
    let calls = Calls::default();
    let server = server(&calls).await;
    let res = server
        .get("/panics")
        .header(NAVIGATE.0, NAVIGATE.1)
        .send()
        .await
        .unwrap();
    let (status, kind, body) = text(res).await;
    assert_eq!(status, 500);
    assert!(kind.starts_with("text/html"));
    assert!(
        body.contains("internal error") && !body.contains("a bug"),
        "{body}"
    );
}

#[tokio::test]
async fn a_handlers_own_error_answers_pass_unchanged() {
    let calls = Calls::default();
    let server = server(&calls).await;
    let res = server
        .get("/own-json")
        .header(NAVIGATE.0, NAVIGATE.1)
        .send()
        .await
        .unwrap();
    let (status, kind, body) = text(res).await;
    assert_eq!((status.as_u16(), kind.as_str()), (409, "application/json"));
    assert_eq!(body, r#"{"taken":true}"#);
    let res = server
        .get("/own-html")
        .header(NAVIGATE.0, NAVIGATE.1)
        .send()
        .await
        .unwrap();
    assert_eq!(text(res).await.2, "<p>gone, my way</p>");
}

#[tokio::test]
async fn without_error_pages_a_navigation_gets_the_json_error() {
    let routes = RouteTable::new(vec![]);
    let server = TestServer::spawn(App::new(routes).into_service()).await;
    let res = server
        .get("/nowhere")
        .header(NAVIGATE.0, NAVIGATE.1)
        .send()
        .await
        .unwrap();
    let (status, kind, _) = text(res).await;
    assert_eq!((status.as_u16(), kind.as_str()), (404, "application/json"));
}
