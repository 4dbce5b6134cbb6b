//! Accounts: sign-up and changes to a user (`PUT /user`).

use serde_json::{Value, json};

use super::AuthService;
use super::email::MailOptions;
use super::tokens::TokenResponse;
use crate::client::Client;
use crate::error::{AuthError, ErrorCode, unless_conflict};
use crate::jws::{Aal, AuthMethod, Claims};
use crate::password;
use crate::ratelimit::{Bucket, Key};
use crate::store::{NewUser, UserChanges};
use crate::user::User;

/// What sign-up produced: a session (auto-confirm) or an unconfirmed user.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SignUp {
    /// Auto-confirm is on: the user is signed in.
    Session(Box<TokenResponse>),
    /// Confirmation is required: no session yet.
    User(Box<User>),
}

/// Changes to a user (`PUT /user`); `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UserUpdate {
    /// A new e-mail address.
    pub email: Option<String>,
    /// A new password.
    pub password: Option<String>,
    /// Keys merged into `user_metadata`.
    pub data: Option<Value>,
    /// The code `GET /reauthenticate` mailed, when a new password needs one (see
    /// [`AuthConfig::secure_password_change`](crate::AuthConfig::secure_password_change)).
    pub nonce: Option<String>,
    /// Where the confirmation mails of a new address lead, and the PKCE challenge.
    pub mail_options: MailOptions,
}

impl UserUpdate {
    /// Only `user_metadata` changes.
    ///
    /// ```
    /// let update = routekit_auth::UserUpdate::data(serde_json::json!({ "name": "Ann" }));
    /// assert!(update.password.is_none());
    /// ```
    pub fn data(data: Value) -> Self {
        UserUpdate {
            data: Some(data),
            ..Self::default()
        }
    }

    /// Only the password changes.
    ///
    /// ```
    /// let update = routekit_auth::UserUpdate::password("a new long passphrase");
    /// assert!(update.data.is_none());
    /// ```
    pub fn password(password: impl Into<String>) -> Self {
        UserUpdate {
            password: Some(password.into()),
            ..Self::default()
        }
    }
}

/// An e-mail address, lowercased and trimmed, or 400 `email_address_invalid`: a dot-atom
/// local part (RFC 5322's characters, or any non-ASCII one) at a domain of labels, so that
/// every address accepted can be mailed.
pub(crate) fn normalise_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let atom = |part: &str, extra: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && !part.ends_with('.')
            && !part.contains("..")
            && part
                .chars()
                .all(|c| c.is_alphanumeric() || !c.is_ascii() || extra.contains(c) || c == '.')
    };
    let valid = email.len() <= 255
        && email.split_once('@').is_some_and(|(local, domain)| {
            atom(local, "!#$%&'*+/=?^_`{|}~-") && atom(domain, "-") && domain.contains('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(ErrorCode::EmailAddressInvalid.into())
    }
}

/// A new user's `app_metadata`, as GoTrue writes it for an e-mail account.
pub(crate) fn default_app_metadata() -> Value {
    json!({"provider": "email", "providers": ["email"]})
}

/// `user_metadata` from a sign-up's or update's `data`: an object, or nothing.
pub(crate) fn metadata(
    data: Option<Value>,
) -> Result<Option<serde_json::Map<String, Value>>, AuthError> {
    match data {
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(Value::Null) | None => Ok(None),
        Some(_) => Err(AuthError::validation("data must be an object")),
    }
}

impl AuthService {
    /// Creates an account. With auto-confirm on (the default) the user is signed in.
    /// Sign-ups are rate-limited per client address (GoTrue's 30 per 5 minutes).
    pub async fn sign_up(
        &self,
        client: &Client,
        email: &str,
        password: &str,
        data: Option<Value>,
    ) -> Result<SignUp, AuthError> {
        self.sign_up_with(client, email, password, data, &MailOptions::default())
            .await
    }

    /// [`AuthService::sign_up`], with where the confirmation mail's link leads and the PKCE
    /// challenge, when confirmation is on. Then no session is made: the user is created
    /// unconfirmed and mailed a link and code. A sign-up for an address that has an account
    /// answers like a new one (another id, no session) and mails nobody but an unconfirmed
    /// owner, so the answer never tells who has an account.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
    /// use routekit_auth::{Client, MailOptions, SignUp};
    /// let options = MailOptions::redirect_to("http://127.0.0.1:3000/welcome");
    /// match auth
    ///     .sign_up_with(&Client::unknown(), "ann@example.com", "a long passphrase", None, &options)
    ///     .await?
    /// {
    ///     SignUp::Session(_) => println!("signed in (auto-confirm)"),
    ///     SignUp::User(_) => println!("check your mail"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sign_up_with(
        &self,
        client: &Client,
        email: &str,
        password: &str,
        data: Option<Value>,
        options: &MailOptions,
    ) -> Result<SignUp, AuthError> {
        self.limit_ip(Bucket::Signup, client)?;
        self.check_captcha(client).await?;
        let config = &self.inner.config;
        if config.disable_signup {
            return Err(ErrorCode::SignupDisabled.into());
        }
        let email = normalise_email(email)?;
        if password.is_empty() {
            return Err(AuthError::validation("Signup requires a valid password"));
        }
        let password = self.checked_password(password)?;
        let user_metadata = Value::Object(metadata(data)?.unwrap_or_default()).to_string();
        let hash = self.inner.hasher.hash(password).await?;
        if !config.autoconfirm {
            self.limit_mail(client)?;
            let user = self
                .sign_up_unconfirmed(&email, Some(&hash), &user_metadata, options)
                .await?;
            return Ok(SignUp::User(Box::new(user)));
        }
        let now = crate::now();
        let inserted = self
            .insert_email_user(
                &email,
                Some(&hash),
                &user_metadata,
                Some(now),
                Some(now),
                now,
            )
            .await;
        let id = unless_conflict(inserted, || ErrorCode::UserAlreadyExists.into())?;
        let user = self.existing_user(&id).await?;
        let session = self.create_session(user, AuthMethod::Password, now).await?;
        Ok(SignUp::Session(Box::new(session)))
    }

    /// Inserts an e-mail account (GoTrue's `app_metadata`, no ban) under a new id: the id, or
    /// the store's error (a unique violation means the address has an account). Sign-up with
    /// and without confirmation and `/otp` create users through this.
    pub(crate) async fn insert_email_user(
        &self,
        email: &str,
        password_hash: Option<&str>,
        user_metadata: &str,
        confirmed_at: Option<i64>,
        signed_in_at: Option<i64>,
        now: i64,
    ) -> Result<String, sqlx::Error> {
        let id = uuid::Uuid::new_v4().to_string();
        self.store()
            .insert_user(&NewUser {
                id: &id,
                email,
                password_hash,
                app_metadata: &default_app_metadata().to_string(),
                user_metadata,
                confirmed_at,
                signed_in_at,
                banned_until: None,
                now,
            })
            .await?;
        Ok(id)
    }

    /// A new password, normalised, once it passes the length and strength rules (sign-up's,
    /// and an operator's).
    pub(crate) fn checked_password(&self, password: &str) -> Result<String, AuthError> {
        password::check_length(password)?;
        let password = password::normalise(password);
        password::check_strength(&password, self.inner.config.password_min_length)?;
        Ok(password)
    }

    /// Updates the token's user. Changing the password or e-mail of a user with a verified
    /// factor needs an `aal2` session (401 `insufficient_aal`); a new password ends the user's
    /// other sessions. Updates are rate-limited per client address and per user.
    pub async fn update_user(
        &self,
        client: &Client,
        claims: &Claims,
        update: UserUpdate,
    ) -> Result<User, AuthError> {
        self.limit_ip(Bucket::User, client)?;
        self.limit(Bucket::User, Key::User(claims.sub.clone()))?;
        if let Some(password) = &update.password {
            password::check_length(password)?;
        }
        let store = self.store();
        let user = store
            .user_by_id(&claims.sub)
            .await?
            .ok_or(ErrorCode::TokenUserNotFound)?;
        let sensitive = update.password.is_some() || update.email.is_some();
        if sensitive && claims.aal < Aal::Aal2 && store.has_verified_factor(&user.id).await? {
            return Err(ErrorCode::InsufficientAal.into());
        }
        let now = crate::now();
        let config = &self.inner.config;
        // A session older than the window needs the mailed nonce; a nonce that is sent is
        // checked whatever the session's age, so a wrong one never passes unnoticed.
        let nonce = update.nonce.as_deref().filter(|n| !n.is_empty());
        if let (Some(_), Some(fresh)) = (&update.password, config.secure_password_change) {
            let signed_in = store
                .session_created_at(&claims.session_id)
                .await?
                .unwrap_or(0);
            match nonce {
                Some(nonce) => self.use_nonce(&user, nonce).await?,
                None if signed_in + fresh.as_secs() as i64 <= now => {
                    return Err(ErrorCode::ReauthenticationNeeded.into());
                }
                None => {}
            }
        }
        // With confirmation on, a new address is only asked for here, and mailed: it becomes
        // the user's once confirmed (see `start_email_change`).
        let (email, new_email) = match update.email {
            Some(email) => {
                let email = normalise_email(&email)?;
                if email == user.email {
                    (None, None)
                } else if config.autoconfirm {
                    (Some(email), None)
                } else {
                    (None, Some(email))
                }
            }
            None => (None, None),
        };
        let user_metadata = metadata(update.data)?.map(|changes| {
            let mut metadata = user.user_metadata();
            if let Value::Object(map) = &mut metadata {
                map.extend(changes);
            }
            metadata.to_string()
        });
        let password_hash = match update.password {
            Some(password) => {
                let password = password::normalise(&password);
                let same = match user.password_hash.clone() {
                    Some(hash) => self.inner.hasher.verify(password.clone(), hash).await?,
                    None => false,
                };
                if same {
                    return Err(ErrorCode::SamePassword.into());
                }
                password::check_strength(&password, self.inner.config.password_min_length)?;
                Some(self.inner.hasher.hash(password).await?)
            }
            None => None,
        };
        if let Some(new_email) = &new_email {
            self.start_email_change(&user, new_email, &update.mail_options)
                .await?;
        }
        // Whoever knew the old password is signed out everywhere else.
        let changed = store
            .update_user(
                &user.id,
                &UserChanges {
                    email: email.as_deref(),
                    password_hash: password_hash.as_deref(),
                    user_metadata: user_metadata.as_deref(),
                    keep_session: Some(&claims.session_id),
                    now,
                    ..UserChanges::default()
                },
            )
            .await;
        unless_conflict(changed, || ErrorCode::EmailExists.into())?;
        if password_hash.is_some() {
            self.revoked();
        }
        self.existing_user(&user.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for good in [
            "o'neil&co+tag@example.com",
            "jürgen@bücher.de",
            "a.b-c@x-y.example",
        ] {
            assert_eq!(normalise_email(good).unwrap(), good);
        }
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@example",
            "ann@.com",
            "an n@example.com",
            "a<b>@example.com",
            "\"quoted\"@example.com",
            "ann@exa_mple.com",
            "ann..b@example.com",
            "ann@example..com",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
