//! TOTP multi-factor authentication: enroll, challenge, verify (upgrading the session to
//! `aal2` with a new session id), unenroll, and the lockout after wrong codes.

use super::AuthService;
use super::tokens::TokenResponse;
use crate::client::Client;
use crate::error::{AuthError, ErrorCode, unless_conflict};
use crate::factor::{AssuranceLevel, Factor, FactorStatus, FactorType};
use crate::jws::{Aal, Amr, AuthMethod, Claims};
use crate::lockout::lock_secs;
use crate::ratelimit::{Bucket, Key};
use crate::store::{ChallengeRow, NewFactor, Sessions};
use crate::totp::{self, MAX_NAME_BYTES};

/// Seconds a challenge stays open.
pub(crate) const CHALLENGE_TTL: i64 = 300;
/// Seconds an unverified factor is kept before it is garbage-collected.
const UNVERIFIED_TTL: i64 = 300;
/// Most factors a user may have.
const MAX_FACTORS: i64 = 10;
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

/// An open challenge.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Challenge {
    /// The challenge id.
    pub id: String,
    /// When it closes (unix seconds).
    pub expires_at: i64,
}

fn factor_id(id: &str) -> Result<(), AuthError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| ErrorCode::InvalidFactorId.into())
}

impl AuthService {
    /// The user's factors as GoTrue lists them (`id`, `friendly_name`, `factor_type`,
    /// `status`, times).
    pub async fn factors(&self, user_id: &str) -> Result<Vec<Factor>, AuthError> {
        Ok(self.store().factors(user_id).await?)
    }

    /// Whether the user has a verified factor (so an `aal1` session is not enough).
    pub async fn has_verified_factor(&self, user_id: &str) -> Result<bool, AuthError> {
        Ok(self.store().has_verified_factor(user_id).await?)
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
        let store = self.store();
        let now = crate::now();
        let user = store
            .user_by_id(&claims.sub)
            .await?
            .ok_or(ErrorCode::FactorNotFound)?;
        let count = store
            .count_factors_after_cleanup(&user.id, now - UNVERIFIED_TTL)
            .await?;
        if count >= MAX_FACTORS {
            return Err(ErrorCode::TooManyFactors.into());
        }
        if claims.aal < Aal::Aal2 && store.has_verified_factor(&user.id).await? {
            return Err(ErrorCode::InsufficientAalToEnroll.into());
        }
        let id = uuid::Uuid::new_v4().to_string();
        let secret = crate::random_bytes::<20>()?;
        let issuer = match issuer {
            Some(issuer) => issuer.to_owned(),
            None => totp::site_host(&self.inner.config.site_url),
        };
        let uri = totp::otpauth_uri(&issuer, &user.email, &secret);
        let qr_code = totp::qr_svg(&uri)
            .ok_or_else(|| AuthError::validation("friendly_name or issuer is too long"))?;
        let sealed = self.inner.secret_box.seal(&id, &secret)?;
        let inserted = store
            .insert_factor(&NewFactor {
                id: &id,
                user_id: &user.id,
                friendly_name: (!friendly_name.is_empty()).then_some(friendly_name),
                factor_type: FactorType::Totp,
                sealed_secret: &sealed,
                now,
            })
            .await;
        unless_conflict(inserted, || {
            ErrorCode::FactorNameConflict.with_message(format!(
                "A factor with the friendly name \"{friendly_name}\" for this user already exists"
            ))
        })?;
        Ok(Enrollment {
            id,
            friendly_name: friendly_name.to_owned(),
            secret: totp::base32(&secret),
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
        self::factor_id(factor_id)?;
        let store = self.store();
        if store.factor_status(factor_id, &claims.sub).await?.is_none() {
            return Err(ErrorCode::FactorNotFound.into());
        }
        let now = crate::now();
        let id = uuid::Uuid::new_v4().to_string();
        store
            .open_challenge(&id, factor_id, &client.binding(), now, now - CHALLENGE_TTL)
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
        self::factor_id(factor_id)?;
        let code = code.trim();
        if code.is_empty() {
            return Err(AuthError::validation("Code needs to be non-empty"));
        }
        let user = self.live_user(claims).await?;
        let store = self.store();
        let Some(ChallengeRow {
            ip,
            created_at,
            verified_at,
            secret: sealed,
            failed_attempts,
            locked_until,
        }) = store
            .challenge(challenge_id, factor_id, &claims.sub)
            .await?
        else {
            return Err(ErrorCode::ChallengeNotFound.into());
        };
        let now = crate::now();
        if verified_at.is_some() || (self.inner.config.mfa_bind_ip && ip != client.binding()) {
            return Err(ErrorCode::ChallengeMismatch.into());
        }
        if created_at + CHALLENGE_TTL < now {
            return Err(ErrorCode::ChallengeExpired.into());
        }
        self.claim_attempt(factor_id, failed_attempts, locked_until, now)
            .await?;
        let secret = self.inner.secret_box.open(factor_id, &sealed)?;
        // Accept a step only if it is later than every step accepted before: replays of this
        // code, even against a new challenge, find the row already moved on.
        let accepted = match totp::matching_step(&secret, code, now) {
            Some(step) => store.accept_step(factor_id, step, now).await?,
            None => false,
        };
        if !accepted {
            return Err(ErrorCode::VerificationFailed.into());
        }
        if !store.close_challenge(challenge_id, now).await? {
            return Err(ErrorCode::ChallengeMismatch.with_message("The challenge was already used"));
        }
        // Other unfinished TOTP enrollments of this user are dropped.
        store
            .delete_unverified_factors(&claims.sub, FactorType::Totp)
            .await?;
        let mut amr = store
            .session_amr(&claims.session_id, &claims.sub)
            .await?
            .ok_or(ErrorCode::SessionNotFound)?;
        amr.retain(|a| a.method != AuthMethod::Totp);
        amr.push(Amr {
            method: AuthMethod::Totp,
            timestamp: now,
        });
        // The level changed: a new session id, and the aal1 sessions (this one included) end.
        store
            .end_sessions(&claims.sub, Sessions::ThisAndAal1(&claims.session_id))
            .await?;
        self.revoked();
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
        let store = self.store();
        let factor = store
            .verified_factor(&claims.sub, FactorType::Totp)
            .await?
            .ok_or(ErrorCode::FactorNotFound)?;
        let challenge = self.challenge(client, claims, &factor).await?;
        let verified = self
            .verify_totp(client, claims, &factor, &challenge.id, code)
            .await;
        if verified.is_err() {
            store.delete_challenge(&challenge.id).await?;
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
        let store = self.store();
        loop {
            if let Some(until) = locked_until.filter(|until| *until > now) {
                return Err(AuthError::RateLimited {
                    retry_after: (until - now) as u64,
                });
            }
            let lock = lock_secs(failed + 1).map(|secs| now + secs);
            if store
                .count_attempt(factor_id, failed, lock.or(locked_until))
                .await?
            {
                return Ok(());
            }
            // Another attempt got there first: count this one after it.
            (failed, locked_until) = store
                .attempts(factor_id)
                .await?
                .ok_or(ErrorCode::FactorNotFound)?;
        }
    }

    /// Removes a factor. A verified one needs an `aal2` session; when the user has no verified
    /// factor left, their `aal2` sessions drop back to `aal1` (their current access tokens say
    /// `aal2` until they are refreshed).
    pub async fn unenroll(&self, claims: &Claims, factor_id: &str) -> Result<String, AuthError> {
        self::factor_id(factor_id)?;
        let store = self.store();
        let status = store
            .factor_status(factor_id, &claims.sub)
            .await?
            .ok_or(ErrorCode::FactorNotFound)?;
        if status == FactorStatus::Verified && claims.aal < Aal::Aal2 {
            return Err(ErrorCode::InsufficientAalToUnenroll.into());
        }
        store.delete_factor(factor_id).await?;
        if !store.has_verified_factor(&claims.sub).await? {
            store
                .downgrade_sessions(&claims.sub, &AuthMethod::Totp, crate::now())
                .await?;
        }
        self.revoked();
        Ok(factor_id.to_owned())
    }
}
