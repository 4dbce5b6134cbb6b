//! The tower layer: checks every mutation, hands tokens to handlers and pages.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::{HeaderMap, Method, StatusCode, header};
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::config::CsrfConfig;
use crate::context::CsrfContext;
use crate::error::{CsrfError, json_error};
use crate::html;
use crate::origin::{self, CookieSpec};
use crate::source::{self, FIELD_NAME, Found, HEADER_NAME};
use crate::token::CsrfSecret;

static CSRF_HEADER: http::HeaderName = http::HeaderName::from_static(HEADER_NAME);

/// HTML pages larger than this are served without the meta tag rather than buffered.
const MAX_HTML_BYTES: u64 = 8 * 1024 * 1024;

/// Applies [`Csrf`]: every request whose method is not GET, HEAD or OPTIONS needs a valid
/// token (header `X-CSRF-Token`, form field or JSON field `csrf_token`) and must not come
/// from another site, or it gets 403 JSON and the inner service never runs.
///
/// Requests that carry no cookies and authenticate with `Authorization: Bearer` are exempt.
/// Tokens reach pages through the [`CsrfToken`](crate::CsrfToken) extractor, the
/// `<meta name="csrf-token">` tag inserted into every HTML page that has a `<head>`, and
/// [`token_endpoint`](crate::token_endpoint).
///
/// ```
/// use axum::{Router, routing::post};
/// use routekit_csrf::{CsrfConfig, CsrfLayer};
///
/// let csrf = CsrfLayer::new(CsrfConfig::new());
/// let checked = Router::new()
///     .route("/api/items", post(|| async { "created" }))
///     .layer(csrf.clone());
/// // A webhook authenticates with its own signature: tokens are handed out, not checked.
/// let webhooks = Router::new()
///     .route("/api/webhook", post(|| async { "ok" }))
///     .layer(csrf.exempt());
/// let app: Router = checked.merge(webhooks);
/// ```
#[derive(Debug, Clone)]
pub struct CsrfLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: CsrfConfig,
    verify: bool,
    log: Arc<RefusalLog>,
}

/// Refusals are logged at most once a second at WARN, with how many were not: a flood of
/// forged requests (an attack, or a broken client) must not become a flood of log lines, each
/// formatted and written while the attacker waits for nothing. The rest go to DEBUG.
#[derive(Debug)]
struct RefusalLog {
    start: std::time::Instant,
    /// The second (since `start`) of the last WARN line; `u64::MAX` before the first.
    last: std::sync::atomic::AtomicU64,
    /// Refusals since that line.
    suppressed: std::sync::atomic::AtomicU64,
}

impl RefusalLog {
    fn new() -> Arc<Self> {
        Arc::new(RefusalLog {
            start: std::time::Instant::now(),
            last: std::sync::atomic::AtomicU64::new(u64::MAX),
            suppressed: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Whether this refusal gets a WARN line, and how many went unlogged before it.
    fn warn_now(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let second = self.start.elapsed().as_secs();
        let last = self.last.load(Ordering::Relaxed);
        if last != second
            && self
                .last
                .compare_exchange(last, second, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::AcqRel);
        None
    }
}

impl CsrfLayer {
    /// A layer that checks mutations.
    pub fn new(config: CsrfConfig) -> Self {
        CsrfLayer {
            shared: Arc::new(Shared {
                config,
                verify: true,
                log: RefusalLog::new(),
            }),
        }
    }

    /// The same layer for exempt routes: it still hands out tokens and fills in meta tags,
    /// but checks nothing. Wrap the exempt routes with it *instead of* the checking layer
    /// (a checking layer around them would still check). routekit layers each route on its
    /// own, so there `pub const CSRF: bool = false;` in `route.rs` is all it takes.
    pub fn exempt(&self) -> Self {
        CsrfLayer {
            shared: Arc::new(Shared {
                config: self.shared.config.clone(),
                verify: false,
                log: self.shared.log.clone(),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &CsrfConfig {
        &self.shared.config
    }

    /// Whether this layer checks mutations (`false` for [`CsrfLayer::exempt`]).
    pub fn verifies(&self) -> bool {
        self.shared.verify
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = Csrf<S>;

    fn layer(&self, inner: S) -> Csrf<S> {
        Csrf {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The CSRF middleware; see [`CsrfLayer`].
#[derive(Debug, Clone)]
pub struct Csrf<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// GET, HEAD and OPTIONS change nothing; everything else, extension methods included, is
/// checked.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The token check proper. An empty header counts as no token.
fn verify(secret: Option<&CsrfSecret>, token: &str) -> Result<(), CsrfError> {
    if token.is_empty() {
        return Err(CsrfError::TokenMissing);
    }
    match secret {
        Some(secret) if secret.verify(token) => Ok(()),
        _ => Err(CsrfError::TokenInvalid),
    }
}

fn refuse(
    log: &RefusalLog,
    method: &Method,
    uri: &http::Uri,
    error: CsrfError,
    reason: &'static str,
) -> Response {
    // The token and cookie values stay out of the log.
    match log.warn_now() {
        Some(suppressed) => tracing::warn!(
            target: "routekit::csrf",
            code = error.code(),
            reason,
            method = %method,
            path = uri.path(),
            suppressed,
            "CSRF check refused a request",
        ),
        None => tracing::debug!(
            target: "routekit::csrf",
            code = error.code(),
            reason,
            method = %method,
            path = uri.path(),
            "CSRF check refused a request",
        ),
    }
    error.into_response()
}

impl<S> Service<Request> for Csrf<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let config = &self.shared.config;
        let log = &self.shared.log;
        let headers = req.headers();
        let spec = CookieSpec::for_request(headers, req.uri(), config.cookie_mode());
        let secret = origin::cookie(headers, spec.name).and_then(CsrfSecret::from_cookie_value);
        let checked =
            self.shared.verify && !is_safe(req.method()) && !origin::is_bearer_only(headers);
        if checked {
            if let Err(reason) = origin::check(headers, req.uri(), config) {
                let res = refuse(
                    log,
                    req.method(),
                    req.uri(),
                    CsrfError::OriginRejected,
                    reason,
                );
                return ResponseFuture::ready(res);
            }
            match source::header_token(headers, &CSRF_HEADER) {
                Found::One(token) => {
                    if let Err(e) = verify(secret.as_ref(), token) {
                        let res = refuse(log, req.method(), req.uri(), e, "header token");
                        return ResponseFuture::ready(res);
                    }
                }
                Found::Ambiguous => {
                    let error = CsrfError::TokenInvalid;
                    let res = refuse(
                        log,
                        req.method(),
                        req.uri(),
                        error,
                        "different header tokens",
                    );
                    return ResponseFuture::ready(res);
                }
                Found::None => {
                    let Some(kind) = source::body_kind(headers) else {
                        let error = CsrfError::TokenMissing;
                        let res = refuse(log, req.method(), req.uri(), error, "no token");
                        return ResponseFuture::ready(res);
                    };
                    // The token is in the body: read it, check it, then hand the handler a
                    // body it can read again. `call` must use the service polled ready.
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    let log = log.clone();
                    return ResponseFuture::boxed(check_body(inner, req, kind, spec, secret, log));
                }
            }
        }
        let context = CsrfContext::new(spec, secret);
        req.extensions_mut().insert(context.clone());
        ResponseFuture::inner(self.inner.call(req), context)
    }
}

async fn check_body<S>(
    mut inner: S,
    req: Request,
    kind: source::BodyKind,
    spec: CookieSpec,
    secret: Option<CsrfSecret>,
    log: Arc<RefusalLog>,
) -> Result<Response, S::Error>
where
    S: Service<Request, Response = Response>,
{
    let (mut req, bytes) = match source::buffer(req).await {
        Ok(buffered) => buffered,
        Err(res) => return Ok(res),
    };
    let checked = match source::body_token(&kind, &bytes, FIELD_NAME).await {
        Found::One(token) => verify(secret.as_ref(), &token),
        Found::None => Err(CsrfError::TokenMissing),
        Found::Ambiguous => Err(CsrfError::TokenInvalid),
    };
    if let Err(e) = checked {
        return Ok(refuse(&log, req.method(), req.uri(), e, "body token"));
    }
    let context = CsrfContext::new(spec, secret);
    req.extensions_mut().insert(context.clone());
    let res = inner.call(req).await?;
    Ok(finish(res, context).await)
}

/// Whether a response is an HTML page the meta tag can go into: `text/html`, not compressed,
/// of a known size within [`MAX_HTML_BYTES`].
fn wants_meta(res: &Response) -> bool {
    let headers: &HeaderMap = res.headers();
    // Most responses are JSON: a byte comparison settles them before any parsing.
    let is_html = headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.get(..9)
            .is_some_and(|t| t.eq_ignore_ascii_case(b"text/html"))
            && matches!(v.get(9), None | Some(b';' | b' ' | b'\t'))
    });
    if !is_html || res.status() == StatusCode::NOT_MODIFIED {
        return false;
    }
    let encoded = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v != "identity");
    let sized = res
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n > 0 && n <= MAX_HTML_BYTES);
    !encoded && sized
}

async fn finish(res: Response, context: CsrfContext) -> Response {
    let mut res = if wants_meta(&res) {
        with_meta(res, &context).await
    } else {
        res
    };
    context.finish(&mut res);
    res
}

async fn with_meta(res: Response, context: &CsrfContext) -> Response {
    let (mut parts, body) = res.into_parts();
    let page = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::error!(target: "routekit::csrf", error = %e, "HTML response body failed");
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            );
        }
    };
    let body = match html::inject_meta(&page, || context.issue()) {
        Some(page) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(page)
        }
        None => Body::from(page),
    };
    Response::from_parts(parts, body)
}

pin_project! {
    /// The response future of [`Csrf`].
    pub struct ResponseFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        // The common case: no body to read, no page to rewrite.
        Inner { #[pin] fut: F, context: Option<CsrfContext> },
        Boxed { fut: BoxFuture<'static, Result<Response, E>> },
    }
}

impl<F, E> ResponseFuture<F, E> {
    fn inner(fut: F, context: CsrfContext) -> Self {
        ResponseFuture {
            state: State::Inner {
                fut,
                context: Some(context),
            },
        }
    }

    fn boxed(fut: impl Future<Output = Result<Response, E>> + Send + 'static) -> Self {
        ResponseFuture {
            state: State::Boxed { fut: Box::pin(fut) },
        }
    }

    fn ready(res: Response) -> Self
    where
        E: Send + 'static,
    {
        Self::boxed(std::future::ready(Ok(res)))
    }
}

impl<F, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
    E: Send + 'static,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner { fut, context } => {
                    let mut res = ready!(fut.poll(cx))?;
                    let context = context.take().expect("polled after completion");
                    if wants_meta(&res) {
                        let fut = async move { Ok(finish(res, context).await) };
                        this.state.set(State::Boxed { fut: Box::pin(fut) });
                        continue;
                    }
                    context.finish(&mut res);
                    return Poll::Ready(Ok(res));
                }
                StateProj::Boxed { fut } => return fut.as_mut().poll(cx),
            }
        }
    }
}

#[cfg(test)]
mod refusal_log_tests {
    use super::RefusalLog;

    #[test]
    fn a_flood_of_refusals_is_one_warn_line_a_second_with_the_rest_counted() {
        let log = RefusalLog::new();
        let started = std::time::Instant::now();
        let mut warned = Vec::new();
        for _ in 0..10_000 {
            if let Some(suppressed) = log.warn_now() {
                warned.push(suppressed);
            }
        }
        let seconds = started.elapsed().as_secs() + 1;
        // The first refusal is always logged; then at most one line per second.
        assert_eq!(warned[0], 0);
        assert!(warned.len() as u64 <= seconds + 1, "{} lines", warned.len());
        let pending = log.suppressed.load(std::sync::atomic::Ordering::Acquire);
        let counted: u64 = warned.iter().sum::<u64>() + pending + warned.len() as u64;
        assert_eq!(counted, 10_000, "every refusal is either logged or counted");
    }
}
