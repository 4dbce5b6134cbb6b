//! Rate limits: 429 with `Retry-After`, per client IP and bucket.

use std::time::Duration;

use routekit_auth::{Rate, RateLimits};
use routekit_test::{TestDb, on_both_databases};
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, start_with};

on_both_databases!(sign_in_attempts_are_limited_per_ip);

async fn sign_in_attempts_are_limited_per_ip(db: TestDb) {
    let auth = start_with(db, |c| {
        let mut limits = RateLimits::default();
        limits.token = Rate {
            count: 1,
            window: Duration::from_secs(60),
            burst: 3,
        };
        limits.signup = Rate::new(0, Duration::from_secs(1));
        let mut c = c.with_rate_limits(limits);
        c.rate_limit_header = Some("x-forwarded-for".to_owned());
        c
    })
    .await;
    auth.sign_up("ann@example.com").await;
    let attempt = |ip: &'static str| {
        auth.request(reqwest::Method::POST, "/token?grant_type=password")
            .header("x-forwarded-for", format!("{ip}, 10.0.0.1"))
            .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(attempt("192.0.2.1").await.unwrap().status(), 200);
    }
    let limited = attempt("192.0.2.1").await.unwrap();
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(limited, 429, "over_request_rate_limit").await;
    // Another client is not affected; neither is another bucket.
    assert_eq!(attempt("198.51.100.9").await.unwrap().status(), 200);
    assert_eq!(auth.get_user("x").await.status(), 403);
}
