//! Per-IP (and, for MFA, per-user) token buckets with GoTrue's defaults, answering 429 with
//! `Retry-After`. Buckets live in memory, per instance, as GoTrue's do.

use std::collections::HashMap;
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
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            token: Rate::new(150, Duration::from_secs(300)),
            signup: Rate::new(30, Duration::from_secs(300)),
            user: Rate::new(30, Duration::from_secs(300)),
            mfa: Rate::new(15, Duration::from_secs(60)),
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
}

struct State {
    tokens: f64,
    updated: Instant,
}

/// The buckets of one server.
pub(crate) struct Limiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(Bucket, String), State>>,
}

/// Past this many keys, full (idle) buckets are dropped, so memory stays bounded.
const PRUNE_AT: usize = 10_000;

impl Limiter {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Limiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn rate(&self, bucket: Bucket) -> Rate {
        match bucket {
            Bucket::Token => self.limits.token,
            Bucket::Signup => self.limits.signup,
            Bucket::User => self.limits.user,
            Bucket::Challenge | Bucket::Verify => self.limits.mfa,
        }
    }

    /// Takes one request from `key`'s bucket, or says when to retry (429).
    pub(crate) fn check(&self, bucket: Bucket, key: &str) -> Result<(), AuthError> {
        self.check_at(bucket, key, Instant::now())
    }

    fn check_at(&self, bucket: Bucket, key: &str, now: Instant) -> Result<(), AuthError> {
        let rate = self.rate(bucket);
        if rate.count == 0 {
            return Ok(());
        }
        let capacity = f64::from(rate.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|(b, _), s| {
                let r = self.rate(*b);
                s.tokens + now.duration_since(s.updated).as_secs_f64() * r.per_second()
                    < f64::from(r.burst)
            });
        }
        let state = buckets.entry((bucket, key.to_owned())).or_insert(State {
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
            Err(AuthError::RateLimited {
                retry_after: wait.max(1),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let limiter = Limiter::new(RateLimits {
            token: Rate {
                count: 60,
                window: Duration::from_secs(60),
                burst: 3,
            },
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(Bucket::Token, "1.2.3.4", t0).is_ok());
        }
        match limiter.check_at(Bucket::Token, "1.2.3.4", t0) {
            Err(AuthError::RateLimited { retry_after }) => assert_eq!(retry_after, 1),
            other => panic!("{other:?}"),
        }
        assert!(
            limiter.check_at(Bucket::Token, "5.6.7.8", t0).is_ok(),
            "per key"
        );
        assert!(
            limiter.check_at(Bucket::Signup, "1.2.3.4", t0).is_ok(),
            "per bucket"
        );
        let later = t0 + Duration::from_secs(1);
        assert!(
            limiter.check_at(Bucket::Token, "1.2.3.4", later).is_ok(),
            "one second, one token"
        );
        assert!(limiter.check_at(Bucket::Token, "1.2.3.4", later).is_err());
    }

    #[test]
    fn a_zero_count_turns_the_limit_off() {
        let limiter = Limiter::new(RateLimits {
            signup: Rate::new(0, Duration::from_secs(1)),
            ..RateLimits::default()
        });
        for _ in 0..100 {
            assert!(limiter.check(Bucket::Signup, "x").is_ok());
        }
    }
}
