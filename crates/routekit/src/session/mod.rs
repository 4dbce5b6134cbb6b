//! `Session`: Makerkit's `requireSession` as an extractor. A handler that takes a `Session`
//! runs only for a signed-in user whose session meets the MFA rule.

mod cookie;
mod refusal;
mod verify;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, header};
#[cfg(feature = "auth")]
use routekit_auth::AuthService;
use routekit_auth::{Amr, Claims};

pub use cookie::SessionCookie;
use cookie::{Credentials, credentials};
use verify::Refusal;
pub use verify::SessionSource;
pub(crate) use verify::Sessions;

use crate::error::ApiError;

/// Where `Session` sends browsers, and how it caches verified sessions.
///
/// ```
/// let config = routekit::SessionConfig::default();
/// assert_eq!(config.sign_in_path, "/auth/sign-in");
/// assert_eq!(config.mfa_path, "/auth/verify");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Page navigations without a session are redirected here, with `?next=` the original
    /// path (default `/auth/sign-in`).
    pub sign_in_path: String,
    /// Page navigations that must verify a factor first go here (default `/auth/verify`).
    pub mfa_path: String,
    /// The `@supabase/ssr` cookie to read and write (`sb-<ref>-auth-token`). `None` takes the
    /// name supabase-js gives it: from the request's host with the embedded server
    /// (`sb-127-auth-token` on `127.0.0.1:3000`), from the project's URL in Supabase mode.
    /// No other `sb-…-auth-token` cookie is ever read, so a sibling subdomain cannot plant a
    /// session of its own (login CSRF).
    pub cookie_name: Option<String>,
    /// How long a verified session is trusted before its row, its user's ban, role and
    /// factors are looked up again (default 5 s): the revocation delay across instances.
    /// Sessions ended, users banned and roles changed on this instance drop out at once.
    pub recheck_after: Duration,
    /// How `Auth::Role` routes and [`Session::require_role`] decide.
    pub roles: RolePolicy,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            sign_in_path: "/auth/sign-in".to_owned(),
            mfa_path: "/auth/verify".to_owned(),
            cookie_name: None,
            recheck_after: Duration::from_secs(5),
            roles: RolePolicy::default(),
        }
    }
}

/// How a role is checked, for `pub const AUTH: Auth = Auth::Role("…")` routes and
/// [`Session::require_role`].
///
/// ```
/// use routekit::{RolePolicy, RoleRefusal, SessionConfig};
///
/// let mut config = SessionConfig::default();
/// assert!(config.roles.require_factor, "as Makerkit's super admin");
/// assert_eq!(config.roles.refusal, RoleRefusal::NotFound);
/// // An internal tool whose admins have no second factor, and which says 403:
/// config.roles = RolePolicy { require_factor: false, refusal: RoleRefusal::Forbidden };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolePolicy {
    /// Whether holding the role also needs a verified factor (default `true`). A holder
    /// with one must be at `aal2` either way: every `Session` keeps the MFA rule.
    pub require_factor: bool,
    /// What a user without the role gets (default [`RoleRefusal::NotFound`]).
    pub refusal: RoleRefusal,
}

impl Default for RolePolicy {
    fn default() -> Self {
        RolePolicy {
            require_factor: true,
            refusal: RoleRefusal::NotFound,
        }
    }
}

/// The answer to a signed-in user who does not hold a route's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoleRefusal {
    /// 404 `not_found`, the very answer of a URL no route serves: the route stays hidden.
    NotFound,
    /// 403 `forbidden`.
    Forbidden,
}

impl RoleRefusal {
    pub(super) fn error(self) -> ApiError {
        match self {
            RoleRefusal::NotFound => ApiError::no_route(),
            RoleRefusal::Forbidden => ApiError::new(
                http::StatusCode::FORBIDDEN,
                "forbidden",
                "your account does not have the role this needs",
            ),
        }
    }
}

/// A verified session that meets the MFA rule: the user is signed in, and if they have a
/// verified factor the session is `aal2`.
///
/// Without one, a page navigation is redirected to the sign-in page (or the MFA page) and any
/// other request gets 401 `unauthenticated` (or 403 `mfa_required`) JSON. Take
/// `Option<Session>` for pages that work either way.
///
/// ```
/// use routekit::{Json, Session};
/// use serde_json::{Value, json};
///
/// // app/api/me/route.rs
/// pub async fn GET(session: Session) -> Json<Value> {
///     Json(json!({ "id": session.user_id, "email": session.email, "aal": session.aal }))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Session(Arc<SessionData>);

/// What a [`Session`] holds; read it through the session (`session.user_id`).
#[derive(Debug)]
#[non_exhaustive]
pub struct SessionData {
    /// The user's id (`sub`).
    pub user_id: String,
    /// The user's e-mail.
    pub email: String,
    /// The session's id.
    pub session_id: String,
    /// The session's assurance level, `aal1` or `aal2`.
    pub aal: routekit_auth::Aal,
    /// How the session was authenticated, newest first.
    pub amr: Vec<Amr>,
    /// The user's `app_metadata.role` as the auth store has it when the session was last
    /// checked (at most [`SessionConfig::recheck_after`] ago), not the token's copy in
    /// `claims`, which the user's browser holds and is only as fresh as the token.
    pub role: Option<String>,
    /// Whether the user has a verified MFA factor, from the store.
    pub verified_factor: bool,
    /// Every claim of the access token.
    pub claims: Claims,
    roles: RolePolicy,
}

impl std::ops::Deref for Session {
    type Target = SessionData;

    fn deref(&self) -> &SessionData {
        &self.0
    }
}

impl Session {
    pub(super) fn new(
        claims: Claims,
        standing: routekit_auth::Standing,
        roles: RolePolicy,
    ) -> Self {
        Session(Arc::new(SessionData {
            user_id: claims.sub.clone(),
            email: claims.email.clone(),
            session_id: claims.session_id.clone(),
            aal: claims.aal,
            amr: claims.amr.clone(),
            role: standing.role,
            verified_factor: standing.verified_factor,
            claims,
            roles,
        }))
    }

    /// Whether the user's stored role is `role` (see [`SessionData::role`]).
    ///
    /// ```
    /// use routekit::{Json, Session};
    /// use serde_json::{Value, json};
    ///
    /// pub async fn GET(session: Session) -> Json<Value> {
    ///     Json(json!({ "admin": session.has_role("super-admin") }))
    /// }
    /// ```
    pub fn has_role(&self, role: &str) -> bool {
        self.role.as_deref() == Some(role)
    }

    /// The check of an `Auth::Role(role)` route, for a handler that decides for itself: the
    /// stored role is `role`, and the user has a verified factor unless
    /// [`RolePolicy::require_factor`] is off (a `Session` with a factor is `aal2` already).
    /// Else the app's 404 `not_found` (or 403 `forbidden`, per [`RolePolicy::refusal`]).
    ///
    /// ```
    /// use routekit::{ApiError, Json, Session};
    /// use serde_json::{Value, json};
    ///
    /// pub async fn DELETE(session: Session) -> Result<Json<Value>, ApiError> {
    ///     session.require_role("super-admin")?;
    ///     Ok(Json(json!({ "deleted": true })))
    /// }
    /// ```
    pub fn require_role(&self, role: &str) -> Result<(), ApiError> {
        if self.holds(role) {
            Ok(())
        } else {
            Err(self.roles.refusal.error())
        }
    }

    /// Whether the MFA rule sends this session to verify a factor first.
    pub(super) fn requires_mfa(&self) -> bool {
        routekit_auth::AssuranceLevel::new(self.aal, self.verified_factor).requires_mfa()
    }

    pub(super) fn holds(&self, role: &str) -> bool {
        self.has_role(role) && (self.verified_factor || !self.roles.require_factor)
    }
}

/// The session part of a request's [`RequestContext`](crate::context::RequestContext), in an
/// app with auth: the app's sessions, and the `Set-Cookie` values the request wants on its
/// response (the session cookie rewritten after a server-side refresh).
pub(crate) struct SessionScope {
    sessions: Sessions,
    cookies: Mutex<Vec<HeaderValue>>,
}

impl SessionScope {
    pub(crate) fn new(sessions: Sessions) -> Self {
        SessionScope {
            sessions,
            cookies: Mutex::new(Vec::new()),
        }
    }

    /// The scope of a request, when its app has auth.
    pub(super) fn of(parts: &Parts) -> Option<&SessionScope> {
        parts
            .extensions
            .get::<crate::context::RequestContext>()
            .and_then(|context| context.session())
    }

    pub(super) fn push(&self, cookie: String) {
        if let Ok(value) = HeaderValue::try_from(cookie) {
            self.cookies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(value);
        }
    }

    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        let cookies = std::mem::take(&mut *self.cookies.lock().unwrap_or_else(|e| e.into_inner()));
        if cookies.is_empty() {
            return;
        }
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
        // As @supabase/ssr: a response that sets auth cookies must never be cached.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache, no-store, must-revalidate, max-age=0"),
        );
        headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
}

/// The embedded auth server and the request's client, for handlers that sign users in
/// (server-rendered forms). The client is what the service's rate limits and the MFA IP
/// binding are keyed on, resolved from the connection (and a trusted proxy's header, see
/// [`AuthConfig::rate_limit_header`](routekit_auth::AuthConfig::rate_limit_header)).
///
/// ```
/// use routekit::AuthApi;
///
/// pub async fn POST(AuthApi(auth, client): AuthApi) {
///     // auth.sign_in_with_password(&client, …)
/// }
/// ```
#[cfg(feature = "auth")]
#[derive(Clone)]
pub struct AuthApi(pub AuthService, pub routekit_auth::Client);

#[cfg(feature = "auth")]
impl std::fmt::Debug for AuthApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AuthApi")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

#[cfg(feature = "auth")]
impl<S: Send + Sync> FromRequestParts<S> for AuthApi {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let scope = SessionScope::of(parts).ok_or_else(|| {
            ApiError::internal("AuthApi used, but the app has no auth: call App::sessions")
                .into_response()
        })?;
        let auth = match scope.sessions.backend() {
            SessionSource::Embedded(auth) => auth.clone(),
            // A page of an app that serves both modes: not an error of the server's.
            #[cfg(feature = "supabase")]
            SessionSource::Supabase(_) => {
                return Err(ApiError::new(
                    http::StatusCode::NOT_IMPLEMENTED,
                    "embedded_auth_unavailable",
                    "this page signs in with the embedded auth server, which Supabase mode does not run; sign in with supabase-js instead",
                )
                .into_response());
            }
        };
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        let client = auth.client(&parts.headers, peer);
        Ok(AuthApi(auth, client))
    }
}

/// The request's session, if it has one that meets the MFA rule (and, with `role`, whose
/// user holds it).
async fn extract(parts: &Parts, role: Option<&str>) -> Result<Option<Session>, Response> {
    // Already checked by a route's `AUTH`.
    if let Some(session) = parts.extensions.get::<Session>() {
        return Ok(Some(session.clone()));
    }
    let Some(scope) = SessionScope::of(parts) else {
        return Err(ApiError::internal(
            "Session used, but the app has no auth: call App::sessions",
        )
        .into_response());
    };
    let sessions = &scope.sessions;
    let Some(credentials) = credentials(
        &parts.headers,
        || sessions.cookie_name(parts),
        |value| sessions.decode_cookie(value),
    ) else {
        return Ok(None);
    };
    // Borrowed from the request (or the cookie cache); owned only when a refresh replaces it.
    let (mut token, cookie) = match &credentials {
        Credentials::Bearer(token) => (std::borrow::Cow::Borrowed(*token), None),
        Credentials::Cookie(tokens) => (
            std::borrow::Cow::Borrowed(tokens.access.as_str()),
            Some(tokens),
        ),
    };
    if let Some(tokens) = cookie
        && let Some(refresh_token) = &tokens.refresh
        && Sessions::needs_refresh(tokens.access_exp)
    {
        // Server-side refresh: the request goes on with the new token and the response
        // carries the rewritten cookie. Concurrent requests with the same cookie all get
        // the same new token (the auth server's reuse rule), so none burns the family.
        match sessions.refresh(&token, refresh_token).await {
            Ok((fresh, access_token)) => {
                // Read in full now, for every part to overwrite or delete.
                let cookie = SessionCookie::read(&parts.headers, &sessions.cookie_name(parts));
                for set_cookie in cookie.replace(&fresh) {
                    scope.push(set_cookie);
                }
                token = std::borrow::Cow::Owned(access_token);
            }
            Err(Refusal::Unauthenticated) => return Ok(None),
            Err(refusal) => return Err(sessions.refuse(refusal, parts)),
        }
    }
    match sessions.check(&token, role).await {
        Ok(session) => Ok(Some(session)),
        Err(Refusal::Unauthenticated) => Ok(None),
        Err(refusal) => Err(sessions.refuse(refusal, parts)),
    }
}

/// The request's session (with `role`, one whose user holds it), or the refusal to answer
/// with: the sign-in redirect or 401 when there is none.
async fn require(parts: &Parts, role: Option<&str>) -> Result<Session, Response> {
    match extract(parts, role).await? {
        Some(session) => Ok(session),
        None => Err(SessionScope::of(parts).map_or_else(
            || ApiError::internal("no auth configured").into_response(),
            |s| s.sessions.refuse(Refusal::Unauthenticated, parts),
        )),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        require(parts, None).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = Response;

    /// `None` without a valid session; a session that must verify a factor, or a lookup that
    /// fails, is still refused (MFA redirect or 403, 503).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        extract(parts, None).await
    }
}

/// Runs the inner service only with a [`Session`] (a route's `AUTH = Required`), whose user
/// holds `role` if there is one (`AUTH = Role(…)`), and leaves the session in the request
/// for handlers that take one.
#[derive(Clone)]
pub(crate) struct RequireSession<S> {
    inner: S,
    role: Option<&'static str>,
}

impl<S> RequireSession<S> {
    pub(crate) fn new(inner: S, role: Option<&'static str>) -> Self {
        RequireSession { inner, role }
    }
}

impl<S> tower::Service<axum::extract::Request> for RequireSession<S>
where
    S: tower::Service<
            axum::extract::Request,
            Response = Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        futures_util::future::BoxFuture<'static, Result<Response, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let role = self.role;
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match require(&parts, role).await {
                Ok(session) => {
                    parts.extensions.insert(session);
                    inner
                        .call(axum::extract::Request::from_parts(parts, body))
                        .await
                }
                Err(refusal) => Ok(refusal),
            }
        })
    }
}

/// A header map from pairs, for the session modules' tests.
#[cfg(test)]
fn test_headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(*k, v.parse().unwrap());
    }
    map
}
