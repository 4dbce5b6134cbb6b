//! Token grants: password sign-in, refresh with GoTrue's reuse rules, sign-out, and the one
//! place sessions are created and their tokens issued.

use serde_json::{Value, json};

use super::AuthService;
use crate::client::Client;
use crate::error::{AuthError, ErrorCode};
use crate::factor::Factor;
use crate::jws::{Aal, Amr, AuthMethod, Claims};
use crate::password;
use crate::ratelimit::{Bucket, Key};
use crate::refresh_token::{RefreshCodec, RefreshTokenError};
use crate::store::{NewSession, SessionRow, Sessions};
use crate::user::User;

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
    pub factors: Vec<Factor>,
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

impl AuthService {
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
        self.check_captcha(client).await?;
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
        let store = self.store();
        let user = store.user_by_email(&email).await?;
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
            return Err(ErrorCode::EmailNotConfirmed.into());
        }
        if user.is_banned(now) {
            return Err(ErrorCode::UserBanned.into());
        }
        store.record_sign_in(&user.id, now).await?;
        let user = self.existing_user(&user.id).await?;
        let mut session = self.create_session(user, AuthMethod::Password, now).await?;
        if let Err(AuthError::Api { weak_password, .. }) =
            password::check_strength(&password, self.inner.config.password_min_length)
        {
            session.weak_password = weak_password;
        }
        Ok(session)
    }

    /// A new `aal1` session for a user who just authenticated with `method`.
    pub(crate) async fn create_session(
        &self,
        user: User,
        method: AuthMethod,
        now: i64,
    ) -> Result<TokenResponse, AuthError> {
        let amr = vec![Amr {
            method,
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
        let token = self.inner.refresh.encode(&id, 0);
        let session_id = id.to_string();
        self.store()
            .insert_session(&NewSession {
                id: &session_id,
                user_id: &user.id,
                aal,
                amr: &amr,
                refresh_hash: &RefreshCodec::digest(&token),
                now,
            })
            .await?;
        self.issue(user, &session_id, aal, amr, token, now).await
    }

    /// Signs an access token for a session and answers with both tokens.
    async fn issue(
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
        let codec = &self.inner.refresh;
        let (session_id, counter) = codec.decode(token).map_err(|e| match e {
            RefreshTokenError::Malformed => AuthError::validation("Refresh token is not valid"),
            RefreshTokenError::Forged => ErrorCode::RefreshTokenNotFound.into(),
        })?;
        let store = self.store();
        let id = session_id.to_string();
        loop {
            let Some(SessionRow {
                user_id,
                aal,
                amr,
                refresh_counter: current,
                refresh_hash,
                refreshed_at,
            }) = store.session(&id).await?
            else {
                return Err(ErrorCode::RefreshTokenNotFound.into());
            };
            let now = crate::now();
            let user = store
                .user_by_id(&user_id)
                .await?
                .ok_or(ErrorCode::UserNotFound)?;
            if user.is_banned(now) {
                return Err(ErrorCode::UserBanned.into());
            }
            let interval = self.inner.config.refresh_reuse_interval.as_secs() as i64;
            if counter == current {
                if !RefreshCodec::matches(token, &refresh_hash) {
                    return Err(AuthError::internal("refresh token hash mismatch"));
                }
                let next = codec.encode(&session_id, current + 1);
                // Compare-and-swap on the counter: of concurrent refreshes exactly one wins;
                // the others re-read and take the reuse path below.
                let digest = RefreshCodec::digest(&next);
                if store.rotate_refresh(&id, current, &digest, now).await? {
                    return self.issue(user, &id, aal, amr, next, now).await;
                }
                continue;
            }
            if counter + 1 == current && now - refreshed_at <= interval {
                let active = codec.encode(&session_id, current);
                return self.issue(user, &id, aal, amr, active, now).await;
            }
            // A replay outside the rules: someone else may hold this family. End it.
            store.delete_session(&id).await?;
            self.revoked();
            tracing::warn!(target: "routekit::auth", session_id = %id, "refresh token reused; session revoked");
            return Err(ErrorCode::RefreshTokenAlreadyUsed.into());
        }
    }

    /// Ends sessions of the token's user.
    pub async fn sign_out(&self, claims: &Claims, scope: SignOutScope) -> Result<(), AuthError> {
        let which = match scope {
            SignOutScope::Global => Sessions::All,
            SignOutScope::Local => Sessions::Only(&claims.session_id),
            SignOutScope::Others => Sessions::AllBut(&claims.session_id),
        };
        self.store().end_sessions(&claims.sub, which).await?;
        self.revoked();
        Ok(())
    }
}
