//! Verifying sessions: the backend (the embedded server or a hosted project), the cache of
//! verified sessions, and server-side refresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::Response;
use http::request::Parts;
#[cfg(feature = "auth")]
use routekit_auth::AuthService;
use routekit_auth::{Claims, Standing};
#[cfg(feature = "supabase")]
use routekit_auth::{SupabaseAuth, SupabaseError};

use super::cookie::{Tokens, decode_session, request_host, signature_of};
use super::{Session, SessionConfig, SessionCookie};

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
    backend: SessionSource,
    config: SessionConfig,
    /// The cookie's name when it does not follow the request's host.
    cookie_name: Option<String>,
    /// Keyed by the token's signature (short, unique per token); a hit also compares the
    /// whole token, so a forged payload under a copied signature never matches.
    cache: Mutex<Bounded<Cached>>,
    /// Session cookies already decoded, by their whole value: a browser sends the same
    /// cookie (a base64url JSON of the session, a few KiB) with every request until it is
    /// refreshed, and decoding it was most of what the cookie path cost over a Bearer token.
    cookies: Mutex<Bounded<Arc<Tokens>>>,
    /// Refreshes that failed, by the access token's signature, so that a cookie replayed
    /// with a dead refresh token costs the auth server one call, not one per request.
    failed_refreshes: Mutex<HashMap<Box<str>, Instant, foldhash::fast::RandomState>>,
}

/// A cache bounded by entries ([`CACHE_LIMIT`]) and by roughly what they take
/// ([`CACHE_BYTES`]), so that a few huge keys cannot fill memory; emptied when either bound
/// would be passed (what it holds is cheap to compute again).
struct Bounded<V> {
    /// Each value with the size it was counted at.
    entries: HashMap<Box<str>, (V, usize), foldhash::fast::RandomState>,
    bytes: usize,
}

impl<V> Default for Bounded<V> {
    fn default() -> Self {
        Bounded {
            entries: HashMap::default(),
            bytes: 0,
        }
    }
}

impl<V> Bounded<V> {
    fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key).map(|(value, _)| value)
    }

    /// Keeps `value` under `key`, counted as `size` bytes.
    fn insert(&mut self, key: &str, value: V, size: usize) {
        if self.entries.len() >= CACHE_LIMIT || self.bytes + size > CACHE_BYTES {
            *self = Bounded::default();
        }
        if let Some((_, old)) = self.entries.insert(key.into(), (value, size)) {
            self.bytes = self.bytes.saturating_sub(old);
        }
        self.bytes += size;
    }
}

struct Cached {
    token: Box<str>,
    /// Built once: a cache hit hands out a reference count, not a copy of the claims.
    session: Session,
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
pub(super) enum Refusal {
    Unauthenticated,
    MfaRequired,
    Unavailable,
    /// Signed in, without the route's role.
    NotPermitted,
}

/// Who issues the sessions and answers whether one is still alive: the argument of
/// [`App::sessions`](crate::App::sessions), made from either service with `into()`.
///
/// ```no_run
/// # #[cfg(feature = "auth")]
/// # async fn f() -> Result<(), routekit::auth::AuthError> {
/// use routekit::SessionSource;
/// use routekit::auth::{AuthConfig, AuthService};
///
/// let auth = AuthService::start(AuthConfig::new("sqlite://data/auth.db")).await?;
/// let source: SessionSource = auth.into();
/// assert!(matches!(source, SessionSource::Embedded(_)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionSource {
    /// The embedded auth server (mount its API with [`App::auth_api`](crate::App::auth_api)).
    #[cfg(feature = "auth")]
    Embedded(AuthService),
    /// A hosted Supabase project.
    #[cfg(feature = "supabase")]
    Supabase(SupabaseAuth),
}

#[cfg(feature = "auth")]
impl From<AuthService> for SessionSource {
    fn from(auth: AuthService) -> Self {
        SessionSource::Embedded(auth)
    }
}

#[cfg(feature = "supabase")]
impl From<SupabaseAuth> for SessionSource {
    fn from(project: SupabaseAuth) -> Self {
        SessionSource::Supabase(project)
    }
}

impl SessionSource {
    /// Bumped by the embedded server whenever a session ends on this instance, so cached
    /// sessions are checked again at once. A hosted project tells nobody: its sign-outs are
    /// seen when the cache entry is rechecked.
    fn generation(&self) -> u64 {
        match self {
            #[cfg(feature = "auth")]
            SessionSource::Embedded(auth) => auth.revocation_generation(),
            #[cfg(feature = "supabase")]
            SessionSource::Supabase(_) => 0,
        }
    }

    /// Verifies the token, then asks the store (never the client's copy of the user)
    /// whether its session is alive and its user not banned, whether the MFA rule wants
    /// `aal2`, and what role the user has.
    async fn inspect(&self, token: &str) -> Result<(Claims, Standing), Refusal> {
        match self {
            #[cfg(feature = "auth")]
            SessionSource::Embedded(auth) => {
                let claims = auth
                    .verify_access_token(token)
                    .await
                    .map_err(|_| Refusal::Unauthenticated)?;
                let standing = auth
                    .standing(&claims)
                    .await
                    .map_err(|_| Refusal::Unavailable)?
                    .ok_or(Refusal::Unauthenticated)?;
                Ok((claims, standing))
            }
            #[cfg(feature = "supabase")]
            SessionSource::Supabase(project) => {
                let claims = project
                    .verify_access_token(token)
                    .await
                    .map_err(supabase_refusal)?;
                // The project answers all of it: a revoked session or a banned user is
                // refused, and the factors and role are the ones the project has, whatever
                // the cookie says.
                let standing = project
                    .standing(token, &claims)
                    .await
                    .map_err(supabase_refusal)?;
                Ok((claims, standing))
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
            #[cfg(feature = "auth")]
            SessionSource::Embedded(auth) => Ok(matches!(
                auth.verify_access_token(token).await,
                Ok(_) | Err(JwtError::Expired)
            )),
            #[cfg(feature = "supabase")]
            SessionSource::Supabase(project) => match project.verify_access_token(token).await {
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
            #[cfg(feature = "auth")]
            SessionSource::Embedded(auth) => match auth.refresh(refresh_token).await {
                Ok(fresh) => Ok((fresh.to_json(), fresh.access_token)),
                Err(routekit_auth::AuthError::Unavailable(_)) => Err(Refusal::Unavailable),
                Err(_) => Err(Refusal::Unauthenticated),
            },
            #[cfg(feature = "supabase")]
            SessionSource::Supabase(project) => {
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
    pub(crate) fn new(backend: SessionSource, config: SessionConfig) -> Self {
        // supabase-js names its storage key after the auth server's host: the app's own with
        // the embedded server, the project's in Supabase mode.
        #[cfg(feature = "supabase")]
        let project_cookie = match &backend {
            #[cfg(feature = "auth")]
            SessionSource::Embedded(_) => None,
            SessionSource::Supabase(project) => {
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
            cache: Mutex::new(Bounded::default()),
            cookies: Mutex::new(Bounded::default()),
            failed_refreshes: Mutex::new(HashMap::default()),
        }))
    }

    /// The tokens of a session cookie's value, decoded once per value: the map is keyed by the
    /// whole value, so a hit is exactly the same cookie, and bounded like the session cache.
    pub(super) fn decode_cookie(&self, value: &str) -> Option<Arc<Tokens>> {
        if let Some(tokens) = self
            .0
            .cookies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(value)
        {
            return Some(tokens.clone());
        }
        let tokens = Arc::new(decode_session(value)?);
        let size =
            value.len() + tokens.access.len() + tokens.refresh.as_ref().map_or(0, String::len) + 64;
        self.0
            .cookies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(value, tokens.clone(), size);
        Some(tokens)
    }

    /// The session cookie's name for a request.
    pub(super) fn cookie_name(&self, parts: &Parts) -> String {
        match &self.0.cookie_name {
            Some(name) => name.clone(),
            None => SessionCookie::name_for_host(request_host(parts)),
        }
    }

    /// Refreshes a cookie's session, unless its access token is not signed by the backend or
    /// the same token's refresh failed moments ago.
    pub(super) async fn refresh(
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

    /// Verifies `token` and applies the revocation and MFA rules, and with `role` the role
    /// rule, from the cache when fresh. The role comes first: a user without it learns
    /// nothing of the route, not even that it wants a second factor.
    pub(super) async fn check(&self, token: &str, role: Option<&str>) -> Result<Session, Refusal> {
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
            .get(key)
            .filter(|c| c.generation == generation && now < c.fresh_until && *c.token == *token)
            .map(|c| c.session.clone());
        let session = match cached {
            Some(hit) => hit,
            None => {
                let (claims, standing) = inner.backend.inspect(token).await?;
                let now_unix = unix_now();
                let lifetime =
                    Duration::from_secs(claims.exp.saturating_sub(now_unix).max(0) as u64);
                let session = Session::new(claims, standing, inner.config.roles);
                let entry = Cached {
                    token: Box::from(token),
                    session: session.clone(),
                    fresh_until: now + inner.config.recheck_after.min(lifetime),
                    generation,
                };
                // The token twice (key and value) and its claims, decoded: about its size, again.
                let size = token.len() * 3 + std::mem::size_of::<Cached>();
                inner
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, entry, size);
                session
            }
        };
        if let Some(role) = role
            && !session.holds(role)
        {
            return Err(Refusal::NotPermitted);
        }
        if session.requires_mfa() {
            return Err(Refusal::MfaRequired);
        }
        Ok(session)
    }

    /// Whether a cookie's access token expires within the refresh margin. Only `exp` is read
    /// here, without the signature check: the refresh itself is authenticated by the refresh
    /// token (MACed by the server), and whichever access token results is verified by
    /// `check`. Verifying here too would cost a signature check on every cookie request.
    pub(super) fn needs_refresh(exp: Option<i64>) -> bool {
        exp.is_some_and(|exp| exp - REFRESH_MARGIN_SECS <= unix_now())
    }

    /// The answer to a request refused for `refusal` (see [`super::refusal`]).
    pub(super) fn refuse(&self, refusal: Refusal, parts: &Parts) -> Response {
        super::refusal::respond(&self.0.config, refusal, parts)
    }

    /// The backend.
    #[cfg(feature = "auth")]
    pub(super) fn backend(&self) -> &SessionSource {
        &self.0.backend
    }
}

/// Refresh a cookie session this close to expiry (supabase-js refreshes 90 s early).
const REFRESH_MARGIN_SECS: i64 = 90;
