//! What the server-rendered auth pages share: the page frame, safe `next` targets, and the
//! redirect that carries a session cookie.

use routekit::axum::response::{Html, IntoResponse, Response};
use routekit::http::{HeaderValue, StatusCode, header};

use crate::html::escape;

/// The query of the auth pages: where to go afterwards, and whether the last try failed.
#[derive(serde::Deserialize)]
pub(crate) struct PageParams {
    pub(crate) next: Option<String>,
    pub(crate) error: Option<String>,
}

/// A small HTML page around `body`.
pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} · routekit example</title>\n</head>\n<body>\n<h1>{}</h1>\n{body}\n</body>\n</html>\n",
        escape(title),
        escape(title)
    ))
}

/// `next` if it is a path on this site (`routekit::is_local_path`), else `/account`: never an
/// open redirect.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| routekit::is_local_path(n))
        .unwrap_or("/account")
        .to_owned()
}

/// 303 to `location` with the given `Set-Cookie` values and `Cache-Control: no-store`.
pub(crate) fn redirect_with_cookies(location: &str, cookies: Vec<String>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let headers = res.headers_mut();
    if let Ok(location) = HeaderValue::try_from(location) {
        headers.insert(header::LOCATION, location);
    }
    for cookie in cookies {
        if let Ok(cookie) = HeaderValue::try_from(cookie) {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `/auth/sign-in?error=…&next=…` style URLs.
pub(crate) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: String = form_urlencoded_pairs(pairs);
    format!("{path}?{query}")
}

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}
