//! `GET /auth/callback?code=…&next=…`: where mailed links (confirmation, magic link,
//! recovery) land. The code and the verifier cookie kept by the page that asked for the mail
//! are traded for a session, written as the `@supabase/ssr` cookie; the browser goes on to
//! `next`, by way of `/auth/verify` when the account has a second factor. A used, expired or
//! foreign link is told plainly.

use routekit::axum::response::{Html, IntoResponse, Response};
use routekit::http::{HeaderMap, StatusCode};
use routekit::{ApiResult, AuthApi, CsrfToken, Query, SessionCookie};
use serde::Deserialize;

use crate::pages::{Viewer, page, redirect_with_cookies, safe_next, with_query, with_status};

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    next: Option<String>,
    error_description: Option<String>,
}

fn failed(csrf: &str, why: &str) -> Response {
    let body = format!(
        r#"<div class="card" id="link-failed"><p>{}</p><p><a class="button" href="/auth/sign-in">Sign in</a> <a href="/auth/magic-link">Mail me a new link</a></p></div>"#,
        routekit::escape_html(why)
    );
    let page: Html<String> = page(&Viewer::new(None, csrf), "This link did not work", &body);
    let mut res = with_status(page, StatusCode::BAD_REQUEST);
    crate::pages::set_cookie(&mut res, &crate::mail_flow::forget());
    res
}

pub async fn GET(
    AuthApi(auth, client): AuthApi,
    mut csrf: CsrfToken,
    cookie: SessionCookie,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> ApiResult<Response> {
    let next = safe_next(callback.next.as_deref());
    let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
        let why = callback
            .error_description
            .unwrap_or_else(|| "The link has no code.".to_owned());
        return Ok(failed(csrf.as_str(), &format!("{why} Links work once, for an hour.")));
    };
    let Some(verifier) = crate::mail_flow::verifier(&headers) else {
        return Ok(failed(
            csrf.as_str(),
            "Open the link in the browser you asked for it in, or sign in here.",
        ));
    };
    let session = match auth.exchange_auth_code(&client, &code, &verifier).await {
        Ok(session) => session,
        Err(e) if e.status().is_client_error() && e.retry_after().is_none() => {
            return Ok(failed(csrf.as_str(), "This link was used already, or it expired."));
        }
        Err(e) => return Err(e.into()),
    };
    csrf.rotate();
    let mut cookies = cookie.replace(&session.to_json());
    cookies.push(crate::mail_flow::forget());
    let location = if auth.assurance_level(&session.claims).await?.requires_mfa() {
        with_query("/auth/verify", &[("next", &next)])
    } else {
        next
    };
    Ok(redirect_with_cookies(&location, cookies).into_response())
}
