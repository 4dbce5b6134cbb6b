//! The auth service's Rust API: sign up, sign in, refresh, sign out, users, tokens.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::client::{Client, ClientResolver};
use crate::config::AuthConfig;
use crate::error::{AuthError, unless_conflict};
use crate::jwt::{Aal, Amr, Claims, JwtError, Keys};
use crate::password;
use crate::ratelimit::{Bucket, Key};
use crate::store::Store;
use crate::user::{User, select_user};

/// A signed-in session as the token endpoints return it (GoTrue's `AccessTokenResponse`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The ES256 access token.
    pub access_token: String,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// When it expires (unix seconds).
    pub expires_at: i64,
    /// The user.
    pub user: User,
    /// The access token's claims.
    pub claims: Claims,
    /// For a password sign-in whose password no longer meets the rules: the reasons.
    pub weak_password: Vec<&'static str>,
    /// The user's MFA factors, as `GET /user` lists them.
    pub factors: Vec<crate::mfa::Factor>,
}

impl TokenResponse {
    /// The JSON body of a token response.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "user": self.user.to_json(&self.factors),
        });
        if !self.weak_password.is_empty() {
            body["weak_password"] = json!({
                "message": "Password does not meet the current requirements",
                "reasons": self.weak_password,
            });
        }
        body
    }
}

/// What sign-up produced: a session (auto-confirm) or an unconfirmed user.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SignUp {
    /// Auto-confirm is on: the user is signed in.
    Session(Box<TokenResponse>),
    /// Confirmation is required: no session yet.
    User(Box<User>),
}

/// Changes to a user (`PUT /user`); `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UserUpdate {
    /// A new e-mail address.
    pub email: Option<String>,
    /// A new password.
    pub password: Option<String>,
    /// Keys merged into `user_metadata`.
    pub data: Option<Value>,
}

impl UserUpdate {
    /// Only `user_metadata` changes.
    pub fn data(data: Value) -> Self {
        UserUpdate {
            data: Some(data),
            ..Self::default()
        }
    }

    /// Only the password changes.
    pub fn password(password: impl Into<String>) -> Self {
        UserUpdate {
            password: Some(password.into()),
            ..Self::default()
        }
    }
}

/// Which sessions a sign-out ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOutScope {
    /// Every session of the user.
    Global,
    /// This session.
    Local,
    /// Every session but this one.
    Others,
}

/// The embedded auth server's core, shared by its HTTP layer and by the app.
///
/// ```no_run
/// # async fn f() -> Result<(), routekit_auth::AuthError> {
/// use routekit_auth::{AuthConfig, AuthService};
///
/// use routekit_auth::Client;
///
/// let auth = AuthService::start(AuthConfig::new("sqlite://data/auth.db")).await?;
/// let client = Client::unknown(); // or auth.client(&headers, Some(peer_ip)) in a handler
/// auth.sign_up(&client, "ann@example.com", "a long passphrase", None).await?;
/// let session = auth
///     .sign_in_with_password(&client, "ann@example.com", "a long passphrase")
///     .await?;
/// let claims = auth.verify_access_token(&session.access_token).await?;
/// assert_eq!(claims.aal, routekit_auth::Aal::Aal1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthService {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: AuthConfig,
    pub(crate) store: Store,
    keys: Keys,
    issuer: String,
    refresh_key: [u8; 32],
    /// Encrypts TOTP secrets at rest.
    pub(crate) secret_box: crate::mfa::SecretBox,
    pub(crate) limiter: crate::ratelimit::Limiter,
    /// Every argon2 run, bounded.
    pub(crate) hasher: password::Hasher,
    resolver: ClientResolver,
    /// Bumped whenever a session ends or a user's factors change, so caches of verified
    /// sessions on this instance drop their entries at once.
    generation: std::sync::atomic::AtomicU64,
    /// Verified for unknown e-mails, so they take as long as wrong passwords.
    dummy_hash: String,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Bytes in a refresh token: session id, counter, MAC.
const REFRESH_LEN: usize = 16 + 8 + 16;

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
    Ok(bytes)
}

fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AuthError::internal)
}

/// An e-mail address, lowercased and trimmed, or 400 `validation_failed`.
pub(crate) fn normalise_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 255
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(AuthError::api(
            StatusCode::BAD_REQUEST,
            "email_address_invalid",
            "Unable to validate email address: invalid format",
        ))
    }
}

impl AuthService {
    /// Connects to the database, runs migrations, and loads (or creates) the signing key and
    /// the refresh-token key.
    pub async fn start(config: AuthConfig) -> Result<AuthService, AuthError> {
        let store = Store::connect(&config.database_url).await?;
        Self::with_store(config, store).await
    }

    /// As [`AuthService::start`], on an already connected store.
    pub async fn with_store(config: AuthConfig, store: Store) -> Result<AuthService, AuthError> {
        let keys = Keys::load(
            store.clone(),
            config.jwt_exp.as_secs() as i64,
            config.signing_key.as_deref(),
            config.jwt_secret.as_deref(),
        )
        .await?;
        let fresh = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
        let refresh_key = store.secret("refresh_token_key", || fresh).await?;
        let refresh_key: [u8; 32] = URL_SAFE_NO_PAD
            .decode(refresh_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| AuthError::internal("stored refresh-token key is malformed"))?;
        let dummy_hash = password::decoy()?;
        let secret_box = crate::mfa::SecretBox::load(&config)?;
        let limiter = crate::ratelimit::Limiter::new(config.rate_limits);
        let hasher = password::Hasher::new(config.hash_concurrency, config.hash_queue);
        let resolver =
            ClientResolver::new(config.rate_limit_header.as_deref(), &config.trusted_proxies);
        Ok(AuthService {
            inner: Arc::new(Inner {
                hasher,
                resolver,
                issuer: config.issuer(),
                config,
                store,
                keys,
                refresh_key,
                secret_box,
                limiter,
                generation: std::sync::atomic::AtomicU64::new(0),
                dummy_hash,
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The signing keys (for rotation and the JWKS).
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Creates an account. With auto-confirm on (the default) the user is signed in.
    /// Sign-ups are rate-limited per client address (GoTrue's 30 per 5 minutes).
    pub async fn sign_up(
        &self,
        client: &Client,
        email: &str,
        password: &str,
        data: Option<Value>,
    ) -> Result<SignUp, AuthError> {
        self.limit_ip(Bucket::Signup, client)?;
        let config = &self.inner.config;
        if config.disable_signup {
            return Err(AuthError::api(
                StatusCode::UNPROCESSABLE_ENTITY,
                "signup_disabled",
                "Signups not allowed for this instance",
            ));
        }
        let email = normalise_email(email)?;
        if password.is_empty() {
            return Err(AuthError::validation("Signup requires a valid password"));
        }
        password::check_length(password)?;
        let password = password::normalise(password);
        password::check_strength(&password, config.password_min_length)?;
        let hash = self.inner.hasher.hash(password).await?;
        let now = crate::now();
        let id = uuid::Uuid::new_v4().to_string();
        let metadata = match data {
            Some(Value::Object(map)) => Value::Object(map),
            Some(Value::Null) | None => json!({}),
            Some(_) => return Err(AuthError::validation("data must be an object")),
        };
        let confirmed = config.autoconfirm.then_some(now);
        let inserted = sqlx::query(
            "INSERT INTO auth_users (id, email, password_hash, role, aud, app_metadata, \
             user_metadata, email_confirmed_at, last_sign_in_at, banned_until, created_at, \
             updated_at) VALUES ($1, $2, $3, 'authenticated', 'authenticated', $4, $5, $6, $7, \
             NULL, $8, $8)",
        )
        .bind(&id)
        .bind(&email)
        .bind(&hash)
        .bind(json!({"provider": "email", "providers": ["email"]}).to_string())
        .bind(metadata.to_string())
        .bind(confirmed)
        .bind(confirmed)
        .bind(now)
        .execute(&self.inner.store.pool)
        .await;
        unless_conflict(inserted, || {
            AuthError::api(
                StatusCode::UNPROCESSABLE_ENTITY,
                "user_already_exists",
                "User already registered",
            )
        })?;
        let user = self
            .user(&id)
            .await?
            .ok_or_else(|| AuthError::internal("user vanished"))?;
        if config.autoconfirm {
            let session = self.create_session(user, "password", now).await?;
            Ok(SignUp::Session(Box::new(session)))
        } else {
            Ok(SignUp::User(Box::new(user)))
        }
    }

    /// Signs in with e-mail and password: a new session at `aal1`. Unknown e-mails and wrong
    /// passwords get the same error after the same work.
    ///
    /// Attempts are rate-limited per client address and per account (429 with
    /// `Retry-After`), and the password check waits for one of the hashing slots (503
    /// `over_capacity` when they and their queue are full), whoever the caller is.
    pub async fn sign_in_with_password(
        &self,
        client: &Client,
        email: &str,
        password: &str,
    ) -> Result<TokenResponse, AuthError> {
        self.limit_ip(Bucket::Token, client)?;
        if email.trim().is_empty() || password.is_empty() {
            return Err(AuthError::validation(
                "An email address and a password are required",
            ));
        }
        password::check_length(password)?;
        let email = email.trim().to_lowercase();
        if email.len() > 255 {
            // No account has such an address: nothing to look up, nor to keep a bucket for.
            return Err(AuthError::invalid_credentials());
        }
        // Guesses spread over many addresses still meet this one.
        self.limit(Bucket::Account, Key::Account(email.clone()))?;
        let password = password::normalise(password);
        let user: Option<User> = sqlx::query_as(select_user!("WHERE email = $1"))
            .bind(&email)
            .fetch_optional(&self.inner.store.pool)
            .await?;
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.inner.dummy_hash.clone());
        let matches = self.inner.hasher.verify(password.clone(), hash).await?;
        let Some(user) = user.filter(|u| matches && u.password_hash.is_some()) else {
            return Err(AuthError::invalid_credentials());
        };
        let now = crate::now();
        // Told only after the password checked out, so these leak nothing about accounts.
        if user.email_confirmed_at.is_none() {
            return Err(AuthError::api(
                StatusCode::BAD_REQUEST,
                "email_not_confirmed",
                "Email not confirmed",
            ));
        }
        if user.is_banned(now) {
            return Err(AuthError::api(
                StatusCode::BAD_REQUEST,
                "user_banned",
                "User is banned",
            ));
        }
        sqlx::query("UPDATE auth_users SET last_sign_in_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&user.id)
            .execute(&self.inner.store.pool)
            .await?;
        let user = self
            .user(&user.id)
            .await?
            .ok_or_else(|| AuthError::internal("user vanished"))?;
        let mut session = self.create_session(user, "password", now).await?;
        if let Err(AuthError::Api { weak_password, .. }) =
            password::check_strength(&password, self.inner.config.password_min_length)
        {
            session.weak_password = weak_password;
        }
        Ok(session)
    }

    /// A user by id.
    pub async fn user(&self, id: &str) -> Result<Option<User>, AuthError> {
        Ok(sqlx::query_as(select_user!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.inner.store.pool)
            .await?)
    }

    fn refresh_token(&self, session_id: &uuid::Uuid, counter: u64) -> String {
        let mut token = [0u8; REFRESH_LEN];
        token[..16].copy_from_slice(session_id.as_bytes());
        token[16..24].copy_from_slice(&counter.to_be_bytes());
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.inner.refresh_key)
            .expect("HMAC takes any key length");
        mac.update(&token[..24]);
        token[24..].copy_from_slice(&mac.finalize().into_bytes()[..16]);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The session and counter a refresh token names, if it was minted here.
    fn parse_refresh_token(&self, token: &str) -> Result<(uuid::Uuid, u64), AuthError> {
        let not_found = || {
            AuthError::api(
                StatusCode::BAD_REQUEST,
                "refresh_token_not_found",
                "Invalid Refresh Token: Refresh Token Not Found",
            )
        };
        let mut bytes = [0u8; REFRESH_LEN];
        if token.len() != 54
            || !matches!(
                URL_SAFE_NO_PAD.decode_slice(token, &mut bytes),
                Ok(REFRESH_LEN)
            )
        {
            return Err(AuthError::validation("Refresh token is not valid"));
        }
        let session = uuid::Uuid::from_slice(&bytes[..16]).map_err(|_| not_found())?;
        let counter = u64::from_be_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let expected = self.refresh_token(&session, counter);
        if !bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
            return Err(not_found());
        }
        Ok((session, counter))
    }

    async fn create_session(
        &self,
        user: User,
        method: &str,
        now: i64,
    ) -> Result<TokenResponse, AuthError> {
        let amr = vec![Amr {
            method: method.to_owned(),
            timestamp: now,
        }];
        self.insert_session(user, Aal::Aal1, amr, now).await
    }

    /// A new session row (new id, counter 0) and its tokens. Every sign-in and every AAL
    /// change goes through here, so a session id planted before either is worthless.
    pub(crate) async fn insert_session(
        &self,
        user: User,
        aal: Aal,
        amr: Vec<Amr>,
        now: i64,
    ) -> Result<TokenResponse, AuthError> {
        let id = uuid::Uuid::new_v4();
        let token = self.refresh_token(&id, 0);
        sqlx::query(
            "INSERT INTO auth_sessions (id, user_id, aal, amr, refresh_counter, refresh_hash, \
             refreshed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $6, $6)",
        )
        .bind(id.to_string())
        .bind(&user.id)
        .bind(aal.as_str())
        .bind(serde_json::to_string(&amr).map_err(AuthError::internal)?)
        .bind(sha256_b64(&token))
        .bind(now)
        .execute(&self.inner.store.pool)
        .await?;
        self.issue(user, &id.to_string(), aal, amr, token, now)
            .await
    }

    pub(crate) async fn issue(
        &self,
        user: User,
        session_id: &str,
        aal: Aal,
        mut amr: Vec<Amr>,
        refresh_token: String,
        now: i64,
    ) -> Result<TokenResponse, AuthError> {
        // Stored oldest first; newest first in the claim, ties in reverse order of addition.
        amr.reverse();
        amr.sort_by_key(|a| std::cmp::Reverse(a.timestamp));
        let exp_in = self.inner.config.jwt_exp.as_secs() as i64;
        let claims = Claims {
            iss: self.inner.issuer.clone(),
            sub: user.id.clone(),
            aud: user.aud.clone(),
            exp: now + exp_in,
            iat: now,
            nbf: None,
            email: user.email.clone(),
            phone: String::new(),
            app_metadata: user.app_metadata(),
            user_metadata: user.user_metadata(),
            role: user.role.clone(),
            aal,
            amr,
            session_id: session_id.to_owned(),
            is_anonymous: false,
        };
        let factors = self.factors(&user.id).await?;
        Ok(TokenResponse {
            access_token: self.inner.keys.sign(&claims)?,
            refresh_token,
            expires_in: exp_in,
            expires_at: now + exp_in,
            user,
            claims,
            weak_password: Vec::new(),
            factors,
        })
    }

    /// Exchanges a refresh token for a new session token pair, with GoTrue's reuse rules:
    /// - the current token rotates (exactly one concurrent caller wins the swap);
    /// - the previous token, replayed within the reuse interval (10 s), returns the current
    ///   token unchanged (a client that lost the last response, or concurrent refreshes);
    /// - any other replay revokes the whole session: 400 `refresh_token_already_used`.
    pub async fn refresh(&self, token: &str) -> Result<TokenResponse, AuthError> {
        let (session_id, counter) = self.parse_refresh_token(token)?;
        let pool = &self.inner.store.pool;
        let id = session_id.to_string();
        loop {
            let row: Option<(String, String, String, i64, String, i64)> = sqlx::query_as(
                "SELECT user_id, aal, amr, refresh_counter, refresh_hash, refreshed_at \
                 FROM auth_sessions WHERE id = $1",
            )
            .bind(&id)
            .fetch_optional(pool)
            .await?;
            let Some((user_id, aal, amr, current, hash, refreshed_at)) = row else {
                return Err(AuthError::api(
                    StatusCode::BAD_REQUEST,
                    "refresh_token_not_found",
                    "Invalid Refresh Token: Refresh Token Not Found",
                ));
            };
            let current = current as u64;
            let aal: Aal = aal.parse().map_err(AuthError::internal)?;
            let now = crate::now();
            let amr: Vec<Amr> = serde_json::from_str(&amr).map_err(AuthError::internal)?;
            let user = self.user(&user_id).await?.ok_or_else(|| {
                AuthError::api(StatusCode::BAD_REQUEST, "user_not_found", "User not found")
            })?;
            if user.is_banned(now) {
                return Err(AuthError::api(
                    StatusCode::BAD_REQUEST,
                    "user_banned",
                    "User is banned",
                ));
            }
            let interval = self.inner.config.refresh_reuse_interval.as_secs() as i64;
            if counter == current {
                if !bool::from(sha256_b64(token).as_bytes().ct_eq(hash.as_bytes())) {
                    return Err(AuthError::internal("refresh token hash mismatch"));
                }
                let next = self.refresh_token(&session_id, current + 1);
                // Compare-and-swap on the counter: of concurrent refreshes exactly one wins;
                // the others re-read and take the reuse path below.
                let swapped = sqlx::query(
                    "UPDATE auth_sessions SET refresh_counter = $1, refresh_hash = $2, \
                     refreshed_at = $3, updated_at = $3 WHERE id = $4 AND refresh_counter = $5",
                )
                .bind((current + 1) as i64)
                .bind(sha256_b64(&next))
                .bind(now)
                .bind(&id)
                .bind(current as i64)
                .execute(pool)
                .await?;
                if swapped.rows_affected() == 1 {
                    return self.issue(user, &id, aal, amr, next, now).await;
                }
                continue;
            }
            if counter + 1 == current && now - refreshed_at <= interval {
                let active = self.refresh_token(&session_id, current);
                return self.issue(user, &id, aal, amr, active, now).await;
            }
            // A replay outside the rules: someone else may hold this family. End it.
            sqlx::query("DELETE FROM auth_sessions WHERE id = $1")
                .bind(&id)
                .execute(pool)
                .await?;
            self.revoked();
            tracing::warn!(target: "routekit::auth", session_id = %id, "refresh token reused; session revoked");
            return Err(AuthError::api(
                StatusCode::BAD_REQUEST,
                "refresh_token_already_used",
                "Invalid Refresh Token: Already Used",
            ));
        }
    }

    /// Verifies an access token (signature, `exp`, `aud`, `iss`) without touching the
    /// database, except to reload the keys when the `kid` is unknown (another instance
    /// rotated).
    pub async fn verify_access_token(&self, token: &str) -> Result<Claims, JwtError> {
        let now = crate::now();
        match self.inner.keys.verify(token, &self.inner.issuer, now) {
            Err(JwtError::UnknownKey) => {
                let known = match crate::jwt::kid_of(token) {
                    Some(kid) => self.inner.keys.knows(&kid).await,
                    None => false,
                };
                if known {
                    self.inner.keys.verify(token, &self.inner.issuer, now)
                } else {
                    Err(JwtError::UnknownKey)
                }
            }
            other => other,
        }
    }

    /// The user and claims behind a bearer token whose session still exists, with GoTrue's
    /// errors: 403 `bad_jwt`, `session_not_found`, `user_not_found`.
    pub async fn authenticate(&self, token: &str) -> Result<(User, Claims), AuthError> {
        let claims = self.verify_access_token(token).await?;
        let user = self.live_user(&claims).await?;
        Ok((user, claims))
    }

    /// The claims' user, when their session still exists and is the user's, and the user is
    /// not banned; else 403 `session_not_found`, `user_not_found` or `user_banned`. Checked
    /// before anything is tried or changed for a session.
    pub(crate) async fn live_user(&self, claims: &Claims) -> Result<User, AuthError> {
        if !self.session_exists(claims).await? {
            return Err(AuthError::api(
                StatusCode::FORBIDDEN,
                "session_not_found",
                "Session from session_id claim in JWT does not exist",
            ));
        }
        let user = self.user(&claims.sub).await?.ok_or_else(|| {
            AuthError::api(
                StatusCode::FORBIDDEN,
                "user_not_found",
                "User from sub claim in JWT does not exist",
            )
        })?;
        if user.is_banned(crate::now()) {
            return Err(AuthError::api(
                StatusCode::FORBIDDEN,
                "user_banned",
                "User is banned",
            ));
        }
        Ok(user)
    }

    /// Ends sessions of the token's user.
    pub async fn sign_out(&self, claims: &Claims, scope: SignOutScope) -> Result<(), AuthError> {
        let pool = &self.inner.store.pool;
        match scope {
            SignOutScope::Global => {
                sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
                    .bind(&claims.sub)
                    .execute(pool)
                    .await?;
            }
            SignOutScope::Local => {
                sqlx::query("DELETE FROM auth_sessions WHERE id = $1 AND user_id = $2")
                    .bind(&claims.session_id)
                    .bind(&claims.sub)
                    .execute(pool)
                    .await?;
            }
            SignOutScope::Others => {
                sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND id <> $2")
                    .bind(&claims.sub)
                    .bind(&claims.session_id)
                    .execute(pool)
                    .await?;
            }
        }
        self.revoked();
        Ok(())
    }

    /// Updates the token's user. Changing the password or e-mail of a user with a verified
    /// factor needs an `aal2` session (401 `insufficient_aal`); a new password ends the user's
    /// other sessions. Updates are rate-limited per client address and per user.
    pub async fn update_user(
        &self,
        client: &Client,
        claims: &Claims,
        update: UserUpdate,
    ) -> Result<User, AuthError> {
        self.limit_ip(Bucket::User, client)?;
        self.limit(Bucket::User, Key::User(claims.sub.clone()))?;
        if let Some(password) = &update.password {
            password::check_length(password)?;
        }
        let pool = &self.inner.store.pool;
        let user = self.user(&claims.sub).await?.ok_or_else(|| {
            AuthError::api(StatusCode::FORBIDDEN, "user_not_found", "User not found")
        })?;
        let sensitive = update.password.is_some() || update.email.is_some();
        if sensitive && claims.aal < Aal::Aal2 && self.has_verified_factor(&user.id).await? {
            return Err(AuthError::api(
                StatusCode::UNAUTHORIZED,
                "insufficient_aal",
                "AAL2 session is required to update email or password when MFA is enabled.",
            ));
        }
        let now = crate::now();
        let email = match update.email {
            Some(email) => {
                if !self.inner.config.autoconfirm {
                    return Err(AuthError::validation(
                        "Changing the e-mail address needs e-mail confirmation, which this server does not send yet",
                    ));
                }
                Some(normalise_email(&email)?)
            }
            None => None,
        };
        let password_hash = match update.password {
            Some(password) => {
                let password = password::normalise(&password);
                let same = match user.password_hash.clone() {
                    Some(hash) => self.inner.hasher.verify(password.clone(), hash).await?,
                    None => false,
                };
                if same {
                    return Err(AuthError::api(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "same_password",
                        "New password should be different from the old password.",
                    ));
                }
                password::check_strength(&password, self.inner.config.password_min_length)?;
                Some(self.inner.hasher.hash(password).await?)
            }
            None => None,
        };
        let metadata = match update.data {
            Some(Value::Object(changes)) => {
                let mut metadata = user.user_metadata();
                if let Value::Object(map) = &mut metadata {
                    map.extend(changes);
                }
                Some(metadata.to_string())
            }
            Some(Value::Null) | None => None,
            Some(_) => return Err(AuthError::validation("data must be an object")),
        };
        let mut tx = pool.begin().await?;
        if let Some(email) = &email {
            let changed =
                sqlx::query("UPDATE auth_users SET email = $1, updated_at = $2 WHERE id = $3")
                    .bind(email)
                    .bind(now)
                    .bind(&user.id)
                    .execute(&mut *tx)
                    .await;
            unless_conflict(changed, || {
                AuthError::api(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "email_exists",
                    "A user with this email address has already been registered",
                )
            })?;
        }
        if let Some(hash) = &password_hash {
            sqlx::query("UPDATE auth_users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(now)
                .bind(&user.id)
                .execute(&mut *tx)
                .await?;
            // Whoever knew the old password is signed out everywhere else.
            sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND id <> $2")
                .bind(&user.id)
                .bind(&claims.session_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(metadata) = &metadata {
            sqlx::query("UPDATE auth_users SET user_metadata = $1, updated_at = $2 WHERE id = $3")
                .bind(metadata)
                .bind(now)
                .bind(&user.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if password_hash.is_some() {
            self.revoked();
        }
        self.user(&user.id)
            .await?
            .ok_or_else(|| AuthError::internal("user vanished"))
    }

    /// A number that changes whenever this instance ends a session or changes a user's
    /// factors: a cache of verified sessions is valid only while it stays the same.
    ///
    /// ```no_run
    /// # fn f(auth: routekit_auth::AuthService) {
    /// let seen = auth.revocation_generation();
    /// // … later: if auth.revocation_generation() != seen, re-check cached sessions.
    /// # }
    /// ```
    pub fn revocation_generation(&self) -> u64 {
        self.inner
            .generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn revoked(&self) {
        self.inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Takes one request from a rate-limit bucket, or 429.
    pub(crate) fn limit(&self, bucket: Bucket, key: Key) -> Result<(), AuthError> {
        self.inner.limiter.check(bucket, key)
    }

    /// Takes one request from the client address's bucket (callers without an address have
    /// none, and are held to the per-user and per-account limits).
    pub(crate) fn limit_ip(&self, bucket: Bucket, client: &Client) -> Result<(), AuthError> {
        match client.ip() {
            Some(ip) => self.limit(bucket, Key::ip(ip)),
            None => Ok(()),
        }
    }

    /// The client of a request that arrived from `peer`: the peer itself, or, when the peer
    /// is a trusted proxy and [`AuthConfig::rate_limit_header`] is set, the right-most address
    /// in that header that no trusted proxy wrote.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService, headers: http::HeaderMap) {
    /// let client = auth.client(&headers, Some("127.0.0.1".parse().unwrap()));
    /// # }
    /// ```
    pub fn client(&self, headers: &http::HeaderMap, peer: Option<std::net::IpAddr>) -> Client {
        self.inner.resolver.resolve(headers, peer)
    }

    /// Whether the token's session still exists (not signed out or revoked) and belongs to
    /// the token's user: the session row, not the token, decides whose session it is.
    pub async fn session_exists(&self, claims: &Claims) -> Result<bool, AuthError> {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM auth_sessions WHERE id = $1")
                .bind(&claims.session_id)
                .fetch_optional(&self.inner.store.pool)
                .await?;
        Ok(owner.is_some_and(|owner| owner == claims.sub))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@example",
            "ann@.com",
            "an n@example.com",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
