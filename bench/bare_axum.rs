//! The baseline for the load benchmark: a hand-written axum server with the same handlers as
//! the example's `GET /hello`, `GET /users/[id]` and JSON 404, and nothing else.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

async fn user(Path(id): Path<u64>) -> Json<User> {
    Json(User {
        id,
        name: format!("user {id}"),
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/hello", get(|| async { Json(json!({ "text": "Hello" })) }))
        .route("/users/{id}", get(user))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(
                    json!({"error": {"code": "not_found", "message": "no route matches this URL"}}),
                ),
            )
                .into_response()
        });
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    // The load script reads the port from this line.
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
