//! `/users/[id]`: one dynamic segment, read with `Path`.

use routekit::{ApiResult, Json, Path};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct User {
    id: u64,
    name: String,
}

pub async fn GET(Path(id): Path<u64>) -> Json<User> {
    Json(User { id, name: format!("user {id}") })
}

#[derive(Deserialize)]
pub struct UpdateUser {
    name: String,
}

/// Echoes the update, after checking it, as a store would return the updated user.
pub async fn PUT(Path(id): Path<u64>, Json(update): Json<UpdateUser>) -> ApiResult<Json<User>> {
    let name = crate::validate::name("name", &update.name)?;
    Ok(Json(User { id, name }))
}
