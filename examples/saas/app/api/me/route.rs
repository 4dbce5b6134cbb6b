//! `GET /api/me`: the signed-in user, for fetch callers and API clients (a `Session` or 401).

use routekit::axum::response::{IntoResponse, Response};
use routekit::{Json, Session};
use serde::Serialize;

/// The answer, borrowed from the session: serialized without copying a field.
#[derive(Serialize)]
struct Me<'a> {
    id: &'a str,
    email: &'a str,
    aal: &'a str,
    session_id: &'a str,
}

pub async fn GET(session: Session) -> Response {
    Json(Me {
        id: &session.user_id,
        email: &session.email,
        aal: session.aal.as_str(),
        session_id: &session.session_id,
    })
    .into_response()
}
