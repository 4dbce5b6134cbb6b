//! Which provider, its secret, where to verify and how long to wait.

use std::time::Duration;

/// The provider: `ROUTEKIT_CAPTCHA_PROVIDER` = `turnstile`, `hcaptcha` or `recaptcha`.
pub const PROVIDER_VAR: &str = "ROUTEKIT_CAPTCHA_PROVIDER";
/// The provider's secret key.
pub const SECRET_VAR: &str = "ROUTEKIT_CAPTCHA_SECRET";
/// Overrides the provider's siteverify URL (a local fake in tests, a proxy).
pub const VERIFY_URL_VAR: &str = "ROUTEKIT_CAPTCHA_VERIFY_URL";
/// How long to wait for the provider, in milliseconds (default 5000).
pub const TIMEOUT_VAR: &str = "ROUTEKIT_CAPTCHA_TIMEOUT_MS";

/// A captcha provider whose siteverify endpoint takes `secret`, `response` and `remoteip`.
///
/// ```
/// use routekit_captcha::Provider;
/// assert_eq!(Provider::from_name("hcaptcha"), Some(Provider::HCaptcha));
/// assert_eq!(Provider::Turnstile.verify_url(), "https://challenges.cloudflare.com/turnstile/v0/siteverify");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provider {
    /// Cloudflare Turnstile.
    Turnstile,
    /// hCaptcha.
    HCaptcha,
    /// Google reCAPTCHA (v2 and v3; a v3 score is not judged here).
    ReCaptcha,
}

impl Provider {
    /// The provider's siteverify endpoint.
    pub fn verify_url(self) -> &'static str {
        match self {
            Provider::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            Provider::HCaptcha => "https://api.hcaptcha.com/siteverify",
            Provider::ReCaptcha => "https://www.google.com/recaptcha/api/siteverify",
        }
    }

    /// The provider of a name, as Supabase Auth spells them (`turnstile`, `hcaptcha`) and
    /// `recaptcha`.
    pub fn from_name(name: &str) -> Option<Provider> {
        match name.trim().to_ascii_lowercase().as_str() {
            "turnstile" => Some(Provider::Turnstile),
            "hcaptcha" => Some(Provider::HCaptcha),
            "recaptcha" => Some(Provider::ReCaptcha),
            _ => None,
        }
    }

    /// How long the provider's tokens live: a used token is remembered this long.
    pub(crate) fn token_lifetime(self) -> Duration {
        match self {
            Provider::ReCaptcha => Duration::from_secs(120),
            Provider::Turnstile | Provider::HCaptcha => Duration::from_secs(300),
        }
    }
}

/// The captcha settings. The secret never appears in `Debug`.
///
/// ```
/// use routekit_captcha::{CaptchaConfig, Provider};
/// use std::time::Duration;
///
/// let config = CaptchaConfig::new(Provider::HCaptcha, "0xsecret")
///     .with_verify_url("http://127.0.0.1:9999/siteverify")
///     .with_timeout(Duration::from_secs(2));
/// assert_eq!(config.verify_url(), "http://127.0.0.1:9999/siteverify");
/// assert!(!format!("{config:?}").contains("0xsecret"));
/// ```
#[derive(Clone)]
pub struct CaptchaConfig {
    provider: Provider,
    secret: String,
    verify_url: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for CaptchaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaConfig")
            .field("provider", &self.provider)
            .field("secret", &"<redacted>")
            .field("verify_url", &self.verify_url())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A captcha variable that does not parse, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct CaptchaConfigError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl CaptchaConfig {
    /// A provider and its secret, verifying at the provider's own URL within 5 s.
    pub fn new(provider: Provider, secret: impl Into<String>) -> Self {
        CaptchaConfig {
            provider,
            secret: secret.into(),
            verify_url: None,
            timeout: Duration::from_secs(5),
        }
    }

    /// Reads the `ROUTEKIT_CAPTCHA_*` variables once: `None` when no provider is set.
    ///
    /// ```
    /// // With ROUTEKIT_CAPTCHA_PROVIDER unset, there is no captcha.
    /// # unsafe { std::env::remove_var(routekit_captcha::PROVIDER_VAR) };
    /// assert!(routekit_captcha::CaptchaConfig::from_env().unwrap().is_none());
    /// ```
    pub fn from_env() -> Result<Option<CaptchaConfig>, CaptchaConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<CaptchaConfig>, CaptchaConfigError> {
        let Some(name) = get(PROVIDER_VAR).filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let problem = |var, problem: &str| CaptchaConfigError {
            var,
            problem: problem.to_owned(),
        };
        let provider = Provider::from_name(&name).ok_or_else(|| {
            problem(
                PROVIDER_VAR,
                "must be `turnstile`, `hcaptcha` or `recaptcha`",
            )
        })?;
        let secret = get(SECRET_VAR)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| problem(SECRET_VAR, "must be set when a captcha provider is"))?;
        let mut config = CaptchaConfig::new(provider, secret);
        if let Some(url) = get(VERIFY_URL_VAR).filter(|u| !u.is_empty()) {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(problem(VERIFY_URL_VAR, "must be an http(s) URL"));
            }
            config = config.with_verify_url(url);
        }
        if let Some(ms) = get(TIMEOUT_VAR) {
            let ms: u64 =
                ms.trim().parse().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                    problem(TIMEOUT_VAR, "must be a positive number of milliseconds")
                })?;
            config = config.with_timeout(Duration::from_millis(ms));
        }
        Ok(Some(config))
    }

    /// Verifies at `url` instead of the provider's endpoint.
    pub fn with_verify_url(mut self, url: impl Into<String>) -> Self {
        self.verify_url = Some(url.into());
        self
    }

    /// Waits at most `timeout` for the provider (then: unavailable, never a pass).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Where tokens are verified.
    pub fn verify_url(&self) -> &str {
        self.verify_url
            .as_deref()
            .unwrap_or(self.provider.verify_url())
    }

    /// How long the provider is waited for.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let pairs = pairs.to_vec();
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn variables_are_read_and_bad_ones_named() {
        let config = CaptchaConfig::from_lookup(lookup(&[
            (PROVIDER_VAR, "Turnstile"),
            (SECRET_VAR, "s"),
            (TIMEOUT_VAR, "250"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.provider(), Provider::Turnstile);
        assert_eq!(config.timeout(), Duration::from_millis(250));
        for (pairs, var) in [
            (&[(PROVIDER_VAR, "friendly")][..], PROVIDER_VAR),
            (&[(PROVIDER_VAR, "hcaptcha")][..], SECRET_VAR),
            (
                &[
                    (PROVIDER_VAR, "hcaptcha"),
                    (SECRET_VAR, "s"),
                    (TIMEOUT_VAR, "soon"),
                ][..],
                TIMEOUT_VAR,
            ),
            (
                &[
                    (PROVIDER_VAR, "hcaptcha"),
                    (SECRET_VAR, "s"),
                    (VERIFY_URL_VAR, "ftp://x"),
                ][..],
                VERIFY_URL_VAR,
            ),
        ] {
            assert_eq!(
                CaptchaConfig::from_lookup(lookup(pairs)).unwrap_err().var,
                var
            );
        }
        assert!(CaptchaConfig::from_lookup(lookup(&[])).unwrap().is_none());
    }
}
