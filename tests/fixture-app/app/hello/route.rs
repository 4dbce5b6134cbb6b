//! `GET /hello`, the seed page's route.

use routekit::Json;
use serde_json::{Value, json};

pub async fn GET() -> Json<Value> {
    Json(json!({ "text": "Hello" }))
}
