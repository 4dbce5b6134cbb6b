//! `role-check`: one routekit app serving the same handler behind `AUTH = Required`
//! (`/api/me`) and behind `AUTH = Role("super-admin")` (`/api/admin/me`), over a fresh SQLite
//! auth store, with a super admin signed in at `aal2` whose access token
//! `GET /bench/credentials` hands out. `bench/session.sh` loads both routes with that token:
//! the difference is the role check on a cached session.

use std::error::Error;

use routekit::auth::{AuthConfig, AuthService, Client, NewAccount, base32_decode, totp};
use routekit::axum::Json;
use routekit::{App, Auth, Route, RouteTable, Session};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// The handler of both routes: the example's `GET /api/me`.
async fn me(session: Session) -> Json<Value> {
    Json(json!({
        "id": session.user_id,
        "email": session.email,
        "aal": session.aal,
        "session_id": session.session_id,
    }))
}

/// A super admin with a verified TOTP factor, signed in at `aal2`: the access token.
async fn super_admin(auth: &AuthService) -> Result<String, Box<dyn Error>> {
    let client = Client::unknown();
    let account = NewAccount::new("boss@example.com")
        .password(PASSWORD)
        .email_confirm(true)
        .app_metadata(json!({ "role": "super-admin" }));
    auth.admin().create_user(account).await?;
    let aal1 = auth
        .sign_in_with_password(&client, "boss@example.com", PASSWORD)
        .await?;
    let factor = auth.enroll_totp(&aal1.claims, None, None).await?;
    let challenge = auth.challenge(&client, &aal1.claims, &factor.id).await?;
    let step = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64
        / 30;
    let secret = base32_decode(&factor.secret).ok_or("the factor's secret is not base32")?;
    let aal2 = auth
        .verify_totp(
            &client,
            &aal1.claims,
            &factor.id,
            &challenge.id,
            &totp(&secret, step),
        )
        .await?;
    Ok(aal2.access_token)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("routekit-role-check-{}", std::process::id()));
    let url = format!("sqlite://{}/auth.db", dir.display());
    let auth = AuthService::start(AuthConfig::new(url)).await?;
    let token = super_admin(&auth).await?;
    let routes = RouteTable::new(vec![
        Route::new("/api/me", "app/api/me/route.rs", &["/api/me"])
            .get(me)
            .auth(Auth::Required),
        Route::new(
            "/api/admin/me",
            "app/api/admin/me/route.rs",
            &["/api/admin/me"],
        )
        .get(me)
        .auth(Auth::Role("super-admin")),
    ]);
    let credentials = routekit::axum::Router::new().route(
        "/bench/credentials",
        routekit::axum::routing::get(move || {
            let token = token.clone();
            async move { Json(json!({ "jwt": token })) }
        }),
    );
    let served = App::new(routes)
        .sessions(auth)
        .merge(credentials)
        .serve()
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(served?)
}
