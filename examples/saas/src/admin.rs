//! What the super admin's routes (`app/api/admin`) show of a user.

use routekit::auth::User;
use serde_json::{Value, json};

/// A user as the admin routes list them: no metadata the user wrote, only what an operator
/// decides on.
pub(crate) fn user_json(user: &User) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    json!({
        "id": user.id,
        "email": user.email,
        "role": user.app_metadata().get("role").cloned().unwrap_or(Value::Null),
        "confirmed": user.email_confirmed_at.is_some(),
        "banned": user.is_banned(now),
        "banned_until": user.banned_until,
        "created_at": user.created_at,
        "last_sign_in_at": user.last_sign_in_at,
    })
}
