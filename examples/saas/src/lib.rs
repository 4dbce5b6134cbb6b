//! The routekit example app: a SaaS backend whose routes live in `app/`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! saas::app().serve().await
//! # }
//! ```

mod html;
mod validate;

use std::sync::Arc;

routekit::routes!();

/// What the example reads from its environment.
///
/// ```
/// let config = saas::Config { webhook_secret: Some("whsec_test".into()) };
/// let app = saas::app_with(config);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `SAAS_WEBHOOK_SECRET`: the key payment webhooks are signed with. Without it the
    /// webhook answers 503.
    pub webhook_secret: Option<String>,
}

impl Config {
    /// Reads `SAAS_WEBHOOK_SECRET`.
    ///
    /// ```
    /// let config = saas::Config::from_env();
    /// ```
    pub fn from_env() -> Self {
        Config {
            webhook_secret: std::env::var("SAAS_WEBHOOK_SECRET")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }
}

/// The webhook signing key, handed to the webhook route as an `Extension` (see
/// `App::extension`).
#[derive(Clone)]
pub(crate) struct WebhookSecret(Option<Arc<str>>);

/// The example app, configured from the environment.
///
/// ```
/// let app = saas::app();
/// assert!(app.manifest().iter().any(|r| r.url == "/hello"));
/// ```
pub fn app() -> routekit::App {
    app_with(Config::from_env())
}

/// The example app with the given configuration.
///
/// ```
/// let app = saas::app_with(saas::Config::default());
/// assert!(app.csrf_enabled());
/// ```
pub fn app_with(config: Config) -> routekit::App {
    let secret = WebhookSecret(config.webhook_secret.map(Arc::from));
    routekit::App::new(routes()).extension(secret)
}
