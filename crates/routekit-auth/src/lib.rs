//! An embedded auth server for routekit apps that speaks Supabase Auth's (GoTrue's) wire
//! protocol, so `@supabase/supabase-js` and `@supabase/ssr` work against it unchanged.
//!
//! Users, sessions and keys live in SQLite by default (a file under `./data`, created on first
//! run, WAL with `synchronous=FULL`) or in PostgreSQL when `DATABASE_URL` points at one.
//!
//! Features: `sqlite` (default) and `postgres` choose the stores it can open, as sqlx's do;
//! `supabase` adds [`SupabaseAuth`](crate#supabase-mode), the client of a hosted project.
//! Access tokens are ES256 JWTs with GoTrue's claims, published in a JWKS; refresh tokens are
//! opaque, rotated on every use, with GoTrue's reuse rules; passwords are argon2id.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use routekit_auth::{AuthConfig, AuthService};
//!
//! let auth = AuthService::start(AuthConfig::from_env()?).await?;
//! let api: axum::Router = routekit_auth::router(auth.clone()); // /auth/v1/*
//! # Ok(()) }
//! ```

mod client;
mod config;
mod error;
mod http;
mod jwt;
mod mfa;
mod password;
mod ratelimit;
mod service;
mod store;
#[cfg(feature = "supabase")]
mod supabase;
mod user;

pub use client::Client;
pub use config::{AuthConfig, AuthConfigError};
pub use error::AuthError;
pub use http::{API_VERSION, bearer_token, router};
/// Networks for [`AuthConfig::trusted_proxies`] (`"10.0.0.0/8".parse::<IpNet>()`).
pub use ipnet::IpNet;
pub use jwt::{Aal, Amr, Claims, JwtError, Keys, LEEWAY_SECS};
pub use mfa::{
    AssuranceLevel, Challenge, Enrollment, Factor, FactorStatus, FactorType, base32, base32_decode,
    totp,
};
pub use ratelimit::{Rate, RateLimits};
pub use service::{AuthService, SignOutScope, SignUp, TokenResponse, UserUpdate};
pub use store::{Backend, Store};
#[cfg(feature = "supabase")]
pub use supabase::{SupabaseAuth, SupabaseConfig, SupabaseError};
pub use user::User;

/// Now, in unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
