//! `POST /admin/users/[id]`: the admin page's buttons: `action=ban` (24 hours, which ends the
//! user's sessions), `unban`, or `sign-out` (every session ends). An admin cannot ban
//! themselves.

use routekit::auth::{AccountUpdate, Ban};
use routekit::axum::response::Response;
use routekit::http::StatusCode;
use routekit::{ApiError, ApiResult, Auth, AuthApi, Form, Path, Session};
use serde::Deserialize;

use crate::pages::redirect_with_cookies;

pub const AUTH: Auth = Auth::Role("super-admin");

#[derive(Deserialize)]
pub struct Action {
    action: String,
}

pub async fn POST(
    session: Session,
    AuthApi(auth, _): AuthApi,
    Path(id): Path<String>,
    Form(form): Form<Action>,
) -> ApiResult<Response> {
    if session.user_id == id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_change_yourself",
            "an admin cannot ban or sign out their own account here",
        ));
    }
    let admin = auth.admin();
    match form.action.as_str() {
        "ban" => {
            admin
                .update_user(&id, AccountUpdate::default().ban(Ban::parse("24h")?))
                .await?;
        }
        "unban" => {
            admin
                .update_user(&id, AccountUpdate::default().ban(Ban::parse("none")?))
                .await?;
        }
        "sign-out" => admin.sign_out(&id).await?,
        _ => {
            return Err(ApiError::validation(vec![routekit::FieldError::new(
                "action",
                "one_of",
                "must be ban, unban or sign-out",
            )]));
        }
    }
    Ok(redirect_with_cookies(&format!("/admin?notice={}", form.action), Vec::new()))
}
