//! Access tokens: ES256 JWTs with a `kid`, GoTrue's claims, and a verifier that pins the
//! algorithm (RFC 8725): `alg: none`, HMAC with a public key and unknown keys are refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AuthError;
use crate::store::Store;

/// Clock skew tolerated on `exp` and `nbf` (the policy's maximum).
pub const LEEWAY_SECS: i64 = 30;

/// One authentication method of a session, newest first in the `amr` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amr {
    /// `password`, `totp`, …
    pub method: String,
    /// When, in unix seconds.
    pub timestamp: i64,
}

/// The claims of a routekit (and Supabase) access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// Issuer: the site URL plus `/auth/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iss: String,
    /// The user id (a UUID).
    pub sub: String,
    /// Audience: `authenticated`.
    pub aud: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before (never set by routekit; checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The user's e-mail.
    #[serde(default)]
    pub email: String,
    /// The user's phone (always empty for now).
    #[serde(default)]
    pub phone: String,
    /// `app_metadata`.
    #[serde(default)]
    pub app_metadata: Value,
    /// `user_metadata`.
    #[serde(default)]
    pub user_metadata: Value,
    /// `authenticated`.
    pub role: String,
    /// The session's assurance level, `aal1` or `aal2`.
    pub aal: Aal,
    /// How the session was authenticated, newest first.
    #[serde(default)]
    pub amr: Vec<Amr>,
    /// The session row's id.
    pub session_id: String,
    /// Always `false` for now.
    #[serde(default)]
    pub is_anonymous: bool,
}

/// A session's authenticator assurance level (NIST SP 800-63B): `aal1` after a password,
/// `aal2` after a second factor too. On the wire and in the database, `"aal1"` and `"aal2"`.
///
/// ```
/// use routekit_auth::Aal;
///
/// assert_eq!(serde_json::to_string(&Aal::Aal2).unwrap(), r#""aal2""#);
/// assert_eq!("aal1".parse::<Aal>(), Ok(Aal::Aal1));
/// assert!(Aal::Aal1 < Aal::Aal2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aal {
    /// One factor (a password).
    Aal1,
    /// Two factors (a password and a TOTP code).
    Aal2,
}

impl Aal {
    /// `"aal1"` or `"aal2"`, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
        }
    }
}

impl std::fmt::Display for Aal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Aal {
    type Err = JwtError;

    fn from_str(s: &str) -> Result<Self, JwtError> {
        match s {
            "aal1" => Ok(Aal::Aal1),
            "aal2" => Ok(Aal::Aal2),
            _ => Err(JwtError::Malformed),
        }
    }
}

/// Why a token was refused (never shown to clients in detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// An algorithm not allowed here (`none`, HS256 without a configured secret, …).
    #[error("algorithm not allowed")]
    Algorithm,
    /// No key with this `kid`.
    #[error("unknown key id")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// Past `exp` (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// Before `nbf`.
    #[error("token not yet valid")]
    NotYetValid,
    /// Wrong `aud` or `iss`.
    #[error("wrong audience or issuer")]
    Audience,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

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
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
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
        let legacy = legacy_secret.map(hs256_key).transpose()?;
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
        let now = crate::now();
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().to_sec1_point(false).as_bytes());
        let mut tx = self.store.pool.begin().await?;
        sqlx::query(
            "UPDATE auth_signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid <> $2",
        )
        .bind(now)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO auth_signing_keys (kid, private_key, public_key, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(kid)
        .bind(private)
        .bind(&public)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE auth_signing_keys SET retired_at = NULL WHERE kid = $1")
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Re-reads the keys from the database (another instance may have rotated).
    pub(crate) async fn reload(&self) -> Result<(), AuthError> {
        let rows: Vec<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT kid, private_key, public_key, retired_at FROM auth_signing_keys \
             ORDER BY created_at, kid",
        )
        .fetch_all(&self.store.pool)
        .await?;
        let now = crate::now();
        let mut set = KeySet {
            active: String::new(),
            keys: HashMap::new(),
        };
        for (kid, private, public, retired_at) in rows {
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
    pub(crate) fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        if let Some(legacy) = &self.legacy {
            let header = Header {
                alg: "HS256".to_owned(),
                kid: None,
                typ: Some("JWT".to_owned()),
            };
            return compact(&header, claims, |input| {
                ring::hmac::sign(legacy, input).as_ref().to_vec()
            });
        }
        let set = self.inner.read().expect("key lock");
        let key = set
            .keys
            .get(&set.active)
            .and_then(|k| k.signing.as_ref())
            .ok_or_else(|| AuthError::internal("no active signing key"))?;
        let header = Header {
            alg: "ES256".to_owned(),
            kid: Some(set.active.clone()),
            typ: Some("JWT".to_owned()),
        };
        compact(&header, claims, |input| {
            let signature: Signature = key.sign(input);
            signature.to_bytes().to_vec()
        })
    }

    /// Verifies a token's signature and its `exp`, `nbf`, `aud` and `iss`.
    pub fn verify(&self, token: &str, issuer: &str, now: i64) -> Result<Claims, JwtError> {
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
        parts.claims(issuer, now)
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

/// `header.payload.signature`, each part unpadded base64url, signed by `sign` over the first
/// two.
fn compact(
    header: &Header,
    claims: &Claims,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<String, AuthError> {
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).map_err(AuthError::internal)?);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(AuthError::internal)?);
    let input = format!("{header}.{payload}");
    let signature = sign(input.as_bytes());
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The `kid` of a token's header, without verifying anything.
pub(crate) fn kid_of(token: &str) -> Option<String> {
    TokenParts::split(token).ok()?.header.kid
}

/// An HS256 key from a shared secret of at least 32 bytes (as GoTrue's `GOTRUE_JWT_SECRET`).
pub(crate) fn hs256_key(secret: &str) -> Result<ring::hmac::Key, AuthError> {
    if secret.len() < 32 {
        return Err(AuthError::internal(
            "the HS256 JWT secret must be at least 32 characters",
        ));
    }
    Ok(ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        secret.as_bytes(),
    ))
}

/// A compact JWS taken apart, nothing verified yet.
pub(crate) struct TokenParts<'a> {
    pub(crate) header: Header,
    /// `header.payload`, the signed bytes.
    input: &'a [u8],
    payload: &'a str,
    signature: Vec<u8>,
}

impl<'a> TokenParts<'a> {
    /// Three base64url parts, the first a JSON header.
    pub(crate) fn split(token: &'a str) -> Result<Self, JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(JwtError::Malformed)?;
        let input = &token.as_bytes()[..token.len() - signature.len() - 1];
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| JwtError::Signature)?;
        Ok(TokenParts {
            header,
            input,
            payload,
            signature,
        })
    }

    /// Checks the signature with an ES256 or RS256 public key.
    pub(crate) fn verify_with<B: AsRef<[u8]>>(
        &self,
        key: &ring::signature::UnparsedPublicKey<B>,
    ) -> Result<(), JwtError> {
        key.verify(self.input, &self.signature)
            .map_err(|_| JwtError::Signature)
    }

    /// Checks an HS256 tag, in constant time.
    pub(crate) fn verify_hs256(&self, key: &ring::hmac::Key) -> Result<(), JwtError> {
        ring::hmac::verify(key, self.input, &self.signature).map_err(|_| JwtError::Signature)
    }

    /// The claims, once the signature has been checked: `exp` and `nbf` within the leeway,
    /// `aud` `authenticated` and `iss` the given issuer.
    pub(crate) fn claims(&self, issuer: &str, now: i64) -> Result<Claims, JwtError> {
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(self.payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(JwtError::Malformed)?;
        if claims.exp + LEEWAY_SECS < now {
            return Err(JwtError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > now) {
            return Err(JwtError::NotYetValid);
        }
        if claims.aud != "authenticated" || claims.iss != issuer {
            return Err(JwtError::Audience);
        }
        Ok(claims)
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
