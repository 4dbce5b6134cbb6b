//! `GET /api/admin/users?page=1&per_page=20`: the super admin's user list, newest first.
//!
//! `AUTH = Role("super-admin")`: only a user whose stored `app_metadata.role` is
//! `super-admin`, signed in with their second factor, gets here; anyone else gets the 404 an
//! unknown URL gets. Roles are given with the admin API (`auth.admin.updateUserById` with a
//! service-role key) or the `/api/admin/users/[id]` route.

use routekit::{ApiError, Auth, AuthApi, Json, Query, Valid};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

pub const AUTH: Auth = Auth::Role("super-admin");

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[validate(range(min = 1))]
    page: Option<u64>,
    #[validate(range(min = 1, max = 100))]
    per_page: Option<u64>,
}

pub async fn GET(
    AuthApi(auth, _): AuthApi,
    Valid(Query(page)): Valid<Query<Page>>,
) -> Result<Json<Value>, ApiError> {
    let list = auth
        .admin()
        .list_users(page.page.unwrap_or(1), page.per_page.unwrap_or(20))
        .await?;
    let users: Vec<Value> = list.users.iter().map(crate::admin::user_json).collect();
    Ok(Json(json!({
        "users": users,
        "page": list.page,
        "per_page": list.per_page,
        "total": list.total,
        "next_page": list.next_page(),
    })))
}
