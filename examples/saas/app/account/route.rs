//! `/account`: every handler in this file needs a session (`AUTH = Required`): browsers without
//! one are sent to `/auth/sign-in?next=/account`, API calls get 401 JSON.
//!
//! A browser gets the account page: who is signed in, the two-factor factors (enroll a TOTP
//! app, remove one) and a new password. An API call gets the same facts as JSON.

use routekit::auth::FactorStatus;
use routekit::axum::response::{IntoResponse, Response};
use routekit::http::HeaderMap;
use routekit::{ApiResult, Auth, AuthApi, CsrfToken, Json, Query, Session};
use serde::Deserialize;
use serde_json::json;

use routekit::escape_html;
use crate::pages::{Viewer, layout, notice};

pub const AUTH: Auth = Auth::Required;

#[derive(Deserialize)]
pub struct Params {
    notice: Option<String>,
}

pub async fn GET(
    session: Session,
    AuthApi(auth, _): AuthApi,
    token: CsrfToken,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    if !routekit::is_navigation(&headers) {
        return Ok(Json(json!({
            "email": session.email,
            "aal": session.aal,
            "signed_in_with": session.amr.iter().map(|a| a.method.as_str()).collect::<Vec<_>>(),
        }))
        .into_response());
    }
    let viewer = Viewer::new(Some(&session), token.as_str());
    let factors = auth.factors(&session.user_id).await?;
    let rows: String = factors
        .iter()
        .filter(|f| f.status == FactorStatus::Verified)
        .map(|f| {
            format!(
                r#"<tr data-factor="{id}"><td>Authenticator app{name}</td><td>verified</td><td><form method="post" action="/account/factors/{id}">{csrf}<button class="danger" type="submit">Remove</button></form></td></tr>"#,
                id = escape_html(&f.id),
                name = if f.friendly_name.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", escape_html(&f.friendly_name))
                },
                csrf = viewer.csrf_field(),
            )
        })
        .collect();
    let factors = if rows.is_empty() {
        r#"<p id="no-factors" class="muted">No second factor yet: anyone with your password can sign in.</p>"#.to_owned()
    } else {
        format!(r#"<table id="factors"><tr><th>Factor</th><th>Status</th><th></th></tr>{rows}</table>"#)
    };
    let notice = match params.notice.as_deref() {
        Some("mfa") => notice("Two-factor authentication is on."),
        Some("factor-removed") => notice("The factor was removed."),
        Some("password") => notice("Your password was changed."),
        _ => String::new(),
    };
    let body = format!(
        r#"{notice}<section class="card"><h2>Profile</h2>
<p>Signed in as <strong id="email">{email}</strong>, session assurance <code id="aal">{aal}</code>.</p></section>
<section class="card"><h2>Two-factor authentication</h2>{factors}
<form method="post" action="/account/mfa">{csrf}<button type="submit" id="enroll">Add an authenticator app</button></form></section>
<section class="card"><h2>Password</h2>
<form method="post" action="/account/password">{csrf}
<label>New password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>
<button type="submit">Change password</button></form></section>"#,
        email = escape_html(&session.email),
        aal = session.aal.as_str(),
        csrf = viewer.csrf_field(),
    );
    Ok(layout(&viewer, "Your account", &body, false).into_response())
}
