//! Errors, with the GoTrue codes and statuses supabase-js understands.

use std::borrow::Cow;

use http::StatusCode;

/// Why an auth operation failed: a client-facing error with GoTrue's status and `code`, or a
/// server fault.
///
/// ```
/// use routekit_auth::AuthError;
///
/// let e = AuthError::invalid_credentials();
/// assert_eq!(e.status(), 400);
/// assert_eq!(e.code(), "invalid_credentials");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A client's mistake or a refused request, answered as is.
    #[error("{message}")]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// GoTrue's error code (`invalid_credentials`, `weak_password`, …).
        code: &'static str,
        /// A human-readable message.
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
    Unavailable(#[source] sqlx::Error),
    /// Anything else on the server's side: 500, logged, opaque to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AuthError {
    /// A client-facing error.
    pub fn api(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        AuthError::Api {
            status,
            code,
            message: message.into(),
            weak_password: Vec::new(),
        }
    }

    /// 400 `validation_failed`.
    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::api(StatusCode::BAD_REQUEST, "validation_failed", message)
    }

    /// 400 `invalid_credentials`, the same for an unknown e-mail and a wrong password.
    pub fn invalid_credentials() -> Self {
        Self::api(
            StatusCode::BAD_REQUEST,
            "invalid_credentials",
            "Invalid login credentials",
        )
    }

    /// 422 `weak_password` with the broken rules.
    pub fn weak_password(
        reasons: Vec<&'static str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        AuthError::Api {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "weak_password",
            message: message.into(),
            weak_password: reasons,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Api { status, .. } => *status,
            AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Busy { .. } | AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Api { code, .. } => code,
            AuthError::RateLimited { .. } => "over_request_rate_limit",
            AuthError::Busy { .. } => "over_capacity",
            AuthError::Unavailable(_) => "unavailable",
            AuthError::Internal(_) => "unexpected_failure",
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

impl From<sqlx::Error> for AuthError {
    /// Connection-level failures are 503 (the database is down or saturated); anything else
    /// the database says is a 500.
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => AuthError::Unavailable(e),
            sqlx::Error::Database(ref db) if is_outage(db.code().as_deref()) => {
                AuthError::Unavailable(e)
            }
            _ => AuthError::Internal(Box::new(e)),
        }
    }
}

impl From<crate::jwt::JwtError> for AuthError {
    /// 403 `bad_jwt` with GoTrue's message, which clients and apps match on: "invalid JWT:
    /// unable to parse or verify signature, " and the reason in golang-jwt's words.
    fn from(e: crate::jwt::JwtError) -> Self {
        use crate::jwt::JwtError;
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
        AuthError::api(
            StatusCode::FORBIDDEN,
            "bad_jwt",
            format!("invalid JWT: unable to parse or verify signature, {reason}"),
        )
    }
}

/// Database error codes that mean "not reachable right now", not "this query is wrong":
/// PostgreSQL's connection exceptions (08…), shutdowns and restarts (57P01–57P03) and
/// resource exhaustion (53…); SQLite's busy, locked, I/O, full and cannot-open errors.
fn is_outage(code: Option<&str>) -> bool {
    match code {
        Some(code) if code.len() == 5 => {
            code.starts_with("08")
                || code.starts_with("53")
                || matches!(code, "57P01" | "57P02" | "57P03")
        }
        // SQLite extended result codes: the primary code is the low byte.
        Some(code) => code
            .parse::<i32>()
            .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14)),
        None => false,
    }
}

/// A write's result, with a unique-constraint violation (by kind, never by message) turned
/// into `conflict`.
pub(crate) fn unless_conflict<T>(
    result: Result<T, sqlx::Error>,
    conflict: impl FnOnce() -> AuthError,
) -> Result<T, AuthError> {
    result.map_err(|e| {
        if e.as_database_error()
            .is_some_and(|d| d.is_unique_violation())
        {
            conflict()
        } else {
            e.into()
        }
    })
}
