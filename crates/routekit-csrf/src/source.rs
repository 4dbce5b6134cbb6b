//! Where a mutation's token is read from, in the policy's order: the `X-CSRF-Token` header,
//! then the `csrf_token` field of an urlencoded or multipart form, then the `csrf_token` field
//! of a JSON object. Content types are parsed, so `; charset=utf-8` and `+json` types work.
//! [`TokenPlace`] reads other tokens (a captcha's) the same way.

use axum::RequestExt;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError};

use crate::error::json_error;

/// The request header that carries the token (matched case-insensitively, as every header).
pub const HEADER_NAME: &str = "x-csrf-token";
/// The form and JSON field that carries the token.
pub const FIELD_NAME: &str = "csrf_token";

/// Which kind of body may hold the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Form,
    Multipart(String),
    Json,
}

/// Where a request carries a token: a header, else a field of an urlencoded, multipart or
/// JSON-object body. The CSRF token's place is [`TokenPlace::CSRF`]; routekit reads captcha
/// tokens from `x-captcha-token` / `captcha_token` with the same rules.
///
/// ```
/// # async fn t() {
/// use routekit_csrf::{Found, TokenPlace};
///
/// const CAPTCHA: TokenPlace = TokenPlace::new("x-captcha-token", "captcha_token");
/// let req = axum::extract::Request::post("/sign-up")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(axum::body::Body::from("email=a%40b.c&captcha_token=T"))
///     .unwrap();
/// let (req, found) = CAPTCHA.find(req).await.unwrap();
/// assert_eq!(found, Found::One("T".to_owned()));
/// // The body is handed back whole, for the handler.
/// # let _ = req;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TokenPlace {
    header: HeaderName,
    field: &'static str,
}

impl TokenPlace {
    /// The CSRF token: `X-CSRF-Token`, then the `csrf_token` field.
    pub const CSRF: TokenPlace = TokenPlace::new(HEADER_NAME, FIELD_NAME);

    /// A header (lowercase) and a body field name.
    pub const fn new(header: &'static str, field: &'static str) -> Self {
        TokenPlace {
            header: HeaderName::from_static(header),
            field,
        }
    }

    /// The header's token, if the request has the header.
    pub fn in_headers(&self, headers: &HeaderMap) -> Found<String> {
        match header_token(headers, &self.header) {
            Found::One(t) => Found::One(t.to_owned()),
            Found::None => Found::None,
            Found::Ambiguous => Found::Ambiguous,
        }
    }

    /// The token of a request: the header's, else the body field's (the body is read within
    /// the route's `DefaultBodyLimit` and handed back in the returned request). An error is
    /// the answer to send: 413 over the limit, 400 for a body that could not be read.
    pub async fn find(&self, req: Request) -> Result<(Request, Found<String>), Response> {
        let found = self.in_headers(req.headers());
        if !matches!(found, Found::None) {
            return Ok((req, found));
        }
        let Some(kind) = body_kind(req.headers()) else {
            return Ok((req, Found::None));
        };
        let (req, bytes) = buffer(req).await?;
        let found = body_token(&kind, &bytes, self.field).await;
        Ok((req, found))
    }
}

/// A token as a request carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<T> {
    /// No token in this place.
    None,
    /// One token (an unreadable header value reads as empty, which fails verification
    /// rather than falling through to the body).
    One(T),
    /// Two or more different tokens: which one a proxy, a framework or the handler would
    /// read is anybody's guess, so none is taken (403).
    Ambiguous,
}

/// The header token. Repeated headers count only if they all say the same.
pub(crate) fn header_token<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Found<&'h str> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Found::None;
    };
    if values.any(|other| other != first) {
        return Found::Ambiguous;
    }
    Found::One(first.to_str().unwrap_or_default())
}

/// The kind of body that may carry a token, from `Content-Type`; `None` when none can.
pub(crate) fn body_kind(headers: &HeaderMap) -> Option<BodyKind> {
    let mime: mime::Mime = headers
        .get(header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    match (mime.type_(), mime.subtype()) {
        (mime::APPLICATION, mime::WWW_FORM_URLENCODED) => Some(BodyKind::Form),
        (mime::MULTIPART, mime::FORM_DATA) => mime
            .get_param(mime::BOUNDARY)
            .map(|b| BodyKind::Multipart(b.as_str().to_owned())),
        (mime::APPLICATION, sub) if sub == mime::JSON || mime.suffix() == Some(mime::JSON) => {
            Some(BodyKind::Json)
        }
        _ => None,
    }
}

/// Reads the whole body, within the route's `DefaultBodyLimit`, and hands back a request the
/// handler can read again.
pub(crate) async fn buffer(req: Request) -> Result<(Request, Bytes), Response> {
    let (parts, body) = req.with_limited_body().into_parts();
    match body.collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            Ok((Request::from_parts(parts, Body::from(bytes.clone())), bytes))
        }
        Err(e) if is_length_limit(&e) => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than this route accepts",
        )),
        Err(_) => Err(json_error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "request body could not be read",
        )),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// At most one distinct value among `values`.
fn single(values: impl Iterator<Item = String>) -> Found<String> {
    let mut found = Found::None;
    for value in values {
        match &found {
            Found::None => found = Found::One(value),
            Found::One(first) if *first == value => {}
            _ => return Found::Ambiguous,
        }
    }
    found
}

/// The token in a buffered body of the given kind. A JSON object with the field twice, or
/// whose field is not a string, has no token.
pub(crate) async fn body_token(kind: &BodyKind, bytes: &Bytes, field: &str) -> Found<String> {
    match kind {
        BodyKind::Form => single(
            form_urlencoded::parse(bytes)
                .filter(|(k, _)| k == field)
                .map(|(_, v)| v.into_owned()),
        ),
        BodyKind::Json => {
            use serde::de::DeserializeSeed;
            let mut de = serde_json::Deserializer::from_slice(bytes);
            match JsonField(field).deserialize(&mut de) {
                Ok(Some(token)) if de.end().is_ok() => Found::One(token),
                _ => Found::None,
            }
        }
        BodyKind::Multipart(boundary) => {
            let stream = futures_util::stream::once(std::future::ready(Ok::<_, std::io::Error>(
                bytes.clone(),
            )));
            let mut multipart = multer::Multipart::new(stream, boundary.as_str());
            let mut values = Vec::new();
            while let Ok(Some(part)) = multipart.next_field().await {
                if part.name() == Some(field) {
                    match part.text().await {
                        Ok(text) => values.push(text),
                        Err(_) => break,
                    }
                }
            }
            single(values.into_iter())
        }
    }
}

/// The string value of one top-level field of a JSON object: only an object's own field
/// counts (not an array's first element, nor a nested object's), once.
struct JsonField<'a>(&'a str);

impl<'de> serde::de::DeserializeSeed<'de> for JsonField<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonField<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.0 {
                if found.is_some() {
                    return Err(serde::de::Error::duplicate_field("token"));
                }
                found = Some(map.next_value::<String>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(content_type: &'static str) -> Option<BodyKind> {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        body_kind(&h)
    }

    #[test]
    fn content_types_are_parsed_not_compared() {
        assert_eq!(
            kind("application/x-www-form-urlencoded"),
            Some(BodyKind::Form)
        );
        assert_eq!(
            kind("application/x-www-form-urlencoded; charset=UTF-8"),
            Some(BodyKind::Form)
        );
        assert_eq!(
            kind("application/json; charset=utf-8"),
            Some(BodyKind::Json)
        );
        assert_eq!(kind("Application/JSON"), Some(BodyKind::Json));
        assert_eq!(kind("application/ld+json"), Some(BodyKind::Json));
        assert_eq!(
            kind("multipart/form-data; boundary=XyZ"),
            Some(BodyKind::Multipart("XyZ".into()))
        );
        assert_eq!(kind("multipart/form-data"), None);
        assert_eq!(kind("text/plain"), None);
        assert_eq!(kind("application/jsonx"), None);
    }

    fn one(token: &str) -> Found<String> {
        Found::One(token.to_owned())
    }

    #[tokio::test]
    async fn tokens_are_found_in_each_body_kind() {
        let form = Bytes::from_static(b"name=a&csrf_token=T%2B1&x=2");
        assert_eq!(
            body_token(&BodyKind::Form, &form, FIELD_NAME).await,
            one("T+1")
        );
        let json =
            Bytes::from_static(br#"{"name":"a","nested":{"csrf_token":"no"},"csrf_token":"T"}"#);
        assert_eq!(
            body_token(&BodyKind::Json, &json, FIELD_NAME).await,
            one("T")
        );
        let multipart = Bytes::from_static(
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n\
              --B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nT\r\n--B--\r\n",
        );
        assert_eq!(
            body_token(&BodyKind::Multipart("B".into()), &multipart, FIELD_NAME).await,
            one("T")
        );
    }

    #[tokio::test]
    async fn two_different_tokens_in_a_body_are_ambiguous() {
        let form = Bytes::from_static(b"csrf_token=A&csrf_token=B");
        assert_eq!(
            body_token(&BodyKind::Form, &form, FIELD_NAME).await,
            Found::Ambiguous
        );
        // The same token twice is not ambiguous.
        let form = Bytes::from_static(b"csrf_token=A&csrf_token=A");
        assert_eq!(
            body_token(&BodyKind::Form, &form, FIELD_NAME).await,
            one("A")
        );
        let multipart = Bytes::from_static(
            b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nA\r\n\
              --B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nB\r\n--B--\r\n",
        );
        assert_eq!(
            body_token(&BodyKind::Multipart("B".into()), &multipart, FIELD_NAME).await,
            Found::Ambiguous
        );
        // A JSON object with the field twice has no token at all.
        let json = Bytes::from_static(br#"{"csrf_token":"A","csrf_token":"B"}"#);
        assert_eq!(
            body_token(&BodyKind::Json, &json, FIELD_NAME).await,
            Found::None
        );
    }

    #[test]
    fn different_header_tokens_are_ambiguous() {
        let mut headers = HeaderMap::new();
        headers.append(HEADER_NAME, "A".parse().unwrap());
        assert_eq!(
            header_token(&headers, &HeaderName::from_static(HEADER_NAME)),
            Found::One("A")
        );
        headers.append(HEADER_NAME, "A".parse().unwrap());
        assert_eq!(
            header_token(&headers, &HeaderName::from_static(HEADER_NAME)),
            Found::One("A")
        );
        headers.append(HEADER_NAME, "B".parse().unwrap());
        assert_eq!(
            header_token(&headers, &HeaderName::from_static(HEADER_NAME)),
            Found::Ambiguous
        );
        assert_eq!(
            header_token(&HeaderMap::new(), &HeaderName::from_static(HEADER_NAME)),
            Found::None
        );
    }

    #[tokio::test]
    async fn odd_bodies_have_no_token() {
        for json in [
            &b"[1]"[..],
            br#"["T"]"#,
            b"not json",
            br#"{"csrf_token":1}"#,
            b"{}",
        ] {
            let bytes = Bytes::copy_from_slice(json);
            assert_eq!(
                body_token(&BodyKind::Json, &bytes, FIELD_NAME).await,
                Found::None
            );
        }
        let bytes = Bytes::from_static(b"--B\r\ngarbage");
        assert_eq!(
            body_token(&BodyKind::Multipart("B".into()), &bytes, FIELD_NAME).await,
            Found::None
        );
    }
}
