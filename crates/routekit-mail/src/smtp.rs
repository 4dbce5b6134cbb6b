//! Sending over SMTP, within a deadline.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use tokio::time::Instant;

use crate::config::{SmtpConfig, TlsMode};

/// One mail: a recipient, a subject, and its HTML and text parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The text part, for clients that show no HTML.
    pub text: String,
}

/// Why a mail was not sent. None of them carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The recipient or sender is not an address.
    #[error("not an e-mail address: {0}")]
    Address(String),
    /// The server did not accept the mail within the deadline, retries included.
    #[error("the mail server did not accept the mail within {0:?}")]
    Timeout(Duration),
    /// The server refused the mail for good (a 5xx answer).
    #[error("the mail server refused the mail: {0}")]
    Refused(String),
    /// The server could not be reached, or failed, until the deadline passed.
    #[error("cannot send through the mail server: {0}")]
    Unavailable(String),
}

/// An SMTP client with pooled connections. A send and its retries take at most the
/// configured [`timeout`](SmtpConfig::timeout), so a slow or dead server delays a request by
/// that much at most.
///
/// ```no_run
/// # async fn f(email: routekit_mail::Email) -> Result<(), routekit_mail::MailError> {
/// let config = routekit_mail::SmtpConfig::from_lookup("ROUTEKIT_AUTH_", |n| std::env::var(n).ok())
///     .expect("valid SMTP settings")
///     .expect("SMTP configured");
/// routekit_mail::Smtp::new(&config)?.send(&email).await
/// # }
/// ```
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("from", &self.from.email.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The first pause between attempts; each later one doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

impl Smtp {
    /// A client for `config` (nothing is connected until the first send).
    pub fn new(config: &SmtpConfig) -> Result<Smtp, MailError> {
        let address = config
            .admin_email
            .parse()
            .map_err(|_| MailError::Address(config.admin_email.clone()))?;
        let from = Mailbox::new(config.sender_name.clone(), address);
        let tls = || {
            TlsParameters::new(config.host.clone())
                .map_err(|e| MailError::Unavailable(format!("TLS set-up: {e}")))
        };
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls()?),
            TlsMode::Tls => Tls::Wrapper(tls()?),
        };
        // The sender's domain names this client, as RFC 5321 asks of EHLO.
        let domain = from.email.domain().to_owned();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .hello_name(ClientId::Domain(domain))
            .timeout(Some(config.timeout));
        if let (Some(user), Some(pass)) = (&config.user, &config.pass) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Smtp {
            transport: builder.build(),
            from,
            timeout: config.timeout,
        })
    }

    /// The deadline of one send.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `email`. A failure that may pass (no connection, a 4xx answer) is retried after
    /// 100 ms, 200 ms, … while the deadline allows; a 5xx answer is final.
    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let to = email
            .to
            .parse()
            .map_err(|_| MailError::Address(email.to.clone()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(email.subject.replace(['\r', '\n'], " "))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| MailError::Address(e.to_string()))?;
        let deadline = Instant::now() + self.timeout;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let error = match tokio::time::timeout(left, self.transport.send(message.clone())).await
            {
                Err(_) => return Err(MailError::Timeout(self.timeout)),
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) if e.is_permanent() => return Err(MailError::Refused(e.to_string())),
                Ok(Err(e)) if e.is_timeout() => return Err(MailError::Timeout(self.timeout)),
                Ok(Err(e)) => e,
            };
            if Instant::now() + backoff >= deadline {
                return Err(MailError::Unavailable(error.to_string()));
            }
            tracing::debug!(target: "routekit::mail", %error, "retrying a mail");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}
