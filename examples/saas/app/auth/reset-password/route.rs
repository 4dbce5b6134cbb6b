//! `/auth/reset-password`: a signed-in user (just back from a recovery link) chooses a new
//! password. A user with a second factor verifies it first (the session rule sends them
//! there). The new password ends the user's other sessions.

use routekit::auth::UserUpdate;
use routekit::axum::response::{Html, Response};
use routekit::http::StatusCode;
use routekit::{ApiResult, Auth, AuthApi, CsrfToken, Form, Session};
use serde::Deserialize;

use crate::pages::{Viewer, alert, page, redirect_with_cookies, refusal, with_status};

pub const AUTH: Auth = Auth::Required;

fn form(viewer: &Viewer<'_>, error: Option<&str>) -> Html<String> {
    page(
        viewer,
        "Choose a new password",
        &format!(
            r#"{error}<form class="card" method="post" action="/auth/reset-password">
  {csrf}
  <label>New password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>
  <label>Once more <input name="confirm" type="password" autocomplete="new-password" minlength="8" required></label>
  <button type="submit">Save password</button>
</form>"#,
            error = error.map(alert).unwrap_or_default(),
            csrf = viewer.csrf_field(),
        ),
    )
}

pub async fn GET(session: Session, token: CsrfToken) -> Html<String> {
    form(&Viewer::new(Some(&session), token.as_str()), None)
}

#[derive(Deserialize)]
pub struct NewPassword {
    password: String,
    confirm: String,
}

pub async fn POST(
    session: Session,
    AuthApi(auth, client): AuthApi,
    csrf: CsrfToken,
    Form(new): Form<NewPassword>,
) -> ApiResult<Response> {
    let viewer = Viewer::new(Some(&session), csrf.as_str());
    if new.password != new.confirm {
        let form = form(&viewer, Some("The two passwords differ."));
        return Ok(with_status(form, StatusCode::UNPROCESSABLE_ENTITY));
    }
    match auth
        .update_user(&client, &session.claims, UserUpdate::password(new.password))
        .await
    {
        Ok(_) => Ok(redirect_with_cookies("/dashboard?notice=password", Vec::new())),
        Err(e) => match refusal(&e) {
            Some(message) => Ok(with_status(form(&viewer, Some(&message)), e.status())),
            None => Err(e.into()),
        },
    }
}
