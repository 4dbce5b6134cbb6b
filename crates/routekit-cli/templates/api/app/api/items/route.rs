//! `/api/items`: the items, for callers with the API key (`GET`), and a new one (`POST
//! {"name": "…"}`, 201). A bad body is 422 with an error per field.

use routekit::axum::Extension;
use routekit::http::StatusCode;
use routekit::{Json, Valid};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

use crate::api_key::Caller;
use crate::items::{Item, Items};

/// Items are small: a body over 16 KiB is refused with 413 before the handler runs.
pub const BODY_LIMIT: usize = 16 * 1024;

pub async fn GET(_: Caller, Extension(items): Extension<Items>) -> Json<Value> {
    Json(json!({ "items": items.list() }))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    #[validate(length(min = 1, max = 100))]
    name: String,
}

pub async fn POST(
    _: Caller,
    Extension(items): Extension<Items>,
    Valid(Json(item)): Valid<Json<NewItem>>,
) -> (StatusCode, Json<Item>) {
    (StatusCode::CREATED, Json(items.add(item.name)))
}
