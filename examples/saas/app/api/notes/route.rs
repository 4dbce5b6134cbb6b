//! `/api/notes`: the signed-in user's notes, newest first (`GET`), and a new one (`POST
//! {"title": "…", "body": "…"}`, 201 with `Location`). What the dashboard's JavaScript calls:
//! a session (cookie or Bearer), and for `POST` a CSRF token.

use routekit::axum::response::{IntoResponse, Response};
use routekit::http::{StatusCode, header};
use routekit::{ApiError, ApiResult, Db, Json, Session, Valid};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::notes::{MAX_NOTES, Note, Notes};

/// A note is small: a body over 64 KiB is refused with 413 before the handler runs.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Serialize)]
struct List {
    notes: Vec<Note>,
}

pub async fn GET(session: Session, db: Db) -> ApiResult<Json<impl Serialize>> {
    let notes = Notes::of(&db, &session.user_id).list().await?;
    Ok(Json(List { notes }))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    #[validate(length(max = 200), custom(function = "crate::validate::not_blank"))]
    title: String,
    #[serde(default)]
    #[validate(length(max = 10000))]
    body: String,
}

pub async fn POST(
    session: Session,
    db: Db,
    Valid(Json(note)): Valid<Json<NewNote>>,
) -> ApiResult<Response> {
    let Some(note) = Notes::of(&db, &session.user_id)
        .create(note.title.trim(), &note.body)
        .await?
    else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "note_limit_reached",
            format!("you have {MAX_NOTES} notes, the most one account keeps; delete some first"),
        ));
    };
    let location = format!("/api/notes/{}", note.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(note)).into_response())
}
