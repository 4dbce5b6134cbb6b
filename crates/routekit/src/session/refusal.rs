//! Refusals: what a request without a usable session gets. A page navigation is redirected to
//! the sign-in page (or the MFA page) with `?next=`; anything else gets routekit's JSON error.

use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode, header};

use super::SessionConfig;
use super::verify::Refusal;
use crate::error::ApiError;

/// The answer to a request refused for `refusal`.
pub(super) fn respond(config: &SessionConfig, refusal: Refusal, parts: &Parts) -> Response {
    // Only signing in (or verifying a factor) helps a page: an outage does not, and a page
    // without the role must look like no page.
    let redirected = matches!(refusal, Refusal::Unauthenticated | Refusal::MfaRequired);
    if redirected && crate::is_navigation(&parts.headers) {
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
