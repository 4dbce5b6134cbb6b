//! The captcha guard: a route with `pub const CAPTCHA: bool = true;` takes mutations only
//! with a token the provider accepts, checked after CSRF and before the session and the
//! handler.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::{Method, StatusCode};
use routekit_captcha::{Captcha, CaptchaError};
use routekit_csrf::{Found, TokenPlace};

use crate::error::ApiError;

/// Where the token is read: Makerkit's `x-captcha-token` header, else a `captcha_token`
/// form or JSON field.
const PLACE: TokenPlace =
    TokenPlace::new(routekit_captcha::HEADER_NAME, routekit_captcha::FIELD_NAME);

impl ApiError {
    /// The error of a captcha check: 400 `captcha_required`, 403 `captcha_invalid`, or 503
    /// `captcha_unavailable` (logged, with `Retry-After`).
    ///
    /// ```
    /// use routekit::ApiError;
    /// use routekit::captcha::CaptchaError;
    ///
    /// assert_eq!(ApiError::from_captcha(CaptchaError::Missing).code(), "captcha_required");
    /// assert_eq!(ApiError::from_captcha(CaptchaError::Invalid).status(), 403);
    /// ```
    pub fn from_captcha(error: CaptchaError) -> Self {
        match error {
            CaptchaError::Unavailable(why) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "captcha_unavailable",
                "captcha verification is unavailable; try again",
            )
            .with_source(why)
            .with_retry_after(5),
            other => ApiError::new(
                StatusCode::from_u16(other.status()).unwrap_or(StatusCode::FORBIDDEN),
                other.code(),
                other.to_string(),
            ),
        }
    }
}

/// Wraps a route's handler: safe methods pass; a mutation needs a token that verifies.
#[derive(Clone)]
pub(crate) struct CaptchaGuard<S> {
    captcha: Captcha,
    inner: S,
}

impl<S> CaptchaGuard<S> {
    pub(crate) fn new(captcha: Captcha, inner: S) -> Self {
        CaptchaGuard { captcha, inner }
    }
}

impl<S> tower::Service<Request> for CaptchaGuard<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            return Box::pin(inner.call(req));
        }
        let captcha = self.captcha.clone();
        Box::pin(async move {
            let (req, found) = match PLACE.find(req).await {
                Ok(found) => found,
                Err(refusal) => return Ok(refusal),
            };
            let token = match found {
                Found::One(token) => token,
                Found::None => {
                    return Ok(ApiError::from_captcha(CaptchaError::Missing).into_response());
                }
                // Two different tokens: which one the handler would see is a guess.
                Found::Ambiguous => {
                    return Ok(ApiError::from_captcha(CaptchaError::Invalid).into_response());
                }
            };
            let ip = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip());
            match captcha.verify(&token, ip).await {
                Ok(()) => inner.call(req).await,
                Err(e) => Ok(ApiError::from_captcha(e).into_response()),
            }
        })
    }
}
