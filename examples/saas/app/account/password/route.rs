//! `POST /account/password`: a new password for the signed-in user (with a second factor, an
//! `aal2` session). The user's other sessions end.

use routekit::auth::UserUpdate;
use routekit::axum::response::Response;
use routekit::{ApiResult, Auth, AuthApi, Form, Session};
use serde::Deserialize;

use crate::pages::redirect_with_cookies;

pub const AUTH: Auth = Auth::Required;

#[derive(Deserialize)]
pub struct NewPassword {
    password: String,
}

pub async fn POST(
    session: Session,
    AuthApi(auth, client): AuthApi,
    Form(new): Form<NewPassword>,
) -> ApiResult<Response> {
    auth.update_user(&client, &session.claims, UserUpdate::password(new.password))
        .await?;
    Ok(redirect_with_cookies("/account?notice=password", Vec::new()))
}
