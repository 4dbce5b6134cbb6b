//! The routekit example app: a SaaS backend whose routes live in `app/`, with the embedded
//! auth server at `/auth/v1`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! saas::app().await?.serve().await?;
//! # Ok(()) }
//! ```

mod admin;
mod mail_flow;
mod notes;
mod pages;
mod validate;

use std::sync::Arc;

use routekit_auth::{AuthConfig, AuthService, SupabaseAuth, SupabaseConfig};

routekit::routes!();

/// The app's own tables (`migrations/`), run at start-up after the auth server's.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Where the notes live in Supabase mode, which has no embedded auth database:
/// `DATABASE_URL`, else this file.
const SUPABASE_MODE_DB: &str = "sqlite://data/app.db";

/// What the example reads from its environment.
///
/// ```
/// let config = saas::Config { webhook_secret: Some("whsec_test".into()), ..Default::default() };
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// routekit's own settings (`ROUTEKIT_CSRF` and its companions).
    pub app: routekit::AppConfig,
    /// `SAAS_WEBHOOK_SECRET`: the key payment webhooks are signed with. Without it the
    /// webhook answers 503.
    pub webhook_secret: Option<String>,
    /// The embedded auth server's settings (`DATABASE_URL`, `ROUTEKIT_AUTH_*`), with e-mail
    /// confirmation on unless `ROUTEKIT_AUTH_AUTOCONFIRM=true`. The example's
    /// routes need sessions, so with neither this nor `supabase` the app does not start (it
    /// names the route files that need them).
    pub auth: Option<AuthConfig>,
    /// Supabase mode (`SUPABASE_URL`, `SUPABASE_ANON_KEY`, `SUPABASE_JWT_SECRET`): sessions
    /// come from a hosted Supabase project instead, and the embedded server is not started.
    /// The server-rendered sign-in pages need the embedded server; with a hosted project,
    /// browsers sign in through supabase-js and `@supabase/ssr`.
    pub supabase: Option<SupabaseConfig>,
    /// `ROUTEKIT_CAPTCHA_PROVIDER`, `…_SECRET` (and `…_VERIFY_URL`, `…_TIMEOUT_MS`): the
    /// verifier for routes that declare `pub const CAPTCHA: bool = true;`.
    pub captcha: Option<routekit::captcha::CaptchaConfig>,
}

impl Config {
    /// Reads every variable the example takes, once: routekit's (`ROUTEKIT_CSRF`, …),
    /// `SAAS_WEBHOOK_SECRET` and the auth settings, or `SUPABASE_URL` and its companions for
    /// Supabase mode. A bad value is an error naming the variable.
    ///
    /// ```
    /// let config = saas::Config::from_env()?;
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// ```
    pub fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let app = routekit::AppConfig::from_env()?;
        // Supabase mode replaces the embedded server.
        let supabase = SupabaseConfig::from_env()?;
        // Sign-ups confirm their address by mail unless ROUTEKIT_AUTH_AUTOCONFIRM=true: without
        // SMTP settings the mail waits at /_routekit/mailbox.
        let auth = if supabase.is_some() {
            None
        } else {
            Some(AuthConfig::from_env_with(|c| c.with_autoconfirm(false))?)
        };
        Ok(Config {
            app,
            captcha: routekit::captcha::CaptchaConfig::from_env()?,
            webhook_secret: std::env::var("SAAS_WEBHOOK_SECRET")
                .ok()
                .filter(|s| !s.is_empty()),
            auth,
            supabase,
        })
    }
}

/// The webhook signing key, handed to the webhook route as an `Extension` (see
/// `App::extension`).
#[derive(Clone)]
pub(crate) struct WebhookSecret(Arc<str>);

/// The example app, configured from the environment.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let app = saas::app().await?;
/// # Ok(()) }
/// ```
pub async fn app() -> Result<routekit::App, Box<dyn std::error::Error + Send + Sync>> {
    app_with(Config::from_env()?).await
}

/// The example app with the given configuration; starting the auth server connects to its
/// database and runs the migrations.
///
/// ```
/// # async fn f() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let app = saas::app_with(saas::Config::default()).await?;
/// assert!(app.csrf_enabled());
/// # Ok(()) }
/// ```
pub async fn app_with(
    config: Config,
) -> Result<routekit::App, Box<dyn std::error::Error + Send + Sync>> {
    let mut app = routes_only(&config);
    if let Some(captcha) = config.captcha {
        app = app.captcha(routekit::captcha::Captcha::new(captcha)?);
    }
    let db = if let Some(project) = config.supabase {
        app = app.sessions(SupabaseAuth::new(project)?);
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| SUPABASE_MODE_DB.to_owned());
        Some(routekit::Db::connect(&url).await?)
    } else if let Some(auth) = config.auth {
        let auth = AuthService::start(auth).await?;
        let db = auth.db();
        app = app.sessions(auth.clone()).auth_api(auth);
        Some(db)
    } else {
        None
    };
    if let Some(db) = db {
        db.migrate(&MIGRATIONS).await?;
        app = app.db(db);
    }
    Ok(app)
}

/// The routes from `app/` and their settings, without connecting to anything (for tests and
/// [`routekit::App::routes_report`]).
///
/// ```
/// let app = saas::routes_only(&saas::Config::default());
/// assert!(app.manifest().iter().any(|r| r.url == "/dashboard"));
/// ```
pub fn routes_only(config: &Config) -> routekit::App {
    let app =
        routekit::App::with_config(routes(), config.app.clone()).error_pages(pages::error_page);
    // Only when set: an extension is copied into every request, and most never need it.
    match config.webhook_secret.as_deref() {
        Some(secret) => app.extension(WebhookSecret(Arc::from(secret))),
        None => app,
    }
}
