//! `/auth/magic-link`: sign in without a password. The link is mailed to an account's
//! address (an address without one is answered alike and mailed nothing), and leads to
//! `/auth/callback`.

use routekit::axum::response::{Html, Response};
use routekit::{ApiResult, AuthApi, CsrfToken, Form, Query, Session};
use serde::Deserialize;

use routekit::escape_html;
use crate::pages::{
    PageParams, Viewer, alert, check_inbox, page, refusal, safe_next, with_status,
};

fn form(viewer: &Viewer<'_>, next: &str, error: Option<&str>) -> Html<String> {
    page(
        viewer,
        "Sign in with a link",
        &format!(
            r#"{error}<form class="card" method="post" action="/auth/magic-link">
  {csrf}
  <input type="hidden" name="next" value="{next}">
  <label>E-mail <input name="email" type="email" autocomplete="email" required></label>
  <button type="submit">Mail me a sign-in link</button>
</form>
<p><a href="/auth/sign-in">Sign in with a password</a></p>"#,
            error = error.map(alert).unwrap_or_default(),
            csrf = viewer.csrf_field(),
            next = escape_html(next),
        ),
    )
}

pub async fn GET(
    session: Option<Session>,
    token: CsrfToken,
    Query(params): Query<PageParams>,
) -> Html<String> {
    let next = safe_next(params.next.as_deref());
    form(&Viewer::new(session.as_ref(), token.as_str()), &next, None)
}

#[derive(Deserialize)]
pub struct Address {
    email: String,
    next: Option<String>,
}

pub async fn POST(
    AuthApi(auth, client): AuthApi,
    csrf: CsrfToken,
    Form(address): Form<Address>,
) -> ApiResult<Response> {
    let next = safe_next(address.next.as_deref());
    let (options, verifier) = crate::mail_flow::start(&auth, &next)?;
    let viewer = Viewer::new(None, csrf.as_str());
    match auth
        .send_magic_link(&client, &address.email, false, None, &options)
        .await
    {
        Ok(()) => {
            let text = format!(
                "If <strong>{}</strong> has an account, a sign-in link is on its way.",
                escape_html(address.email.trim())
            );
            Ok(check_inbox(&viewer, &text, &verifier))
        }
        Err(e) => match refusal(&e) {
            Some(message) => Ok(with_status(form(&viewer, &next, Some(&message)), e.status())),
            None => Err(e.into()),
        },
    }
}
