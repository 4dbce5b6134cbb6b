//! What an app does under `routekit dev`, which starts it with `ROUTEKIT_DEV_STATUS` set:
//! it says on standard output when it serves (the dev loop waits for that line before it
//! stops the old server), and while the last build is broken it shows the errors over every
//! HTML page it serves. The dev loop writes the overlay into the file the variable names
//! and empties it after the next good build. API responses are never touched.
//!
//! Without the variable none of this exists: nothing is read, nothing is wrapped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::header;

/// The variable `routekit dev` names the overlay file in.
pub const DEV_STATUS_VAR: &str = "ROUTEKIT_DEV_STATUS";

/// The line an app under `routekit dev` prints once it serves.
pub const DEV_READY_LINE: &str = "routekit-dev: ready";

/// The largest HTML page an overlay is added to; a larger one is passed on as it is.
const MAX_PAGE: usize = 8 * 1024 * 1024;

/// How long a server handing over waits, after it stops accepting, before it closes the
/// connections that have not sent a request yet: one accepted just before the signal gets to
/// deliver its request and is answered, instead of being closed unanswered.
pub(crate) const HANDOVER_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// The listener of a server under `routekit dev`: it stops accepting the moment the shutdown
/// signal arrives (the next server takes the socket's queue), while the graceful shutdown
/// that would close idle connections waits [`HANDOVER_GRACE`].
pub(crate) struct HandOver {
    listener: Option<tokio::net::TcpListener>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl HandOver {
    pub(crate) fn new(
        listener: tokio::net::TcpListener,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        HandOver {
            listener: Some(listener),
            stop,
        }
    }
}

impl axum::serve::Listener for HandOver {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if *self.stop.borrow() {
                // Closes this process's copy; the socket lives on in the dev loop.
                self.listener = None;
            }
            let Some(listener) = self.listener.as_mut() else {
                return std::future::pending().await;
            };
            tokio::select! {
                accepted = axum::serve::Listener::accept(listener) => return accepted,
                changed = self.stop.changed() => {
                    if changed.is_err() {
                        self.listener = None;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        match &self.listener {
            Some(listener) => listener.local_addr(),
            None => Err(std::io::Error::other("no longer accepting")),
        }
    }
}

/// The overlay file, when the app runs under `routekit dev`.
pub(crate) fn status_file() -> Option<Arc<PathBuf>> {
    std::env::var_os(DEV_STATUS_VAR)
        .filter(|v| !v.is_empty())
        .map(|v| Arc::new(PathBuf::from(v)))
}

/// Tells the dev loop that this process serves.
pub(crate) fn announce_ready() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{DEV_READY_LINE} {}", std::process::id());
    let _ = out.flush();
}

/// `response` with the overlay in `status` added before `</body>` when it is an HTML page
/// and the file holds one; anything else comes back unchanged.
pub(crate) async fn with_overlay(status: &Path, response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    // A small local file, read only under `routekit dev`.
    let overlay = match std::fs::read_to_string(status) {
        Ok(text) if !text.trim().is_empty() => text,
        _ => return response,
    };
    let (mut parts, body) = response.into_parts();
    let page = match axum::body::to_bytes(body, MAX_PAGE).await {
        Ok(page) => page,
        // Too large or broken: the overlay is for development pages, not this one.
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let page = String::from_utf8_lossy(&page);
    let at = page
        .to_ascii_lowercase()
        .rfind("</body>")
        .unwrap_or(page.len());
    let mut out = String::with_capacity(page.len() + overlay.len());
    out.push_str(&page[..at]);
    out.push_str(&overlay);
    out.push_str(&page[at..]);
    parts.headers.remove(header::CONTENT_LENGTH);
    // The page changes with every build: never keep it.
    parts.headers.insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::{Html, IntoResponse};

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn html_pages_get_the_overlay_before_the_end_of_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("status.html");
        std::fs::write(&status, "<div id=\"overlay\">error[E0308]</div>").unwrap();
        let page = Html("<html><body><h1>Hi</h1></BODY></html>").into_response();
        let shown = with_overlay(&status, page).await;
        assert!(shown.headers().get(header::CONTENT_LENGTH).is_none());
        assert_eq!(
            body(shown).await,
            "<html><body><h1>Hi</h1><div id=\"overlay\">error[E0308]</div></BODY></html>"
        );
    }

    #[tokio::test]
    async fn json_and_a_good_build_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("status.html");
        std::fs::write(&status, "<div>broken</div>").unwrap();
        let json = crate::Json(serde_json::json!({"ok": true})).into_response();
        assert_eq!(
            body(with_overlay(&status, json).await).await,
            r#"{"ok":true}"#
        );
        std::fs::write(&status, "").unwrap();
        let page = Html("<p>fine</p>").into_response();
        assert_eq!(body(with_overlay(&status, page).await).await, "<p>fine</p>");
        let missing = dir.path().join("missing.html");
        let page = Html("<p>fine</p>").into_response();
        assert_eq!(
            body(with_overlay(&missing, page).await).await,
            "<p>fine</p>"
        );
    }
}
