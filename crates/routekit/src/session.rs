//! `Session`: Makerkit's `requireSession` as an extractor. A handler that takes a `Session`
//! runs only for a signed-in user whose session meets the MFA rule.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use routekit_auth::{Amr, AuthService, Claims};
#[cfg(feature = "supabase")]
use routekit_auth::{SupabaseAuth, SupabaseError};

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
    /// How long a verified session is trusted before its row and factors are looked up again
    /// (default 5 s). Sessions ended on this instance drop out at once.
    pub recheck_after: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            sign_in_path: "/auth/sign-in".to_owned(),
            mfa_path: "/auth/verify".to_owned(),
            cookie_name: None,
            recheck_after: Duration::from_secs(5),
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
    /// Every claim of the access token.
    pub claims: Claims,
}

impl std::ops::Deref for Session {
    type Target = SessionData;

    fn deref(&self) -> &SessionData {
        &self.0
    }
}

impl Session {
    fn new(claims: Claims) -> Self {
        Session(Arc::new(SessionData {
            user_id: claims.sub.clone(),
            email: claims.email.clone(),
            session_id: claims.session_id.clone(),
            aal: claims.aal,
            amr: claims.amr.clone(),
            claims,
        }))
    }
}

/// The sessions of one app: the verifier, the settings and the cache.
#[derive(Clone)]
pub(crate) struct Sessions(Arc<Inner>);

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    backend: Backend,
    config: SessionConfig,
    /// The cookie's name when it does not follow the request's host.
    cookie_name: Option<String>,
    /// Keyed by the token's signature (short, unique per token); a hit also compares the
    /// whole token, so a forged payload under a copied signature never matches.
    cache: Mutex<Cache>,
    /// Refreshes that failed, by the access token's signature, so that a cookie replayed
    /// with a dead refresh token costs the auth server one call, not one per request.
    failed_refreshes: Mutex<HashMap<Box<str>, Instant, foldhash::fast::RandomState>>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<Box<str>, Cached, foldhash::fast::RandomState>,
    /// Roughly what the entries take, so that a few huge tokens cannot fill memory.
    bytes: usize,
}

struct Cached {
    token: Box<str>,
    /// Built once: a cache hit hands out a reference count, not a copy of the claims.
    session: Session,
    requires_mfa: bool,
    /// The sooner of "recheck the store" and the token's expiry, so a hit reads one clock.
    fresh_until: Instant,
    generation: u64,
}

/// Entries kept at most; the cache is emptied when it fills (verifying again is cheap).
const CACHE_LIMIT: usize = 10_000;
/// Bytes the cache may hold (tokens and claims), whatever the number of entries.
const CACHE_BYTES: usize = 16 << 20;
/// A longer access token is refused before anything is decoded: GoTrue's are about 1 KiB,
/// with metadata a few.
const MAX_TOKEN_BYTES: usize = 16 << 10;
/// How long a failed refresh is remembered.
const FAILED_REFRESH_TTL: Duration = Duration::from_secs(30);

/// Now, in unix seconds.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Why there is no usable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Unauthenticated,
    MfaRequired,
    Unavailable,
}

/// Who issues the sessions, and answers whether one is still alive.
pub(crate) enum Backend {
    /// The embedded auth server (this app's own `/auth/v1`).
    Embedded(AuthService),
    /// A hosted Supabase project.
    #[cfg(feature = "supabase")]
    Supabase(SupabaseAuth),
}

impl Backend {
    /// Bumped by the embedded server whenever a session ends on this instance, so cached
    /// sessions are checked again at once. A hosted project tells nobody: its sign-outs are
    /// seen when the cache entry is rechecked.
    fn generation(&self) -> u64 {
        match self {
            Backend::Embedded(auth) => auth.revocation_generation(),
            #[cfg(feature = "supabase")]
            Backend::Supabase(_) => 0,
        }
    }

    /// Verifies the token, then asks the store (never the client's copy of the user)
    /// whether its session is alive and whether the MFA rule wants `aal2`.
    async fn inspect(&self, token: &str) -> Result<(Claims, bool), Refusal> {
        match self {
            Backend::Embedded(auth) => {
                let claims = auth
                    .verify_access_token(token)
                    .await
                    .map_err(|_| Refusal::Unauthenticated)?;
                let alive = auth
                    .session_exists(&claims)
                    .await
                    .map_err(|_| Refusal::Unavailable)?;
                if !alive {
                    return Err(Refusal::Unauthenticated);
                }
                let level = auth
                    .assurance_level(&claims)
                    .await
                    .map_err(|_| Refusal::Unavailable)?;
                Ok((claims, level.requires_mfa()))
            }
            #[cfg(feature = "supabase")]
            Backend::Supabase(project) => {
                let claims = project
                    .verify_access_token(token)
                    .await
                    .map_err(supabase_refusal)?;
                // The project's `GET /user` answers both: a revoked session is refused, and
                // its `factors` are the ones the project has, whatever the cookie says.
                let user = project.user(token).await.map_err(supabase_refusal)?;
                if user["id"].as_str() != Some(claims.sub.as_str()) {
                    return Err(Refusal::Unauthenticated);
                }
                let verified_factor = user["factors"].as_array().is_some_and(|factors| {
                    factors
                        .iter()
                        .any(|f| f["status"].as_str() == Some("verified"))
                });
                let requires_mfa =
                    routekit_auth::AssuranceLevel::new(claims.aal, verified_factor).requires_mfa();
                Ok((claims, requires_mfa))
            }
        }
    }

    /// Whether `token` carries a signature this backend verifies, expired or not: only such a
    /// token may cost a refresh call. A forged or garbage access token with any refresh token
    /// is no session, at no cost to the auth server (or to a hosted project's per-IP limit,
    /// which the server's own address would exhaust for every user).
    async fn signed_here(&self, token: &str) -> Result<bool, Refusal> {
        use routekit_auth::JwtError;
        match self {
            Backend::Embedded(auth) => Ok(matches!(
                auth.verify_access_token(token).await,
                Ok(_) | Err(JwtError::Expired)
            )),
            #[cfg(feature = "supabase")]
            Backend::Supabase(project) => match project.verify_access_token(token).await {
                Ok(_) | Err(SupabaseError::Invalid(JwtError::Expired)) => Ok(true),
                Err(SupabaseError::Unavailable(reason)) => {
                    tracing::warn!(target: "routekit::session", %reason, "Supabase project unavailable");
                    Err(Refusal::Unavailable)
                }
                Err(_) => Ok(false),
            },
        }
    }

    /// Exchanges a refresh token: the new session as a token response, and its access token.
    async fn refresh(&self, refresh_token: &str) -> Result<(serde_json::Value, String), Refusal> {
        match self {
            Backend::Embedded(auth) => match auth.refresh(refresh_token).await {
                Ok(fresh) => Ok((fresh.to_json(), fresh.access_token)),
                Err(routekit_auth::AuthError::Unavailable(_)) => Err(Refusal::Unavailable),
                Err(_) => Err(Refusal::Unauthenticated),
            },
            #[cfg(feature = "supabase")]
            Backend::Supabase(project) => {
                let fresh = project
                    .refresh(refresh_token)
                    .await
                    .map_err(supabase_refusal)?;
                let token = fresh["access_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                Ok((fresh, token))
            }
        }
    }
}

/// A bad token or a refusal from the project is no session; an unreachable project is 503.
#[cfg(feature = "supabase")]
fn supabase_refusal(error: SupabaseError) -> Refusal {
    match error {
        SupabaseError::Unavailable(reason) => {
            tracing::warn!(target: "routekit::session", %reason, "Supabase project unavailable");
            Refusal::Unavailable
        }
        _ => Refusal::Unauthenticated,
    }
}

impl Sessions {
    pub(crate) fn new(backend: Backend, config: SessionConfig) -> Self {
        // supabase-js names its storage key after the auth server's host: the app's own with
        // the embedded server, the project's in Supabase mode.
        #[cfg(feature = "supabase")]
        let project_cookie = match &backend {
            Backend::Embedded(_) => None,
            Backend::Supabase(project) => {
                let url = &project.config().url;
                let host = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                Some(SessionCookie::name_for_host(host))
            }
        };
        #[cfg(not(feature = "supabase"))]
        let project_cookie = None;
        let cookie_name = config.cookie_name.clone().or(project_cookie);
        Sessions(Arc::new(Inner {
            backend,
            config,
            cookie_name,
            cache: Mutex::new(Cache::default()),
            failed_refreshes: Mutex::new(HashMap::default()),
        }))
    }

    /// The session cookie's name for a request.
    fn cookie_name(&self, parts: &Parts) -> String {
        match &self.0.cookie_name {
            Some(name) => name.clone(),
            None => SessionCookie::name_for_host(request_host(parts)),
        }
    }

    /// Refreshes a cookie's session, unless its access token is not signed by the backend or
    /// the same token's refresh failed moments ago.
    async fn refresh(
        &self,
        access_token: &str,
        refresh_token: &str,
    ) -> Result<(serde_json::Value, String), Refusal> {
        let key = signature_of(access_token);
        let now = Instant::now();
        let failed_recently = self
            .0
            .failed_refreshes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .is_some_and(|at| now.duration_since(*at) < FAILED_REFRESH_TTL);
        if failed_recently || !self.0.backend.signed_here(access_token).await? {
            return Err(Refusal::Unauthenticated);
        }
        let refreshed = self.0.backend.refresh(refresh_token).await;
        if let Err(Refusal::Unauthenticated) = refreshed {
            let mut failed = self
                .0
                .failed_refreshes
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if failed.len() >= CACHE_LIMIT {
                failed.retain(|_, at| now.duration_since(*at) < FAILED_REFRESH_TTL);
                if failed.len() >= CACHE_LIMIT {
                    failed.clear();
                }
            }
            failed.insert(key.into(), now);
        }
        refreshed
    }

    /// Verifies `token` and applies the revocation and MFA rules, from the cache when fresh.
    async fn check(&self, token: &str) -> Result<Session, Refusal> {
        let inner = &self.0;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Unauthenticated);
        }
        let generation = inner.backend.generation();
        let now = Instant::now();
        let key = signature_of(token);
        // A hit hands out a reference count of the session, nothing else.
        let cached = inner
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .get(key)
            .filter(|c| c.generation == generation && now < c.fresh_until && *c.token == *token)
            .map(|c| (c.session.clone(), c.requires_mfa));
        let (session, requires_mfa) = match cached {
            Some(hit) => hit,
            None => {
                let (claims, requires_mfa) = inner.backend.inspect(token).await?;
                let now_unix = unix_now();
                let lifetime =
                    Duration::from_secs(claims.exp.saturating_sub(now_unix).max(0) as u64);
                let session = Session::new(claims);
                let entry = Cached {
                    token: Box::from(token),
                    session: session.clone(),
                    requires_mfa,
                    fresh_until: now + inner.config.recheck_after.min(lifetime),
                    generation,
                };
                // The token twice (key and value) and its claims, decoded: about its size, again.
                let size = token.len() * 3 + std::mem::size_of::<Cached>();
                let mut cache = inner.cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.entries.len() >= CACHE_LIMIT || cache.bytes + size > CACHE_BYTES {
                    cache.entries.clear();
                    cache.bytes = 0;
                }
                if let Some(old) = cache.entries.insert(key.into(), entry) {
                    let old_size = old.token.len() * 3 + std::mem::size_of::<Cached>();
                    cache.bytes = cache.bytes.saturating_sub(old_size);
                }
                cache.bytes += size;
                (session, requires_mfa)
            }
        };
        if requires_mfa {
            return Err(Refusal::MfaRequired);
        }
        Ok(session)
    }

    /// Whether a cookie's access token expires within the refresh margin. Only `exp` is read
    /// here, without the signature check: the refresh itself is authenticated by the refresh
    /// token (MACed by the server), and whichever access token results is verified by
    /// `check`. Verifying here too would cost a signature check on every cookie request.
    fn needs_refresh(token: &str) -> bool {
        #[derive(serde::Deserialize)]
        struct Exp {
            exp: i64,
        }
        let exp = token
            .split('.')
            .nth(1)
            .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
            .and_then(|payload| serde_json::from_slice::<Exp>(&payload).ok());
        exp.is_some_and(|Exp { exp }| exp - REFRESH_MARGIN_SECS <= unix_now())
    }

    fn refuse(&self, refusal: Refusal, parts: &Parts) -> Response {
        let config = &self.0.config;
        if is_navigation(&parts.headers) && refusal != Refusal::Unavailable {
            let target = match refusal {
                Refusal::MfaRequired => &config.mfa_path,
                _ => &config.sign_in_path,
            };
            let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let location = format!(
                "{target}?next={}",
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
            );
            // 303 turns a form POST into a GET of the sign-in page; GETs keep 307.
            let status = if matches!(parts.method, Method::GET | Method::HEAD) {
                StatusCode::TEMPORARY_REDIRECT
            } else {
                StatusCode::SEE_OTHER
            };
            let mut res = status.into_response();
            if let Ok(location) = HeaderValue::try_from(location) {
                res.headers_mut().insert(header::LOCATION, location);
            }
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return res;
        }
        match refusal {
            Refusal::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign in to continue",
            ),
            Refusal::MfaRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_required",
                "verify your second factor to continue",
            ),
            Refusal::Unavailable => {
                ApiError::unavailable("the session store is unavailable; try again")
            }
        }
        .into_response()
    }
}

/// A page navigation, as opposed to `fetch`/XHR or an API client: `Sec-Fetch-Mode: navigate`,
/// or (for clients that send no fetch metadata) an `Accept` that prefers HTML to JSON.
fn is_navigation(headers: &HeaderMap) -> bool {
    if let Some(mode) = headers.get("sec-fetch-mode") {
        return mode.as_bytes() == b"navigate";
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()) else {
        return false;
    };
    let (mut html, mut json) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut params = item.split(';');
        let kind = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let q = params
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        match kind.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            "application/json" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    html > 0.0 && html > json
}

/// Where a request's session came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credentials<'a> {
    /// `Authorization: Bearer <jwt>`, borrowed from the request.
    Bearer(&'a str),
    /// The `@supabase/ssr` cookie.
    Cookie(SessionCookie),
}

/// The signature part of a JWT (short, and unique per token), a cache key.
fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or(token)
}

/// The host a request was sent to: `Host`, or the HTTP/2 `:authority`.
fn request_host(parts: &Parts) -> &str {
    parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
}

/// The access token: `Authorization: Bearer`, else the `@supabase/ssr` session cookie named
/// `cookie_name()` (worked out only when there is no Bearer token).
fn credentials<'a>(
    headers: &'a HeaderMap,
    cookie_name: impl FnOnce() -> String,
) -> Option<Credentials<'a>> {
    if let Some(token) = routekit_auth::bearer_token(headers) {
        return Some(Credentials::Bearer(token));
    }
    let cookie = SessionCookie::read(headers, &cookie_name());
    cookie
        .access_token
        .is_some()
        .then_some(Credentials::Cookie(cookie))
}

/// `@supabase/ssr` splits a long session into chunks of 3,180 bytes; a session with its user
/// and a few factors takes two or three. More chunks than this are never read.
const MAX_CHUNKS: usize = 16;
/// Nor more bytes than this, all chunks together.
const MAX_COOKIE_BYTES: usize = 32 << 10;

/// The session part of a request's [`RequestContext`](crate::edge::RequestContext), in an
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
    fn of(parts: &Parts) -> Option<&SessionScope> {
        parts
            .extensions
            .get::<crate::edge::RequestContext>()
            .and_then(|context| context.session())
    }

    fn push(&self, cookie: String) {
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
#[derive(Clone)]
pub struct AuthApi(pub AuthService, pub routekit_auth::Client);

impl std::fmt::Debug for AuthApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AuthApi")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthApi {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let scope = SessionScope::of(parts).ok_or_else(|| {
            ApiError::internal("AuthApi used, but the app has no auth: call App::auth")
                .into_response()
        })?;
        let auth = match &scope.sessions.0.backend {
            Backend::Embedded(auth) => auth.clone(),
            // A page of an app that serves both modes: not an error of the server's.
            #[cfg(feature = "supabase")]
            Backend::Supabase(_) => {
                return Err(ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
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

/// The `@supabase/ssr` session cookie of a request, for server-rendered sign-in pages: its
/// name (the one a browser's supabase-js client would use, or
/// [`SessionConfig::cookie_name`]), the session in it, and every part of it the browser sent,
/// so that writing a new session or signing out replaces all of them.
///
/// As an extractor it reads the cookie the app's [`Session`] reads; it always succeeds, with
/// no tokens when there is no (readable) cookie.
///
/// ```
/// use routekit::SessionCookie;
/// use routekit::http::HeaderMap;
///
/// assert_eq!(SessionCookie::name_for_host("127.0.0.1:3000"), "sb-127-auth-token");
/// assert_eq!(SessionCookie::name_for_host("app.example.com"), "sb-app-auth-token");
///
/// let mut headers = HeaderMap::new();
/// headers.insert("cookie", "sb-app-auth-token=stale".parse().unwrap());
/// let cookie = SessionCookie::read(&headers, "sb-app-auth-token");
/// assert_eq!(cookie.access_token, None);
/// let written = cookie.replace(&serde_json::json!({"access_token": "t"}));
/// assert!(written[0].starts_with("sb-app-auth-token=base64-"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCookie {
    /// The cookie's name.
    pub name: String,
    /// The access token in it.
    pub access_token: Option<String>,
    /// The refresh token in it.
    pub refresh_token: Option<String>,
    /// The names of its parts in the request (bare and chunks), readable or not.
    present: Vec<String>,
}

impl SessionCookie {
    /// `sb-<first label of the host>-auth-token`, as supabase-js names its storage key.
    pub fn name_for_host(host: &str) -> String {
        let label = host.split(['.', ':']).next().unwrap_or(host);
        format!("sb-{label}-auth-token")
    }

    /// The cookie named `name` in a request's headers: bare, or chunked (`.0`, `.1`, …), as
    /// `base64-` or raw JSON. One pass over the `Cookie` headers indexes its parts; at most
    /// 16 chunks and 32 KiB are read, so a header of thousands of chunks costs no more than
    /// its length to skip.
    pub fn read(headers: &HeaderMap, name: &str) -> SessionCookie {
        let mut bare = None;
        let mut chunks: [Option<&str>; MAX_CHUNKS] = [None; MAX_CHUNKS];
        let mut present = Vec::new();
        for pair in headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
        {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            let Some(rest) = key.strip_prefix(name) else {
                continue;
            };
            if rest.is_empty() {
                // The first of duplicates wins, as browsers send the most specific first.
                if bare.is_none() {
                    bare = Some(value);
                    present.push(key.to_owned());
                }
            } else if let Some(index) = rest
                .strip_prefix('.')
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|i| *i < MAX_CHUNKS && rest.len() <= 3)
                && chunks[index].is_none()
            {
                chunks[index] = Some(value);
                present.push(key.to_owned());
            }
        }
        let mut cookie = SessionCookie {
            name: name.to_owned(),
            access_token: None,
            refresh_token: None,
            present,
        };
        // The bare cookie, else the chunks `.0`, `.1`, … up to the first gap.
        let value: String = match bare.filter(|v| !v.is_empty()) {
            Some(value) => value.to_owned(),
            None => chunks.iter().map_while(|c| *c).collect(),
        };
        if value.is_empty() || value.len() > MAX_COOKIE_BYTES {
            return cookie;
        }
        if let Some((access, refresh)) = decode_session(&value) {
            cookie.access_token = Some(access);
            cookie.refresh_token = refresh;
        }
        cookie
    }

    /// `Set-Cookie` values storing `session` (a token response) under this cookie's name,
    /// chunked as `@supabase/ssr` does, and deleting every part of the old cookie the new one
    /// does not overwrite: an old bare cookie left beside new chunks would be read first, and
    /// the next user of a shared browser would be in the previous account. Send them with
    /// `Cache-Control: no-store`.
    pub fn replace(&self, session: &serde_json::Value) -> Vec<String> {
        session_cookies(&self.name, session, &self.present)
    }

    /// `Set-Cookie` values deleting this cookie (sign-out).
    pub fn delete(&self) -> Vec<String> {
        self.present
            .iter()
            .map(|name| format!("{name}=; Path=/; SameSite=Lax; Max-Age=0"))
            .collect()
    }
}

/// The access and refresh tokens of a cookie value (`base64-…` or percent-encoded JSON).
fn decode_session(value: &str) -> Option<(String, Option<String>)> {
    let json = match value.strip_prefix("base64-") {
        Some(encoded) => {
            let bytes = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).ok()?;
            String::from_utf8(bytes).ok()?
        }
        None => percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()?
            .into_owned(),
    };
    #[derive(serde::Deserialize)]
    struct Tokens {
        access_token: String,
        refresh_token: Option<String>,
    }
    let tokens: Tokens = serde_json::from_str(&json).ok()?;
    Some((tokens.access_token, tokens.refresh_token))
}

impl<S: Send + Sync> FromRequestParts<S> for SessionCookie {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let scope = SessionScope::of(parts).ok_or_else(|| {
            ApiError::internal("SessionCookie used, but the app has no auth: call App::auth")
                .into_response()
        })?;
        let name = scope.sessions.cookie_name(parts);
        Ok(SessionCookie::read(&parts.headers, &name))
    }
}

/// `@supabase/ssr`'s chunk size, measured on the encoded value.
const MAX_CHUNK: usize = 3180;
/// `@supabase/ssr`'s cookie lifetime: 400 days.
const COOKIE_ATTRIBUTES: &str = "Path=/; SameSite=Lax; Max-Age=34560000";

/// The cookies that store `session` under `name` as `@supabase/ssr` writes them, deleting
/// chunks of the old value that the new one does not use.
fn session_cookies(name: &str, session: &serde_json::Value, present: &[String]) -> Vec<String> {
    let value = format!("base64-{}", URL_SAFE_NO_PAD.encode(session.to_string()));
    let mut cookies = Vec::new();
    let mut written = Vec::new();
    if value.len() <= MAX_CHUNK {
        cookies.push(format!("{name}={value}; {COOKIE_ATTRIBUTES}"));
        written.push(name.to_owned());
    } else {
        for (i, chunk) in value.as_bytes().chunks(MAX_CHUNK).enumerate() {
            let chunk = std::str::from_utf8(chunk).expect("base64 is ASCII");
            cookies.push(format!("{name}.{i}={chunk}; {COOKIE_ATTRIBUTES}"));
            written.push(format!("{name}.{i}"));
        }
    }
    for stale in present.iter().filter(|p| !written.contains(p)) {
        cookies.push(format!("{stale}=; Path=/; SameSite=Lax; Max-Age=0"));
    }
    cookies
}

/// Refresh a cookie session this close to expiry (supabase-js refreshes 90 s early).
const REFRESH_MARGIN_SECS: i64 = 90;

async fn extract(parts: &Parts) -> Result<Option<Session>, Response> {
    // Already checked by a route's `AUTH = Required`.
    if let Some(session) = parts.extensions.get::<Session>() {
        return Ok(Some(session.clone()));
    }
    let Some(scope) = SessionScope::of(parts) else {
        return Err(
            ApiError::internal("Session used, but the app has no auth: call App::auth")
                .into_response(),
        );
    };
    let sessions = &scope.sessions;
    let Some(credentials) = credentials(&parts.headers, || sessions.cookie_name(parts)) else {
        return Ok(None);
    };
    // Borrowed from the request; owned only when a refresh replaces it.
    let (mut token, cookie) = match &credentials {
        Credentials::Bearer(token) => (std::borrow::Cow::Borrowed(*token), None),
        Credentials::Cookie(cookie) => (
            std::borrow::Cow::Borrowed(cookie.access_token.as_deref().unwrap_or_default()),
            Some(cookie),
        ),
    };
    if let Some(
        cookie @ SessionCookie {
            refresh_token: Some(refresh_token),
            ..
        },
    ) = cookie
        && Sessions::needs_refresh(&token)
    {
        // Server-side refresh: the request goes on with the new token and the response
        // carries the rewritten cookie. Concurrent requests with the same cookie all get
        // the same new token (the auth server's reuse rule), so none burns the family.
        match sessions.refresh(&token, refresh_token).await {
            Ok((fresh, access_token)) => {
                for set_cookie in cookie.replace(&fresh) {
                    scope.push(set_cookie);
                }
                token = std::borrow::Cow::Owned(access_token);
            }
            Err(Refusal::Unauthenticated) => return Ok(None),
            Err(refusal) => return Err(sessions.refuse(refusal, parts)),
        }
    }
    match sessions.check(&token).await {
        Ok(session) => Ok(Some(session)),
        Err(Refusal::Unauthenticated) => Ok(None),
        Err(refusal) => Err(sessions.refuse(refusal, parts)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match extract(parts).await? {
            Some(session) => Ok(session),
            None => Err(SessionScope::of(parts).map_or_else(
                || ApiError::internal("no auth configured").into_response(),
                |s| s.sessions.refuse(Refusal::Unauthenticated, parts),
            )),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = Response;

    /// `None` without a valid session; a session that must verify a factor, or a lookup that
    /// fails, is still refused (MFA redirect or 403, 503).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        extract(parts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn navigations_are_told_apart_from_fetches() {
        assert!(is_navigation(&headers(&[("sec-fetch-mode", "navigate")])));
        assert!(!is_navigation(&headers(&[
            ("sec-fetch-mode", "cors"),
            ("accept", "text/html")
        ])));
        assert!(is_navigation(&headers(&[(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )])));
        assert!(!is_navigation(&headers(&[("accept", "*/*")])));
        assert!(!is_navigation(&headers(&[("accept", "application/json")])));
        assert!(!is_navigation(&headers(&[(
            "accept",
            "application/json, text/html;q=0.5"
        )])));
        assert!(!is_navigation(&headers(&[])));
    }

    fn access_token(headers: &HeaderMap, name: &str) -> Option<String> {
        credentials(headers, || name.to_owned()).map(|c| match c {
            Credentials::Bearer(token) => token.to_owned(),
            Credentials::Cookie(cookie) => cookie.access_token.unwrap(),
        })
    }

    const NAME: &str = "sb-127-auth-token";

    #[test]
    fn tokens_come_from_bearer_bare_chunked_and_raw_cookies() {
        let session = r#"{"access_token":"tok","refresh_token":"r"}"#;
        let b64 = format!("base64-{}", URL_SAFE_NO_PAD.encode(session));
        let bearer = headers(&[("authorization", "Bearer abc")]);
        assert_eq!(access_token(&bearer, NAME).as_deref(), Some("abc"));
        let bare = headers(&[("cookie", &format!("x=1; sb-127-auth-token={b64}"))]);
        assert_eq!(access_token(&bare, NAME).as_deref(), Some("tok"));
        let (a, b) = b64.split_at(20);
        let chunked = headers(&[(
            "cookie",
            &format!("sb-127-auth-token.1={b}; sb-127-auth-token.0={a}"),
        )]);
        assert_eq!(access_token(&chunked, NAME).as_deref(), Some("tok"));
        let raw =
            percent_encoding::utf8_percent_encode(session, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let raw = headers(&[("cookie", &format!("sb-127-auth-token={raw}"))]);
        assert_eq!(access_token(&raw, NAME).as_deref(), Some("tok"));
        assert_eq!(access_token(&raw, "sb-other-auth-token"), None);
        let garbage = headers(&[("cookie", "sb-127-auth-token=base64-!!!")]);
        assert_eq!(access_token(&garbage, NAME), None);
    }

    #[test]
    fn only_the_cookie_of_this_host_is_read() {
        // A sibling subdomain (evil.example.com) can set a cookie for example.com; it is never
        // taken for the session of app.example.com.
        let session = r#"{"access_token":"planted"}"#;
        let b64 = format!("base64-{}", URL_SAFE_NO_PAD.encode(session));
        let planted = headers(&[("cookie", &format!("sb-evil-auth-token={b64}"))]);
        assert_eq!(access_token(&planted, "sb-app-auth-token"), None);
    }

    #[test]
    fn a_flood_of_chunks_is_indexed_once_and_capped() {
        // 19,000 empty chunks used to cost a rescan of the whole list per chunk index.
        let flood: Vec<String> = (0..19_000).map(|i| format!("{NAME}.{i}=")).collect();
        let flood = headers(&[("cookie", &flood.join("; "))]);
        let cookie = SessionCookie::read(&flood, NAME);
        assert_eq!(cookie.access_token, None);
        // Only the chunks it would ever read are remembered (to be deleted on sign-out).
        assert_eq!(cookie.present.len(), MAX_CHUNKS);
        // A session spread over more chunks than the cap is not read at all.
        let session = format!(r#"{{"access_token":"{}"}}"#, "t".repeat(40_000));
        let b64 = format!("base64-{}", URL_SAFE_NO_PAD.encode(session));
        let parts: Vec<String> = b64
            .as_bytes()
            .chunks(3180)
            .enumerate()
            .map(|(i, c)| format!("{NAME}.{i}={}", std::str::from_utf8(c).unwrap()))
            .collect();
        assert!(parts.len() > MAX_CHUNKS);
        let big = headers(&[("cookie", &parts.join("; "))]);
        assert_eq!(SessionCookie::read(&big, NAME).access_token, None);
    }

    #[test]
    fn a_new_session_deletes_every_part_of_the_old_cookie() {
        // An old bare cookie beside new chunks would be read first.
        let old = headers(&[("cookie", "sb-127-auth-token=old; sb-127-auth-token.3=x")]);
        let cookie = SessionCookie::read(&old, NAME);
        let big = serde_json::json!({ "access_token": "t".repeat(5_000) });
        let written = cookie.replace(&big);
        assert!(written[0].starts_with("sb-127-auth-token.0=base64-"));
        for stale in ["sb-127-auth-token=;", "sb-127-auth-token.3=;"] {
            assert!(
                written
                    .iter()
                    .any(|c| c.starts_with(stale) && c.contains("Max-Age=0")),
                "{stale} in {written:?}"
            );
        }
    }
}

/// Runs the inner service only with a [`Session`] (a route's `AUTH = Required`), which it
/// leaves in the request for handlers that take one.
#[derive(Clone)]
pub(crate) struct RequireSession<S> {
    inner: S,
}

impl<S> RequireSession<S> {
    pub(crate) fn new(inner: S) -> Self {
        RequireSession { inner }
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
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match <Session as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await {
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
