//! `POST /account/mfa`: enrolls a TOTP factor. Without a code it starts an enrollment and
//! shows its QR code (SVG) and secret, with a form for the first code; with `factor_id` and
//! `code` the code is checked against a new challenge, the factor becomes verified and the
//! session `aal2` (a new session cookie).

use routekit::axum::response::{Html, IntoResponse, Response};
use routekit::http::StatusCode;
use routekit::{ApiResult, Auth, AuthApi, CsrfToken, Form, Session, SessionCookie};
use serde::Deserialize;

use routekit::escape_html;
use crate::pages::{Viewer, alert, layout, redirect_with_cookies, with_status};

pub const AUTH: Auth = Auth::Required;

#[derive(Deserialize)]
pub struct Step {
    /// Absent: start an enrollment; a factor id and a code: confirm it.
    factor_id: Option<String>,
    code: Option<String>,
}

fn confirm_form(viewer: &Viewer<'_>, factor_id: &str) -> String {
    format!(
        r#"<form class="card" method="post" action="/account/mfa">{csrf}
<input type="hidden" name="factor_id" value="{id}">
<label>The 6-digit code your app shows <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" required></label>
<button type="submit">Turn on two-factor authentication</button></form>"#,
        csrf = viewer.csrf_field(),
        id = escape_html(factor_id),
    )
}

fn page(viewer: &Viewer<'_>, body: &str) -> Html<String> {
    layout(viewer, "Add an authenticator app", body, true)
}

pub async fn POST(
    session: Session,
    AuthApi(auth, client): AuthApi,
    csrf: CsrfToken,
    cookie: SessionCookie,
    Form(step): Form<Step>,
) -> ApiResult<Response> {
    let viewer = Viewer::new(Some(&session), csrf.as_str());
    let (Some(factor_id), Some(code)) = (step.factor_id, step.code) else {
        let enrollment = auth.enroll_totp(&session.claims, None, None).await?;
        let body = format!(
            r#"<div class="card"><p>Scan this code with an authenticator app (1Password, Google Authenticator, Aegis…):</p>
<div class="qr" id="qr">{qr}</div>
<p>Or type this secret in: <code class="secret" id="secret">{secret}</code></p></div>{form}"#,
            qr = enrollment.qr_code,
            secret = escape_html(&enrollment.secret),
            form = confirm_form(&viewer, &enrollment.id),
        );
        return Ok(page(&viewer, &body).into_response());
    };
    let verified = async {
        let challenge = auth.challenge(&client, &session.claims, &factor_id).await?;
        auth.verify_totp(&client, &session.claims, &factor_id, &challenge.id, &code)
            .await
    }
    .await;
    match verified {
        Ok(aal2) => Ok(redirect_with_cookies(
            "/account?notice=mfa",
            cookie.replace(&aal2.to_json()),
        )),
        Err(e) if e.status().is_client_error() => {
            let body = format!(
                "{}{}",
                alert("That code did not match. Check the time on your device and try the next code."),
                confirm_form(&viewer, &factor_id)
            );
            let status = if e.retry_after().is_some() {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(with_status(page(&viewer, &body), status))
        }
        Err(e) => Err(e.into()),
    }
}
