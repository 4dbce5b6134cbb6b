//! The request context: what routekit gives each request in one extension (its id and, with
//! auth, its session scope), and what it puts on each response (the id, the security headers,
//! rewritten session cookies). The edge makes one per request from [`Contexts`], without
//! knowing what a session is.

use http::{HeaderName, HeaderValue, header};

/// The request id header, read from a proxy when valid and always set on the response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The app's sessions (with the `auth` feature), or nothing to hold.
#[cfg(feature = "sessions")]
pub(crate) type Sessions = crate::session::Sessions;
/// The app's sessions (with the `auth` feature), or nothing to hold.
#[cfg(not(feature = "sessions"))]
pub(crate) type Sessions = std::convert::Infallible;

/// Makes the context of each request of one app.
#[derive(Clone, Default)]
pub(crate) struct Contexts {
    sessions: Option<Sessions>,
}

impl std::fmt::Debug for Contexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contexts")
            .field("sessions", &self.sessions.is_some())
            .finish()
    }
}

impl Contexts {
    /// Contexts with the app's sessions, if it has auth.
    pub(crate) fn new(sessions: Option<Sessions>) -> Self {
        Contexts { sessions }
    }

    /// A new request's context.
    pub(crate) fn context(&self, id: Option<HeaderValue>) -> RequestContext {
        RequestContext::new(id, self.sessions.as_ref())
    }
}

/// What routekit gives each request, in one allocation and one extension: its id and, in an
/// app with auth, its session scope. Every extension costs a boxed value and a slot in the
/// request's map (which grows, and rehashes, at 4 and 8 entries), so routekit keeps to one.
#[derive(Clone)]
pub(crate) struct RequestContext(std::sync::Arc<ContextInner>);

struct ContextInner {
    /// The request id; `None` under [`App::into_router`](crate::App::into_router), which has
    /// no edge.
    id: Option<HeaderValue>,
    #[cfg(feature = "sessions")]
    session: Option<crate::session::SessionScope>,
}

impl RequestContext {
    pub(crate) fn new(id: Option<HeaderValue>, sessions: Option<&Sessions>) -> Self {
        #[cfg(not(feature = "sessions"))]
        let _: Option<&Sessions> = sessions;
        RequestContext(std::sync::Arc::new(ContextInner {
            id,
            #[cfg(feature = "sessions")]
            session: sessions.map(|s| crate::session::SessionScope::new(s.clone())),
        }))
    }

    /// The request id (set by the edge).
    pub(crate) fn id(&self) -> Option<&HeaderValue> {
        self.0.id.as_ref()
    }

    #[cfg(feature = "sessions")]
    pub(crate) fn session(&self) -> Option<&crate::session::SessionScope> {
        self.0.session.as_ref()
    }

    /// Puts what the request collected on its response: the id header, any cookies, and the
    /// security headers.
    pub(crate) fn apply(&self, headers: &mut http::HeaderMap) {
        if let Some(id) = &self.0.id {
            headers.insert(REQUEST_ID_HEADER, id.clone());
        }
        security_headers(headers);
        #[cfg(feature = "sessions")]
        if let Some(session) = &self.0.session {
            session.apply(headers);
        }
    }
}

/// Headers every response gets unless its handler set its own:
/// `X-Content-Type-Options: nosniff` (a JSON or text body is never run as a script or
/// rendered as HTML by a browser that guesses), and on HTML pages
/// `Content-Security-Policy: frame-ancestors 'self'` with `X-Frame-Options: SAMEORIGIN` for
/// older browsers, so another site cannot frame a sign-in or MFA form and trick clicks into
/// it (clickjacking). A page that must be framed sets its own policy.
fn security_headers(headers: &mut http::HeaderMap) {
    static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
    static FRAME_ANCESTORS: HeaderValue = HeaderValue::from_static("frame-ancestors 'self'");
    static SAMEORIGIN: HeaderValue = HeaderValue::from_static("SAMEORIGIN");
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert_with(|| NOSNIFF.clone());
    let html = headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .get(..9)
            .is_some_and(|t| t.eq_ignore_ascii_case(b"text/html"))
    });
    if html {
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(header::CONTENT_SECURITY_POLICY, FRAME_ANCESTORS.clone());
        }
        headers
            .entry(header::X_FRAME_OPTIONS)
            .or_insert_with(|| SAMEORIGIN.clone());
    }
}
