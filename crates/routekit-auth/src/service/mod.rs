//! The GoTrue flows, as the auth service's Rust API: one module per flow (accounts, token
//! grants, MFA) on top of the store, the key ring and the codecs. The HTTP layer and the app
//! both call these.

mod accounts;
mod admin;
mod email;
mod mfa;
mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::client::{Client, ClientResolver};
use crate::config::AuthConfig;
use crate::error::{AuthError, ErrorCode};
use crate::factor::Standing;
use crate::jws::{Claims, JwtError};
use crate::keys::Keys;
use crate::password;
use crate::ratelimit::{Bucket, Key, Limiter};
use crate::refresh_token::RefreshCodec;
use crate::seal::SecretBox;
use crate::store::Store;
use crate::user::User;

pub use accounts::{SignUp, UserUpdate};
pub use admin::{AccountUpdate, Admin, Ban, DEFAULT_PER_PAGE, MAX_PER_PAGE, NewAccount, UsersPage};
pub use email::{MailOptions, Pkce, PkceMethod, Purged, Resend, Verified, VerifyType};
pub(crate) use email::{SINGLE_CONFIRMATION, unconfirmed_json};
pub use mfa::{Challenge, Enrollment};
pub use tokens::{SignOutScope, TokenResponse};

/// The embedded auth server's core, shared by its HTTP layer and by the app.
///
/// ```no_run
/// # async fn f() -> Result<(), routekit_auth::AuthError> {
/// use routekit_auth::{AuthConfig, AuthService, Client};
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
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    store: Store,
    keys: Keys,
    issuer: String,
    refresh: RefreshCodec,
    /// Encrypts TOTP secrets at rest.
    secret_box: SecretBox,
    limiter: Limiter,
    /// Every argon2 run, bounded.
    hasher: password::Hasher,
    resolver: ClientResolver,
    /// Bumped whenever a session ends or a user's factors change, so caches of verified
    /// sessions on this instance drop their entries at once.
    generation: AtomicU64,
    /// Verified for unknown e-mails, so they take as long as wrong passwords.
    dummy_hash: String,
    /// Renders and delivers mail (SMTP, or the development mailbox).
    mailer: crate::mailer::Mailer,
    /// How long sends take, for requests that must look as if they sent one.
    send_timing: email::SendTiming,
    /// Asked about the captcha token of sign-ups and password sign-ins, when configured.
    #[cfg(feature = "captcha")]
    captcha: Option<routekit_captcha::Captcha>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
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
        let fresh = URL_SAFE_NO_PAD.encode(crate::random_bytes::<32>()?);
        let refresh_key = store.secret("refresh_token_key", || fresh).await?;
        let refresh_key: [u8; 32] = URL_SAFE_NO_PAD
            .decode(refresh_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| AuthError::internal("stored refresh-token key is malformed"))?;
        #[cfg(feature = "captcha")]
        let captcha = config
            .captcha
            .clone()
            .map(routekit_captcha::Captcha::new)
            .transpose()
            .map_err(AuthError::internal)?;
        let mailer =
            crate::mailer::Mailer::new(&config).map_err(|e| AuthError::internal(e.to_string()))?;
        // Recovery and magic links mail even with auto-confirm on: say where that mail goes.
        if mailer.is_mailbox() {
            tracing::warn!(
                target: "routekit::auth",
                mailbox = %format!("{}/_routekit/mailbox", config.site_url),
                "no SMTP server configured (ROUTEKIT_AUTH_SMTP_HOST): mail is kept in the \
                 development mailbox, shown on this machine only, and not sent"
            );
        }
        let service = AuthService {
            inner: Arc::new(Inner {
                mailer,
                send_timing: email::SendTiming::new(),
                #[cfg(feature = "captcha")]
                captcha,
                dummy_hash: password::decoy()?,
                secret_box: SecretBox::load(&config)?,
                limiter: Limiter::new(config.rate_limits),
                hasher: password::Hasher::new(config.hash_concurrency, config.hash_queue),
                resolver: ClientResolver::new(
                    config.rate_limit_header.as_deref(),
                    &config.trusted_proxies,
                ),
                issuer: config.issuer(),
                refresh: RefreshCodec::new(refresh_key),
                config,
                store,
                keys,
                generation: AtomicU64::new(0),
            }),
        };
        service.purge_in_background();
        Ok(service)
    }

    /// Runs [`AuthService::purge_expired`] every ten minutes while the service is alive (the
    /// task holds it weakly, and ends when the last handle is dropped).
    fn purge_in_background(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(email::PURGE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let auth = AuthService { inner };
                if let Err(e) = auth.purge_expired().await {
                    tracing::warn!(target: "routekit::auth", error = %e, "purging expired tokens failed");
                }
            }
        });
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The signing keys (for rotation and the JWKS).
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// Whether mail goes to the development mailbox ([`Store::mailbox`]) because no SMTP
    /// server is configured.
    pub fn mails_to_mailbox(&self) -> bool {
        self.inner.mailer.is_mailbox()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The database the auth tables live in (`DATABASE_URL`), for the app's own tables: give
    /// it to `App::db` and run the app's migrations on it.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_db::DbError> {
    /// # /*
    /// static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    /// # */
    /// # static MIGRATIONS: routekit_db::sqlx::migrate::Migrator = routekit_db::sqlx::migrate::Migrator::DEFAULT;
    /// let db = auth.db();
    /// db.migrate(&MIGRATIONS).await?;
    /// # Ok(()) }
    /// ```
    pub fn db(&self) -> routekit_db::Db {
        self.inner.store.db().clone()
    }

    /// A user by id.
    pub async fn user(&self, id: &str) -> Result<Option<User>, AuthError> {
        Ok(self.store().user_by_id(id).await?)
    }

    /// A user this flow just wrote or checked.
    async fn existing_user(&self, id: &str) -> Result<User, AuthError> {
        self.user(id)
            .await?
            .ok_or_else(|| AuthError::internal("user vanished"))
    }

    /// Verifies an access token (signature, `exp`, `aud`, `iss`) without touching the
    /// database, except to reload the keys when the `kid` is unknown (another instance
    /// rotated).
    pub async fn verify_access_token(&self, token: &str) -> Result<Claims, JwtError> {
        let now = crate::now();
        let keys = &self.inner.keys;
        match keys.verify(token, &self.inner.issuer, now) {
            Err(JwtError::UnknownKey) if self.knows_kid_of(token).await => {
                keys.verify(token, &self.inner.issuer, now)
            }
            other => other,
        }
    }

    /// Whether the key that `token` names is one of ours, after re-reading the keys if need
    /// be (another instance may have rotated; see `Keys::knows`).
    async fn knows_kid_of(&self, token: &str) -> bool {
        match crate::jws::kid_of(token) {
            Some(kid) => self.inner.keys.knows(&kid).await,
            None => false,
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
            return Err(ErrorCode::SessionNotFound.into());
        }
        let user = self
            .user(&claims.sub)
            .await?
            .ok_or(ErrorCode::TokenUserNotFound)?;
        if user.is_banned(crate::now()) {
            return Err(ErrorCode::TokenUserBanned.into());
        }
        Ok(user)
    }

    /// Whether the token's session still exists (not signed out or revoked) and belongs to
    /// the token's user: the session row, not the token, decides whose session it is.
    pub async fn session_exists(&self, claims: &Claims) -> Result<bool, AuthError> {
        let owner = self.store().session_owner(&claims.session_id).await?;
        Ok(owner.is_some_and(|owner| owner == claims.sub))
    }

    /// What the store says of the token's user, if the token's session still exists, is the
    /// user's, and the user is not banned: the assurance level and `app_metadata.role`, read
    /// in two queries and never from the token. `None` means no session.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService, token: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// let claims = auth.verify_access_token(token).await?;
    /// let admin = auth
    ///     .standing(&claims)
    ///     .await?
    ///     .is_some_and(|s| s.has_role("super-admin"));
    /// # Ok(()) }
    /// ```
    pub async fn standing(&self, claims: &Claims) -> Result<Option<Standing>, AuthError> {
        let Some(row) = self
            .store()
            .standing(&claims.session_id, &claims.sub)
            .await?
        else {
            return Ok(None);
        };
        if row.banned_until.is_some_and(|until| until > crate::now()) {
            return Ok(None);
        }
        let verified = self.store().has_verified_factor(&claims.sub).await?;
        let app_metadata = serde_json::from_str(&row.app_metadata).unwrap_or_default();
        Ok(Some(Standing::new(
            claims.aal,
            verified,
            Standing::role_of(&app_metadata),
        )))
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
        self.inner.generation.load(Ordering::Acquire)
    }

    pub(crate) fn revoked(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Takes one request from a rate-limit bucket, or 429.
    pub(crate) fn limit(&self, bucket: Bucket, key: Key) -> Result<(), AuthError> {
        self.inner.limiter.check(bucket, key)
    }

    /// Takes one request from the client address's bucket (callers without an address have
    /// none, and are held to the per-user and per-account limits).
    /// With a captcha configured, the client's token must pass (GoTrue's 400
    /// `captcha_failed` when it is missing or refused; 503 when the provider cannot say).
    pub(crate) async fn check_captcha(&self, client: &Client) -> Result<(), AuthError> {
        #[cfg(feature = "captcha")]
        if let Some(captcha) = &self.inner.captcha {
            use routekit_captcha::CaptchaError;
            return match captcha
                .verify(client.captcha_token().unwrap_or_default(), client.ip())
                .await
            {
                Ok(()) => Ok(()),
                Err(CaptchaError::Missing) => Err(ErrorCode::CaptchaFailed.with_message(
                    "captcha protection: request disallowed (no captcha response (captcha_token) found in request)",
                )),
                Err(CaptchaError::Unavailable(why)) => Err(AuthError::Unavailable(why.into())),
                Err(_) => Err(ErrorCode::CaptchaFailed.into()),
            };
        }
        let _ = client;
        Ok(())
    }

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
}

/// Runs `f` on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AuthError::internal)
}
