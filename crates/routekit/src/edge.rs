//! The outermost service: request ids, request logs, panic recovery and trailing-slash
//! redirects, before routing.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use futures_util::future::{CatchUnwind, FutureExt};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode, Uri, header};
use tower::Service;

use crate::context::{Contexts, RequestContext};
use crate::error::ApiError;

pub use crate::context::REQUEST_ID_HEADER;

/// The id of the current request: the incoming `x-request-id` when it is a sane token,
/// otherwise a fresh one. Echoed on the response and recorded on the request's log span.
///
/// ```
/// use routekit::RequestId;
///
/// pub async fn GET(id: RequestId) -> String {
///     format!("your request is {}", id.as_str())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ever built from visible ASCII.
        self.0.to_str().unwrap_or_default()
    }

    fn from_request(headers: &http::HeaderMap) -> Self {
        if let Some(value) = headers.get(&REQUEST_ID_HEADER) {
            let bytes = value.as_bytes();
            let sane = !bytes.is_empty()
                && bytes.len() <= 128
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b));
            if sane {
                return RequestId(value.clone());
            }
        }
        RequestId::generate()
    }

    /// A process-unique id: a random 64-bit prefix chosen at start-up and a counter. Ids need
    /// to be unique, not secret.
    fn generate() -> Self {
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| {
            let mut bytes = [0u8; 8];
            // Falling back to the time is fine: uniqueness across restarts is best effort.
            if getrandom::fill(&mut bytes).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or_default();
                bytes = nanos.to_le_bytes();
            }
            u64::from_le_bytes(bytes)
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // 16 hex digits of prefix and 8 of counter, written without going through fmt.
        let mut text = [0u8; 24];
        let value = (u128::from(prefix) << 32) | u128::from(n as u32);
        for (i, byte) in text.iter_mut().enumerate() {
            *byte = b"0123456789abcdef"[((value >> ((23 - i) * 4)) & 0xf) as usize];
        }
        // `from_owner` makes the bytes shared from the start, so the clone for the response
        // header is a reference count, not a copy.
        RequestId(
            HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(text))
                .expect("hex is a valid header value"),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .and_then(RequestContext::id)
            .map(|id| RequestId(id.clone()))
            .ok_or_else(|| ApiError::internal("RequestId used outside a routekit app"))
    }
}

/// The outermost service of an [`App`](crate::App): see the module docs. Built by
/// [`App::into_service`](crate::App::into_service).
#[derive(Debug, Clone)]
pub struct Edge<S> {
    inner: S,
    /// Inserts the values from [`App::extension`](crate::App::extension) into a request.
    extensions: Option<Inserters>,
    /// The connection's peer, given to handlers as `ConnectInfo<SocketAddr>`.
    peer: Option<std::net::SocketAddr>,
    /// Makes each request's context (and, with auth, its session scope).
    contexts: Contexts,
    /// Renders a navigation's JSON error as an HTML page ([`App::error_pages`](crate::App::error_pages)).
    error_pages: Option<crate::error_page::Render>,
}

/// Inserts one [`App::extension`](crate::App::extension) value into a request.
pub(crate) type Insert = Box<dyn Fn(&mut http::Extensions) + Send + Sync>;

/// One function per [`App::extension`](crate::App::extension) value, each inserting a clone
/// straight into the request's map (cloning a whole `Extensions` and merging it would build
/// and rehash a second map per request).
#[derive(Clone)]
pub(crate) struct Inserters(std::sync::Arc<[Insert]>);

impl Inserters {
    pub(crate) fn new(inserts: Vec<Insert>) -> Self {
        Inserters(inserts.into())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn apply(&self, extensions: &mut http::Extensions) {
        for insert in self.0.iter() {
            insert(extensions);
        }
    }
}

impl std::fmt::Debug for Inserters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Inserters({})", self.0.len())
    }
}

impl<S> Edge<S> {
    pub(crate) fn new(inner: S, extensions: Inserters) -> Self {
        let extensions = (!extensions.is_empty()).then_some(extensions);
        Edge {
            inner,
            extensions,
            peer: None,
            contexts: Contexts::default(),
            error_pages: None,
        }
    }

    pub(crate) fn with_error_pages(mut self, render: Option<crate::error_page::Render>) -> Self {
        self.error_pages = render;
        self
    }

    pub(crate) fn with_contexts(mut self, contexts: Contexts) -> Self {
        self.contexts = contexts;
        self
    }

    /// The same service for one connection from `peer`: every request gets
    /// `ConnectInfo(peer)`, as axum's `into_make_service_with_connect_info` gives it.
    ///
    /// ```
    /// # let routes = routekit::RouteTable::new(vec![]);
    /// let edge = routekit::App::new(routes)
    ///     .into_service()
    ///     .with_peer("127.0.0.1:4000".parse().unwrap());
    /// ```
    pub fn with_peer(mut self, peer: std::net::SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let id = RequestId::from_request(req.headers());
        // Clock reads and copies for the log line only when it will be written.
        let log = tracing::enabled!(target: "routekit::request", tracing::Level::INFO)
            .then(|| (req.method().clone(), req.uri().clone(), Instant::now()));
        let span = tracing::info_span!(target: "routekit::request", "request", id = id.as_str());

        let context = self.contexts.context(Some(id.0.clone()));
        // Only a navigation can get an error page: the path is kept for it.
        let error_page = match &self.error_pages {
            Some(render) if crate::is_navigation(req.headers()) => Some((
                req.uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned(),
                render.clone(),
            )),
            _ => None,
        };
        let state = if let Some(location) = trailing_slash_redirect(req.uri()) {
            State::Ready {
                response: Some(redirect_308(location)),
            }
        } else {
            req.extensions_mut().insert(context.clone());
            if let Some(extensions) = &self.extensions {
                extensions.apply(req.extensions_mut());
            }
            if let Some(peer) = self.peer {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            let _entered = span.enter();
            // A panic while building the future is caught like one while polling it.
            match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
                Ok(future) => State::Running {
                    future: AssertUnwindSafe(future).catch_unwind(),
                },
                Err(panic) => State::Ready {
                    response: Some(panic_response(panic)),
                },
            }
        };
        EdgeFuture {
            state,
            context,
            log,
            span,
            error_page,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Edge`].
    pub struct EdgeFuture<F> {
        #[pin]
        state: State<F>,
        context: RequestContext,
        log: Option<(Method, Uri, Instant)>,
        span: tracing::Span,
        error_page: Option<(String, crate::error_page::Render)>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: CatchUnwind<AssertUnwindSafe<F>> },
        Ready { response: Option<Response> },
        Rendering { page: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, std::convert::Infallible>>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let _entered = this.span.enter();
        let mut response = loop {
            let response = match this.state.as_mut().project() {
                StateProj::Running { future } => match ready!(future.poll(cx)) {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(panic) => panic_response(panic),
                },
                StateProj::Ready { response } => response.take().expect("polled after completion"),
                StateProj::Rendering { page } => break ready!(page.as_mut().poll(cx)),
            };
            // A navigation's JSON error becomes the app's page: its body is read first.
            match this.error_page.take() {
                Some((path, render)) if crate::error_page::is_json_error(&response) => {
                    let page = crate::error_page::render(response, path, render);
                    this.state.set(State::Rendering { page });
                }
                _ => break response,
            }
        };
        this.context.apply(response.headers_mut());
        if let Some((method, uri, start)) = this.log.take() {
            tracing::info!(
                target: "routekit::request",
                method = %method,
                path = uri.path(),
                status = response.status().as_u16(),
                latency_us = start.elapsed().as_micros() as u64,
                "response"
            );
        }
        Poll::Ready(Ok(response))
    }
}

fn panic_response(panic: Box<dyn Any + Send>) -> Response {
    // The default panic hook has already printed the message; the client learns nothing.
    let _ = panic;
    tracing::error!(target: "routekit::request", "handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
    .into_response()
}

/// `/hello/` → `/hello` (query kept), as Next.js does by default. Leading runs of `/` or `\`
/// collapse to one `/` so that `//evil.example/` can never become a protocol-relative
/// `Location`.
fn trailing_slash_redirect(uri: &Uri) -> Option<String> {
    let path = uri.path();
    if path.len() <= 1 || !path.ends_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/').trim_start_matches(['/', '\\']);
    let mut location = String::with_capacity(path.len() + 1);
    location.push('/');
    location.push_str(trimmed);
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    Some(location)
}

fn redirect_308(location: String) -> Response {
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => {
            ApiError::bad_request("invalid_path", "the request path is not valid").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(uri: &str) -> Option<String> {
        trailing_slash_redirect(&uri.parse().unwrap())
    }

    #[test]
    fn trailing_slashes_redirect_and_keep_the_query() {
        assert_eq!(redirect("/hello/").as_deref(), Some("/hello"));
        assert_eq!(redirect("/a/b//?x=1&y").as_deref(), Some("/a/b?x=1&y"));
        assert_eq!(redirect("/"), None);
        assert_eq!(redirect("/hello"), None);
    }

    #[test]
    fn redirects_never_leave_the_site() {
        assert_eq!(
            redirect("//evil.example/").as_deref(),
            Some("/evil.example")
        );
        assert_eq!(
            redirect("/\\evil.example/").as_deref(),
            Some("/evil.example")
        );
        assert_eq!(redirect("///").as_deref(), Some("/"));
    }

    #[test]
    fn incoming_request_ids_are_kept_only_when_sane() {
        let mut h = http::HeaderMap::new();
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(RequestId::from_request(&h).as_str(), "abc-123");
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("a b<script>"));
        assert_ne!(RequestId::from_request(&h).as_str(), "a b<script>");
        assert_ne!(RequestId::generate(), RequestId::generate());
    }
}
