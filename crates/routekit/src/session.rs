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
use routekit_auth::{Amr, AuthService, Claims, SupabaseAuth, SupabaseError};

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
    /// The `@supabase/ssr` cookie to read (`sb-<ref>-auth-token`); `None` takes the first
    /// cookie named `sb-…-auth-token`.
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
    /// `aal1` or `aal2`.
    pub aal: String,
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
            aal: claims.aal.clone(),
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
    /// Keyed by the token's signature (short, unique per token); a hit also compares the
    /// whole token, so a forged payload under a copied signature never matches.
    cache: Mutex<HashMap<Box<str>, Cached, foldhash::fast::RandomState>>,
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
    Supabase(SupabaseAuth),
}

impl Backend {
    /// Bumped by the embedded server whenever a session ends on this instance, so cached
    /// sessions are checked again at once. A hosted project tells nobody: its sign-outs are
    /// seen when the cache entry is rechecked.
    fn generation(&self) -> u64 {
        match self {
            Backend::Embedded(auth) => auth.revocation_generation(),
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
                    .session_exists(&claims.session_id)
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
                let requires_mfa = verified_factor && claims.aal != "aal2";
                Ok((claims, requires_mfa))
            }
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
        Sessions(Arc::new(Inner {
            backend,
            config,
            cache: Mutex::new(HashMap::default()),
        }))
    }

    /// Verifies `token` and applies the revocation and MFA rules, from the cache when fresh.
    async fn check(&self, token: &str) -> Result<Session, Refusal> {
        let inner = &self.0;
        let generation = inner.backend.generation();
        let now = Instant::now();
        let key = token.rsplit('.').next().unwrap_or(token);
        // A hit hands out a reference count of the session, nothing else.
        let cached = inner
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
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
                let mut cache = inner.cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(key.into(), entry);
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
    /// The `@supabase/ssr` cookie: its name, the chunk names present, and the session in it.
    Cookie {
        name: String,
        present: Vec<String>,
        access_token: String,
        refresh_token: Option<String>,
    },
}

impl Credentials<'_> {
    fn access_token(&self) -> &str {
        match self {
            Credentials::Bearer(token) => token,
            Credentials::Cookie { access_token, .. } => access_token,
        }
    }
}

/// The access token: `Authorization: Bearer`, else the `@supabase/ssr` session cookie.
#[cfg(test)]
fn access_token(headers: &HeaderMap, cookie_name: Option<&str>) -> Option<String> {
    credentials(headers, cookie_name).map(|c| c.access_token().to_owned())
}

fn credentials<'a>(headers: &'a HeaderMap, cookie_name: Option<&str>) -> Option<Credentials<'a>> {
    if let Some(token) = routekit_auth::bearer_token(headers) {
        return Some(Credentials::Bearer(token));
    }
    credentials_from_cookies(headers, cookie_name)
}

fn credentials_from_cookies(
    headers: &HeaderMap,
    cookie_name: Option<&str>,
) -> Option<Credentials<'static>> {
    let cookies: Vec<(&str, &str)> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let name = match cookie_name {
        Some(name) => name.to_owned(),
        None => cookies.iter().find_map(|(k, _)| {
            let base = k.strip_suffix(".0").unwrap_or(k);
            (base.starts_with("sb-") && base.ends_with("-auth-token")).then(|| base.to_owned())
        })?,
    };
    let get = |n: &str| cookies.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
    let mut present = Vec::new();
    // The bare cookie, else the chunks `.0`, `.1`, … up to the first gap.
    let value = match get(&name).filter(|v| !v.is_empty()) {
        Some(v) => {
            present.push(name.clone());
            v.to_owned()
        }
        None => {
            let mut joined = String::new();
            for i in 0.. {
                let chunk_name = format!("{name}.{i}");
                match get(&chunk_name) {
                    Some(chunk) => {
                        joined.push_str(chunk);
                        present.push(chunk_name);
                    }
                    None => break,
                }
            }
            joined
        }
    };
    let json = match value.strip_prefix("base64-") {
        Some(encoded) => {
            let bytes = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).ok()?;
            String::from_utf8(bytes).ok()?
        }
        None => percent_encoding::percent_decode_str(&value)
            .decode_utf8()
            .ok()?
            .into_owned(),
    };
    let session: serde_json::Value = serde_json::from_str(&json).ok()?;
    Some(Credentials::Cookie {
        name,
        present,
        access_token: session["access_token"].as_str()?.to_owned(),
        refresh_token: session["refresh_token"].as_str().map(str::to_owned),
    })
}

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

/// The embedded auth server, for handlers that sign users in (server-rendered forms).
///
/// ```
/// use routekit::AuthApi;
///
/// pub async fn POST(AuthApi(auth): AuthApi) {
///     // auth.sign_in_with_password(…)
/// }
/// ```
#[derive(Clone)]
pub struct AuthApi(pub AuthService);

impl std::fmt::Debug for AuthApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AuthApi").field(&self.0).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthApi {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        SessionScope::of(parts)
            .and_then(|scope| match &scope.sessions.0.backend {
                Backend::Embedded(auth) => Some(AuthApi(auth.clone())),
                Backend::Supabase(_) => None,
            })
            .ok_or_else(|| {
                ApiError::internal(
                    "AuthApi used, but the app has no embedded auth server: call App::auth",
                )
                .into_response()
            })
    }
}

/// The `@supabase/ssr` session cookie, for server-rendered sign-in pages: the name a browser's
/// supabase-js client on this host would use, reading the current session, and writing a new
/// one.
///
/// ```
/// use routekit::SessionCookie;
///
/// assert_eq!(SessionCookie::name_for_host("127.0.0.1:3000"), "sb-127-auth-token");
/// assert_eq!(SessionCookie::name_for_host("app.example.com"), "sb-app-auth-token");
/// let cookies = SessionCookie::write("sb-app-auth-token", &serde_json::json!({"access_token": "t"}));
/// assert!(cookies[0].starts_with("sb-app-auth-token=base64-"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCookie {
    /// The cookie's name.
    pub name: String,
    /// The access token in it.
    pub access_token: String,
    /// The refresh token in it.
    pub refresh_token: Option<String>,
    present: Vec<String>,
}

impl SessionCookie {
    /// `sb-<first label of the host>-auth-token`, as supabase-js names its storage key.
    pub fn name_for_host(host: &str) -> String {
        let label = host.split(['.', ':']).next().unwrap_or(host);
        format!("sb-{label}-auth-token")
    }

    /// The session cookie of a request (bare or chunked, `base64-` or raw JSON).
    pub fn read(headers: &HeaderMap) -> Option<SessionCookie> {
        match credentials_from_cookies(headers, None)? {
            Credentials::Cookie {
                name,
                present,
                access_token,
                refresh_token,
            } => Some(SessionCookie {
                name,
                access_token,
                refresh_token,
                present,
            }),
            Credentials::Bearer(_) => None,
        }
    }

    /// `Set-Cookie` values storing `session` (a token response) under `name`, chunked as
    /// `@supabase/ssr` does. Send them with `Cache-Control: no-store`.
    pub fn write(name: &str, session: &serde_json::Value) -> Vec<String> {
        session_cookies(name, session, &[])
    }

    /// `Set-Cookie` values replacing this cookie with `session`, deleting chunks it no longer
    /// needs.
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
    let Some(credentials) = credentials(&parts.headers, sessions.0.config.cookie_name.as_deref())
    else {
        return Ok(None);
    };
    // Borrowed from the request; owned only when a refresh replaces it.
    let mut token = std::borrow::Cow::Borrowed(credentials.access_token());
    if let Credentials::Cookie {
        name,
        present,
        refresh_token: Some(refresh_token),
        ..
    } = &credentials
    {
        if Sessions::needs_refresh(&token) {
            // Server-side refresh: the request goes on with the new token and the response
            // carries the rewritten cookie. Concurrent requests with the same cookie all get
            // the same new token (the auth server's reuse rule), so none burns the family.
            match sessions.0.backend.refresh(refresh_token).await {
                Ok((fresh, access_token)) => {
                    for cookie in session_cookies(name, &fresh, present) {
                        scope.push(cookie);
                    }
                    token = std::borrow::Cow::Owned(access_token);
                }
                Err(Refusal::Unauthenticated) => return Ok(None),
                Err(refusal) => return Err(sessions.refuse(refusal, parts)),
            }
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

    #[test]
    fn tokens_come_from_bearer_bare_chunked_and_raw_cookies() {
        let session = r#"{"access_token":"tok","refresh_token":"r"}"#;
        let b64 = format!("base64-{}", URL_SAFE_NO_PAD.encode(session));
        let bearer = headers(&[("authorization", "Bearer abc")]);
        assert_eq!(access_token(&bearer, None).as_deref(), Some("abc"));
        let bare = headers(&[("cookie", &format!("x=1; sb-127-auth-token={b64}"))]);
        assert_eq!(access_token(&bare, None).as_deref(), Some("tok"));
        let (a, b) = b64.split_at(20);
        let chunked = headers(&[(
            "cookie",
            &format!("sb-127-auth-token.0={a}; sb-127-auth-token.1={b}"),
        )]);
        assert_eq!(access_token(&chunked, None).as_deref(), Some("tok"));
        let raw =
            percent_encoding::utf8_percent_encode(session, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let raw = headers(&[("cookie", &format!("sb-localhost-auth-token={raw}"))]);
        assert_eq!(access_token(&raw, None).as_deref(), Some("tok"));
        assert_eq!(access_token(&raw, Some("sb-other-auth-token")), None);
        let garbage = headers(&[("cookie", "sb-127-auth-token=base64-!!!")]);
        assert_eq!(access_token(&garbage, None), None);
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
