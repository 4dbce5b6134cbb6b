//! Settings: environment variables, optionally on top of a JSON file.

use std::time::Duration;

use serde::Deserialize;

/// How the auth service behaves. Build it with [`AuthConfig::from_env`] or
/// [`AuthConfig::new`] and the `with_*` methods.
///
/// ```
/// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
///     .with_site_url("https://app.example.com")
///     .with_jwt_exp(std::time::Duration::from_secs(900));
/// assert_eq!(config.issuer(), "https://app.example.com/auth/v1");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthConfig {
    /// `DATABASE_URL`: `sqlite://…` (default `sqlite://data/auth.db`) or `postgres://…`.
    pub database_url: String,
    /// `ROUTEKIT_AUTH_SITE_URL`: the app's public URL (default `http://127.0.0.1:3000`). The
    /// token issuer is this plus `/auth/v1`.
    pub site_url: String,
    /// `ROUTEKIT_AUTH_JWT_EXP`: access-token lifetime in seconds (default 3600).
    pub jwt_exp: Duration,
    /// `ROUTEKIT_AUTH_DISABLE_SIGNUP`: refuse new accounts (default `false`).
    pub disable_signup: bool,
    /// `ROUTEKIT_AUTH_AUTOCONFIRM`: new accounts are confirmed at once and signed in
    /// (default `true`; e-mail confirmation is a later step).
    pub autoconfirm: bool,
    /// `ROUTEKIT_AUTH_PASSWORD_MIN_LENGTH`: in characters, after NFKC (default 8).
    pub password_min_length: usize,
    /// `ROUTEKIT_AUTH_REFRESH_REUSE_INTERVAL`: seconds in which replaying the previous
    /// refresh token returns the current one (default 10).
    pub refresh_reuse_interval: Duration,
    /// `ROUTEKIT_AUTH_ENCRYPTION_KEY`: 32 bytes of base64url encrypting TOTP secrets at rest.
    /// Unset, a key file `auth.key` is created next to the SQLite database (`data/auth.key`
    /// with PostgreSQL). Instances sharing a PostgreSQL database must share this key.
    pub encryption_key: Option<String>,
    /// `ROUTEKIT_AUTH_SIGNING_KEY`: a P-256 private key (the 32-byte scalar, base64url) to
    /// sign access tokens with instead of one created and kept in the database. Its private
    /// half is never stored; replacing it keeps the old public key in the JWKS until the
    /// tokens it signed expire.
    pub signing_key: Option<String>,
    /// `ROUTEKIT_AUTH_JWT_SECRET`: sign access tokens with HS256 and this shared secret (at
    /// least 32 characters) instead of ES256, as a legacy Supabase project does. Other
    /// services can then verify tokens with the secret, but supabase-js can no longer verify
    /// them locally (`getClaims()` calls `GET /user` each time). Prefer ES256.
    pub jwt_secret: Option<String>,
    /// `ROUTEKIT_AUTH_MFA_BIND_IP`: a challenge must be verified from the IP that opened it
    /// (default `true`, as GoTrue).
    pub mfa_bind_ip: bool,
    /// Rate limits; `ROUTEKIT_AUTH_RATE_LIMIT_TOKEN`, `…_SIGNUP`, `…_USER` (per 5 minutes) and
    /// `…_MFA` (per minute) set the counts, 0 turns one off.
    pub rate_limits: crate::ratelimit::RateLimits,
    /// `ROUTEKIT_AUTH_RATE_LIMIT_HEADER`: a header set by a trusted proxy whose first value is
    /// the client IP (`X-Forwarded-For`). Unset, the connection's peer address is used.
    pub rate_limit_header: Option<String>,
}

/// File and environment keys, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    site_url: Option<String>,
    jwt_exp: Option<u64>,
    disable_signup: Option<bool>,
    autoconfirm: Option<bool>,
    password_min_length: Option<usize>,
    refresh_reuse_interval: Option<u64>,
    mfa_bind_ip: Option<bool>,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// The file named by `ROUTEKIT_AUTH_CONFIG` could not be read or parsed.
    #[error("cannot read the auth config file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// An environment variable with a value it cannot take.
    #[error("{name} must be {expected}")]
    Variable {
        /// The variable.
        name: &'static str,
        /// What it may be.
        expected: &'static str,
    },
}

impl AuthConfig {
    /// The defaults, storing in `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        AuthConfig {
            database_url: database_url.into(),
            site_url: "http://127.0.0.1:3000".to_owned(),
            jwt_exp: Duration::from_secs(3600),
            disable_signup: false,
            autoconfirm: true,
            password_min_length: 8,
            refresh_reuse_interval: Duration::from_secs(10),
            encryption_key: None,
            signing_key: None,
            jwt_secret: None,
            mfa_bind_ip: true,
            rate_limits: crate::ratelimit::RateLimits::default(),
            rate_limit_header: None,
        }
    }

    /// The settings from `ROUTEKIT_AUTH_CONFIG` (a JSON file with the keys of this struct,
    /// all optional), overridden by the environment variables named on each field.
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::from_env()?;
    /// # Ok::<(), routekit_auth::AuthConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, AuthConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AuthConfigError> {
        let file = match var("ROUTEKIT_AUTH_CONFIG") {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| AuthConfigError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                serde_json::from_str::<FileConfig>(&text).map_err(|e| AuthConfigError::File {
                    path,
                    reason: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let mut config = AuthConfig::new(
            var("DATABASE_URL")
                .or(file.database_url)
                .unwrap_or_else(|| "sqlite://data/auth.db".to_owned()),
        );
        if let Some(url) = var("ROUTEKIT_AUTH_SITE_URL").or(file.site_url) {
            config.site_url = url.trim_end_matches('/').to_owned();
        }
        let seconds = |name: &'static str, from_file: Option<u64>| match var(name) {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| AuthConfigError::Variable {
                    name,
                    expected: "a number of seconds",
                }),
            None => Ok(from_file),
        };
        let flag =
            |name: &'static str, from_file: Option<bool>| match var(name).as_deref().map(str::trim)
            {
                Some("true" | "1" | "on") => Ok(Some(true)),
                Some("false" | "0" | "off") => Ok(Some(false)),
                Some(_) => Err(AuthConfigError::Variable {
                    name,
                    expected: "true or false",
                }),
                None => Ok(from_file),
            };
        if let Some(s) = seconds("ROUTEKIT_AUTH_JWT_EXP", file.jwt_exp)? {
            config.jwt_exp = Duration::from_secs(s.max(60));
        }
        if let Some(s) = seconds(
            "ROUTEKIT_AUTH_REFRESH_REUSE_INTERVAL",
            file.refresh_reuse_interval,
        )? {
            config.refresh_reuse_interval = Duration::from_secs(s);
        }
        if let Some(b) = flag("ROUTEKIT_AUTH_DISABLE_SIGNUP", file.disable_signup)? {
            config.disable_signup = b;
        }
        if let Some(b) = flag("ROUTEKIT_AUTH_AUTOCONFIRM", file.autoconfirm)? {
            config.autoconfirm = b;
        }
        if let Some(b) = flag("ROUTEKIT_AUTH_MFA_BIND_IP", file.mfa_bind_ip)? {
            config.mfa_bind_ip = b;
        }
        let count = |name: &'static str| -> Result<Option<u32>, AuthConfigError> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse::<u32>()
                        .map_err(|_| AuthConfigError::Variable {
                            name,
                            expected: "a number of requests",
                        })
                })
                .transpose()
        };
        let limits = &mut config.rate_limits;
        for (name, rate) in [
            ("ROUTEKIT_AUTH_RATE_LIMIT_TOKEN", &mut limits.token),
            ("ROUTEKIT_AUTH_RATE_LIMIT_SIGNUP", &mut limits.signup),
            ("ROUTEKIT_AUTH_RATE_LIMIT_USER", &mut limits.user),
            ("ROUTEKIT_AUTH_RATE_LIMIT_MFA", &mut limits.mfa),
        ] {
            if let Some(n) = count(name)? {
                rate.count = n;
            }
        }
        config.rate_limit_header = var("ROUTEKIT_AUTH_RATE_LIMIT_HEADER").filter(|h| !h.is_empty());
        // The key is a secret: from the environment only, never from the config file.
        config.encryption_key = var("ROUTEKIT_AUTH_ENCRYPTION_KEY").filter(|k| !k.is_empty());
        config.signing_key = var("ROUTEKIT_AUTH_SIGNING_KEY").filter(|k| !k.is_empty());
        config.jwt_secret = var("ROUTEKIT_AUTH_JWT_SECRET").filter(|k| !k.is_empty());
        match var("ROUTEKIT_AUTH_PASSWORD_MIN_LENGTH") {
            Some(v) => {
                config.password_min_length =
                    v.trim().parse().map_err(|_| AuthConfigError::Variable {
                        name: "ROUTEKIT_AUTH_PASSWORD_MIN_LENGTH",
                        expected: "a number",
                    })?;
            }
            None => {
                if let Some(n) = file.password_min_length {
                    config.password_min_length = n;
                }
            }
        }
        Ok(config)
    }

    /// Sets the app's public URL.
    pub fn with_site_url(mut self, url: impl Into<String>) -> Self {
        self.site_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the access-token lifetime.
    pub fn with_jwt_exp(mut self, exp: Duration) -> Self {
        self.jwt_exp = exp;
        self
    }

    /// Sets the rate limits.
    pub fn with_rate_limits(mut self, limits: crate::ratelimit::RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Turns sign-up on or off.
    pub fn with_signup(mut self, enabled: bool) -> Self {
        self.disable_signup = !enabled;
        self
    }

    /// Signs access tokens with HS256 and `secret` (see [`AuthConfig::jwt_secret`]).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_jwt_secret("a legacy secret of at least 32 characters");
    /// assert!(config.jwt_secret.is_some());
    /// ```
    pub fn with_jwt_secret(mut self, secret: impl Into<String>) -> Self {
        self.jwt_secret = Some(secret.into());
        self
    }

    /// The `iss` claim: the site URL plus `/auth/v1`, as hosted Supabase.
    pub fn issuer(&self) -> String {
        format!("{}/auth/v1", self.site_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        std::fs::write(
            &file,
            r#"{"jwt_exp": 600, "site_url": "https://a.example.com/", "autoconfirm": false}"#,
        )
        .unwrap();
        let path = file.to_str().unwrap().to_owned();
        let config = AuthConfig::from_vars(|name| match name {
            "ROUTEKIT_AUTH_CONFIG" => Some(path.clone()),
            "ROUTEKIT_AUTH_JWT_EXP" => Some("900".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.jwt_exp, Duration::from_secs(900));
        assert_eq!(config.issuer(), "https://a.example.com/auth/v1");
        assert!(!config.autoconfirm);
        assert_eq!(config.database_url, "sqlite://data/auth.db");
    }

    #[test]
    fn bad_values_are_errors() {
        let err = AuthConfig::from_vars(|name| {
            (name == "ROUTEKIT_AUTH_DISABLE_SIGNUP").then(|| "maybe".to_owned())
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ROUTEKIT_AUTH_DISABLE_SIGNUP must be true or false"
        );
    }
}
