//! `Form`: an HTML form body (`application/x-www-form-urlencoded`), with JSON errors.

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::json::{body_rejection, content_type, unsupported_media_type};

/// An urlencoded form body, as a browser's `<form method="post">` sends it.
///
/// Client mistakes get JSON errors the handler never sees: wrong `Content-Type` → 415
/// `unsupported_media_type`; body over the limit → 413 `payload_too_large`; a missing or
/// mistyped field → 422 `validation_failed`, naming the field in `error.fields` without
/// repeating its value. Fields the type does not name (such as `csrf_token`) are ignored.
/// With `Valid<Form<T>>` the type's `validator` rules run too.
///
/// ```
/// use routekit::{Form, Redirect};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// pub struct Entry { message: String }
///
/// pub async fn POST(Form(entry): Form<Entry>) -> Redirect {
///     // … store entry.message …
///     Redirect::see_other("/guestbook")
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> Form<T> {
    /// Parses an urlencoded body, with the extractor's 422 error.
    ///
    /// ```
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Entry { n: u8 }
    /// assert_eq!(routekit::Form::<Entry>::from_bytes(b"n=7&x=1").unwrap().0.n, 7);
    /// let err = routekit::Form::<Entry>::from_bytes(b"n=seven").unwrap_err();
    /// assert_eq!(err.code(), "validation_failed");
    /// assert_eq!(err.fields()[0].path(), "n");
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ApiError> {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
        serde_path_to_error::deserialize(de)
            .map(Form)
            .map_err(|e| crate::field::invalid(&e))
    }
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = content_type(req.headers()).is_some_and(|m| {
            m.type_() == mime::APPLICATION && m.subtype() == mime::WWW_FORM_URLENCODED
        });
        if !is_form {
            return Err(unsupported_media_type("application/x-www-form-urlencoded"));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        Self::from_bytes(&bytes)
    }
}
