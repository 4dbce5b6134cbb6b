//! `/docs/intro`: a static segment beats the `[section]` and `[...slug]` siblings.

use routekit::Json;
use serde_json::{Value, json};

pub async fn GET() -> Json<Value> {
    Json(json!({ "page": "intro" }))
}
