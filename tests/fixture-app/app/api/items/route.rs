//! `POST /api/items`: echoes a validated JSON body with 201.

mod item;

use item::{Item, NewItem};
use routekit::http::StatusCode;
use routekit::{Json, Valid};

/// Items are small; anything over 16 KiB is refused with 413 before the handler runs.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Runs only with a body that fits `NewItem` and passes its rules.
pub async fn POST(Valid(Json(new)): Valid<Json<NewItem>>) -> (StatusCode, Json<Item>) {
    (StatusCode::CREATED, Json(Item::from(new)))
}
