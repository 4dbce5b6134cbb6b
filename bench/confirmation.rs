//! What a sign-up with e-mail confirmation spends before it answers, with the mail server
//! answering at once and answering slowly (1 s), against a sign-up with auto-confirm (no
//! mail) measured in the same run. The figure that counts: with a slow server, the request
//! waits for the mail no longer than the configured SMTP timeout.
//!
//! The embedded auth server runs in-process on 127.0.0.1:0 over a SQLite file, with the
//! sign-up and mail rate limits off; the SMTP server is routekit-test's sink. Requests go
//! over HTTP one at a time (each a new address). It never fails on a timing.
//!
//! `cargo bench -p routekit-bench --bench confirmation` (`REQUESTS` per scenario, default 8);
//! the figures go to stderr, as the other benches'.

use std::time::{Duration, Instant};

use routekit_auth::routekit_mail::{SmtpConfig, TlsMode};
use routekit_auth::{AuthConfig, AuthService, RateLimits};
use routekit_test::{SmtpSink, TestServer};
use serde_json::json;

struct Scenario {
    name: &'static str,
    /// The local part of its addresses.
    tag: &'static str,
    confirm: bool,
    smtp_delay: Duration,
    timeout: Duration,
    expect: u16,
}

async fn run(scenario: &Scenario, sink: &SmtpSink, requests: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = RateLimits::default();
    limits.signup.count = 0;
    limits.email_sent.count = 0;
    let config = AuthConfig::new(format!("sqlite://{}", dir.path().join("auth.db").display()))
        .with_autoconfirm(!scenario.confirm)
        .with_rate_limits(limits)
        .with_smtp(
            SmtpConfig::new("127.0.0.1", sink.port(), "no-reply@example.com")
                .with_tls(TlsMode::None)
                .with_timeout(scenario.timeout),
        );
    let auth = AuthService::start(config).await.unwrap();
    let server = TestServer::spawn(routekit_auth::router(auth)).await;
    sink.set_delay(scenario.smtp_delay);
    let mut times = Vec::with_capacity(requests);
    for i in 0..=requests {
        let started = Instant::now();
        let res = server
            .client()
            .post(server.url("/auth/v1/signup"))
            .json(&json!({
                "email": format!("{}-{i}@example.com", scenario.tag),
                "password": "correct horse battery staple",
            }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let _ = res.bytes().await;
        assert_eq!(status, scenario.expect, "{}", scenario.name);
        // The first request warms the connection pools and is not counted.
        if i > 0 {
            times.push(started.elapsed());
        }
    }
    times
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::var("REQUESTS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(8);
    let sink = SmtpSink::start().await;
    let slow = Duration::from_secs(1);
    let scenarios = [
        Scenario {
            name: "auto-confirm, no mail",
            tag: "auto",
            confirm: false,
            smtp_delay: Duration::ZERO,
            timeout: Duration::from_secs(10),
            expect: 200,
        },
        Scenario {
            name: "confirmation, SMTP answers at once",
            tag: "fast",
            confirm: true,
            smtp_delay: Duration::ZERO,
            timeout: Duration::from_secs(10),
            expect: 200,
        },
        Scenario {
            name: "confirmation, SMTP takes 1 s, timeout 10 s",
            tag: "slow",
            confirm: true,
            smtp_delay: slow,
            timeout: Duration::from_secs(10),
            expect: 200,
        },
        Scenario {
            name: "confirmation, SMTP takes 1 s, timeout 250 ms",
            tag: "timeout",
            confirm: true,
            smtp_delay: slow,
            timeout: Duration::from_millis(250),
            expect: 500,
        },
    ];
    eprintln!("POST /auth/v1/signup, {requests} requests per scenario (medians)");
    let mut baseline = None;
    for scenario in &scenarios {
        let took = median(run(scenario, &sink, requests).await);
        let base = *baseline.get_or_insert(took);
        eprintln!(
            "  {:<46} {:>9.1} ms  {:>6.2}x auto-confirm  (answer {}, SMTP timeout {:?})",
            scenario.name,
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() / base.as_secs_f64(),
            scenario.expect,
            scenario.timeout,
        );
        if scenario.expect == 500 {
            let over = took.saturating_sub(base);
            eprintln!(
                "  {:<46} {:>9.1} ms  spent on the mail past auto-confirm (timeout {} ms)",
                "",
                over.as_secs_f64() * 1e3,
                scenario.timeout.as_millis()
            );
        }
    }
}
