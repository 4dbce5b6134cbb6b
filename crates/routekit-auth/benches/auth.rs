//! Access-token verification (`jws/routekit_ring`, goal: < 50 µs, uncached) and password sign-in (bounded by
//! argon2id at m = 19 MiB, t = 2, p = 1 by design).
//!
//! `jws/*` measures whether our JWS code is worth owning: the same ES256 token verified with
//! the same checks (algorithm pinned, `exp` with 30 s of leeway, `aud`, `iss`) by routekit's
//! ring-based verifier and by `jsonwebtoken` 12 (its `rust_crypto` backend: the one that
//! builds without a C toolchain, as ring's prebuilt assembly does). The ratio is printed.

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

    // jsonwebtoken with the key from our JWKS, and validation equal to ours.
    let jwks = service.keys().jwks();
    let jwk = &jwks["keys"][0];
    let key = jsonwebtoken::DecodingKey::from_ec_components(
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["authenticated"]);
    validation.set_issuer(&[issuer.as_str()]);
    validation.leeway = 30;
    assert!(
        jsonwebtoken::decode::<routekit_auth::Claims>(&token, &key, &validation).is_ok(),
        "jsonwebtoken accepts our token"
    );
    let mut jws = c.benchmark_group("jws");
    jws.bench_function("routekit_ring", |b| {
        b.iter(|| {
            service
                .keys()
                .verify(black_box(&token), &issuer, now)
                .unwrap()
        })
    });
    jws.bench_function("jsonwebtoken_rust_crypto", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<routekit_auth::Claims>(black_box(&token), &key, &validation)
                .unwrap()
        })
    });
    jws.finish();
    let ours = mean_ns(|| {
        service
            .keys()
            .verify(black_box(&token), &issuer, now)
            .unwrap();
    });
    let theirs = mean_ns(|| {
        jsonwebtoken::decode::<routekit_auth::Claims>(black_box(&token), &key, &validation)
            .unwrap();
    });
    eprintln!(
        "jws: routekit (ring) {:.1} µs, jsonwebtoken (rust_crypto) {:.1} µs: ours takes {:.2}× the time",
        ours / 1e3,
        theirs / 1e3,
        ours / theirs
    );

    let mut group = c.benchmark_group("auth");
    group.sample_size(10);
    group.bench_function("sign_in_with_password", |b| {
        b.iter(|| {
            rt.block_on(service.sign_in_with_password(&client, "bench@example.com", password))
                .unwrap()
        })
    });
    group.finish();
}

/// Mean nanoseconds of `f` over a second's worth of runs, both measured in this run.
fn mean_ns(mut f: impl FnMut()) -> f64 {
    let start = std::time::Instant::now();
    let mut runs = 0u32;
    while start.elapsed() < std::time::Duration::from_secs(1) {
        f();
        runs += 1;
    }
    start.elapsed().as_nanos() as f64 / f64::from(runs)
}

criterion_group!(benches, auth);
criterion_main!(benches);
