//! `/api/notes/[id]`: one of the signed-in user's notes: `GET`, `PATCH {"title"?, "body"?}`
//! and `DELETE` (204). Another user's note is answered as no note is (404
//! `note_not_found`), so that ids tell nothing.

use routekit::http::StatusCode;
use routekit::{ApiError, ApiResult, Db, FieldError, Json, Path, Session, Valid};
use serde::Deserialize;
use validator::Validate;

use crate::notes::{Note, Notes};

pub const BODY_LIMIT: usize = 64 * 1024;

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "note_not_found", "no such note")
}

pub async fn GET(session: Session, db: Db, Path(id): Path<String>) -> ApiResult<Json<Note>> {
    let note = Notes::of(&db, &session.user_id).get(&id).await?;
    note.map(Json).ok_or_else(not_found)
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[validate(length(max = 200), custom(function = "crate::validate::not_blank"))]
    title: Option<String>,
    #[validate(length(max = 10000))]
    body: Option<String>,
}

pub async fn PATCH(
    session: Session,
    db: Db,
    Path(id): Path<String>,
    Valid(Json(change)): Valid<Json<Change>>,
) -> ApiResult<Json<Note>> {
    if change.title.is_none() && change.body.is_none() {
        return Err(ApiError::validation(vec![FieldError::new(
            "",
            "empty",
            "must change `title`, `body` or both",
        )]));
    }
    let note = Notes::of(&db, &session.user_id)
        .update(&id, change.title.as_deref().map(str::trim), change.body.as_deref())
        .await?;
    note.map(Json).ok_or_else(not_found)
}

pub async fn DELETE(session: Session, db: Db, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if Notes::of(&db, &session.user_id).delete(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
