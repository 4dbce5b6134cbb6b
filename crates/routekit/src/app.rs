//! The app builder: generated routes plus routekit's defaults, ready to serve.

use std::convert::Infallible;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::Route as AxumRoute;
use http::{HeaderValue, Method, StatusCode, header};
use tower::{Layer, Service};

use crate::edge::Edge;
use crate::error::ApiError;
use crate::route::{RouteInfo, RouteTable};

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
    router: Router,
    manifest: Vec<RouteInfo>,
    body_limit: usize,
}

impl App {
    /// An app serving the given routes.
    pub fn new(routes: RouteTable) -> Self {
        // Level 0 holds almost every route; fallback levels are tried in order when nothing
        // on the levels before them matches.
        let mut levels = vec![Router::new()];
        let mut manifest = Vec::new();
        for route in routes.into_routes() {
            let (info, mut methods) = route.into_parts();
            let allow = HeaderValue::from_str(&info.allow).expect("method names are header-safe");
            if !info.methods.contains(&Method::OPTIONS) {
                let allow = allow.clone();
                methods = methods.options(move || async move {
                    (StatusCode::NO_CONTENT, [(header::ALLOW, allow)])
                });
            }
            methods = methods
                .fallback(move |method: Method| async move { method_not_allowed(&method, allow) });
            if let Some(limit) = info.settings.body_limit {
                methods = methods.layer(DefaultBodyLimit::max(limit));
            }
            for pattern in info.patterns {
                levels[0] = std::mem::take(&mut levels[0]).route(pattern, methods.clone());
            }
            for &(pattern, level) in &info.fallback_patterns {
                if levels.len() <= level {
                    levels.resize_with(level + 1, Router::new);
                }
                levels[level] = std::mem::take(&mut levels[level]).route(pattern, methods.clone());
            }
            manifest.push(info);
        }
        let mut next: Option<Router> = None;
        for level in levels.into_iter().rev() {
            next = Some(match next {
                Some(next) => level.fallback_service(next),
                None => {
                    level.fallback(|| async { ApiError::not_found("no route matches this URL") })
                }
            });
        }
        let router = next.expect("level 0 always exists");
        App {
            router,
            manifest,
            body_limit: DEFAULT_BODY_LIMIT,
        }
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
    pub fn merge(mut self, router: Router) -> Self {
        self.router = self.router.merge(router);
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
        self.router = self.router.layer(layer);
        self
    }

    /// The route manifest: every route file with its methods and settings.
    pub fn manifest(&self) -> &[RouteInfo] {
        &self.manifest
    }

    /// The routes as a plain axum `Router`, with the body limit but without request ids,
    /// logs, panic handling or slash redirects (those live in [`App::into_service`]), for
    /// nesting in a larger axum app.
    pub fn into_router(self) -> Router {
        self.router.layer(DefaultBodyLimit::max(self.body_limit))
    }

    /// The whole app as one tower service, as [`App::serve`] runs it.
    ///
    /// ```
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let service = routekit::App::new(routes).into_service();
    /// # fn is_service<S: tower::Service<routekit::axum::extract::Request> + Clone + Send>(_: &S) {}
    /// # is_service(&service);
    /// ```
    pub fn into_service(self) -> Edge<AppService> {
        // One body-limit layer around the whole router, rather than `Router::layer`, which
        // would wrap every route separately; a route's own `BODY_LIMIT` layer still wins.
        Edge::new(DefaultBodyLimit::max(self.body_limit).layer(self.router))
    }
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
            .finish_non_exhaustive()
    }
}
