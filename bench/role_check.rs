//! `role-check`: serves [`routekit_bench::role_app`] over TCP for `bench/session.sh`, with
//! `GET /bench/credentials` handing out the super admin's access token.

use routekit::axum::Json;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("routekit-role-check-{}", std::process::id()));
    let url = format!("sqlite://{}/auth.db", dir.display());
    let (app, token) = routekit_bench::role_app(&url).await?;
    let credentials = routekit::axum::Router::new().route(
        "/bench/credentials",
        routekit::axum::routing::get(move || {
            let token = token.clone();
            async move { Json(json!({ "jwt": token })) }
        }),
    );
    let served = app.merge(credentials).serve().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(served?)
}
