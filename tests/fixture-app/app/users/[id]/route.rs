//! `/users/[id]`: one dynamic segment, read with `Path`.

use routekit::{Json, Path, Valid};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Serialize)]
pub struct User {
    id: u64,
    name: String,
}

pub async fn GET(Path(id): Path<u64>) -> Json<User> {
    Json(User { id, name: format!("user {id}") })
}

#[derive(Deserialize, Validate)]
pub struct UpdateUser {
    #[validate(length(max = 100), custom(function = "crate::validate::not_blank"))]
    name: String,
}

/// Echoes the update, once valid, as a store would return the updated user.
pub async fn PUT(Path(id): Path<u64>, Valid(Json(update)): Valid<Json<UpdateUser>>) -> Json<User> {
    Json(User { id, name: update.name.trim().to_owned() })
}
