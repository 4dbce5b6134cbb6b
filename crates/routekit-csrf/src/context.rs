//! The per-request state the layer shares with handlers: this browser's secret, whether a
//! token was handed out, and whether the cookie must be (re)written.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Extensions, HeaderValue, header};

use crate::origin::CookieSpec;
use crate::token::CsrfSecret;

/// Shared between the layer (which reads the cookie and writes `Set-Cookie`) and the
/// extractors (which mint tokens and rotate the secret).
#[derive(Clone)]
pub(crate) struct CsrfContext(Arc<Inner>);

struct Inner {
    cookie: CookieSpec,
    state: Mutex<State>,
}

struct State {
    secret: Option<CsrfSecret>,
    /// The secret is new (created or rotated during this request) and must be sent.
    send_cookie: bool,
    /// A token went into the response, so it must not be cached.
    issued: bool,
}

impl CsrfContext {
    pub(crate) fn new(cookie: CookieSpec, secret: Option<CsrfSecret>) -> Self {
        CsrfContext(Arc::new(Inner {
            cookie,
            state: Mutex::new(State {
                secret,
                send_cookie: false,
                issued: false,
            }),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a few plain fields, valid even if a holder panicked.
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh token, creating the secret if this browser has none yet.
    pub(crate) fn issue(&self) -> String {
        let mut state = self.state();
        state.issued = true;
        if state.secret.is_none() {
            state.secret = Some(CsrfSecret::generate());
            state.send_cookie = true;
        }
        state.secret.as_ref().expect("set above").issue()
    }

    /// Replaces the secret: every token handed out before stops working.
    pub(crate) fn rotate(&self) {
        let mut state = self.state();
        state.secret = Some(CsrfSecret::generate());
        state.send_cookie = true;
    }

    /// Adds `Set-Cookie` for a new secret and `Cache-Control: no-store` when a token went out.
    pub(crate) fn finish(&self, res: &mut Response) {
        let state = self.state();
        if state.send_cookie {
            let secret = state
                .secret
                .as_ref()
                .expect("a cookie to send has a secret");
            let CookieSpec { name, secure } = self.0.cookie;
            let secure = if secure { "; Secure" } else { "" };
            let cookie = format!(
                "{name}={}; Path=/; HttpOnly{secure}; SameSite=Lax",
                secret.to_cookie_value()
            );
            let cookie = HeaderValue::try_from(cookie).expect("base64url is header-safe");
            res.headers_mut().append(header::SET_COOKIE, cookie);
        }
        if state.issued || state.send_cookie {
            // A shared cache must never hand one browser's token (or cookie) to another.
            let cached = res
                .headers()
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("no-store"));
            if !cached {
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
        }
    }
}

/// A CSRF token for this browser, for handlers that render HTML or hand the token to a
/// client. Each extraction mints a fresh masked token; the layer sets the secret cookie when
/// the browser had none and marks the response `Cache-Control: no-store`.
///
/// Without [`CsrfLayer`](crate::CsrfLayer) in front of the handler (CSRF switched off), the
/// token is empty, as Makerkit's `useCsrfToken()` is without a provider.
///
/// ```
/// use routekit_csrf::CsrfToken;
/// use axum::response::Html;
///
/// async fn form(token: CsrfToken) -> Html<String> {
///     Html(format!(
///         r#"<form method="post"><input type="hidden" name="csrf_token" value="{token}"></form>"#
///     ))
/// }
/// ```
#[derive(Clone)]
pub struct CsrfToken {
    token: String,
    context: Option<CsrfContext>,
}

impl CsrfToken {
    fn from_extensions(extensions: &Extensions) -> Self {
        let context = extensions.get::<CsrfContext>().cloned();
        let token = context.as_ref().map(CsrfContext::issue).unwrap_or_default();
        CsrfToken { token, context }
    }

    /// The token (86 characters of base64url; empty when CSRF protection is off).
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// Replaces this browser's secret and returns a token for the new one. Call it when a
    /// user signs in: a secret planted before sign-in (by a shared computer's previous user or
    /// a cookie-tossing attacker) then protects nothing.
    ///
    /// ```
    /// # async fn sign_in(mut token: routekit_csrf::CsrfToken) {
    /// // … after the password checked out:
    /// let fresh = token.rotate();
    /// # }
    /// ```
    pub fn rotate(&mut self) -> &str {
        if let Some(context) = &self.context {
            context.rotate();
            self.token = context.issue();
        }
        &self.token
    }
}

impl fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token)
    }
}

impl fmt::Debug for CsrfToken {
    // Tokens stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(..)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_extensions(&parts.extensions))
    }
}

/// Replaces the CSRF secret of the request these extensions belong to, for middleware that
/// signs users in. Returns `false` when no [`CsrfLayer`](crate::CsrfLayer) handles the request.
///
/// ```
/// let extensions = http::Extensions::new();
/// assert!(!routekit_csrf::rotate_secret(&extensions));
/// ```
pub fn rotate_secret(extensions: &Extensions) -> bool {
    extensions
        .get::<CsrfContext>()
        .map(CsrfContext::rotate)
        .is_some()
}

/// `GET /_routekit/csrf`: `{"csrfToken":"…"}`, with the cookie when the browser has none, for
/// single-page apps and mobile clients that render no HTML.
///
/// ```
/// use axum::{Router, routing::get};
/// use routekit_csrf::{CsrfConfig, CsrfLayer, TOKEN_PATH, token_endpoint};
///
/// let app: Router = Router::new()
///     .route(TOKEN_PATH, get(token_endpoint))
///     .layer(CsrfLayer::new(CsrfConfig::new()));
/// ```
pub async fn token_endpoint(token: CsrfToken) -> Response {
    let body = serde_json::json!({ "csrfToken": token.as_str() }).to_string();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Where routekit apps serve [`token_endpoint`].
pub const TOKEN_PATH: &str = "/_routekit/csrf";
