//! `/docs/[...slug]`: a catch-all, one or more segments (one segment goes to `[section]`).

use routekit::{Json, Segments};
use serde_json::{Value, json};

pub async fn GET(slug: Segments) -> Json<Value> {
    Json(json!({ "slug": slug.as_slice(), "path": slug.join("/") }))
}
