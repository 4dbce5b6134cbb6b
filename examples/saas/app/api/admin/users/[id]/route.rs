//! `/api/admin/users/[id]`: a super admin gives or takes a role, bans or lifts a ban
//! (`PATCH { "role": "super-admin" | null, "ban_duration": "24h" | "none" }`), or deletes the
//! user (`DELETE`). Changes reach the user's live sessions at once on this instance and
//! within the session recheck interval on others. An admin cannot demote, ban or delete
//! themselves, so the last admin cannot lock everyone out by mistake.

use routekit::auth::{AccountUpdate, Ban};
use routekit::http::StatusCode;
use routekit::{ApiError, Auth, AuthApi, Db, FieldError, Json, Path, Session, Valid};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use validator::Validate;

pub const AUTH: Auth = Auth::Role("super-admin");

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// Absent: left alone; `null`: taken away; a name: given.
    #[serde(default, deserialize_with = "present")]
    role: Option<Option<String>>,
    #[validate(length(min = 1, max = 32))]
    ban_duration: Option<String>,
}

/// `Some(value)` for a field that is there, `null` included.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A role is a short lowercase name (`super-admin`, `billing`).
fn check_role(role: Option<&str>) -> Result<(), ApiError> {
    match role {
        Some(name)
            if name.is_empty()
                || name.len() > 64
                || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_') =>
        {
            Err(ApiError::validation(vec![FieldError::new(
                "role",
                "role",
                "must be lowercase letters, - and _, at most 64",
            )]))
        }
        _ => Ok(()),
    }
}

fn not_yourself(session: &Session, id: &str) -> Result<(), ApiError> {
    if session.user_id == id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_change_yourself",
            "an admin cannot demote, ban or delete their own account",
        ));
    }
    Ok(())
}

pub async fn PATCH(
    session: Session,
    AuthApi(auth, _): AuthApi,
    Path(id): Path<String>,
    Valid(Json(change)): Valid<Json<Change>>,
) -> Result<Json<Value>, ApiError> {
    not_yourself(&session, &id)?;
    let mut update = match &change.role {
        Some(role) => {
            check_role(role.as_deref())?;
            AccountUpdate::role(role.as_deref())
        }
        None => AccountUpdate::default(),
    };
    if let Some(duration) = &change.ban_duration {
        update = update.ban(Ban::parse(duration)?);
    }
    let user = auth.admin().update_user(&id, update).await?;
    Ok(Json(crate::admin::user_json(&user)))
}

pub async fn DELETE(
    session: Session,
    AuthApi(auth, _): AuthApi,
    db: Db,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    not_yourself(&session, &id)?;
    auth.admin().delete_user(&id).await?;
    // The user's data goes with them (the notes table has no foreign key: see its migration).
    crate::notes::Notes::of(&db, &id).delete_all().await?;
    Ok(StatusCode::NO_CONTENT)
}
