//! The refresh-token codec: a session id and a counter, MACed with a server key, so that a
//! token is checked without a database lookup and names exactly one rotation of one session.
//!
//! The database keeps only the SHA-256 of the current token ([`RefreshCodec::digest`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes in a refresh token: session id, counter, MAC.
const LEN: usize = 16 + 8 + 16;
/// Characters of its base64url text.
const TEXT_LEN: usize = 54;

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshTokenError {
    /// Not the shape of one of ours at all.
    Malformed,
    /// Our shape, but not minted with this server's key.
    Forged,
}

/// Mints and checks refresh tokens with one key.
pub(crate) struct RefreshCodec {
    key: [u8; 32],
}

impl RefreshCodec {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        RefreshCodec { key }
    }

    /// The token naming rotation `counter` of session `session`.
    pub(crate) fn encode(&self, session: &uuid::Uuid, counter: u64) -> String {
        let mut token = [0u8; LEN];
        token[..16].copy_from_slice(session.as_bytes());
        token[16..24].copy_from_slice(&counter.to_be_bytes());
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(&token[..24]);
        token[24..].copy_from_slice(&mac.finalize().into_bytes()[..16]);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The session and counter a token names, if this key minted it (checked in constant
    /// time).
    pub(crate) fn decode(&self, token: &str) -> Result<(uuid::Uuid, u64), RefreshTokenError> {
        let mut bytes = [0u8; LEN];
        if token.len() != TEXT_LEN
            || !matches!(URL_SAFE_NO_PAD.decode_slice(token, &mut bytes), Ok(LEN))
        {
            return Err(RefreshTokenError::Malformed);
        }
        let session =
            uuid::Uuid::from_slice(&bytes[..16]).map_err(|_| RefreshTokenError::Forged)?;
        let counter = u64::from_be_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let expected = self.encode(&session, counter);
        if !bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
            return Err(RefreshTokenError::Forged);
        }
        Ok((session, counter))
    }

    /// What the database keeps of a token: its SHA-256, base64url.
    pub(crate) fn digest(token: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
    }

    /// Whether `token` is the one whose digest is `stored` (constant-time).
    pub(crate) fn matches(token: &str, stored: &str) -> bool {
        bool::from(Self::digest(token).as_bytes().ct_eq(stored.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let codec = RefreshCodec::new([3; 32]);
        let session = uuid::Uuid::new_v4();
        let token = codec.encode(&session, 7);
        assert_eq!(token.len(), TEXT_LEN);
        assert_eq!(codec.decode(&token), Ok((session, 7)));
        assert_eq!(
            RefreshCodec::new([4; 32]).decode(&token),
            Err(RefreshTokenError::Forged)
        );
        let mut tampered = token.clone().into_bytes();
        tampered[30] = if tampered[30] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            codec.decode(std::str::from_utf8(&tampered).unwrap()),
            Err(RefreshTokenError::Forged)
        );
        for bad in ["", "short", &"!".repeat(54), &format!("{token}=")] {
            assert_eq!(
                codec.decode(bad),
                Err(RefreshTokenError::Malformed),
                "{bad}"
            );
        }
        assert!(RefreshCodec::matches(&token, &RefreshCodec::digest(&token)));
        assert!(!RefreshCodec::matches(
            &token,
            &RefreshCodec::digest("other")
        ));
    }
}
