//! `POST /account/factors/[id]`: removes one of the user's factors (the account page's
//! "Remove" button; a form cannot send `DELETE`). A verified factor needs an `aal2` session.

use routekit::axum::response::Response;
use routekit::{ApiResult, Auth, AuthApi, Path, Session};

use crate::pages::redirect_with_cookies;

pub const AUTH: Auth = Auth::Required;

pub async fn POST(
    session: Session,
    AuthApi(auth, _): AuthApi,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    auth.unenroll(&session.claims, &id).await?;
    Ok(redirect_with_cookies("/account?notice=factor-removed", Vec::new()))
}
