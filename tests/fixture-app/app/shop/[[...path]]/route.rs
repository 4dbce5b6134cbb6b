//! `/shop/[[...path]]`: an optional catch-all, zero or more segments.

use routekit::{Json, Segments};
use serde_json::{Value, json};

pub async fn GET(path: Segments) -> Json<Value> {
    let page = if path.is_empty() { "index".to_owned() } else { path.join("/") };
    Json(json!({ "category": path.as_slice(), "page": page }))
}
