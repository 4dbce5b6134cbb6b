//! The MFA vocabulary both backends share: factors, their types and statuses, and the one
//! rule that decides whether a session must verify a second factor.

use crate::jws::Aal;
#[cfg(feature = "server")]
use serde_json::{Value, json};

/// A session's authenticator assurance level, as `getAuthenticatorAssuranceLevel()` reports
/// it, but decided on the server.
///
/// ```
/// use routekit_auth::{Aal, AssuranceLevel};
///
/// assert!(AssuranceLevel::new(Aal::Aal1, true).requires_mfa());
/// assert!(!AssuranceLevel::new(Aal::Aal2, true).requires_mfa());
/// assert!(!AssuranceLevel::new(Aal::Aal1, false).requires_mfa());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssuranceLevel {
    /// The token's `aal`.
    pub current: Aal,
    /// `aal2` if the user has a verified factor, else `current`.
    pub next: Aal,
}

impl AssuranceLevel {
    /// The level of a session at `current` whose user has (or has not) a verified factor:
    /// the one rule, for the embedded server and Supabase mode alike.
    pub fn new(current: Aal, has_verified_factor: bool) -> Self {
        let next = if has_verified_factor {
            Aal::Aal2
        } else {
            current
        };
        AssuranceLevel { current, next }
    }

    /// Whether the session must verify a factor before it may proceed (Makerkit's
    /// `checkRequiresMultiFactorAuthentication`).
    pub fn requires_mfa(&self) -> bool {
        self.current < self.next
    }
}

/// What the auth store (never the token, never a cookie's copy of the user) says of the user
/// behind a live session: what the guards decide on. The same for both backends.
///
/// ```
/// use routekit_auth::{Aal, Standing};
///
/// let standing = Standing::new(Aal::Aal2, true, Some("super-admin".into()));
/// assert!(standing.has_role("super-admin"));
/// assert!(!standing.assurance.requires_mfa());
/// assert!(!Standing::new(Aal::Aal1, false, None).has_role("super-admin"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Standing {
    /// The session's level and the level it should reach.
    pub assurance: AssuranceLevel,
    /// Whether the user has a verified factor.
    pub verified_factor: bool,
    /// The user's `app_metadata.role`, when it is a string.
    pub role: Option<String>,
}

impl Standing {
    /// The standing of a session at `current` whose user has (or has not) a verified factor
    /// and holds `role`.
    pub fn new(current: Aal, verified_factor: bool, role: Option<String>) -> Self {
        Standing {
            assurance: AssuranceLevel::new(current, verified_factor),
            verified_factor,
            role,
        }
    }

    /// Whether the user's stored `app_metadata.role` is `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.role.as_deref() == Some(role)
    }

    /// `app_metadata.role`, when it is a string.
    pub(crate) fn role_of(app_metadata: &serde_json::Value) -> Option<String> {
        app_metadata
            .get("role")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    }
}

/// One of a user's MFA factors, as `GET /user` lists it.
///
/// ```
/// # fn f(factors: Vec<routekit_auth::Factor>) {
/// let has_totp = factors.iter().any(|f| f.is_verified());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Factor {
    /// The factor id.
    pub id: String,
    /// The name the user gave it (empty when none).
    pub friendly_name: String,
    /// What kind of factor.
    pub factor_type: FactorType,
    /// Whether it was ever verified; unverified factors never count.
    pub status: FactorStatus,
    /// When it was enrolled (unix seconds).
    pub created_at: i64,
    /// When it last changed (unix seconds).
    pub updated_at: i64,
    /// When it was last challenged (unix seconds).
    pub last_challenged_at: Option<i64>,
}

impl Factor {
    /// Whether it counts for the MFA rule.
    pub fn is_verified(&self) -> bool {
        self.status == FactorStatus::Verified
    }

    /// The factor as GoTrue's JSON lists it (times in RFC 3339).
    #[cfg(feature = "server")]
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "friendly_name": self.friendly_name,
            "factor_type": self.factor_type.as_str(),
            "status": self.status.as_str(),
            "created_at": crate::user::rfc3339(self.created_at),
            "updated_at": crate::user::rfc3339(self.updated_at),
            "last_challenged_at": self.last_challenged_at.map_or(Value::Null, crate::user::rfc3339),
            "phone": "",
        })
    }
}

/// The kind of an MFA factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactorType {
    /// A time-based one-time password (RFC 6238).
    Totp,
}

impl FactorType {
    /// `"totp"`, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorType::Totp => "totp",
        }
    }

    /// The type named `text`, as stored and sent.
    #[cfg(feature = "server")]
    pub(crate) fn from_name(text: &str) -> Option<Self> {
        match text {
            "totp" => Some(FactorType::Totp),
            _ => None,
        }
    }
}

/// Whether a factor was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactorStatus {
    /// Enrolled, never verified: it does not count.
    Unverified,
    /// Verified with a right code at least once.
    Verified,
}

impl FactorStatus {
    /// `"unverified"` or `"verified"`, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorStatus::Unverified => "unverified",
            FactorStatus::Verified => "verified",
        }
    }

    /// The status named `text`, as stored and sent.
    pub(crate) fn from_name(text: &str) -> Option<Self> {
        match text {
            "unverified" => Some(FactorStatus::Unverified),
            "verified" => Some(FactorStatus::Verified),
            _ => None,
        }
    }
}
