//! Passwords: NFKC-normalised, checked against length and a common-password list, hashed with
//! argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1) in PHC string format.

use argon2::{Algorithm, Argon2, Params, Version};
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

/// 200 of the most common passwords in public breach lists (lowercase); a match is `pwned`.
const COMMON: &str = include_str!("common_passwords.txt");

/// NFKC, so that the same password typed on different keyboards hashes alike.
pub(crate) fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

/// Checks a new password, returning GoTrue's `weak_password` reasons.
pub(crate) fn check_strength(password: &str, min_length: usize) -> Result<(), AuthError> {
    if password.len() > MAX_BYTES {
        return Err(AuthError::validation(format!(
            "Password cannot be longer than {MAX_BYTES} bytes"
        )));
    }
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

/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` for an already normalised password.
pub(crate) fn hash(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| AuthError::internal(e.to_string()))?;
    let mut out = [0u8; HASH_LEN];
    argon2()
        .hash_password_into(password.as_bytes(), &salt, &mut out)
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
    let mut bytes = [0u8; SALT_LEN + HASH_LEN];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
    let (salt, out) = bytes.split_at(SALT_LEN);
    Ok(phc(salt, out))
}

/// Whether `password` (normalised) matches `phc`, in constant time. Hashes written with other
/// parameters are verified with theirs.
pub(crate) fn verify(password: &str, phc: &str) -> bool {
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
    if Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), &salt, &mut out)
        .is_err()
    {
        return false;
    }
    out.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify(
            "correct horse battery",
            "$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA"
        ));
        assert!(!verify("x", "garbage"));
    }

    #[test]
    fn the_decoy_costs_a_real_verification_and_matches_nothing() {
        let decoy = decoy().unwrap();
        let real = hash("correct horse battery").unwrap();
        // Same algorithm and parameters, so `verify` runs argon2 in full on it.
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(params(&decoy), params(&real));
        assert_eq!(decoy.len(), real.len());
        assert_ne!(decoy, super::decoy().unwrap(), "random");
        for password in ["", "correct horse battery", "password"] {
            assert!(!verify(password, &decoy));
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
