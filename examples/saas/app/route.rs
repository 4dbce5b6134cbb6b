//! `GET /`: what this server is.

use routekit::Json;
use serde_json::{Value, json};

pub async fn GET() -> Json<Value> {
    Json(json!({ "name": "routekit example", "docs": "https://github.com/routekit/routekit" }))
}
