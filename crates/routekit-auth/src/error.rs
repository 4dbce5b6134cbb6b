//! Errors, with the GoTrue codes and statuses supabase-js understands.
//!
//! Every refusal is one [`ErrorCode`] variant, which carries its status, its wire code and
//! GoTrue's message. GoTrue answers a few codes with a different status depending on where
//! they arise (a banned user is 400 in a token grant and 403 behind a bearer token); those
//! are separate variants here, named after the place, so each variant has one status.

use std::borrow::Cow;

use http::StatusCode;

/// Why an auth operation failed: a refusal with GoTrue's status and `code`, or a server
/// fault.
///
/// ```
/// use routekit_auth::{AuthError, ErrorCode};
///
/// let e = AuthError::invalid_credentials();
/// assert_eq!(e.status(), 400);
/// assert_eq!(e.code(), ErrorCode::InvalidCredentials);
/// assert_eq!(e.code().as_str(), "invalid_credentials");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A client's mistake or a refused request, answered as is.
    #[error("{message}")]
    Api {
        /// What was refused: the status and wire code.
        code: ErrorCode,
        /// A human-readable message (the code's own unless a flow said more).
        message: Cow<'static, str>,
        /// For `weak_password`: which rules the password broke (`length`, `pwned`, …).
        weak_password: Vec<&'static str>,
    },
    /// Too many requests from this client: 429 `over_request_rate_limit` with `Retry-After`.
    #[error("request rate limit reached")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// Every password hashing slot is taken and the queue is full: 503 `over_capacity` with
    /// `Retry-After`. Hashing is bounded so that a flood of sign-ins cannot take the server's
    /// memory (19 MiB per hash).
    #[error("the server is busy hashing passwords")]
    Busy {
        /// Seconds after which a retry is likely to get a slot.
        retry_after: u64,
    },
    /// The database cannot be reached: 503, and the service recovers when it returns.
    #[error("the auth database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else on the server's side: 500, logged, opaque to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// The file named by `ROUTEKIT_AUTH_CONFIG` could not be read or parsed.
    #[error("cannot read the auth config file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// An environment variable with a value it cannot take.
    #[error("{name} must be {expected}")]
    Variable {
        /// The variable.
        name: &'static str,
        /// What it may be.
        expected: &'static str,
    },
    /// A `ROUTEKIT_AUTH_SMTP_*` variable with a value it cannot take.
    #[cfg(feature = "server")]
    #[error(transparent)]
    Mail(routekit_mail::MailConfigError),
    /// A mail template override that cannot be used.
    #[error("mail template {path}: {reason}")]
    Template {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `ROUTEKIT_CAPTCHA_*` variable with a value it cannot take.
    #[cfg(feature = "captcha")]
    #[error(transparent)]
    Captcha(routekit_captcha::CaptchaConfigError),
}

/// Declares [`ErrorCode`] with each variant's status, wire code and default message.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident => $status:ident, $code:literal, $message:literal;)*) => {
        /// A refusal of the auth server: its HTTP status, GoTrue's error `code` and GoTrue's
        /// message, which clients and apps match on.
        ///
        /// ```
        /// use routekit_auth::ErrorCode;
        ///
        /// assert_eq!(ErrorCode::SessionNotFound.status(), 403);
        /// assert_eq!(ErrorCode::SessionNotFound.as_str(), "session_not_found");
        /// assert_eq!(ErrorCode::UserBanned.status(), 400);
        /// assert_eq!(ErrorCode::TokenUserBanned.status(), 403);
        /// assert_eq!(ErrorCode::TokenUserBanned, "user_banned");
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code, for tests and documentation.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The HTTP status it is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$name => StatusCode::$status,)*
                }
            }

            /// The `code` on the wire (`error_code` in GoTrue's body).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $code,)*
                }
            }

            /// GoTrue's message for it.
            pub fn message(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $message,)*
                }
            }
        }
    };
}

error_codes! {
    /// The body is not JSON of the expected shape.
    BadJson => BAD_REQUEST, "bad_json", "Could not parse request body as JSON";
    /// A sign-up or password sign-in without a captcha token the provider accepts, when
    /// captcha is configured (GoTrue's code).
    CaptchaFailed => BAD_REQUEST, "captcha_failed", "captcha protection: request disallowed";
    /// A field is missing or malformed.
    ValidationFailed => BAD_REQUEST, "validation_failed", "Validation failed";
    /// A factor id in the path that is not a UUID (404, as GoTrue).
    InvalidFactorId => NOT_FOUND, "validation_failed", "factor_id must be an UUID";
    /// An e-mail address that is not one.
    EmailAddressInvalid => BAD_REQUEST, "email_address_invalid", "Unable to validate email address: invalid format";
    /// An unknown e-mail or a wrong password: the same answer for both.
    InvalidCredentials => BAD_REQUEST, "invalid_credentials", "Invalid login credentials";
    /// `POST /token` with a grant type this server does not know.
    UnsupportedGrantType => BAD_REQUEST, "invalid_credentials", "unsupported_grant_type";
    /// The password checked out but the e-mail is not confirmed.
    EmailNotConfirmed => BAD_REQUEST, "email_not_confirmed", "Email not confirmed";
    /// A banned user asked for tokens (a password sign-in or a refresh).
    UserBanned => BAD_REQUEST, "user_banned", "User is banned";
    /// A refresh token whose user no longer exists.
    UserNotFound => BAD_REQUEST, "user_not_found", "User not found";
    /// A password that breaks the rules (the reasons ride along).
    WeakPassword => UNPROCESSABLE_ENTITY, "weak_password", "Password does not meet the requirements";
    /// A new password equal to the old one.
    SamePassword => UNPROCESSABLE_ENTITY, "same_password", "New password should be different from the old password.";
    /// Sign-up with an e-mail that has an account.
    UserAlreadyExists => UNPROCESSABLE_ENTITY, "user_already_exists", "User already registered";
    /// An e-mail change to an address another account has.
    EmailExists => UNPROCESSABLE_ENTITY, "email_exists", "A user with this email address has already been registered";
    /// Sign-ups are switched off.
    SignupDisabled => UNPROCESSABLE_ENTITY, "signup_disabled", "Signups not allowed for this instance";
    /// Phone sign-ups and sign-ins: not offered.
    PhoneProviderDisabled => BAD_REQUEST, "phone_provider_disabled", "Phone logins are disabled";
    /// A user tried to change their own `app_metadata`.
    NotAdmin => FORBIDDEN, "not_admin", "User not allowed to update app_metadata";
    /// The admin API with a token that is not a service-role key (a user's, an anon key).
    NotAdminToken => FORBIDDEN, "not_admin", "User not allowed";
    /// The admin API named a user who does not exist.
    AdminUserNotFound => NOT_FOUND, "user_not_found", "User not found";
    /// A user id in an admin API path that is not a UUID (404, as GoTrue).
    InvalidUserId => NOT_FOUND, "validation_failed", "user_id must be an UUID";
    /// A URL under `/auth/v1` that this server does not serve.
    NotFound => NOT_FOUND, "not_found", "This endpoint does not exist on this auth server";
    /// A refresh token that was not minted here, or whose session has ended.
    RefreshTokenNotFound => BAD_REQUEST, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found";
    /// A refresh token replayed outside the reuse rules: the session was revoked.
    RefreshTokenAlreadyUsed => BAD_REQUEST, "refresh_token_already_used", "Invalid Refresh Token: Already Used";
    /// No `Authorization: Bearer` token where one is needed.
    NoAuthorization => UNAUTHORIZED, "no_authorization", "This endpoint requires a valid Bearer token";
    /// A bearer token that does not verify (the message says why, in GoTrue's words).
    BadJwt => FORBIDDEN, "bad_jwt", "invalid JWT: unable to parse or verify signature";
    /// A bearer token whose session has ended.
    SessionNotFound => FORBIDDEN, "session_not_found", "Session from session_id claim in JWT does not exist";
    /// A bearer token whose user no longer exists.
    TokenUserNotFound => FORBIDDEN, "user_not_found", "User from sub claim in JWT does not exist";
    /// A bearer token of a banned user.
    TokenUserBanned => FORBIDDEN, "user_banned", "User is banned";
    /// Changing the e-mail or password of a user with a verified factor from an `aal1`
    /// session.
    InsufficientAal => UNAUTHORIZED, "insufficient_aal", "AAL2 session is required to update email or password when MFA is enabled.";
    /// Enrolling another factor from an `aal1` session when one is verified.
    InsufficientAalToEnroll => FORBIDDEN, "insufficient_aal", "AAL2 required to enroll a new factor";
    /// Removing a verified factor from an `aal1` session.
    InsufficientAalToUnenroll => UNPROCESSABLE_ENTITY, "insufficient_aal", "AAL2 required to unenroll verified factor";
    /// No such factor of this user.
    FactorNotFound => NOT_FOUND, "mfa_factor_not_found", "Factor not found";
    /// No such challenge of this factor and user.
    ChallengeNotFound => UNPROCESSABLE_ENTITY, "mfa_factor_not_found", "MFA factor with the provided challenge ID not found";
    /// Another factor of the user has this friendly name.
    FactorNameConflict => UNPROCESSABLE_ENTITY, "mfa_factor_name_conflict", "A factor with this friendly name already exists";
    /// The user has as many factors as allowed (10).
    TooManyFactors => UNPROCESSABLE_ENTITY, "too_many_enrolled_mfa_factors", "Maximum number of enrolled factors reached";
    /// A wrong (or already used) TOTP code.
    VerificationFailed => UNPROCESSABLE_ENTITY, "mfa_verification_failed", "Invalid TOTP code entered";
    /// A challenge older than five minutes.
    ChallengeExpired => UNPROCESSABLE_ENTITY, "mfa_challenge_expired", "MFA challenge has expired, verify against another challenge";
    /// A challenge verified from another address, or already used.
    ChallengeMismatch => UNPROCESSABLE_ENTITY, "mfa_ip_address_mismatch", "Challenge and verify IP addresses mismatch, or the challenge was already used";
    /// A new password from an old session without the reauthentication nonce.
    ReauthenticationNeeded => BAD_REQUEST, "reauthentication_needed", "Password update requires reauthentication";
    /// A reauthentication nonce that is wrong, used or expired.
    ReauthenticationNotValid => UNPROCESSABLE_ENTITY, "reauthentication_not_valid", "Nonce has expired or is invalid";
    /// Reauthentication by a user whose address is not confirmed.
    ReauthenticationUnconfirmed => UNPROCESSABLE_ENTITY, "email_not_confirmed", "Please verify your email first.";
    /// `POST /verify` with an e-mail that is not one.
    InvalidEmailFormat => UNPROCESSABLE_ENTITY, "validation_failed", "Invalid email format";
    /// A mailed code that does not match, has expired or was used (`POST /verify` by e-mail
    /// and code).
    OtpExpired => FORBIDDEN, "otp_expired", "Token has expired or is invalid";
    /// A mailed link that does not match, has expired or was used.
    LinkExpired => FORBIDDEN, "otp_expired", "Email link is invalid or has expired";
    /// Another mail to this address, or from this client, too soon.
    OverEmailSendRateLimit => TOO_MANY_REQUESTS, "over_email_send_rate_limit", "Email rate limit exceeded";
    /// The mail could not be sent (the SMTP server is down, slow past the timeout, or refused it).
    EmailSendFailed => INTERNAL_SERVER_ERROR, "unexpected_failure", "Error sending email";
    /// A PKCE auth code that is unknown or was used.
    FlowStateNotFound => NOT_FOUND, "flow_state_not_found", "invalid flow state, no valid flow state found";
    /// A PKCE auth code older than five minutes.
    FlowStateExpired => UNPROCESSABLE_ENTITY, "flow_state_expired", "invalid flow state, flow state has expired";
    /// A PKCE code verifier that does not match the challenge.
    BadCodeVerifier => BAD_REQUEST, "bad_code_verifier", "code challenge does not match previously saved code verifier";
    /// Too many requests: see [`AuthError::RateLimited`].
    OverRequestRateLimit => TOO_MANY_REQUESTS, "over_request_rate_limit", "request rate limit reached";
    /// Every hashing slot is taken: see [`AuthError::Busy`].
    OverCapacity => SERVICE_UNAVAILABLE, "over_capacity", "the server is busy hashing passwords";
    /// The database is down: see [`AuthError::Unavailable`].
    Unavailable => SERVICE_UNAVAILABLE, "unavailable", "the auth database is unavailable";
    /// A fault on the server: see [`AuthError::Internal`].
    UnexpectedFailure => INTERNAL_SERVER_ERROR, "unexpected_failure", "internal error";
}

impl ErrorCode {
    /// This refusal with another message than GoTrue's default.
    ///
    /// ```
    /// use routekit_auth::ErrorCode;
    ///
    /// let e = ErrorCode::ValidationFailed.with_message("Signup requires a valid password");
    /// assert_eq!(e.to_string(), "Signup requires a valid password");
    /// ```
    pub fn with_message(self, message: impl Into<Cow<'static, str>>) -> AuthError {
        AuthError::Api {
            code: self,
            message: message.into(),
            weak_password: Vec::new(),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<ErrorCode> for AuthError {
    /// The refusal with GoTrue's message.
    fn from(code: ErrorCode) -> Self {
        code.with_message(code.message())
    }
}

impl AuthError {
    /// 400 `validation_failed` with a message saying what is wrong.
    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        ErrorCode::ValidationFailed.with_message(message)
    }

    /// 400 `invalid_credentials`, the same for an unknown e-mail and a wrong password.
    pub fn invalid_credentials() -> Self {
        ErrorCode::InvalidCredentials.into()
    }

    /// 422 `weak_password` with the broken rules.
    pub fn weak_password(
        reasons: Vec<&'static str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        AuthError::Api {
            code: ErrorCode::WeakPassword,
            message: message.into(),
            weak_password: reasons,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Api { code, .. } => *code,
            AuthError::RateLimited { .. } => ErrorCode::OverRequestRateLimit,
            AuthError::Busy { .. } => ErrorCode::OverCapacity,
            AuthError::Unavailable(_) => ErrorCode::Unavailable,
            AuthError::Internal(_) => ErrorCode::UnexpectedFailure,
        }
    }

    /// Seconds to wait before retrying, for a rate limit or a busy server (`Retry-After`).
    ///
    /// ```
    /// let e = routekit_auth::AuthError::RateLimited { retry_after: 7 };
    /// assert_eq!(e.retry_after(), Some(7));
    /// assert_eq!(routekit_auth::AuthError::invalid_credentials().retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::RateLimited { retry_after } | AuthError::Busy { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    pub(crate) fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AuthError::Internal(e.into())
    }
}

#[cfg(feature = "server")]
impl From<sqlx::Error> for AuthError {
    /// Connection-level failures are 503 (the database is down or saturated); anything else
    /// the database says is a 500.
    fn from(e: sqlx::Error) -> Self {
        if routekit_db::is_outage(&e) {
            AuthError::Unavailable(Box::new(e))
        } else {
            AuthError::Internal(Box::new(e))
        }
    }
}

impl From<crate::jws::JwtError> for AuthError {
    /// 403 `bad_jwt` with GoTrue's message, which clients and apps match on: "invalid JWT:
    /// unable to parse or verify signature, " and the reason in golang-jwt's words.
    fn from(e: crate::jws::JwtError) -> Self {
        use crate::jws::JwtError;
        let reason = match e {
            JwtError::Malformed => "token is malformed",
            JwtError::Algorithm => "token signature is invalid: signing method is invalid",
            JwtError::UnknownKey => {
                "token is unverifiable: error while executing keyfunc: invalid kid"
            }
            JwtError::Signature => "token signature is invalid",
            JwtError::Expired => "token has invalid claims: token is expired",
            JwtError::NotYetValid => "token has invalid claims: token is not valid yet",
            JwtError::Audience => "token has invalid claims: token has invalid audience",
        };
        ErrorCode::BadJwt.with_message(format!("{}, {reason}", ErrorCode::BadJwt.message()))
    }
}

/// Whether a write failed on a unique constraint (by kind, never by message).
#[cfg(feature = "server")]
pub(crate) fn is_conflict(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// A write's result, with a unique-constraint violation (by kind, never by message) turned
/// into `conflict`.
#[cfg(feature = "server")]
pub(crate) fn unless_conflict<T>(
    result: Result<T, sqlx::Error>,
    conflict: impl FnOnce() -> AuthError,
) -> Result<T, AuthError> {
    result.map_err(|e| {
        if is_conflict(&e) {
            conflict()
        } else {
            e.into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each wire code with the statuses GoTrue answers it with (`reference/gotrue.md` §4):
    /// a code may have several, a variant has exactly one.
    #[test]
    fn codes_have_gotrue_statuses() {
        let expected: &[(&str, &[u16])] = &[
            ("user_banned", &[400, 403]),
            ("user_not_found", &[400, 403, 404]),
            ("insufficient_aal", &[401, 403, 422]),
            ("mfa_factor_not_found", &[404, 422]),
            ("validation_failed", &[400, 404, 422]),
            ("otp_expired", &[403]),
            ("over_email_send_rate_limit", &[429]),
            ("bad_code_verifier", &[400]),
            ("flow_state_not_found", &[404]),
            ("session_not_found", &[403]),
            ("bad_jwt", &[403]),
            ("no_authorization", &[401]),
            ("invalid_credentials", &[400]),
            ("weak_password", &[422]),
            ("refresh_token_already_used", &[400]),
        ];
        for (code, statuses) in expected {
            let mut found: Vec<u16> = ErrorCode::ALL
                .iter()
                .filter(|c| c.as_str() == *code)
                .map(|c| c.status().as_u16())
                .collect();
            found.sort_unstable();
            found.dedup();
            assert_eq!(&found, statuses, "{code}");
        }
        for code in ErrorCode::ALL {
            assert!(!code.message().is_empty(), "{code:?}");
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code:?}"
            );
        }
    }
}
