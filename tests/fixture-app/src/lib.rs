//! Every routing convention as a route file, served by routekit alone (no auth): static,
//! `[id]`, `[...slug]`, `[[...path]]`, `(group)` and `_private` folders, a validated JSON
//! echo with its own body limit, and a server-rendered form with both ways of sending the
//! CSRF token. The tests in `tests/` and the load benchmarks (`bench/load.sh`,
//! `bench/csrf.sh`) run against it; `examples/saas` is the app to copy.
//!
//! ```
//! let app = routekit_fixture_app::app(routekit::AppConfig::default());
//! assert!(app.manifest().iter().any(|r| r.url == "/hello"));
//! ```

mod validate;

routekit::routes!();

/// The fixture's routes with the given settings (`ROUTEKIT_CSRF` through
/// [`routekit::AppConfig::from_env`] in the binary).
///
/// ```
/// let app = routekit_fixture_app::app(routekit::AppConfig::default());
/// assert!(app.csrf_enabled());
/// ```
pub fn app(config: routekit::AppConfig) -> routekit::App {
    routekit::App::with_config(routes(), config)
}
