//! Telling a browser's page navigation from an API call.

use http::{HeaderMap, header};

/// Whether a request is a page navigation, as opposed to `fetch`/XHR or an API client:
/// `Sec-Fetch-Mode: navigate`, or (for clients that send no fetch metadata) an `Accept` that
/// prefers HTML to JSON. `Session` redirects a navigation without a session to the sign-in
/// page, and [`App::error_pages`](crate::App::error_pages) answers a navigation's error with
/// an HTML page, by this rule; a route that renders HTML for browsers and JSON for API calls
/// can use it too.
///
/// ```
/// use routekit::http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
/// assert!(routekit::is_navigation(&headers));
/// headers.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
/// assert!(!routekit::is_navigation(&headers));
/// ```
pub fn is_navigation(headers: &HeaderMap) -> bool {
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
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

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
