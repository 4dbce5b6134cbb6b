//! HTML error pages for browsers: a navigation that ends in one of routekit's JSON errors gets
//! the app's page for it instead; API calls keep the JSON.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::field::FieldError;

/// The largest error body read back to render its page. routekit's own errors are far smaller;
/// a larger or broken body (not one of ours) is answered with its status alone, since reading
/// it consumed it.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// One error, as an error page renders it: routekit's JSON error (`status`, `code`,
/// `message`, `fields`) and the URL the browser asked for.
///
/// ```
/// use routekit::ErrorPage;
/// use routekit::axum::response::Html;
///
/// fn render(page: &ErrorPage) -> Html<String> {
///     let title = match page.status.as_u16() {
///         404 => "Page not found",
///         403 => "Not allowed",
///         _ => "Something went wrong",
///     };
///     Html(format!("<!doctype html><title>{title}</title><h1>{title}</h1>"))
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ErrorPage {
    /// The error's status (the page is answered with it).
    pub status: StatusCode,
    /// The stable code, e.g. `not_found`, `csrf_token_invalid`, `validation_failed`.
    pub code: String,
    /// The human message of the JSON error (never a server error's cause: 500s say only
    /// "internal error").
    pub message: String,
    /// The failing fields of a `validation_failed` error.
    pub fields: Vec<FieldError>,
    /// The path and query the browser asked for.
    pub path: String,
}

/// The function behind [`App::error_pages`](crate::App::error_pages).
#[derive(Clone)]
pub(crate) struct Render(pub(crate) Arc<dyn Fn(&ErrorPage) -> Response + Send + Sync>);

impl std::fmt::Debug for Render {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Render(..)")
    }
}

/// Whether `res` is one of routekit's JSON errors that an error page could replace.
pub(crate) fn is_json_error(res: &Response) -> bool {
    (res.status().is_client_error() || res.status().is_server_error())
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/json"))
}

/// Reads the JSON error out of `res` and answers the page `render` gives for it, with the
/// error's status and headers (`Allow`, `Retry-After`, cookies); a body that is not
/// routekit's error shape is answered unchanged.
pub(crate) fn render(
    res: Response,
    path: String,
    render: Render,
) -> Pin<Box<dyn Future<Output = Response> + Send>> {
    Box::pin(async move {
        let (mut parts, body) = res.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
            // Too large or broken: not an error body of ours; nothing left to pass on.
            return parts.status.into_response();
        };
        let Some(page) = parse(parts.status, &bytes, path) else {
            return Response::from_parts(parts, Body::from(bytes));
        };
        let rendered = (render.0)(&page);
        let (rendered_parts, body) = rendered.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(
            header::CONTENT_TYPE,
            rendered_parts
                .headers
                .get(header::CONTENT_TYPE)
                .cloned()
                .unwrap_or(HeaderValue::from_static("text/html; charset=utf-8")),
        );
        parts
            .headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Response::from_parts(parts, body)
    })
}

/// `{"error":{"code":…,"message":…,"fields":[…]}}`, or `None` for any other body.
fn parse(status: StatusCode, body: &[u8], path: String) -> Option<ErrorPage> {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        code: String,
        message: String,
        #[serde(default)]
        fields: Vec<Field>,
    }
    #[derive(serde::Deserialize)]
    struct Field {
        path: String,
        code: String,
        message: String,
    }
    let body: Body = serde_json::from_slice(body).ok()?;
    Some(ErrorPage {
        status,
        code: body.error.code,
        message: body.error.message,
        fields: body
            .error
            .fields
            .into_iter()
            .map(|f| FieldError::new(f.path, f.code, f.message))
            .collect(),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_routekit_error_bodies_become_pages() {
        let page = parse(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"error":{"code":"validation_failed","message":"`text`: too long","fields":[{"path":"text","code":"length","message":"too long"}]}}"#,
            "/notes".into(),
        )
        .unwrap();
        assert_eq!(page.code, "validation_failed");
        assert_eq!(page.fields[0].path(), "text");
        assert!(parse(StatusCode::BAD_REQUEST, br#"{"msg":"mine"}"#, "/".into()).is_none());
        assert!(parse(StatusCode::BAD_REQUEST, b"not json", "/".into()).is_none());
    }
}
