//! `/auth/verify`: the second step for accounts with a verified TOTP factor. The code is checked
//! against the user's factor; the session becomes `aal2` (a new session id and cookie).
//!
//! The session is checked before any code is (a signed-out session or a banned user gets the
//! sign-in page), the auth service limits and locks out repeated failures, and every wrong
//! code gets the same answer, so the redirect tells nothing but "not accepted".

use routekit::axum::response::{Html, Response};
use routekit::{ApiResult, AuthApi, CsrfToken, Form, Query, SessionCookie};
use routekit::auth::ErrorCode;
use serde::Deserialize;

use routekit::escape_html;
use crate::pages::{
    PageParams, Viewer, alert, page, redirect_with_cookies, safe_next, with_query,
};

/// No `Session` here: an `aal1` session of a user with a factor is what this page is for,
/// and `Session` would send it back here.
pub async fn GET(
    token: CsrfToken,
    Query(params): Query<PageParams>,
) -> Html<String> {
    let next = safe_next(params.next.as_deref());
    let error = match params.error.as_deref() {
        Some(_) => alert("That code did not work. Try the next one."),
        None => String::new(),
    };
    let viewer = Viewer::new(None, token.as_str());
    page(
        &viewer,
        "Two-factor verification",
        &format!(
            r#"{error}<form class="card" method="post" action="/auth/verify">
  {csrf}
  <input type="hidden" name="next" value="{next}">
  <label>Code from your authenticator app <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" required></label>
  <button type="submit">Verify</button>
</form>
<form method="post" action="/auth/sign-out">{csrf}<button class="link" type="submit">Sign out instead</button></form>"#,
            csrf = viewer.csrf_field(),
            next = escape_html(&next),
        ),
    )
}

#[derive(Deserialize)]
pub struct Code {
    code: String,
    next: Option<String>,
}

pub async fn POST(
    AuthApi(auth, client): AuthApi,
    cookie: SessionCookie,
    Form(form): Form<Code>,
) -> ApiResult<Response> {
    let next = safe_next(form.next.as_deref());
    let sign_in = with_query("/auth/sign-in", &[("next", &next)]);
    let Some(access_token) = cookie.access_token.as_deref() else {
        return Ok(redirect_with_cookies(&sign_in, Vec::new()));
    };
    // The session must still exist and its user must not be banned: `authenticate`, not just
    // the token's signature.
    let claims = match auth.authenticate(access_token).await {
        Ok((_, claims)) => claims,
        Err(e) if e.status().is_client_error() => {
            return Ok(redirect_with_cookies(&sign_in, Vec::new()));
        }
        Err(e) => return Err(e.into()),
    };
    match auth.verify_totp_code(&client, &claims, &form.code).await {
        Ok(session) => Ok(redirect_with_cookies(&next, cookie.replace(&session.to_json()))),
        // No verified factor: nothing to verify.
        Err(e) if e.code() == ErrorCode::FactorNotFound => {
            Ok(redirect_with_cookies(&next, Vec::new()))
        }
        Err(e) if e.status().is_client_error() && e.retry_after().is_none() => {
            let back = with_query("/auth/verify", &[("error", "invalid_code"), ("next", &next)]);
            Ok(redirect_with_cookies(&back, Vec::new()))
        }
        Err(e) => Err(e.into()),
    }
}
