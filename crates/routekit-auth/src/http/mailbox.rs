//! The development mailbox page, `/_routekit/mailbox`: the mails the server kept instead of
//! sending, because no SMTP server is configured (what Inbucket or Mailpit show beside a
//! local GoTrue).
//!
//! Its mails hold sign-in links, so it answers only when mail really goes to the mailbox, and
//! only to a browser on this machine talking to the server directly: a request from another
//! address, or one that passed through a proxy (it carries `Forwarded` or `X-Forwarded-*`),
//! gets the same 404 as a path that does not exist.

use std::net::SocketAddr;

use axum::extract::State;
use axum::extract::connect_info::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use routekit_mail::escape_html;

use crate::error::{AuthError, ErrorCode};
use crate::service::AuthService;

/// How many mails the page shows.
const SHOWN: i64 = 50;

/// Whether a request may see the mailbox: straight from this machine, through no proxy.
fn local_and_direct(peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    let proxied = headers
        .keys()
        .any(|name| name == "forwarded" || name.as_str().starts_with("x-forwarded-"))
        || headers.contains_key("x-real-ip");
    peer.is_some_and(|p| p.ip().is_loopback()) && !proxied
}

/// `text`, HTML-escaped, with its `http(s)://` URLs as links.
fn linkify(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("http://").or_else(|| rest.find("https://")) {
        out.push_str(&escape_html(&rest[..start]));
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .unwrap_or(tail.len());
        let url = escape_html(&tail[..end]);
        out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
        rest = &tail[end..];
    }
    out.push_str(&escape_html(rest));
    out
}

pub(super) async fn page(
    State(auth): State<AuthService>,
    request: axum::extract::Request,
) -> Result<Response, AuthError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if !auth.mails_to_mailbox() || !local_and_direct(peer, request.headers()) {
        return Err(ErrorCode::NotFound.into());
    }
    let mails = auth.store().mailbox(SHOWN).await?;
    let mut body = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Development mailbox</title>\n\
         <style>body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}\
         article{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
         pre{white-space:pre-wrap;word-break:break-all}</style>\n</head>\n<body>\n\
         <h1>Development mailbox</h1>\n<p>No SMTP server is configured \
         (<code>ROUTEKIT_AUTH_SMTP_HOST</code>), so the auth server keeps its mail here instead \
         of sending it. Only this machine can see this page.</p>\n",
    );
    if mails.is_empty() {
        body.push_str("<p>No mail yet.</p>\n");
    }
    for mail in &mails {
        let when = crate::user::rfc3339(mail.created_at);
        body.push_str(&format!(
            "<article>\n<h2>{}</h2>\n<p>To <strong>{}</strong> · <time>{}</time></p>\n<pre>{}</pre>\n</article>\n",
            escape_html(&mail.subject),
            escape_html(&mail.recipient),
            escape_html(when.as_str().unwrap_or_default()),
            linkify(&mail.text),
        ));
    }
    body.push_str("</body>\n</html>\n");
    let mut res = (StatusCode::OK, body).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_direct_local_requests_see_it() {
        let local: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:50000".parse().unwrap();
        let none = HeaderMap::new();
        assert!(local_and_direct(Some(local), &none));
        assert!(!local_and_direct(Some(remote), &none));
        assert!(!local_and_direct(None, &none));
        for name in [
            "x-forwarded-for",
            "forwarded",
            "x-real-ip",
            "x-forwarded-host",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static("203.0.113.9"));
            assert!(!local_and_direct(Some(local), &headers), "{name}");
        }
    }

    #[test]
    fn links_are_clickable_and_everything_else_escaped() {
        assert_eq!(
            linkify("Go <b> http://a.test/v?x=1&y=2 now"),
            "Go &lt;b&gt; <a href=\"http://a.test/v?x=1&amp;y=2\">http://a.test/v?x=1&amp;y=2</a> now"
        );
    }
}
