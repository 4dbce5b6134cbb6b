//! TOTP multi-factor authentication (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step): enroll,
//! challenge, verify (upgrading the session to `aal2` with a new session id), unenroll.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use http::StatusCode;
use serde_json::{Value, json};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::client::Client;
use crate::config::AuthConfig;
use crate::error::{AuthError, unless_conflict};
use crate::jwt::{Aal, Amr, Claims};
use crate::ratelimit::{Bucket, Key};
use crate::service::{AuthService, TokenResponse, random_bytes};
use crate::user::rfc3339;

/// Seconds a TOTP code covers.
const PERIOD: i64 = 30;
/// Seconds a challenge stays open.
pub(crate) const CHALLENGE_TTL: i64 = 300;
/// Seconds an unverified factor is kept before it is garbage-collected.
const UNVERIFIED_TTL: i64 = 300;
/// Most factors a user may have.
const MAX_FACTORS: i64 = 10;
/// Failed codes in a row after which a factor is locked.
const MAX_FAILED_CODES: i64 = 5;
/// The first lock, in seconds; each further failure doubles it, up to [`MAX_LOCK`].
const FIRST_LOCK: i64 = 30;
/// The longest lock, in seconds.
const MAX_LOCK: i64 = 15 * 60;
/// Longest friendly name and issuer, in bytes: the `otpauth://` URI must fit in a QR code.
const MAX_NAME_BYTES: usize = 128;

/// How long a factor stays locked after its `failures`-th failed code in a row: nothing
/// before [`MAX_FAILED_CODES`], then 30 s, 60 s, 120 s, … up to 15 minutes. Five guesses per
/// lock make a six-digit code (three valid at a time) a matter of years, not hours.
fn lock_secs(failures: i64) -> Option<i64> {
    let over = failures - MAX_FAILED_CODES;
    (over >= 0).then(|| (FIRST_LOCK << over.min(10)).min(MAX_LOCK))
}

/// The key TOTP secrets are encrypted with before they reach the database
/// (XChaCha20-Poly1305, the factor id as associated data, so a ciphertext cannot be moved to
/// another row).
pub(crate) struct SecretBox {
    key: [u8; 32],
}

impl SecretBox {
    /// `ROUTEKIT_AUTH_ENCRYPTION_KEY` (32 bytes, base64url), or a key file next to the SQLite
    /// database (`auth.key`, created with mode 0600) — never in the database itself.
    pub(crate) fn load(config: &AuthConfig) -> Result<SecretBox, AuthError> {
        if let Some(key) = &config.encryption_key {
            let key: [u8; 32] = URL_SAFE_NO_PAD
                .decode(key.trim())
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| {
                    AuthError::internal(
                        "ROUTEKIT_AUTH_ENCRYPTION_KEY must be 32 bytes of base64url",
                    )
                })?;
            return Ok(SecretBox { key });
        }
        let path = key_file(config);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let key = URL_SAFE_NO_PAD
                .decode(text.trim())
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| {
                    AuthError::internal(format!("{} is not a valid key file", path.display()))
                })?;
            return Ok(SecretBox { key });
        }
        let key = random_bytes::<32>()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(AuthError::internal)?;
        }
        write_private(&path, URL_SAFE_NO_PAD.encode(key).as_bytes())?;
        tracing::info!(target: "routekit::auth", path = %path.display(), "created the MFA encryption key file");
        Ok(SecretBox { key })
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }

    pub(crate) fn seal(&self, factor_id: &str, secret: &[u8]) -> Result<String, AuthError> {
        let nonce = random_bytes::<24>()?;
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: factor_id.as_bytes(),
                },
            )
            .map_err(|_| AuthError::internal("encryption failed"))?;
        Ok(format!(
            "v1.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    pub(crate) fn open(&self, factor_id: &str, sealed: &str) -> Result<Vec<u8>, AuthError> {
        let fail = || AuthError::internal("a stored MFA secret cannot be decrypted (wrong key?)");
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(nonce), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(fail());
        };
        let nonce: [u8; 24] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(fail)?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| fail())?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &body,
                    aad: factor_id.as_bytes(),
                },
            )
            .map_err(|_| fail())
    }
}

fn key_file(config: &AuthConfig) -> PathBuf {
    if let Some(path) = config.database_url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = Path::new(file).parent() {
            return dir.join("auth.key");
        }
    }
    PathBuf::from("data/auth.key")
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), AuthError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(AuthError::internal)?;
    file.write_all(contents).map_err(AuthError::internal)
}

/// RFC 4648 base32 without padding, as authenticator apps expect (data-encoding's
/// `BASE32_NOPAD`).
///
/// ```
/// assert_eq!(routekit_auth::base32(b"foobar"), "MZXW6YTBOI");
/// ```
pub fn base32(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

/// Decodes RFC 4648 base32 (upper case, no padding), as [`base32`] writes it; `None` for
/// anything else.
///
/// ```
/// let secret = routekit_auth::base32_decode("MZXW6YTBOI").unwrap();
/// assert_eq!(secret, b"foobar");
/// assert_eq!(routekit_auth::base32_decode("mzxw6ytboi"), None);
/// ```
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    data_encoding::BASE32_NOPAD.decode(text.as_bytes()).ok()
}

/// The 6-digit TOTP code of `secret` for time step `step` (RFC 6238 with SHA-1).
///
/// ```
/// // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" at T = 59 s.
/// assert_eq!(routekit_auth::totp(b"12345678901234567890", 59 / 30), "287082");
/// ```
pub fn totp(secret: &[u8], step: i64) -> String {
    let mut mac =
        <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let code = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!("{:06}", code % 1_000_000)
}

/// A new TOTP factor: what an authenticator app needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Enrollment {
    /// The factor id.
    pub id: String,
    /// The name the user gave it.
    pub friendly_name: String,
    /// The secret, base32.
    pub secret: String,
    /// `otpauth://totp/…`.
    pub uri: String,
    /// The URI as an SVG QR code.
    pub qr_code: String,
}

/// A session's authenticator assurance level, as `getAuthenticatorAssuranceLevel()` reports
/// it, but decided on the server.
///
/// ```
/// use routekit_auth::{Aal, AssuranceLevel};
///
/// assert!(AssuranceLevel::new(Aal::Aal1, true).requires_mfa());
/// assert!(!AssuranceLevel::new(Aal::Aal2, true).requires_mfa());
/// assert!(!AssuranceLevel::new(Aal::Aal1, false).requires_mfa());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssuranceLevel {
    /// The token's `aal`.
    pub current: Aal,
    /// `aal2` if the user has a verified factor, else `current`.
    pub next: Aal,
}

impl AssuranceLevel {
    /// The level of a session at `current` whose user has (or has not) a verified factor:
    /// the one rule, for the embedded server and Supabase mode alike.
    pub fn new(current: Aal, has_verified_factor: bool) -> Self {
        let next = if has_verified_factor {
            Aal::Aal2
        } else {
            current
        };
        AssuranceLevel { current, next }
    }

    /// Whether the session must verify a factor before it may proceed (Makerkit's
    /// `checkRequiresMultiFactorAuthentication`).
    pub fn requires_mfa(&self) -> bool {
        self.current < self.next
    }
}

/// One of a user's MFA factors, as `GET /user` lists it.
///
/// ```
/// # fn f(factors: Vec<routekit_auth::Factor>) {
/// let has_totp = factors.iter().any(|f| f.is_verified());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Factor {
    /// The factor id.
    pub id: String,
    /// The name the user gave it (empty when none).
    pub friendly_name: String,
    /// What kind of factor.
    pub factor_type: FactorType,
    /// Whether it was ever verified; unverified factors never count.
    pub status: FactorStatus,
    /// When it was enrolled (unix seconds).
    pub created_at: i64,
    /// When it last changed (unix seconds).
    pub updated_at: i64,
    /// When it was last challenged (unix seconds).
    pub last_challenged_at: Option<i64>,
}

impl Factor {
    /// Whether it counts for the MFA rule.
    pub fn is_verified(&self) -> bool {
        self.status == FactorStatus::Verified
    }

    /// The factor as GoTrue's JSON lists it (times in RFC 3339).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "friendly_name": self.friendly_name,
            "factor_type": self.factor_type.as_str(),
            "status": self.status.as_str(),
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "last_challenged_at": self.last_challenged_at.map_or(Value::Null, rfc3339),
            "phone": "",
        })
    }
}

/// The kind of an MFA factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactorType {
    /// A time-based one-time password (RFC 6238).
    Totp,
}

impl FactorType {
    /// `"totp"`, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorType::Totp => "totp",
        }
    }

    fn from_db(text: &str) -> Result<Self, AuthError> {
        match text {
            "totp" => Ok(FactorType::Totp),
            other => Err(AuthError::internal(format!("stored factor type {other:?}"))),
        }
    }
}

/// Whether a factor was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactorStatus {
    /// Enrolled, never verified: it does not count.
    Unverified,
    /// Verified with a right code at least once.
    Verified,
}

impl FactorStatus {
    /// `"unverified"` or `"verified"`, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorStatus::Unverified => "unverified",
            FactorStatus::Verified => "verified",
        }
    }

    fn from_db(text: &str) -> Result<Self, AuthError> {
        match text {
            "unverified" => Ok(FactorStatus::Unverified),
            "verified" => Ok(FactorStatus::Verified),
            other => Err(AuthError::internal(format!(
                "stored factor status {other:?}"
            ))),
        }
    }
}

/// An open challenge.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Challenge {
    /// The challenge id.
    pub id: String,
    /// When it closes (unix seconds).
    pub expires_at: i64,
}

fn not_found() -> AuthError {
    AuthError::api(
        StatusCode::NOT_FOUND,
        "mfa_factor_not_found",
        "Factor not found",
    )
}

fn uuid_or(id: &str, status: StatusCode) -> Result<(), AuthError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| AuthError::api(status, "validation_failed", "factor_id must be an UUID"))
}

/// What the `otpauth://` URI leaves as it is in a label or parameter: RFC 3986's unreserved
/// characters and `@` (authenticator apps show `ann@example.com`); everything else is
/// percent-encoded.
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

fn percent(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, URI_COMPONENT).to_string()
}

#[derive(sqlx::FromRow)]
struct FactorRow {
    id: String,
    friendly_name: Option<String>,
    factor_type: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    last_challenged_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ChallengeRow {
    ip: String,
    created_at: i64,
    verified_at: Option<i64>,
    secret: String,
    failed_attempts: i64,
    locked_until: Option<i64>,
}

impl AuthService {
    /// The user's factors as GoTrue lists them (`id`, `friendly_name`, `factor_type`,
    /// `status`, times).
    pub async fn factors(&self, user_id: &str) -> Result<Vec<Factor>, AuthError> {
        let rows: Vec<FactorRow> = sqlx::query_as(
            "SELECT id, friendly_name, factor_type, status, created_at, updated_at, \
             last_challenged_at FROM auth_factors WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.inner.store.pool)
        .await?;
        rows.into_iter()
            .map(|f| {
                Ok(Factor {
                    factor_type: FactorType::from_db(&f.factor_type)?,
                    status: FactorStatus::from_db(&f.status)?,
                    id: f.id,
                    friendly_name: f.friendly_name.unwrap_or_default(),
                    created_at: f.created_at,
                    updated_at: f.updated_at,
                    last_challenged_at: f.last_challenged_at,
                })
            })
            .collect()
    }

    /// Whether the user has a verified factor (so an `aal1` session is not enough).
    pub async fn has_verified_factor(&self, user_id: &str) -> Result<bool, AuthError> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM auth_factors WHERE user_id = $1 AND status = 'verified' LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&self.inner.store.pool)
        .await?;
        Ok(found.is_some())
    }

    /// The session's assurance level and the level it should reach: `next` is `aal2` when
    /// the user has a verified factor, read from the database, never from a client's copy of
    /// the user (supabase/supabase#11771).
    pub async fn assurance_level(&self, claims: &Claims) -> Result<AssuranceLevel, AuthError> {
        let verified = self.has_verified_factor(&claims.sub).await?;
        Ok(AssuranceLevel::new(claims.aal, verified))
    }

    /// Starts a TOTP enrollment. A user who already has a verified factor needs an `aal2`
    /// session to add another.
    pub async fn enroll_totp(
        &self,
        claims: &Claims,
        friendly_name: Option<&str>,
        issuer: Option<&str>,
    ) -> Result<Enrollment, AuthError> {
        let friendly_name = friendly_name.unwrap_or_default();
        let issuer = issuer.filter(|i| !i.is_empty());
        // Everything that can refuse the request is checked before any row is written.
        if friendly_name.len() > MAX_NAME_BYTES || issuer.is_some_and(|i| i.len() > MAX_NAME_BYTES)
        {
            return Err(AuthError::validation(format!(
                "friendly_name and issuer cannot be longer than {MAX_NAME_BYTES} bytes"
            )));
        }
        if friendly_name.chars().any(char::is_control)
            || issuer.is_some_and(|i| i.chars().any(char::is_control))
        {
            return Err(AuthError::validation(
                "friendly_name and issuer cannot contain control characters",
            ));
        }
        let pool = &self.inner.store.pool;
        let now = crate::now();
        let user = self.user(&claims.sub).await?.ok_or_else(not_found)?;
        // Garbage: unverified factors nobody finished enrolling.
        sqlx::query("DELETE FROM auth_factors WHERE user_id = $1 AND status = 'unverified' AND created_at < $2")
            .bind(&user.id)
            .bind(now - UNVERIFIED_TTL)
            .execute(pool)
            .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_factors WHERE user_id = $1")
            .bind(&user.id)
            .fetch_one(pool)
            .await?;
        if count >= MAX_FACTORS {
            return Err(AuthError::api(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_enrolled_mfa_factors",
                "Maximum number of enrolled factors reached",
            ));
        }
        if claims.aal < Aal::Aal2 && self.has_verified_factor(&user.id).await? {
            return Err(AuthError::api(
                StatusCode::FORBIDDEN,
                "insufficient_aal",
                "AAL2 required to enroll a new factor",
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let secret = random_bytes::<20>()?;
        let issuer = match issuer {
            Some(issuer) => issuer.to_owned(),
            None => site_host(&self.inner.config.site_url),
        };
        let encoded = base32(&secret);
        let uri = format!(
            "otpauth://totp/{}:{}?secret={encoded}&issuer={}&algorithm=SHA1&digits=6&period=30",
            percent(&issuer),
            percent(&user.email),
            percent(&issuer),
        );
        let qr_code = qrcode::QrCode::new(uri.as_bytes())
            .map_err(|_| AuthError::validation("friendly_name or issuer is too long"))?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        let sealed = self.inner.secret_box.seal(&id, &secret)?;
        let inserted = sqlx::query(
            "INSERT INTO auth_factors (id, user_id, friendly_name, factor_type, status, secret, \
             last_used_step, created_at, updated_at, last_challenged_at) \
             VALUES ($1, $2, $3, 'totp', 'unverified', $4, NULL, $5, $5, NULL)",
        )
        .bind(&id)
        .bind(&user.id)
        .bind((!friendly_name.is_empty()).then_some(friendly_name))
        .bind(sealed)
        .bind(now)
        .execute(pool)
        .await;
        unless_conflict(inserted, || {
            AuthError::api(
                StatusCode::UNPROCESSABLE_ENTITY,
                "mfa_factor_name_conflict",
                format!(
                    "A factor with the friendly name \"{friendly_name}\" for this user already exists"
                ),
            )
        })?;
        Ok(Enrollment {
            id,
            friendly_name: friendly_name.to_owned(),
            secret: encoded,
            uri,
            qr_code,
        })
    }

    /// Opens a challenge for one of the caller's factors, bound to the caller's IP.
    /// Challenges are rate-limited per client address and per user; the factor's expired and
    /// used challenges are deleted.
    pub async fn challenge(
        &self,
        client: &Client,
        claims: &Claims,
        factor_id: &str,
    ) -> Result<Challenge, AuthError> {
        self.limit_ip(Bucket::Challenge, client)?;
        self.limit(Bucket::Challenge, Key::User(claims.sub.clone()))?;
        uuid_or(factor_id, StatusCode::NOT_FOUND)?;
        let pool = &self.inner.store.pool;
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM auth_factors WHERE id = $1 AND user_id = $2")
                .bind(factor_id)
                .bind(&claims.sub)
                .fetch_optional(pool)
                .await?;
        if owned.is_none() {
            return Err(not_found());
        }
        let now = crate::now();
        sqlx::query(
            "DELETE FROM auth_mfa_challenges WHERE factor_id = $1 \
             AND (verified_at IS NOT NULL OR created_at < $2)",
        )
        .bind(factor_id)
        .bind(now - CHALLENGE_TTL)
        .execute(pool)
        .await?;
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO auth_mfa_challenges (id, factor_id, ip, created_at, verified_at) VALUES ($1, $2, $3, $4, NULL)")
            .bind(&id)
            .bind(factor_id)
            .bind(client.binding())
            .bind(now)
            .execute(pool)
            .await?;
        sqlx::query("UPDATE auth_factors SET last_challenged_at = $1 WHERE id = $2")
            .bind(now)
            .bind(factor_id)
            .execute(pool)
            .await?;
        Ok(Challenge {
            id,
            expires_at: now + CHALLENGE_TTL,
        })
    }

    /// Checks a TOTP code against a challenge. On success the factor is verified and the
    /// caller gets a **new** `aal2` session (new id and refresh token); the old session and
    /// the user's other `aal1` sessions end. A code is accepted once, ever: a later
    /// challenge cannot reuse it.
    ///
    /// Nothing is tried for a session that has ended or a banned user. Attempts are
    /// rate-limited per client address and per user, and after five wrong codes in a row the
    /// factor is locked (429 with `Retry-After`) for 30 s, doubling with each further failure
    /// up to 15 minutes; a right code resets the count.
    pub async fn verify_totp(
        &self,
        client: &Client,
        claims: &Claims,
        factor_id: &str,
        challenge_id: &str,
        code: &str,
    ) -> Result<TokenResponse, AuthError> {
        self.limit_ip(Bucket::Verify, client)?;
        self.limit(Bucket::Verify, Key::User(claims.sub.clone()))?;
        uuid_or(factor_id, StatusCode::NOT_FOUND)?;
        let code = code.trim();
        if code.is_empty() {
            return Err(AuthError::validation("Code needs to be non-empty"));
        }
        self.live_user(claims).await?;
        let pool = &self.inner.store.pool;
        let unprocessable = |code: &'static str, message: &'static str| {
            AuthError::api(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        };
        let row: Option<ChallengeRow> = sqlx::query_as(
            "SELECT c.ip, c.created_at, c.verified_at, f.secret, f.failed_attempts, \
             f.locked_until \
             FROM auth_mfa_challenges c JOIN auth_factors f ON f.id = c.factor_id \
             WHERE c.id = $1 AND f.id = $2 AND f.user_id = $3",
        )
        .bind(challenge_id)
        .bind(factor_id)
        .bind(&claims.sub)
        .fetch_optional(pool)
        .await?;
        let Some(ChallengeRow {
            ip: challenge_ip,
            created_at,
            verified_at,
            secret: sealed,
            failed_attempts,
            locked_until,
        }) = row
        else {
            return Err(unprocessable(
                "mfa_factor_not_found",
                "MFA factor with the provided challenge ID not found",
            ));
        };
        let now = crate::now();
        if verified_at.is_some()
            || (self.inner.config.mfa_bind_ip && challenge_ip != client.binding())
        {
            return Err(unprocessable(
                "mfa_ip_address_mismatch",
                "Challenge and verify IP addresses mismatch, or the challenge was already used",
            ));
        }
        if created_at + CHALLENGE_TTL < now {
            return Err(unprocessable(
                "mfa_challenge_expired",
                "MFA challenge has expired, verify against another challenge",
            ));
        }
        self.claim_attempt(factor_id, failed_attempts, locked_until, now)
            .await?;
        let secret = self.inner.secret_box.open(factor_id, &sealed)?;
        let current = now / PERIOD;
        let matched = [current - 1, current, current + 1]
            .into_iter()
            .filter(|step| bool::from(totp(&secret, *step).as_bytes().ct_eq(code.as_bytes())))
            .max();
        let Some(step) = matched else {
            return Err(unprocessable(
                "mfa_verification_failed",
                "Invalid TOTP code entered",
            ));
        };
        // Accept a step only if it is later than every step accepted before: replays of this
        // code, even against a new challenge, find the row already moved on.
        let accepted = sqlx::query(
            "UPDATE auth_factors SET last_used_step = $1, status = 'verified', updated_at = $2, \
             failed_attempts = 0, locked_until = NULL \
             WHERE id = $3 AND (last_used_step IS NULL OR last_used_step < $1)",
        )
        .bind(step)
        .bind(now)
        .bind(factor_id)
        .execute(pool)
        .await?;
        if accepted.rows_affected() != 1 {
            return Err(unprocessable(
                "mfa_verification_failed",
                "Invalid TOTP code entered",
            ));
        }
        let closed = sqlx::query(
            "UPDATE auth_mfa_challenges SET verified_at = $1 WHERE id = $2 AND verified_at IS NULL",
        )
        .bind(now)
        .bind(challenge_id)
        .execute(pool)
        .await?;
        if closed.rows_affected() != 1 {
            return Err(unprocessable(
                "mfa_ip_address_mismatch",
                "The challenge was already used",
            ));
        }
        // Other unfinished TOTP enrollments of this user are dropped.
        sqlx::query("DELETE FROM auth_factors WHERE user_id = $1 AND status = 'unverified' AND factor_type = 'totp'")
            .bind(&claims.sub)
            .execute(pool)
            .await?;
        let amr_json: Option<String> =
            sqlx::query_scalar("SELECT amr FROM auth_sessions WHERE id = $1 AND user_id = $2")
                .bind(&claims.session_id)
                .bind(&claims.sub)
                .fetch_optional(pool)
                .await?;
        let mut amr: Vec<Amr> = match amr_json {
            Some(json) => serde_json::from_str(&json).map_err(AuthError::internal)?,
            None => {
                return Err(AuthError::api(
                    StatusCode::FORBIDDEN,
                    "session_not_found",
                    "Session from session_id claim in JWT does not exist",
                ));
            }
        };
        amr.retain(|a| a.method != "totp");
        amr.push(Amr {
            method: "totp".to_owned(),
            timestamp: now,
        });
        // The level changed: a new session id, and the aal1 sessions (this one included) end.
        sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND (id = $2 OR aal = 'aal1')")
            .bind(&claims.sub)
            .bind(&claims.session_id)
            .execute(pool)
            .await?;
        self.revoked();
        let user = self.user(&claims.sub).await?.ok_or_else(not_found)?;
        self.insert_session(user, Aal::Aal2, amr, now).await
    }

    /// The second step of a sign-in in one call, for server-rendered pages: opens a challenge
    /// on the user's verified TOTP factor for this client and checks `code` against it, under
    /// the same limits and lockout as [`AuthService::verify_totp`]. A failed challenge is
    /// deleted at once. 404 `mfa_factor_not_found` when the user has no verified factor.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService, claims: routekit_auth::Claims) -> Result<(), routekit_auth::AuthError> {
    /// let client = routekit_auth::Client::unknown();
    /// let aal2 = auth.verify_totp_code(&client, &claims, "123456").await?;
    /// # Ok(()) }
    /// ```
    pub async fn verify_totp_code(
        &self,
        client: &Client,
        claims: &Claims,
        code: &str,
    ) -> Result<TokenResponse, AuthError> {
        self.live_user(claims).await?;
        let factor: Option<String> = sqlx::query_scalar(
            "SELECT id FROM auth_factors WHERE user_id = $1 AND status = 'verified' \
             AND factor_type = 'totp' ORDER BY created_at, id LIMIT 1",
        )
        .bind(&claims.sub)
        .fetch_optional(&self.inner.store.pool)
        .await?;
        let factor = factor.ok_or_else(not_found)?;
        let challenge = self.challenge(client, claims, &factor).await?;
        let verified = self
            .verify_totp(client, claims, &factor, &challenge.id, code)
            .await;
        if verified.is_err() {
            sqlx::query("DELETE FROM auth_mfa_challenges WHERE id = $1")
                .bind(&challenge.id)
                .execute(&self.inner.store.pool)
                .await?;
        }
        verified
    }

    /// Counts an attempt on a factor before its code is compared, as a failure until the code
    /// proves right (which resets the count), so concurrent guesses cannot slip in before the
    /// lock. The count moves by compare-and-swap: every attempt is counted once.
    async fn claim_attempt(
        &self,
        factor_id: &str,
        mut failed: i64,
        mut locked_until: Option<i64>,
        now: i64,
    ) -> Result<(), AuthError> {
        let pool = &self.inner.store.pool;
        loop {
            if let Some(until) = locked_until.filter(|until| *until > now) {
                return Err(AuthError::RateLimited {
                    retry_after: (until - now) as u64,
                });
            }
            let lock = lock_secs(failed + 1).map(|secs| now + secs);
            let claimed = sqlx::query(
                "UPDATE auth_factors SET failed_attempts = $1, locked_until = $2 \
                 WHERE id = $3 AND failed_attempts = $4",
            )
            .bind(failed + 1)
            .bind(lock.or(locked_until))
            .bind(factor_id)
            .bind(failed)
            .execute(pool)
            .await?;
            if claimed.rows_affected() == 1 {
                return Ok(());
            }
            // Another attempt got there first: count this one after it.
            let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT failed_attempts, locked_until FROM auth_factors WHERE id = $1",
            )
            .bind(factor_id)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else {
                return Err(not_found());
            };
            (failed, locked_until) = row;
        }
    }

    /// Removes a factor. A verified one needs an `aal2` session; when the user has no verified
    /// factor left, their `aal2` sessions drop back to `aal1` (their current access tokens say
    /// `aal2` until they are refreshed).
    pub async fn unenroll(&self, claims: &Claims, factor_id: &str) -> Result<String, AuthError> {
        uuid_or(factor_id, StatusCode::NOT_FOUND)?;
        let pool = &self.inner.store.pool;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM auth_factors WHERE id = $1 AND user_id = $2")
                .bind(factor_id)
                .bind(&claims.sub)
                .fetch_optional(pool)
                .await?;
        let Some(status) = status else {
            return Err(not_found());
        };
        if status == "verified" && claims.aal < Aal::Aal2 {
            return Err(AuthError::api(
                StatusCode::UNPROCESSABLE_ENTITY,
                "insufficient_aal",
                "AAL2 required to unenroll verified factor",
            ));
        }
        sqlx::query("DELETE FROM auth_factors WHERE id = $1")
            .bind(factor_id)
            .execute(pool)
            .await?;
        if !self.has_verified_factor(&claims.sub).await? {
            let sessions: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, amr FROM auth_sessions WHERE user_id = $1 AND aal = 'aal2'",
            )
            .bind(&claims.sub)
            .fetch_all(pool)
            .await?;
            for (id, amr) in sessions {
                let mut amr: Vec<Amr> = serde_json::from_str(&amr).map_err(AuthError::internal)?;
                amr.retain(|a| a.method != "totp");
                sqlx::query("UPDATE auth_sessions SET aal = 'aal1', amr = $1, updated_at = $2 WHERE id = $3")
                    .bind(serde_json::to_string(&amr).map_err(AuthError::internal)?)
                    .bind(crate::now())
                    .bind(&id)
                    .execute(pool)
                    .await?;
            }
        }
        self.revoked();
        Ok(factor_id.to_owned())
    }
}

/// The host of the site URL, the default TOTP issuer (as GoTrue).
fn site_host(site_url: &str) -> String {
    let rest = site_url.split_once("://").map_or(site_url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors() {
        // Appendix B (SHA-1), truncated to six digits.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp(secret, t / 30), code, "T = {t}");
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(&[0u8; 20]).len(), 32);
    }

    #[test]
    fn sealed_secrets_open_only_for_their_row() {
        let b = SecretBox { key: [7; 32] };
        let sealed = b.seal("factor-a", b"secret").unwrap();
        assert_eq!(b.open("factor-a", &sealed).unwrap(), b"secret");
        assert!(b.open("factor-b", &sealed).is_err());
        assert!(
            SecretBox { key: [8; 32] }
                .open("factor-a", &sealed)
                .is_err()
        );
        assert!(!sealed.contains("secret"));
    }

    #[test]
    fn locks_start_after_five_failures_and_double_up_to_fifteen_minutes() {
        let locks: Vec<Option<i64>> = (1..=12).map(lock_secs).collect();
        assert_eq!(&locks[..4], &[None, None, None, None]);
        assert_eq!(
            &locks[4..],
            &[
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(480),
                Some(900),
                Some(900),
                Some(900)
            ]
        );
        assert_eq!(lock_secs(1_000), Some(900));
    }

    #[test]
    fn the_issuer_defaults_to_the_site_host() {
        assert_eq!(site_host("https://app.example.com/x"), "app.example.com");
        assert_eq!(site_host("http://127.0.0.1:3000"), "127.0.0.1");
    }
}
