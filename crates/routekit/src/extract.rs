//! Extractors for the URL, with JSON errors: `Path`, `Query` and `Segments`.

use axum::extract::{FromRequestParts, MatchedPath};
use http::request::Parts;
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Values of `[param]` folders, like axum's `Path`, answering 400 `invalid_path_param` when a
/// value does not parse, or is (or decodes to a path through) `.` or `..`, or holds NUL, as
/// [`Segments`] refuses them.
///
/// ```
/// // app/users/[id]/route.rs
/// use routekit::{Json, Path};
///
/// pub async fn GET(Path(id): Path<u64>) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "id": id }))
/// }
/// ```
///
/// Several parameters come as a tuple or a struct whose fields are the folder names:
/// `Path((org, id)): Path<(String, u64)>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        check_params(parts, state).await?;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            // A handler asking for parameters its URL does not have is the app's bug, not the
            // client's.
            Err(rejection) if rejection.status().is_server_error() => {
                Err(ApiError::internal(rejection.body_text()))
            }
            Err(rejection) => Err(ApiError::bad_request(
                "invalid_path_param",
                rejection.body_text(),
            )),
        }
    }
}

/// Refuses `[param]` values that would walk a path: `.`, `..`, or a value whose pieces
/// between `/` or `\` (decoded: `..%2F..%2Fetc` is one segment on the wire) include one,
/// and values holding NUL. An encoded `/` alone is fine (`a%2Fb` is `a/b`, one value).
async fn check_params<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<(), ApiError> {
    let Ok(params) = axum::extract::RawPathParams::from_request_parts(parts, state).await else {
        // No parameters, or not UTF-8: axum's `Path` answers for those.
        return Ok(());
    };
    for (_, value) in &params {
        let walks = value
            .split(['/', '\\'])
            .any(|piece| piece == "." || piece == "..");
        if walks || value.contains('\0') {
            return Err(ApiError::bad_request(
                "invalid_path_param",
                "`.` and `..` segments and NUL are not allowed in a path parameter",
            ));
        }
    }
    Ok(())
}

/// The query string, deserialized; 422 `validation_failed` when it does not fit, naming the
/// field in `error.fields` as a body's would be. With `Valid<Query<T>>` the type's
/// `validator` rules run too.
///
/// ```
/// use routekit::{Json, Query};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// pub struct Page { page: Option<u32> }
///
/// pub async fn GET(Query(p): Query<Page>) -> Json<u32> {
///     Json(p.page.unwrap_or(1))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| crate::field::invalid(&e))
    }
}

/// The values of a catch-all folder (`[...slug]` or `[[...slug]]`), one string per URL segment.
///
/// Each segment is percent-decoded on its own, so `%2F` never becomes a separator. Segments
/// that are empty, `.` or `..`, or that decode to something holding `/`, `\` or NUL, are
/// answered with 400 `invalid_path_segment`: a `Segments` value is safe to join into a path.
/// An optional catch-all matched with no segments gives an empty list.
///
/// ```
/// // app/docs/[...slug]/route.rs
/// use routekit::{Json, Segments};
///
/// pub async fn GET(slug: Segments) -> Json<Vec<String>> {
///     Json(slug.into_vec())
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segments(Vec<String>);

impl Segments {
    /// Splits and checks a raw (still percent-encoded) catch-all value such as `a/b%20c`.
    ///
    /// ```
    /// use routekit::Segments;
    /// assert_eq!(Segments::parse("a/b%20c").unwrap().as_slice(), ["a", "b c"]);
    /// assert_eq!(Segments::parse("a/../b").unwrap_err().code(), "invalid_path_segment");
    /// assert!(Segments::parse("..%2Fetc").is_err());
    /// assert!(Segments::parse("").unwrap().is_empty());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if raw.is_empty() {
            return Ok(Segments(Vec::new()));
        }
        raw.split('/')
            .map(|part| {
                let decoded = percent_decode_str(part).decode_utf8().map_err(|_| {
                    ApiError::bad_request(
                        "invalid_path_segment",
                        "a path segment is not valid UTF-8",
                    )
                })?;
                if decoded.is_empty() || decoded == "." || decoded == ".." {
                    return Err(ApiError::bad_request(
                        "invalid_path_segment",
                        "empty, `.` and `..` path segments are not allowed",
                    ));
                }
                if decoded.contains(['/', '\\', '\0']) {
                    return Err(ApiError::bad_request(
                        "invalid_path_segment",
                        "a path segment may not contain an encoded `/`, `\\` or NUL",
                    ));
                }
                Ok(decoded.into_owned())
            })
            .collect::<Result<_, _>>()
            .map(Segments)
    }

    /// The segments.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The segments, owned.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    /// Whether there are none (an optional catch-all matched its parent URL).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many segments there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::ops::Deref for Segments {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(matched) = parts.extensions.get::<MatchedPath>() else {
            return Err(ApiError::internal(
                "`Segments` used outside a routed handler",
            ));
        };
        // The catch-all is the last segment of the pattern; the raw path has the same number
        // of segments before it. Working on the raw path keeps `%2F` inside its segment.
        let pattern = matched.as_str();
        let Some(index) = pattern.split('/').position(|p| p.starts_with("{*")) else {
            return Ok(Segments(Vec::new()));
        };
        let path = parts.uri.path();
        let mut offset = 0;
        for _ in 0..index {
            match path[offset..].find('/') {
                Some(i) => offset += i + 1,
                None => {
                    return Err(ApiError::internal(
                        "catch-all pattern does not fit the path",
                    ));
                }
            }
        }
        Segments::parse(&path[offset..])
    }
}
