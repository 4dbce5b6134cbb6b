//! The routekit example app: a SaaS backend whose routes live in `app/`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! saas::app().serve().await
//! # }
//! ```

mod validate;

routekit::routes!();

/// The example app: every route under `app/` with routekit's defaults.
///
/// ```
/// let app = saas::app();
/// assert!(app.manifest().iter().any(|r| r.url == "/hello"));
/// ```
pub fn app() -> routekit::App {
    routekit::App::new(routes())
}
