//! Token speed (goal: issue and verify < 2 µs each), with HMAC-SHA256 alone as the baseline.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use routekit_csrf::CsrfSecret;

fn tokens(c: &mut Criterion) {
    let secret = CsrfSecret::generate();
    let token = secret.issue();
    let cookie = secret.to_cookie_value();
    let mut group = c.benchmark_group("csrf");
    group.bench_function("issue", |b| b.iter(|| black_box(&secret).issue()));
    group.bench_function("verify", |b| {
        b.iter(|| assert!(black_box(&secret).verify(black_box(&token))))
    });
    // What a request pays before `verify`: the cookie value decoded and its HMAC computed.
    group.bench_function("secret_from_cookie", |b| {
        b.iter(|| CsrfSecret::from_cookie_value(black_box(&cookie)).unwrap())
    });
    group.bench_function("cookie_then_verify", |b| {
        b.iter(|| {
            let secret = CsrfSecret::from_cookie_value(black_box(&cookie)).unwrap();
            assert!(secret.verify(black_box(&token)))
        })
    });
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
