//! What the layer can be told: trusted origins and how the cookie is named and secured.

use std::fmt;

/// How the secret cookie is named and secured.
///
/// The policy: `__Host-csrf` (HttpOnly, Secure, Path=/, SameSite=Lax) over HTTPS, and `csrf`
/// without `Secure` only on plain-HTTP localhost development. The `__Host-` prefix makes
/// browsers refuse the cookie unless it is Secure, host-only and for `/`, so a sibling
/// subdomain cannot plant a secret of its own (cookie tossing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieMode {
    /// `csrf` without `Secure` when the request is plain HTTP to `localhost`, `*.localhost`,
    /// `127.0.0.1` or `[::1]`; `__Host-csrf` otherwise. A request counts as HTTPS when its URI
    /// says so or a proxy sent `X-Forwarded-Proto: https`.
    #[default]
    Auto,
    /// Always `__Host-csrf` with `Secure`.
    Secure,
    /// Always `csrf` without `Secure`: only for plain-HTTP development on a name other than
    /// localhost.
    Insecure,
}

/// Settings for [`CsrfLayer`](crate::CsrfLayer).
///
/// ```
/// use routekit_csrf::{CookieMode, CsrfConfig};
///
/// let config = CsrfConfig::new()
///     .add_trusted_origin("https://admin.example.com")?
///     .with_cookie_mode(CookieMode::Secure);
/// assert_eq!(config.trusted_origins(), ["https://admin.example.com"]);
/// # Ok::<(), routekit_csrf::CsrfConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CsrfConfig {
    trusted_origins: Vec<String>,
    cookie_mode: CookieMode,
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfConfigError {
    /// A trusted origin that is not `scheme://host[:port]`.
    InvalidOrigin(String),
    /// An environment variable with a value it cannot take.
    InvalidVariable {
        /// The variable's name.
        name: &'static str,
        /// What it may be set to.
        expected: &'static str,
    },
}

impl fmt::Display for CsrfConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsrfConfigError::InvalidOrigin(origin) => write!(
                f,
                "trusted origin {origin:?} is not of the form scheme://host[:port]"
            ),
            CsrfConfigError::InvalidVariable { name, expected } => {
                write!(f, "{name} must be {expected}")
            }
        }
    }
}

impl std::error::Error for CsrfConfigError {}

/// `ROUTEKIT_CSRF_TRUSTED_ORIGINS`: comma-separated origins allowed to send mutations.
pub const TRUSTED_ORIGINS_VAR: &str = "ROUTEKIT_CSRF_TRUSTED_ORIGINS";
/// `ROUTEKIT_CSRF_COOKIE`: `auto` (default), `secure` or `insecure`.
pub const COOKIE_MODE_VAR: &str = "ROUTEKIT_CSRF_COOKIE";

impl CsrfConfig {
    /// The defaults: no trusted origins besides the request's own, [`CookieMode::Auto`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults, changed by `ROUTEKIT_CSRF_TRUSTED_ORIGINS` (comma-separated) and
    /// `ROUTEKIT_CSRF_COOKIE` (`auto`, `secure` or `insecure`).
    ///
    /// ```
    /// let config = routekit_csrf::CsrfConfig::from_env()?;
    /// # Ok::<(), routekit_csrf::CsrfConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, CsrfConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, CsrfConfigError> {
        let mut config = Self::new();
        if let Some(origins) = var(TRUSTED_ORIGINS_VAR) {
            for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                config = config.add_trusted_origin(origin)?;
            }
        }
        if let Some(mode) = var(COOKIE_MODE_VAR) {
            config.cookie_mode = match mode.trim().to_ascii_lowercase().as_str() {
                "" | "auto" => CookieMode::Auto,
                "secure" => CookieMode::Secure,
                "insecure" => CookieMode::Insecure,
                _ => {
                    return Err(CsrfConfigError::InvalidVariable {
                        name: COOKIE_MODE_VAR,
                        expected: "auto, secure or insecure",
                    });
                }
            };
        }
        Ok(config)
    }

    /// Trusts another origin (`https://admin.example.com`) to send mutations: a request from
    /// it passes the `Origin` and `Sec-Fetch-Site: same-site` checks. It still needs a token.
    pub fn add_trusted_origin(mut self, origin: &str) -> Result<Self, CsrfConfigError> {
        let normalised = normalise_origin(origin)
            .ok_or_else(|| CsrfConfigError::InvalidOrigin(origin.to_owned()))?;
        if !self.trusted_origins.contains(&normalised) {
            self.trusted_origins.push(normalised);
        }
        Ok(self)
    }

    /// Sets how the secret cookie is named and secured.
    pub fn with_cookie_mode(mut self, mode: CookieMode) -> Self {
        self.cookie_mode = mode;
        self
    }

    /// The trusted origins, normalised (lowercase, no default port).
    pub fn trusted_origins(&self) -> &[String] {
        &self.trusted_origins
    }

    /// The cookie mode.
    pub fn cookie_mode(&self) -> CookieMode {
        self.cookie_mode
    }

    pub(crate) fn trusts(&self, origin: &str) -> bool {
        normalise_origin(origin).is_some_and(|o| self.trusted_origins.contains(&o))
    }
}

/// `HTTPS://Example.com:443` → `https://example.com`; `None` for anything that is not
/// `scheme://host[:port]` (paths, user info, `null`, wildcards).
pub(crate) fn normalise_origin(origin: &str) -> Option<String> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return None;
    }
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let host = normalise_authority(&scheme, authority)?;
    Some(format!("{scheme}://{host}"))
}

/// `Example.com:443` (for https) → `example.com`; `None` unless it is a plain host with an
/// optional numeric port.
pub(crate) fn normalise_authority(scheme: &str, authority: &str) -> Option<String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if authority.is_empty() || !authority.chars().all(valid) {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` alone has colons but no port.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority.as_str(), None),
    };
    if host.is_empty() {
        return None;
    }
    match port {
        None => Some(host.to_owned()),
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => None,
        Some("80") if scheme == "http" => Some(host.to_owned()),
        Some("443") if scheme == "https" => Some(host.to_owned()),
        Some(port) => Some(format!("{host}:{port}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            normalise_origin("HTTPS://Example.COM:443/").as_deref(),
            Some("https://example.com")
        );
        assert_eq!(
            normalise_origin("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            normalise_origin("http://[::1]:8080").as_deref(),
            Some("http://[::1]:8080")
        );
        for bad in [
            "null",
            "*",
            "example.com",
            "ftp://example.com",
            "https://example.com/path",
            "https://user@example.com",
            "https://",
            "https://example.com:",
            "https://example.com:x",
        ] {
            assert_eq!(normalise_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn environment_variables_configure_origins_and_cookie() {
        let vars = |name: &str| match name {
            TRUSTED_ORIGINS_VAR => Some("https://a.example.com, https://b.example.com:8443".into()),
            COOKIE_MODE_VAR => Some("Secure".into()),
            _ => None,
        };
        let config = CsrfConfig::from_vars(vars).unwrap();
        assert_eq!(
            config.trusted_origins(),
            ["https://a.example.com", "https://b.example.com:8443"]
        );
        assert_eq!(config.cookie_mode(), CookieMode::Secure);
        assert!(config.trusts("https://A.example.com"));
        assert!(!config.trusts("https://c.example.com"));
    }

    #[test]
    fn bad_environment_values_are_errors() {
        let bad_mode = |name: &str| (name == COOKIE_MODE_VAR).then(|| "sometimes".to_owned());
        assert!(matches!(
            CsrfConfig::from_vars(bad_mode),
            Err(CsrfConfigError::InvalidVariable { .. })
        ));
        let bad_origin = |name: &str| (name == TRUSTED_ORIGINS_VAR).then(|| "*".to_owned());
        assert_eq!(
            CsrfConfig::from_vars(bad_origin).unwrap_err(),
            CsrfConfigError::InvalidOrigin("*".into())
        );
    }
}
