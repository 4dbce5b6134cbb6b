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
