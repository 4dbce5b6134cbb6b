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
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::Request;
use axum::response::Response;
use tokio::sync::oneshot;

mod captcha;
mod smtp;
pub use captcha::{CaptchaAsk, FakeCaptcha};
pub use smtp::{ReceivedMail, SmtpSink, closed_port};

/// Asserts that `res` is routekit's JSON error with `status` and `code` (and a message), and
/// returns its headers (for `Allow`, `Retry-After`, …).
///
/// ```no_run
/// # async fn t(server: routekit_test::TestServer) {
/// let res = server.get("/nowhere").send().await.unwrap();
/// routekit_test::assert_error(res, 404, "not_found").await;
/// # }
/// ```
pub async fn assert_error(
    res: reqwest::Response,
    status: u16,
    code: &str,
) -> reqwest::header::HeaderMap {
    assert_eq!(
        res.status().as_u16(),
        status,
        "status for expected `{code}`"
    );
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.expect("JSON error body");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "body: {body}"
    );
    headers
}

/// Counts a handler's calls, shared between the test and the handler: every refusal a test
/// makes must leave the count where it was.
///
/// ```
/// let calls = routekit_test::Calls::default();
/// let handler = {
///     let calls = calls.clone();
///     move || {
///         calls.hit();
///         async { "ran" }
///     }
/// };
/// # let _ = handler();
/// assert_eq!(calls.get(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    /// How many calls so far.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Counts one call.
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A server running on a random loopback port for the duration of a test. Dropping it stops
/// the server (gracefully).
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    /// What the server needs for as long as it runs (its database).
    kept: Vec<Keep>,
}

/// Something a [`TestServer`] holds until it stops.
struct Keep(#[allow(dead_code)] Box<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keep(..)")
    }
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
        TestServer::reserve().await.spawn(service).await
    }

    /// Binds `127.0.0.1:0` without serving yet, for a service that must know its own URL
    /// (an auth server's token issuer).
    ///
    /// ```no_run
    /// # async fn t() {
    /// let reserved = routekit_test::TestServer::reserve().await;
    /// let issuer = reserved.url("/auth/v1");
    /// let server = reserved.spawn(axum::Router::new()).await;
    /// # }
    /// ```
    pub async fn reserve() -> Reserved {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Reserved { listener }
    }
}

/// A bound port with nothing served on it yet; see [`TestServer::reserve`].
#[derive(Debug)]
pub struct Reserved {
    listener: tokio::net::TcpListener,
}

impl Reserved {
    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            self.listener.local_addr().expect("local address")
        )
    }

    /// Serves `service` on the port.
    pub async fn spawn<S>(self, service: S) -> TestServer
    where
        S: tower::Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send,
    {
        let listener = self.listener;
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        // Like routekit's own server: each request knows its peer (`ConnectInfo<SocketAddr>`).
        let make = tower::service_fn(
            move |stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>| {
                use tower::ServiceExt;
                let peer = *stream.remote_addr();
                let service = service.clone().map_request(move |mut req: Request| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    req
                });
                std::future::ready(Ok::<_, Infallible>(service))
            },
        );
        tokio::spawn(async move {
            axum::serve(listener, make)
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
            kept: Vec::new(),
        }
    }
}

impl TestServer {
    /// Fetches a CSRF token from `GET /_routekit/csrf` (which also sets the secret cookie in
    /// the client's jar) and returns a server whose client sends it as `X-CSRF-Token` on
    /// every request, as a page using `csrfFetch()` would.
    ///
    /// ```no_run
    /// # async fn t(app: routekit_test::TestServer) {
    /// let server = app.with_csrf().await;
    /// let res = server.post("/api/items").json(&serde_json::json!({"name": "a"})).send().await.unwrap();
    /// # }
    /// ```
    pub async fn with_csrf(mut self) -> TestServer {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let fetch = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()
            .expect("build reqwest client");
        let res = fetch
            .get(self.url("/_routekit/csrf"))
            .send()
            .await
            .expect("GET /_routekit/csrf");
        assert_eq!(res.status(), 200, "GET /_routekit/csrf");
        let body: serde_json::Value = res.json().await.expect("CSRF token JSON");
        let token = body["csrfToken"].as_str().expect("csrfToken").to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-csrf-token", token.parse().expect("header-safe token"));
        self.client = reqwest::Client::builder()
            .cookie_provider(jar)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("build reqwest client");
        self
    }

    /// Keeps `value` (the server's [`TestDb`], say) until the server is dropped.
    ///
    /// ```no_run
    /// # async fn t(service: axum::Router) {
    /// let db = routekit_test::TestDb::sqlite();
    /// let server = routekit_test::TestServer::spawn(service).await.keep(db);
    /// # }
    /// ```
    pub fn keep(mut self, value: impl std::any::Any + Send + Sync) -> TestServer {
        self.kept.push(Keep(Box::new(value)));
        self
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

/// A server binary started with `PORT=0`, its URL read from its `listening on …` log line.
///
/// ```no_run
/// # async fn t() {
/// let mut server = routekit_test::ServerProcess::start("target/debug/saas", &[]).await;
/// let res = reqwest::get(format!("{}/hello", server.url())).await.unwrap();
/// assert!(server.terminate().await.success());
/// # }
/// ```
#[derive(Debug)]
pub struct ServerProcess {
    child: tokio::process::Child,
    url: String,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl ServerProcess {
    /// Starts `bin` with `PORT=0`, `NO_COLOR=1`, `RUST_LOG=info` and `env`, and waits for the
    /// line that says where it listens. The process is killed if this value is dropped.
    pub async fn start(bin: impl AsRef<std::ffi::OsStr>, env: &[(&str, &str)]) -> ServerProcess {
        use tokio::io::AsyncBufReadExt;
        let mut command = tokio::process::Command::new(bin);
        command
            .env("PORT", "0")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start the server binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next_line()
                .await
                .expect("read server output")
                .expect("server exited before listening");
            if let Some(at) = line.find("listening on ") {
                break line[at + "listening on ".len()..].trim().to_owned();
            }
        };
        ServerProcess { child, url, lines }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id (to read its `/proc` entries, say).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("server still running")
    }

    /// The next line the server writes to stdout (its log), or `None` once it has exited.
    pub async fn next_line(&mut self) -> Option<String> {
        self.lines.next_line().await.ok().flatten()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("server still running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        self.child.wait().await.expect("wait for the server")
    }
}

/// A real database for one test: a SQLite file in a temporary folder, or a fresh, randomly
/// named PostgreSQL database (from `ROUTEKIT_TEST_PG_URL`) that is dropped afterwards.
///
/// ```no_run
/// # async fn t() {
/// let db = routekit_test::TestDb::sqlite();
/// let url = db.url(); // sqlite:///tmp/…/test.db
/// if let Some(pg) = routekit_test::TestDb::postgres().await {
///     let url = pg.url(); // postgres://…/routekit_test_…
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A SQLite file in a new temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A new PostgreSQL database, or `None` (with a note on stderr) when
    /// `ROUTEKIT_TEST_PG_URL` is not set. Under `CI=true` a missing server is a failure.
    pub async fn postgres() -> Option<TestDb> {
        use sqlx::Connection;
        let Ok(admin) = std::env::var("ROUTEKIT_TEST_PG_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "ROUTEKIT_TEST_PG_URL is not set and CI=true: PostgreSQL tests cannot be skipped"
            );
            eprintln!("skipped: PostgreSQL test (ROUTEKIT_TEST_PG_URL is not set)");
            return None;
        };
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).expect("random database name");
        let name = format!(
            "routekit_test_{}",
            suffix
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to ROUTEKIT_TEST_PG_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(TestDb {
            url: format!("{base}/{name}"),
            _dir: None,
            postgres: Some((admin, name)),
        })
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A TCP proxy in front of a real server, to cut the connection and bring it back: a database
/// outage without stopping the shared database.
///
/// ```no_run
/// # async fn t() {
/// let proxy = routekit_test::TcpProxy::start("127.0.0.1:5432").await;
/// let url = format!("postgres://postgres@{}/test", proxy.addr());
/// proxy.cut().await; // connections drop, new ones are refused
/// proxy.restore().await; // the same address works again
/// # }
/// ```
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    target: String,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl TcpProxy {
    /// Listens on `127.0.0.1:0` and forwards every connection to `target`.
    pub async fn start(target: &str) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let proxy = TcpProxy {
            addr,
            target: target.to_owned(),
            task: tokio::sync::Mutex::new(None),
        };
        *proxy.task.lock().await = Some(Self::run(listener, proxy.target.clone()));
        proxy
    }

    fn run(listener: tokio::net::TcpListener, target: String) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            // Dropping this task (on `cut`) drops the listener and every connection with it.
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listener and every open connection.
    pub async fn cut(&self) {
        if let Some(task) = self.task.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens on the same address again.
    pub async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind the proxy address");
        *self.task.lock().await = Some(Self::run(listener, self.target.clone()));
    }
}

/// Runs each named `async fn(TestDb)` as two tests, `name::sqlite` and `name::postgres`; the
/// PostgreSQL one says it was skipped when `ROUTEKIT_TEST_PG_URL` is not set (and fails
/// under `CI=true`).
///
/// ```no_run
/// use routekit_test::{TestDb, on_both_databases};
///
/// on_both_databases!(store_round_trips);
///
/// async fn store_round_trips(db: TestDb) {
///     let url = db.url();
///     // … connect and assert …
/// }
/// ```
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::TestDb::sqlite()).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(db) = $crate::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}
