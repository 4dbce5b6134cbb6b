//! A routes-only routekit API: JSON in, JSON out, errors with a stable `code`.
//!
//! ```
//! let app = api::app(routekit::AppConfig::default(), api::ApiKey::new("secret"));
//! assert!(app.manifest().iter().any(|r| r.url == "/api/items"));
//! ```

mod api_key;
mod items;

pub use api_key::ApiKey;

routekit::routes!();

/// The app: the routes in `app/`, with the API key and the item store handed to them.
///
/// ```
/// let app = api::app(routekit::AppConfig::default(), api::ApiKey::new("secret"));
/// assert!(app.csrf_enabled());
/// ```
pub fn app(config: routekit::AppConfig, key: ApiKey) -> routekit::App {
    routekit::App::with_config(routes(), config)
        .extension(key)
        .extension(items::Items::default())
}
