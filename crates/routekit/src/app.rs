//! The app builder: generated routes plus routekit's defaults, ready to serve.

use std::convert::Infallible;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::Route as AxumRoute;
use http::{HeaderValue, Method, StatusCode, header};
use routekit_csrf::{CsrfConfig, CsrfLayer, TOKEN_PATH, token_endpoint};
use tower::{Layer, Service};

use crate::edge::{Edge, Insert, Inserters};
use crate::error::ApiError;
use crate::route::{Layers, Route, RouteInfo, RouteTable};

/// The service inside [`Edge`]: the router with the app's body limit.
pub type AppService = <DefaultBodyLimit as Layer<Router>>::Service;

/// The default largest request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// A routekit application: the routes from `app/`, JSON errors for unknown URLs and methods,
/// body limits, panics turned into 500s, request ids, request logs and trailing-slash
/// redirects.
///
/// ```no_run
/// # /*
/// routekit::routes!(); // defines `routes()`, generated from app/ by build.rs
/// # */
/// # fn routes() -> routekit::RouteTable { routekit::RouteTable::new(vec![]) }
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     routekit::App::new(routes()).serve().await
/// }
/// ```
#[must_use]
pub struct App {
    routes: Vec<Route>,
    manifest: Vec<RouteInfo>,
    /// `merge` and `layer` calls, replayed in order when the router is built.
    steps: Vec<Step>,
    body_limit: usize,
    csrf: Option<CsrfConfig>,
    extensions: Vec<Insert>,
    /// Set by `error_pages`: renders a navigation's JSON error as HTML.
    error_pages: Option<crate::error_page::Render>,
    /// Set by `sessions`: the edge gives each request the sessions and a cookie slot.
    #[cfg(feature = "sessions")]
    session_source: Option<crate::SessionSource>,
    #[cfg(feature = "sessions")]
    session_config: crate::SessionConfig,
    /// The embedded auth API to mount at `/auth/v1`, set by `auth_api`.
    #[cfg(feature = "auth")]
    auth_api: Option<routekit_auth::AuthService>,
    /// The verifier for routes with `CAPTCHA = true`, set by `captcha`.
    #[cfg(feature = "captcha")]
    captcha: Option<routekit_captcha::Captcha>,
}

type Step = Box<dyn FnOnce(Router, Option<&CsrfLayer>) -> Router + Send>;

/// `ROUTEKIT_CSRF`: `on` (default) or `off`, the environment's switch for CSRF protection.
pub const CSRF_VAR: &str = "ROUTEKIT_CSRF";

/// What an [`App`] takes from its environment, read in one place: [`AppConfig::from_env`].
/// Builders never read the environment.
///
/// ```
/// let config = routekit::AppConfig::default();
/// assert!(config.csrf.is_some(), "CSRF protection is on by default");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AppConfig {
    /// CSRF protection's settings, `None` to turn it off (`ROUTEKIT_CSRF=off`).
    pub csrf: Option<CsrfConfig>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            csrf: Some(CsrfConfig::new()),
        }
    }
}

impl AppConfig {
    /// Reads `ROUTEKIT_CSRF` (`on` by default, or `off`), and, with CSRF on,
    /// [`routekit_csrf::TRUSTED_ORIGINS_VAR`] and [`routekit_csrf::COOKIE_MODE_VAR`]. A value
    /// it cannot take is an error naming the variable: a protection setting is never guessed.
    ///
    /// ```
    /// let config = routekit::AppConfig::from_env()?;
    /// # Ok::<(), routekit::AppConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, AppConfigError> {
        let csrf = match csrf_switch(std::env::var(CSRF_VAR).ok().as_deref()) {
            Ok(false) => None,
            Ok(true) => Some(CsrfConfig::from_env().map_err(AppConfigError::Csrf)?),
            Err(message) => return Err(AppConfigError::Switch(message)),
        };
        Ok(AppConfig { csrf })
    }
}

/// An environment variable of routekit's with a value it cannot take.
///
/// ```
/// # fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let app = routekit::App::from_env(routekit::RouteTable::new(vec![]))?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AppConfigError {
    /// `ROUTEKIT_CSRF` is neither `on` nor `off`.
    Switch(String),
    /// A CSRF setting (`ROUTEKIT_CSRF_TRUSTED_ORIGINS`, `ROUTEKIT_CSRF_COOKIE`).
    Csrf(routekit_csrf::CsrfConfigError),
}

impl std::fmt::Display for AppConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppConfigError::Switch(message) => f.write_str(message),
            AppConfigError::Csrf(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AppConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppConfigError::Csrf(e) => Some(e),
            AppConfigError::Switch(_) => None,
        }
    }
}

impl App {
    /// An app serving the given routes, with the default settings (CSRF protection on). It
    /// reads nothing from the environment: see [`App::from_env`].
    ///
    /// ```
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes);
    /// assert!(app.csrf_enabled());
    /// ```
    pub fn new(routes: RouteTable) -> Self {
        Self::with_config(routes, AppConfig::default())
    }

    /// An app with the settings of the environment ([`AppConfig::from_env`]), as a binary
    /// starts one.
    ///
    /// ```no_run
    /// # async fn run(routes: routekit::RouteTable) -> Result<(), Box<dyn std::error::Error>> {
    /// routekit::App::from_env(routes)?.serve().await?;
    /// # Ok(()) }
    /// ```
    pub fn from_env(routes: RouteTable) -> Result<Self, AppConfigError> {
        Ok(Self::with_config(routes, AppConfig::from_env()?))
    }

    /// An app with the given settings.
    ///
    /// ```
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let mut config = routekit::AppConfig::default();
    /// config.csrf = None;
    /// assert!(!routekit::App::with_config(routes, config).csrf_enabled());
    /// ```
    pub fn with_config(routes: RouteTable, config: AppConfig) -> Self {
        let routes = routes.into_routes();
        let manifest = routes.iter().map(Route::info).collect();
        let csrf = config.csrf;
        App {
            routes,
            manifest,
            steps: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            csrf,
            extensions: Vec::new(),
            error_pages: None,
            #[cfg(feature = "sessions")]
            session_source: None,
            #[cfg(feature = "sessions")]
            session_config: crate::SessionConfig::default(),
            #[cfg(feature = "auth")]
            auth_api: None,
            #[cfg(feature = "captcha")]
            captcha: None,
        }
    }

    /// The captcha verifier for routes that declare `pub const CAPTCHA: bool = true;` (or
    /// [`Route::captcha`]): their mutations need a token the provider accepts, from
    /// `x-captcha-token` or a `captcha_token` form or JSON field. A route that asks for a
    /// captcha in an app without one does not start ([`App::check`]).
    ///
    /// ```no_run
    /// use routekit::captcha::{Captcha, CaptchaConfig};
    ///
    /// # fn f(routes: routekit::RouteTable) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut app = routekit::App::from_env(routes)?;
    /// if let Some(config) = CaptchaConfig::from_env()? {
    ///     app = app.captcha(Captcha::new(config)?);
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "captcha")]
    pub fn captcha(mut self, captcha: routekit_captcha::Captcha) -> Self {
        self.captcha = Some(captcha);
        self
    }

    /// Switches CSRF protection on (keeping the settings it has, else the defaults) or off for
    /// the whole app. It is on by default.
    ///
    /// ```
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes).csrf(false);
    /// assert!(!app.csrf_enabled());
    /// ```
    pub fn csrf(mut self, on: bool) -> Self {
        self.csrf = match (on, self.csrf.take()) {
            (false, _) => None,
            (true, config) => Some(config.unwrap_or_default()),
        };
        self
    }

    /// Switches CSRF protection on with the given settings.
    ///
    /// ```
    /// use routekit::csrf::CsrfConfig;
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let config = CsrfConfig::new().add_trusted_origin("https://admin.example.com")?;
    /// let app = routekit::App::new(routes).csrf_config(config);
    /// # Ok::<(), routekit::csrf::CsrfConfigError>(())
    /// ```
    pub fn csrf_config(mut self, config: CsrfConfig) -> Self {
        self.csrf = Some(config);
        self
    }

    /// Whether mutations are CSRF-checked (routes with `CSRF = false` aside).
    pub fn csrf_enabled(&self) -> bool {
        self.csrf.is_some()
    }

    /// Sets the app-wide request body limit (default 1 MiB); a route's `BODY_LIMIT` wins.
    ///
    /// ```
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes).body_limit(64 * 1024);
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Adds hand-written axum routes next to the generated ones (they must not overlap).
    ///
    /// ```
    /// use routekit::axum::{Router, routing::get};
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes).merge(Router::new().route("/healthz", get(|| async { "ok" })));
    /// ```
    ///
    /// Merged routes are CSRF-checked like generated ones, every method included.
    pub fn merge(mut self, router: Router) -> Self {
        self.steps
            .push(Box::new(move |app: Router, csrf: Option<&CsrfLayer>| {
                // `Router::layer`, not `route_layer`: it also covers `any()` handlers, which
                // take extension methods through the method router's fallback.
                app.merge(match csrf {
                    Some(csrf) => router.layer(csrf.clone()),
                    None => router,
                })
            }));
        self
    }

    /// Adds hand-written axum routes that are *not* CSRF-checked, for APIs that ignore cookies
    /// and authenticate every request another way (the embedded auth API at `/auth/v1`, which
    /// reads only `Authorization: Bearer`; signed webhooks).
    ///
    /// ```
    /// use routekit::axum::{Router, routing::post};
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let hooks = Router::new().route("/hooks/github", post(|| async { "verified by signature" }));
    /// let app = routekit::App::new(routes).merge_csrf_exempt(hooks);
    /// ```
    pub fn merge_csrf_exempt(mut self, router: Router) -> Self {
        self.steps
            .push(Box::new(move |app: Router, _: Option<&CsrfLayer>| {
                app.merge(router)
            }));
        self
    }

    /// Sets where sessions come from, so handlers can take [`Session`](crate::Session),
    /// `Option<Session>` and [`SessionCookie`](crate::SessionCookie): the embedded auth
    /// server ([`AuthService`](crate::auth::AuthService)) or a hosted Supabase project
    /// ([`SupabaseAuth`](crate::auth::SupabaseAuth)). This does not serve an auth API: the
    /// embedded one is mounted by [`App::auth_api`]; in Supabase mode browsers talk to the
    /// project.
    ///
    /// ```no_run
    /// # #[cfg(feature = "auth")]
    /// # async fn f(routes: routekit::RouteTable) -> Result<(), routekit::auth::AuthError> {
    /// use routekit::auth::{AuthConfig, AuthService};
    ///
    /// let auth = AuthService::start(AuthConfig::from_env().unwrap()).await?;
    /// let app = routekit::App::new(routes).sessions(auth.clone()).auth_api(auth);
    /// # Ok(()) }
    /// ```
    ///
    /// In Supabase mode, tokens are checked locally with the project's JWKS or legacy HS256
    /// secret; the project is asked whether a session is alive and which factors its user
    /// has verified (cached for [`SessionConfig::recheck_after`](crate::SessionConfig)), and
    /// it refreshes expiring cookies:
    ///
    /// ```no_run
    /// # #[cfg(feature = "supabase")]
    /// # fn f(routes: routekit::RouteTable) -> Result<(), routekit::auth::AuthError> {
    /// use routekit::auth::{SupabaseAuth, SupabaseConfig};
    ///
    /// let project = SupabaseAuth::new(SupabaseConfig::new("https://abcd.supabase.co", "anon-key"))?;
    /// let app = routekit::App::new(routes).sessions(project);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sessions")]
    pub fn sessions(mut self, source: impl Into<crate::SessionSource>) -> Self {
        self.session_source = Some(source.into());
        self
    }

    /// Other sign-in and MFA paths, cookie name or cache settings for [`App::sessions`].
    ///
    /// ```
    /// let mut config = routekit::SessionConfig::default();
    /// config.sign_in_path = "/login".to_owned();
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes).session_config(config);
    /// ```
    #[cfg(feature = "sessions")]
    pub fn session_config(mut self, config: crate::SessionConfig) -> Self {
        self.session_config = config;
        self
    }

    /// Serves the embedded auth server's GoTrue API at `/auth/v1`, which supabase-js talks
    /// to (CSRF-exempt: it reads only bearer tokens). Pair it with
    /// [`App::sessions`]`(auth.clone())` so that handlers verify what it issues.
    ///
    /// ```no_run
    /// # async fn f(routes: routekit::RouteTable) -> Result<(), routekit::auth::AuthError> {
    /// use routekit::auth::{AuthConfig, AuthService};
    ///
    /// let auth = AuthService::start(AuthConfig::from_env().unwrap()).await?;
    /// let app = routekit::App::new(routes).sessions(auth.clone()).auth_api(auth);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "auth")]
    pub fn auth_api(mut self, auth: routekit_auth::AuthService) -> Self {
        self.auth_api = Some(auth);
        self
    }

    /// Makes `value` available to every handler through axum's `Extension<T>` extractor: app
    /// state for route files (a database pool, a client, a secret). Cheaper than
    /// `.layer(Extension(value))`, which wraps every route in another service.
    ///
    /// ```
    /// use routekit::axum::Extension;
    ///
    /// #[derive(Clone)]
    /// struct Greeting(&'static str);
    ///
    /// // app/hello/route.rs
    /// pub async fn GET(Extension(greeting): Extension<Greeting>) -> String {
    ///     greeting.0.to_owned()
    /// }
    ///
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes).extension(Greeting("hello"));
    /// ```
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions
            .push(Box::new(move |extensions: &mut http::Extensions| {
                extensions.insert(value.clone());
            }));
        self
    }

    /// The app's database, for route files that take `db: Db` (feature `db`). The usual
    /// start: the embedded auth server's database, with the app's migrations run on it.
    ///
    /// ```no_run
    /// # async fn f(routes: routekit::RouteTable) -> Result<(), Box<dyn std::error::Error>> {
    /// use routekit::auth::{AuthConfig, AuthService};
    ///
    /// # /*
    /// static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    /// # */
    /// # static MIGRATIONS: routekit::db::sqlx::migrate::Migrator = routekit::db::sqlx::migrate::Migrator::DEFAULT;
    ///
    /// let auth = AuthService::start(AuthConfig::from_env()?).await?;
    /// let db = auth.db();
    /// db.migrate(&MIGRATIONS).await?;
    /// let app = routekit::App::new(routes).sessions(auth.clone()).auth_api(auth).db(db);
    /// # Ok(()) }
    /// ```
    ///
    /// ```
    /// // app/api/notes/route.rs
    /// use routekit::{ApiResult, Db, Json, Session};
    ///
    /// # #[cfg(feature = "auth")]
    /// pub async fn GET(session: Session, db: Db) -> ApiResult<Json<Vec<String>>> {
    ///     let texts: Vec<(String,)> = routekit::db::sqlx::query_as("SELECT text FROM notes WHERE owner = $1")
    ///         .bind(&session.user_id)
    ///         .fetch_all(db.pool())
    ///         .await?;
    ///     Ok(Json(texts.into_iter().map(|(t,)| t).collect()))
    /// }
    /// ```
    #[cfg(feature = "db")]
    pub fn db(self, db: routekit_db::Db) -> Self {
        self.extension(db)
    }

    /// HTML error pages for browsers: when a page navigation ([`is_navigation`](crate::is_navigation),
    /// the rule [`Session`](crate::Session) redirects by) ends in one of routekit's JSON
    /// errors (an unknown URL's 404, a CSRF 403, a 405, a body over the limit's 413, a
    /// `validation_failed` 422, a 500 or a panic), `render` gives the page, answered with the
    /// error's status and headers. API calls keep the JSON; a handler's own responses
    /// (its HTML, its JSON that is not an error) pass unchanged. Applied by
    /// [`App::serve`] and [`App::into_service`].
    ///
    /// ```
    /// use routekit::ErrorPage;
    /// use routekit::axum::response::Html;
    ///
    /// fn page(error: &ErrorPage) -> Html<String> {
    ///     let title = if error.status == 404 { "Not found" } else { "Something went wrong" };
    ///     Html(format!("<!doctype html><title>{title}</title><h1>{title}</h1>"))
    /// }
    ///
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes).error_pages(page);
    /// ```
    ///
    /// The message of a 500 is always "internal error": a page shows no cause.
    pub fn error_pages<F, R>(mut self, render: F) -> Self
    where
        F: Fn(&crate::ErrorPage) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.error_pages = Some(crate::error_page::Render(std::sync::Arc::new(
            move |page: &crate::ErrorPage| render(page).into_response(),
        )));
        self
    }

    /// Wraps every route (generated and merged so far) in a tower layer, as `Router::layer`.
    ///
    /// ```
    /// use routekit::axum::extract::Request;
    /// use routekit::axum::middleware::{self, Next};
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let app = routekit::App::new(routes).layer(middleware::from_fn(|req: Request, next: Next| async move {
    ///     next.run(req).await
    /// }));
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<AxumRoute> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.steps
            .push(Box::new(move |app: Router, _: Option<&CsrfLayer>| {
                app.layer(layer)
            }));
        self
    }

    /// The route manifest: every route file with its methods and settings.
    pub fn manifest(&self) -> &[RouteInfo] {
        &self.manifest
    }

    /// The routes as a plain axum `Router`, with the body limit but without request ids,
    /// logs, panic handling or slash redirects (those live in [`App::into_service`]), for
    /// nesting in a larger axum app.
    ///
    /// # Panics
    ///
    /// When a route needs auth the app does not have (see [`App::check`]).
    pub fn into_router(mut self) -> Router {
        self.check_or_panic();
        let body_limit = self.body_limit;
        let extensions = Inserters::new(std::mem::take(&mut self.extensions));
        #[cfg(feature = "sessions")]
        let sessions = self.take_sessions();
        let mut router = self.build();
        #[cfg(feature = "sessions")]
        if let Some(sessions) = sessions {
            // No edge here: a layer gives each request its session scope, and writes the
            // cookies it collected (a session refreshed on the server) onto the response.
            router = router.layer(axum::middleware::from_fn(
                move |mut req: Request, next: axum::middleware::Next| {
                    let context = crate::context::RequestContext::new(None, Some(&sessions));
                    req.extensions_mut().insert(context.clone());
                    async move {
                        let mut res = next.run(req).await;
                        context.apply(res.headers_mut());
                        res
                    }
                },
            ));
        }
        if !extensions.is_empty() {
            router = router.layer(axum::middleware::map_request(move |mut req: Request| {
                extensions.apply(req.extensions_mut());
                std::future::ready(req)
            }));
        }
        router.layer(DefaultBodyLimit::max(body_limit))
    }

    /// The whole app as one tower service, as [`App::serve`] runs it.
    ///
    /// ```
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let service = routekit::App::new(routes).into_service();
    /// # fn is_service<S: tower::Service<routekit::axum::extract::Request> + Clone + Send>(_: &S) {}
    /// # is_service(&service);
    /// ```
    ///
    /// # Panics
    ///
    /// When a route needs auth the app does not have (see [`App::check`]).
    pub fn into_service(mut self) -> Edge<AppService> {
        self.check_or_panic();
        // One body-limit layer around the whole router, rather than `Router::layer`, which
        // would wrap every route separately; a route's own `BODY_LIMIT` layer still wins.
        let body_limit = self.body_limit;
        let extensions = Inserters::new(std::mem::take(&mut self.extensions));
        #[cfg(feature = "sessions")]
        let sessions = self.take_sessions();
        #[cfg(not(feature = "sessions"))]
        let sessions = None;
        let error_pages = self.error_pages.take();
        Edge::new(
            DefaultBodyLimit::max(body_limit).layer(self.build()),
            extensions,
        )
        .with_contexts(crate::context::Contexts::new(sessions))
        .with_error_pages(error_pages)
    }

    /// Checks that every route file can work with the auth this app has: a route with
    /// `AUTH = Required`, or a handler that takes `Session`, `Option<Session>`,
    /// `SessionCookie` or `AuthApi`, needs [`App::sessions`] (`AuthApi`
    /// answers 501 in Supabase mode, which has no embedded server). Without this check they
    /// would answer 500 at request time.
    /// [`App::serve`] returns this error; [`App::into_service`] and [`App::into_router`]
    /// panic with it.
    ///
    /// ```
    /// use routekit::{Json, Route, RouteTable, Session};
    ///
    /// async fn me(session: Session) -> Json<String> {
    ///     Json(session.user_id.clone())
    /// }
    ///
    /// let routes = RouteTable::new(vec![Route::new("/api/me", "app/api/me/route.rs", &["/api/me"]).get(me)]);
    /// let err = routekit::App::new(routes).check().unwrap_err();
    /// assert!(err.to_string().starts_with("app/api/me/route.rs: GET takes a `Session`"));
    /// ```
    pub fn check(&self) -> Result<(), std::io::Error> {
        #[cfg(feature = "sessions")]
        let sessions = self.session_source.is_some();
        #[cfg(not(feature = "sessions"))]
        let sessions = false;
        #[cfg(feature = "captcha")]
        let captcha = self.captcha.is_some();
        #[cfg(not(feature = "captcha"))]
        let captcha = false;
        // An embedded auth API beside sessions from a Supabase project: its tokens would
        // verify nowhere.
        #[cfg(all(feature = "auth", feature = "supabase"))]
        let mode_problem = (self.auth_api.is_some()
            && matches!(self.session_source, Some(crate::SessionSource::Supabase(_))))
        .then(|| {
            "App::auth_api serves the embedded auth server, but App::sessions takes sessions \
             from a Supabase project, which would not accept its tokens: drop auth_api in \
             Supabase mode (browsers talk to the project)"
                .to_owned()
        });
        #[cfg(not(all(feature = "auth", feature = "supabase")))]
        let mode_problem = None;
        let problems: Vec<String> = self
            .routes
            .iter()
            .flat_map(|route| route.auth_problems(sessions, captcha))
            .chain(mode_problem)
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(std::io::Error::other(problems.join("\n")))
        }
    }

    /// The app's sessions, built from the source and settings it was given.
    #[cfg(feature = "sessions")]
    fn take_sessions(&mut self) -> Option<crate::session::Sessions> {
        self.session_source.take().map(|source| {
            crate::session::Sessions::new(source, std::mem::take(&mut self.session_config))
        })
    }

    fn check_or_panic(&self) {
        if let Err(problems) = self.check() {
            panic!("{problems}");
        }
    }

    /// The router: generated routes (each behind its own CSRF layer, so a route's `CSRF`
    /// setting applies to it alone), then the token endpoint, then `merge` and `layer` calls
    /// in the order they were made.
    fn build(self) -> Router {
        let csrf = self.csrf.map(CsrfLayer::new);
        let mut routes = self.routes;
        if csrf.is_some() {
            routes.push(Route::new(TOKEN_PATH, "(routekit)", &[TOKEN_PATH]).get(token_endpoint));
        }
        let mut router = route_levels(
            routes,
            csrf.as_ref(),
            #[cfg(feature = "captcha")]
            self.captcha.as_ref(),
        );
        // The auth API first, so every `layer` wraps it as it wraps the routes. It reads only
        // bearer tokens, so no CSRF layer.
        #[cfg(feature = "auth")]
        if let Some(auth) = self.auth_api {
            router = router.merge(routekit_auth::router(auth));
        }
        for step in self.steps {
            router = step(router, csrf.as_ref());
        }
        router
    }
}

/// Parses the `ROUTEKIT_CSRF` switch.
fn csrf_switch(value: Option<&str>) -> Result<bool, String> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "on" | "true" | "1") => Ok(true),
        Some("off" | "false" | "0") => Ok(false),
        Some(_) => Err(format!("{CSRF_VAR} must be `on` or `off`")),
    }
}

/// The generated routes on level 0 and the fallback levels, chained so that each level is
/// tried only when the ones before it have no match.
fn route_levels(
    routes: Vec<Route>,
    csrf: Option<&CsrfLayer>,
    #[cfg(feature = "captcha")] captcha: Option<&routekit_captcha::Captcha>,
) -> Router {
    let exempt = csrf.map(CsrfLayer::exempt);
    let mut levels = vec![Router::new()];
    for route in routes {
        let settings = route.info().settings;
        let layers = Layers {
            csrf: if settings.csrf {
                csrf.cloned()
            } else {
                exempt.clone()
            },
            body_limit: settings.body_limit,
            auth: settings.auth,
            #[cfg(feature = "captcha")]
            captcha: captcha.filter(|_| settings.captcha).cloned(),
        };
        // The layers wrap the exported handlers only: methods the file does not export get
        // their 405 without a CSRF check.
        let (info, mut methods) = route.into_parts(&layers);
        let allow = HeaderValue::from_str(&info.allow).expect("method names are header-safe");
        if !info.methods.contains(&Method::OPTIONS) {
            let allow = allow.clone();
            methods = methods
                .options(move || async move { (StatusCode::NO_CONTENT, [(header::ALLOW, allow)]) });
        }
        methods = methods
            .fallback(move |method: Method| async move { method_not_allowed(&method, allow) });
        for pattern in info.patterns {
            levels[0] = std::mem::take(&mut levels[0]).route(pattern, methods.clone());
        }
        for &(pattern, level) in &info.fallback_patterns {
            if levels.len() <= level {
                levels.resize_with(level + 1, Router::new);
            }
            levels[level] = std::mem::take(&mut levels[level]).route(pattern, methods.clone());
        }
    }
    let mut next: Option<Router> = None;
    for level in levels.into_iter().rev() {
        next = Some(match next {
            Some(next) => level.fallback_service(next),
            None => level.fallback(|| async { ApiError::no_route() }),
        });
    }
    next.expect("level 0 always exists")
}

fn method_not_allowed(method: &Method, allow: HeaderValue) -> Response {
    let mut res = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this URL does not accept {method}"),
    )
    .into_response();
    res.headers_mut().insert(header::ALLOW, allow);
    res
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("manifest", &self.manifest)
            .field("body_limit", &self.body_limit)
            .field("csrf", &self.csrf)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use axum::Extension;
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    #[derive(Clone)]
    struct Greeting(&'static str);

    fn app() -> App {
        async fn greet(Extension(g): Extension<Greeting>) -> &'static str {
            g.0
        }
        let routes = RouteTable::new(vec![Route::new("/", "app/route.rs", &["/"]).get(greet)]);
        App::new(routes).extension(Greeting("hello"))
    }

    async fn body(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn extensions_reach_handlers_through_the_service_and_the_router() {
        let req = || Request::get("/").body(Body::empty()).unwrap();
        let res = app().into_service().oneshot(req()).await.unwrap();
        assert_eq!(body(res).await, "hello");
        let res = app().into_router().oneshot(req()).await.unwrap();
        assert_eq!(body(res).await, "hello");
    }

    #[test]
    fn the_csrf_switch_takes_on_and_off_only() {
        assert_eq!(csrf_switch(None), Ok(true));
        assert_eq!(csrf_switch(Some("ON")), Ok(true));
        assert_eq!(csrf_switch(Some(" off ")), Ok(false));
        assert_eq!(csrf_switch(Some("0")), Ok(false));
        assert!(csrf_switch(Some("no")).is_err());
    }
}
