//! Asking the provider, once per token.

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};

use crate::config::CaptchaConfig;

/// The request header that carries the token (Makerkit's).
pub const HEADER_NAME: &str = "x-captcha-token";
/// The form or JSON field that carries the token.
pub const FIELD_NAME: &str = "captcha_token";
/// Longer tokens are refused without asking (Turnstile's are at most 2048 characters).
pub const MAX_TOKEN_LEN: usize = 4096;
/// Answers larger than this are not read (a siteverify answer is a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;
/// Used tokens remembered at most (older ones are forgotten first; the provider refuses its
/// own duplicates too).
const MAX_REMEMBERED: usize = 100_000;

/// Why a captcha token did not pass.
///
/// ```
/// use routekit_captcha::CaptchaError;
/// assert_eq!((CaptchaError::Missing.status(), CaptchaError::Missing.code()), (400, "captcha_required"));
/// assert_eq!(CaptchaError::Invalid.status(), 403);
/// assert_eq!(CaptchaError::Unavailable("timeout".into()).code(), "captcha_unavailable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptchaError {
    /// No token: 400 `captcha_required`.
    #[error("a captcha token is required")]
    Missing,
    /// The provider refused the token, or it was already used: 403 `captcha_invalid`.
    #[error("the captcha token is invalid or was already used")]
    Invalid,
    /// The provider could not be asked, did not answer in time, or answered nonsense: 503
    /// `captcha_unavailable`.
    #[error("captcha verification is unavailable: {0}")]
    Unavailable(String),
}

impl CaptchaError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            CaptchaError::Missing => 400,
            CaptchaError::Invalid => 403,
            CaptchaError::Unavailable(_) => 503,
        }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            CaptchaError::Missing => "captcha_required",
            CaptchaError::Invalid => "captcha_invalid",
            CaptchaError::Unavailable(_) => "captcha_unavailable",
        }
    }
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A captcha verifier: cheap to clone, shared by every route that asks for a captcha.
#[derive(Clone)]
pub struct Captcha(Arc<Inner>);

struct Inner {
    config: CaptchaConfig,
    http: HttpClient,
    used: Mutex<Used>,
}

impl std::fmt::Debug for Captcha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Captcha").field(&self.0.config).finish()
    }
}

/// Hashes of tokens already presented, until the provider would have expired them.
#[derive(Default)]
struct Used {
    set: HashSet<[u8; 32]>,
    order: VecDeque<(Instant, [u8; 32])>,
}

impl Used {
    /// Records a token; false when it was already there.
    fn first_use(&mut self, hash: [u8; 32], now: Instant, lifetime: std::time::Duration) -> bool {
        while let Some(&(at, old)) = self.order.front() {
            if now.duration_since(at) < lifetime && self.order.len() < MAX_REMEMBERED {
                break;
            }
            self.order.pop_front();
            self.set.remove(&old);
        }
        if !self.set.insert(hash) {
            return false;
        }
        self.order.push_back((now, hash));
        true
    }
}

impl Captcha {
    /// A verifier for the configured provider; fails only when the system has no usable TLS
    /// root certificates.
    pub fn new(config: CaptchaConfig) -> Result<Self, CaptchaError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| CaptchaError::Unavailable(format!("TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Captcha(Arc::new(Inner {
            config,
            http: Client::builder(TokioExecutor::new()).build(https),
            used: Mutex::new(Used::default()),
        })))
    }

    /// The settings.
    pub fn config(&self) -> &CaptchaConfig {
        &self.0.config
    }

    /// Verifies a token the client sent (`None` or empty: [`CaptchaError::Missing`]). A
    /// token counts as used from its first presentation, whatever the provider says; the
    /// provider is asked within the configured timeout.
    pub async fn verify(&self, token: &str, remote_ip: Option<IpAddr>) -> Result<(), CaptchaError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(CaptchaError::Missing);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(CaptchaError::Invalid);
        }
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let lifetime = self.0.config.provider().token_lifetime();
        let first = self
            .0
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .first_use(hash, Instant::now(), lifetime);
        if !first {
            return Err(CaptchaError::Invalid);
        }
        let timeout = self.0.config.timeout();
        match tokio::time::timeout(timeout, self.ask(token, remote_ip)).await {
            Ok(answer) => answer,
            Err(_) => Err(CaptchaError::Unavailable(format!(
                "no answer within {timeout:?}"
            ))),
        }
    }

    async fn ask(&self, token: &str, remote_ip: Option<IpAddr>) -> Result<(), CaptchaError> {
        let config = &self.0.config;
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("secret", config.secret())
                .append_pair("response", token);
            if let Some(ip) = remote_ip {
                form.append_pair("remoteip", &ip.to_string());
            }
            form.finish()
        };
        let req = http::Request::post(config.verify_url())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| CaptchaError::Unavailable(format!("bad verify URL: {e}")))?;
        let unavailable = |what: String| {
            tracing::warn!(provider = ?config.provider(), "captcha verification failed: {what}");
            CaptchaError::Unavailable(what)
        };
        let res = self
            .0
            .http
            .request(req)
            .await
            .map_err(|e| unavailable(format!("asking the provider: {e}")))?;
        let status = res.status();
        let body = Limited::new(res.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| unavailable(format!("reading the answer: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(unavailable(format!("the provider answered {status}")));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            success: bool,
        }
        match serde_json::from_slice::<Answer>(&body) {
            Ok(Answer { success: true }) => Ok(()),
            Ok(Answer { success: false }) => Err(CaptchaError::Invalid),
            Err(_) => Err(unavailable(
                "the provider's answer is not siteverify JSON".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_token_is_used_once_until_it_would_have_expired() {
        let mut used = Used::default();
        let now = Instant::now();
        let life = Duration::from_secs(300);
        assert!(used.first_use([1; 32], now, life));
        assert!(!used.first_use([1; 32], now + Duration::from_secs(299), life));
        assert!(used.first_use([2; 32], now + Duration::from_secs(1), life));
        // Past its lifetime the provider refuses it anyway; it is forgotten.
        assert!(used.first_use([1; 32], now + Duration::from_secs(301), life));
        assert_eq!(used.set.len(), used.order.len());
    }
}
