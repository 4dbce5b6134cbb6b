//! Users as stored, and as GoTrue's JSON shows them.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A user account.
#[derive(Debug, Clone, sqlx::FromRow)]
#[non_exhaustive]
pub struct User {
    /// UUID.
    pub id: String,
    /// Lowercased e-mail.
    pub email: String,
    pub(crate) password_hash: Option<String>,
    /// `authenticated`.
    pub role: String,
    /// `authenticated`.
    pub aud: String,
    pub(crate) app_metadata: String,
    pub(crate) user_metadata: String,
    /// When the e-mail was confirmed (unix seconds).
    pub email_confirmed_at: Option<i64>,
    /// Last password sign-in (unix seconds).
    pub last_sign_in_at: Option<i64>,
    /// Banned until (unix seconds).
    pub banned_until: Option<i64>,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Last changed (unix seconds).
    pub updated_at: i64,
    /// The address the user asked to change to, until confirmed.
    pub email_change: Option<String>,
}

/// RFC 3339 in UTC, as GoTrue writes times.
pub(crate) fn rfc3339(unix: i64) -> Value {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

fn opt_time(t: Option<i64>) -> Value {
    t.map_or(Value::Null, rfc3339)
}

impl User {
    /// `app_metadata` as JSON.
    pub fn app_metadata(&self) -> Value {
        serde_json::from_str(&self.app_metadata).unwrap_or_else(|_| json!({}))
    }

    /// `user_metadata` as JSON.
    pub fn user_metadata(&self) -> Value {
        serde_json::from_str(&self.user_metadata).unwrap_or_else(|_| json!({}))
    }

    /// Whether the user is banned at `now`.
    pub fn is_banned(&self, now: i64) -> bool {
        self.banned_until.is_some_and(|until| until > now)
    }

    /// The user as GoTrue's `GET /user` returns it (§3.1 of the wire spec). `factors` is
    /// omitted when empty, as GoTrue does.
    pub fn to_json(&self, factors: &[crate::factor::Factor]) -> Value {
        let mut user = json!({
            "id": self.id,
            "aud": self.aud,
            "role": self.role,
            "email": self.email,
            "email_confirmed_at": opt_time(self.email_confirmed_at),
            "phone": "",
            "confirmed_at": opt_time(self.email_confirmed_at),
            "last_sign_in_at": opt_time(self.last_sign_in_at),
            "app_metadata": self.app_metadata(),
            "user_metadata": self.user_metadata(),
            "identities": [{
                "identity_id": self.id,
                "id": self.id,
                "user_id": self.id,
                "identity_data": {
                    "sub": self.id,
                    "email": self.email,
                    "email_verified": self.email_confirmed_at.is_some(),
                    "phone_verified": false,
                },
                "provider": "email",
                "last_sign_in_at": opt_time(self.last_sign_in_at),
                "created_at": rfc3339(self.created_at),
                "updated_at": rfc3339(self.updated_at),
                "email": self.email,
            }],
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "is_anonymous": false,
        });
        if let Some(new_email) = &self.email_change {
            user["new_email"] = Value::String(new_email.clone());
        }
        if let Some(until) = self.banned_until {
            user["banned_until"] = rfc3339(until);
        }
        if !factors.is_empty() {
            user["factors"] = factors.iter().map(crate::factor::Factor::to_json).collect();
        }
        user
    }
}
