//! The `@supabase/ssr` session cookie: finding it in a request (one pass, capped), decoding it,
//! and writing a new one in chunks as `@supabase/ssr` does.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use http::{HeaderMap, header};

use std::borrow::Cow;
use std::sync::Arc;

use super::SessionScope;
use crate::error::ApiError;

/// Where a request's session came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Credentials<'a> {
    /// `Authorization: Bearer <jwt>`, borrowed from the request.
    Bearer(&'a str),
    /// The `@supabase/ssr` cookie's tokens (the cookie itself is read again only to be
    /// rewritten).
    Cookie(Arc<Tokens>),
}

/// The signature part of a JWT (short, and unique per token), a cache key.
pub(super) fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or(token)
}

/// The host a request was sent to: `Host`, or the HTTP/2 `:authority`.
pub(super) fn request_host(parts: &Parts) -> &str {
    parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
}

/// The access token: `Authorization: Bearer`, else the `@supabase/ssr` session cookie named
/// `cookie_name()` (worked out only when there is no Bearer token).
pub(super) fn credentials<'a>(
    headers: &'a HeaderMap,
    cookie_name: impl FnOnce() -> String,
    decode: impl FnOnce(&str) -> Option<Arc<Tokens>>,
) -> Option<Credentials<'a>> {
    if let Some(token) = routekit_auth::bearer_token(headers) {
        return Some(Credentials::Bearer(token));
    }
    let value = cookie_value(headers, &cookie_name(), |_| {})?;
    decode(&value).map(Credentials::Cookie)
}

/// The value of the cookie named `name`: bare, else the chunks `.0`, `.1`, … up to the first
/// gap, joined; `None` when empty or over [`MAX_COOKIE_BYTES`]. `part` sees the name of every
/// part the request has, readable or not. One pass over the `Cookie` headers; at most 16
/// chunks are kept.
fn cookie_value<'a>(
    headers: &'a HeaderMap,
    name: &str,
    mut part: impl FnMut(&str),
) -> Option<Cow<'a, str>> {
    let mut bare = None;
    let mut chunks: [Option<&str>; MAX_CHUNKS] = [None; MAX_CHUNKS];
    for pair in headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
    {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let Some(rest) = key.strip_prefix(name) else {
            continue;
        };
        if rest.is_empty() {
            // The first of duplicates wins, as browsers send the most specific first.
            if bare.is_none() {
                bare = Some(value);
                part(key);
            }
        } else if let Some(index) = rest
            .strip_prefix('.')
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|i| *i < MAX_CHUNKS && rest.len() <= 3)
            && chunks[index].is_none()
        {
            chunks[index] = Some(value);
            part(key);
        }
    }
    let value: Cow<'a, str> = match bare.filter(|v| !v.is_empty()) {
        Some(value) => value.into(),
        None => chunks.iter().map_while(|c| *c).collect::<String>().into(),
    };
    (!value.is_empty() && value.len() <= MAX_COOKIE_BYTES).then_some(value)
}

/// `@supabase/ssr` splits a long session into chunks of 3,180 bytes; a session with its user
/// and a few factors takes two or three. More chunks than this are never read.
const MAX_CHUNKS: usize = 16;
/// Nor more bytes than this, all chunks together.
const MAX_COOKIE_BYTES: usize = 32 << 10;

/// The `@supabase/ssr` session cookie of a request, for server-rendered sign-in pages: its
/// name (the one a browser's supabase-js client would use, or
/// [`SessionConfig::cookie_name`](crate::SessionConfig::cookie_name)), the session in it, and every part of it the browser sent,
/// so that writing a new session or signing out replaces all of them.
///
/// As an extractor it reads the cookie the app's [`Session`](crate::Session) reads; it always succeeds, with
/// no tokens when there is no (readable) cookie.
///
/// ```
/// use routekit::SessionCookie;
/// use routekit::http::HeaderMap;
///
/// assert_eq!(SessionCookie::name_for_host("127.0.0.1:3000"), "sb-127-auth-token");
/// assert_eq!(SessionCookie::name_for_host("app.example.com"), "sb-app-auth-token");
///
/// let mut headers = HeaderMap::new();
/// headers.insert("cookie", "sb-app-auth-token=stale".parse().unwrap());
/// let cookie = SessionCookie::read(&headers, "sb-app-auth-token");
/// assert_eq!(cookie.access_token, None);
/// let written = cookie.replace(&serde_json::json!({"access_token": "t"}));
/// assert!(written[0].starts_with("sb-app-auth-token=base64-"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCookie {
    /// The cookie's name.
    pub name: String,
    /// The access token in it.
    pub access_token: Option<String>,
    /// The refresh token in it.
    pub refresh_token: Option<String>,
    /// The names of its parts in the request (bare and chunks), readable or not.
    pub(super) present: Vec<String>,
}

impl SessionCookie {
    /// `sb-<first label of the host>-auth-token`, as supabase-js names its storage key.
    pub fn name_for_host(host: &str) -> String {
        let label = host.split(['.', ':']).next().unwrap_or(host);
        format!("sb-{label}-auth-token")
    }

    /// The cookie named `name` in a request's headers: bare, or chunked (`.0`, `.1`, …), as
    /// `base64-` or raw JSON. One pass over the `Cookie` headers indexes its parts; at most
    /// 16 chunks and 32 KiB are read, so a header of thousands of chunks costs no more than
    /// its length to skip.
    pub fn read(headers: &HeaderMap, name: &str) -> SessionCookie {
        let mut present = Vec::new();
        let value = cookie_value(headers, name, |key| present.push(key.to_owned()));
        let (access_token, refresh_token) = match value.as_deref().and_then(decode_session) {
            Some(Tokens {
                access, refresh, ..
            }) => (Some(access), refresh),
            None => (None, None),
        };
        SessionCookie {
            name: name.to_owned(),
            access_token,
            refresh_token,
            present,
        }
    }

    /// `Set-Cookie` values storing `session` (a token response) under this cookie's name,
    /// chunked as `@supabase/ssr` does, and deleting every part of the old cookie the new one
    /// does not overwrite: an old bare cookie left beside new chunks would be read first, and
    /// the next user of a shared browser would be in the previous account. Send them with
    /// `Cache-Control: no-store`.
    pub fn replace(&self, session: &serde_json::Value) -> Vec<String> {
        session_cookies(&self.name, session, &self.present)
    }

    /// `Set-Cookie` values deleting this cookie (sign-out).
    pub fn delete(&self) -> Vec<String> {
        self.present
            .iter()
            .map(|name| format!("{name}=; {DELETE_ATTRIBUTES}"))
            .collect()
    }
}

/// A JWT's `exp`, unverified.
pub(super) fn expiry_of(token: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: i64,
    }
    token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|payload| serde_json::from_slice::<Exp>(&payload).ok())
        .map(|Exp { exp }| exp)
}

/// The tokens of a session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tokens {
    pub(super) access: String,
    pub(super) refresh: Option<String>,
    /// The access token's `exp` (unverified: it only decides when to refresh).
    pub(super) access_exp: Option<i64>,
}

/// The access and refresh tokens of a cookie value (`base64-…` or percent-encoded JSON).
pub(super) fn decode_session(value: &str) -> Option<Tokens> {
    let json = match value.strip_prefix("base64-") {
        Some(encoded) => {
            let bytes = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).ok()?;
            String::from_utf8(bytes).ok()?
        }
        None => percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()?
            .into_owned(),
    };
    #[derive(serde::Deserialize)]
    struct Fields {
        access_token: String,
        refresh_token: Option<String>,
    }
    let tokens: Fields = serde_json::from_str(&json).ok()?;
    Some(Tokens {
        access_exp: expiry_of(&tokens.access_token),
        access: tokens.access_token,
        refresh: tokens.refresh_token,
    })
}

impl<S: Send + Sync> FromRequestParts<S> for SessionCookie {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let scope = SessionScope::of(parts).ok_or_else(|| {
            ApiError::internal("SessionCookie used, but the app has no auth: call App::sessions")
                .into_response()
        })?;
        let name = scope.sessions.cookie_name(parts);
        Ok(SessionCookie::read(&parts.headers, &name))
    }
}

/// `@supabase/ssr`'s chunk size, measured on the encoded value.
const MAX_CHUNK: usize = 3180;
/// `@supabase/ssr`'s cookie lifetime: 400 days.
const COOKIE_ATTRIBUTES: &str = "Path=/; SameSite=Lax; Max-Age=34560000";
/// What deletes a part of the cookie (sign-out, or a chunk the new value does not use).
const DELETE_ATTRIBUTES: &str = "Path=/; SameSite=Lax; Max-Age=0";

/// The cookies that store `session` under `name` as `@supabase/ssr` writes them, deleting
/// chunks of the old value that the new one does not use.
fn session_cookies(name: &str, session: &serde_json::Value, present: &[String]) -> Vec<String> {
    let value = format!("base64-{}", URL_SAFE_NO_PAD.encode(session.to_string()));
    let mut cookies = Vec::new();
    let mut written = Vec::new();
    if value.len() <= MAX_CHUNK {
        cookies.push(format!("{name}={value}; {COOKIE_ATTRIBUTES}"));
        written.push(name.to_owned());
    } else {
        for (i, chunk) in value.as_bytes().chunks(MAX_CHUNK).enumerate() {
            let chunk = std::str::from_utf8(chunk).expect("base64 is ASCII");
            cookies.push(format!("{name}.{i}={chunk}; {COOKIE_ATTRIBUTES}"));
            written.push(format!("{name}.{i}"));
        }
    }
    for stale in present.iter().filter(|p| !written.contains(p)) {
        cookies.push(format!("{stale}=; {DELETE_ATTRIBUTES}"));
    }
    cookies
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::session::test_headers as headers;

    fn access_token(headers: &HeaderMap, name: &str) -> Option<String> {
        credentials(
            headers,
            || name.to_owned(),
            |v| decode_session(v).map(Arc::new),
        )
        .map(|c| match c {
            Credentials::Bearer(token) => token.to_owned(),
            Credentials::Cookie(tokens) => tokens.access.clone(),
        })
    }

    const NAME: &str = "sb-127-auth-token";

    #[test]
    fn the_expiry_is_read_once_with_the_tokens() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"exp":1700000000,"sub":"x"}"#);
        let session = serde_json::json!({
            "access_token": format!("e30.{payload}.sig"),
            "refresh_token": "r",
        });
        let value = format!("base64-{}", URL_SAFE_NO_PAD.encode(session.to_string()));
        let tokens = decode_session(&value).unwrap();
        assert_eq!(tokens.access_exp, Some(1_700_000_000));
        assert_eq!(tokens.refresh.as_deref(), Some("r"));
        assert_eq!(expiry_of("not a jwt"), None);
    }

    #[test]
    fn tokens_come_from_bearer_bare_chunked_and_raw_cookies() {
        let session = r#"{"access_token":"tok","refresh_token":"r"}"#;
        let b64 = format!("base64-{}", URL_SAFE_NO_PAD.encode(session));
        let bearer = headers(&[("authorization", "Bearer abc")]);
        assert_eq!(access_token(&bearer, NAME).as_deref(), Some("abc"));
        let bare = headers(&[("cookie", &format!("x=1; sb-127-auth-token={b64}"))]);
        assert_eq!(access_token(&bare, NAME).as_deref(), Some("tok"));
        let (a, b) = b64.split_at(20);
        let chunked = headers(&[(
            "cookie",
            &format!("sb-127-auth-token.1={b}; sb-127-auth-token.0={a}"),
        )]);
        assert_eq!(access_token(&chunked, NAME).as_deref(), Some("tok"));
        let raw =
            percent_encoding::utf8_percent_encode(session, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let raw = headers(&[("cookie", &format!("sb-127-auth-token={raw}"))]);
        assert_eq!(access_token(&raw, NAME).as_deref(), Some("tok"));
        assert_eq!(access_token(&raw, "sb-other-auth-token"), None);
        let garbage = headers(&[("cookie", "sb-127-auth-token=base64-!!!")]);
        assert_eq!(access_token(&garbage, NAME), None);
    }

    #[test]
    fn only_the_cookie_of_this_host_is_read() {
        // A sibling subdomain (evil.example.com) can set a cookie for example.com; it is never
        // taken for the session of app.example.com.
        let session = r#"{"access_token":"planted"}"#;
        let b64 = format!("base64-{}", URL_SAFE_NO_PAD.encode(session));
        let planted = headers(&[("cookie", &format!("sb-evil-auth-token={b64}"))]);
        assert_eq!(access_token(&planted, "sb-app-auth-token"), None);
    }

    #[test]
    fn a_flood_of_chunks_is_indexed_once_and_capped() {
        // 19,000 empty chunks used to cost a rescan of the whole list per chunk index.
        let flood: Vec<String> = (0..19_000).map(|i| format!("{NAME}.{i}=")).collect();
        let flood = headers(&[("cookie", &flood.join("; "))]);
        let cookie = SessionCookie::read(&flood, NAME);
        assert_eq!(cookie.access_token, None);
        // Only the chunks it would ever read are remembered (to be deleted on sign-out).
        assert_eq!(cookie.present.len(), MAX_CHUNKS);
        // A session spread over more chunks than the cap is not read at all.
        let session = format!(r#"{{"access_token":"{}"}}"#, "t".repeat(40_000));
        let b64 = format!("base64-{}", URL_SAFE_NO_PAD.encode(session));
        let parts: Vec<String> = b64
            .as_bytes()
            .chunks(3180)
            .enumerate()
            .map(|(i, c)| format!("{NAME}.{i}={}", std::str::from_utf8(c).unwrap()))
            .collect();
        assert!(parts.len() > MAX_CHUNKS);
        let big = headers(&[("cookie", &parts.join("; "))]);
        assert_eq!(SessionCookie::read(&big, NAME).access_token, None);
    }

    #[test]
    fn a_new_session_deletes_every_part_of_the_old_cookie() {
        // An old bare cookie beside new chunks would be read first.
        let old = headers(&[("cookie", "sb-127-auth-token=old; sb-127-auth-token.3=x")]);
        let cookie = SessionCookie::read(&old, NAME);
        let big = serde_json::json!({ "access_token": "t".repeat(5_000) });
        let written = cookie.replace(&big);
        assert!(written[0].starts_with("sb-127-auth-token.0=base64-"));
        for stale in ["sb-127-auth-token=;", "sb-127-auth-token.3=;"] {
            assert!(
                written
                    .iter()
                    .any(|c| c.starts_with(stale) && c.contains("Max-Age=0")),
                "{stale} in {written:?}"
            );
        }
    }
}
