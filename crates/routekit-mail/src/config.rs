//! SMTP settings, with GoTrue's names under a prefix of the caller's choosing.

use std::time::Duration;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// Plain text: only for a relay on the same host or network (`none`).
    None,
    /// Plain text upgraded with `STARTTLS`, which the server must offer (`starttls`, the
    /// default on ports other than 465).
    StartTls,
    /// TLS from the first byte (`tls`, the default on port 465).
    Tls,
}

impl TlsMode {
    /// The mode named `none`, `starttls` or `tls` (any case).
    ///
    /// ```
    /// use routekit_mail::TlsMode;
    /// assert_eq!(TlsMode::parse("STARTTLS"), Some(TlsMode::StartTls));
    /// assert_eq!(TlsMode::parse("ssl"), None);
    /// ```
    pub fn parse(name: &str) -> Option<TlsMode> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" => Some(TlsMode::None),
            "starttls" => Some(TlsMode::StartTls),
            "tls" => Some(TlsMode::Tls),
            _ => None,
        }
    }
}

/// Where and how to send mail.
///
/// `Debug` prints the password as `[redacted]`.
///
/// ```
/// let config = routekit_mail::SmtpConfig::new("smtp.example.com", 465, "no-reply@example.com")
///     .with_credentials("mailer", "hunter2");
/// assert_eq!(config.tls, routekit_mail::TlsMode::Tls);
/// assert!(!format!("{config:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct SmtpConfig {
    /// `…_SMTP_HOST`.
    pub host: String,
    /// `…_SMTP_PORT` (default 587).
    pub port: u16,
    /// `…_SMTP_USER`.
    pub user: Option<String>,
    /// `…_SMTP_PASS`.
    pub pass: Option<String>,
    /// `…_SMTP_ADMIN_EMAIL`: the `From` address.
    pub admin_email: String,
    /// `…_SMTP_SENDER_NAME`: the `From` name.
    pub sender_name: Option<String>,
    /// `…_SMTP_TLS`: `none`, `starttls` or `tls` (default `tls` on port 465, else `starttls`).
    pub tls: TlsMode,
    /// `…_SMTP_TIMEOUT_MS`: how long one send may take in all, retries included (default
    /// 10 s). A request that sends mail waits no longer than this.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("pass", &self.pass.as_ref().map(|_| "[redacted]"))
            .field("admin_email", &self.admin_email)
            .field("sender_name", &self.sender_name)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailConfigError {
    /// A variable with a value it cannot take.
    #[error("{name} must be {expected}")]
    Variable {
        /// The variable.
        name: String,
        /// What it may be.
        expected: &'static str,
    },
}

/// The default deadline of one send.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl SmtpConfig {
    /// A server at `host:port`, sending as `from`, TLS chosen by the port (465: `tls`, else
    /// `starttls`), without credentials.
    pub fn new(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        SmtpConfig {
            host: host.into(),
            port,
            user: None,
            pass: None,
            admin_email: from.into(),
            sender_name: None,
            tls: if port == 465 {
                TlsMode::Tls
            } else {
                TlsMode::StartTls
            },
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Signs in to the server with `user` and `pass`.
    pub fn with_credentials(mut self, user: impl Into<String>, pass: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self.pass = Some(pass.into());
        self
    }

    /// Secures the connection this way.
    ///
    /// ```
    /// use routekit_mail::{SmtpConfig, TlsMode};
    /// let config = SmtpConfig::new("127.0.0.1", 1025, "dev@localhost").with_tls(TlsMode::None);
    /// assert_eq!(config.tls, TlsMode::None);
    /// ```
    pub fn with_tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// Sends as `name <admin_email>`.
    pub fn with_sender_name(mut self, name: impl Into<String>) -> Self {
        self.sender_name = Some(name.into());
        self
    }

    /// Gives one send, retries included, at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = routekit_mail::SmtpConfig::new("127.0.0.1", 1025, "dev@localhost")
    ///     .with_timeout(Duration::from_secs(2));
    /// assert_eq!(config.timeout, Duration::from_secs(2));
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The settings from `{prefix}SMTP_HOST`, `…_PORT`, `…_USER`, `…_PASS`, `…_ADMIN_EMAIL`,
    /// `…_SENDER_NAME`, `…_TLS` and `…_TIMEOUT_MS`, read through `var`; `None` when no host
    /// is set.
    ///
    /// ```
    /// use routekit_mail::SmtpConfig;
    /// let config = SmtpConfig::from_lookup("ROUTEKIT_AUTH_", |name| match name {
    ///     "ROUTEKIT_AUTH_SMTP_HOST" => Some("127.0.0.1".into()),
    ///     "ROUTEKIT_AUTH_SMTP_PORT" => Some("2525".into()),
    ///     "ROUTEKIT_AUTH_SMTP_TLS" => Some("none".into()),
    ///     "ROUTEKIT_AUTH_SMTP_ADMIN_EMAIL" => Some("no-reply@example.com".into()),
    ///     _ => None,
    /// })?
    /// .unwrap();
    /// assert_eq!((config.port, config.tls), (2525, routekit_mail::TlsMode::None));
    /// # Ok::<(), routekit_mail::MailConfigError>(())
    /// ```
    pub fn from_lookup(
        prefix: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<SmtpConfig>, MailConfigError> {
        let name = |suffix: &str| format!("{prefix}SMTP_{suffix}");
        let get = |suffix: &str| var(&name(suffix)).filter(|v| !v.trim().is_empty());
        let Some(host) = get("HOST") else {
            return Ok(None);
        };
        let bad = |suffix: &str, expected| MailConfigError::Variable {
            name: name(suffix),
            expected,
        };
        let port = match get("PORT") {
            Some(p) => p
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad("PORT", "a port number"))?,
            None => 587,
        };
        let admin_email = get("ADMIN_EMAIL")
            .filter(|a| a.contains('@'))
            .ok_or_else(|| bad("ADMIN_EMAIL", "the address mail is sent from"))?;
        let mut config = SmtpConfig::new(host.trim(), port, admin_email.trim());
        config.user = get("USER");
        config.pass = get("PASS");
        config.sender_name = get("SENDER_NAME");
        if let Some(tls) = get("TLS") {
            config.tls = TlsMode::parse(&tls).ok_or_else(|| bad("TLS", "none, starttls or tls"))?;
        }
        if let Some(ms) = get("TIMEOUT_MS") {
            let ms = ms
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or_else(|| bad("TIMEOUT_MS", "a positive number of milliseconds"))?;
            config.timeout = Duration::from_millis(ms);
        }
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_host_means_no_smtp_and_bad_values_name_their_variable() {
        assert!(matches!(SmtpConfig::from_lookup("X_", |_| None), Ok(None)));
        for (suffix, value) in [
            ("PORT", "smtp"),
            ("TLS", "ssl"),
            ("TIMEOUT_MS", "0"),
            ("ADMIN_EMAIL", "nobody"),
        ] {
            let err = SmtpConfig::from_lookup("X_", |name| match name {
                "X_SMTP_HOST" => Some("mail".into()),
                "X_SMTP_ADMIN_EMAIL" if suffix != "ADMIN_EMAIL" => Some("a@b.c".into()),
                n if n == format!("X_SMTP_{suffix}") => Some(value.into()),
                _ => None,
            })
            .unwrap_err();
            assert!(
                err.to_string().starts_with(&format!("X_SMTP_{suffix}")),
                "{err}"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let config = SmtpConfig::new("h", 25, "a@b.c").with_credentials("u", "s3cr3t-pass");
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t-pass"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }
}
