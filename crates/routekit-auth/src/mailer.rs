//! The mails the embedded server sends: GoTrue's templates (overridable from files), and the
//! transport, an SMTP server or, without one, the development mailbox in the database.

use std::path::Path;

use routekit_mail::{Email, MailError, Smtp, Template};

use crate::config::AuthConfig;
use crate::error::AuthConfigError;
use crate::store::{MailboxEntry, Store};

/// A kind of mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mail {
    /// Confirm the address of a new account.
    Confirmation,
    /// Reset a forgotten password.
    Recovery,
    /// Sign in without a password.
    MagicLink,
    /// Confirm a change of address (sent to the new address, and to the current one too
    /// with secure e-mail change).
    EmailChange,
    /// A code to confirm a sensitive change (a new password) with.
    Reauthentication,
}

/// The variables a template may use: GoTrue's names.
pub(crate) const VARIABLES: &[&str] = &[
    "ConfirmationURL",
    "Token",
    "TokenHash",
    "SiteURL",
    "Email",
    "NewEmail",
    "RedirectTo",
];

impl Mail {
    const ALL: [Mail; 5] = [
        Mail::Confirmation,
        Mail::Recovery,
        Mail::MagicLink,
        Mail::EmailChange,
        Mail::Reauthentication,
    ];

    /// The name of its template files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mail::Confirmation => "confirmation",
            Mail::Recovery => "recovery",
            Mail::MagicLink => "magic_link",
            Mail::EmailChange => "email_change",
            Mail::Reauthentication => "reauthentication",
        }
    }

    /// Its one-time token's purpose (magic links and recovery share one, as in GoTrue; an
    /// e-mail change has one per address, see [`Mail::purpose_for`]).
    pub(crate) fn purpose(self) -> &'static str {
        match self {
            Mail::Confirmation => "confirmation",
            Mail::Recovery | Mail::MagicLink => "recovery",
            Mail::EmailChange => "email_change_new",
            Mail::Reauthentication => "reauthentication",
        }
    }

    /// The `type` its link carries to `/verify`.
    pub(crate) fn link_type(self) -> &'static str {
        match self {
            Mail::Confirmation => "signup",
            Mail::Recovery => "recovery",
            Mail::MagicLink => "magiclink",
            Mail::EmailChange => "email_change",
            Mail::Reauthentication => "reauthentication",
        }
    }

    /// GoTrue's message when it cannot be sent.
    pub(crate) fn failure(self) -> &'static str {
        match self {
            Mail::Confirmation => "Error sending confirmation email",
            Mail::Recovery => "Error sending recovery email",
            Mail::MagicLink => "Error sending magic link email",
            Mail::EmailChange => "Error sending email change email",
            Mail::Reauthentication => "Error sending reauthentication email",
        }
    }

    fn defaults(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Mail::Confirmation => (
                "Confirm Your Signup",
                "<h2>Confirm your email address</h2>\n\n\
                 <p>Follow the link below to confirm {{ .Email }} and finish signing up.</p>\n\
                 <p><a href=\"{{ .ConfirmationURL }}\">Confirm email address</a></p>\n\
                 <p>Or enter this code: {{ .Token }}</p>\n",
                "Confirm your email address\n\n\
                 Follow this link to confirm {{ .Email }} and finish signing up:\n\n\
                 {{ .ConfirmationURL }}\n\nOr enter this code: {{ .Token }}\n",
            ),
            Mail::Recovery => (
                "Reset Your Password",
                "<h2>Reset your password</h2>\n\n\
                 <p>We received a request to reset your password. Follow the link below to choose a new one.</p>\n\
                 <p><a href=\"{{ .ConfirmationURL }}\">Reset password</a></p>\n\
                 <p>Or enter this code: {{ .Token }}</p>\n\
                 <p>If you didn't request this, you can safely ignore this email.</p>\n",
                "Reset your password\n\n\
                 We received a request to reset your password. Follow this link to choose a new one:\n\n\
                 {{ .ConfirmationURL }}\n\nOr enter this code: {{ .Token }}\n\n\
                 If you didn't request this, you can safely ignore this email.\n",
            ),
            Mail::MagicLink => (
                "Your Magic Link",
                "<h2>Your sign-in link</h2>\n\n\
                 <p>Follow the link below to sign in. It expires shortly and can only be used once.</p>\n\
                 <p><a href=\"{{ .ConfirmationURL }}\">Sign in</a></p>\n\
                 <p>Or enter this code: {{ .Token }}</p>\n",
                "Your sign-in link\n\n\
                 Follow this link to sign in. It expires shortly and can only be used once:\n\n\
                 {{ .ConfirmationURL }}\n\nOr enter this code: {{ .Token }}\n",
            ),
            Mail::EmailChange => (
                "Confirm Email Change",
                "<h2>Confirm the change of your email address</h2>\n\n\
                 <p>Follow the link below to confirm the change from {{ .Email }} to {{ .NewEmail }}.</p>\n\
                 <p><a href=\"{{ .ConfirmationURL }}\">Confirm email change</a></p>\n\
                 <p>Or enter this code: {{ .Token }}</p>\n\
                 <p>If you didn't request this change, you can safely ignore this email.</p>\n",
                "Confirm the change of your email address\n\n\
                 Follow this link to confirm the change from {{ .Email }} to {{ .NewEmail }}:\n\n\
                 {{ .ConfirmationURL }}\n\nOr enter this code: {{ .Token }}\n\n\
                 If you didn't request this change, you can safely ignore this email.\n",
            ),
            Mail::Reauthentication => (
                "Confirm Reauthentication",
                "<h2>Confirm it is you</h2>\n\n<p>Enter this code to confirm the change: {{ .Token }}</p>\n\
                 <p>If you didn't ask for it, someone may know your password: change it.</p>\n",
                "Confirm it is you\n\nEnter this code to confirm the change: {{ .Token }}\n\n\
                 If you didn't ask for it, someone may know your password: change it.\n",
            ),
        }
    }
}

/// One mail's templates.
#[derive(Debug, Clone)]
struct Templates {
    subject: Template,
    html: Template,
    text: Template,
}

/// Where mail goes.
#[derive(Debug)]
enum Transport {
    Smtp(Smtp),
    /// The development mailbox: kept in the database, never sent, never logged.
    Mailbox,
}

/// Renders and delivers the server's mails.
#[derive(Debug)]
pub(crate) struct Mailer {
    transport: Transport,
    templates: Vec<(Mail, Templates)>,
}

/// Reads `dir/<name>` if it exists, parsed and checked.
fn override_of(dir: Option<&Path>, name: &str) -> Result<Option<Template>, AuthConfigError> {
    let Some(path) = dir.map(|d| d.join(name)) else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AuthConfigError::Template {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let bad = |reason: String| AuthConfigError::Template {
        path: path.display().to_string(),
        reason,
    };
    let template =
        Template::parse(text.trim_end_matches(['\r', '\n'])).map_err(|e| bad(e.to_string()))?;
    template.check(VARIABLES).map_err(|e| bad(e.to_string()))?;
    Ok(Some(template))
}

impl Mailer {
    /// The mailer of `config`: its SMTP server or the mailbox, GoTrue's templates with the
    /// overrides found in [`AuthConfig::mailer_templates_dir`].
    pub(crate) fn new(config: &AuthConfig) -> Result<Mailer, AuthConfigError> {
        let dir = config.mailer_templates_dir.as_deref();
        let mut templates = Vec::new();
        for mail in Mail::ALL {
            let (subject, html, text) = mail.defaults();
            let parse = |source: &str| Template::parse(source).expect("built-in template");
            let name = mail.name();
            templates.push((
                mail,
                Templates {
                    subject: override_of(dir, &format!("{name}.subject"))?
                        .unwrap_or_else(|| parse(subject)),
                    html: override_of(dir, &format!("{name}.html"))?.unwrap_or_else(|| parse(html)),
                    text: override_of(dir, &format!("{name}.txt"))?.unwrap_or_else(|| parse(text)),
                },
            ));
        }
        let transport = match &config.smtp {
            Some(smtp) => {
                Transport::Smtp(Smtp::new(smtp).map_err(|_| AuthConfigError::Variable {
                    name: "ROUTEKIT_AUTH_SMTP_ADMIN_EMAIL",
                    expected: "an e-mail address",
                })?)
            }
            None => Transport::Mailbox,
        };
        Ok(Mailer {
            transport,
            templates,
        })
    }

    /// Whether mail goes to the development mailbox.
    pub(crate) fn is_mailbox(&self) -> bool {
        matches!(self.transport, Transport::Mailbox)
    }

    /// Renders `mail` for `to` with `vars` (name, value) and delivers it.
    pub(crate) async fn send(
        &self,
        store: &Store,
        mail: Mail,
        to: &str,
        vars: &[(&str, &str)],
    ) -> Result<(), MailError> {
        let templates = &self
            .templates
            .iter()
            .find(|(m, _)| *m == mail)
            .expect("every mail has templates")
            .1;
        let email = Email {
            to: to.to_owned(),
            subject: templates.subject.render_text(vars),
            html: templates.html.render_html(vars),
            text: templates.text.render_text(vars),
        };
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(&email).await,
            Transport::Mailbox => store
                .put_mail(&MailboxEntry {
                    id: uuid::Uuid::new_v4().to_string(),
                    recipient: email.to,
                    subject: email.subject,
                    html: email.html,
                    text: email.text,
                    created_at: crate::now(),
                })
                .await
                .map_err(|e| MailError::Unavailable(format!("the mailbox: {e}"))),
        }
    }
}
