//! Settings: environment variables, optionally on top of a JSON file.

use std::time::Duration;

use serde::Deserialize;

use crate::error::AuthConfigError;

/// How the auth service behaves. Build it with [`AuthConfig::from_env`] or
/// [`AuthConfig::new`] and the `with_*` methods.
///
/// ```
/// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
///     .with_site_url("https://app.example.com")
///     .with_jwt_exp(std::time::Duration::from_secs(900));
/// assert_eq!(config.issuer(), "https://app.example.com/auth/v1");
/// ```
#[derive(Clone)]
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
    /// `ROUTEKIT_AUTH_AUTOCONFIRM` (GoTrue's `MAILER_AUTOCONFIRM`): new accounts are
    /// confirmed at once and signed in (default `true`). Off, a sign-up gets no session: the
    /// user follows the link or enters the code of the confirmation mail first.
    pub autoconfirm: bool,
    /// `ROUTEKIT_AUTH_SMTP_HOST`, `…_PORT`, `…_USER`, `…_PASS`, `…_ADMIN_EMAIL`,
    /// `…_SENDER_NAME`, `…_TLS` (`none`, `starttls`, `tls`) and `…_TIMEOUT_MS`: the mail
    /// server. Unset, mail goes to the development mailbox in the database
    /// ([`Store::mailbox`](crate::Store::mailbox)) and is never sent, nor logged.
    pub smtp: Option<routekit_mail::SmtpConfig>,
    /// `ROUTEKIT_AUTH_MAILER_OTP_EXP`: seconds a mailed link or code stays valid (default
    /// 3600).
    pub mailer_otp_exp: Duration,
    /// `ROUTEKIT_AUTH_SMTP_MAX_FREQUENCY`: seconds before another mail of the same kind may
    /// go to the same address (default 60), answered 429 `over_email_send_rate_limit`.
    pub smtp_max_frequency: Duration,
    /// `ROUTEKIT_AUTH_MAILER_TEMPLATES_DIR`: a folder of overrides for the mails' templates,
    /// `<mail>.subject`, `<mail>.html` and `<mail>.txt` for `confirmation`, `recovery`,
    /// `magic_link`, `email_change` and `reauthentication`, each optional, with GoTrue's variables
    /// (`{{ .ConfirmationURL }}`, `{{ .Token }}`, `{{ .TokenHash }}`, `{{ .SiteURL }}`,
    /// `{{ .Email }}`, `{{ .NewEmail }}`, `{{ .RedirectTo }}`). A template with another
    /// variable fails start-up.
    pub mailer_templates_dir: Option<std::path::PathBuf>,
    /// `ROUTEKIT_AUTH_MAILER_SECURE_EMAIL_CHANGE_ENABLED` (default `true`, as GoTrue): a change
    /// of address must be confirmed from the current address as well as from the new one.
    pub secure_email_change: bool,
    /// `ROUTEKIT_AUTH_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION` (default off, as
    /// GoTrue): a new password from a session older than this needs the `nonce` mailed by
    /// `GET /reauthenticate`. The variable sets GoTrue's 24 hours.
    pub secure_password_change: Option<Duration>,
    /// `ROUTEKIT_AUTH_URI_ALLOW_LIST` (GoTrue's `URI_ALLOW_LIST`): where mailed links may send
    /// the browser (`redirect_to`), besides the site URL's own origin. Comma-separated URLs;
    /// `*` matches within one path segment or host label, `**` matches anything.
    pub uri_allow_list: Vec<String>,
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
    /// `ROUTEKIT_AUTH_RATE_LIMIT_HEADER`: a header to which trusted proxies append the address
    /// they saw (`X-Forwarded-For`). It is read only on connections from
    /// [`trusted_proxies`](Self::trusted_proxies), and the client is the right-most address in
    /// it that is not a trusted proxy: what a client writes to the left is never a key.
    /// Unset, the connection's peer address is used.
    pub rate_limit_header: Option<String>,
    /// `ROUTEKIT_AUTH_TRUSTED_PROXIES`: the networks (CIDR, comma-separated) whose connections
    /// may set the rate-limit header, and whose hops in it are skipped. Default: loopback,
    /// private, link-local and unique-local networks, where a proxy of the same deployment
    /// sits.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `ROUTEKIT_AUTH_HASH_CONCURRENCY`: argon2 runs at a time (each takes 19 MiB, kept and
    /// reused); default twice the number of cores.
    pub hash_concurrency: usize,
    /// `ROUTEKIT_AUTH_HASH_QUEUE`: password checks that may wait for a slot; beyond them a
    /// sign-in is answered 503 `over_capacity` with `Retry-After`. Default four per slot.
    pub hash_queue: usize,
    /// `ROUTEKIT_CAPTCHA_PROVIDER` and its companions (feature `captcha`): sign-ups and
    /// password sign-ins need a captcha token the provider accepts, sent as GoTrue's
    /// `gotrue_meta_security.captcha_token` (supabase-js's `options.captchaToken`). The same
    /// variables configure routekit's `CAPTCHA` routes.
    #[cfg(feature = "captcha")]
    pub captcha: Option<routekit_captcha::CaptchaConfig>,
}

impl std::fmt::Debug for AuthConfig {
    /// The keys and secrets print as `[redacted]`, and so does a password in the database URL.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { Some("[redacted]") } else { None };
        let mut f = f.debug_struct("AuthConfig");
        f.field("database_url", &redact_url(&self.database_url))
            .field("site_url", &self.site_url)
            .field("jwt_exp", &self.jwt_exp)
            .field("disable_signup", &self.disable_signup)
            .field("autoconfirm", &self.autoconfirm)
            .field("smtp", &self.smtp)
            .field("mailer_otp_exp", &self.mailer_otp_exp)
            .field("smtp_max_frequency", &self.smtp_max_frequency)
            .field("mailer_templates_dir", &self.mailer_templates_dir)
            .field("uri_allow_list", &self.uri_allow_list)
            .field("secure_email_change", &self.secure_email_change)
            .field("secure_password_change", &self.secure_password_change)
            .field("password_min_length", &self.password_min_length)
            .field("refresh_reuse_interval", &self.refresh_reuse_interval)
            .field("encryption_key", &redacted(self.encryption_key.is_some()))
            .field("signing_key", &redacted(self.signing_key.is_some()))
            .field("jwt_secret", &redacted(self.jwt_secret.is_some()))
            .field("mfa_bind_ip", &self.mfa_bind_ip)
            .field("rate_limits", &self.rate_limits)
            .field("rate_limit_header", &self.rate_limit_header)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("hash_queue", &self.hash_queue);
        #[cfg(feature = "captcha")]
        f.field("captcha", &self.captcha);
        f.finish()
    }
}

/// `scheme://user:[redacted]@host/…`: the URL with its password (and any `password=` query
/// parameter) hidden.
pub(crate) fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') {
                format!("{user}:[redacted]")
            } else {
                user.to_owned()
            };
            out = format!("{scheme}://{hidden}@{host}{}", &rest[authority_end..]);
        }
    }
    if let Some((base, query)) = out.clone().split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=[redacted]"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}?{}", query.join("&"));
    }
    out
}

/// Twice the cores: hashing is CPU-bound, and a second slot per core keeps a core busy while
/// the other's task is being scheduled.
fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
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
    mailer_otp_exp: Option<u64>,
    smtp_max_frequency: Option<u64>,
    mailer_templates_dir: Option<String>,
    uri_allow_list: Option<String>,
    secure_email_change: Option<bool>,
    secure_password_change: Option<bool>,
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
            smtp: None,
            mailer_otp_exp: Duration::from_secs(3600),
            smtp_max_frequency: Duration::from_secs(60),
            mailer_templates_dir: None,
            uri_allow_list: Vec::new(),
            secure_email_change: true,
            secure_password_change: None,
            password_min_length: 8,
            refresh_reuse_interval: Duration::from_secs(10),
            encryption_key: None,
            signing_key: None,
            jwt_secret: None,
            mfa_bind_ip: true,
            rate_limits: crate::ratelimit::RateLimits::default(),
            rate_limit_header: None,
            trusted_proxies: crate::client::default_trusted_proxies(),
            hash_concurrency: default_hash_concurrency(),
            hash_queue: default_hash_concurrency() * 4,
            #[cfg(feature = "captcha")]
            captcha: None,
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

    /// As [`AuthConfig::from_env`], over defaults of the app's own: `defaults` changes the
    /// built-in ones, and the file and the environment still override the result.
    ///
    /// ```
    /// // Confirmation on unless ROUTEKIT_AUTH_AUTOCONFIRM (or the file) says otherwise.
    /// let config = routekit_auth::AuthConfig::from_env_with(|c| c.with_autoconfirm(false))?;
    /// # Ok::<(), routekit_auth::AuthConfigError>(())
    /// ```
    pub fn from_env_with(
        defaults: impl FnOnce(AuthConfig) -> AuthConfig,
    ) -> Result<Self, AuthConfigError> {
        Self::from_vars_with(|name| std::env::var(name).ok(), defaults)
    }

    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AuthConfigError> {
        Self::from_vars_with(var, |c| c)
    }

    fn from_vars_with(
        var: impl Fn(&str) -> Option<String>,
        defaults: impl FnOnce(AuthConfig) -> AuthConfig,
    ) -> Result<Self, AuthConfigError> {
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
        let mut config = defaults(AuthConfig::new(
            var("DATABASE_URL")
                .or(file.database_url)
                .unwrap_or_else(|| "sqlite://data/auth.db".to_owned()),
        ));
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
        if let Some(s) = seconds("ROUTEKIT_AUTH_MAILER_OTP_EXP", file.mailer_otp_exp)? {
            config.mailer_otp_exp = Duration::from_secs(s.max(60));
        }
        if let Some(s) = seconds("ROUTEKIT_AUTH_SMTP_MAX_FREQUENCY", file.smtp_max_frequency)? {
            config.smtp_max_frequency = Duration::from_secs(s);
        }
        if let Some(dir) = var("ROUTEKIT_AUTH_MAILER_TEMPLATES_DIR").or(file.mailer_templates_dir) {
            config.mailer_templates_dir = Some(dir.into());
        }
        if let Some(list) = var("ROUTEKIT_AUTH_URI_ALLOW_LIST").or(file.uri_allow_list) {
            config.uri_allow_list = list
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(b) = flag(
            "ROUTEKIT_AUTH_MAILER_SECURE_EMAIL_CHANGE_ENABLED",
            file.secure_email_change,
        )? {
            config.secure_email_change = b;
        }
        if let Some(b) = flag(
            "ROUTEKIT_AUTH_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION",
            file.secure_password_change,
        )? {
            config.secure_password_change = b.then_some(Duration::from_secs(24 * 3600));
        }
        // Credentials come from the environment only, never from the config file.
        config.smtp = routekit_mail::SmtpConfig::from_lookup("ROUTEKIT_AUTH_", &var)
            .map_err(AuthConfigError::Mail)?;
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
            (
                "ROUTEKIT_AUTH_RATE_LIMIT_EMAIL_SENT",
                &mut limits.email_sent,
            ),
            ("ROUTEKIT_AUTH_RATE_LIMIT_VERIFY", &mut limits.verify),
        ] {
            if let Some(n) = count(name)? {
                rate.count = n;
            }
        }
        config.rate_limit_header = var("ROUTEKIT_AUTH_RATE_LIMIT_HEADER").filter(|h| !h.is_empty());
        if let Some(header) = &config.rate_limit_header
            && http::HeaderName::try_from(header.trim()).is_err()
        {
            return Err(AuthConfigError::Variable {
                name: "ROUTEKIT_AUTH_RATE_LIMIT_HEADER",
                expected: "a header name",
            });
        }
        if let Some(list) = var("ROUTEKIT_AUTH_TRUSTED_PROXIES") {
            config.trusted_proxies =
                crate::client::parse_networks(&list).ok_or(AuthConfigError::Variable {
                    name: "ROUTEKIT_AUTH_TRUSTED_PROXIES",
                    expected: "a comma-separated list of networks (10.0.0.0/8) or addresses",
                })?;
        }
        let positive = |name: &'static str| -> Result<Option<usize>, AuthConfigError> {
            var(name)
                .map(|v| {
                    v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or(
                        AuthConfigError::Variable {
                            name,
                            expected: "a positive number",
                        },
                    )
                })
                .transpose()
        };
        if let Some(n) = positive("ROUTEKIT_AUTH_HASH_CONCURRENCY")? {
            config.hash_concurrency = n;
            config.hash_queue = n * 4;
        }
        if let Some(n) = positive("ROUTEKIT_AUTH_HASH_QUEUE")? {
            config.hash_queue = n;
        }
        #[cfg(feature = "captcha")]
        {
            config.captcha = routekit_captcha::CaptchaConfig::from_lookup(&var)
                .map_err(AuthConfigError::Captcha)?;
        }
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

    /// Asks for a captcha on sign-up and password sign-in, verified with `config`.
    ///
    /// ```
    /// use routekit_auth::AuthConfig;
    /// use routekit_captcha::{CaptchaConfig, Provider};
    ///
    /// let config = AuthConfig::new("sqlite::memory:")
    ///     .with_captcha(CaptchaConfig::new(Provider::HCaptcha, "0xsecret"));
    /// assert!(config.captcha.is_some());
    /// ```
    #[cfg(feature = "captcha")]
    pub fn with_captcha(mut self, config: routekit_captcha::CaptchaConfig) -> Self {
        self.captcha = Some(config);
        self
    }

    /// Sends mail through this SMTP server instead of keeping it in the development mailbox.
    ///
    /// ```
    /// use routekit_mail::{SmtpConfig, TlsMode};
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db").with_smtp(
    ///     SmtpConfig::new("127.0.0.1", 1025, "no-reply@example.com").with_tls(TlsMode::None),
    /// );
    /// assert!(config.smtp.is_some());
    /// ```
    pub fn with_smtp(mut self, smtp: routekit_mail::SmtpConfig) -> Self {
        self.smtp = Some(smtp);
        self
    }

    /// Lets mailed links send the browser to these URLs as well as to the site's origin (see
    /// [`AuthConfig::uri_allow_list`]).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_uri_allow_list(["https://preview-*.example.com/**"]);
    /// assert_eq!(config.uri_allow_list.len(), 1);
    /// ```
    pub fn with_uri_allow_list<S: Into<String>>(
        mut self,
        urls: impl IntoIterator<Item = S>,
    ) -> Self {
        self.uri_allow_list = urls.into_iter().map(Into::into).collect();
        self
    }

    /// How long mailed links and codes stay valid (default one hour), and how soon another
    /// mail of the same kind may go to one address (default 60 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_mail_timing(Duration::from_secs(600), Duration::ZERO);
    /// assert_eq!(config.mailer_otp_exp.as_secs(), 600);
    /// ```
    pub fn with_mail_timing(mut self, otp_exp: Duration, max_frequency: Duration) -> Self {
        self.mailer_otp_exp = otp_exp;
        self.smtp_max_frequency = max_frequency;
        self
    }

    /// A new password needs the reauthentication nonce when the session is older than
    /// `fresh` (`None`, the default, never; see [`AuthConfig::secure_password_change`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_secure_password_change(Some(Duration::from_secs(24 * 3600)));
    /// assert!(config.secure_password_change.is_some());
    /// ```
    pub fn with_secure_password_change(mut self, fresh: Option<Duration>) -> Self {
        self.secure_password_change = fresh;
        self
    }

    /// Whether a change of address is confirmed from both addresses (`true`, the default)
    /// or from the new one only.
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db").with_secure_email_change(false);
    /// assert!(!config.secure_email_change);
    /// ```
    pub fn with_secure_email_change(mut self, both: bool) -> Self {
        self.secure_email_change = both;
        self
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

    /// Reads the client address from `header` (e.g. `X-Forwarded-For`) on connections from
    /// trusted proxies (see [`AuthConfig::rate_limit_header`]).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_rate_limit_header("x-forwarded-for");
    /// assert_eq!(config.rate_limit_header.as_deref(), Some("x-forwarded-for"));
    /// ```
    pub fn with_rate_limit_header(mut self, header: impl Into<String>) -> Self {
        self.rate_limit_header = Some(header.into());
        self
    }

    /// At most `concurrency` password hashes at a time and `queue` waiting (see
    /// [`AuthConfig::hash_concurrency`]).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db").with_hashing(2, 8);
    /// assert_eq!((config.hash_concurrency, config.hash_queue), (2, 8));
    /// ```
    pub fn with_hashing(mut self, concurrency: usize, queue: usize) -> Self {
        self.hash_concurrency = concurrency.max(1);
        self.hash_queue = queue;
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

    /// New accounts are confirmed at once and signed in (`true`, the default), or wait for
    /// confirmation.
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db").with_autoconfirm(false);
    /// assert!(!config.autoconfirm);
    /// ```
    pub fn with_autoconfirm(mut self, autoconfirm: bool) -> Self {
        self.autoconfirm = autoconfirm;
        self
    }

    /// The shortest password accepted, in characters after NFKC (default 8).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db").with_password_min_length(12);
    /// assert_eq!(config.password_min_length, 12);
    /// ```
    pub fn with_password_min_length(mut self, characters: usize) -> Self {
        self.password_min_length = characters;
        self
    }

    /// How long the previous refresh token still returns the current one (default 10 s).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_refresh_reuse_interval(std::time::Duration::from_secs(5));
    /// assert_eq!(config.refresh_reuse_interval.as_secs(), 5);
    /// ```
    pub fn with_refresh_reuse_interval(mut self, interval: Duration) -> Self {
        self.refresh_reuse_interval = interval;
        self
    }

    /// The key TOTP secrets are encrypted with (32 bytes of base64url; see
    /// [`AuthConfig::encryption_key`]).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_encryption_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    /// assert!(config.encryption_key.is_some());
    /// ```
    pub fn with_encryption_key(mut self, key: impl Into<String>) -> Self {
        self.encryption_key = Some(key.into());
        self
    }

    /// Signs access tokens with this P-256 key (see [`AuthConfig::signing_key`]).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_signing_key("base64url of the 32-byte scalar");
    /// assert!(config.signing_key.is_some());
    /// ```
    pub fn with_signing_key(mut self, key: impl Into<String>) -> Self {
        self.signing_key = Some(key.into());
        self
    }

    /// Whether a challenge must be verified from the address that opened it (default `true`).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db").with_mfa_bind_ip(false);
    /// assert!(!config.mfa_bind_ip);
    /// ```
    pub fn with_mfa_bind_ip(mut self, bind: bool) -> Self {
        self.mfa_bind_ip = bind;
        self
    }

    /// The networks whose connections may set the rate-limit header (see
    /// [`AuthConfig::trusted_proxies`]).
    ///
    /// ```
    /// let config = routekit_auth::AuthConfig::new("sqlite://data/auth.db")
    ///     .with_trusted_proxies(vec!["10.0.0.0/8".parse().unwrap()]);
    /// assert_eq!(config.trusted_proxies.len(), 1);
    /// ```
    pub fn with_trusted_proxies(mut self, networks: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = networks;
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
    fn debug_output_redacts_keys_secrets_and_the_database_password() {
        let mut config = AuthConfig::new(
            "postgres://app:hunter2secret@db.internal:5432/auth?sslmode=require&password=hunter3",
        )
        .with_jwt_secret("a legacy secret of at least 32 characters");
        config.encryption_key = Some("ENCRYPTIONKEYVALUE".into());
        config.signing_key = Some("SIGNINGKEYVALUE".into());
        config.smtp = Some(
            routekit_mail::SmtpConfig::new("smtp.example.com", 587, "no-reply@example.com")
                .with_credentials("mailer", "SMTPPASSWORDVALUE"),
        );
        let printed = format!("{config:?}");
        for secret in [
            "hunter2secret",
            "hunter3",
            "legacy secret",
            "ENCRYPTIONKEYVALUE",
            "SIGNINGKEYVALUE",
            "SMTPPASSWORDVALUE",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("postgres://app:[redacted]@db.internal:5432/auth"));
        assert!(printed.contains("sslmode=require"));
        assert_eq!(redact_url("sqlite://data/auth.db"), "sqlite://data/auth.db");
        assert_eq!(redact_url("postgres://app@h/db"), "postgres://app@h/db");
    }

    #[test]
    fn proxy_and_hashing_settings_are_read_and_checked() {
        let config = AuthConfig::from_vars(|name| match name {
            "ROUTEKIT_AUTH_TRUSTED_PROXIES" => Some("10.0.0.0/8, 192.0.2.1".into()),
            "ROUTEKIT_AUTH_HASH_CONCURRENCY" => Some("3".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!((config.hash_concurrency, config.hash_queue), (3, 12));
        for (name, value) in [
            ("ROUTEKIT_AUTH_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("ROUTEKIT_AUTH_HASH_CONCURRENCY", "0"),
            ("ROUTEKIT_AUTH_RATE_LIMIT_HEADER", "x forwarded"),
        ] {
            let err = AuthConfig::from_vars(|n| (n == name).then(|| value.to_owned())).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
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
