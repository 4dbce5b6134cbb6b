//! Load generator for wrong-password sign-ins (`POST /auth/v1/token?grant_type=password`):
//! `CONNECTIONS` workers send them back to back for `SECONDS`, each to an unknown address (its
//! decoy hash costs what a wrong password does). With `spread`, every request claims another
//! client address in `X-Forwarded-For` (the server must trust this host as a proxy), so no
//! per-IP limit applies and every request reaches the password hasher. Prints
//! `requests checked(400) limited(429) busy(503) other`.
//!
//!   sign-in-flood http://127.0.0.1:3000 [CONNECTIONS=64] [SECONDS=5] [spread|one]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: sign-in-flood URL [CONNECTIONS] [SECONDS] [spread|one]");
    let connections: usize = args.next().map_or(64, |s| s.parse().expect("connections"));
    let seconds: u64 = args.next().map_or(5, |s| s.parse().expect("seconds"));
    let spread = args.next().as_deref() == Some("spread");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let url = format!("{base}/auth/v1/token?grant_type=password");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    // [400, 429, 503, other]
    let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
    let sent = Arc::new(AtomicU64::new(0));
    let workers = (0..connections).map(|worker| {
        let (client, url, counts, sent) =
            (client.clone(), url.clone(), counts.clone(), sent.clone());
        tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                let mut req = client.post(&url).json(&json!({
                    "email": format!("nobody-{worker}-{n}@example.com"),
                    "password": "a wrong password",
                }));
                if spread {
                    // 198.18.0.0/15 is set aside for benchmarks (RFC 2544).
                    let host = n % 65_536;
                    req = req.header(
                        "x-forwarded-for",
                        format!("198.18.{}.{}", host / 256, host % 256),
                    );
                }
                let slot = match req.send().await.map(|r| r.status().as_u16()) {
                    Ok(400) => 0,
                    Ok(429) => 1,
                    Ok(503) => 2,
                    _ => 3,
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
        })
    });
    for worker in workers.collect::<Vec<_>>() {
        worker.await.expect("worker");
    }
    let [checked, limited, busy, other] = &*counts;
    let total = sent.load(Ordering::Relaxed);
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let line = format!(
        "{total} {} {} {} {}\n",
        load(checked),
        load(limited),
        load(busy),
        load(other)
    );
    std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes()).expect("stdout");
}
