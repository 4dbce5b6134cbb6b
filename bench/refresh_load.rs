//! Load generator for `POST /auth/v1/token?grant_type=refresh_token`: signs up `SESSIONS`
//! users, then each worker refreshes its own session in a loop for `DURATION` seconds,
//! always with the newest token (as a real client does). Prints `req_per_s p50_ms p99_ms`.
//!
//!   refresh-load http://127.0.0.1:3000 [SESSIONS=32] [DURATION=5]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: refresh-load URL [SESSIONS] [SECONDS]");
    let sessions: usize = args.next().map_or(32, |s| s.parse().expect("sessions"));
    let seconds: u64 = args.next().map_or(5, |s| s.parse().expect("seconds"));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(sessions)
        .build()
        .expect("client");
    let url = format!("{base}/auth/v1/token?grant_type=refresh_token");
    let run = std::process::id();
    let mut tokens = Vec::new();
    for i in 0..sessions {
        let res: Value = client
            .post(format!("{base}/auth/v1/signup"))
            .json(&json!({"email": format!("load-{run}-{i}@example.com"), "password": "correct horse battery staple"}))
            .send()
            .await
            .expect("sign up")
            .json()
            .await
            .expect("sign-up JSON");
        tokens.push(
            res["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers = tokens.into_iter().map(|mut token| {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let start = Instant::now();
                let res = client
                    .post(&url)
                    .json(&json!({ "refresh_token": token }))
                    .send()
                    .await;
                match res {
                    Ok(res) if res.status().is_success() => {
                        let body: Value = res.json().await.expect("token JSON");
                        token = body["refresh_token"]
                            .as_str()
                            .expect("refresh token")
                            .to_owned();
                        latencies.push(start.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        })
    });
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers.collect::<Vec<_>>() {
        let (l, e) = worker.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    if errors > 0 {
        eprintln!("warning: {errors} failed refreshes");
    }
    let line = format!(
        "{:.0} {:.3} {:.3}\n",
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
    std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes()).expect("stdout");
}
