//! `/auth/verify`: the second step for accounts with a verified TOTP factor. The code is checked
//! against the user's factor; the session becomes `aal2` (a new session id and cookie).

use std::net::SocketAddr;

use routekit::axum::extract::ConnectInfo;
use routekit::axum::response::{Html, Response};
use routekit::http::HeaderMap;
use routekit::{ApiResult, AuthApi, CsrfToken, Form, Query, SessionCookie};
use serde::Deserialize;

use crate::html::escape;
use crate::pages::{PageParams, page, redirect_with_cookies, safe_next, with_query};

pub async fn GET(token: CsrfToken, Query(params): Query<PageParams>) -> Html<String> {
    let next = safe_next(params.next.as_deref());
    let error = match params.error.as_deref() {
        Some(_) => "<p role=\"alert\" id=\"error\">That code did not work. Try the next one.</p>",
        None => "",
    };
    page(
        "Two-factor verification",
        &format!(
            r#"{error}<form method="post" action="/auth/verify">
  <input type="hidden" name="csrf_token" value="{token}">
  <input type="hidden" name="next" value="{next}">
  <label>Code from your authenticator app <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" required></label>
  <button type="submit">Verify</button>
</form>"#,
            next = escape(&next),
        ),
    )
}

#[derive(Deserialize)]
pub struct Code {
    code: String,
    next: Option<String>,
}

pub async fn POST(
    AuthApi(auth): AuthApi,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Code>,
) -> ApiResult<Response> {
    let next = safe_next(form.next.as_deref());
    let sign_in = with_query("/auth/sign-in", &[("next", &next)]);
    let Some(cookie) = SessionCookie::read(&headers) else {
        return Ok(redirect_with_cookies(&sign_in, Vec::new()));
    };
    let Ok(claims) = auth.verify_access_token(&cookie.access_token).await else {
        return Ok(redirect_with_cookies(&sign_in, Vec::new()));
    };
    let factors = auth.factors(&claims.sub).await?;
    let Some(factor) = factors
        .iter()
        .find(|f| f["status"] == "verified" && f["factor_type"] == "totp")
        .and_then(|f| f["id"].as_str())
    else {
        return Ok(redirect_with_cookies(&next, Vec::new()));
    };
    let ip = peer.ip().to_string();
    let challenge = auth.challenge(&claims, factor, &ip).await?;
    match auth.verify_totp(&claims, factor, &challenge.id, &form.code, &ip).await {
        Ok(session) => Ok(redirect_with_cookies(&next, cookie.replace(&session.to_json()))),
        Err(e) if e.status().is_client_error() => {
            let back = with_query("/auth/verify", &[("error", e.code()), ("next", &next)]);
            Ok(redirect_with_cookies(&back, Vec::new()))
        }
        Err(e) => Err(e.into()),
    }
}
