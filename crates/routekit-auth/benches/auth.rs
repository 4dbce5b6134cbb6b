//! Access-token verification (goal: < 50 µs, uncached) and password sign-in (bounded by
//! argon2id at m = 19 MiB, t = 2, p = 1 by design), with ES256 signing alongside.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use routekit_auth::{AuthConfig, AuthService, Client, Rate, RateLimits, SignUp};

fn auth(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    // The benchmark signs in to one account far more often than its rate limit allows.
    let mut limits = RateLimits::default();
    limits.account = Rate::new(0, std::time::Duration::from_secs(1));
    let service = rt
        .block_on(AuthService::start(
            AuthConfig::new(url).with_rate_limits(limits),
        ))
        .unwrap();
    let client = Client::unknown();
    let password = "correct horse battery staple";
    let session = match rt
        .block_on(service.sign_up(&client, "bench@example.com", password, None))
        .unwrap()
    {
        SignUp::Session(session) => session,
        _ => unreachable!("auto-confirm is on"),
    };
    let token = session.access_token.clone();
    let issuer = service.config().issuer();
    let now = session.claims.iat;

    let mut group = c.benchmark_group("auth");
    group.bench_function("verify_access_token", |b| {
        b.iter(|| {
            service
                .keys()
                .verify(black_box(&token), &issuer, now)
                .unwrap()
        })
    });
    group.sample_size(10);
    group.bench_function("sign_in_with_password", |b| {
        b.iter(|| {
            rt.block_on(service.sign_in_with_password(&client, "bench@example.com", password))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, auth);
criterion_main!(benches);
