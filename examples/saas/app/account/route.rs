//! `/account`: every handler in this file needs a session (`AUTH = Required`): browsers without
//! one are sent to `/auth/sign-in?next=/account`, API calls get 401 JSON.

use routekit::{Auth, Json, Session};
use serde_json::{Value, json};

pub const AUTH: Auth = Auth::Required;

pub async fn GET(session: Session) -> Json<Value> {
    Json(json!({
        "email": session.email,
        "aal": session.aal,
        "signed_in_with": session.amr.iter().map(|a| a.method.as_str()).collect::<Vec<_>>(),
    }))
}
