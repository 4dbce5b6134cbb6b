//! The token scheme: a random secret kept in an HttpOnly cookie, and tokens derived from it
//! with HMAC-SHA256 and masked afresh each time they are handed out.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Bytes of randomness in a secret.
const SECRET_LEN: usize = 32;
/// Bytes of an unmasked token: one HMAC-SHA256 output.
const RAW_LEN: usize = 32;
/// Bytes of a masked token: the mask, then the token XORed with it.
const MASKED_LEN: usize = 2 * RAW_LEN;
/// Characters of a masked token in unpadded base64url.
pub(crate) const TOKEN_CHARS: usize = (MASKED_LEN * 4).div_ceil(3);
/// Characters of a secret in unpadded base64url (the cookie value).
const SECRET_CHARS: usize = (SECRET_LEN * 4).div_ceil(3);

/// Domain separation: a routekit CSRF token is the HMAC of this label under the secret, so
/// the secret is never used for anything else.
const LABEL: &[u8] = b"routekit-csrf-token/v1";

/// The per-browser secret the CSRF cookie holds: 32 bytes from the operating system's CSPRNG.
///
/// Tokens are derived from it; [`CsrfSecret::issue`] hands out a fresh masked token and
/// [`CsrfSecret::verify`] checks one in constant time.
///
/// ```
/// use routekit_csrf::CsrfSecret;
///
/// let secret = CsrfSecret::generate();
/// let token = secret.issue();
/// assert!(secret.verify(&token));
/// assert_ne!(token, secret.issue(), "every token is masked afresh");
/// assert!(!CsrfSecret::generate().verify(&token), "a token belongs to its secret");
///
/// // The cookie value round-trips.
/// let again = CsrfSecret::from_cookie_value(&secret.to_cookie_value()).unwrap();
/// assert!(again.verify(&token));
/// ```
#[derive(Clone)]
pub struct CsrfSecret {
    bytes: [u8; SECRET_LEN],
}

impl CsrfSecret {
    /// A new random secret.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails, which leaves nothing safe to do.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_LEN];
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        CsrfSecret { bytes }
    }

    /// `HMAC-SHA256(secret, LABEL)`: the unmasked token. Computed when a token is issued or
    /// checked, not when the cookie is read, so GET requests never pay for it.
    fn raw(&self) -> [u8; RAW_LEN] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes)
            .expect("HMAC accepts keys of any length");
        mac.update(LABEL);
        mac.finalize().into_bytes().into()
    }

    /// Reads a secret from its cookie value; `None` unless it is exactly 32 bytes of unpadded
    /// base64url, as [`CsrfSecret::to_cookie_value`] writes.
    pub fn from_cookie_value(value: &str) -> Option<Self> {
        if value.len() != SECRET_CHARS {
            return None;
        }
        let mut bytes = [0u8; SECRET_LEN];
        match URL_SAFE_NO_PAD.decode_slice(value, &mut bytes) {
            Ok(SECRET_LEN) => Some(Self::from_bytes(bytes)),
            _ => None,
        }
    }

    /// The cookie value: the secret in unpadded base64url (43 characters).
    pub fn to_cookie_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.bytes)
    }

    /// A new token for this secret: a fresh random mask, then the HMAC XORed with it, in
    /// unpadded base64url (86 characters). Masking makes every response's token different,
    /// so compression side channels (BREACH) learn nothing from repeated tokens.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails.
    pub fn issue(&self) -> String {
        let mut masked = [0u8; MASKED_LEN];
        let (mask, body) = masked.split_at_mut(RAW_LEN);
        getrandom::fill(mask).expect("the OS random number generator failed");
        for ((out, m), r) in body.iter_mut().zip(mask.iter()).zip(self.raw()) {
            *out = m ^ r;
        }
        URL_SAFE_NO_PAD.encode(masked)
    }

    /// Whether `token` was issued for this secret. The comparison runs in constant time;
    /// anything but a canonical 86-character token is rejected.
    pub fn verify(&self, token: &str) -> bool {
        if token.len() != TOKEN_CHARS {
            return false;
        }
        let mut masked = [0u8; MASKED_LEN];
        // The decoder rejects non-canonical trailing bits, so no two strings decode alike.
        if !matches!(
            URL_SAFE_NO_PAD.decode_slice(token, &mut masked),
            Ok(MASKED_LEN)
        ) {
            return false;
        }
        let (mask, body) = masked.split_at(RAW_LEN);
        let mut unmasked = [0u8; RAW_LEN];
        for ((out, m), b) in unmasked.iter_mut().zip(mask).zip(body) {
            *out = m ^ b;
        }
        unmasked.ct_eq(&self.raw()).into()
    }
}

impl fmt::Debug for CsrfSecret {
    // Never print the secret: it would end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lengths_match_the_encoding() {
        let secret = CsrfSecret::generate();
        assert_eq!(secret.to_cookie_value().len(), SECRET_CHARS);
        assert_eq!(secret.issue().len(), TOKEN_CHARS);
        assert_eq!(TOKEN_CHARS, 86);
        assert_eq!(SECRET_CHARS, 43);
    }

    #[test]
    fn malformed_cookie_values_are_refused() {
        let good = CsrfSecret::generate().to_cookie_value();
        assert!(CsrfSecret::from_cookie_value(&good).is_some());
        for bad in [
            String::new(),
            good[1..].to_owned(),
            format!("{good}A"),
            format!("{}=", &good[..42]),
            good.replace(|_| true, "!"),
        ] {
            assert!(CsrfSecret::from_cookie_value(&bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn truncated_padded_and_empty_tokens_fail() {
        let secret = CsrfSecret::generate();
        let token = secret.issue();
        assert!(!secret.verify(""));
        assert!(!secret.verify(&token[..85]));
        assert!(!secret.verify(&token[..43]));
        assert!(!secret.verify(&format!("{token}=")));
        assert!(!secret.verify(&format!("{token}A")));
    }

    #[test]
    fn the_unmasked_hmac_is_not_a_token() {
        let secret = CsrfSecret::generate();
        // A zero mask would reveal the raw HMAC; it must still be a valid token (masking is
        // for BREACH, not for secrecy), and the raw HMAC alone must not be.
        let mut zero_mask = [0u8; MASKED_LEN];
        zero_mask[RAW_LEN..].copy_from_slice(&secret.raw());
        assert!(secret.verify(&URL_SAFE_NO_PAD.encode(zero_mask)));
        assert!(!secret.verify(&URL_SAFE_NO_PAD.encode(secret.raw())));
    }

    proptest! {
        #[test]
        fn issued_tokens_verify(seed in any::<[u8; SECRET_LEN]>()) {
            let secret = CsrfSecret::from_bytes(seed);
            let token = secret.issue();
            prop_assert!(secret.verify(&token));
            let reread = CsrfSecret::from_cookie_value(&secret.to_cookie_value()).unwrap();
            prop_assert!(reread.verify(&token));
        }

        #[test]
        fn any_one_byte_change_fails(
            seed in any::<[u8; SECRET_LEN]>(),
            index in 0..TOKEN_CHARS,
            replacement in any::<u8>(),
        ) {
            let secret = CsrfSecret::from_bytes(seed);
            let mut token = secret.issue().into_bytes();
            prop_assume!(token[index] != replacement);
            token[index] = replacement;
            // Invalid UTF-8 cannot even reach `verify`; the lossy form stands in for it.
            let token = String::from_utf8_lossy(&token);
            prop_assert!(!secret.verify(&token));
        }

        #[test]
        fn a_token_fails_under_another_secret(
            a in any::<[u8; SECRET_LEN]>(),
            b in any::<[u8; SECRET_LEN]>(),
        ) {
            prop_assume!(a != b);
            let token = CsrfSecret::from_bytes(a).issue();
            prop_assert!(!CsrfSecret::from_bytes(b).verify(&token));
        }
    }
}
