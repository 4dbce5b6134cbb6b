//! `/auth/sign-in`: a server-rendered sign-in form (no bundler). On success it writes the same
//! `sb-<host>-auth-token` cookie `@supabase/ssr` would (replacing every part of an older one),
//! rotates the CSRF secret, and sends the browser on: to `/auth/verify` when the account has a
//! verified factor, else to `next`. The auth service rate-limits the attempts itself.

use routekit::axum::response::{Html, Response};
use routekit::{ApiResult, AuthApi, CsrfToken, Form, Query, Session, SessionCookie};
use serde::Deserialize;

use routekit::escape_html;
use crate::pages::{
    PageParams, Viewer, alert, page, redirect_with_cookies, safe_next, with_query,
};

pub async fn GET(
    session: Option<Session>,
    token: CsrfToken,
    Query(params): Query<PageParams>,
) -> Html<String> {
    let next = safe_next(params.next.as_deref());
    let error = match params.error.as_deref() {
        Some("email_not_confirmed") => {
            alert("Confirm your address first: open the link we mailed you.")
        }
        Some(_) => alert("Wrong e-mail or password."),
        None => String::new(),
    };
    let viewer = Viewer::new(session.as_ref(), token.as_str());
    page(
        &viewer,
        "Sign in",
        &format!(
            r#"{error}<form class="card" method="post" action="/auth/sign-in">
  {csrf}
  <input type="hidden" name="next" value="{next}">
  <label>E-mail <input name="email" type="email" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <div class="row"><button type="submit">Sign in</button> <a href="/auth/forgot-password">Forgot your password?</a></div>
</form>
<p><a href="/auth/magic-link?next={next_query}">Sign in with a link by e-mail</a> · New here? <a href="/auth/sign-up">Create an account</a></p>"#,
            csrf = viewer.csrf_field(),
            next = escape_html(&next),
            next_query = escape_html(&percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC).to_string()),
        ),
    )
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    next: Option<String>,
    /// With a captcha configured (`ROUTEKIT_CAPTCHA_*`), the sign-in needs the widget's token.
    captcha_token: Option<String>,
}

pub async fn POST(
    AuthApi(auth, client): AuthApi,
    mut csrf: CsrfToken,
    cookie: SessionCookie,
    Form(form): Form<Credentials>,
) -> ApiResult<Response> {
    let next = safe_next(form.next.as_deref());
    let client = match form.captcha_token {
        Some(token) => client.with_captcha_token(token),
        None => client,
    };
    let session = match auth
        .sign_in_with_password(&client, &form.email, &form.password)
        .await
    {
        Ok(session) => session,
        // Too many attempts is not a wrong password: 429 with Retry-After.
        Err(e) if e.status().is_client_error() && e.retry_after().is_none() => {
            let back = with_query("/auth/sign-in", &[("error", e.code().as_str()), ("next", &next)]);
            return Ok(redirect_with_cookies(&back, Vec::new()));
        }
        Err(e) => return Err(e.into()),
    };
    // A new session: a CSRF secret planted before sign-in protects nothing any more.
    csrf.rotate();
    let cookies = cookie.replace(&session.to_json());
    let level = auth
        .assurance_level(&session.claims)
        .await?;
    let location = if level.requires_mfa() {
        with_query("/auth/verify", &[("next", &next)])
    } else {
        next
    };
    Ok(redirect_with_cookies(&location, cookies))
}
