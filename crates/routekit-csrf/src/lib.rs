//! CSRF protection for axum apps: a tower layer that refuses cross-site mutations, and the
//! token functions behind it.
//!
//! Every request whose method is not GET, HEAD or OPTIONS must carry a token bound to a
//! random secret kept in an HttpOnly cookie, and must not come from another site
//! (`Sec-Fetch-Site`, `Origin`). A refused request gets `403` JSON with code
//! `csrf_token_missing`, `csrf_token_invalid` or `csrf_origin_rejected`, and the handler never
//! runs.
//!
//! ```
//! use axum::{Router, response::Html, routing::get};
//! use routekit_csrf::{CsrfConfig, CsrfLayer, CsrfToken};
//!
//! async fn page(token: CsrfToken) -> Html<String> {
//!     Html(format!(
//!         r#"<form method="post" action="/items">
//!              <input type="hidden" name="csrf_token" value="{token}">
//!              <button>Add</button>
//!            </form>"#
//!     ))
//! }
//!
//! let app: Router = Router::new()
//!     .route("/items", get(page).post(|| async { "added" }))
//!     .layer(CsrfLayer::new(CsrfConfig::from_env()?));
//! # Ok::<(), routekit_csrf::CsrfConfigError>(())
//! ```
//!
//! The scheme, and where it improves on Makerkit's edge-csrf:
//! - the secret is 32 bytes from the OS CSPRNG (edge-csrf salts with `Math.random`);
//! - a token is `HMAC-SHA256(secret, label)`, XOR-masked with fresh random bytes for every
//!   response (BREACH) and compared in constant time (edge-csrf: SHA-1, early-exit compare);
//! - content types are parsed, so `application/json; charset=utf-8` bodies are read;
//! - the secret can be rotated when a user signs in ([`CsrfToken::rotate`]).

mod config;
mod context;
mod error;
mod html;
mod layer;
mod origin;
mod source;
mod token;

pub use config::{COOKIE_MODE_VAR, CookieMode, CsrfConfig, CsrfConfigError, TRUSTED_ORIGINS_VAR};
pub use context::{CsrfToken, TOKEN_PATH, rotate_secret, token_endpoint};
pub use error::CsrfError;
pub use layer::{Csrf, CsrfLayer, ResponseFuture};
pub use source::{FIELD_NAME, Found, HEADER_NAME, TokenPlace};
pub use token::CsrfSecret;
