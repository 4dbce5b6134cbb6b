//! The one error type at the HTTP edge: every failure becomes JSON with a stable `code`.

use std::borrow::Cow;
use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::field::FieldError;

/// An error answered as `{"error":{"code":"…","message":"…"}}` with its status.
///
/// Handlers return `Result<_, ApiError>` (or [`ApiResult`]). Any `std::error::Error` converts
/// into a 500 `internal` error with `?`: the source is logged, the body stays opaque.
///
/// ```
/// use routekit::{ApiError, ApiResult, Json};
/// use routekit::http::StatusCode;
///
/// async fn find(id: u32) -> ApiResult<Json<serde_json::Value>> {
///     if id == 0 {
///         return Err(ApiError::not_found("no item has id 0"));
///     }
///     let n: u32 = "42".parse()?; // a ParseIntError would become a 500 `internal`
///     Ok(Json(serde_json::json!({ "id": id, "n": n })))
/// }
///
/// let e = ApiError::new(StatusCode::CONFLICT, "item_exists", "an item with this name exists");
/// assert_eq!(e.status(), StatusCode::CONFLICT);
/// assert_eq!(e.code(), "item_exists");
/// ```
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    retry_after: Option<u64>,
    fields: Box<[FieldError]>,
}

/// `Result<T, ApiError>`, the usual handler return type.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a status, a stable machine-readable code and a human message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            source: None,
            retry_after: None,
            fields: Box::default(),
        }
    }

    /// 422 `validation_failed`, listing every failing field in `error.fields`. The message
    /// names the field when there is one, and counts them when there are several.
    ///
    /// ```
    /// use routekit::{ApiError, FieldError};
    ///
    /// let e = ApiError::validation(vec![
    ///     FieldError::new("email", "email", "must be an e-mail address"),
    ///     FieldError::new("items[0].qty", "range", "must be at least 1"),
    /// ]);
    /// assert_eq!(e.message(), "2 fields are not valid");
    /// assert_eq!(e.fields().len(), 2);
    /// ```
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message: Cow<'static, str> = match fields.as_slice() {
            [] => "the input is not valid".into(),
            [one] if one.path().is_empty() => format!("the input {}", one.message()).into(),
            [one] => format!("`{}`: {}", one.path(), one.message()).into(),
            many => format!("{} fields are not valid", many.len()).into(),
        };
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        );
        e.fields = fields.into();
        e
    }

    /// The failing fields of a `validation_failed` error; empty for any other.
    pub fn fields(&self) -> &[FieldError] {
        &self.fields
    }

    /// Adds `Retry-After: <seconds>` to the response (for 429 and 503).
    ///
    /// ```
    /// use routekit::ApiError;
    /// use routekit::http::StatusCode;
    ///
    /// let e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", "try again later")
    ///     .with_retry_after(30);
    /// assert_eq!(e.retry_after(), Some(30));
    /// ```
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The `Retry-After` seconds, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The error of an auth-service call, with its status and code: a refusal keeps
    /// GoTrue's status and code, a rate limit is 429 and a busy server 503 (both with
    /// `Retry-After`), an unreachable database 503 `unavailable`, anything else 500.
    ///
    /// ```
    /// use routekit::ApiError;
    /// use routekit::auth::AuthError;
    ///
    /// let e = ApiError::from_auth(AuthError::RateLimited { retry_after: 9 });
    /// assert_eq!((e.status().as_u16(), e.code(), e.retry_after()), (429, "over_request_rate_limit", Some(9)));
    /// assert_eq!(ApiError::from_auth(AuthError::invalid_credentials()).status(), 400);
    /// ```
    #[cfg(feature = "sessions")]
    pub fn from_auth(error: routekit_auth::AuthError) -> Self {
        use routekit_auth::AuthError;
        let retry_after = error.retry_after();
        let e = match error {
            AuthError::Api { code, message, .. } => {
                Self::new(code.status(), code.as_str(), message)
            }
            e @ (AuthError::RateLimited { .. } | AuthError::Busy { .. }) => {
                Self::new(e.status(), e.code().as_str(), e.to_string())
            }
            AuthError::Unavailable(source) => Self::unavailable(source),
            other => Self::internal(other),
        };
        match retry_after {
            Some(seconds) => e.with_retry_after(seconds),
            None => e,
        }
    }

    /// 400 with the given code.
    pub fn bad_request(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// What a URL no route serves gets, and what a role route answers a user without the
    /// role, so that the two cannot be told apart.
    pub(crate) fn no_route() -> Self {
        Self::not_found("no route matches this URL")
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 422 with the given code, for a well-formed body that fails validation.
    pub fn unprocessable(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 500 `internal`. The source is logged; the response body says only "internal error".
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
        .with_source(source)
    }

    /// 503 `unavailable`, for a dependency (a database) that is down.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is temporarily unavailable",
        )
        .with_source(source)
    }

    /// Keeps a source to log (only 5xx errors are logged).
    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code, e.g. `not_found`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body of this error; `fields` only when there are some.
    ///
    /// ```
    /// let e = routekit::ApiError::not_found("no such page");
    /// assert_eq!(e.body(), r#"{"error":{"code":"not_found","message":"no such page"}}"#);
    /// ```
    pub fn body(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            error: Inner<'a>,
        }
        #[derive(serde::Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            fields: &'a [FieldError],
        }
        let body = Body {
            error: Inner {
                code: &self.code,
                message: &self.message,
                fields: &self.fields,
            },
        };
        serde_json::to_string(&body).expect("strings always serialize")
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("source", &self.source)
            .field("fields", &self.fields)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

/// `?` on any error: a 500 whose source is logged, except an auth service error, which keeps
/// its status, code and `Retry-After` ([`ApiError::from_auth`]): a handler calling the auth
/// service during a database outage answers 503, not 500; a `sqlx::Error` (feature `db`)
/// that means the database is unreachable ([`routekit_db::is_outage`]), which is 503
/// `unavailable` too; and `validator`'s
/// `ValidationErrors` (feature `validate`), which is the client's 422 `validation_failed`.
impl<E> From<E> for ApiError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(source: E) -> Self {
        // The blanket impl leaves no room for a specific one; the type is checked instead.
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(source);
        #[cfg(feature = "sessions")]
        let boxed = match boxed.downcast::<routekit_auth::AuthError>() {
            Ok(auth) => return ApiError::from_auth(*auth),
            Err(other) => other,
        };
        #[cfg(feature = "db")]
        let boxed = match boxed.downcast::<routekit_db::sqlx::Error>() {
            Ok(e) if routekit_db::is_outage(&e) => return ApiError::unavailable(e),
            Ok(e) => return ApiError::internal(e),
            Err(other) => other,
        };
        #[cfg(feature = "validate")]
        let boxed = match boxed.downcast::<validator::ValidationErrors>() {
            Ok(errors) => return crate::valid::errors(&errors),
            Err(other) => other,
        };
        ApiError::internal(boxed)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // 4xx is the client's business and is not logged; 5xx is ours, logged with its source.
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => {
                    tracing::error!(code = %self.code, error = %source, "request failed")
                }
                None => {
                    tracing::error!(code = %self.code, message = %self.message, "request failed")
                }
            }
        }
        let mut res = json_error_response(self.status, self.body());
        if let Some(seconds) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        res
    }
}

pub(crate) fn json_error_response(status: StatusCode, body: String) -> Response {
    let mut res = Response::new(axum::body::Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_escaped_as_json() {
        let e = ApiError::bad_request("bad", "a \"quoted\" <word>");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["error"]["message"], "a \"quoted\" <word>");
    }

    #[cfg(feature = "sessions")]
    #[test]
    fn auth_errors_keep_their_status_through_question_mark() {
        fn call(e: routekit_auth::AuthError) -> ApiResult<()> {
            Err(e)?
        }
        let busy = call(routekit_auth::AuthError::Busy { retry_after: 2 }).unwrap_err();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.retry_after(), Some(2));
        let refused = call(routekit_auth::AuthError::invalid_credentials()).unwrap_err();
        assert_eq!(
            (refused.status(), refused.code()),
            (StatusCode::BAD_REQUEST, "invalid_credentials")
        );
    }

    #[test]
    fn internal_errors_hide_their_source() {
        let e: ApiError = "x".parse::<u8>().unwrap_err().into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.body().contains("digit"));
    }
}
