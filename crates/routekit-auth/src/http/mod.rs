//! The HTTP layer: GoTrue's endpoints under `/auth/v1`, with its status codes, error codes
//! and both error shapes (chosen by the `X-Supabase-Api-Version` request header).

use axum::Router;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

mod email;
mod mailbox;

use crate::API_VERSION;
use crate::client::Client;
use crate::error::{AuthError, ErrorCode};
use crate::ratelimit::{Bucket, Key};
use crate::service::{
    AccountUpdate, AuthService, Ban, DEFAULT_PER_PAGE, NewAccount, SignOutScope, SignUp, UserUpdate,
};

static API_VERSION_HEADER: http::HeaderName =
    http::HeaderName::from_static("x-supabase-api-version");
static ERROR_CODE_HEADER: http::HeaderName = http::HeaderName::from_static("x-sb-error-code");

/// The auth API as an axum router, every route under `/auth/v1`, and the development
/// mailbox at `/_routekit/mailbox` (shown only without SMTP, only to this machine).
///
/// It reads no cookies (only `Authorization: Bearer`), so it needs no CSRF protection: merge
/// it with `App::merge_csrf_exempt` in a routekit app.
///
/// ```no_run
/// # async fn f() -> Result<(), routekit_auth::AuthError> {
/// let auth = routekit_auth::AuthService::start(routekit_auth::AuthConfig::from_env().unwrap()).await?;
/// let router: axum::Router = routekit_auth::router(auth);
/// # Ok(()) }
/// ```
pub fn router(auth: AuthService) -> Router {
    Router::new()
        .route("/auth/v1/signup", post(signup))
        .route("/auth/v1/token", post(token))
        .route("/auth/v1/logout", post(logout))
        .route("/auth/v1/recover", post(email::recover))
        .route("/auth/v1/otp", post(email::otp))
        .route("/auth/v1/resend", post(email::resend))
        .route(
            "/auth/v1/verify",
            get(email::verify_get).post(email::verify_post),
        )
        .route("/auth/v1/reauthenticate", get(email::reauthenticate))
        .route("/_routekit/mailbox", get(mailbox::page))
        .route("/auth/v1/user", get(get_user).put(put_user))
        .route("/auth/v1/factors", post(enroll))
        .route("/auth/v1/factors/{id}", axum::routing::delete(unenroll))
        .route("/auth/v1/factors/{id}/challenge", post(challenge))
        .route("/auth/v1/factors/{id}/verify", post(verify))
        .route("/auth/v1/admin/users", get(admin_list).post(admin_create))
        .route(
            "/auth/v1/admin/users/{id}",
            get(admin_get).put(admin_update).delete(admin_delete),
        )
        .route("/auth/v1/admin/{*rest}", axum::routing::any(admin_unknown))
        .route("/auth/v1/.well-known/jwks.json", get(jwks))
        .route("/auth/v1/settings", get(settings))
        .route("/auth/v1/health", get(health))
        // GoTrue's error shape for URLs it does not have, so supabase-js can read the error
        // (the app's own 404 shape it would show as raw JSON).
        .route("/auth/v1/{*rest}", axum::routing::any(unknown_endpoint))
        .layer(middleware::from_fn(error_shape))
        .with_state(auth)
}

/// The error as the handler produced it, for [`error_shape`] to render.
#[derive(Clone)]
struct Rendered {
    status: StatusCode,
    code: &'static str,
    message: String,
    weak_password: Vec<&'static str>,
    retry_after: Option<u64>,
}

/// What a client is told of an error: a refusal's own message, or a generic one for a fault
/// (which is logged here, and never shown).
fn public_message(error: &AuthError) -> String {
    match error {
        AuthError::Api { message, .. } => message.to_string(),
        AuthError::RateLimited { .. } => "Request rate limit reached".to_owned(),
        AuthError::Busy { .. } => "The server is busy; try again shortly".to_owned(),
        AuthError::Unavailable(source) => {
            tracing::error!(target: "routekit::auth", error = %source, "auth database unavailable");
            "The auth service is temporarily unavailable".to_owned()
        }
        AuthError::Internal(source) => {
            tracing::error!(target: "routekit::auth", error = %source, "auth request failed");
            "Unexpected failure".to_owned()
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = public_message(&self);
        let weak_password = match &self {
            AuthError::Api { weak_password, .. } => weak_password.clone(),
            _ => Vec::new(),
        };
        let retry_after = self.retry_after();
        let mut res = status.into_response();
        res.extensions_mut().insert(Rendered {
            status,
            code: self.code().as_str(),
            message,
            weak_password,
            retry_after,
        });
        res
    }
}

/// Renders errors in the shape the client asked for: `{code, message}` plus the echoed
/// `X-Supabase-Api-Version` when the request sent a version (supabase-js always does; without
/// the echo it drops `error.code`), else GoTrue's legacy `{code: <status>, error_code, msg}`.
async fn error_shape(req: Request, next: Next) -> Response {
    let versioned = req
        .headers()
        .get(&API_VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v >= API_VERSION);
    let mut res = next.run(req).await;
    let Some(error) = res.extensions_mut().remove::<Rendered>() else {
        return res;
    };
    let mut body = if versioned {
        json!({ "code": error.code, "message": error.message })
    } else {
        json!({ "code": error.status.as_u16(), "error_code": error.code, "msg": error.message })
    };
    if !error.weak_password.is_empty() {
        body["weak_password"] = json!({ "reasons": error.weak_password });
    }
    let mut res = (error.status, body.to_string()).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(&ERROR_CODE_HEADER, HeaderValue::from_static(error.code));
    if versioned {
        headers.insert(&API_VERSION_HEADER, HeaderValue::from_static(API_VERSION));
    }
    if let Some(seconds) = error.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    res
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// Parses a JSON body leniently: an empty body is `{}`; unknown fields and `null`s are fine.
fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, AuthError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ErrorCode::BadJson.with_message(format!("{}: {e}", ErrorCode::BadJson.message()))
    })
}

/// The bearer token, or 401 `no_authorization`.
fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    crate::bearer_token(headers).ok_or_else(|| ErrorCode::NoAuthorization.into())
}

#[derive(Default, Deserialize)]
struct Credentials {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    data: Option<Value>,
    /// `{ "captcha_token": "…" }`, or `{}` without a captcha.
    #[serde(default)]
    gotrue_meta_security: Option<MetaSecurity>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
}

#[derive(Default, Deserialize)]
struct MetaSecurity {
    #[serde(default)]
    captcha_token: Option<String>,
}

impl MetaSecurity {
    /// `client` with the captcha token of a body's `gotrue_meta_security`, if it has one.
    fn apply(meta: Option<&MetaSecurity>, client: Client) -> Client {
        match meta.and_then(|m| m.captcha_token.as_deref()) {
            Some(token) => client.with_captcha_token(token),
            None => client,
        }
    }
}

impl Credentials {
    /// The client with the captcha token the body carried.
    fn client(&self, client: Client) -> Client {
        MetaSecurity::apply(self.gotrue_meta_security.as_ref(), client)
    }
}

async fn signup(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    Query(query): Query<email::RedirectQuery>,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let creds: Credentials = body(&bytes)?;
    if creds.phone.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(ErrorCode::PhoneProviderDisabled.with_message("Phone signups are disabled"));
    }
    let client = creds.client(client);
    let email = creds
        .email
        .ok_or_else(|| AuthError::validation("To signup, please provide your email"))?;
    let password = creds.password.unwrap_or_default();
    let options = email::mail_options(
        query.redirect_to,
        creds.code_challenge.as_deref(),
        creds.code_challenge_method.as_deref(),
    )?;
    match auth
        .sign_up_with(&client, &email, &password, creds.data, &options)
        .await?
    {
        SignUp::Session(session) => Ok(json_response(StatusCode::OK, &session.to_json())),
        SignUp::User(user) => Ok(json_response(
            StatusCode::OK,
            &crate::service::unconfirmed_json(&user),
        )),
    }
}

#[derive(Deserialize)]
struct GrantQuery {
    #[serde(default)]
    grant_type: String,
}

#[derive(Default, Deserialize)]
struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

async fn token(
    State(auth): State<AuthService>,
    Query(query): Query<GrantQuery>,
    ClientOf(client): ClientOf,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let session = match query.grant_type.as_str() {
        "password" => {
            let creds: Credentials = body(&bytes)?;
            if creds.phone.as_deref().is_some_and(|p| !p.is_empty()) {
                return Err(AuthError::invalid_credentials());
            }
            auth.sign_in_with_password(
                &creds.client(client),
                creds.email.as_deref().unwrap_or_default(),
                creds.password.as_deref().unwrap_or_default(),
            )
            .await?
        }
        "pkce" => {
            let body: email::PkceBody = body(&bytes)?;
            auth.exchange_auth_code(
                &client,
                body.auth_code.as_deref().unwrap_or_default(),
                body.code_verifier.as_deref().unwrap_or_default(),
            )
            .await?
        }
        "refresh_token" => {
            // The service limits sign-ins itself; refreshes share GoTrue's token limit here.
            if let Some(ip) = client.ip() {
                auth.limit(Bucket::Token, Key::ip(ip))?;
            }
            let body: RefreshBody = body(&bytes)?;
            let token = body
                .refresh_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| AuthError::validation("A refresh_token is required"))?;
            auth.refresh(&token).await?
        }
        _ => {
            return Err(ErrorCode::UnsupportedGrantType.into());
        }
    };
    Ok(json_response(StatusCode::OK, &session.to_json()))
}

#[derive(Deserialize)]
struct LogoutQuery {
    #[serde(default)]
    scope: Option<String>,
}

async fn logout(
    State(auth): State<AuthService>,
    Query(query): Query<LogoutQuery>,
    headers: HeaderMap,
) -> Result<Response, AuthError> {
    let scope = match query.scope.as_deref() {
        None | Some("global") => SignOutScope::Global,
        Some("local") => SignOutScope::Local,
        Some("others") => SignOutScope::Others,
        Some(_) => return Err(AuthError::validation("Unsupported logout scope")),
    };
    let token = bearer(&headers)?;
    let claims = auth.verify_access_token(token).await?;
    auth.sign_out(&claims, scope).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_user(
    State(auth): State<AuthService>,
    headers: HeaderMap,
) -> Result<Response, AuthError> {
    let (user, _) = auth.authenticate(bearer(&headers)?).await?;
    user_response(&auth, &user).await
}

/// 200 with the user as `GET /user` shows it, factors included.
async fn user_response(
    auth: &AuthService,
    user: &crate::user::User,
) -> Result<Response, AuthError> {
    let factors = auth.factors(&user.id).await?;
    Ok(json_response(StatusCode::OK, &user.to_json(&factors)))
}

#[derive(Default, Deserialize)]
struct UserBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    app_metadata: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
}

async fn put_user(
    State(auth): State<AuthService>,
    ClientOf(client): ClientOf,
    Query(query): Query<email::RedirectQuery>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let (_, claims) = auth.authenticate(bearer(&headers)?).await?;
    let body: UserBody = body(&bytes)?;
    if body.app_metadata.is_some() {
        return Err(ErrorCode::NotAdmin.into());
    }
    if body.phone.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(ErrorCode::PhoneProviderDisabled.into());
    }
    let update = UserUpdate {
        email: body.email.filter(|e| !e.is_empty()),
        password: body.password.filter(|p| !p.is_empty()),
        data: body.data,
        nonce: body.nonce,
        mail_options: email::mail_options(
            query.redirect_to,
            body.code_challenge.as_deref(),
            body.code_challenge_method.as_deref(),
        )?,
    };
    let user = auth.update_user(&client, &claims, update).await?;
    user_response(&auth, &user).await
}

/// The request's client (see [`AuthService::client`]), as an extractor.
struct ClientOf(Client);

impl axum::extract::FromRequestParts<AuthService> for ClientOf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        auth: &AuthService,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientOf(auth.client(&parts.headers, peer)))
    }
}

#[derive(Default, Deserialize)]
struct EnrollBody {
    #[serde(default)]
    factor_type: Option<String>,
    #[serde(default)]
    friendly_name: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
}

async fn enroll(
    State(auth): State<AuthService>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let (_, claims) = auth.authenticate(bearer(&headers)?).await?;
    let body: EnrollBody = body(&bytes)?;
    if body.factor_type.as_deref() != Some("totp") {
        return Err(AuthError::validation("factor_type needs to be totp"));
    }
    let enrollment = auth
        .enroll_totp(
            &claims,
            body.friendly_name.as_deref(),
            body.issuer.as_deref(),
        )
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id": enrollment.id,
            "type": "totp",
            "friendly_name": enrollment.friendly_name,
            "totp": {
                "qr_code": enrollment.qr_code,
                "secret": enrollment.secret,
                "uri": enrollment.uri,
            },
        }),
    ))
}

async fn challenge(
    State(auth): State<AuthService>,
    Path(id): Path<String>,
    ClientOf(client): ClientOf,
    headers: HeaderMap,
) -> Result<Response, AuthError> {
    let (_, claims) = auth.authenticate(bearer(&headers)?).await?;
    let challenge = auth.challenge(&client, &claims, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "id": challenge.id, "type": "totp", "expires_at": challenge.expires_at }),
    ))
}

#[derive(Default, Deserialize)]
struct VerifyBody {
    #[serde(default)]
    challenge_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

async fn verify(
    State(auth): State<AuthService>,
    Path(id): Path<String>,
    ClientOf(client): ClientOf,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let (_, claims) = auth.authenticate(bearer(&headers)?).await?;
    let body: VerifyBody = body(&bytes)?;
    let challenge_id = body
        .challenge_id
        .ok_or_else(|| AuthError::validation("challenge_id is required"))?;
    let code = body.code.unwrap_or_default();
    let session = auth
        .verify_totp(&client, &claims, &id, &challenge_id, &code)
        .await?;
    Ok(json_response(StatusCode::OK, &session.to_json()))
}

async fn unenroll(
    State(auth): State<AuthService>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AuthError> {
    let (_, claims) = auth.authenticate(bearer(&headers)?).await?;
    let id = auth.unenroll(&claims, &id).await?;
    // supabase-js needs a JSON body here: a 204 makes it fail.
    Ok(json_response(StatusCode::OK, &json!({ "id": id })))
}

async fn jwks(State(auth): State<AuthService>) -> Response {
    let mut res = json_response(StatusCode::OK, &auth.keys().jwks());
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    res
}

async fn settings(State(auth): State<AuthService>) -> Response {
    let config = auth.config();
    json_response(
        StatusCode::OK,
        &json!({
            "external": { "anonymous_users": false, "email": true, "phone": false },
            "disable_signup": config.disable_signup,
            "mailer_autoconfirm": config.autoconfirm,
            "phone_autoconfirm": false,
            "sms_provider": "",
            "saml_enabled": false,
        }),
    )
}

async fn unknown_endpoint() -> AuthError {
    ErrorCode::NotFound.into()
}

async fn health() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "version": concat!("routekit-auth/", env!("CARGO_PKG_VERSION")),
            "name": "GoTrue",
            "description": "GoTrue is a user registration and authentication API",
        }),
    )
}

/// A request of the operator: its `Authorization: Bearer` is a service-role key (see
/// [`AuthService::verify_service_role_key`]). Only the header counts: a key in a cookie is
/// never read, so a page cannot be made to call the admin API with a browser's credentials.
struct ServiceRole;

impl axum::extract::FromRequestParts<AuthService> for ServiceRole {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        auth: &AuthService,
    ) -> Result<Self, Self::Rejection> {
        auth.verify_service_role_key(bearer(&parts.headers)?)
            .await?;
        Ok(ServiceRole)
    }
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: String,
    #[serde(default)]
    per_page: String,
}

/// A page parameter: empty is `default`; anything but digits is 400 `validation_failed`.
fn page_param(text: &str, default: u64) -> Result<u64, AuthError> {
    if text.is_empty() {
        return Ok(default);
    }
    text.parse().map_err(|_| {
        AuthError::validation(format!(
            "Bad Pagination Parameters: strconv.ParseUint: parsing \"{}\": invalid syntax",
            text.escape_debug()
        ))
    })
}

async fn admin_list(
    State(auth): State<AuthService>,
    _: ServiceRole,
    Query(query): Query<PageQuery>,
) -> Result<Response, AuthError> {
    let page = page_param(&query.page, 1)?;
    let per_page = page_param(&query.per_page, DEFAULT_PER_PAGE)?;
    let list = auth.admin().list_users(page, per_page).await?;
    let users: Vec<Value> = list.users.iter().map(|u| u.to_json(&[])).collect();
    let mut res = json_response(
        StatusCode::OK,
        &json!({ "users": users, "aud": "authenticated" }),
    );
    // GoTrue's pagination headers, which `listUsers` reads into nextPage, lastPage, total.
    let link = |page: u64, rel: &str| {
        format!(
            "</auth/v1/admin/users?page={page}&per_page={}>; rel=\"{rel}\"",
            list.per_page
        )
    };
    let mut links = Vec::new();
    if let Some(next) = list.next_page() {
        links.push(link(next, "next"));
    }
    links.push(link(list.last_page(), "last"));
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::try_from(links.join(", ")) {
        headers.insert(header::LINK, value);
    }
    headers.insert("x-total-count", HeaderValue::from(list.total));
    Ok(res)
}

/// The body of `POST /admin/users` and `PUT /admin/users/{id}` (GoTrue's `AdminUserParams`).
#[derive(Default, Deserialize)]
#[serde(default)]
struct AdminUserBody {
    id: Option<String>,
    aud: Option<String>,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    password_hash: Option<String>,
    email_confirm: Option<bool>,
    user_metadata: Option<Value>,
    app_metadata: Option<Value>,
    ban_duration: Option<String>,
}

impl AdminUserBody {
    /// Refuses what this server does not do, rather than ignoring it: phones, imported
    /// hashes, and audiences or database roles other than `authenticated` (there is no
    /// database role for a user here; roles that routes check live in `app_metadata.role`).
    fn check(&self) -> Result<Option<Ban>, AuthError> {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        if given(&self.phone) {
            return Err(ErrorCode::PhoneProviderDisabled.into());
        }
        if given(&self.password_hash) {
            return Err(AuthError::validation(
                "password_hash is not supported by this server: set a password instead",
            ));
        }
        for (name, value) in [("role", &self.role), ("aud", &self.aud)] {
            if given(value) && value.as_deref() != Some("authenticated") {
                return Err(AuthError::validation(format!(
                    "{name} can only be authenticated here; put application roles in app_metadata.role"
                )));
            }
        }
        self.ban_duration
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(Ban::parse)
            .transpose()
    }
}

async fn admin_create(
    State(auth): State<AuthService>,
    _: ServiceRole,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let body: AdminUserBody = body(&bytes)?;
    let ban = body.check()?;
    let email = body.email.filter(|e| !e.is_empty()).ok_or_else(|| {
        AuthError::validation("Cannot create a user without either an email or phone")
    })?;
    let mut account = NewAccount::new(email);
    account.password = body.password;
    account.email_confirm = body.email_confirm.unwrap_or(false);
    account.user_metadata = body.user_metadata;
    account.app_metadata = body.app_metadata;
    account.ban = ban;
    account.id = body.id.filter(|id| !id.is_empty());
    let user = auth.admin().create_user(account).await?;
    Ok(json_response(StatusCode::OK, &user.to_json(&[])))
}

async fn admin_get(
    State(auth): State<AuthService>,
    _: ServiceRole,
    Path(id): Path<String>,
) -> Result<Response, AuthError> {
    let user = auth.admin().user(&id).await?;
    user_response(&auth, &user).await
}

async fn admin_update(
    State(auth): State<AuthService>,
    _: ServiceRole,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let body: AdminUserBody = body(&bytes)?;
    let ban = body.check()?;
    let update = AccountUpdate {
        email: body.email,
        email_confirm: body.email_confirm.unwrap_or(false),
        password: body.password,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
        ban,
    };
    let user = auth.admin().update_user(&id, update).await?;
    user_response(&auth, &user).await
}

#[derive(Default, Deserialize)]
struct DeleteBody {
    #[serde(default)]
    should_soft_delete: bool,
}

async fn admin_delete(
    State(auth): State<AuthService>,
    _: ServiceRole,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, AuthError> {
    let body: DeleteBody = body(&bytes)?;
    if body.should_soft_delete {
        return Err(AuthError::validation(
            "soft deletion is not supported by this server: delete the user",
        ));
    }
    auth.admin().delete_user(&id).await?;
    Ok(json_response(StatusCode::OK, &json!({})))
}

/// Admin endpoints this server does not have: the caller must still be the operator, so the
/// answer tells nobody else which ones exist.
async fn admin_unknown(_: ServiceRole) -> AuthError {
    ErrorCode::NotFound.into()
}
