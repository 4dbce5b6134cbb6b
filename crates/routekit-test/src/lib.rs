//! Test helpers for routekit apps: a real server on `127.0.0.1:0` and a client that keeps
//! cookies and does not follow redirects.
//!
//! ```no_run
//! # async fn t() {
//! use axum::{Router, routing::get};
//! let router = Router::new().route("/hello", get(|| async { "hi" }));
//! let server = routekit_test::TestServer::spawn(router).await;
//! let res = server.get("/hello").send().await.unwrap();
//! assert_eq!(res.status(), 200);
//! # }
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::Request;
use axum::response::Response;
use tokio::sync::oneshot;

/// A server running on a random loopback port for the duration of a test. Dropping it stops
/// the server (gracefully).
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` and serves `service` on it.
    pub async fn spawn<S>(service: S) -> TestServer
    where
        S: tower::Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, tower::make::Shared::new(service))
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .expect("test server failed");
        });
        TestServer {
            addr,
            client: client(),
            shutdown: Some(tx),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The shared client (cookies kept, redirects not followed).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A request with any method, including ones reqwest has no helper for.
    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method token");
        self.client.request(method, self.url(path))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A client like the one [`TestServer`] uses: cookies kept, redirects not followed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build reqwest client")
}
