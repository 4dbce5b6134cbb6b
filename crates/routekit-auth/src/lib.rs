//! An embedded auth server for routekit apps that speaks Supabase Auth's (GoTrue's) wire
//! protocol, so `@supabase/supabase-js` and `@supabase/ssr` work against it unchanged.
//!
//! Users, sessions and keys live in SQLite by default (a file under `./data`, created on first
//! run, WAL with `synchronous=FULL`) or in PostgreSQL when `DATABASE_URL` points at one.
//!
//! Features: `sqlite` (default) and `postgres` choose the stores the embedded server can open,
//! as sqlx's do; `supabase` adds [`SupabaseAuth`](crate#supabase-mode), the client of a hosted
//! project. Without `sqlite` or `postgres` nothing of the embedded server is compiled: Supabase
//! mode needs only the JWS module and the vocabulary.
//!
//! Access tokens are ES256 JWTs with GoTrue's claims, published in a JWKS; refresh tokens are
//! opaque, rotated on every use, with GoTrue's reuse rules; passwords are argon2id.
//!
//! ```no_run
//! # #[cfg(feature = "server")]
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use routekit_auth::{AuthConfig, AuthService};
//!
//! let auth = AuthService::start(AuthConfig::from_env()?).await?;
//! let api: axum::Router = routekit_auth::router(auth.clone()); // /auth/v1/*
//! # Ok(()) }
//! ```
//!
//! # Layers
//!
//! Dependencies point down this list, never up:
//!
//! 1. `jws` (claims, parse, verify, sign), `factor` (the MFA vocabulary), `error`: shared by
//!    both modes.
//! 2. `store` (all the SQL, one module per table group), and the codecs: `refresh_token`,
//!    `totp`, `seal`, `password`, `lockout`.
//! 3. `keys`: the key ring over the key store.
//! 4. `service`: the GoTrue flows (accounts, token grants, MFA).
//! 5. `http`: GoTrue's endpoints over the flows. `supabase` sits beside 2–5, on 1 only.

// With neither mode, only the vocabulary is left, and the leaf's helpers have no caller.
#![cfg_attr(not(any(feature = "server", feature = "supabase")), allow(dead_code))]

mod error;
mod factor;
mod jws;

#[cfg(feature = "server")]
mod client;
#[cfg(feature = "server")]
mod config;
#[cfg(feature = "server")]
mod http;
#[cfg(feature = "server")]
mod keys;
#[cfg(feature = "server")]
mod lockout;
#[cfg(feature = "server")]
mod mailer;
#[cfg(feature = "server")]
mod password;
#[cfg(feature = "server")]
mod ratelimit;
#[cfg(feature = "server")]
mod refresh_token;
#[cfg(feature = "server")]
mod seal;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
mod store;
#[cfg(feature = "supabase")]
mod supabase;
#[cfg(feature = "server")]
mod totp;
#[cfg(feature = "server")]
mod user;

pub use error::{AuthConfigError, AuthError, ErrorCode};
pub use factor::{AssuranceLevel, Factor, FactorStatus, FactorType, Standing};
pub use jws::{Aal, Amr, AuthMethod, Claims, JwtError, LEEWAY_SECS};

#[cfg(feature = "server")]
pub use client::Client;
#[cfg(feature = "server")]
pub use config::AuthConfig;
#[cfg(feature = "server")]
pub use http::router;
/// Networks for [`AuthConfig::trusted_proxies`] (`"10.0.0.0/8".parse::<IpNet>()`).
#[cfg(feature = "server")]
pub use ipnet::IpNet;
#[cfg(feature = "server")]
pub use keys::Keys;
#[cfg(feature = "server")]
pub use ratelimit::{Rate, RateLimits};
/// The database crate the embedded server keeps its tables in ([`AuthService::db`] gives the
/// handle to the app).
#[cfg(feature = "server")]
pub use routekit_db;
/// The mail crate the embedded server sends with (its [`SmtpConfig`](routekit_mail::SmtpConfig)
/// configures [`AuthConfig::smtp`]).
#[cfg(feature = "server")]
pub use routekit_mail;
#[cfg(feature = "server")]
pub use service::{
    AccountUpdate, Admin, AuthService, Ban, Challenge, DEFAULT_PER_PAGE, Enrollment, MAX_PER_PAGE,
    MailOptions, NewAccount, Pkce, PkceMethod, Purged, Resend, SignOutScope, SignUp, TokenResponse,
    UserUpdate, UsersPage, Verified, VerifyType,
};
#[cfg(feature = "server")]
pub use store::{Backend, MailboxEntry, Store};
#[cfg(feature = "supabase")]
pub use supabase::{SupabaseAuth, SupabaseConfig, SupabaseError};
#[cfg(feature = "server")]
pub use totp::{base32, base32_decode, totp};
#[cfg(feature = "server")]
pub use user::User;

/// The API version supabase-js sends and routekit answers with.
pub const API_VERSION: &str = "2024-01-01";

/// The token of an `Authorization: Bearer <token>` header (scheme matched in any case),
/// if there is a non-empty one.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "bearer abc".parse().unwrap());
/// assert_eq!(routekit_auth::bearer_token(&headers), Some("abc"));
/// ```
pub fn bearer_token(headers: &::http::HeaderMap) -> Option<&str> {
    headers
        .get(::http::header::AUTHORIZATION)
        // UTF-8 validation is vectorised; `to_str`'s visible-ASCII check goes byte by byte
        // over a token of a kilobyte, on every authenticated request.
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .and_then(|v| {
            v.get(..7)
                .filter(|s| s.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        })
        .filter(|t| !t.is_empty())
}

/// Now, in unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `N` bytes from the operating system's CSPRNG.
#[cfg(feature = "server")]
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
    Ok(bytes)
}
