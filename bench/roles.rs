//! The role benchmark's app: one handler (the example's `GET /api/me`) behind
//! `AUTH = Required` at `/api/me` and behind `AUTH = Role("super-admin")` at
//! `/api/admin/me`, over an embedded auth store, with a super admin signed in at `aal2`.
//! Sessions stay cached for an hour: the measured difference is the role check on a cached
//! session, not a recheck that happens to fall in one route's run (when an entry expires,
//! every connection misses at once).

use std::error::Error;

use routekit::auth::{AuthConfig, AuthService, Client, NewAccount, base32_decode, totp};
use routekit::axum::Json;
use routekit::{App, Auth, Route, RouteTable, Session, SessionConfig};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// The handler of both routes.
async fn me(session: Session) -> Json<Value> {
    Json(json!({
        "id": session.user_id,
        "email": session.email,
        "aal": session.aal,
        "session_id": session.session_id,
    }))
}

/// The app over the auth store at `database_url`, and the super admin's `aal2` access token.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let (app, token) = routekit_bench::role_app("sqlite:///tmp/roles.db").await?;
/// # Ok(()) }
/// ```
pub async fn role_app(database_url: &str) -> Result<(App, String), Box<dyn Error>> {
    let auth = AuthService::start(AuthConfig::new(database_url)).await?;
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
    let mut sessions = SessionConfig::default();
    sessions.recheck_after = std::time::Duration::from_secs(3600);
    let app = App::new(routes).sessions(auth).session_config(sessions);
    Ok((app, token))
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
