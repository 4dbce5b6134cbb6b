//! `POST /auth/sign-out`: ends this session and deletes its cookie.

use routekit::auth::SignOutScope;
use routekit::axum::response::Response;
use routekit::http::HeaderMap;
use routekit::{ApiResult, AuthApi, SessionCookie};

use crate::pages::redirect_with_cookies;

pub async fn POST(AuthApi(auth): AuthApi, headers: HeaderMap) -> ApiResult<Response> {
    let Some(cookie) = SessionCookie::read(&headers) else {
        return Ok(redirect_with_cookies("/auth/sign-in", Vec::new()));
    };
    if let Ok(claims) = auth.verify_access_token(&cookie.access_token).await {
        auth.sign_out(&claims, SignOutScope::Local).await?;
    }
    Ok(redirect_with_cookies("/auth/sign-in", cookie.delete()))
}
