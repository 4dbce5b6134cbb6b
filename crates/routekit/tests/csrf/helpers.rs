//! A routekit app whose handlers count their calls, served for real, and browsers with their
//! own cookie jars.

use routekit::axum::Router;
use routekit::axum::body::Bytes;
use routekit::axum::response::Html;
use routekit::axum::routing::any;
use routekit::{App, CsrfToken, Route, RouteTable};
use routekit_test::TestServer;
use serde_json::Value;

pub(crate) use routekit_test::Calls;

/// The test app:
/// - `/submit`: GET, POST, PUT, PATCH, DELETE, each counting and echoing the body;
/// - `/hook`: POST with `CSRF = false`;
/// - `/page`: an HTML page without a meta tag; `/own-meta`: one that renders its own;
///   `/fragment`: HTML without `<head>`;
/// - `/sign-in`: POST that rotates the secret and returns the new token;
/// - `/small`: POST with a 64-byte body limit;
/// - `/dav`: a merged `any()` route, which takes extension methods such as PROPFIND.
pub(crate) fn app(calls: &Calls) -> App {
    let echo = {
        let calls = calls.clone();
        move |body: Bytes| {
            let calls = calls.clone();
            async move {
                calls.hit();
                body
            }
        }
    };
    let counted = {
        let calls = calls.clone();
        move || {
            let calls = calls.clone();
            async move {
                calls.hit();
                "ran"
            }
        }
    };
    let routes = RouteTable::new(vec![
        Route::new("/submit", "app/submit/route.rs", &["/submit"])
            .get(counted.clone())
            .post(echo.clone())
            .put(echo.clone())
            .patch(echo.clone())
            .delete(echo.clone()),
        Route::new("/hook", "app/hook/route.rs", &["/hook"])
            .post(echo.clone())
            .csrf(false),
        Route::new("/page", "app/page/route.rs", &["/page"]).get(|| async {
            Html("<!doctype html><html><head><title>t</title></head><body>hi</body></html>")
        }),
        Route::new("/own-meta", "app/own-meta/route.rs", &["/own-meta"]).get(
            |token: CsrfToken| async move {
                Html(format!(
                    r#"<html><head><meta name="csrf-token" content="{token}"></head></html>"#
                ))
            },
        ),
        Route::new("/fragment", "app/fragment/route.rs", &["/fragment"])
            .get(|| async { Html("<p>partial</p>") }),
        Route::new("/sign-in", "app/sign-in/route.rs", &["/sign-in"])
            .post(|mut token: CsrfToken| async move { token.rotate().to_owned() }),
        Route::new("/small", "app/small/route.rs", &["/small"])
            .post(echo.clone())
            .body_limit(64),
    ]);
    App::new(routes).merge(Router::new().route("/dav", any(counted)))
}

pub(crate) async fn spawn(app: App) -> TestServer {
    TestServer::spawn(app.into_service()).await
}

/// A browser: its own cookie jar, and the token its page was given.
pub(crate) struct Browser {
    pub(crate) client: reqwest::Client,
    pub(crate) token: String,
}

/// Visits `/_routekit/csrf` with a fresh cookie jar.
pub(crate) async fn browser(server: &TestServer) -> Browser {
    let client = routekit_test::client();
    let res = client
        .get(server.url("/_routekit/csrf"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let token = body["csrfToken"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 86);
    Browser { client, token }
}

impl Browser {
    pub(crate) fn request(
        &self,
        server: &TestServer,
        method: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client.request(method, server.url(path))
    }

    pub(crate) fn post(&self, server: &TestServer, path: &str) -> reqwest::RequestBuilder {
        self.request(server, "POST", path)
    }
}

/// The test app on a fresh port, its call counter, and a browser that has visited it.
pub(crate) async fn setup() -> (Calls, TestServer, Browser) {
    let calls = Calls::default();
    let server = spawn(app(&calls)).await;
    let browser = browser(&server).await;
    (calls, server, browser)
}

/// Asserts a 403 with `code` and returns nothing else: the caller checks the handler count.
pub(crate) async fn assert_refused(res: reqwest::Response, code: &str) {
    assert_eq!(res.status(), 403, "expected 403 `{code}`");
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
}

/// The value of `name` in the response's `Set-Cookie` headers, with the whole header line.
pub(crate) fn set_cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| {
            let (pair, _) = line.split_once(';').unwrap_or((line, ""));
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| (v.to_owned(), line.to_owned()))
        })
}

/// The token in a page's `<meta name="csrf-token">` tags (all of them).
pub(crate) fn meta_tokens(html: &str) -> Vec<String> {
    html.match_indices(r#"<meta name="csrf-token" content=""#)
        .map(|(at, tag)| {
            let rest = &html[at + tag.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}
