//! The route table the generator emits, and the manifest the runtime lists.

use std::convert::Infallible;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter};
use http::Method;
use routekit_csrf::CsrfLayer;
use tower::{Layer, Service};

/// One route file: its URL, its handlers and its settings. Built by generated code.
///
/// ```
/// use routekit::Route;
///
/// async fn hello() -> &'static str { "hi" }
///
/// let route = Route::new("/hello", "app/hello/route.rs", &["/hello"]).get(hello);
/// assert_eq!(route.info().allow, "GET, HEAD, OPTIONS");
/// ```
#[must_use]
pub struct Route {
    url: &'static str,
    file: &'static str,
    patterns: &'static [&'static str],
    fallback_patterns: Vec<(&'static str, usize)>,
    methods: Vec<Method>,
    endpoints: Vec<Endpoint>,
    settings: RouteSettings,
    /// Handlers whose extractors need the app's auth, and which.
    needs: Vec<(Method, Needs)>,
}

/// What a handler's extractors need from the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Sessions (`Session`, `Option<Session>`, `SessionCookie`): `App::sessions`.
    Sessions,
    /// The embedded auth server (`AuthApi`): `App::sessions(AuthService)`.
    EmbeddedAuth,
}

impl Needs {
    /// Read off the handler's extractor types, as the compiler names them. Only routekit's own
    /// paths match, so a type of the app's that happens to be called `Session` never does; a
    /// compiler that spelled them otherwise would leave the check to request time, as before.
    fn of<T: 'static>() -> Option<Needs> {
        let name = std::any::type_name::<T>();
        if name.contains("routekit::session::AuthApi") {
            Some(Needs::EmbeddedAuth)
        } else if name.contains("routekit::session::Session") {
            Some(Needs::Sessions)
        } else {
            None
        }
    }
}

/// A handler waiting for the route's layers: wrapping the handler itself, before axum boxes
/// it, costs one boxed service per request instead of one per layer.
type Endpoint = Box<dyn FnOnce(&Layers) -> MethodRouter + Send>;

/// What the app wraps every handler of a route in.
#[derive(Default)]
pub(crate) struct Layers {
    pub(crate) csrf: Option<CsrfLayer>,
    pub(crate) body_limit: Option<usize>,
    /// Without the `auth` feature a route that needs a session never serves (`App::check`).
    #[cfg_attr(not(feature = "sessions"), allow(dead_code))]
    pub(crate) auth: Auth,
    /// The app's verifier, for a route with `CAPTCHA = true`.
    #[cfg(feature = "captcha")]
    pub(crate) captcha: Option<routekit_captcha::Captcha>,
}

impl Layers {
    fn endpoint<S>(&self, filter: MethodFilter, svc: S) -> MethodRouter
    where
        S: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        // Without the `auth` feature such a route never serves: `App::check` refuses to start.
        #[cfg(feature = "sessions")]
        if self.auth.needs_session() {
            // Inside the CSRF layer: a forged request is refused before any session lookup.
            let guard = crate::session::RequireSession::new(svc, self.auth.role());
            return self.guarded(filter, guard);
        }
        self.guarded(filter, svc)
    }

    /// The captcha check, between the CSRF layer and the session check: a forged request
    /// never spends a captcha token, and no session is looked up without a human.
    fn guarded<S>(&self, filter: MethodFilter, svc: S) -> MethodRouter
    where
        S: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        #[cfg(feature = "captcha")]
        if let Some(captcha) = &self.captcha {
            return self.wrapped(
                filter,
                crate::captcha_guard::CaptchaGuard::new(captcha.clone(), svc),
            );
        }
        self.wrapped(filter, svc)
    }

    fn wrapped<S>(&self, filter: MethodFilter, svc: S) -> MethodRouter
    where
        S: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let router = MethodRouter::new();
        match (&self.csrf, self.body_limit) {
            // The body limit goes outside: the CSRF layer reads form and JSON bodies within it.
            (Some(csrf), Some(limit)) => {
                router.on_service(filter, DefaultBodyLimit::max(limit).layer(csrf.layer(svc)))
            }
            (Some(csrf), None) => router.on_service(filter, csrf.layer(svc)),
            (None, Some(limit)) => {
                router.on_service(filter, DefaultBodyLimit::max(limit).layer(svc))
            }
            (None, None) => router.on_service(filter, svc),
        }
    }
}

/// Per-route settings, declared as `pub const` items in `route.rs`.
///
/// ```
/// let settings = routekit::RouteSettings::default();
/// assert_eq!(settings.body_limit, None);
/// assert!(settings.csrf, "mutations are CSRF-checked unless a route says otherwise");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteSettings {
    /// `pub const BODY_LIMIT: usize`: the largest body this route accepts, overriding the
    /// app-wide limit.
    pub body_limit: Option<usize>,
    /// `pub const CSRF: bool`: whether the route's mutations need a CSRF token (default
    /// `true`; `false` for webhooks that authenticate with a signature instead).
    pub csrf: bool,
    /// `pub const AUTH: Auth`: whether every handler of the file needs a session.
    pub auth: Auth,
    /// `pub const CAPTCHA: bool`: whether the route's mutations need a captcha token
    /// (default `false`; the app needs `App::captcha`).
    pub captcha: bool,
}

impl Default for RouteSettings {
    fn default() -> Self {
        RouteSettings {
            body_limit: None,
            csrf: true,
            auth: Auth::Public,
            captcha: false,
        }
    }
}

/// Who may call a route file's handlers, declared as `pub const AUTH: Auth` in `route.rs`.
///
/// ```
/// // app/account/route.rs: every handler of this file needs a session
/// pub const AUTH: routekit::Auth = routekit::Auth::Required;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Anyone (the default); handlers may still take `Session` or `Option<Session>`.
    #[default]
    Public,
    /// A [`Session`](crate::Session) that meets the MFA rule, checked before any handler of
    /// the file runs (after the CSRF check), with the same redirects and JSON errors.
    Required,
    /// A session whose user holds this role: `app_metadata.role` as the auth store has it
    /// (never a cookie's or a token's copy), checked as
    /// [`Session::require_role`](crate::Session::require_role) does. Makerkit's super admin: a user with a verified factor
    /// must be at `aal2`, and one without a factor is not let in either, unless
    /// [`RolePolicy::require_factor`](crate::RolePolicy) says otherwise. Others get the app's
    /// own 404 `not_found`, as if the route did not exist (or 403 `forbidden`, see
    /// [`RolePolicy`](crate::RolePolicy)); no session still gets the sign-in redirect or 401.
    ///
    /// ```
    /// // app/api/admin/users/route.rs
    /// pub const AUTH: routekit::Auth = routekit::Auth::Role("super-admin");
    /// ```
    Role(&'static str),
}

impl Auth {
    /// Whether the route needs a session (any value but [`Auth::Public`]).
    ///
    /// ```
    /// assert!(routekit::Auth::Role("admin").needs_session());
    /// assert!(!routekit::Auth::Public.needs_session());
    /// ```
    pub fn needs_session(self) -> bool {
        !matches!(self, Auth::Public)
    }

    /// The role the route needs, if any.
    pub fn role(self) -> Option<&'static str> {
        match self {
            Auth::Role(role) => Some(role),
            _ => None,
        }
    }
}

/// What the manifest says of one route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The URL as the folders spell it: `/users/[id]`.
    pub url: &'static str,
    /// The route file, relative to the crate: `app/users/[id]/route.rs`.
    pub file: &'static str,
    /// The router patterns serving it: `/users/{id}`.
    pub patterns: &'static [&'static str],
    /// Catch-all patterns served from a fallback level (see [`Route::fallback_pattern`]).
    pub fallback_patterns: Vec<(&'static str, usize)>,
    /// The methods the file exports, in `Allow` order.
    pub methods: Vec<Method>,
    /// The `Allow` header value: exported methods, `HEAD` with `GET`, and `OPTIONS`.
    pub allow: String,
    /// The declared settings.
    pub settings: RouteSettings,
}

macro_rules! method_fns {
    ($($(#[$doc:meta])* $name:ident => $method:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name<H, T>(mut self, handler: H) -> Self
            where
                H: Handler<T, ()>,
                T: 'static,
            {
                self.methods.push(Method::$method);
                if let Some(needs) = Needs::of::<T>() {
                    self.needs.push((Method::$method, needs));
                }
                self.endpoints.push(Box::new(move |layers: &Layers| {
                    layers.endpoint(MethodFilter::$method, handler.with_state(()))
                }));
                self
            }
        )*
    };
}

impl Route {
    /// A route with no handlers yet.
    pub fn new(url: &'static str, file: &'static str, patterns: &'static [&'static str]) -> Self {
        Route {
            url,
            file,
            patterns,
            fallback_patterns: Vec::new(),
            methods: Vec::new(),
            endpoints: Vec::new(),
            settings: RouteSettings::default(),
            needs: Vec::new(),
        }
    }

    /// Why this route cannot work in an app without sessions (`sessions`: whether it has
    /// `App::sessions`): one line per problem, naming the file and the fix.
    pub(crate) fn auth_problems(&self, sessions: bool, captcha: bool) -> Vec<String> {
        let fix = if cfg!(feature = "sessions") {
            "call App::sessions(AuthService or SupabaseAuth) before serving"
        } else {
            "enable routekit's `auth` (or `supabase`) feature and call App::sessions(…) before serving"
        };
        let mut problems = Vec::new();
        if self.settings.captcha && !captcha {
            let fix = if cfg!(feature = "captcha") {
                "call App::captcha(Captcha) before serving"
            } else {
                "enable routekit's `captcha` feature and call App::captcha(Captcha) before serving"
            };
            problems.push(format!(
                "{}: `pub const CAPTCHA: bool = true` needs a captcha provider, but the app has none: {fix}",
                self.file
            ));
        }
        if self.settings.auth.needs_session() && !sessions {
            let setting = match self.settings.auth {
                Auth::Role(role) => format!("Auth::Role({role:?})"),
                _ => "Auth::Required".to_owned(),
            };
            problems.push(format!(
                "{}: `pub const AUTH: Auth = {setting}` needs sessions, but the app has no auth: {fix}",
                self.file
            ));
        }
        for (method, needs) in &self.needs {
            match needs {
                Needs::Sessions if !sessions => problems.push(format!(
                    "{}: {method} takes a `Session` or `SessionCookie`, but the app has no auth: {fix}",
                    self.file
                )),
                // In Supabase mode such a page answers 501: it is the app's choice to serve
                // both modes from one set of files, as the example does.
                Needs::EmbeddedAuth if !sessions => problems.push(format!(
                    "{}: {method} takes `AuthApi`, which needs the embedded auth server: call App::sessions(AuthService) before serving",
                    self.file
                )),
                _ => {}
            }
        }
        problems
    }

    method_fns! {
        /// Adds the `GET` handler; it also answers `HEAD` unless one is exported.
        get => GET,
        /// Adds the `POST` handler.
        post => POST,
        /// Adds the `PUT` handler.
        put => PUT,
        /// Adds the `PATCH` handler.
        patch => PATCH,
        /// Adds the `DELETE` handler.
        delete => DELETE,
        /// Adds a `HEAD` handler, replacing the one derived from `GET`.
        head => HEAD,
        /// Adds an `OPTIONS` handler, replacing the automatic 204.
        options => OPTIONS,
    }

    /// Serves a catch-all `pattern` from fallback router `level` (1, 2, …): it is tried only
    /// when no route of a lower level matches. The generator uses this where axum's router
    /// cannot hold a catch-all next to a dynamic sibling (`[...slug]` beside `[id]`), which
    /// keeps "dynamic beats catch-all".
    ///
    /// ```
    /// # async fn h() {}
    /// let route = routekit::Route::new("/docs/[...slug]", "app/docs/[...slug]/route.rs", &[])
    ///     .fallback_pattern("/docs/{*slug}", 1)
    ///     .get(h);
    /// assert_eq!(route.info().fallback_patterns, [("/docs/{*slug}", 1)]);
    /// ```
    pub fn fallback_pattern(mut self, pattern: &'static str, level: usize) -> Self {
        self.fallback_patterns.push((pattern, level));
        self
    }

    /// Sets the largest request body this route accepts.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.settings.body_limit = Some(bytes);
        self
    }

    /// Whether every handler of the route needs a session.
    ///
    /// ```
    /// # async fn h() {}
    /// let route = routekit::Route::new("/account", "app/account/route.rs", &["/account"])
    ///     .get(h)
    ///     .auth(routekit::Auth::Required);
    /// assert_eq!(route.info().settings.auth, routekit::Auth::Required);
    /// ```
    pub fn auth(mut self, auth: Auth) -> Self {
        self.settings.auth = auth;
        self
    }

    /// Whether the route's mutations need a CSRF token; `false` exempts them (the route
    /// still hands out tokens and fills in meta tags).
    ///
    /// ```
    /// # async fn h() {}
    /// let route = routekit::Route::new("/api/webhook", "app/api/webhook/route.rs", &["/api/webhook"])
    ///     .post(h)
    ///     .csrf(false);
    /// assert!(!route.info().settings.csrf);
    /// ```
    pub fn csrf(mut self, checked: bool) -> Self {
        self.settings.csrf = checked;
        self
    }

    /// Whether the route's mutations need a captcha token (`pub const CAPTCHA: bool`),
    /// verified by the app's [`App::captcha`](crate::App) after the CSRF check and before
    /// the session and the handler: missing 400 `captcha_required`, refused or reused 403
    /// `captcha_invalid`, provider down or slow 503 `captcha_unavailable`.
    ///
    /// ```
    /// # async fn h() {}
    /// let route = routekit::Route::new("/api/contact", "app/api/contact/route.rs", &["/api/contact"])
    ///     .post(h)
    ///     .captcha(true);
    /// assert!(route.info().settings.captcha);
    /// ```
    pub fn captcha(mut self, required: bool) -> Self {
        self.settings.captcha = required;
        self
    }

    /// The manifest entry.
    pub fn info(&self) -> RouteInfo {
        let mut methods = self.methods.clone();
        methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        RouteInfo {
            url: self.url,
            file: self.file,
            patterns: self.patterns,
            fallback_patterns: self.fallback_patterns.clone(),
            allow: allow(&methods),
            methods,
            settings: self.settings.clone(),
        }
    }

    /// The manifest entry and the handlers, each wrapped in `layers`.
    pub(crate) fn into_parts(self, layers: &Layers) -> (RouteInfo, MethodRouter) {
        let info = self.info();
        let router = self
            .endpoints
            .into_iter()
            .fold(MethodRouter::new(), |router, endpoint| {
                router.merge(endpoint(layers))
            });
        (info, router)
    }
}

/// `Allow` lists the exported methods, `HEAD` where `GET` is, and `OPTIONS`, sorted and joined
/// with `", "` as Next.js does.
fn allow(methods: &[Method]) -> String {
    let mut all: Vec<&str> = methods.iter().map(Method::as_str).collect();
    if methods.contains(&Method::GET) {
        all.push("HEAD");
    }
    all.push("OPTIONS");
    all.sort_unstable();
    all.dedup();
    all.join(", ")
}

/// All routes of an app, as generated from `app/`; also the route manifest.
///
/// ```
/// use routekit::{Route, RouteTable};
///
/// async fn ok() {}
/// let table = RouteTable::new(vec![Route::new("/a", "app/a/route.rs", &["/a"]).post(ok)]);
/// let manifest = table.manifest();
/// assert_eq!(manifest[0].url, "/a");
/// assert_eq!(manifest[0].allow, "OPTIONS, POST");
/// ```
#[must_use]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of the given routes.
    pub fn new(routes: Vec<Route>) -> Self {
        RouteTable { routes }
    }

    /// One entry per route file, in URL order.
    pub fn manifest(&self) -> Vec<RouteInfo> {
        self.routes.iter().map(Route::info).collect()
    }

    pub(crate) fn into_routes(self) -> Vec<Route> {
        self.routes
    }
}

impl std::fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.manifest()).finish()
    }
}
