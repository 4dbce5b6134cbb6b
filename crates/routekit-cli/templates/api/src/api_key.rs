//! The bearer token that guards `/api/items`: an extractor, so a handler that takes `Caller`
//! runs only for callers that sent it.

use std::sync::Arc;

use routekit::ApiError;
use routekit::axum::extract::FromRequestParts;
use routekit::http::{StatusCode, header, request::Parts};
use subtle::ConstantTimeEq;

/// The API key, from `API_KEY`. Without one, every protected call is refused.
#[derive(Clone)]
pub struct ApiKey(Option<Arc<str>>);

impl ApiKey {
    /// A fixed key (tests).
    ///
    /// ```
    /// let key = api::ApiKey::new("secret");
    /// ```
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(Some(Arc::from(key.into())))
    }

    /// `API_KEY` from the environment; unset or empty means no caller is let in.
    ///
    /// ```
    /// let key = api::ApiKey::from_env();
    /// ```
    pub fn from_env() -> ApiKey {
        ApiKey(
            std::env::var("API_KEY")
                .ok()
                .filter(|k| !k.is_empty())
                .map(Arc::from),
        )
    }
}

/// A caller that presented the API key as `Authorization: Bearer …`.
pub(crate) struct Caller;

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the API key as `Authorization: Bearer <key>`",
            )
        };
        let Some(ApiKey(Some(key))) = parts.extensions.get::<ApiKey>() else {
            return Err(unauthorized());
        };
        let sent = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthorized)?;
        if bool::from(sent.as_bytes().ct_eq(key.as_bytes())) {
            Ok(Caller)
        } else {
            Err(unauthorized())
        }
    }
}
