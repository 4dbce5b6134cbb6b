//! Passwords: NFKC-normalised, checked against length and a common-password list, hashed with
//! argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1) in PHC string format.
//!
//! Every hash and verification runs through one [`Hasher`]: a fixed number at a time, each in
//! a reused 19 MiB block of memory, with a short queue and 503 beyond it. Without the bound,
//! 64 concurrent wrong-password sign-ins took 5.2 GB (19 MiB each, and freed blocks are not
//! returned to the system).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use crate::error::AuthError;

const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
/// Longer passwords are refused (400): hashing megabytes would be a denial of service.
pub(crate) const MAX_BYTES: usize = 256;

/// Refuses a password longer than [`MAX_BYTES`] as it arrived, before NFKC normalisation
/// (which can grow a string 18-fold: U+FDFA is one character of three bytes and becomes 18
/// characters).
pub(crate) fn check_length(password: &str) -> Result<(), AuthError> {
    if password.len() > MAX_BYTES {
        return Err(AuthError::validation(format!(
            "Password cannot be longer than {MAX_BYTES} bytes"
        )));
    }
    Ok(())
}

/// 200 of the most common passwords in public breach lists (lowercase); a match is `pwned`.
const COMMON: &str = include_str!("common_passwords.txt");

/// NFKC, so that the same password typed on different keyboards hashes alike.
pub(crate) fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

/// Checks a new password, returning GoTrue's `weak_password` reasons.
pub(crate) fn check_strength(password: &str, min_length: usize) -> Result<(), AuthError> {
    check_length(password)?;
    let mut reasons = Vec::new();
    if password.chars().count() < min_length {
        reasons.push("length");
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|common| common == lower) {
        reasons.push("pwned");
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(AuthError::weak_password(
            reasons,
            format!(
                "Password should be at least {min_length} characters and not a commonly used password"
            ),
        ))
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, P_COST, Some(HASH_LEN)).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` for an already normalised password, in
/// `memory` (at least [`M_COST`] blocks).
fn hash(password: &str, memory: &mut [Block]) -> Result<String, AuthError> {
    let salt = crate::random_bytes::<SALT_LEN>()?;
    let mut out = [0u8; HASH_LEN];
    argon2()
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
        .map_err(|e| AuthError::internal(e.to_string()))?;
    Ok(phc(&salt, &out))
}

fn phc(salt: &[u8], out: &[u8]) -> String {
    format!(
        "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    )
}

/// A hash that no password matches, verified at the same cost as a real one: sign-ins for
/// unknown e-mails check it, so their timing does not tell which accounts exist. Its output is
/// random bytes rather than a hash of anything, so making it costs no argon2 run (and no
/// 19 MiB of memory at start-up); matching it would take a 256-bit preimage.
pub(crate) fn decoy() -> Result<String, AuthError> {
    let bytes = crate::random_bytes::<{ SALT_LEN + HASH_LEN }>()?;
    let (salt, out) = bytes.split_at(SALT_LEN);
    Ok(phc(salt, out))
}

/// Whether `password` (normalised) matches `phc`, in constant time, computed in `memory`.
/// Hashes written with other parameters are verified with theirs (in memory of their own if
/// they need more).
fn verify(password: &str, phc: &str, memory: &mut [Block]) -> bool {
    let parts: Vec<&str> = phc.split('$').collect();
    let [_, "argon2id", "v=19", params, salt, expected] = parts.as_slice() else {
        return false;
    };
    let mut m = 0;
    let mut t = 0;
    let mut p = 0;
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("m", v)) => m = v.parse().unwrap_or(0),
            Some(("t", v)) => t = v.parse().unwrap_or(0),
            Some(("p", v)) => p = v.parse().unwrap_or(0),
            _ => return false,
        }
    }
    let (Ok(salt), Ok(expected)) = (
        STANDARD_NO_PAD.decode(salt),
        STANDARD_NO_PAD.decode(expected),
    ) else {
        return false;
    };
    let Ok(params) = Params::new(m, t, p, Some(expected.len())) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let fits = params.block_count() <= memory.len();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let hashed = if fits {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
    } else {
        argon2.hash_password_into(password.as_bytes(), &salt, &mut out)
    };
    if hashed.is_err() {
        return false;
    }
    out.ct_eq(&expected).into()
}

/// Runs argon2 for the whole service: at most `concurrency` at a time, each in a block of
/// memory that is kept and reused, at most `queue` more waiting; beyond that the caller is
/// told to come back (503 with `Retry-After`). Peak memory is `concurrency` x 19 MiB.
#[derive(Clone)]
pub(crate) struct Hasher(Arc<HasherInner>);

struct HasherInner {
    permits: Arc<tokio::sync::Semaphore>,
    queue: usize,
    waiting: AtomicUsize,
    /// Blocks of [`M_COST`] KiB, one per running hash at most.
    memory: Mutex<Vec<Box<[Block]>>>,
}

/// Counts a waiter for as long as it waits, even if its request is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hasher {
    pub(crate) fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        Hasher(Arc::new(HasherInner {
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            queue,
            waiting: AtomicUsize::new(0),
            memory: Mutex::new(Vec::with_capacity(concurrency)),
        }))
    }

    /// Hashes a normalised password.
    pub(crate) async fn hash(&self, password: String) -> Result<String, AuthError> {
        self.run(move |memory| hash(&password, memory)).await?
    }

    /// Whether a normalised password matches `phc`.
    pub(crate) async fn verify(&self, password: String, phc: String) -> Result<bool, AuthError> {
        self.run(move |memory| verify(&password, &phc, memory))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let inner = &self.0;
        let permit = match inner.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let waiting = Waiting(&inner.waiting);
                if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.queue {
                    drop(waiting);
                    return Err(AuthError::Busy { retry_after: 1 });
                }
                let permit = inner
                    .permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(AuthError::internal)?;
                drop(waiting);
                permit
            }
        };
        let shared = self.0.clone();
        // The permit moves into the blocking task: a request dropped mid-hash still holds its
        // place until argon2 is done with the memory.
        crate::service::blocking(move || {
            let _permit = permit;
            let reused = shared
                .memory
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let mut memory = reused
                .unwrap_or_else(|| vec![Block::default(); M_COST as usize].into_boxed_slice());
            let result = work(&mut memory);
            shared
                .memory
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(memory);
            result
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Box<[Block]> {
        vec![Block::default(); M_COST as usize].into_boxed_slice()
    }

    #[test]
    fn hashes_verify_and_differ() {
        let mut m = memory();
        let a = hash("correct horse battery", &mut m).unwrap();
        let b = hash("correct horse battery", &mut m).unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &a, &mut m));
        assert!(!verify("correct horse batterY", &a, &mut m));
        assert!(!verify(
            "correct horse battery",
            "$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA",
            &mut m
        ));
        assert!(!verify("x", "garbage", &mut m));
    }

    #[test]
    fn hashes_with_other_parameters_verify_in_memory_of_their_own() {
        let params = Params::new(2 * M_COST, 1, 1, Some(HASH_LEN)).unwrap();
        let salt = [3u8; SALT_LEN];
        let mut out = [0u8; HASH_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(b"pw", &salt, &mut out)
            .unwrap();
        let phc = format!(
            "$argon2id$v=19$m={},t=1,p=1${}${}",
            2 * M_COST,
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        );
        assert!(verify("pw", &phc, &mut memory()));
    }

    #[tokio::test]
    async fn the_hasher_bounds_concurrency_and_refuses_beyond_its_queue() {
        let hasher = Hasher::new(1, 1);
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let h = hasher.clone();
                tokio::spawn(async move { h.hash("a long passphrase".into()).await })
            })
            .collect();
        let mut busy = 0;
        let mut hashed = Vec::new();
        for job in jobs {
            match job.await.unwrap() {
                Ok(phc) => hashed.push(phc),
                Err(AuthError::Busy { retry_after }) => {
                    assert_eq!(retry_after, 1);
                    busy += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        // One runs, one waits, the others are told to come back.
        assert_eq!(busy, 2, "{hashed:?}");
        assert!(
            hasher
                .verify("a long passphrase".into(), hashed[0].clone())
                .await
                .unwrap()
        );
        // One block of memory served every hash.
        assert_eq!(hasher.0.memory.lock().unwrap().len(), 1);
        assert_eq!(hasher.0.waiting.load(Ordering::Acquire), 0);
    }

    #[test]
    fn oversized_passwords_are_refused_before_normalisation() {
        // 86 x U+FDFA is 258 bytes as sent, and 1,548 characters after NFKC.
        let long = "\u{FDFA}".repeat(86);
        assert_eq!(check_length(&long).unwrap_err().code(), "validation_failed");
        assert!(check_length(&"\u{FDFA}".repeat(85)).is_ok());
    }

    #[test]
    fn the_decoy_costs_a_real_verification_and_matches_nothing() {
        let mut m = memory();
        let decoy = decoy().unwrap();
        let real = hash("correct horse battery", &mut m).unwrap();
        // Same algorithm and parameters, so `verify` runs argon2 in full on it.
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(params(&decoy), params(&real));
        assert_eq!(decoy.len(), real.len());
        assert_ne!(decoy, super::decoy().unwrap(), "random");
        for password in ["", "correct horse battery", "password"] {
            assert!(!verify(password, &decoy, &mut m));
        }
    }

    #[test]
    fn nfkc_makes_compatible_forms_equal() {
        // A full-width "Ａ" and a ligature "ﬁ" normalise to "A" and "fi".
        assert_eq!(normalise("Ａbcﬁ"), "Abcfi");
    }

    #[test]
    fn weak_passwords_name_their_reasons() {
        let reasons = |p: &str| match check_strength(p, 8) {
            Err(AuthError::Api { weak_password, .. }) => weak_password,
            Ok(()) => vec![],
            Err(e) => panic!("{e}"),
        };
        assert_eq!(reasons("short"), ["length"]);
        assert_eq!(reasons("password1"), ["pwned"]);
        assert_eq!(reasons("Password"), ["pwned"]);
        assert!(reasons("a long unusual passphrase").is_empty());
        assert_eq!(
            check_strength(&"x".repeat(300), 8).unwrap_err().code(),
            "validation_failed"
        );
    }
}
