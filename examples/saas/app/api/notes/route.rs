//! `POST /api/notes`: a protected mutation: a session, a CSRF token and a valid JSON body.

use routekit::http::StatusCode;
use routekit::{ApiResult, Json, Session};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    text: String,
}

pub async fn POST(session: Session, Json(note): Json<NewNote>) -> ApiResult<(StatusCode, Json<Value>)> {
    let text = crate::validate::name("text", &note.text)?;
    Ok((StatusCode::CREATED, Json(json!({ "owner": session.user_id, "text": text }))))
}
