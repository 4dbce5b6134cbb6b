//! `POST /api/notes`: a protected mutation: a session, a CSRF token and a valid JSON body.

use routekit::http::StatusCode;
use routekit::{Json, Session, Valid};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    #[validate(length(max = 100), custom(function = "crate::validate::not_blank"))]
    text: String,
}

pub async fn POST(session: Session, Valid(Json(note)): Valid<Json<NewNote>>) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({ "owner": session.user_id, "text": note.text.trim() })))
}
