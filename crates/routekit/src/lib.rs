//! File-system routes for axum, with JSON errors and secure defaults.
//!
//! A route is a file: `app/hello/route.rs` serves `/hello` and exports handlers named after
//! HTTP methods. A build script (`routekit_codegen::generate()`) turns `app/` into a
//! [`RouteTable`], which [`App`] serves.
//!
//! ```no_run
//! // app/hello/route.rs
//! use routekit::Json;
//! use serde_json::{Value, json};
//!
//! pub async fn GET() -> Json<Value> {
//!     Json(json!({ "text": "Hello" }))
//! }
//! ```
//!
//! ```no_run
//! // src/main.rs
//! # /*
//! routekit::routes!(); // defines `routes()`, generated from app/ by build.rs
//! # */
//! # fn routes() -> routekit::RouteTable { routekit::RouteTable::new(vec![]) }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     Ok(routekit::App::from_env(routes())?.serve().await?)
//! }
//! ```
//!
//! Every error is JSON, `{"error":{"code":"…","message":"…"}}`, with a stable `code`: see
//! [`ApiError`].
//!
//! Features: `validate` (default) brings [`Valid`], input checked by `validator` rules with
//! every failing field answered at once; `auth` (default) brings `Session`, `SessionCookie`, `AuthApi` and the embedded
//! auth server (`App::sessions(AuthService)`, `App::auth_api`, SQLite); `postgres` lets it use
//! PostgreSQL; `supabase` adds `App::sessions(SupabaseAuth)`, sessions from a hosted project
//! (alone, without `auth`, it compiles no store). With `default-features = false`, routekit
//! is routes, JSON, errors, CSRF and the edge, and compiles no database, hashing or TLS code.

mod app;
#[cfg(feature = "captcha")]
mod captcha_guard;
mod context;
mod dev;
mod edge;
mod error;
mod error_page;
mod extract;
mod field;
mod form;
mod html;
mod json;
mod navigation;
mod redirect;
mod report;
mod route;
mod serve;
#[cfg(feature = "sessions")]
mod session;
#[cfg(feature = "validate")]
mod valid;

pub use app::{App, AppConfig, AppConfigError, AppService, CSRF_VAR, DEFAULT_BODY_LIMIT};
pub use dev::{DEV_READY_LINE, DEV_STATUS_VAR};
pub use edge::{Edge, EdgeFuture, REQUEST_ID_HEADER, RequestId};
pub use error::{ApiError, ApiResult};
pub use error_page::ErrorPage;
pub use extract::{Path, Query, Segments};
pub use field::FieldError;
pub use form::Form;
pub use html::escape_html;
pub use json::Json;
pub use navigation::is_navigation;
pub use redirect::{Redirect, is_local_path};
pub use route::{Auth, Route, RouteInfo, RouteSettings, RouteTable};
pub use serve::{bind_address, init_logging, listener, serve_with_shutdown, shutdown_signal};
#[cfg(feature = "auth")]
pub use session::AuthApi;
#[cfg(feature = "sessions")]
pub use session::{
    RolePolicy, RoleRefusal, Session, SessionConfig, SessionCookie, SessionData, SessionSource,
};
#[cfg(feature = "validate")]
pub use valid::{Valid, validate};

/// The app's database ([`routekit_db`], feature `db`, which `auth` turns on): give a
/// [`Db`] to [`App::db`] and route files take `db: Db`. With the embedded auth server,
/// `AuthService::db()` is the same database as the users'.
#[cfg(feature = "db")]
pub use routekit_db as db;
#[cfg(feature = "db")]
pub use routekit_db::Db;

/// The [`validator`](https://docs.rs/validator) crate (feature `validate`, with its derive),
/// whose rules [`Valid`] runs. Derive through it with `#[validate(crate =
/// "routekit::validator")]`, or depend on `validator` 0.21 yourself.
#[cfg(feature = "validate")]
pub use validator;

/// CSRF protection ([`routekit_csrf`]): on by default in every [`App`]. Handlers take
/// [`CsrfToken`] to put the token into forms; see [`App::csrf`] to switch it off.
pub use routekit_csrf as csrf;
pub use routekit_csrf::CsrfToken;

/// Captcha verification ([`routekit_captcha`], feature `captcha`): give a
/// [`Captcha`](routekit_captcha::Captcha) to [`App::captcha`], and routes with `pub const
/// CAPTCHA: bool = true;` take mutations only with a token the provider accepts.
#[cfg(feature = "captcha")]
pub use routekit_captcha as captcha;

/// The auth services ([`routekit_auth`]): the embedded server (`auth` feature) and Supabase
/// mode (`supabase`); give either to [`App::sessions`], and mount the embedded server's API
/// with `App::auth_api`.
#[cfg(feature = "sessions")]
pub use routekit_auth as auth;

/// The axum version routekit is built on, for extractors and responses a route needs.
pub use axum;
/// HTTP types (`StatusCode`, `HeaderMap`, `Method`, …).
pub use http;

/// Includes the router generated from `app/` by `routekit_codegen::generate()` in `build.rs`,
/// defining `pub fn routes() -> routekit::RouteTable`.
///
/// ```no_run
/// # /*
/// routekit::routes!();
/// # */
/// # fn routes() -> routekit::RouteTable { routekit::RouteTable::new(vec![]) }
///
/// let app = routekit::App::new(routes());
/// ```
#[macro_export]
macro_rules! routes {
    () => {
        include!(concat!(env!("OUT_DIR"), "/routekit_routes.rs"));
    };
}
