//! The JWS leaf: access-token claims, and parsing, verifying and signing compact JWS
//! (RFC 7515) with the algorithm pinned (RFC 8725): `alg: none`, HMAC with a public key and
//! unknown keys are refused. Shared by the embedded server and Supabase mode; it depends on
//! nothing else in the crate.
//!
//! Why our own and not `jsonwebtoken`: verification runs on every authenticated request, and
//! the criterion bench `jws/*` (`cargo bench -p routekit-auth --bench auth -- jws`) verifies
//! the same ES256 token with the same checks in 76.6 µs here (ring) against 203.5 µs with
//! jsonwebtoken 12's `rust_crypto` backend (0.35× the time, criterion medians in one run on
//! this project's 2-core CI machine). Its other backend, aws-lc-rs,
//! needs a C toolchain at build time. What is ours is small: splitting, base64url, the header
//! and claim checks; the cryptography is ring's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Clock skew tolerated on `exp` and `nbf` (the policy's maximum).
pub const LEEWAY_SECS: i64 = 30;

/// One authentication method of a session, newest first in the `amr` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amr {
    /// How.
    pub method: AuthMethod,
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

/// The claims of a service-role key: who may call the admin API. Unlike an access token it
/// names no user and no session, so it is never a session anywhere; and an access token,
/// whose role is `authenticated`, is never a service key.
#[cfg(feature = "server")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceClaims {
    /// Issuer: the site URL plus `/auth/v1`, as access tokens.
    pub(crate) iss: String,
    /// `service_role`.
    pub(crate) role: String,
    /// Issued at, unix seconds.
    pub(crate) iat: i64,
    /// Expiry, unix seconds.
    pub(crate) exp: i64,
    /// Not before (checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nbf: Option<i64>,
    /// A session id, which access tokens have and service keys must not.
    #[serde(default, skip_serializing)]
    pub(crate) session_id: Option<String>,
}

/// The role of a service-role key.
#[cfg(feature = "server")]
pub(crate) const SERVICE_ROLE: &str = "service_role";

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

/// How a session was authenticated: one entry of the `amr` claim (RFC 8176, with GoTrue's
/// names). Methods this server does not know (a Supabase project's `sso/saml`, …) are kept as
/// [`AuthMethod::Other`].
///
/// ```
/// use routekit_auth::AuthMethod;
///
/// assert_eq!(serde_json::to_string(&AuthMethod::Totp).unwrap(), r#""totp""#);
/// let other: AuthMethod = serde_json::from_str(r#""sso/saml""#).unwrap();
/// assert_eq!(other, AuthMethod::Other("sso/saml".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// E-mail and password.
    Password,
    /// A TOTP code (the second factor).
    Totp,
    /// A one-time code sent by e-mail or SMS.
    Otp,
    /// A magic link.
    MagicLink,
    /// A password-recovery link.
    Recovery,
    /// An invitation link.
    Invite,
    /// A social or OAuth provider.
    OAuth,
    /// The link of a sign-up confirmation e-mail.
    EmailSignup,
    /// The link of an e-mail change confirmation.
    EmailChange,
    /// An anonymous sign-in.
    Anonymous,
    /// A method this server does not know, by its name.
    Other(String),
}

impl AuthMethod {
    /// The name in the `amr` claim.
    pub fn as_str(&self) -> &str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Totp => "totp",
            AuthMethod::Otp => "otp",
            AuthMethod::MagicLink => "magiclink",
            AuthMethod::Recovery => "recovery",
            AuthMethod::Invite => "invite",
            AuthMethod::OAuth => "oauth",
            AuthMethod::EmailSignup => "email/signup",
            AuthMethod::EmailChange => "email_change",
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::Other(name) => name,
        }
    }

    pub(crate) fn from_name(name: &str) -> AuthMethod {
        match name {
            "password" => AuthMethod::Password,
            "totp" => AuthMethod::Totp,
            "otp" => AuthMethod::Otp,
            "magiclink" => AuthMethod::MagicLink,
            "recovery" => AuthMethod::Recovery,
            "invite" => AuthMethod::Invite,
            "oauth" => AuthMethod::OAuth,
            "email/signup" => AuthMethod::EmailSignup,
            "email_change" => AuthMethod::EmailChange,
            "anonymous" => AuthMethod::Anonymous,
            other => AuthMethod::Other(other.to_owned()),
        }
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuthMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuthMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(AuthMethod::from_name(&name))
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

#[cfg(feature = "server")]
impl Header {
    /// The header of a token this server signs.
    pub(crate) fn signing(alg: &str, kid: Option<String>) -> Header {
        Header {
            alg: alg.to_owned(),
            kid,
            typ: Some("JWT".to_owned()),
        }
    }
}

/// `header.payload.signature`, each part unpadded base64url, signed by `sign` over the first
/// two.
#[cfg(feature = "server")]
pub(crate) fn compact(
    header: &Header,
    claims: &impl Serialize,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<String, serde_json::Error> {
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
    let input = format!("{header}.{payload}");
    let signature = sign(input.as_bytes());
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(feature = "server")]
/// The `kid` of a token's header, without verifying anything.
pub(crate) fn kid_of(token: &str) -> Option<String> {
    TokenParts::split(token).ok()?.header.kid
}

/// An HS256 key from a shared secret of at least 32 bytes (as GoTrue's `GOTRUE_JWT_SECRET`).
pub(crate) fn hs256_key(secret: &str) -> Result<ring::hmac::Key, &'static str> {
    if secret.len() < 32 {
        return Err("the HS256 JWT secret must be at least 32 characters");
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

    /// The payload as `T`, once the signature has been checked, with `exp` and `nbf` within
    /// the leeway.
    fn payload<T: serde::de::DeserializeOwned>(
        &self,
        now: i64,
        times: impl FnOnce(&T) -> (i64, Option<i64>),
    ) -> Result<T, JwtError> {
        let claims: T = URL_SAFE_NO_PAD
            .decode(self.payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(JwtError::Malformed)?;
        let (exp, nbf) = times(&claims);
        if exp + LEEWAY_SECS < now {
            return Err(JwtError::Expired);
        }
        if nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > now) {
            return Err(JwtError::NotYetValid);
        }
        Ok(claims)
    }

    /// The claims, once the signature has been checked: `exp` and `nbf` within the leeway,
    /// `aud` `authenticated` and `iss` the given issuer.
    pub(crate) fn claims(&self, issuer: &str, now: i64) -> Result<Claims, JwtError> {
        let claims: Claims = self.payload(now, |c: &Claims| (c.exp, c.nbf))?;
        if claims.aud != "authenticated" || claims.iss != issuer {
            return Err(JwtError::Audience);
        }
        Ok(claims)
    }

    /// The claims of a service-role key, once the signature has been checked: `exp` and
    /// `nbf` within the leeway and `iss` the given issuer. The role is the caller's to check.
    #[cfg(feature = "server")]
    pub(crate) fn service_claims(&self, issuer: &str, now: i64) -> Result<ServiceClaims, JwtError> {
        let claims: ServiceClaims = self.payload(now, |c: &ServiceClaims| (c.exp, c.nbf))?;
        if claims.iss != issuer {
            return Err(JwtError::Audience);
        }
        Ok(claims)
    }
}
