//! Refusals: what a request without a usable session gets. A page navigation is redirected to
//! the sign-in page (or the MFA page) with `?next=`; anything else gets routekit's JSON error.

use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::SessionConfig;
use super::verify::Refusal;
use crate::error::ApiError;

/// The answer to a request refused for `refusal`.
pub(super) fn respond(config: &SessionConfig, refusal: Refusal, parts: &Parts) -> Response {
    // Only signing in (or verifying a factor) helps a page: an outage does not, and a page
    // without the role must look like no page.
    let redirected = matches!(refusal, Refusal::Unauthenticated | Refusal::MfaRequired);
    if redirected && is_navigation(&parts.headers) {
        let target = match refusal {
            Refusal::MfaRequired => &config.mfa_path,
            _ => &config.sign_in_path,
        };
        let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let location = format!(
            "{target}?next={}",
            percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
        );
        // 303 turns a form POST into a GET of the sign-in page; GETs keep 307.
        let status = if matches!(parts.method, Method::GET | Method::HEAD) {
            StatusCode::TEMPORARY_REDIRECT
        } else {
            StatusCode::SEE_OTHER
        };
        let mut res = status.into_response();
        if let Ok(location) = HeaderValue::try_from(location) {
            res.headers_mut().insert(header::LOCATION, location);
        }
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return res;
    }
    match refusal {
        Refusal::Unauthenticated => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in to continue",
        ),
        Refusal::MfaRequired => ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa_required",
            "verify your second factor to continue",
        ),
        Refusal::Unavailable => {
            ApiError::unavailable("the session store is unavailable; try again")
        }
        Refusal::NotPermitted => config.roles.refusal.error(),
    }
    .into_response()
}

/// A page navigation, as opposed to `fetch`/XHR or an API client: `Sec-Fetch-Mode: navigate`,
/// or (for clients that send no fetch metadata) an `Accept` that prefers HTML to JSON.
pub(super) fn is_navigation(headers: &HeaderMap) -> bool {
    if let Some(mode) = headers.get("sec-fetch-mode") {
        return mode.as_bytes() == b"navigate";
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()) else {
        return false;
    };
    let (mut html, mut json) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut params = item.split(';');
        let kind = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let q = params
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        match kind.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            "application/json" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    html > 0.0 && html > json
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::session::test_headers as headers;

    #[test]
    fn navigations_are_told_apart_from_fetches() {
        assert!(is_navigation(&headers(&[("sec-fetch-mode", "navigate")])));
        assert!(!is_navigation(&headers(&[
            ("sec-fetch-mode", "cors"),
            ("accept", "text/html")
        ])));
        assert!(is_navigation(&headers(&[(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )])));
        assert!(!is_navigation(&headers(&[("accept", "*/*")])));
        assert!(!is_navigation(&headers(&[("accept", "application/json")])));
        assert!(!is_navigation(&headers(&[(
            "accept",
            "application/json, text/html;q=0.5"
        )])));
        assert!(!is_navigation(&headers(&[])));
    }
}
