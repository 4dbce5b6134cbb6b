//! The baseline the benchmarks measure routekit against: a hand-written axum router with the
//! same handlers as the example's `GET /hello`, `GET /users/[id]` and JSON 404, and a
//! protected `POST /api/notes` doing by hand what a protected route does: an HS256 JWT check
//! (no caching) of a Bearer token or a `session` cookie, an HMAC CSRF check, and a JSON echo.
//! `GET /bench/credentials` hands out a valid token, CSRF cookie and CSRF token for the load
//! generator.
//!
//! `bare-axum` serves it over TCP (`bench/load.sh`, `bench/session.sh`); the `per_request`
//! bench calls it in-process.
//!
//! ```
//! let app: axum::Router = routekit_bench::router();
//! ```

mod roles;

pub use roles::role_app;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use routekit_csrf::CsrfSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

/// The HS256 key and the CSRF secret of this process.
struct Keys {
    jwt: [u8; 32],
    csrf: CsrfSecret,
}

fn hs256(key: &[u8], input: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

async fn credentials(State(keys): State<Arc<Keys>>) -> Json<Value> {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({"sub": "00000000-0000-0000-0000-000000000001", "aud": "authenticated", "exp": 4_102_444_800i64, "aal": "aal1"});
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let jwt = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(hs256(&keys.jwt, &input))
    );
    Json(json!({
        "session_cookie": format!("session={jwt}"),
        "jwt": jwt,
        "csrf_cookie": format!("csrf={}", keys.csrf.to_cookie_value()),
        "csrf_token": keys.csrf.issue(),
    }))
}

#[derive(Deserialize)]
struct NewNote {
    text: String,
}

fn unauthorized(code: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"code": code, "message": code}})),
    )
        .into_response()
}

/// The hand-written protected route: verify the JWT (HS256, `exp`), check the CSRF token
/// against the cookie's secret, parse and echo the JSON.
async fn notes(
    State(keys): State<Arc<Keys>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // A browser's session: the JWT in a cookie, as a hand-written app would keep it.
    let cookie = || {
        headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("session=")))
    };
    let Some(token) = bearer.or_else(cookie) else {
        return unauthorized("unauthenticated");
    };
    let Some((input, signature)) = token.rsplit_once('.') else {
        return unauthorized("unauthenticated");
    };
    let expected = hs256(&keys.jwt, input);
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return unauthorized("unauthenticated");
    };
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_slice(),
        signature.as_slice(),
    )) {
        return unauthorized("unauthenticated");
    }
    let claims: Value = match input
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|p| serde_json::from_slice(&p).ok())
    {
        Some(claims) => claims,
        None => return unauthorized("unauthenticated"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if claims["exp"].as_i64().is_none_or(|exp| exp < now) {
        return unauthorized("unauthenticated");
    }
    let cookie_secret = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("csrf=")))
        .and_then(CsrfSecret::from_cookie_value);
    let csrf_ok = match (
        cookie_secret,
        headers.get("x-csrf-token").and_then(|v| v.to_str().ok()),
    ) {
        (Some(secret), Some(token)) => secret.verify(token),
        _ => false,
    };
    if !csrf_ok {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": {"code": "csrf_token_invalid", "message": "csrf"}})),
        )
            .into_response();
    }
    let note: NewNote = match serde_json::from_slice(&body) {
        Ok(note) => note,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"code": "invalid_json"}})),
            )
                .into_response();
        }
    };
    (
        StatusCode::CREATED,
        Json(json!({ "owner": claims["sub"], "text": note.text.trim() })),
    )
        .into_response()
}

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

/// The baseline router, with a fresh random HS256 key and CSRF secret.
pub fn router() -> Router {
    let mut jwt = [0u8; 32];
    getrandom::fill(&mut jwt).expect("random key");
    let keys = Arc::new(Keys {
        jwt,
        csrf: CsrfSecret::generate(),
    });
    let protected = Router::new()
        .route("/api/notes", post(notes))
        .route("/bench/credentials", get(credentials))
        .with_state(keys);
    Router::new()
        .merge(protected)
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
        })
}

/// The routekit side of the in-process comparisons, mounted on the example app with
/// `App::merge` (so CSRF-checked like its routes): `GET /hello`, as the fixture app's route
/// file answers it, and `POST /bench/echo-note`: a `Session`, a JSON body, the trimmed text
/// echoed with 201, the work [`router`]'s `POST /api/notes` does by hand. (The example's own
/// `POST /api/notes` writes to its database, which the baseline does not.)
///
/// ```
/// let extras = routekit_bench::routekit_extras();
/// ```
pub fn routekit_extras() -> Router {
    async fn echo(
        session: routekit::Session,
        routekit::Json(note): routekit::Json<NewNote>,
    ) -> Result<(StatusCode, routekit::Json<Value>), routekit::ApiError> {
        let text = note.text.trim();
        if text.is_empty() || text.chars().count() > 100 {
            return Err(routekit::ApiError::validation(vec![
                routekit::FieldError::new("text", "length", "must be 1 to 100 characters"),
            ]));
        }
        Ok((
            StatusCode::CREATED,
            routekit::Json(json!({ "owner": session.user_id, "text": text })),
        ))
    }
    async fn hello() -> routekit::Json<Value> {
        routekit::Json(json!({ "text": "Hello" }))
    }
    Router::new()
        .route("/hello", get(hello))
        .route("/bench/echo-note", post(echo))
}
