//! `/auth/sign-up`: create an account with e-mail and password. With confirmation on (the
//! default) the answer is "check your inbox", and the mailed link leads to `/auth/callback`,
//! which signs the new user in; with `ROUTEKIT_AUTH_AUTOCONFIRM=true` the user is signed in
//! at once. An address that has an account already gets the same answer as a new one.

use routekit::auth::SignUp;
use routekit::axum::response::{Html, Response};
use routekit::{ApiResult, AuthApi, CsrfToken, Form, Query, Session, SessionCookie};
use serde::Deserialize;

use routekit::escape_html;
use crate::pages::{
    PageParams, Viewer, alert, check_inbox, page, redirect_with_cookies, refusal, safe_next,
    with_status,
};

fn form(viewer: &Viewer<'_>, next: &str, email: &str, error: Option<&str>) -> Html<String> {
    page(
        viewer,
        "Create your account",
        &format!(
            r#"{error}<form class="card" method="post" action="/auth/sign-up">
  {csrf}
  <input type="hidden" name="next" value="{next}">
  <label>E-mail <input name="email" type="email" autocomplete="email" value="{email}" required></label>
  <label>Password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>
  <p class="muted">At least 8 characters; a passphrase of a few words is best.</p>
  <button type="submit">Create account</button>
</form>
<p>Have an account? <a href="/auth/sign-in">Sign in</a></p>"#,
            error = error.map(alert).unwrap_or_default(),
            csrf = viewer.csrf_field(),
            next = escape_html(next),
            email = escape_html(email),
        ),
    )
}

pub async fn GET(
    session: Option<Session>,
    token: CsrfToken,
    Query(params): Query<PageParams>,
) -> Html<String> {
    let next = safe_next(params.next.as_deref());
    form(&Viewer::new(session.as_ref(), token.as_str()), &next, "", None)
}

#[derive(Deserialize)]
pub struct NewAccount {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn POST(
    AuthApi(auth, client): AuthApi,
    mut csrf: CsrfToken,
    cookie: SessionCookie,
    Form(account): Form<NewAccount>,
) -> ApiResult<Response> {
    let next = safe_next(account.next.as_deref());
    let (options, verifier) = crate::mail_flow::start(&auth, &next)?;
    let signed_up = auth
        .sign_up_with(&client, &account.email, &account.password, None, &options)
        .await;
    match signed_up {
        Ok(SignUp::Session(session)) => {
            csrf.rotate();
            Ok(redirect_with_cookies(&next, cookie.replace(&session.to_json())))
        }
        Ok(_) => {
            let text = format!(
                "We sent a confirmation link to <strong>{}</strong> to finish signing up.",
                escape_html(account.email.trim())
            );
            Ok(check_inbox(&Viewer::new(None, csrf.as_str()), &text, &verifier))
        }
        Err(e) => match refusal(&e) {
            Some(message) => {
                let viewer = Viewer::new(None, csrf.as_str());
                let form = form(&viewer, &next, &account.email, Some(&message));
                Ok(with_status(form, e.status()))
            }
            None => Err(e.into()),
        },
    }
}
