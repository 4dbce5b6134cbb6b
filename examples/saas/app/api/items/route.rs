//! `POST /api/items`: echoes a validated JSON body with 201.

mod item;

use item::{Item, NewItem};
use routekit::http::StatusCode;
use routekit::{ApiResult, Json};

/// Items are small; anything over 16 KiB is refused with 413 before the handler runs.
pub const BODY_LIMIT: usize = 16 * 1024;

pub async fn POST(Json(new): Json<NewItem>) -> ApiResult<(StatusCode, Json<Item>)> {
    let item = new.validate()?;
    Ok((StatusCode::CREATED, Json(item)))
}
