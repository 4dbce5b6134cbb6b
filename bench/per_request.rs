//! What one request costs inside the server, without the network: the example app's
//! service (`App::into_service`, as `routekit::serve` runs it) and the hand-written axum
//! baseline (`routekit_bench::router`) are called in-process, alternately, on one thread,
//! and each request's response body is read to the end. It prints the median time per
//! request, allocations per request, and the ratios.
//!
//! The load benchmarks (`bench/session.sh`, `bench/load.sh`) give the figures that count;
//! this one shows where a difference comes from, with far less noise: hyper's parsing and
//! the kernel's sockets, the same for both servers, are left out. It never fails on a timing.
//!
//! `cargo bench -p routekit-bench --bench per_request` (`ROUNDS`, default 7; `REQUESTS` per
//! round and scenario, default 20000; `ONLY=notes` runs the scenarios whose name contains
//! `notes`, for a profiler). `bench/tests/per_request.rs` runs it once with 20 requests per
//! scenario among the workspace's tests: every scenario must still answer as expected.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::response::Response;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::{Service, ServiceExt};

/// Counts allocations per thread: a thread-local add, so counting costs next to nothing and
/// the timings stay those of the system allocator.
#[global_allocator]
static ALLOCATOR: densa_alloc::CountingAllocator = densa_alloc::CountingAllocator::system();

/// One request to replay, as a client would send it.
#[derive(Clone)]
struct Probe {
    method: Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
    expect: StatusCode,
}

impl Probe {
    fn new(method: Method, uri: &'static str, expect: StatusCode) -> Self {
        let mut headers = http::HeaderMap::new();
        // HTTP/1.1 requests always name their host.
        headers.insert(
            header::HOST,
            http::HeaderValue::from_static("127.0.0.1:3000"),
        );
        Probe {
            method,
            uri: http::Uri::from_static(uri),
            headers,
            body: Bytes::new(),
            expect,
        }
    }

    fn get(uri: &'static str) -> Self {
        Probe::new(Method::GET, uri, StatusCode::OK)
    }

    fn header(mut self, name: header::HeaderName, value: &str) -> Self {
        self.headers
            .append(name, value.parse().expect("a valid header value"));
        self
    }

    fn body(mut self, body: &'static [u8]) -> Self {
        self.body = Bytes::from_static(body);
        self
    }

    /// The request as hyper hands it to a service: parts filled in place, no builder.
    fn request(&self) -> Request<Body> {
        let mut req = Request::new(Body::from(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// Sends one request and reads the whole response.
async fn send<S>(service: &S, req: Request<Body>) -> (StatusCode, http::HeaderMap, Bytes)
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    let res = service.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("a readable body").to_bytes();
    (parts.status, parts.headers, body)
}

/// Time and allocations per request over `n` requests.
async fn measure<S>(service: &S, probe: &Probe, n: u32) -> (Duration, f64)
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    let before = densa_alloc::thread_stats();
    let start = Instant::now();
    for _ in 0..n {
        let (status, _, body) = send(service, probe.request()).await;
        assert_eq!(
            status, probe.expect,
            "{} {}: {body:?}",
            probe.method, probe.uri
        );
        black_box(body);
    }
    let elapsed = start.elapsed() / n;
    let allocations = densa_alloc::thread_stats().since(before).allocs as f64 / f64::from(n);
    (elapsed, allocations)
}

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body).expect("a JSON body")
}

/// The CSRF cookie (`name=value`) and a token for it, from a `GET /_routekit/csrf`.
fn csrf_pair(headers: &http::HeaderMap, body: &Bytes) -> (String, String) {
    let cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let token = json(body)["csrfToken"]
        .as_str()
        .expect("a token")
        .to_owned();
    (cookie, token)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rounds = env_number("ROUNDS", 7).max(1);
    let requests = env_number("REQUESTS", 20_000).max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(rounds, requests));
}

/// The benchmark: `rounds` rounds of `requests` requests per scenario, figures on stderr.
pub(crate) async fn run(rounds: u32, requests: u32) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let config = saas::Config {
        auth: Some(routekit_auth::AuthConfig::new(db)),
        ..Default::default()
    };
    let app = saas::app_with(config)
        .await
        .expect("the example app")
        .merge(routekit_bench::routekit_extras());
    // As `routekit::serve` runs it: one service per connection, knowing the peer.
    let routekit = app
        .into_service()
        .with_peer("127.0.0.1:40000".parse().expect("an address"));
    let axum = routekit_bench::router();

    // A signed-in user and a CSRF cookie and token, from each server.
    let signup = Probe::new(Method::POST, "/auth/v1/signup", StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(br#"{"email":"bench@example.com","password":"correct horse battery staple"}"#);
    let (_, _, body) = send(&routekit, signup.request()).await;
    // The cookie @supabase/ssr writes on 127.0.0.1: the whole session, base64url JSON.
    let ssr = {
        use base64::Engine;
        format!(
            "sb-127-auth-token=base64-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&body)
        )
    };
    let jwt = json(&body)["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let (_, headers, body) = send(&routekit, Probe::get("/_routekit/csrf").request()).await;
    let (rk_cookie, rk_token) = csrf_pair(&headers, &body);
    let (_, _, body) = send(&axum, Probe::get("/bench/credentials").request()).await;
    let credentials = json(&body);
    let field = |name: &str| credentials[name].as_str().expect(name).to_owned();
    let (ax_jwt, ax_cookie, ax_token) = (field("jwt"), field("csrf_cookie"), field("csrf_token"));
    let ax_session = field("session_cookie");

    // routekit's twin of the baseline's echo is `/bench/echo-note` (the example's own
    // `/api/notes` writes to its database).
    let note = |uri: &'static str, jwt: &str, cookie: &str, token: &str| {
        Probe::new(Method::POST, uri, StatusCode::CREATED)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, &format!("Bearer {jwt}"))
            .header(header::HeaderName::from_static("x-csrf-token"), token)
            .header(header::COOKIE, cookie)
            .body(br#"{"text":"remember the milk"}"#)
    };
    // A browser's fetch: the session in a cookie beside the CSRF cookie, no Bearer token.
    let cookie_note = |uri: &'static str, cookie: &str, token: &str| {
        Probe::new(Method::POST, uri, StatusCode::CREATED)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::HeaderName::from_static("x-csrf-token"), token)
            .header(header::COOKIE, cookie)
            .body(br#"{"text":"remember the milk"}"#)
    };
    let only = std::env::var("ONLY").unwrap_or_default();
    let scenarios: Vec<(&str, Probe, Option<Probe>)> = vec![
        (
            "GET /hello",
            Probe::get("/hello"),
            Some(Probe::get("/hello")),
        ),
        (
            "GET /api/me (Bearer)",
            Probe::get("/api/me").header(header::AUTHORIZATION, &format!("Bearer {jwt}")),
            None,
        ),
        (
            "POST /api/notes",
            note("/bench/echo-note", &jwt, &rk_cookie, &rk_token),
            Some(note("/api/notes", &ax_jwt, &ax_cookie, &ax_token)),
        ),
        (
            "POST /api/notes (cookie)",
            cookie_note(
                "/bench/echo-note",
                &format!("{rk_cookie}; {ssr}"),
                &rk_token,
            ),
            Some(cookie_note(
                "/api/notes",
                &format!("{ax_cookie}; {ax_session}"),
                &ax_token,
            )),
        ),
    ];
    let scenarios: Vec<_> = scenarios
        .into_iter()
        .filter(|(name, ..)| name.contains(only.as_str()))
        .collect();

    // Warm-up: caches, allocator pools, branch predictors.
    for (_, rk, ax) in &scenarios {
        measure(&routekit, rk, requests / 4).await;
        if let Some(ax) = ax {
            measure(&axum, ax, requests / 4).await;
        }
    }
    let mut times: Vec<[Vec<f64>; 2]> = vec![Default::default(); scenarios.len()];
    let mut allocations = vec![[0.0; 2]; scenarios.len()];
    for _ in 0..rounds {
        for (i, (_, rk, ax)) in scenarios.iter().enumerate() {
            let (time, allocs) = measure(&routekit, rk, requests).await;
            times[i][0].push(time.as_nanos() as f64);
            allocations[i][0] = allocs;
            if let Some(ax) = ax {
                let (time, allocs) = measure(&axum, ax, requests).await;
                times[i][1].push(time.as_nanos() as f64);
                allocations[i][1] = allocs;
            }
        }
    }

    eprintln!(
        "\nPer request, in-process: {rounds} rounds x {requests} requests (medians; lower is better)"
    );
    eprintln!(
        "{:<22} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "scenario", "routekit ns", "axum ns", "rk allocs", "axum allocs", "rk / axum"
    );
    let mut medians = Vec::new();
    for (i, (name, _, ax)) in scenarios.iter().enumerate() {
        let rk = median(times[i][0].clone());
        medians.push(rk);
        let (ax_ns, ax_allocs, ratio) = match ax {
            Some(_) => {
                let ax = median(times[i][1].clone());
                (
                    format!("{ax:.0}"),
                    format!("{:.1}", allocations[i][1]),
                    format!("{:.3}", rk / ax),
                )
            }
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        eprintln!(
            "{name:<22} {rk:>12.0} {ax_ns:>12} {:>12.1} {ax_allocs:>12} {ratio:>10}",
            allocations[i][0]
        );
    }
    if only.is_empty()
        && let [hello, me, ..] = medians[..]
    {
        eprintln!(
            "routekit GET /api/me time / GET /hello time: {:.3}",
            me / hello
        );
    }
    if "role check".contains(only.as_str()) {
        roles(&dir, rounds, requests).await;
    }
}

/// The role check on a cached session: the same handler behind `AUTH = Required` and
/// `AUTH = Role`, alternately.
async fn roles(dir: &tempfile::TempDir, rounds: u32, requests: u32) {
    let db = format!("sqlite://{}", dir.path().join("roles.db").display());
    let (app, jwt) = routekit_bench::role_app(&db).await.expect("the role app");
    let service = app
        .into_service()
        .with_peer("127.0.0.1:40000".parse().expect("an address"));
    let bearer = format!("Bearer {jwt}");
    let required = Probe::get("/api/me").header(header::AUTHORIZATION, &bearer);
    let role = Probe::get("/api/admin/me").header(header::AUTHORIZATION, &bearer);
    measure(&service, &required, requests / 4).await;
    measure(&service, &role, requests / 4).await;
    let probes = [&required, &role];
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (time, _) = measure(&service, probes[i], requests).await;
            times[i].push(time.as_nanos() as f64);
        }
    }
    let [a, b] = times.map(median);
    eprintln!(
        "role check on a cached session: AUTH = Required {a:.0} ns, AUTH = Role {b:.0} ns, {:+.1}% (goal < +5%)",
        (b / a - 1.0) * 100.0
    );
}
