//! What `Valid<Json<T>>` costs over plain `Json<T>` for a 10-field body (goal: < 2 µs more),
//! both measured in this run; and, for reference, the answer to a body whose 10 fields all
//! fail.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use routekit::Json;
use routekit::validator::Validate;
use serde::Deserialize;

#[derive(Deserialize, Validate)]
#[validate(crate = "routekit::validator")]
#[allow(dead_code)]
struct Profile {
    #[validate(length(min = 1, max = 100))]
    name: String,
    #[validate(email)]
    email: String,
    #[validate(length(min = 12, max = 128))]
    password: String,
    #[validate(range(min = 13, max = 130))]
    age: u8,
    #[validate(url)]
    website: String,
    #[validate(length(max = 280))]
    bio: String,
    #[validate(length(equal = 2))]
    country: String,
    #[validate(length(min = 1, max = 40))]
    city: String,
    #[validate(range(min = 0, max = 10))]
    rating: u32,
    #[validate(length(max = 10))]
    tags: Vec<String>,
}

const BODY: &[u8] = br#"{"name":"Ada Lovelace","email":"ada@example.com","password":"correct horse battery","age":36,"website":"https://example.com/ada","bio":"Analyst of engines.","country":"GB","city":"London","rating":9,"tags":["math","engines","poetry"]}"#;

const BAD: &[u8] = br#"{"name":"","email":"ada","password":"short","age":3,"website":"nope","bio":"","country":"GBR","city":"","rating":11,"tags":["a","a","a","a","a","a","a","a","a","a","a"]}"#;

fn plain() {
    black_box(Json::<Profile>::from_bytes(black_box(BODY)).unwrap().0);
}

fn valid() {
    let Json(profile) = Json::<Profile>::from_bytes(black_box(BODY)).unwrap();
    routekit::validate(&profile).unwrap();
    black_box(profile);
}

fn refused() {
    let Json(profile) = Json::<Profile>::from_bytes(black_box(BAD)).unwrap();
    black_box(routekit::validate(&profile).unwrap_err().body());
}

fn validation(c: &mut Criterion) {
    assert_eq!(
        {
            let Json(p) = Json::<Profile>::from_bytes(BAD).unwrap();
            routekit::validate(&p).unwrap_err().fields().len()
        },
        9,
        "every field but `bio` fails"
    );
    let mut group = c.benchmark_group("validation");
    group.bench_function("json_10_fields", |b| b.iter(plain));
    group.bench_function("valid_json_10_fields", |b| b.iter(valid));
    group.bench_function("valid_json_9_failing", |b| b.iter(refused));
    group.finish();
    let [plain, valid, refused] = fastest_means([&plain, &valid, &refused]);
    eprintln!(
        "validation: Json {:.2} µs, Valid<Json> {:.2} µs: +{:.2} µs ({:.2}×); 9 failing fields answered in {:.2} µs",
        plain / 1e3,
        valid / 1e3,
        (valid - plain) / 1e3,
        valid / plain,
        refused / 1e3,
    );
}

/// Each function's fastest mean nanoseconds over 20 interleaved rounds of 50 ms: taking
/// turns keeps a drifting clock or a noisy neighbour from favouring one of them.
fn fastest_means<const N: usize>(fs: [&dyn Fn(); N]) -> [f64; N] {
    let mut best = [f64::INFINITY; N];
    for _ in 0..20 {
        for (f, best) in fs.iter().zip(&mut best) {
            let start = std::time::Instant::now();
            let mut runs = 0u32;
            while start.elapsed() < std::time::Duration::from_millis(50) {
                f();
                runs += 1;
            }
            *best = best.min(start.elapsed().as_nanos() as f64 / f64::from(runs));
        }
    }
    best
}

criterion_group!(benches, validation);
criterion_main!(benches);
