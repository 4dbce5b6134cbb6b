//! Transactional e-mail for routekit apps: an SMTP client that never holds a request past its
//! deadline, and templates whose variables are always escaped.
//!
//! The embedded auth server sends its confirmation, recovery and magic-link mails through
//! this crate; an app can send its own (an invitation to a team) the same way.
//!
//! ```no_run
//! # async fn f() -> Result<(), routekit_mail::MailError> {
//! use routekit_mail::{Email, Smtp, SmtpConfig, TlsMode};
//!
//! let config = SmtpConfig::new("smtp.example.com", 587, "no-reply@example.com")
//!     .with_tls(TlsMode::StartTls)
//!     .with_credentials("apikey", "secret");
//! let smtp = Smtp::new(&config)?;
//! smtp.send(&Email {
//!     to: "ann@example.com".into(),
//!     subject: "Welcome".into(),
//!     html: "<p>Hello</p>".into(),
//!     text: "Hello".into(),
//! })
//! .await?;
//! # Ok(()) }
//! ```

mod config;
mod smtp;
mod template;

pub use config::{MailConfigError, SmtpConfig, TlsMode};
pub use smtp::{Email, MailError, Smtp};
pub use template::{Template, TemplateError, escape_html};
