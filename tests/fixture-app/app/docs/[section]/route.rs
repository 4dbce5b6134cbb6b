//! `/docs/[section]`: one segment; a dynamic segment beats the `[...slug]` catch-all.

use routekit::{Json, Path};
use serde_json::{Value, json};

pub async fn GET(Path(section): Path<String>) -> Json<Value> {
    Json(json!({ "section": section }))
}
