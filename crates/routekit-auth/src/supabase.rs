//! Supabase mode: sessions issued by a hosted Supabase project (or any GoTrue), verified
//! here. Access tokens are checked locally, with the project's JWKS (ES256 or RS256, fetched
//! and cached, fetched again when a token names an unknown `kid`) or its legacy HS256 secret;
//! the project answers what only it knows: whether a session still exists and which factors
//! a user has verified (`GET /auth/v1/user`), and refreshes (`POST /auth/v1/token`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::Value;

use crate::factor::{AssuranceLevel, FactorStatus, Standing};
use crate::jws::{Claims, JwtError, TokenParts};

/// Which hosted project to trust, and how to reach it.
///
/// ```
/// use routekit_auth::SupabaseConfig;
///
/// let config = SupabaseConfig::new("https://abcd.supabase.co/", "anon-or-publishable-key");
/// assert_eq!(config.issuer(), "https://abcd.supabase.co/auth/v1");
/// let legacy = config.with_jwt_secret("the project's legacy JWT secret, 32+ chars");
/// assert!(legacy.jwt_secret.is_some());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct SupabaseConfig {
    /// `SUPABASE_URL`: the project's URL, such as `https://<ref>.supabase.co`.
    pub url: String,
    /// `SUPABASE_ANON_KEY` (or `SUPABASE_PUBLISHABLE_KEY`): sent as `apikey` on every call to
    /// the project.
    pub api_key: String,
    /// `SUPABASE_JWT_SECRET`: the legacy HS256 secret. Unset, only ES256 and RS256 tokens
    /// (checked with the JWKS) are accepted.
    pub jwt_secret: Option<String>,
    /// How long a fetched JWKS is used before it is fetched again (default 10 min, as
    /// supabase-js).
    pub jwks_ttl: Duration,
    /// The least time between two fetches caused by unknown `kid`s (default 30 s), so forged
    /// tokens cannot make this server hammer the project.
    pub unknown_kid_refetch: Duration,
    /// How long one call to the project may take (default 5 s).
    pub timeout: Duration,
}

impl std::fmt::Debug for SupabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseConfig")
            .field("url", &self.url)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "…"))
            .field("jwks_ttl", &self.jwks_ttl)
            .finish_non_exhaustive()
    }
}

impl SupabaseConfig {
    /// The project at `url`, called with `api_key`.
    pub fn new(url: impl Into<String>, api_key: impl Into<String>) -> Self {
        SupabaseConfig {
            url: url.into().trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
            jwt_secret: None,
            jwks_ttl: Duration::from_secs(600),
            unknown_kid_refetch: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }

    /// Also accepts HS256 tokens signed with the project's legacy JWT secret.
    pub fn with_jwt_secret(mut self, secret: impl Into<String>) -> Self {
        self.jwt_secret = Some(secret.into());
        self
    }

    /// `SUPABASE_URL`, `SUPABASE_ANON_KEY` (or `SUPABASE_PUBLISHABLE_KEY`) and
    /// `SUPABASE_JWT_SECRET`; `None` when `SUPABASE_URL` is unset.
    ///
    /// ```
    /// let config = routekit_auth::SupabaseConfig::from_env()?;
    /// # Ok::<(), routekit_auth::AuthConfigError>(())
    /// ```
    pub fn from_env() -> Result<Option<Self>, crate::AuthConfigError> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub(crate) fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, crate::AuthConfigError> {
        let Some(url) = var("SUPABASE_URL") else {
            return Ok(None);
        };
        let key = var("SUPABASE_ANON_KEY")
            .or_else(|| var("SUPABASE_PUBLISHABLE_KEY"))
            .ok_or(crate::AuthConfigError::Variable {
                name: "SUPABASE_ANON_KEY",
                expected: "set (the project's anon or publishable key) when SUPABASE_URL is",
            })?;
        let mut config = SupabaseConfig::new(url, key);
        config.jwt_secret = var("SUPABASE_JWT_SECRET");
        Ok(Some(config))
    }

    /// The `iss` of the project's tokens: the URL plus `/auth/v1`.
    pub fn issuer(&self) -> String {
        format!("{}/auth/v1", self.url)
    }
}

/// Why a call to the project did not give an answer to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SupabaseError {
    /// The token failed the local checks.
    #[error("invalid token: {0}")]
    Invalid(JwtError),
    /// The project refused (a revoked session, an invalid refresh token, …).
    #[error("refused by the project: {status} {code}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// GoTrue's `error_code` (or `error`), when it sent one.
        code: String,
    },
    /// The project could not be reached, or answered with a server error or garbage.
    #[error("the Supabase project is unavailable: {0}")]
    Unavailable(String),
}

/// A client of a hosted Supabase project's auth API: local token verification, and the few
/// calls only the project can answer.
///
/// ```no_run
/// # async fn f(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// use routekit_auth::{SupabaseAuth, SupabaseConfig};
///
/// let supabase = SupabaseAuth::new(SupabaseConfig::new("https://abcd.supabase.co", "anon-key"))?;
/// let claims = supabase.verify_access_token(token).await?;
/// let user = supabase.user(token).await?; // factors, from the project
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SupabaseAuth(Arc<Inner>);

impl std::fmt::Debug for SupabaseAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SupabaseAuth").field(&self.0.config).finish()
    }
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Inner {
    config: SupabaseConfig,
    issuer: String,
    hs256: Option<ring::hmac::Key>,
    http: HttpClient,
    jwks: RwLock<Jwks>,
    /// One JWKS fetch at a time; the others wait for its result.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Jwks {
    keys: HashMap<String, RemoteKey>,
    fetched_at: Option<Instant>,
    /// The last fetch caused by an unknown `kid`.
    unknown_kid_fetch: Option<Instant>,
}

/// A public key from the JWKS, with the one algorithm it may verify.
struct RemoteKey {
    alg: &'static str,
    key: ring::signature::UnparsedPublicKey<Vec<u8>>,
}

/// Responses larger than this are refused (a JWKS or a user is a few KiB).
const MAX_BODY: usize = 1 << 20;

impl SupabaseAuth {
    /// A client for the project; fails only on a bad configuration (a short HS256 secret, no
    /// usable root certificates).
    pub fn new(config: SupabaseConfig) -> Result<Self, crate::AuthError> {
        let hs256 = config
            .jwt_secret
            .as_deref()
            .map(|s| crate::jws::hs256_key(s).map_err(crate::AuthError::internal))
            .transpose()?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| crate::AuthError::internal(format!("TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(https);
        Ok(SupabaseAuth(Arc::new(Inner {
            issuer: config.issuer(),
            config,
            hs256,
            http,
            jwks: RwLock::new(Jwks::default()),
            fetching: tokio::sync::Mutex::new(()),
        })))
    }

    /// The settings.
    pub fn config(&self) -> &SupabaseConfig {
        &self.0.config
    }

    /// Verifies an access token locally: the algorithm pinned to ES256 and RS256 (keys from
    /// the JWKS, by `kid`) and HS256 only with a configured secret; then `exp`, `nbf`, `aud`
    /// and `iss`. Fetches the JWKS when it has none, it is stale, or the `kid` is unknown.
    pub async fn verify_access_token(&self, token: &str) -> Result<Claims, SupabaseError> {
        let parts = TokenParts::split(token).map_err(SupabaseError::Invalid)?;
        let now = crate::now();
        match parts.header.alg.as_str() {
            "HS256" => {
                let key = self
                    .0
                    .hs256
                    .as_ref()
                    .ok_or(SupabaseError::Invalid(JwtError::Algorithm))?;
                parts.verify_hs256(key).map_err(SupabaseError::Invalid)?;
            }
            alg @ ("ES256" | "RS256") => {
                let kid = parts
                    .header
                    .kid
                    .as_deref()
                    .ok_or(SupabaseError::Invalid(JwtError::UnknownKey))?;
                if !self.has_key(kid)
                    && let Err(error) = self.refresh_jwks(kid).await
                {
                    // A stale JWKS that has the key still verifies while the project is
                    // unreachable; keys are only withdrawn after their tokens expire.
                    if !self
                        .0
                        .jwks
                        .read()
                        .expect("jwks lock")
                        .keys
                        .contains_key(kid)
                    {
                        return Err(error);
                    }
                }
                let jwks = self.0.jwks.read().expect("jwks lock");
                let key = jwks
                    .keys
                    .get(kid)
                    .ok_or(SupabaseError::Invalid(JwtError::UnknownKey))?;
                if key.alg != alg {
                    return Err(SupabaseError::Invalid(JwtError::Algorithm));
                }
                parts
                    .verify_with(&key.key)
                    .map_err(SupabaseError::Invalid)?;
            }
            _ => return Err(SupabaseError::Invalid(JwtError::Algorithm)),
        }
        parts
            .claims(&self.0.issuer, now)
            .map_err(SupabaseError::Invalid)
    }

    /// Whether `kid` is in a JWKS that is not stale.
    fn has_key(&self, kid: &str) -> bool {
        let jwks = self.0.jwks.read().expect("jwks lock");
        jwks.keys.contains_key(kid)
            && jwks
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.0.config.jwks_ttl)
    }

    /// Fetches the JWKS again, unless another task just did, or (for a `kid` that a fresh
    /// JWKS lacks) an unknown `kid` caused a fetch less than `unknown_kid_refetch` ago.
    async fn refresh_jwks(&self, kid: &str) -> Result<(), SupabaseError> {
        let _one_at_a_time = self.0.fetching.lock().await;
        let config = &self.0.config;
        {
            let jwks = self.0.jwks.read().expect("jwks lock");
            let fresh = jwks
                .fetched_at
                .is_some_and(|at| at.elapsed() < config.jwks_ttl);
            if fresh && jwks.keys.contains_key(kid) {
                return Ok(());
            }
            if fresh
                && jwks
                    .unknown_kid_fetch
                    .is_some_and(|at| at.elapsed() < config.unknown_kid_refetch)
            {
                return Ok(());
            }
        }
        let url = format!("{}/.well-known/jwks.json", self.0.issuer);
        let (status, body) = self.call(http::Method::GET, &url, None, None).await?;
        if status != 200 {
            return Err(SupabaseError::Unavailable(format!(
                "JWKS answered {status}"
            )));
        }
        let keys = parse_jwks(&body)?;
        let mut jwks = self.0.jwks.write().expect("jwks lock");
        let was_fresh = jwks
            .fetched_at
            .is_some_and(|at| at.elapsed() < config.jwks_ttl);
        if was_fresh || !keys.contains_key(kid) {
            jwks.unknown_kid_fetch = Some(Instant::now());
        }
        jwks.keys = keys;
        jwks.fetched_at = Some(Instant::now());
        Ok(())
    }

    /// `GET /auth/v1/user` with the access token: the user as the project sees it (with its
    /// `factors`). A signed-out or revoked session, or a banned or deleted user, is
    /// [`SupabaseError::Refused`].
    pub async fn user(&self, access_token: &str) -> Result<Value, SupabaseError> {
        let url = format!("{}/user", self.0.issuer);
        let (status, body) = self
            .call(http::Method::GET, &url, Some(access_token), None)
            .await?;
        answer(status, &body)
    }

    /// The session's assurance level as the project sees it: `GET /auth/v1/user` with the
    /// token, whose `factors` are the ones the project has (whatever a cookie says), with the
    /// same rule as the embedded server's [`AssuranceLevel::new`]. A revoked session, or a
    /// user who is not the token's `sub`, is [`SupabaseError::Refused`].
    ///
    /// ```no_run
    /// # async fn f(supabase: routekit_auth::SupabaseAuth, token: &str) -> Result<(), routekit_auth::SupabaseError> {
    /// let claims = supabase.verify_access_token(token).await?;
    /// if supabase.assurance_level(token, &claims).await?.requires_mfa() {
    ///     // send the user to the MFA page
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn assurance_level(
        &self,
        access_token: &str,
        claims: &Claims,
    ) -> Result<AssuranceLevel, SupabaseError> {
        Ok(self.standing(access_token, claims).await?.assurance)
    }

    /// What the project says of the token's user: the assurance level (as
    /// [`SupabaseAuth::assurance_level`]) and `app_metadata.role`, both from
    /// `GET /auth/v1/user`, never from the token's own copy of the user. A revoked session, a
    /// banned user, or a user who is not the token's `sub`, is [`SupabaseError::Refused`].
    ///
    /// ```no_run
    /// # async fn f(supabase: routekit_auth::SupabaseAuth, token: &str) -> Result<(), routekit_auth::SupabaseError> {
    /// let claims = supabase.verify_access_token(token).await?;
    /// let admin = supabase.standing(token, &claims).await?.has_role("super-admin");
    /// # Ok(()) }
    /// ```
    pub async fn standing(
        &self,
        access_token: &str,
        claims: &Claims,
    ) -> Result<Standing, SupabaseError> {
        let user = self.user(access_token).await?;
        if user["id"].as_str() != Some(claims.sub.as_str()) {
            let refusal = crate::ErrorCode::TokenUserNotFound;
            return Err(SupabaseError::Refused {
                status: refusal.status().as_u16(),
                code: refusal.as_str().to_owned(),
            });
        }
        let verified = user["factors"].as_array().is_some_and(|factors| {
            factors.iter().any(|f| {
                f["status"].as_str().and_then(FactorStatus::from_name)
                    == Some(FactorStatus::Verified)
            })
        });
        Ok(Standing::new(
            claims.aal,
            verified,
            Standing::role_of(&user["app_metadata"]),
        ))
    }

    /// `POST /auth/v1/token?grant_type=refresh_token`: a new session (the token response as
    /// JSON). The project applies its reuse rules, so concurrent refreshes of one token get
    /// the same new session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Value, SupabaseError> {
        let url = format!("{}/token?grant_type=refresh_token", self.0.issuer);
        let body = serde_json::json!({ "refresh_token": refresh_token }).to_string();
        let (status, body) = self
            .call(http::Method::POST, &url, None, Some(body))
            .await?;
        let session = answer(status, &body)?;
        if session["access_token"].as_str().is_none() {
            return Err(SupabaseError::Unavailable(
                "the token response has no access_token".to_owned(),
            ));
        }
        Ok(session)
    }

    /// One call to the project: its status and (bounded) body.
    async fn call(
        &self,
        method: http::Method,
        url: &str,
        bearer: Option<&str>,
        json: Option<String>,
    ) -> Result<(u16, Bytes), SupabaseError> {
        let config = &self.0.config;
        let mut req = http::Request::builder()
            .method(method)
            .uri(url)
            .header("apikey", &config.api_key)
            .header("x-supabase-api-version", crate::API_VERSION);
        // The user's token; else the key, but only a legacy JWT key: the new publishable
        // keys (`sb_publishable_…`) must not be sent as a Bearer token.
        let legacy_key = config.api_key.split('.').count() == 3;
        if let Some(token) = bearer.or(legacy_key.then_some(config.api_key.as_str())) {
            req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if json.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(json.unwrap_or_default())))
            .map_err(|e| SupabaseError::Unavailable(format!("bad request to {url}: {e}")))?;
        let work = async {
            let res = self
                .0
                .http
                .request(req)
                .await
                .map_err(|e| SupabaseError::Unavailable(e.to_string()))?;
            let status = res.status().as_u16();
            let body = Limited::new(res.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| SupabaseError::Unavailable(format!("reading the response: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(config.timeout, work)
            .await
            .map_err(|_| {
                SupabaseError::Unavailable(format!("no answer within {:?}", config.timeout))
            })?
    }
}

/// A 2xx JSON body, a refusal (4xx) with GoTrue's code, or unavailable (5xx, garbage).
fn answer(status: u16, body: &[u8]) -> Result<Value, SupabaseError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    match (status, json) {
        (200..=299, Some(json)) => Ok(json),
        (400..=499, json) if status != 429 => {
            let code = json
                .as_ref()
                .and_then(|j| j["error_code"].as_str().or(j["error"].as_str()))
                .unwrap_or_default()
                .to_owned();
            Err(SupabaseError::Refused { status, code })
        }
        (status, _) => Err(SupabaseError::Unavailable(format!(
            "the project answered {status}"
        ))),
    }
}

/// The usable keys of a JWKS: P-256 keys for ES256 and RSA keys for RS256, with a `kid`.
/// Keys of other types, or marked for another use, are skipped.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, RemoteKey>, SupabaseError> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<Jwk>,
    }
    #[derive(Deserialize)]
    struct Jwk {
        kty: String,
        kid: Option<String>,
        alg: Option<String>,
        #[serde(rename = "use")]
        use_: Option<String>,
        crv: Option<String>,
        x: Option<String>,
        y: Option<String>,
        n: Option<String>,
        e: Option<String>,
    }
    let set: Set = serde_json::from_slice(body)
        .map_err(|e| SupabaseError::Unavailable(format!("the JWKS is malformed: {e}")))?;
    let b64 = |s: &Option<String>| s.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let mut keys = HashMap::new();
    for jwk in set.keys {
        let Some(kid) = jwk.kid.clone() else { continue };
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            continue;
        }
        let key = match (jwk.kty.as_str(), jwk.alg.as_deref()) {
            ("EC", None | Some("ES256")) if jwk.crv.as_deref() == Some("P-256") => {
                match (b64(&jwk.x), b64(&jwk.y)) {
                    (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                        let mut point = vec![4u8];
                        point.extend_from_slice(&x);
                        point.extend_from_slice(&y);
                        RemoteKey {
                            alg: "ES256",
                            key: ring::signature::UnparsedPublicKey::new(
                                &ring::signature::ECDSA_P256_SHA256_FIXED,
                                point,
                            ),
                        }
                    }
                    _ => continue,
                }
            }
            ("RSA", None | Some("RS256")) => match (b64(&jwk.n), b64(&jwk.e)) {
                (Some(n), Some(e)) => RemoteKey {
                    alg: "RS256",
                    key: ring::signature::UnparsedPublicKey::new(
                        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                        rsa_public_key_der(&n, &e),
                    ),
                },
                _ => continue,
            },
            _ => continue,
        };
        keys.insert(kid, key);
    }
    Ok(keys)
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` in DER, the form
/// ring's RSA verification takes.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let bytes = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
        let mut content = Vec::with_capacity(bytes.len() + 1);
        if bytes.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(bytes);
        tlv(0x02, &content)
    }
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }
    let mut body = integer(n);
    body.extend(integer(e));
    tlv(0x30, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit RSA test key (only its public half is here) and a token it signed, made
    /// with `openssl genrsa` and `openssl dgst -sha256 -sign`.
    const RSA_N: &str = "rPLPeZvyFYqrN0LBSBPvsZJAi4rxPSA6N5syX3fFYOw5bSCnL1rOesW53eg8K9EZLzZxwYbIy-BiyeSqEdtqmMtQWJP8XkRcqcDBLHxnv61h2GtVWcDVN5s9_649bXpLphlkg2Sy7cuqdmpY7tNHUlmgd6pcXKyK43OmgWZGQDOL3CmkTKOXP34DCalZgonRWYWYn-NkLknYMVwK2dVqy-_PzufqEA-PQ-_kLeiMQYtCZl-cR_ZNybxy9bWl3lS38guquboFeYLSQybNyNShcKVzdlTpjWJf9wjAcIAQbkhGzwuT2HjPqHd8WhDk2nNq4l6YMwyVcYymoRdCo2SuMQ";
    const RSA_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS10ZXN0IiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2FiY2Quc3VwYWJhc2UuY28vYXV0aC92MSIsInN1YiI6IjdiMGMwZjNlLTJjNGItNGY3ZS05YTUyLTBkN2YxZDJkM2U0ZiIsImF1ZCI6ImF1dGhlbnRpY2F0ZWQiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMCwiZW1haWwiOiJhbm5AZXhhbXBsZS5jb20iLCJwaG9uZSI6IiIsImFwcF9tZXRhZGF0YSI6e30sInVzZXJfbWV0YWRhdGEiOnt9LCJyb2xlIjoiYXV0aGVudGljYXRlZCIsImFhbCI6ImFhbDEiLCJhbXIiOlt7Im1ldGhvZCI6InBhc3N3b3JkIiwidGltZXN0YW1wIjoxNzAwMDAwMDAwfV0sInNlc3Npb25faWQiOiI1ZDhlMmY0YS05YjdjLTRlMWQtOGEzZi0yYjZjOWQwZTFmMmEiLCJpc19hbm9ueW1vdXMiOmZhbHNlfQ.AT1DsTWKoA3_b0BN1Xz-rlYU0xpPcnA-UPcPksViSiWQ7t2OVcFgkXEgRr08nILHjCkXnAqwAOYjEFN7vsT-Q7T9DhDOeEy_Ne1pSRDyX79DRkafE8HDzDmBTD7yktqJT9PCy2TQqLBmfdbCD-p4P0XUE8tasBDjcFOZy0q116OhkOA4HbhTUOa_ZCcnx42wcUgKNwGQga7dHBZBtU9J1nJIGTB0JYXyBpyQ-VcY1RA3Md-CJ6UQ3POieWLN49owxEQQ-BIpMl8Gm__jzi8KQK-6tpRYdDmGowvv_439brc5P7yG1DAR9vCGqDAR4yvdW-A5UjngzXiuxG2bppfOfA";

    fn jwks(keys: Value) -> HashMap<String, RemoteKey> {
        parse_jwks(serde_json::json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn rs256_tokens_verify_with_the_jwks_modulus_and_exponent() {
        let keys = jwks(serde_json::json!([
            {"kty": "RSA", "kid": "rsa-test", "alg": "RS256", "use": "sig", "n": RSA_N, "e": "AQAB"}
        ]));
        let key = &keys["rsa-test"];
        assert_eq!(key.alg, "RS256");
        let parts = TokenParts::split(RSA_TOKEN).unwrap();
        parts.verify_with(&key.key).unwrap();
        let claims = parts
            .claims("https://abcd.supabase.co/auth/v1", crate::now())
            .unwrap();
        assert_eq!(claims.email, "ann@example.com");
        assert_eq!(
            parts.claims("https://other.supabase.co/auth/v1", crate::now()),
            Err(JwtError::Audience)
        );
        // One flipped bit of the payload, or another exponent: refused.
        let mut tampered = RSA_TOKEN.to_owned().into_bytes();
        tampered[120] ^= 1;
        let tampered = String::from_utf8(tampered).unwrap();
        let parts = TokenParts::split(&tampered).unwrap();
        assert_eq!(parts.verify_with(&key.key), Err(JwtError::Signature));
        let other_e = jwks(serde_json::json!([
            {"kty": "RSA", "kid": "rsa-test", "n": RSA_N, "e": "Aw"}
        ]));
        let parts = TokenParts::split(RSA_TOKEN).unwrap();
        assert_eq!(
            parts.verify_with(&other_e["rsa-test"].key),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn only_signing_keys_of_known_types_are_kept() {
        let point = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let keys = jwks(serde_json::json!([
            {"kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256", "x": point, "y": point},
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": point, "y": point},
            {"kty": "EC", "crv": "P-256", "kid": "short", "x": "AAAA", "y": point},
            {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": point, "y": point},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "rsa-as-es", "alg": "ES256", "n": RSA_N, "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "x": point, "y": point}
        ]));
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["ec"]);
        assert_eq!(keys["ec"].alg, "ES256");
        assert!(matches!(
            parse_jwks(b"<html>"),
            Err(SupabaseError::Unavailable(_))
        ));
    }

    #[test]
    fn answers_are_json_refusals_or_unavailable() {
        assert_eq!(answer(200, br#"{"id":"u"}"#).unwrap()["id"], "u");
        assert_eq!(
            answer(403, br#"{"code":403,"error_code":"session_not_found"}"#),
            Err(SupabaseError::Refused {
                status: 403,
                code: "session_not_found".to_owned()
            })
        );
        assert_eq!(
            answer(400, br#"{"error":"invalid_grant"}"#),
            Err(SupabaseError::Refused {
                status: 400,
                code: "invalid_grant".to_owned()
            })
        );
        for (status, body) in [
            (429, &b"{}"[..]),
            (500, b"{}"),
            (502, b"bad gateway"),
            (200, b"<html>"),
        ] {
            assert!(matches!(
                answer(status, body),
                Err(SupabaseError::Unavailable(_))
            ));
        }
    }

    #[test]
    fn der_integers_are_minimal_and_positive() {
        // SEQUENCE { INTEGER 0x00 0x80 (a leading zero keeps it positive), INTEGER 3 }
        assert_eq!(
            rsa_public_key_der(&[0, 0, 0x80], &[3]),
            [0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x03]
        );
        let long = rsa_public_key_der(&[0x7f; 256], &[1, 0, 1]);
        assert_eq!(&long[..4], [0x30, 0x82, 0x01, 0x09]);
    }

    #[test]
    fn settings_come_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(SupabaseConfig::from_vars(vars(&[])).unwrap().is_none());
        let config = SupabaseConfig::from_vars(vars(&[
            ("SUPABASE_URL", "https://abcd.supabase.co/"),
            ("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_x"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.issuer(), "https://abcd.supabase.co/auth/v1");
        assert_eq!(config.api_key, "sb_publishable_x");
        assert!(config.jwt_secret.is_none());
        assert!(!format!("{config:?}").contains("sb_publishable_x"));
        let err = SupabaseConfig::from_vars(vars(&[("SUPABASE_URL", "https://a.supabase.co")]))
            .unwrap_err();
        assert!(err.to_string().starts_with("SUPABASE_ANON_KEY must be set"));
    }

    #[test]
    fn a_short_legacy_secret_is_refused() {
        let config = SupabaseConfig::new("https://abcd.supabase.co", "k").with_jwt_secret("short");
        assert!(SupabaseAuth::new(config).is_err());
    }
}
