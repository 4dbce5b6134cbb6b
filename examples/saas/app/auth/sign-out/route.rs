//! `POST /auth/sign-out`: ends this session and deletes every part of its cookie.

use routekit::auth::SignOutScope;
use routekit::axum::response::Response;
use routekit::{ApiResult, AuthApi, SessionCookie};

use crate::pages::redirect_with_cookies;

pub async fn POST(AuthApi(auth, _): AuthApi, cookie: SessionCookie) -> ApiResult<Response> {
    if let Some(token) = cookie.access_token.as_deref()
        && let Ok(claims) = auth.verify_access_token(token).await {
            auth.sign_out(&claims, SignOutScope::Local)
                .await?;
        }
    Ok(redirect_with_cookies("/auth/sign-in", cookie.delete()))
}
