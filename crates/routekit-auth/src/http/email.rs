//! GoTrue's e-mail endpoints: `/recover`, `/otp`, `/resend`, and `/verify` by `POST` (a code
//! or a token hash, answered with a session) and by `GET` (the mailed link, answered with a
//! 303 to an allowed `redirect_to`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ClientOf, MetaSecurity, body, json_response, public_message};
use crate::error::{AuthError, ErrorCode};
use crate::service::{
    AuthService, MailOptions, Pkce, Resend, SINGLE_CONFIRMATION, Verified, VerifyType,
};

/// `?redirect_to=`, where supabase-js puts `emailRedirectTo` and `redirectTo`.
#[derive(Deserialize)]
pub(super) struct RedirectQuery {
    #[serde(default)]
    pub(super) redirect_to: Option<String>,
}

/// The options of a request for a mail: its `redirect_to` and PKCE challenge.
pub(super) fn mail_options(
    redirect_to: Option<String>,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<MailOptions, AuthError> {
    Ok(MailOptions {
        redirect_to: redirect_to.filter(|r| !r.is_empty()),
        pkce: Pkce::from_request(challenge, method)?,
    })
}

/// The body of `/recover`, `/otp` and `/resend`.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct MailBody {
    email: Option<String>,
    phone: Option<String>,
    create_user: Option<bool>,
    data: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<MetaSecurity>,
}

impl MailBody {
    /// The body, and the client with the body's captcha token.
    fn parse(
        bytes: &Bytes,
        client: crate::client::Client,
    ) -> Result<(MailBody, crate::client::Client), AuthError> {
        let body: MailBody = body(bytes)?;
        let client = MetaSecurity::apply(body.gotrue_meta_security.as_ref(), client);
        Ok((body, client))
    }

    fn options(&self, query: RedirectQuery) -> Result<MailOptions, AuthError> {
        mail_options(
            query.redirect_to,
            self.code_challenge.as_deref(),
            self.code_challenge_method.as_deref(),
        )
    }

    fn refuse_phone(&self) -> Result<(), AuthError> {
        if self.phone.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(ErrorCode::PhoneProviderDisabled.into());
        }
        Ok(())
    }

    fn email(&self, missing: &'static str) -> Result<&str, AuthError> {
        self.email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| AuthError::validation(missing))
    }
}

/// GoTrue's answer to a request for a mail: `{}`, whoever the address belongs to.
fn empty() -> Response {
    json_response(StatusCode::OK, &json!({}))
}

pub(super) async fn recover(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    Query(query): Query<RedirectQuery>,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let (body, client) = MailBody::parse(&bytes, client)?;
    let email = body.email("Password recovery requires an email")?;
    auth.recover(&client, email, &body.options(query)?).await?;
    Ok(empty())
}

pub(super) async fn otp(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    Query(query): Query<RedirectQuery>,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let (body, client) = MailBody::parse(&bytes, client)?;
    body.refuse_phone()?;
    let email = body.email("One of email or phone must be set")?;
    let options = body.options(query)?;
    auth.send_magic_link(
        &client,
        email,
        body.create_user.unwrap_or(true),
        body.data.clone(),
        &options,
    )
    .await?;
    Ok(empty())
}

pub(super) async fn resend(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    Query(query): Query<RedirectQuery>,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let (body, client) = MailBody::parse(&bytes, client)?;
    let kind = match body.kind.as_deref().unwrap_or_default() {
        "signup" => Resend::Signup,
        "email_change" => Resend::EmailChange,
        "sms" | "phone_change" => return Err(ErrorCode::PhoneProviderDisabled.into()),
        _ => {
            return Err(AuthError::validation(
                "Missing one of these types: signup, email_change, sms, phone_change",
            ));
        }
    };
    let email = body.email("Type provided requires an email address")?;
    auth.resend(&client, kind, email, &body.options(query)?)
        .await?;
    Ok(empty())
}

/// The body of `POST /verify`.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct VerifyBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    token: Option<String>,
    token_hash: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    redirect_to: Option<String>,
}

/// A `type` this server verifies, or GoTrue's 400.
fn verify_type(kind: Option<&str>) -> Result<VerifyType, AuthError> {
    let kind = kind
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AuthError::validation("Verify requires a verification type"))?;
    match kind {
        "sms" | "phone_change" => Err(ErrorCode::PhoneProviderDisabled.into()),
        _ => VerifyType::parse(kind)
            .ok_or_else(|| AuthError::validation("Unsupported verification type")),
    }
}

pub(super) async fn verify_post(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let body: VerifyBody = body(&bytes)?;
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    if given(&body.token) == given(&body.token_hash) {
        return Err(AuthError::validation(
            "Verify requires either a token or a token hash",
        ));
    }
    let kind = verify_type(body.kind.as_deref())?;
    let session = if let Some(token_hash) = body.token_hash.as_deref().filter(|t| !t.is_empty()) {
        if given(&body.email) || given(&body.phone) || given(&body.redirect_to) {
            return Err(AuthError::validation(
                "Only the token_hash and type should be provided",
            ));
        }
        auth.verify_link(&client, kind, token_hash, false).await?
    } else {
        if given(&body.phone) {
            return Err(ErrorCode::PhoneProviderDisabled.into());
        }
        let email = body
            .email
            .as_deref()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                AuthError::validation(
                    "Only an email address or phone number should be provided on verify",
                )
            })?;
        let token = body.token.as_deref().unwrap_or_default();
        auth.verify_code(&client, kind, email, token).await?
    };
    match session {
        Verified::Session(session) => Ok(json_response(StatusCode::OK, &session.to_json())),
        Verified::Pending => Ok(json_response(
            StatusCode::OK,
            &json!({ "msg": SINGLE_CONFIRMATION, "code": "200" }),
        )),
        Verified::AuthCode(_) => Err(AuthError::internal("an auth code without PKCE")),
    }
}

/// The query of the mailed link.
#[derive(Deserialize)]
pub(super) struct VerifyQuery {
    #[serde(default)]
    token: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    redirect_to: Option<String>,
}

/// A 303 to `location`.
fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::try_from(location) {
        Ok(value) => {
            res.headers_mut().insert(header::LOCATION, value);
            res
        }
        Err(_) => AuthError::internal("an unencodable redirect").into_response(),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// `target` with its fragment, if any, replaced by `pairs`.
fn with_fragment(target: &str, pairs: &[(&str, &str)]) -> String {
    let base = target.split('#').next().unwrap_or(target);
    format!("{base}#{}", form(pairs))
}

/// `target` with `pairs` added to its query.
fn with_query(target: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(target) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => target.to_owned(),
    }
}

/// GoTrue's error redirect: the error in the fragment (what the implicit flow reads) and in
/// the query (what a server-side PKCE callback reads).
fn error_redirect(target: &str, error: &AuthError) -> Response {
    let status = error.status();
    let kind = match status.as_u16() {
        400 => "invalid_request",
        401 => "unauthorized_client",
        403 => "access_denied",
        503 => "temporarily_unavailable",
        _ => "server_error",
    };
    let description = public_message(error);
    let pairs = [
        ("error", kind),
        ("error_code", error.code().as_str()),
        ("error_description", description.as_str()),
    ];
    let mut fragment = pairs.to_vec();
    fragment.push(("sb", ""));
    see_other(&with_fragment(&with_query(target, &pairs), &fragment))
}

pub(super) async fn verify_get(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    Query(query): Query<VerifyQuery>,
) -> Result<Response, AuthError> {
    if query.kind.is_empty() {
        return Err(AuthError::validation("Verify requires a verification type"));
    }
    if query.token.is_empty() {
        return Err(AuthError::validation(
            "Verify requires a token or a token hash",
        ));
    }
    let target = auth.redirect_target(query.redirect_to.as_deref());
    let kind = match verify_type(Some(&query.kind)) {
        Ok(kind) => kind,
        Err(e) => return Ok(error_redirect(&target, &e)),
    };
    match auth.verify_link(&client, kind, &query.token, true).await {
        Ok(Verified::AuthCode(code)) => Ok(see_other(&with_query(&target, &[("code", &code)]))),
        Ok(Verified::Session(session)) => {
            let (expires_in, expires_at) = (
                session.expires_in.to_string(),
                session.expires_at.to_string(),
            );
            Ok(see_other(&with_fragment(
                &target,
                &[
                    ("access_token", &session.access_token),
                    ("expires_at", &expires_at),
                    ("expires_in", &expires_in),
                    ("refresh_token", &session.refresh_token),
                    ("sb", ""),
                    ("token_type", "bearer"),
                    ("type", &query.kind),
                ],
            )))
        }
        Ok(Verified::Pending) => {
            let message = ("message", SINGLE_CONFIRMATION);
            Ok(see_other(&with_fragment(
                &with_query(&target, &[message]),
                &[message, ("sb", "")],
            )))
        }
        Err(e) => Ok(error_redirect(&target, &e)),
    }
}

pub(super) async fn reauthenticate(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    headers: http::HeaderMap,
) -> Result<Response, AuthError> {
    let (_, claims) = auth.authenticate(super::bearer(&headers)?).await?;
    auth.reauthenticate(&client, &claims).await?;
    Ok(empty())
}

/// The body of `POST /token?grant_type=pkce`.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct PkceBody {
    pub(super) auth_code: Option<String>,
    pub(super) code_verifier: Option<String>,
}
