//! The e-mail flows: confirmation, recovery, magic links and codes, resends, and the PKCE
//! exchange of a followed link.
//!
//! A mail carries a link and a six-digit code for one purpose; both are random, stored only
//! as SHA-256 hashes, expire after [`AuthConfig::mailer_otp_exp`](crate::AuthConfig), work
//! once, and are voided by the next mail of the same purpose. Five wrong codes void a code.
//!
//! Whether an address has an account never shows: a request for an unknown (or banned)
//! address claims the same send slot, waits about as long as a real send takes, and answers
//! the same.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AuthService;
use super::accounts::{default_app_metadata, metadata, normalise_email};
use super::tokens::TokenResponse;
use crate::client::Client;
use crate::error::{AuthError, ErrorCode, unless_conflict};
use crate::jws::{AuthMethod, Claims};
use crate::mailer::Mail;
use crate::ratelimit::{Bucket, Key};
use crate::store::{NewToken, TokenRow, UserChanges};
use crate::user::User;

/// Wrong codes after which a mailed code is void.
pub(crate) const MAX_CODE_ATTEMPTS: i64 = 5;

/// The purposes of an e-mail change's two tokens: the one mailed to the current address, and
/// the one mailed to the new address.
const EMAIL_CHANGE_CURRENT: &str = "email_change_current";
const EMAIL_CHANGE_NEW: &str = "email_change_new";

/// How long the development mailbox keeps a mail.
pub(crate) const MAILBOX_KEEP: i64 = 7 * 24 * 3600;

/// How often a running service deletes expired tokens, codes and send times.
pub(crate) const PURGE_EVERY: Duration = Duration::from_secs(600);

/// What [`AuthService::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Purged {
    /// Mailed links and codes past their expiry.
    pub tokens: u64,
    /// PKCE auth codes older than five minutes.
    pub auth_codes: u64,
    /// Send times past the frequency limit (they no longer hold a mail back).
    pub send_times: u64,
    /// Development mailbox mail older than a week.
    pub mailbox: u64,
}

/// GoTrue's answer when one of the two addresses of a secure e-mail change has confirmed.
pub(crate) const SINGLE_CONFIRMATION: &str =
    "Confirmation link accepted. Please proceed to confirm link sent to the other email";

/// How long a PKCE auth code may wait for its exchange (GoTrue's flow-state expiry).
pub(crate) const AUTH_CODE_TTL: i64 = 300;

/// What a mailed link or code is for, as `POST /verify`'s and `GET /verify`'s `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyType {
    /// The sign-up confirmation.
    Signup,
    /// An invitation (confirms the address, as a sign-up's link does).
    Invite,
    /// A password recovery.
    Recovery,
    /// A magic link.
    MagicLink,
    /// Any mailed code or link of the address: confirmation or magic link.
    Email,
    /// A change of address, from the link or code sent to the new address or to the current
    /// one.
    EmailChange,
}

impl VerifyType {
    /// The type named `name` (`signup`, `invite`, `recovery`, `magiclink`, `email`).
    ///
    /// ```
    /// use routekit_auth::VerifyType;
    /// assert_eq!(VerifyType::parse("magiclink"), Some(VerifyType::MagicLink));
    /// assert_eq!(VerifyType::parse("sms"), None);
    /// ```
    pub fn parse(name: &str) -> Option<VerifyType> {
        match name {
            "signup" => Some(VerifyType::Signup),
            "invite" => Some(VerifyType::Invite),
            "recovery" => Some(VerifyType::Recovery),
            "magiclink" => Some(VerifyType::MagicLink),
            "email" => Some(VerifyType::Email),
            "email_change" => Some(VerifyType::EmailChange),
            _ => None,
        }
    }

    /// The token purposes this type may take.
    fn purposes(self) -> &'static [&'static str] {
        match self {
            VerifyType::Signup | VerifyType::Invite => &["confirmation"],
            VerifyType::Recovery | VerifyType::MagicLink => &["recovery"],
            VerifyType::Email => &["confirmation", "recovery"],
            VerifyType::EmailChange => &[EMAIL_CHANGE_CURRENT, EMAIL_CHANGE_NEW],
        }
    }

    /// The `amr` method of a session that a PKCE exchange of this type's link signs in.
    fn auth_method(self, purpose: &str) -> AuthMethod {
        match (self, purpose) {
            (VerifyType::Invite, _) => AuthMethod::Invite,
            (VerifyType::EmailChange, _) => AuthMethod::EmailChange,
            (VerifyType::Recovery, _) => AuthMethod::Recovery,
            (VerifyType::MagicLink, _) | (VerifyType::Email, "recovery") => AuthMethod::MagicLink,
            _ => AuthMethod::EmailSignup,
        }
    }
}

/// How a PKCE client proves it is the one that asked for the mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkceMethod {
    /// `code_challenge = base64url(sha256(code_verifier))`.
    S256,
    /// `code_challenge = code_verifier`.
    Plain,
}

impl PkceMethod {
    fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "s256",
            PkceMethod::Plain => "plain",
        }
    }
}

/// A PKCE challenge sent with a request for a mail (`@supabase/ssr`'s default flow): the
/// link then yields an auth code, which only the holder of the verifier can exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    challenge: String,
    method: PkceMethod,
}

impl Pkce {
    /// A challenge and its method (`s256` or `plain`, any case), checked as GoTrue checks
    /// them: 43 to 128 characters of `[A-Za-z0-9._~-]`.
    ///
    /// ```
    /// let pkce = routekit_auth::Pkce::new("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256");
    /// assert!(pkce.is_ok());
    /// assert!(routekit_auth::Pkce::new("short", "s256").is_err());
    /// ```
    pub fn new(challenge: &str, method: &str) -> Result<Pkce, AuthError> {
        let method = match method.to_ascii_lowercase().as_str() {
            "s256" => PkceMethod::S256,
            "plain" => PkceMethod::Plain,
            _ => {
                return Err(AuthError::validation(format!(
                    "code challenge method {} is not supported",
                    method.escape_debug()
                )));
            }
        };
        if !(43..=128).contains(&challenge.len()) {
            return Err(AuthError::validation(
                "code challenge has to be between 43 and 128 characters",
            ));
        }
        if !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
        {
            return Err(AuthError::validation(
                "code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes",
            ));
        }
        Ok(Pkce {
            challenge: challenge.to_owned(),
            method,
        })
    }

    /// The optional challenge of a request: both fields or neither (GoTrue's rule).
    pub(crate) fn from_request(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<Pkce>, AuthError> {
        match (
            challenge.filter(|c| !c.is_empty()),
            method.filter(|m| !m.is_empty()),
        ) {
            (None, None) => Ok(None),
            (Some(challenge), Some(method)) => Pkce::new(challenge, method).map(Some),
            _ => Err(AuthError::validation(
                "PKCE flow requires code_challenge_method and code_challenge",
            )),
        }
    }

    /// Whether `verifier` answers a stored challenge, in constant time.
    fn answers(challenge: &str, method: &str, verifier: &str) -> bool {
        let expected = match method {
            "s256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            "plain" => verifier.to_owned(),
            _ => return false,
        };
        expected.as_bytes().ct_eq(challenge.as_bytes()).into()
    }
}

/// What `POST /resend` mails again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resend {
    /// The sign-up confirmation of an unconfirmed user (`type: signup`).
    Signup,
    /// The mails of a pending change of address (`type: email_change`).
    EmailChange,
}

/// Where a mailed link sends the browser, and whether the client asked for PKCE.
///
/// ```
/// let options = routekit_auth::MailOptions::redirect_to("http://127.0.0.1:3000/welcome");
/// assert!(options.pkce.is_none());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MailOptions {
    /// `redirect_to` (supabase-js's `emailRedirectTo`/`redirectTo`): kept only if the site's
    /// origin or the allow list permits it; otherwise the link goes to the site URL.
    pub redirect_to: Option<String>,
    /// The PKCE challenge, for a link that yields an auth code.
    pub pkce: Option<Pkce>,
}

impl MailOptions {
    /// Options with only a `redirect_to`.
    pub fn redirect_to(url: impl Into<String>) -> Self {
        MailOptions {
            redirect_to: Some(url.into()),
            pkce: None,
        }
    }
}

/// What following a mailed link produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Verified {
    /// The implicit flow: a session, for the link's redirect to carry in its fragment.
    Session(Box<TokenResponse>),
    /// The PKCE flow: an auth code, for the redirect's `?code=`, to be exchanged within five
    /// minutes with the verifier.
    AuthCode(String),
    /// One of the two addresses of a secure e-mail change confirmed; the other must too.
    Pending,
}

/// How long the requests that sent mail took, so that requests that must not reveal they
/// sent none take as long; and whether the last send worked.
#[derive(Debug)]
pub(crate) struct SendTiming {
    /// The last few, newest last: their median follows a change of the mail server's speed
    /// within a few sends, and one outlier does not move it.
    recent: std::sync::Mutex<std::collections::VecDeque<Duration>>,
    failing: AtomicBool,
}

/// Sends the median is taken over.
const TIMING_WINDOW: usize = 8;

impl SendTiming {
    pub(crate) fn new() -> Self {
        SendTiming {
            recent: std::sync::Mutex::new(std::collections::VecDeque::with_capacity(TIMING_WINDOW)),
            failing: AtomicBool::new(false),
        }
    }

    fn record(&self, took: Duration, ok: bool) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == TIMING_WINDOW {
            recent.pop_front();
        }
        recent.push_back(took);
        self.failing.store(!ok, Ordering::Relaxed);
    }

    fn typical(&self) -> Duration {
        let mut recent: Vec<Duration> = self
            .recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        recent.sort();
        recent.get(recent.len() / 2).copied().unwrap_or_default()
    }
}

fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// A mailed code's hash: bound to its token's id, so equal codes of two tokens differ.
fn code_hash(token_id: &str, code: &str) -> String {
    sha256_b64(&format!("{token_id}:{code}"))
}

/// Six uniformly random digits.
fn random_code() -> Result<String, AuthError> {
    loop {
        let n = u32::from_le_bytes(crate::random_bytes::<4>()?);
        // Rejection keeps every code equally likely.
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Whether `pattern` (with `*` for one segment or label, `**` for anything) matches `text`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        [b'*', rest @ ..] => (0..=text.len())
            .take_while(|&i| i == 0 || !b"/.".contains(&text[i - 1]))
            .any(|i| glob(rest, &text[i..])),
        [c, rest @ ..] => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

impl AuthService {
    /// Deletes the e-mail flows' rows that can no longer be used: expired links and codes,
    /// auth codes older than five minutes, send times past the frequency limit, and mailbox
    /// mail older than a week. A running service does this every ten minutes by itself.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
    /// let purged = auth.purge_expired().await?;
    /// println!("{} expired tokens deleted", purged.tokens);
    /// # Ok(()) }
    /// ```
    pub async fn purge_expired(&self) -> Result<Purged, AuthError> {
        let now = crate::now();
        let config = &self.inner.config;
        let [tokens, auth_codes, send_times, mailbox] = self
            .store()
            .purge(
                now - config.mailer_otp_exp.as_secs() as i64,
                now - AUTH_CODE_TTL,
                now - config.smtp_max_frequency.as_secs() as i64,
                now - MAILBOX_KEEP,
            )
            .await?;
        Ok(Purged {
            tokens,
            auth_codes,
            send_times,
            mailbox,
        })
    }

    /// `url` if mailed links may send the browser there: the site URL's origin, or a match
    /// of [`AuthConfig::uri_allow_list`](crate::AuthConfig::uri_allow_list); else the site
    /// URL. An open redirect is never made.
    ///
    /// ```no_run
    /// # fn f(auth: routekit_auth::AuthService) {
    /// assert_eq!(auth.redirect_target(Some("https://evil.example")), auth.config().site_url);
    /// # }
    /// ```
    pub fn redirect_target(&self, url: Option<&str>) -> String {
        let config = &self.inner.config;
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            return config.site_url.clone();
        };
        let Ok(parsed) = url::Url::parse(url) else {
            return config.site_url.clone();
        };
        let same_origin = url::Url::parse(&config.site_url)
            .is_ok_and(|site| site.origin() == parsed.origin() && parsed.origin().is_tuple());
        let listed = config
            .uri_allow_list
            .iter()
            .any(|pattern| glob(pattern.as_bytes(), parsed.as_str().as_bytes()) || pattern == url);
        if same_origin || listed {
            parsed.to_string()
        } else {
            config.site_url.clone()
        }
    }

    /// Refuses a client over its mail allowance with GoTrue's 429.
    pub(crate) fn limit_mail(&self, client: &Client) -> Result<(), AuthError> {
        self.limit_ip(Bucket::EmailSent, client)
            .map_err(|e| match e {
                AuthError::RateLimited { .. } => ErrorCode::OverEmailSendRateLimit.into(),
                other => other,
            })
    }

    /// Refuses a user over the mail allowance of their account (an e-mail change mails
    /// whatever address its owner names).
    fn limit_mail_for_user(&self, user: &User) -> Result<(), AuthError> {
        self.limit(Bucket::EmailSent, Key::User(user.id.clone()))
            .map_err(|e| match e {
                AuthError::RateLimited { .. } => ErrorCode::OverEmailSendRateLimit.into(),
                other => other,
            })
    }

    /// Claims the send slot of `mail` to `address` (one per [`AuthConfig::smtp_max_frequency`]),
    /// whether or not the address has an account: the time it was claimed at.
    async fn claim_send(&self, address: &str, purpose: &str) -> Result<Option<i64>, AuthError> {
        let gap = self.inner.config.smtp_max_frequency.as_secs() as i64;
        if gap == 0 {
            return Ok(None);
        }
        let now = crate::now();
        if self
            .store()
            .claim_send(&sha256_b64(address), purpose, now, now - gap)
            .await?
        {
            Ok(Some(now))
        } else {
            Err(ErrorCode::OverEmailSendRateLimit.with_message(format!(
                "For security purposes, you can only request this after {gap} seconds."
            )))
        }
    }

    async fn release_send(&self, address: &str, purpose: &str, claimed: Option<i64>) {
        if let Some(at) = claimed
            && let Err(e) = self
                .store()
                .release_send(&sha256_b64(address), purpose, at)
                .await
        {
            tracing::warn!(target: "routekit::auth", error = %e, "could not release a mail slot");
        }
    }

    /// Mails `user` a fresh link and code for `mail`, voiding the previous ones. If the mail
    /// cannot be sent, nothing of it stays: no token, no claimed slot.
    pub(crate) async fn send_mail(
        &self,
        user: &User,
        mail: Mail,
        options: &MailOptions,
    ) -> Result<(), AuthError> {
        self.send_mail_to(user, &user.email, mail, mail.purpose(), options)
            .await
    }

    /// [`AuthService::send_mail`] to address `to` with a token of `purpose` (an e-mail
    /// change mails two addresses).
    async fn send_mail_to(
        &self,
        user: &User,
        to: &str,
        mail: Mail,
        purpose: &str,
        options: &MailOptions,
    ) -> Result<(), AuthError> {
        let claimed = self.claim_send(to, purpose).await?;
        let started = Instant::now();
        let sent = self.write_and_send(user, to, mail, purpose, options).await;
        self.inner
            .send_timing
            .record(started.elapsed(), sent.is_ok());
        if sent.is_err() {
            self.release_send(to, purpose, claimed).await;
        }
        sent
    }

    async fn write_and_send(
        &self,
        user: &User,
        to: &str,
        mail: Mail,
        purpose: &str,
        options: &MailOptions,
    ) -> Result<(), AuthError> {
        let id = uuid::Uuid::new_v4().to_string();
        let link = URL_SAFE_NO_PAD.encode(crate::random_bytes::<32>()?);
        let code = random_code()?;
        let pkce = options
            .pkce
            .as_ref()
            .map(|p| (p.challenge.as_str(), p.method.as_str()));
        self.store()
            .put_token(&NewToken {
                id: &id,
                user_id: &user.id,
                purpose,
                link_hash: &sha256_b64(&link),
                code_hash: &code_hash(&id, &code),
                address: to,
                pkce,
                now: crate::now(),
            })
            .await?;
        let redirect_to = self.redirect_target(options.redirect_to.as_deref());
        let confirmation_url = format!(
            "{}/verify?token={link}&type={}&redirect_to={}",
            self.inner.issuer,
            mail.link_type(),
            url::form_urlencoded::byte_serialize(redirect_to.as_bytes()).collect::<String>()
        );
        let vars = [
            ("ConfirmationURL", confirmation_url.as_str()),
            ("Token", code.as_str()),
            ("TokenHash", link.as_str()),
            ("SiteURL", self.inner.config.site_url.as_str()),
            ("Email", user.email.as_str()),
            ("NewEmail", user.email_change.as_deref().unwrap_or_default()),
            ("RedirectTo", redirect_to.as_str()),
        ];
        let sent = self.inner.mailer.send(self.store(), mail, to, &vars).await;
        if let Err(error) = sent {
            // The address is the user's; the error names no credential.
            tracing::warn!(target: "routekit::auth", %error, mail = mail.name(), "mail not sent");
            if let Err(e) = self.store().delete_token(&id).await {
                tracing::warn!(target: "routekit::auth", error = %e, "could not void an unsent token");
            }
            return Err(ErrorCode::EmailSendFailed.with_message(mail.failure()));
        }
        Ok(())
    }

    /// Answers a request about an address with no account (or a banned one) as a send would:
    /// the same slot claimed, about the same wait, and the same failure while sends fail.
    async fn decoy_send(&self, address: &str, mail: Mail) -> Result<(), AuthError> {
        let claimed = self.claim_send(address, mail.purpose()).await?;
        tokio::time::sleep(self.inner.send_timing.typical()).await;
        if self.inner.send_timing.failing.load(Ordering::Relaxed) {
            self.release_send(address, mail.purpose(), claimed).await;
            return Err(ErrorCode::EmailSendFailed.with_message(mail.failure()));
        }
        Ok(())
    }

    /// Sign-up with confirmation on: creates the user unconfirmed and mails the confirmation,
    /// or, when the address has an account, answers alike (GoTrue's obfuscated user) and
    /// mails only an unconfirmed owner. Nothing is left if the mail cannot be sent.
    pub(crate) async fn sign_up_unconfirmed(
        &self,
        email: &str,
        password_hash: Option<&str>,
        user_metadata: &str,
        options: &MailOptions,
    ) -> Result<User, AuthError> {
        let now = crate::now();
        let inserted = self
            .insert_email_user(email, password_hash, user_metadata, None, None, now)
            .await;
        match inserted {
            Ok(id) => {
                let user = self.existing_user(&id).await?;
                if let Err(e) = self.send_mail(&user, Mail::Confirmation, options).await {
                    self.store().delete_user(&id).await?;
                    return Err(e);
                }
                Ok(user)
            }
            Err(e) if crate::error::is_conflict(&e) => {
                let existing = self.store().user_by_email(email).await?;
                match existing {
                    Some(user) if user.email_confirmed_at.is_none() && !user.is_banned(now) => {
                        self.send_mail(&user, Mail::Confirmation, options).await?;
                    }
                    _ => self.decoy_send(email, Mail::Confirmation).await?,
                }
                Ok(obfuscated_user(email, user_metadata, now))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /recover` (`resetPasswordForEmail`): mails a recovery link and code. The answer
    /// is the same whether or not the address has an account.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
    /// use routekit_auth::{Client, MailOptions};
    /// auth.recover(&Client::unknown(), "ann@example.com", &MailOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn recover(
        &self,
        client: &Client,
        email: &str,
        options: &MailOptions,
    ) -> Result<(), AuthError> {
        let (email, user) = self.mail_request(client, email).await?;
        match user {
            Some(user) if !user.is_banned(crate::now()) => {
                self.send_mail(&user, Mail::Recovery, options).await
            }
            _ => self.decoy_send(&email, Mail::Recovery).await,
        }
    }

    /// `POST /otp` (`signInWithOtp`): mails a magic link and code. An address without an
    /// account gets one when `create_user` is set and sign-ups are on, confirmed by the mail;
    /// an unconfirmed one is sent its confirmation again. Otherwise an unknown address is
    /// answered as a known one is, and mailed nothing.
    pub async fn send_magic_link(
        &self,
        client: &Client,
        email: &str,
        create_user: bool,
        data: Option<Value>,
        options: &MailOptions,
    ) -> Result<(), AuthError> {
        let (email, user) = self.mail_request(client, email).await?;
        let now = crate::now();
        match user {
            Some(user) if user.is_banned(now) => self.decoy_send(&email, Mail::MagicLink).await,
            Some(user) if user.email_confirmed_at.is_none() => {
                self.send_mail(&user, Mail::Confirmation, options).await
            }
            Some(user) => self.send_mail(&user, Mail::MagicLink, options).await,
            // With sign-ups off, as without `create_user`: GoTrue's 422 here would tell which
            // addresses have accounts.
            None if !create_user || self.inner.config.disable_signup => {
                self.decoy_send(&email, Mail::MagicLink).await
            }
            None => {
                self.limit_ip(Bucket::Signup, client)?;
                let user_metadata = Value::Object(metadata(data)?.unwrap_or_default()).to_string();
                if !self.inner.config.autoconfirm {
                    self.sign_up_unconfirmed(&email, None, &user_metadata, options)
                        .await?;
                    return Ok(());
                }
                let inserted = self
                    .insert_email_user(&email, None, &user_metadata, Some(now), None, now)
                    .await;
                let id = match inserted {
                    Ok(id) => id,
                    // Created meanwhile by a racing request: it mails them.
                    Err(e) if crate::error::is_conflict(&e) => {
                        return self.decoy_send(&email, Mail::MagicLink).await;
                    }
                    Err(e) => return Err(e.into()),
                };
                let user = self.existing_user(&id).await?;
                if let Err(e) = self.send_mail(&user, Mail::MagicLink, options).await {
                    self.store().delete_user(&id).await?;
                    return Err(e);
                }
                Ok(())
            }
        }
    }

    /// `POST /resend`: mails an unconfirmed user their confirmation again
    /// ([`Resend::Signup`]), or the account at `email` its pending change of address
    /// ([`Resend::EmailChange`]). Any other address is answered alike.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
    /// use routekit_auth::{Client, MailOptions, Resend};
    /// auth.resend(&Client::unknown(), Resend::Signup, "ann@example.com", &MailOptions::default())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn resend(
        &self,
        client: &Client,
        kind: Resend,
        email: &str,
        options: &MailOptions,
    ) -> Result<(), AuthError> {
        let (email, user) = self.mail_request(client, email).await?;
        let user = user.filter(|u| !u.is_banned(crate::now()));
        match (kind, user) {
            (Resend::Signup, Some(user)) if user.email_confirmed_at.is_none() => {
                self.send_mail(&user, Mail::Confirmation, options).await
            }
            (Resend::EmailChange, Some(user)) if user.email_change.is_some() => {
                self.mail_email_change(&user, options).await
            }
            (Resend::Signup, _) => self.decoy_send(&email, Mail::Confirmation).await,
            (Resend::EmailChange, _) => self.decoy_send(&email, Mail::EmailChange).await,
        }
    }

    /// What every request for a mail starts with: the client's allowance and captcha, then
    /// the address, normalised, and its user if it has one.
    async fn mail_request(
        &self,
        client: &Client,
        email: &str,
    ) -> Result<(String, Option<User>), AuthError> {
        self.limit_mail(client)?;
        self.check_captcha(client).await?;
        let email = normalise_email(email)?;
        let user = self.store().user_by_email(&email).await?;
        Ok((email, user))
    }

    /// Follows a mailed link (`token_hash`, the link's `token`): it works once, within
    /// [`AuthConfig::mailer_otp_exp`](crate::AuthConfig), for its own type only. With
    /// `pkce` and a link mailed to a PKCE client, the answer is an auth code; otherwise a
    /// session. Either way the address is confirmed.
    pub async fn verify_link(
        &self,
        client: &Client,
        kind: VerifyType,
        token_hash: &str,
        pkce: bool,
    ) -> Result<Verified, AuthError> {
        self.limit_ip(Bucket::EmailVerify, client)?;
        let row = self
            .store()
            .take_token_by_link(&sha256_b64(token_hash), kind.purposes())
            .await?
            .ok_or(ErrorCode::LinkExpired)?;
        if self.expired(&row) {
            return Err(ErrorCode::LinkExpired.into());
        }
        self.finish_verify(kind, &row, pkce).await
    }

    /// Checks a mailed six-digit code for `email` (`verifyOtp({ email, token, type })`): a
    /// session (or, for one half of a secure e-mail change, [`Verified::Pending`]). Five
    /// wrong codes void the code; codes are also limited per client address.
    pub async fn verify_code(
        &self,
        client: &Client,
        kind: VerifyType,
        email: &str,
        code: &str,
    ) -> Result<Verified, AuthError> {
        self.limit_ip(Bucket::EmailVerify, client)?;
        let email = normalise_email(email).map_err(|_| ErrorCode::InvalidEmailFormat)?;
        let mut user = self.store().user_by_email(&email).await?;
        if user.is_none() && kind == VerifyType::EmailChange {
            user = self.store().user_by_email_change(&email).await?;
        }
        let user = user.ok_or(ErrorCode::OtpExpired)?;
        let row = self
            .take_code(&user.id, kind.purposes(), code)
            .await?
            .ok_or(ErrorCode::OtpExpired)?;
        self.finish_verify(kind, &row, false).await
    }

    /// The user's unexpired token of `purposes` whose code is `code`, taken (deleted) so it
    /// works once; or `None`, after counting a wrong code against each (five void one).
    async fn take_code(
        &self,
        user_id: &str,
        purposes: &[&str],
        code: &str,
    ) -> Result<Option<TokenRow>, AuthError> {
        let rows: Vec<TokenRow> = self
            .store()
            .tokens_of(user_id, purposes)
            .await?
            .into_iter()
            .filter(|row| !self.expired(row))
            .collect();
        let code = code.trim();
        let matched = rows.iter().find(|row| {
            code.len() == 6
                && code_hash(&row.id, code)
                    .as_bytes()
                    .ct_eq(row.code_hash.as_bytes())
                    .into()
        });
        match matched {
            Some(row) if self.store().delete_token(&row.id).await? => Ok(Some(row.clone())),
            Some(_) => Ok(None),
            None => {
                for row in &rows {
                    self.store().fail_token(&row.id, MAX_CODE_ATTEMPTS).await?;
                }
                Ok(None)
            }
        }
    }

    /// What a used token of `kind` yields: an e-mail change applied (or pending the other
    /// address), then an auth code for a PKCE link followed with `pkce`, else a session.
    async fn finish_verify(
        &self,
        kind: VerifyType,
        row: &TokenRow,
        pkce: bool,
    ) -> Result<Verified, AuthError> {
        let mut user = self.verified_user(row).await?;
        if kind == VerifyType::EmailChange {
            let waiting = self
                .store()
                .tokens_of(&user.id, &[EMAIL_CHANGE_CURRENT, EMAIL_CHANGE_NEW])
                .await?
                .into_iter()
                .any(|other| !self.expired(&other));
            if waiting {
                return Ok(Verified::Pending);
            }
            let applied = self
                .store()
                .apply_email_change(&user.id, crate::now())
                .await;
            if !unless_conflict(applied, || ErrorCode::EmailExists.into())? {
                return Err(ErrorCode::LinkExpired.into());
            }
            self.revoked();
            user = self.existing_user(&user.id).await?;
        }
        match (&row.code_challenge, &row.code_challenge_method) {
            (Some(challenge), Some(method)) if pkce => {
                let code = URL_SAFE_NO_PAD.encode(crate::random_bytes::<32>()?);
                let method_name = kind.auth_method(&row.purpose);
                self.store()
                    .put_flow_state(
                        &user.id,
                        method_name.as_str(),
                        &sha256_b64(&code),
                        (challenge, method),
                        crate::now(),
                    )
                    .await?;
                Ok(Verified::AuthCode(code))
            }
            _ => Ok(Verified::Session(Box::new(
                self.session_after_mail(user).await?,
            ))),
        }
    }

    /// `GET /reauthenticate`: mails the token's user a code, the `nonce` a new password then
    /// needs when [`AuthConfig::secure_password_change`](crate::AuthConfig) asks for one.
    pub async fn reauthenticate(&self, client: &Client, claims: &Claims) -> Result<(), AuthError> {
        let user = self.live_user(claims).await?;
        if user.email_confirmed_at.is_none() {
            return Err(ErrorCode::ReauthenticationUnconfirmed.into());
        }
        self.limit_mail(client)?;
        self.send_mail(&user, Mail::Reauthentication, &MailOptions::default())
            .await
    }

    /// Checks and uses up the reauthentication `nonce` of `user`, or 422
    /// `reauthentication_not_valid` (five wrong ones void it).
    pub(crate) async fn use_nonce(&self, user: &User, nonce: &str) -> Result<(), AuthError> {
        match self
            .take_code(&user.id, &[Mail::Reauthentication.purpose()], nonce)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(ErrorCode::ReauthenticationNotValid.into()),
        }
    }

    /// Mails the links and codes of `user`'s pending change of address: to the new address,
    /// and with secure e-mail change to the current one.
    async fn mail_email_change(&self, user: &User, options: &MailOptions) -> Result<(), AuthError> {
        let new_email = user
            .email_change
            .as_deref()
            .ok_or_else(|| AuthError::internal("no pending e-mail change"))?;
        self.send_mail_to(
            user,
            new_email,
            Mail::EmailChange,
            EMAIL_CHANGE_NEW,
            options,
        )
        .await?;
        if self.inner.config.secure_email_change {
            self.send_mail_to(
                user,
                &user.email,
                Mail::EmailChange,
                EMAIL_CHANGE_CURRENT,
                options,
            )
            .await?;
        }
        Ok(())
    }

    /// Starts a change of `user`'s address to `new_email` (already normalised): mails the
    /// new address, and with secure e-mail change the current one too; the address changes
    /// when every mailed link or code has been used. Nothing stays if a mail fails.
    pub(crate) async fn start_email_change(
        &self,
        user: &User,
        new_email: &str,
        options: &MailOptions,
    ) -> Result<(), AuthError> {
        if self.store().user_by_email(new_email).await?.is_some() {
            return Err(ErrorCode::EmailExists.into());
        }
        self.limit_mail_for_user(user)?;
        let now = crate::now();
        self.store()
            .set_email_change(&user.id, Some(new_email), now)
            .await?;
        let pending = self.existing_user(&user.id).await?;
        let sent = self.mail_email_change(&pending, options).await;
        if let Err(e) = sent {
            self.store().set_email_change(&user.id, None, now).await?;
            return Err(e);
        }
        Ok(())
    }

    /// `POST /token?grant_type=pkce`: exchanges an auth code from a followed link, once and
    /// within five minutes, for a session, given the verifier of the challenge the mail was
    /// asked with.
    pub async fn exchange_auth_code(
        &self,
        client: &Client,
        auth_code: &str,
        code_verifier: &str,
    ) -> Result<TokenResponse, AuthError> {
        self.limit_ip(Bucket::Token, client)?;
        if auth_code.is_empty() || code_verifier.is_empty() {
            return Err(AuthError::validation(
                "invalid request: both auth code and code verifier should be non-empty",
            ));
        }
        let hash = sha256_b64(auth_code);
        let flow = self
            .store()
            .flow_state(&hash)
            .await?
            .ok_or(ErrorCode::FlowStateNotFound)?;
        if flow.created_at + AUTH_CODE_TTL < crate::now() {
            self.store().take_flow_state(&hash).await?;
            return Err(ErrorCode::FlowStateExpired.into());
        }
        if !Pkce::answers(
            &flow.code_challenge,
            &flow.code_challenge_method,
            code_verifier,
        ) {
            return Err(ErrorCode::BadCodeVerifier.into());
        }
        if !self.store().take_flow_state(&hash).await? {
            return Err(ErrorCode::FlowStateNotFound.into());
        }
        let user = self
            .user(&flow.user_id)
            .await?
            .ok_or(ErrorCode::FlowStateNotFound)?;
        if user.is_banned(crate::now()) {
            return Err(ErrorCode::UserBanned.into());
        }
        let now = crate::now();
        self.store().record_sign_in(&user.id, now).await?;
        let user = self.existing_user(&user.id).await?;
        self.create_session(user, AuthMethod::from_name(&flow.auth_method), now)
            .await
    }

    fn expired(&self, row: &TokenRow) -> bool {
        row.created_at + self.inner.config.mailer_otp_exp.as_secs() as i64 <= crate::now()
    }

    /// The user of a used token, now confirmed (following the mail proves the address), or
    /// 403 `user_banned`.
    async fn verified_user(&self, row: &TokenRow) -> Result<User, AuthError> {
        let user = self
            .user(&row.user_id)
            .await?
            .ok_or(ErrorCode::LinkExpired)?;
        if user.is_banned(crate::now()) {
            return Err(ErrorCode::TokenUserBanned.into());
        }
        if user.email_confirmed_at.is_none() {
            self.store()
                .update_user(
                    &user.id,
                    &UserChanges {
                        confirm_email: true,
                        now: crate::now(),
                        ..UserChanges::default()
                    },
                )
                .await?;
        }
        Ok(user)
    }

    /// A session for a user who followed a mail (GoTrue's `otp` method).
    async fn session_after_mail(&self, user: User) -> Result<TokenResponse, AuthError> {
        let now = crate::now();
        self.store().record_sign_in(&user.id, now).await?;
        let user = self.existing_user(&user.id).await?;
        self.create_session(user, AuthMethod::Otp, now).await
    }
}

/// What a sign-up for an address with an account answers: a user like a new one (GoTrue's
/// sanitized user, with an identity, so `identities.length` tells nothing), under a random
/// id that is nobody's.
fn obfuscated_user(email: &str, user_metadata: &str, now: i64) -> User {
    User {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.to_owned(),
        password_hash: None,
        role: "authenticated".to_owned(),
        aud: "authenticated".to_owned(),
        app_metadata: default_app_metadata().to_string(),
        user_metadata: user_metadata.to_owned(),
        email_confirmed_at: None,
        last_sign_in_at: None,
        banned_until: None,
        created_at: now,
        updated_at: now,
        email_change: None,
    }
}

/// The JSON of a user awaiting confirmation, with `confirmation_sent_at` as GoTrue shows it.
pub(crate) fn unconfirmed_json(user: &User) -> Value {
    let mut body = user.to_json(&[]);
    body["confirmation_sent_at"] = crate::user::rfc3339(user.updated_at);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_within_segments_or_across() {
        let m = |p: &str, t: &str| glob(p.as_bytes(), t.as_bytes());
        assert!(m(
            "https://*.example.com/**",
            "https://preview.example.com/a/b?c=d"
        ));
        assert!(!m(
            "https://*.example.com/**",
            "https://evil.com/.example.com/x"
        ));
        assert!(!m("https://*.example.com", "https://a.b.example.com"));
        assert!(m(
            "http://localhost:3000/*",
            "http://localhost:3000/welcome"
        ));
        assert!(!m("http://localhost:3000/*", "http://localhost:3000/a/b"));
    }

    #[test]
    fn codes_are_six_digits_and_verifiers_checked_both_ways() {
        for _ in 0..100 {
            let code = random_code().unwrap();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(Pkce::answers(challenge, "s256", verifier));
        assert!(!Pkce::answers(
            challenge,
            "s256",
            "another verifier of enough length 0000000"
        ));
        assert!(Pkce::answers(verifier, "plain", verifier));
        assert!(!Pkce::answers(challenge, "plain", verifier));
        assert!(Pkce::from_request(Some(challenge), None).is_err());
        assert!(Pkce::from_request(None, None).unwrap().is_none());
    }
}
