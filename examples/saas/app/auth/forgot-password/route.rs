//! `/auth/forgot-password`: mails a recovery link (to an account's address only; any other
//! is answered alike). The link signs the user in through `/auth/callback` and leads to
//! `/auth/reset-password`.

use routekit::axum::response::{Html, Response};
use routekit::{ApiResult, AuthApi, CsrfToken, Form, Session};
use serde::Deserialize;

use routekit::escape_html;
use crate::pages::{Viewer, alert, check_inbox, page, refusal, with_status};

fn form(viewer: &Viewer<'_>, error: Option<&str>) -> Html<String> {
    page(
        viewer,
        "Forgot your password?",
        &format!(
            r#"{error}<form class="card" method="post" action="/auth/forgot-password">
  {csrf}
  <label>E-mail <input name="email" type="email" autocomplete="email" required></label>
  <button type="submit">Mail me a reset link</button>
</form>
<p><a href="/auth/sign-in">Back to sign in</a></p>"#,
            error = error.map(alert).unwrap_or_default(),
            csrf = viewer.csrf_field(),
        ),
    )
}

pub async fn GET(session: Option<Session>, token: CsrfToken) -> Html<String> {
    form(&Viewer::new(session.as_ref(), token.as_str()), None)
}

#[derive(Deserialize)]
pub struct Address {
    email: String,
}

pub async fn POST(
    AuthApi(auth, client): AuthApi,
    csrf: CsrfToken,
    Form(address): Form<Address>,
) -> ApiResult<Response> {
    let (options, verifier) = crate::mail_flow::start(&auth, "/auth/reset-password")?;
    let viewer = Viewer::new(None, csrf.as_str());
    match auth.recover(&client, &address.email, &options).await {
        Ok(()) => {
            let text = format!(
                "If <strong>{}</strong> has an account, a link to choose a new password is on its way.",
                escape_html(address.email.trim())
            );
            Ok(check_inbox(&viewer, &text, &verifier))
        }
        Err(e) => match refusal(&e) {
            Some(message) => Ok(with_status(form(&viewer, Some(&message)), e.status())),
            None => Err(e.into()),
        },
    }
}
