//! `Valid`: input that parsed and passed its `validator` rules, or a 422 listing every
//! failing field.
//!
//! routekit uses the [`validator`] crate rather than `garde`: each of its rules carries a
//! stable machine-readable code (`length`, `range`, `email`, or the code a custom rule
//! gives), which is what `error.fields[].code` needs, and it reports every failing field of a
//! struct, its nested structs and its lists at once. `garde` reports messages only.

use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::error::ApiError;
use crate::field::{FieldError, push_index, push_key};
use crate::{Form, Json, Query};

/// An extractor whose value passed its [`Validate`] rules: `Valid<Json<T>>`,
/// `Valid<Form<T>>` or `Valid<Query<T>>`.
///
/// Input that does not fit the type (a missing field, a wrong type, an unknown field under
/// `deny_unknown_fields`) and input that breaks a rule both answer **422**
/// `validation_failed`, with `error.fields` listing `{ "path", "code", "message" }` for every
/// failing rule at once, sorted by path. Messages say what the rule wants and never repeat
/// the submitted value. A JSON syntax error stays 400 `invalid_json`. The handler runs only
/// with valid input.
///
/// Derive `Validate` with the `validator` crate (`validator = { version = "0.21", features =
/// ["derive"] }`), or through routekit's re-export with `#[validate(crate =
/// "routekit::validator")]`.
///
/// ```
/// use routekit::validator::Validate;
/// use routekit::{Json, Valid};
/// use serde::Deserialize;
///
/// #[derive(Deserialize, Validate)]
/// #[validate(crate = "routekit::validator")]
/// pub struct SignUp {
///     #[validate(email)]
///     email: String,
///     #[validate(length(min = 12, max = 128))]
///     password: String,
///     #[validate(nested)]
///     address: Address,
/// }
///
/// #[derive(Deserialize, Validate)]
/// #[validate(crate = "routekit::validator")]
/// pub struct Address {
///     #[validate(length(min = 1))]
///     city: String,
/// }
///
/// pub async fn POST(Valid(Json(form)): Valid<Json<SignUp>>) -> Json<String> {
///     Json(form.email)
/// }
/// ```
///
/// A field that fails answers, for instance:
///
/// ```json
/// {"error":{"code":"validation_failed","message":"2 fields are not valid","fields":[
///   {"path":"address.city","code":"length","message":"must have a length of at least 1"},
///   {"path":"email","code":"email","message":"must be an e-mail address"}]}}
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Valid<T>(pub T);

impl<T> std::ops::Deref for Valid<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T, S> FromRequest<S> for Valid<Json<T>>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = Json::<T>::from_request(req, state).await?;
        validate(&json.0)?;
        Ok(Valid(json))
    }
}

impl<T, S> FromRequest<S> for Valid<Form<T>>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = Form::<T>::from_request(req, state).await?;
        validate(&form.0)?;
        Ok(Valid(form))
    }
}

impl<T, S> FromRequestParts<S> for Valid<Query<T>>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = Query::<T>::from_request_parts(parts, state).await?;
        validate(&query.0)?;
        Ok(Valid(query))
    }
}

/// Runs a value's rules, answering as [`Valid`] does: for input a handler builds or reads
/// itself. `?` on `validator`'s `ValidationErrors` gives the same error.
///
/// ```
/// use routekit::validator::Validate;
///
/// #[derive(Validate)]
/// #[validate(crate = "routekit::validator")]
/// struct Rename {
///     #[validate(length(min = 1, max = 40))]
///     name: String,
/// }
///
/// let e = routekit::validate(&Rename { name: String::new() }).unwrap_err();
/// assert_eq!((e.status().as_u16(), e.code()), (422, "validation_failed"));
/// assert_eq!(e.fields()[0].message(), "must have a length between 1 and 40");
/// ```
pub fn validate<T: Validate + ?Sized>(value: &T) -> Result<(), ApiError> {
    value.validate().map_err(|e| errors(&e))
}

/// The 422 of a set of `validator` errors.
pub(crate) fn errors(errors: &ValidationErrors) -> ApiError {
    let mut fields = Vec::new();
    collect(errors, &mut String::new(), &mut fields);
    fields.sort_by(|a, b| a.path().cmp(b.path()));
    ApiError::validation(fields)
}

fn collect(errors: &ValidationErrors, path: &mut String, out: &mut Vec<FieldError>) {
    for (name, kind) in errors.errors() {
        let base = path.len();
        // Struct-level (`schema`) errors belong to the struct itself.
        if name != "__all__" {
            push_key(path, name);
        }
        match kind {
            ValidationErrorsKind::Field(list) => {
                out.extend(list.iter().map(|e| field_error(path, e)));
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    let before = path.len();
                    push_index(path, *index);
                    collect(inner, path, out);
                    path.truncate(before);
                }
            }
        }
        path.truncate(base);
    }
}

/// One rule's error. The message is the rule's own (`message = "…"`) or one written from
/// its limits; `validator` also records the submitted `value` (and `must_match`'s other
/// value), which never reaches the answer.
fn field_error(path: &str, error: &ValidationError) -> FieldError {
    let message = match &error.message {
        Some(own) => own.clone(),
        None => Cow::Owned(default_message(error)),
    };
    FieldError::new(path, error.code.clone(), message)
}

fn default_message(error: &ValidationError) -> String {
    let param = |name: &str| error.params.get(name).map(Value::to_string);
    // "between 1 and 40", "at least 1", …; `of` goes before a single bound of a length.
    let bounds = |verb: &str, of: &str| match (param("min"), param("max")) {
        (Some(min), Some(max)) => format!("must {verb} between {min} and {max}"),
        (Some(min), None) => format!("must {verb}{of} at least {min}"),
        (None, Some(max)) => format!("must {verb}{of} at most {max}"),
        (None, None) => match (param("exclusive_min"), param("exclusive_max")) {
            (Some(min), Some(max)) => format!("must {verb} greater than {min} and less than {max}"),
            (Some(min), None) => format!("must {verb} greater than {min}"),
            (None, Some(max)) => format!("must {verb} less than {max}"),
            (None, None) => "is out of range".to_owned(),
        },
    };
    match error.code.as_ref() {
        "length" => match param("equal") {
            Some(n) => format!("must have a length of {n}"),
            None => bounds("have a length", " of"),
        },
        "range" => bounds("be", ""),
        "email" => "must be an e-mail address".to_owned(),
        "url" => "must be a URL".to_owned(),
        "regex" => "does not have the expected format".to_owned(),
        "required" => "is required".to_owned(),
        "must_match" => "does not match".to_owned(),
        "contains" => match param("needle") {
            Some(needle) => format!("must contain {needle}"),
            None => "does not contain what it must".to_owned(),
        },
        "does_not_contain" => match param("needle") {
            Some(needle) => format!("must not contain {needle}"),
            None => "contains what it must not".to_owned(),
        },
        "non_control_character" => "must not contain control characters".to_owned(),
        "credit_card" => "must be a credit card number".to_owned(),
        "ip" => "must be an IP address".to_owned(),
        _ => "is not valid".to_owned(),
    }
}
