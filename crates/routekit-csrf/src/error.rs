//! Rejections, answered as routekit's JSON errors: `{"error":{"code":"…","message":"…"}}`.

use std::fmt;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// Why a mutation was refused. Every variant is a 403 with a stable `code`.
///
/// ```
/// use routekit_csrf::CsrfError;
///
/// assert_eq!(CsrfError::TokenMissing.code(), "csrf_token_missing");
/// let res = axum::response::IntoResponse::into_response(CsrfError::TokenInvalid);
/// assert_eq!(res.status(), 403);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfError {
    /// No token in the `X-CSRF-Token` header, the `csrf_token` form field or the
    /// `csrf_token` JSON field.
    TokenMissing,
    /// A token that was not issued for this browser's secret (or no secret cookie at all).
    TokenInvalid,
    /// `Sec-Fetch-Site` or `Origin` says the request comes from another site.
    OriginRejected,
}

impl CsrfError {
    /// The stable code in the JSON body.
    pub fn code(self) -> &'static str {
        match self {
            CsrfError::TokenMissing => "csrf_token_missing",
            CsrfError::TokenInvalid => "csrf_token_invalid",
            CsrfError::OriginRejected => "csrf_origin_rejected",
        }
    }

    fn message(self) -> &'static str {
        match self {
            CsrfError::TokenMissing => {
                "this request needs a CSRF token: send it in the X-CSRF-Token header or a \
                 csrf_token field"
            }
            CsrfError::TokenInvalid => {
                "the CSRF token does not match this browser's CSRF cookie; reload the page or \
                 fetch a new token from /_routekit/csrf"
            }
            CsrfError::OriginRejected => "cross-site requests cannot change anything here",
        }
    }
}

impl fmt::Display for CsrfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for CsrfError {}

impl IntoResponse for CsrfError {
    fn into_response(self) -> Response {
        json_error(StatusCode::FORBIDDEN, self.code(), self.message())
    }
}

/// A JSON error response; `code` and `message` are fixed strings with nothing to escape.
pub(crate) fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
