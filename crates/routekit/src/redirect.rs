//! Redirect responses, with Next.js's defaults.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::error::ApiError;

/// A redirect. [`Redirect::to`] is 307, as `NextResponse.redirect` and `redirect()` are;
/// note that axum's `Redirect::to` is 303.
///
/// ```
/// use routekit::Redirect;
/// use routekit::http::StatusCode;
///
/// pub async fn GET() -> Redirect {
///     Redirect::to("/dashboard")
/// }
///
/// assert_eq!(Redirect::to("/a").status(), StatusCode::TEMPORARY_REDIRECT);
/// assert_eq!(Redirect::permanent("/a").status(), StatusCode::PERMANENT_REDIRECT);
/// assert_eq!(Redirect::see_other("/a").status(), StatusCode::SEE_OTHER);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a redirect does nothing unless returned"]
pub struct Redirect {
    status: StatusCode,
    location: String,
}

impl Redirect {
    /// 307 Temporary Redirect: the method and body are kept.
    pub fn to(location: impl Into<String>) -> Self {
        Redirect {
            status: StatusCode::TEMPORARY_REDIRECT,
            location: location.into(),
        }
    }

    /// 308 Permanent Redirect: the method and body are kept, and clients may cache it.
    pub fn permanent(location: impl Into<String>) -> Self {
        Redirect {
            status: StatusCode::PERMANENT_REDIRECT,
            location: location.into(),
        }
    }

    /// 303 See Other: the client follows with a GET (after a form POST).
    pub fn see_other(location: impl Into<String>) -> Self {
        Redirect {
            status: StatusCode::SEE_OTHER,
            location: location.into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The target.
    pub fn location(&self) -> &str {
        &self.location
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        match HeaderValue::try_from(self.location) {
            Ok(location) => (self.status, [(header::LOCATION, location)]).into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        }
    }
}

/// Whether `target` (a `?next=` value, say) is a path on this site, so that redirecting to it
/// cannot leave the site: the check every sign-in page needs against open redirects.
///
/// It must be a path that starts with one `/` (not `//`, a host), and contain no control
/// character, no whitespace and no `\` anywhere: browsers drop tabs and newlines from URLs and
/// read `\` as `/`, so `/\t/evil.example` and `/\evil.example` are `//evil.example` to them.
/// What passes is then resolved against an origin, as a browser would (the WHATWG URL
/// parser), and must stay on it.
///
/// ```
/// use routekit::is_local_path;
///
/// assert!(is_local_path("/account?tab=security#factors"));
/// assert!(!is_local_path("//evil.example"));
/// assert!(!is_local_path("/\t/evil.example"));
/// assert!(!is_local_path("/\\evil.example"));
/// assert!(!is_local_path("https://evil.example/"));
/// assert!(!is_local_path("account"));
///
/// // In a sign-in handler:
/// let next = Some("/%09/evil.example").filter(|n| is_local_path(n)).unwrap_or("/account");
/// ```
pub fn is_local_path(target: &str) -> bool {
    // Long enough for any real path; a longer one is not worth a parse.
    const MAX_LEN: usize = 2048;
    let bytes = target.as_bytes();
    if bytes.len() > MAX_LEN || bytes.first() != Some(&b'/') || bytes.get(1) == Some(&b'/') {
        return false;
    }
    if target
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    // Belt and braces: resolve it as a browser would and compare origins.
    static BASE: std::sync::OnceLock<url::Url> = std::sync::OnceLock::new();
    let base = BASE
        .get_or_init(|| url::Url::parse("https://routekit.invalid/").expect("a valid base URL"));
    base.join(target)
        .is_ok_and(|resolved| resolved.origin() == base.origin())
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn every_control_character_whitespace_and_backslash_form_is_refused() {
        // C0, DEL and C1 controls, before and after the slash.
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            for target in [
                format!("/{c}/evil.example"),
                format!("{c}//evil.example"),
                format!("/a{c}"),
            ] {
                assert!(!is_local_path(&target), "{target:?}");
            }
        }
        // Unicode whitespace that some parsers strip.
        for c in ['\u{a0}', '\u{2028}', '\u{3000}', '\u{feff}'] {
            let target = format!("/{c}/evil.example");
            if c.is_whitespace() {
                assert!(!is_local_path(&target), "{target:?}");
            }
        }
        for target in [
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/a\\b",
            "//evil.example",
            "///evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert!(!is_local_path(target), "{target:?}");
        }
        for target in [
            "/",
            "/account",
            "/a/b?c=d#e",
            "/%2F%2Fevil.example",
            "/.//x",
            "/%09/x",
        ] {
            assert!(is_local_path(target), "{target:?}");
        }
    }
}
