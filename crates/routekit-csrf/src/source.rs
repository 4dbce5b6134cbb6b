//! Where a mutation's token is read from, in the policy's order: the `X-CSRF-Token` header,
//! then the `csrf_token` field of an urlencoded or multipart form, then the `csrf_token` field
//! of a JSON object. Content types are parsed, so `; charset=utf-8` and `+json` types work.

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
static HEADER: HeaderName = HeaderName::from_static(HEADER_NAME);
/// The form and JSON field that carries the token.
pub const FIELD_NAME: &str = "csrf_token";

/// Which kind of body may hold the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Form,
    Multipart(String),
    Json,
}

/// A token as a request carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found<T> {
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
pub(crate) fn header_token(headers: &HeaderMap) -> Found<&str> {
    let mut values = headers.get_all(&HEADER).iter();
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

/// The token in a buffered body of the given kind. A JSON object with the field twice does
/// not parse (serde refuses duplicate fields), so it has no token.
pub(crate) async fn body_token(kind: &BodyKind, bytes: &Bytes) -> Found<String> {
    match kind {
        BodyKind::Form => single(
            form_urlencoded::parse(bytes)
                .filter(|(k, _)| k == FIELD_NAME)
                .map(|(_, v)| v.into_owned()),
        ),
        BodyKind::Json => {
            #[derive(serde::Deserialize)]
            struct Probe {
                #[serde(default)]
                csrf_token: Option<String>,
            }
            // Only an object's own field counts: serde would also fill the struct from an
            // array's first element.
            let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
            if first != Some(&b'{') {
                return Found::None;
            }
            match serde_json::from_slice::<Probe>(bytes).map(|p| p.csrf_token) {
                Ok(Some(token)) => Found::One(token),
                _ => Found::None,
            }
        }
        BodyKind::Multipart(boundary) => {
            let stream = futures_util::stream::once(std::future::ready(Ok::<_, std::io::Error>(
                bytes.clone(),
            )));
            let mut multipart = multer::Multipart::new(stream, boundary.as_str());
            let mut values = Vec::new();
            while let Ok(Some(field)) = multipart.next_field().await {
                if field.name() == Some(FIELD_NAME) {
                    match field.text().await {
                        Ok(text) => values.push(text),
                        Err(_) => break,
                    }
                }
            }
            single(values.into_iter())
        }
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
        assert_eq!(body_token(&BodyKind::Form, &form).await, one("T+1"));
        let json =
            Bytes::from_static(br#"{"name":"a","nested":{"csrf_token":"no"},"csrf_token":"T"}"#);
        assert_eq!(body_token(&BodyKind::Json, &json).await, one("T"));
        let multipart = Bytes::from_static(
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n\
              --B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nT\r\n--B--\r\n",
        );
        assert_eq!(
            body_token(&BodyKind::Multipart("B".into()), &multipart).await,
            one("T")
        );
    }

    #[tokio::test]
    async fn two_different_tokens_in_a_body_are_ambiguous() {
        let form = Bytes::from_static(b"csrf_token=A&csrf_token=B");
        assert_eq!(body_token(&BodyKind::Form, &form).await, Found::Ambiguous);
        // The same token twice is not ambiguous.
        let form = Bytes::from_static(b"csrf_token=A&csrf_token=A");
        assert_eq!(body_token(&BodyKind::Form, &form).await, one("A"));
        let multipart = Bytes::from_static(
            b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nA\r\n\
              --B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nB\r\n--B--\r\n",
        );
        assert_eq!(
            body_token(&BodyKind::Multipart("B".into()), &multipart).await,
            Found::Ambiguous
        );
        // serde refuses a JSON object with a field twice: no token at all.
        let json = Bytes::from_static(br#"{"csrf_token":"A","csrf_token":"B"}"#);
        assert_eq!(body_token(&BodyKind::Json, &json).await, Found::None);
    }

    #[test]
    fn different_header_tokens_are_ambiguous() {
        let mut headers = HeaderMap::new();
        headers.append(HEADER_NAME, "A".parse().unwrap());
        assert_eq!(header_token(&headers), Found::One("A"));
        headers.append(HEADER_NAME, "A".parse().unwrap());
        assert_eq!(header_token(&headers), Found::One("A"));
        headers.append(HEADER_NAME, "B".parse().unwrap());
        assert_eq!(header_token(&headers), Found::Ambiguous);
        assert_eq!(header_token(&HeaderMap::new()), Found::None);
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
            assert_eq!(body_token(&BodyKind::Json, &bytes).await, Found::None);
        }
        let bytes = Bytes::from_static(b"--B\r\ngarbage");
        assert_eq!(
            body_token(&BodyKind::Multipart("B".into()), &bytes).await,
            Found::None
        );
    }
}
