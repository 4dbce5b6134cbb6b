//! Token buckets per IP (IPv6 by /64), per user and per account, with GoTrue's defaults,
//! answering 429 with `Retry-After`. Buckets live in memory, per instance, as GoTrue's do.
//! The service takes from them itself, so every caller (the HTTP layer, server-rendered
//! pages, user code) is held to them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AuthError;

/// One limit: `count` requests per `window`, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests allowed per window (0 turns the limit off).
    pub count: u32,
    /// The window.
    pub window: Duration,
    /// How many may come at once.
    pub burst: u32,
}

impl Rate {
    /// `count` per `window`, burst 30 (GoTrue's burst).
    pub const fn new(count: u32, window: Duration) -> Self {
        Rate {
            count,
            window,
            burst: 30,
        }
    }

    fn per_second(&self) -> f64 {
        f64::from(self.count) / self.window.as_secs_f64()
    }
}

/// The limits, by endpoint family. The defaults are GoTrue's.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimits {
    /// `POST /token` (password and refresh): 150 per 5 min per IP.
    pub token: Rate,
    /// `POST /signup`: 30 per 5 min per IP.
    pub signup: Rate,
    /// `PUT /user`: 30 per 5 min per IP.
    pub user: Rate,
    /// MFA challenge and verify, each: 15 per minute per IP and per user.
    pub mfa: Rate,
    /// Mails sent at a client's request (sign-up confirmation, recovery, magic links,
    /// resends): 30 per hour per IP (GoTrue's `RATE_LIMIT_EMAIL_SENT`, which GoTrue counts
    /// for the whole server; here each address has its own).
    pub email_sent: Rate,
    /// Mailed links and codes checked (`POST /verify`, `GET /verify`): 30 per 5 min per IP
    /// (GoTrue's `RATE_LIMIT_VERIFY`).
    pub verify: Rate,
    /// Password sign-ins to one account from any address: 150 per 5 min, so guesses spread
    /// over many addresses still meet a limit. It refills steadily, so it slows an attacker
    /// without locking the owner out for long.
    pub account: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            token: Rate::new(150, Duration::from_secs(300)),
            signup: Rate::new(30, Duration::from_secs(300)),
            user: Rate::new(30, Duration::from_secs(300)),
            mfa: Rate::new(15, Duration::from_secs(60)),
            email_sent: Rate::new(30, Duration::from_secs(3600)),
            verify: Rate::new(30, Duration::from_secs(300)),
            account: Rate::new(150, Duration::from_secs(300)),
        }
    }
}

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    Token,
    Signup,
    User,
    Challenge,
    Verify,
    Account,
    /// Mails sent at a client's request.
    EmailSent,
    /// Mailed links and codes checked.
    EmailVerify,
}

/// Whose bucket: an address, a user, or an account being signed in to. The kinds are apart
/// by type, so no value of one (a header saying `user:<id>`) can reach another's bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// An IPv4 address, or the /64 network of an IPv6 one (a single host is usually given a
    /// whole /64, so keying by address would give it 2^64 buckets).
    Ip(IpAddr),
    /// A user's id.
    User(String),
    /// A normalised e-mail address, for password sign-ins to it from anywhere.
    Account(String),
}

impl Key {
    pub(crate) fn ip(ip: IpAddr) -> Key {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                Key::Ip(IpAddr::V6(Ipv6Addr::from(network)))
            }
            v4 @ IpAddr::V4(_) => Key::Ip(v4),
        }
    }
}

struct State {
    tokens: f64,
    updated: Instant,
}

/// Where buckets live: [`MemoryStore`] keeps them in this instance's memory, as GoTrue does.
/// A store shared by several instances (Redis, the database) implements the same one method,
/// and the service does not change.
pub(crate) trait RateLimitStore: Send + Sync + 'static {
    /// Takes one request from `key`'s `bucket`, limited to `rate` (never a zero count), or
    /// says how many whole seconds until one is free.
    fn take(&self, bucket: Bucket, key: Key, rate: Rate) -> Result<(), u64>;
}

/// The limits of one server, over a store of buckets.
pub(crate) struct Limiter {
    limits: RateLimits,
    store: Box<dyn RateLimitStore>,
}

impl Limiter {
    /// The limits over buckets in this instance's memory.
    pub(crate) fn new(limits: RateLimits) -> Self {
        Limiter {
            limits,
            store: Box::new(MemoryStore::new(limits)),
        }
    }

    /// Takes one request from `key`'s bucket, or says when to retry (429).
    pub(crate) fn check(&self, bucket: Bucket, key: Key) -> Result<(), AuthError> {
        let rate = rate_of(&self.limits, bucket);
        if rate.count == 0 {
            return Ok(());
        }
        self.store
            .take(bucket, key, rate)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })
    }
}

/// Token buckets in memory, with a bound on the keys kept.
///
/// Not `governor`: its keyed limiter was measured against this one (1,000,000 distinct keys,
/// the signup limit, amortised `retain_recent` as we prune; release build, one core):
/// 697 ns and +83 MiB, every key kept (none has refilled yet, so `retain_recent` may drop
/// none), against 351 ns and +18 MiB here, capped at [`MAX_KEYS`]. One hot key: 139 ns
/// there, 176 ns here. Its keyed store has no bound on the number of keys, and a flood of
/// new keys (addresses, e-mails) is the memory attack issue #11 closed; this store drops the
/// least recently used half past the cap.
pub(crate) struct MemoryStore {
    limits: RateLimits,
    buckets: Mutex<Buckets>,
}

impl RateLimitStore for MemoryStore {
    fn take(&self, bucket: Bucket, key: Key, rate: Rate) -> Result<(), u64> {
        self.take_at(bucket, key, rate, Instant::now())
    }
}

struct Buckets {
    map: HashMap<(Bucket, Key), State>,
    /// The size at which idle buckets are next dropped. It grows with what survives a prune,
    /// so the scan is paid once per doubling, never on every request.
    prune_at: usize,
}

/// The first prune happens at this many keys.
const PRUNE_AT: usize = 10_000;
/// Keys kept at most; past this, after dropping idle buckets, the least recently used half go
/// (they refill as new buckets: an attacker who can fill the map gains nothing it could not
/// get from waiting).
const MAX_KEYS: usize = 100_000;

impl MemoryStore {
    pub(crate) fn new(limits: RateLimits) -> Self {
        MemoryStore {
            limits,
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                prune_at: PRUNE_AT,
            }),
        }
    }

    fn take_at(&self, bucket: Bucket, key: Key, rate: Rate, now: Instant) -> Result<(), u64> {
        let capacity = f64::from(rate.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.map.len() >= buckets.prune_at {
            buckets.prune(&self.limits, now);
        }
        let state = buckets.map.entry((bucket, key)).or_insert(State {
            tokens: capacity,
            updated: now,
        });
        let refill = now.duration_since(state.updated).as_secs_f64() * rate.per_second();
        state.tokens = (state.tokens + refill).min(capacity);
        state.updated = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - state.tokens) / rate.per_second()).ceil() as u64;
            Err(wait.max(1))
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap().map.len()
    }
}

fn rate_of(limits: &RateLimits, bucket: Bucket) -> Rate {
    match bucket {
        Bucket::Token => limits.token,
        Bucket::Signup => limits.signup,
        Bucket::User => limits.user,
        Bucket::Challenge | Bucket::Verify => limits.mfa,
        Bucket::Account => limits.account,
        Bucket::EmailSent => limits.email_sent,
        Bucket::EmailVerify => limits.verify,
    }
}

impl Buckets {
    /// Drops buckets that have refilled (forgetting them changes nothing), then, if the map is
    /// still over [`MAX_KEYS`], the least recently used half.
    fn prune(&mut self, limits: &RateLimits, now: Instant) {
        self.map.retain(|(bucket, _), s| {
            let r = rate_of(limits, *bucket);
            s.tokens + now.duration_since(s.updated).as_secs_f64() * r.per_second()
                < f64::from(r.burst)
        });
        if self.map.len() >= MAX_KEYS {
            let mut ages: Vec<Instant> = self.map.values().map(|s| s.updated).collect();
            let middle = ages.len() / 2;
            let (_, cutoff, _) = ages.select_nth_unstable(middle);
            let cutoff = *cutoff;
            self.map.retain(|_, s| s.updated > cutoff);
        }
        self.prune_at = (self.map.len() * 2).clamp(PRUNE_AT, MAX_KEYS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Key {
        Key::ip(s.parse().unwrap())
    }

    /// A store under `limits`, taking at the given instant.
    struct At(MemoryStore);

    impl At {
        fn new(limits: RateLimits) -> Self {
            At(MemoryStore::new(limits))
        }

        fn check_at(&self, bucket: Bucket, key: Key, now: Instant) -> Result<(), u64> {
            self.0
                .take_at(bucket, key, rate_of(&self.0.limits, bucket), now)
        }

        fn len(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let limiter = At::new(RateLimits {
            token: Rate {
                count: 60,
                window: Duration::from_secs(60),
                burst: 3,
            },
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(Bucket::Token, ip("1.2.3.4"), t0).is_ok());
        }
        match limiter.check_at(Bucket::Token, ip("1.2.3.4"), t0) {
            Err(retry_after) => assert_eq!(retry_after, 1),
            other => panic!("{other:?}"),
        }
        assert!(
            limiter.check_at(Bucket::Token, ip("5.6.7.8"), t0).is_ok(),
            "per key"
        );
        assert!(
            limiter.check_at(Bucket::Signup, ip("1.2.3.4"), t0).is_ok(),
            "per bucket"
        );
        let later = t0 + Duration::from_secs(1);
        assert!(
            limiter
                .check_at(Bucket::Token, ip("1.2.3.4"), later)
                .is_ok(),
            "one second, one token"
        );
        assert!(
            limiter
                .check_at(Bucket::Token, ip("1.2.3.4"), later)
                .is_err()
        );
    }

    #[test]
    fn a_zero_count_turns_the_limit_off() {
        let limiter = Limiter::new(RateLimits {
            signup: Rate::new(0, Duration::from_secs(1)),
            ..RateLimits::default()
        });
        for _ in 0..100 {
            assert!(limiter.check(Bucket::Signup, ip("9.9.9.9")).is_ok());
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_network() {
        assert_eq!(ip("2001:db8:1:2:aaaa::1"), ip("2001:db8:1:2:ffff::9"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:192.0.2.1"), ip("192.0.2.1"));
    }

    #[test]
    fn addresses_users_and_accounts_never_share_a_bucket() {
        let limiter = At::new(RateLimits {
            mfa: Rate {
                count: 1,
                window: Duration::from_secs(60),
                burst: 1,
            },
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        let user = "4f1c2d3e-0000-0000-0000-000000000000";
        assert!(
            limiter
                .check_at(Bucket::Verify, Key::User(user.into()), t0)
                .is_ok()
        );
        // The same text as another kind of key is another bucket.
        assert!(
            limiter
                .check_at(Bucket::Verify, Key::Account(user.into()), t0)
                .is_ok()
        );
        assert!(
            limiter
                .check_at(Bucket::Verify, Key::User(user.into()), t0)
                .is_err()
        );
    }

    #[test]
    fn idle_keys_are_evicted_without_a_scan_on_every_request() {
        let limiter = At::new(RateLimits {
            token: Rate {
                count: 1,
                window: Duration::from_secs(3600),
                burst: 2,
            },
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        // Busy buckets survive pruning; the map stays bounded.
        for i in 0..(MAX_KEYS as u32 + 5_000) {
            let key = Key::Ip(IpAddr::from(i.to_be_bytes()));
            let _ = limiter.check_at(Bucket::Token, key, t0 + Duration::from_micros(u64::from(i)));
        }
        assert!(limiter.len() <= MAX_KEYS, "{}", limiter.len());
        // The most recent keys are still limited after the eviction.
        let last = Key::Ip(IpAddr::from((MAX_KEYS as u32 + 4_999).to_be_bytes()));
        let now = t0 + Duration::from_secs(1);
        assert!(limiter.check_at(Bucket::Token, last.clone(), now).is_ok());
        assert!(limiter.check_at(Bucket::Token, last, now).is_err());
        // Idle buckets go at the next prune: fill the map up to it with new keys.
        let later = t0 + Duration::from_secs(10 * 3600);
        let before = limiter.len();
        let fresh = limiter.0.buckets.lock().unwrap().prune_at - before + 1;
        for i in 0..fresh {
            let key = Key::Account(format!("{i}@example.com"));
            let _ = limiter.check_at(Bucket::Signup, key, later);
        }
        assert_eq!(limiter.len(), fresh, "only the new, busy buckets are left");
    }
}
