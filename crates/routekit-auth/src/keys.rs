//! The key ring: the ES256 signing keys (the newest active one signs, retired ones verify
//! until their tokens expire) on top of the key store, and the JWKS that publishes them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::Value;

use crate::error::AuthError;
use crate::jws::{
    Claims, Header, JwtError, LEEWAY_SECS, ServiceClaims, TokenParts, compact, hs256_key,
};
use crate::store::{SigningKeyRow, Store};

/// One ES256 key pair.
#[derive(Clone)]
struct Key {
    /// `None` for a retired key supplied by configuration (only its public half is stored).
    signing: Option<SigningKey>,
    verifying: VerifyingKey,
    /// The same public key for ring, whose P-256 verification is several times faster than
    /// the pure-Rust one (it runs on every authenticated request).
    fast: ring::signature::UnparsedPublicKey<Vec<u8>>,
    retired_at: Option<i64>,
}

/// The signing keys: the newest active one signs; retired ones verify until their tokens
/// expire. Kept in the database so every instance shares them.
#[derive(Clone)]
pub struct Keys {
    inner: Arc<RwLock<KeySet>>,
    store: Store,
    jwt_exp: i64,
    /// A key from `ROUTEKIT_AUTH_SIGNING_KEY`: its private half stays out of the database.
    supplied: Option<(String, SigningKey)>,
    /// `ROUTEKIT_AUTH_JWT_SECRET`: legacy HS256 signing, as a GoTrue with only a JWT secret.
    legacy: Option<ring::hmac::Key>,
    /// When an unknown `kid` last made this instance re-read the keys: a token naming a `kid`
    /// nobody has must not cost a database query on every request.
    unknown_kid_reload: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

/// At most one reload for unknown `kid`s per this interval (a key rotated on another instance
/// is picked up by the first of its tokens after it).
pub(crate) const UNKNOWN_KID_RELOAD: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether `kid` has the shape of a key id this server makes: a UUID (a generated key) or
/// `config-` and 16 characters of base64url (a configured one). Anything else is unknown
/// without asking the database.
fn is_our_kid(kid: &str) -> bool {
    match kid.strip_prefix("config-") {
        Some(id) => {
            id.len() == 16
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        None => uuid::Uuid::try_parse(kid).is_ok(),
    }
}

struct KeySet {
    active: String,
    keys: HashMap<String, Key>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn random_signing_key() -> Result<SigningKey, AuthError> {
    loop {
        let bytes = crate::random_bytes::<32>()?;
        // A random 256-bit string is a valid scalar except with probability ~2^-32.
        if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
            return Ok(key);
        }
    }
}

impl Keys {
    /// Loads the keys, creating the first one when there is none. With `supplied` (32 bytes of
    /// base64url, the P-256 private scalar) that key signs, and the keys before it stay in
    /// the JWKS until their tokens expire.
    pub(crate) async fn load(
        store: Store,
        jwt_exp: i64,
        supplied: Option<&str>,
        legacy_secret: Option<&str>,
    ) -> Result<Keys, AuthError> {
        let legacy = legacy_secret
            .map(hs256_key)
            .transpose()
            .map_err(AuthError::internal)?;
        let supplied = match supplied {
            Some(text) => {
                let bytes: [u8; 32] = URL_SAFE_NO_PAD
                    .decode(text.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        AuthError::internal(
                            "ROUTEKIT_AUTH_SIGNING_KEY must be 32 bytes of base64url",
                        )
                    })?;
                let key = SigningKey::from_bytes(&bytes.into()).map_err(|_| {
                    AuthError::internal("ROUTEKIT_AUTH_SIGNING_KEY is not a P-256 private key")
                })?;
                // A stable id from the public key: every instance given this key agrees on it.
                let digest = <sha2::Sha256 as sha2::Digest>::digest(
                    key.verifying_key().to_sec1_point(false).as_bytes(),
                );
                let kid = format!("config-{}", URL_SAFE_NO_PAD.encode(&digest[..12]));
                Some((kid, key))
            }
            None => None,
        };
        let keys = Keys {
            inner: Arc::new(RwLock::new(KeySet {
                active: String::new(),
                keys: HashMap::new(),
            })),
            store,
            jwt_exp,
            supplied,
            legacy,
            unknown_kid_reload: Arc::new(std::sync::Mutex::new(None)),
        };
        if let Some((kid, key)) = &keys.supplied {
            keys.install(kid, "", key).await?;
        }
        keys.reload().await?;
        if keys.inner.read().expect("key lock").keys.is_empty() {
            keys.rotate().await?;
        }
        Ok(keys)
    }

    /// Makes `kid` the active key, retiring the others; `private` is empty for a supplied key.
    async fn install(&self, kid: &str, private: &str, key: &SigningKey) -> Result<(), AuthError> {
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().to_sec1_point(false).as_bytes());
        self.store
            .activate_signing_key(kid, private, &public, crate::now())
            .await?;
        Ok(())
    }

    /// Re-reads the keys from the database (another instance may have rotated).
    pub(crate) async fn reload(&self) -> Result<(), AuthError> {
        let rows = self.store.signing_keys().await?;
        let now = crate::now();
        let mut set = KeySet {
            active: String::new(),
            keys: HashMap::new(),
        };
        for SigningKeyRow {
            kid,
            private_key: private,
            public_key: public,
            retired_at,
        } in rows
        {
            // Retired keys are dropped once no token they signed can still be valid.
            if retired_at.is_some_and(|r| r + self.jwt_exp + LEEWAY_SECS < now) {
                continue;
            }
            let signing = if !private.is_empty() {
                let bytes: [u8; 32] = URL_SAFE_NO_PAD
                    .decode(&private)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| AuthError::internal("stored signing key is malformed"))?;
                Some(SigningKey::from_bytes(&bytes.into()).map_err(AuthError::internal)?)
            } else {
                self.supplied
                    .as_ref()
                    .filter(|(supplied, _)| *supplied == kid)
                    .map(|(_, key)| key.clone())
            };
            let verifying = match (&signing, public) {
                (Some(signing), _) => *signing.verifying_key(),
                (None, Some(public)) => URL_SAFE_NO_PAD
                    .decode(public)
                    .ok()
                    .and_then(|p| VerifyingKey::from_sec1_bytes(&p).ok())
                    .ok_or_else(|| AuthError::internal("stored public key is malformed"))?,
                (None, None) => continue,
            };
            let fast = ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                verifying.to_sec1_point(false).as_bytes().to_vec(),
            );
            if retired_at.is_none() && signing.is_some() {
                set.active.clone_from(&kid);
            }
            set.keys.insert(
                kid,
                Key {
                    signing,
                    verifying,
                    fast,
                    retired_at,
                },
            );
        }
        *self.inner.write().expect("key lock") = set;
        Ok(())
    }

    /// Creates a new signing key and retires the current one, which stays in the JWKS until
    /// the tokens it signed expire. With a key supplied by configuration, change the
    /// configuration instead.
    pub async fn rotate(&self) -> Result<String, AuthError> {
        if self.supplied.is_some() {
            return Err(AuthError::internal(
                "the signing key comes from ROUTEKIT_AUTH_SIGNING_KEY: change it there to rotate",
            ));
        }
        let key = random_signing_key()?;
        let kid = uuid::Uuid::new_v4().to_string();
        self.install(&kid, &URL_SAFE_NO_PAD.encode(key.to_bytes()), &key)
            .await?;
        self.reload().await?;
        Ok(kid)
    }

    /// Signs `claims` with the active key (with HS256 when a legacy secret is configured).
    pub(crate) fn sign(&self, claims: &impl serde::Serialize) -> Result<String, AuthError> {
        if let Some(legacy) = &self.legacy {
            return compact(&Header::signing("HS256", None), claims, |input| {
                ring::hmac::sign(legacy, input).as_ref().to_vec()
            })
            .map_err(AuthError::internal);
        }
        let set = self.inner.read().expect("key lock");
        let key = set
            .keys
            .get(&set.active)
            .and_then(|k| k.signing.as_ref())
            .ok_or_else(|| AuthError::internal("no active signing key"))?;
        let header = Header::signing("ES256", Some(set.active.clone()));
        compact(&header, claims, |input| {
            let signature: Signature = key.sign(input);
            signature.to_bytes().to_vec()
        })
        .map_err(AuthError::internal)
    }

    /// Verifies a token's signature and its `exp`, `nbf`, `aud` and `iss`.
    pub fn verify(&self, token: &str, issuer: &str, now: i64) -> Result<Claims, JwtError> {
        self.signed(token)?.claims(issuer, now)
    }

    /// Verifies a service-role key's signature and its `exp`, `nbf` and `iss`.
    pub(crate) fn verify_service(
        &self,
        token: &str,
        issuer: &str,
        now: i64,
    ) -> Result<ServiceClaims, JwtError> {
        self.signed(token)?.service_claims(issuer, now)
    }

    /// The token taken apart, once its signature verifies with one of the keys.
    fn signed<'t>(&self, token: &'t str) -> Result<TokenParts<'t>, JwtError> {
        let parts = TokenParts::split(token)?;
        // The algorithm list is pinned, and each algorithm has its own keys: the header
        // cannot talk the verifier into another, nor into using a public key as a MAC key.
        match (parts.header.alg.as_str(), &self.legacy) {
            ("ES256", _) => {
                let kid = parts.header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
                let set = self.inner.read().expect("key lock");
                let key = set.keys.get(kid).ok_or(JwtError::UnknownKey)?;
                parts.verify_with(&key.fast)?;
            }
            ("HS256", Some(legacy)) => parts.verify_hs256(legacy)?,
            _ => return Err(JwtError::Algorithm),
        }
        Ok(parts)
    }

    /// `{"keys":[…]}`: the public keys, active and retired-but-unexpired.
    pub fn jwks(&self) -> Value {
        let set = self.inner.read().expect("key lock");
        let mut keys: Vec<(&String, &Key)> = set.keys.iter().collect();
        keys.sort_by_key(|(kid, key)| (key.retired_at.is_some(), (*kid).clone()));
        let keys: Vec<Value> = keys
            .into_iter()
            .map(|(kid, key)| {
                let point = key.verifying.to_sec1_point(false);
                let bytes = point.as_bytes();
                serde_json::json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&bytes[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&bytes[33..65]),
                    "kid": kid,
                    "alg": "ES256",
                    "use": "sig",
                    "key_ops": ["verify"],
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Whether `kid` is known, after a reload if it was not: another instance may have
    /// rotated. The reload happens only for a `kid` of our shape, and at most once per
    /// [`UNKNOWN_KID_RELOAD`], so forged `kid`s cannot make every request a database query.
    pub(crate) async fn knows(&self, kid: &str) -> bool {
        if self.inner.read().expect("key lock").keys.contains_key(kid) {
            return true;
        }
        if !is_our_kid(kid) {
            return false;
        }
        {
            let mut last = self
                .unknown_kid_reload
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_RELOAD) {
                return false;
            }
            *last = Some(std::time::Instant::now());
        }
        self.reload().await.is_ok() && self.inner.read().expect("key lock").keys.contains_key(kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_ids_of_our_shape_are_looked_up() {
        assert!(is_our_kid("1b4e28ba-2fa1-11d2-883f-0016d3cca427"));
        assert!(is_our_kid("config-AbCdEfGhIjKlMnOp"));
        for kid in [
            "nope",
            "config-",
            "config-short",
            "../../etc",
            "",
            "1b4e28ba",
        ] {
            assert!(!is_our_kid(kid), "{kid}");
        }
    }
}
