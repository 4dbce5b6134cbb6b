//! Field errors: what a 422 `validation_failed` lists, one entry per failing field, in one
//! path notation for JSON, form and query input, and never with the submitted value.

use std::borrow::Cow;

use serde_path_to_error::{Path, Segment};

/// One failing field of a 422 `validation_failed` answer: where, which rule, and a message
/// that names the rule but never repeats the submitted value (it may be a password).
///
/// Paths use one notation for JSON bodies, forms and query strings: `name`, `address.city`,
/// `items[2].name`; the empty path is the input as a whole.
///
/// ```
/// use routekit::{ApiError, FieldError};
///
/// let e = ApiError::validation(vec![FieldError::new("tags[2]", "length", "must have a length of at most 20")]);
/// assert_eq!(e.status(), 422);
/// assert_eq!(e.code(), "validation_failed");
/// assert_eq!(e.fields()[0].path(), "tags[2]");
/// assert!(e.body().contains(r#""fields":[{"path":"tags[2]","code":"length""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    path: String,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
}

impl FieldError {
    /// A field error: its path, a stable code for the rule it broke, and a message.
    pub fn new(
        path: impl Into<String>,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        FieldError {
            path: path.into(),
            code: code.into(),
            message: message.into(),
        }
    }

    /// Where: `items[2].name`, or empty for the input as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The rule, e.g. `required`, `invalid_type`, `length`, `email`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// What the rule wants, without the submitted value.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Appends one path segment in routekit's notation.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// Appends a list index.
pub(crate) fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    let _ = write!(path, "[{index}]");
}

/// The field error of a serde data error (the input parsed, but does not fit the type).
///
/// serde's messages name the input (`invalid type: string "hunter2", expected u8`); only the
/// part that names what the type expects is kept. A field named by the message (`missing
/// field `x``) is appended to the path. Messages serde does not shape (a custom
/// `Deserialize`'s) may carry the value, so they become a generic one.
pub(crate) fn from_serde(path: &Path, message: &str) -> FieldError {
    let mut at = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => push_index(&mut at, *index),
            Segment::Map { key } => push_key(&mut at, key),
            Segment::Enum { variant } => push_key(&mut at, variant),
            Segment::Unknown => push_key(&mut at, "?"),
        }
    }
    from_message(at, message)
}

/// The 422 of input that does not fit its type (serde_urlencoded's errors are all of that kind).
pub(crate) fn invalid<E: std::fmt::Display>(
    error: &serde_path_to_error::Error<E>,
) -> crate::ApiError {
    crate::ApiError::validation(vec![from_serde(error.path(), &error.inner().to_string())])
}

/// [`from_serde`] once the path is written.
fn from_message(mut at: String, message: &str) -> FieldError {
    // serde_json adds the position; it says nothing a client needs.
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let quoted = |rest: &str| {
        rest.strip_prefix('`')?
            .split_once('`')
            .map(|(name, _)| name.to_owned())
    };
    let expected = |rest: &str| {
        rest.rsplit_once(", expected ")
            .map(|(_, what)| Cow::Owned(format!("expected {what}")))
    };
    let (field, code, text): (Option<String>, &'static str, Option<Cow<'static, str>>) =
        if let Some(rest) = message.strip_prefix("missing field ") {
            (quoted(rest), "required", Some("is required".into()))
        } else if let Some(rest) = message.strip_prefix("unknown field ") {
            (
                quoted(rest),
                "unknown_field",
                Some("is not a field this input takes".into()),
            )
        } else if let Some(rest) = message.strip_prefix("duplicate field ") {
            (
                quoted(rest),
                "duplicate_field",
                Some("is given more than once".into()),
            )
        } else if let Some(rest) = message.strip_prefix("invalid type: ") {
            (None, "invalid_type", expected(rest))
        } else if let Some(rest) = message.strip_prefix("invalid length ") {
            (None, "invalid_length", expected(rest))
        } else if let Some(rest) = message.strip_prefix("unknown variant ") {
            (None, "unknown_variant", expected(rest))
        } else if let Some(rest) = message.strip_prefix("invalid value: ") {
            (None, "invalid_value", expected(rest))
        } else {
            (None, "invalid_value", None)
        };
    // The path ends at the struct for a missing or duplicate field, and already at the key
    // for an unknown one.
    if let Some(field) = field.filter(|_| code != "unknown_field") {
        push_key(&mut at, &field);
    }
    FieldError::new(
        at,
        code,
        text.unwrap_or(Cow::Borrowed("is not a valid value")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        qty: u8,
        kind: Option<Kind>,
        tags: Option<Vec<u16>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Book,
        Film,
    }

    fn error(json: &str) -> FieldError {
        let mut de = serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, Vec<Item>>(&mut de).unwrap_err();
        from_serde(e.path(), &e.inner().to_string())
    }

    #[test]
    fn serde_messages_become_codes_without_the_value() {
        let cases = [
            (r#"[{"qty":1}]"#, "[0].name", "required", "is required"),
            // serde_json says "expected value" here, which is no serde shape: the generic message.
            (
                r#"[{"name":"a","qty":1,"kind":3}]"#,
                "[0].kind",
                "invalid_value",
                "is not a valid value",
            ),
            (
                r#"[{"name":"a","qty":1,"secret":1}]"#,
                "[0].secret",
                "unknown_field",
                "is not a field this input takes",
            ),
            (
                r#"[{"name":"hunter2pass","qty":"hunter2pass"}]"#,
                "[0].qty",
                "invalid_type",
                "expected u8",
            ),
            (
                r#"[{"name":"a","qty":300}]"#,
                "[0].qty",
                "invalid_value",
                "expected u8",
            ),
            (
                r#"[{"name":"a","qty":1,"kind":"hunter2pass"}]"#,
                "[0].kind",
                "unknown_variant",
                "expected `book` or `film`",
            ),
            (
                r#"[{"name":"a","qty":1,"tags":[1,"hunter2pass"]}]"#,
                "[0].tags[1]",
                "invalid_type",
                "expected u16",
            ),
            (r#"{"name":"a"}"#, "", "invalid_type", "expected a sequence"),
            (
                r#"[{"name":"a","name":"b","qty":1}]"#,
                "[0].name",
                "duplicate_field",
                "is given more than once",
            ),
        ];
        for (json, path, code, message) in cases {
            let e = error(json);
            assert_eq!(
                (e.path(), e.code(), e.message()),
                (path, code, message),
                "{json}"
            );
            assert!(!e.message().contains("hunter2"), "{json}");
        }
    }

    #[test]
    fn custom_messages_are_replaced() {
        let e = from_message(String::new(), "hunter2 is not an e-mail");
        assert_eq!(
            (e.code(), e.message()),
            ("invalid_value", "is not a valid value")
        );
    }
}
