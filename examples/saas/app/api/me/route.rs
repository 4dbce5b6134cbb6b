//! `GET /api/me`: the signed-in user, for fetch callers and API clients (a `Session` or 401).

use routekit::{Json, Session};
use serde_json::{Value, json};

pub async fn GET(session: Session) -> Json<Value> {
    Json(json!({
        "id": session.user_id,
        "email": session.email,
        "aal": session.aal,
        "session_id": session.session_id,
    }))
}
