//! The operator's API: GoTrue's `/admin` user operations and the service-role keys that
//! authorise them. The HTTP layer and the coming `routekit auth` command both call these.

use std::time::Duration;

use serde_json::{Map, Value};

use super::AuthService;
use super::accounts::{default_app_metadata, metadata, normalise_email};
use crate::error::{AuthError, ErrorCode, unless_conflict};
use crate::jws::{JwtError, SERVICE_ROLE, ServiceClaims};
use crate::store::{NewUser, Sessions, UserChanges};
use crate::user::User;

/// Users listed per page when the request does not say (GoTrue's default).
pub const DEFAULT_PER_PAGE: u64 = 50;
/// The most users one page may list, so that one request cannot load the whole table.
pub const MAX_PER_PAGE: u64 = 1000;

/// A ban, as the admin API's `ban_duration` spells it: a Go duration (`"24h"`, `"1h30m"`,
/// `"90s"`) or `"none"` to lift one.
///
/// ```
/// use routekit_auth::Ban;
/// use std::time::Duration;
///
/// assert_eq!(Ban::parse("1h30m").unwrap(), Ban::For(Duration::from_secs(5400)));
/// assert_eq!(Ban::parse("none").unwrap(), Ban::Lift);
/// assert!(Ban::parse("forever").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ban {
    /// Banned from now for this long: no sign-in, no refresh, and live sessions stop.
    For(Duration),
    /// Not banned any more.
    Lift,
}

impl Ban {
    /// Reads GoTrue's `ban_duration`: `"none"`, or a sequence of decimal numbers each with a
    /// unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`); else 400 `validation_failed`.
    pub fn parse(text: &str) -> Result<Ban, AuthError> {
        let invalid = || {
            AuthError::validation(format!(
                "invalid format for ban duration: time: invalid duration \"{}\"",
                text.escape_debug()
            ))
        };
        if text == "none" {
            return Ok(Ban::Lift);
        }
        let mut rest = text.strip_prefix('+').unwrap_or(text);
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total = 0f64;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
            rest = &rest[number_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let seconds = match &rest[..unit_len] {
                "ns" => 1e-9,
                "us" | "µs" | "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(invalid()),
            };
            rest = &rest[unit_len..];
            total += number * seconds;
        }
        // Go's durations end at about 292 years.
        if !total.is_finite() || total > 9.2e9 {
            return Err(invalid());
        }
        Ok(Ban::For(Duration::from_secs_f64(total)))
    }

    /// `banned_until` for a ban starting at `now`: `None` when lifted (or of no length).
    fn until(self, now: i64) -> Option<i64> {
        match self {
            Ban::For(d) if !d.is_zero() => Some(now.saturating_add(d.as_secs().max(1) as i64)),
            _ => None,
        }
    }
}

/// A user an operator creates (`POST /admin/users`, `auth.admin.createUser`).
///
/// ```
/// use routekit_auth::NewAccount;
///
/// let account = NewAccount::new("ann@example.com")
///     .password("a long passphrase")
///     .email_confirm(true)
///     .app_metadata(serde_json::json!({ "role": "super-admin" }));
/// assert!(account.email_confirm);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NewAccount {
    /// The e-mail address.
    pub email: String,
    /// A password; without one, no password signs the user in (until an operator or a
    /// recovery sets one).
    pub password: Option<String>,
    /// Whether the address counts as confirmed at once.
    pub email_confirm: bool,
    /// `user_metadata`: an object.
    pub user_metadata: Option<Value>,
    /// Keys merged into the default `app_metadata` (`provider`, `providers`); `null` removes
    /// a key.
    pub app_metadata: Option<Value>,
    /// A ban from the start.
    pub ban: Option<Ban>,
    /// The user's id, when the operator chooses it (a UUID).
    pub id: Option<String>,
}

impl NewAccount {
    /// An account for `email`, unconfirmed, without a password.
    pub fn new(email: impl Into<String>) -> Self {
        NewAccount {
            email: email.into(),
            ..Self::default()
        }
    }

    /// With this password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// With the address confirmed (or not).
    pub fn email_confirm(mut self, confirmed: bool) -> Self {
        self.email_confirm = confirmed;
        self
    }

    /// With these keys in `app_metadata`.
    pub fn app_metadata(mut self, metadata: Value) -> Self {
        self.app_metadata = Some(metadata);
        self
    }

    /// With this `user_metadata`.
    pub fn user_metadata(mut self, metadata: Value) -> Self {
        self.user_metadata = Some(metadata);
        self
    }
}

/// An operator's changes to a user (`PUT /admin/users/{id}`, `auth.admin.updateUserById`);
/// `None` leaves a field alone.
///
/// ```
/// use routekit_auth::{AccountUpdate, Ban};
///
/// let ban = AccountUpdate::default().ban(Ban::parse("24h").unwrap());
/// let role = AccountUpdate::role(Some("super-admin"));
/// assert_eq!(role.app_metadata.unwrap()["role"], "super-admin");
/// # let _ = ban;
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AccountUpdate {
    /// A new address (taken as it is: no confirmation mail).
    pub email: Option<String>,
    /// Marks the address confirmed.
    pub email_confirm: bool,
    /// A new password: every session of the user ends.
    pub password: Option<String>,
    /// Keys merged into `user_metadata`; `null` removes a key.
    pub user_metadata: Option<Value>,
    /// Keys merged into `app_metadata`; `null` removes a key.
    pub app_metadata: Option<Value>,
    /// A ban, or lifting one.
    pub ban: Option<Ban>,
}

impl AccountUpdate {
    /// Sets (or, with `None`, removes) `app_metadata.role`, the role that
    /// `Auth::Role` routes check.
    pub fn role(role: Option<&str>) -> Self {
        let mut changes = Map::new();
        changes.insert(
            "role".to_owned(),
            role.map_or(Value::Null, |r| Value::String(r.to_owned())),
        );
        AccountUpdate {
            app_metadata: Some(Value::Object(changes)),
            ..Self::default()
        }
    }

    /// With this ban.
    pub fn ban(mut self, ban: Ban) -> Self {
        self.ban = Some(ban);
        self
    }

    /// With this new password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }
}

/// One page of users, newest first, as `auth.admin.listUsers` reads it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UsersPage {
    /// The users of this page.
    pub users: Vec<User>,
    /// The page (from 1).
    pub page: u64,
    /// Users per page.
    pub per_page: u64,
    /// Users in all.
    pub total: u64,
}

impl UsersPage {
    /// The number of the last page (at least 1).
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
    /// let mut page = auth.admin().list_users(1, 50).await?;
    /// while let Some(next) = page.next_page() {
    ///     page = auth.admin().list_users(next, 50).await?;
    /// }
    /// assert_eq!(page.page, page.last_page());
    /// # Ok(()) }
    /// ```
    pub fn last_page(&self) -> u64 {
        self.total.div_ceil(self.per_page).max(1)
    }

    /// The next page's number, if there is one.
    pub fn next_page(&self) -> Option<u64> {
        (self.page < self.total.div_ceil(self.per_page)).then_some(self.page + 1)
    }
}

/// Keys of `changes` merged into the object `base`, `null` removing a key (GoTrue's rule
/// for both metadata objects); `changes` must be an object.
fn merge(base: Value, changes: Option<Value>, name: &str) -> Result<Option<Value>, AuthError> {
    let Some(changes) = changes else {
        return Ok(None);
    };
    let changes = match changes {
        Value::Object(map) => map,
        Value::Null => return Ok(None),
        _ => return Err(AuthError::validation(format!("{name} must be an object"))),
    };
    let mut merged = match base {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (key, value) in changes {
        if value.is_null() {
            merged.remove(&key);
        } else {
            merged.insert(key, value);
        }
    }
    Ok(Some(Value::Object(merged)))
}

/// A user id from a path or a request: a UUID, or 404 `validation_failed` (GoTrue's answer).
fn user_id(id: &str) -> Result<String, AuthError> {
    uuid::Uuid::try_parse(id)
        .map(|u| u.to_string())
        .map_err(|_| ErrorCode::InvalidUserId.into())
}

/// The operator's API of an [`AuthService`]: [`AuthService::admin`]. Every operation here is
/// what a service-role key may do over `/auth/v1/admin`; call it only for an operator.
///
/// ```no_run
/// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
/// use routekit_auth::{AccountUpdate, NewAccount};
///
/// let admin = auth.admin();
/// let ann = admin
///     .create_user(NewAccount::new("ann@example.com").password("a long passphrase").email_confirm(true))
///     .await?;
/// admin.update_user(&ann.id, AccountUpdate::role(Some("super-admin"))).await?;
/// let page = admin.list_users(1, 50).await?;
/// assert_eq!(page.total, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    auth: &'a AuthService,
}

impl AuthService {
    /// The operator's API.
    pub fn admin(&self) -> Admin<'_> {
        Admin { auth: self }
    }

    /// Mints a service-role key valid for `ttl`: a JWT with `role: service_role`, signed by
    /// the server's active key, that authorises the admin API (`auth.admin.*` in
    /// supabase-js). It is as powerful as the database: keep it on servers, out of logs and
    /// out of browsers. Rotating the signing key ends it once the retired key leaves the JWKS
    /// (the access-token lifetime later); mint a new one then.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
    /// let key = auth.service_role_key(std::time::Duration::from_secs(3600))?;
    /// auth.verify_service_role_key(&key).await?;
    /// # Ok(()) }
    /// ```
    pub fn service_role_key(&self, ttl: Duration) -> Result<String, AuthError> {
        let now = crate::now();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        self.keys().sign(&ServiceClaims {
            iss: self.inner.issuer.clone(),
            role: SERVICE_ROLE.to_owned(),
            iat: now,
            exp: now.saturating_add(ttl),
            nbf: None,
            session_id: None,
        })
    }

    /// Checks a service-role key: signed by one of the server's keys, unexpired, issued
    /// here, with `role: service_role` and no session. Else 403 `bad_jwt` (a forged,
    /// expired or garbled token) or 403 `not_admin` (a user's access token, an anon key).
    pub async fn verify_service_role_key(&self, token: &str) -> Result<(), AuthError> {
        let issuer = &self.inner.issuer;
        let keys = self.keys();
        let claims = match keys.verify_service(token, issuer, crate::now()) {
            Err(JwtError::UnknownKey) if self.knows_kid_of(token).await => {
                keys.verify_service(token, issuer, crate::now())
            }
            other => other,
        }?;
        if claims.role != SERVICE_ROLE || claims.session_id.is_some() {
            return Err(ErrorCode::NotAdminToken.into());
        }
        Ok(())
    }
}

impl Admin<'_> {
    /// A page of users, newest first: page numbers start at 1 (0 counts as 1), `per_page`
    /// from 1 to [`MAX_PER_PAGE`].
    pub async fn list_users(&self, page: u64, per_page: u64) -> Result<UsersPage, AuthError> {
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(AuthError::validation(format!(
                "Bad Pagination Parameters: per_page must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        let page = page.max(1);
        let offset = (page - 1)
            .checked_mul(per_page)
            .and_then(|o| i64::try_from(o).ok())
            .ok_or_else(|| AuthError::validation("Bad Pagination Parameters: page is too large"))?;
        let (users, total) = self
            .auth
            .store()
            .users_page(offset, per_page as i64)
            .await?;
        Ok(UsersPage {
            users,
            page,
            per_page,
            total: total.max(0) as u64,
        })
    }

    /// The user with this id, or 404 `user_not_found` (404 `validation_failed` for an id
    /// that is not a UUID).
    pub async fn user(&self, id: &str) -> Result<User, AuthError> {
        let id = user_id(id)?;
        self.auth
            .user(&id)
            .await?
            .ok_or_else(|| ErrorCode::AdminUserNotFound.into())
    }

    /// The user with this e-mail address (compared as sign-in compares it: trimmed, case
    /// folded), or 404 `user_not_found`; what an operator types where GoTrue wants an id.
    ///
    /// ```no_run
    /// # async fn f(auth: routekit_auth::AuthService) -> Result<(), routekit_auth::AuthError> {
    /// let ann = auth.admin().user_by_email("Ann@Example.com").await?;
    /// assert_eq!(ann.email, "ann@example.com");
    /// # Ok(()) }
    /// ```
    pub async fn user_by_email(&self, email: &str) -> Result<User, AuthError> {
        let email = normalise_email(email)?;
        self.auth
            .store()
            .user_by_email(&email)
            .await?
            .ok_or_else(|| ErrorCode::AdminUserNotFound.into())
    }

    /// Creates a user, with no confirmation mail and no session. An address that has an
    /// account is 422 `email_exists`; a password must meet the sign-up rules.
    pub async fn create_user(&self, account: NewAccount) -> Result<User, AuthError> {
        let auth = self.auth;
        let email = normalise_email(&account.email)?;
        let id = match &account.id {
            Some(id) => uuid::Uuid::try_parse(id)
                .ok()
                .filter(|u| !u.is_nil())
                .map(|u| u.to_string())
                .ok_or_else(|| AuthError::validation("ID must conform to the uuid v4 format"))?,
            None => uuid::Uuid::new_v4().to_string(),
        };
        let user_metadata = Value::Object(metadata(account.user_metadata)?.unwrap_or_default());
        let app_metadata = merge(default_app_metadata(), account.app_metadata, "app_metadata")?
            .unwrap_or_else(default_app_metadata);
        let hash = match account.password.filter(|p| !p.is_empty()) {
            Some(password) => Some(self.hash(&password).await?),
            None => None,
        };
        let now = crate::now();
        let inserted = auth
            .store()
            .insert_user(&NewUser {
                id: &id,
                email: &email,
                password_hash: hash.as_deref(),
                app_metadata: &app_metadata.to_string(),
                user_metadata: &user_metadata.to_string(),
                confirmed_at: account.email_confirm.then_some(now),
                signed_in_at: None,
                banned_until: account.ban.and_then(|b| b.until(now)),
                now,
            })
            .await;
        unless_conflict(inserted, || ErrorCode::EmailExists.into())?;
        auth.existing_user(&id).await
    }

    /// Changes a user, all or nothing. A new password or a ban takes effect on every
    /// session: a password ends them, a ban refuses them (at once on this instance, within
    /// `recheck_after` on others); a change of `app_metadata` (a role) is seen as fast.
    pub async fn update_user(&self, id: &str, update: AccountUpdate) -> Result<User, AuthError> {
        let auth = self.auth;
        let user = self.user(id).await?;
        let email = update
            .email
            .filter(|e| !e.is_empty())
            .map(|e| normalise_email(&e))
            .transpose()?;
        let user_metadata = merge(user.user_metadata(), update.user_metadata, "user_metadata")?;
        let app_metadata = merge(user.app_metadata(), update.app_metadata, "app_metadata")?;
        let hash = match update.password {
            Some(password) => Some(self.hash(&password).await?),
            None => None,
        };
        let now = crate::now();
        let user_metadata = user_metadata.as_ref().map(Value::to_string);
        let app_metadata = app_metadata.as_ref().map(Value::to_string);
        // No session is kept: a new password from an operator ends all of them.
        let changes = UserChanges {
            email: email.as_deref(),
            confirm_email: update.email_confirm,
            password_hash: hash.as_deref(),
            keep_session: None,
            user_metadata: user_metadata.as_deref(),
            app_metadata: app_metadata.as_deref(),
            banned_until: update.ban.map(|b| b.until(now)),
            now,
        };
        let changed = auth.store().update_user(&user.id, &changes).await;
        unless_conflict(changed, || ErrorCode::EmailExists.into())?;
        if hash.is_some() || app_metadata.is_some() || update.ban.is_some() {
            auth.revoked();
        }
        auth.existing_user(&user.id).await
    }

    /// Deletes a user with their sessions and factors, or 404 `user_not_found`.
    pub async fn delete_user(&self, id: &str) -> Result<(), AuthError> {
        let id = user_id(id)?;
        if !self.auth.store().delete_user(&id).await? {
            return Err(ErrorCode::AdminUserNotFound.into());
        }
        self.auth.revoked();
        Ok(())
    }

    /// Ends every session of a user (signs them out everywhere), or 404 `user_not_found`.
    /// Their refresh tokens stop at once, their access tokens at the next session check.
    pub async fn sign_out(&self, id: &str) -> Result<(), AuthError> {
        let user = self.user(id).await?;
        self.auth
            .store()
            .end_sessions(&user.id, Sessions::All)
            .await?;
        self.auth.revoked();
        Ok(())
    }

    /// A password checked against the sign-up rules, hashed.
    async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let password = self.auth.checked_password(password)?;
        self.auth.inner.hasher.hash(password).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_durations_read_as_go_writes_them() {
        let secs = |text| match Ban::parse(text).unwrap() {
            Ban::For(d) => d.as_secs_f64(),
            Ban::Lift => -1.0,
        };
        assert_eq!(secs("24h"), 86_400.0);
        assert_eq!(secs("1h30m"), 5_400.0);
        assert_eq!(secs("1.5h"), 5_400.0);
        assert_eq!(secs("90s"), 90.0);
        assert_eq!(secs("500ms"), 0.5);
        assert_eq!(secs("0s"), 0.0);
        assert_eq!(secs("none"), -1.0);
        for bad in ["", "24", "h", "1d", "-1h", "1h ", "1e3s", "99999999999h"] {
            assert!(Ban::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Ban::parse("0s").unwrap().until(100), None);
        assert_eq!(Ban::parse("500ms").unwrap().until(100), Some(101));
        assert_eq!(Ban::Lift.until(100), None);
    }

    #[test]
    fn metadata_merges_as_gotrue_does() {
        let base = serde_json::json!({ "provider": "email", "role": "editor" });
        let merged = merge(
            base.clone(),
            Some(serde_json::json!({ "role": null, "plan": "pro" })),
            "app_metadata",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            merged,
            serde_json::json!({ "provider": "email", "plan": "pro" })
        );
        assert_eq!(merge(base.clone(), None, "x").unwrap(), None);
        assert!(merge(base, Some(serde_json::json!([1])), "app_metadata").is_err());
    }

    #[test]
    fn page_numbers() {
        let page = |total, page| UsersPage {
            users: Vec::new(),
            page,
            per_page: 10,
            total,
        };
        assert_eq!(page(0, 1).last_page(), 1);
        assert_eq!(page(0, 1).next_page(), None);
        assert_eq!(page(10, 1).next_page(), None);
        assert_eq!(page(11, 1).next_page(), Some(2));
        assert_eq!(page(11, 2).last_page(), 2);
        assert_eq!(page(11, 2).next_page(), None);
    }
}
