//! `Json`: the request body extractor and the response, like `NextResponse.json`.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body in, or a JSON response out.
///
/// As an extractor it answers client mistakes itself, with JSON errors the handler never sees:
/// wrong `Content-Type` → 415 `unsupported_media_type`; body over the limit → 413
/// `payload_too_large`; syntax error (or nesting deeper than 128) → 400 `invalid_json`; valid
/// JSON of the wrong shape → 422 `validation_failed`, naming the field in `error.fields`
/// without repeating its value (see [`FieldError`](crate::FieldError)); with
/// `Valid<Json<T>>` the type's `validator` rules run too. `; charset=utf-8` and
/// `application/*+json` types are accepted.
///
/// ```
/// use routekit::Json;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize)]
/// pub struct Item { name: String }
///
/// pub async fn POST(Json(item): Json<Item>) -> Json<Item> {
///     Json(item)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> Json<T> {
    /// Parses a body, with the same errors as the extractor (except 415 and 413).
    ///
    /// ```
    /// let ok = routekit::Json::<Vec<u8>>::from_bytes(b"[1,2]").unwrap();
    /// assert_eq!(ok.0, [1, 2]);
    /// let err = routekit::Json::<Vec<u8>>::from_bytes(b"[1,").unwrap_err();
    /// assert_eq!(err.code(), "invalid_json");
    /// let err = routekit::Json::<Vec<u8>>::from_bytes(b"[\"a\"]").unwrap_err();
    /// assert_eq!(err.code(), "validation_failed");
    /// assert_eq!(err.fields()[0].path(), "[0]");
    /// // A syntax error is 400 even where the type is wrong before it.
    /// let err = routekit::Json::<Vec<u8>>::from_bytes(b"[\"a\",]").unwrap_err();
    /// assert_eq!(err.code(), "invalid_json");
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ApiError> {
        // The common case first, at serde_json's full speed; the error path parses again,
        // tracking where it failed.
        if let Ok(value) = serde_json::from_slice(bytes) {
            return Ok(Json(value));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            // serde stops at the first problem, which for a typed target may be a type
            // mismatch before a syntax error further on (and serde_json reports some
            // mismatches, a number for an enum, as syntax). Only a body that is valid JSON as
            // a whole is "the wrong shape"; this second parse runs on the error path alone, and
            // its error (serde_json's syntax messages never quote the input) is the one shown.
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => crate::field::invalid(&e),
                Err(syntax) => invalid_json(&syntax),
            }
        })?;
        de.end().map_err(|e| invalid_json(&e))?;
        Ok(Json(value))
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(unsupported_media_type("application/json"));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        Self::from_bytes(&bytes)
    }
}

/// 400 `invalid_json`, with serde_json's syntax message (which never quotes the input).
fn invalid_json(error: &serde_json::Error) -> ApiError {
    ApiError::bad_request(
        "invalid_json",
        format!("request body is not valid JSON: {error}"),
    )
}

/// Maps a failure to read the body: over the limit is 413, anything else (a client that hung
/// up, bad chunking) is the client's 400.
pub(crate) fn body_rejection(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than this route accepts",
        )
    } else {
        ApiError::bad_request("invalid_body", "request body could not be read")
    }
}

/// The parsed `Content-Type`, if there is a valid one.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<mime::Mime> {
    headers
        .get(header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// 415 `unsupported_media_type`, naming the type the extractor wanted.
pub(crate) fn unsupported_media_type(expected: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("expected a request with `Content-Type: {expected}`"),
    )
}

/// `application/json`, `application/json; charset=utf-8`, `application/vnd.api+json`, …
fn is_json(headers: &HeaderMap) -> bool {
    // The common case without parsing: exactly `application/json`.
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"))
    {
        return true;
    }
    content_type(headers).is_some_and(|mime| {
        mime.type_() == mime::APPLICATION
            && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
    })
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = BytesMut::with_capacity(128).writer();
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => {
                let mut res = buf.into_inner().freeze().into_response();
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                res
            }
            Err(e) => ApiError::internal(e).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        h
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("application/json; charset=utf-8")));
        assert!(is_json(&headers("Application/JSON")));
        assert!(is_json(&headers("application/merge-patch+json")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&headers("application/jsonx")));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn deep_nesting_is_a_syntax_error() {
        let deep = "[".repeat(10_000);
        let err = Json::<serde_json::Value>::from_bytes(deep.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "invalid_json");
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let err = Json::<u8>::from_bytes(b"1 2").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}
