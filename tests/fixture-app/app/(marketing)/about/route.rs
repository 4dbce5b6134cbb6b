//! `/about`: the `(marketing)` route group is left out of the URL.

use routekit::Json;
use serde_json::{Value, json};

pub async fn GET() -> Json<Value> {
    Json(json!({ "about": "routekit brings file-system API routes to Rust" }))
}
