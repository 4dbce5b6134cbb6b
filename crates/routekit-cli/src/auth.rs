//! `routekit auth`: the operator's commands, against the database the app uses (its
//! `DATABASE_URL`, SQLite by default), through routekit-auth's admin API — the same calls
//! `auth.admin.*` makes over HTTP with a service-role key, without a server running.

use std::fmt::Write;
use std::time::Duration;

use routekit_auth::{AccountUpdate, AuthConfig, AuthService, Ban, NewAccount, User};
use serde_json::{Value, json};

/// One `routekit auth` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `users list [--page N] [--per-page N]`.
    ListUsers {
        /// From 1.
        page: u64,
        /// From 1 to 1000.
        per_page: u64,
    },
    /// `users show <user>`.
    ShowUser(String),
    /// `users create <email>`.
    CreateUser {
        /// The address.
        email: String,
        /// A password (else the user signs in by link or code).
        password: Option<String>,
        /// `app_metadata.role`.
        role: Option<String>,
        /// Leave the address unconfirmed (a confirmation is still needed to sign in).
        unconfirmed: bool,
    },
    /// `users delete <user>`.
    DeleteUser(String),
    /// `users ban <user> [--for DURATION]`.
    BanUser {
        /// Who.
        user: String,
        /// GoTrue's `ban_duration`: `24h`, `30m`, `876000h`.
        duration: String,
    },
    /// `users unban <user>`.
    UnbanUser(String),
    /// `users set-role <user> <role>` or `--clear`.
    SetRole {
        /// Who.
        user: String,
        /// The role, or `None` to remove it.
        role: Option<String>,
    },
    /// `sessions revoke <user>`.
    RevokeSessions(String),
    /// `keys rotate`.
    RotateKeys,
    /// `service-key [--ttl DURATION]`.
    ServiceKey {
        /// How long the key is valid.
        ttl: Duration,
    },
}

/// Refuses a SQLite file that does not exist yet rather than creating it: that is almost
/// always the wrong folder. Other databases are left to connect.
///
/// ```
/// let config = routekit_auth::AuthConfig::new("sqlite:///nowhere/auth.db");
/// let err = routekit_cli::auth::check_database(&config).unwrap_err();
/// assert!(err.starts_with("no database at /nowhere/auth.db"), "{err}");
/// ```
pub fn check_database(config: &AuthConfig) -> Result<(), String> {
    if let Some(path) = sqlite_path(&config.database_url)
        && !std::path::Path::new(path).exists()
    {
        return Err(format!(
            "no database at {path}: run this in the app's folder after it has started once, or \
             set DATABASE_URL"
        ));
    }
    Ok(())
}

/// The file of a `sqlite://` URL, `None` for other databases and in-memory ones.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then_some(path)
}

/// Runs `command` and returns what to print: a table or lines of text, or with `json` the
/// GoTrue JSON (users as `GET /admin/users` has them).
pub async fn run(config: AuthConfig, command: &Command, json: bool) -> Result<String, String> {
    let auth = AuthService::start(config)
        .await
        .map_err(|e| format!("cannot open the auth database: {e}"))?;
    let admin = auth.admin();
    let out = match command {
        Command::ListUsers { page, per_page } => {
            let page = admin.list_users(*page, *per_page).await.map_err(fail)?;
            if json {
                let users: Vec<Value> = page.users.iter().map(|u| u.to_json(&[])).collect();
                pretty(&json!({
                    "users": users, "page": page.page, "per_page": page.per_page,
                    "total": page.total, "last_page": page.last_page(),
                }))
            } else {
                let mut text = users_table(&page.users);
                let _ = writeln!(
                    text,
                    "page {} of {} ({} users)",
                    page.page,
                    page.last_page(),
                    page.total
                );
                text
            }
        }
        Command::ShowUser(user) => {
            let user = find(&auth, user).await.map_err(fail)?;
            if json {
                pretty(&user.to_json(&[]))
            } else {
                describe_user(&user)
            }
        }
        Command::CreateUser {
            email,
            password,
            role,
            unconfirmed,
        } => {
            let mut account = NewAccount::new(email.clone()).email_confirm(!unconfirmed);
            if let Some(password) = password {
                account = account.password(password.clone());
            }
            if let Some(role) = role {
                account = account.app_metadata(json!({ "role": role }));
            }
            let user = admin.create_user(account).await.map_err(fail)?;
            user_result(&user, json, "created")
        }
        Command::DeleteUser(user) => {
            let user = find(&auth, user).await.map_err(fail)?;
            admin.delete_user(&user.id).await.map_err(fail)?;
            if json {
                pretty(&json!({ "deleted": user.id }))
            } else {
                format!("deleted {} ({})\n", user.email, user.id)
            }
        }
        Command::BanUser { user, duration } => {
            let ban = Ban::parse(duration).map_err(fail)?;
            let update = AccountUpdate::default().ban(ban);
            user_result(&update_user(&auth, user, update).await?, json, "banned")
        }
        Command::UnbanUser(user) => {
            let update = AccountUpdate::default().ban(Ban::Lift);
            user_result(&update_user(&auth, user, update).await?, json, "unbanned")
        }
        Command::SetRole { user, role } => {
            let update = AccountUpdate::role(role.as_deref());
            user_result(&update_user(&auth, user, update).await?, json, "updated")
        }
        Command::RevokeSessions(user) => {
            let user = find(&auth, user).await.map_err(fail)?;
            admin.sign_out(&user.id).await.map_err(fail)?;
            if json {
                pretty(&json!({ "revoked": user.id }))
            } else {
                format!(
                    "signed {} out everywhere: refresh tokens stop now, access tokens at their \
                     next session check\n",
                    user.email
                )
            }
        }
        Command::RotateKeys => {
            let kid = auth.keys().rotate().await.map_err(fail)?;
            if json {
                pretty(&json!({ "kid": kid }))
            } else {
                format!(
                    "new signing key {kid}; the old one verifies until its tokens expire, and \
                     running servers pick the new one up with its first token\n"
                )
            }
        }
        Command::ServiceKey { ttl } => {
            let key = auth.service_role_key(*ttl).map_err(fail)?;
            if json {
                pretty(&json!({ "service_role_key": key, "expires_in": ttl.as_secs() }))
            } else {
                format!("{key}\n")
            }
        }
    };
    Ok(out)
}

/// An auth error as the command reports it: its GoTrue code, then its message.
fn fail(e: routekit_auth::AuthError) -> String {
    format!("{}: {e}", e.code().as_str())
}

/// A user by id, or by e-mail address when the argument has an `@`.
async fn find(auth: &AuthService, user: &str) -> Result<User, routekit_auth::AuthError> {
    if user.contains('@') {
        auth.admin().user_by_email(user).await
    } else {
        auth.admin().user(user).await
    }
}

/// Finds `user` (see [`find`]) and applies `update` through the admin API.
async fn update_user(
    auth: &AuthService,
    user: &str,
    update: AccountUpdate,
) -> Result<User, String> {
    let user = find(auth, user).await.map_err(fail)?;
    auth.admin()
        .update_user(&user.id, update)
        .await
        .map_err(fail)
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn user_result(user: &User, json: bool, verb: &str) -> String {
    if json {
        pretty(&user.to_json(&[]))
    } else {
        format!("{verb} {}\n{}", user.email, describe_user(user))
    }
}

fn role_of(user: &User) -> String {
    user.app_metadata()
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_owned()
}

fn time(at: Option<i64>) -> String {
    at.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(|t| {
            format!(
                "{}-{:02}-{:02} {:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|| "-".to_owned())
}

fn users_table(users: &[User]) -> String {
    let header = [
        "ID",
        "EMAIL",
        "ROLE",
        "CONFIRMED",
        "BANNED UNTIL",
        "LAST SIGN-IN",
    ];
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.id.clone(),
                u.email.clone(),
                role_of(u),
                time(u.email_confirmed_at),
                time(u.banned_until),
                time(u.last_sign_in_at),
            ]
        })
        .collect();
    let mut out = String::new();
    for line in crate::term::table(&header, &rows) {
        let _ = writeln!(out, "{line}");
    }
    out
}

fn describe_user(user: &User) -> String {
    format!(
        "id:           {}\nemail:        {}\nrole:         {}\nconfirmed:    {}\nbanned until: {}\n\
         last sign-in: {}\ncreated:      {}\n",
        user.id,
        user.email,
        role_of(user),
        time(user.email_confirmed_at),
        time(user.banned_until),
        time(user.last_sign_in_at),
        time(Some(user.created_at)),
    )
}

/// `90s`, `30m`, `24h`, `365d`: a number and a unit.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(routekit_cli::auth::parse_ttl("24h"), Ok(Duration::from_secs(86400)));
/// assert!(routekit_cli::auth::parse_ttl("soon").is_err());
/// ```
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90s, 30m, 24h or 365d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration such as 90s, 30m, 24h or 365d"
            ));
        }
    };
    number
        .checked_mul(seconds)
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a usable duration"))
}
