//! The second line of defence: `Sec-Fetch-Site` and `Origin`, as the security policy and Go
//! 1.25's `CrossOriginProtection` apply them. These decide before the token is looked at.

use http::{HeaderMap, HeaderName, Uri, header};

use crate::config::{CookieMode, CsrfConfig, normalise_authority, normalise_origin};

// Static names: looking a header up by `&str` parses the name on every request.
static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Checks a mutation's browser-supplied provenance headers. `Err` names the reason (for the
/// log and the error message), never a header value.
pub(crate) fn check(
    headers: &HeaderMap,
    uri: &Uri,
    config: &CsrfConfig,
) -> Result<(), &'static str> {
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or(""));
    match headers.get(&SEC_FETCH_SITE).map(|v| v.as_bytes()) {
        // Same origin, or typed by the user / a bookmark: the token decides.
        None | Some(b"same-origin") | Some(b"none") => {}
        Some(b"same-site") => {
            // A sibling subdomain: only a configured one.
            if !origin.is_some_and(|o| config.trusts(o)) {
                return Err("cross-origin request from a sibling site that is not trusted");
            }
        }
        // `cross-site`, and anything a browser would not send.
        Some(_) => return Err("cross-site request"),
    }
    let Some(origin) = origin else {
        // Non-browser clients send neither header; a missing Referer is no failure either.
        return Ok(());
    };
    if config.trusts(origin) || same_origin(origin, headers, uri) {
        Ok(())
    } else {
        Err("the Origin header names another site")
    }
}

/// Whether `Origin`'s host and port are the request's own (`Host`, or the URI's authority in
/// HTTP/2). Schemes are not compared: behind a TLS-terminating proxy the app sees plain HTTP.
fn same_origin(origin: &str, headers: &HeaderMap, uri: &Uri) -> bool {
    let Some(origin) = normalise_origin(origin) else {
        // `null` (sandboxed frames, some redirects) and garbage never match.
        return false;
    };
    let (scheme, origin_host) = origin.split_once("://").expect("normalised origin");
    let Some(host) = request_host(headers, uri) else {
        return false;
    };
    normalise_authority(scheme, host).is_some_and(|h| h == origin_host)
}

fn request_host<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a str> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
}

/// A request that carries no cookies at all and authenticates with `Authorization: Bearer`.
/// A browser cannot attach that header to a cross-site request without a CORS preflight, and
/// with no cookies there is no ambient authority to abuse, so such requests are exempt.
pub(crate) fn is_bearer_only(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::COOKIE)
        && headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().get(..7))
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
}

/// The secret cookie's name and whether it is `Secure`, for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieSpec {
    pub(crate) name: &'static str,
    pub(crate) secure: bool,
}

pub(crate) const SECURE_COOKIE: CookieSpec = CookieSpec {
    name: "__Host-csrf",
    secure: true,
};
pub(crate) const LOCAL_COOKIE: CookieSpec = CookieSpec {
    name: "csrf",
    secure: false,
};

impl CookieSpec {
    pub(crate) fn for_request(headers: &HeaderMap, uri: &Uri, mode: CookieMode) -> Self {
        match mode {
            CookieMode::Secure => SECURE_COOKIE,
            CookieMode::Insecure => LOCAL_COOKIE,
            CookieMode::Auto if !is_https(headers, uri) && is_loopback(headers, uri) => {
                LOCAL_COOKIE
            }
            CookieMode::Auto => SECURE_COOKIE,
        }
    }
}

fn is_https(headers: &HeaderMap, uri: &Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get(&X_FORWARDED_PROTO)
            .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"))
}

fn is_loopback(headers: &HeaderMap, uri: &Uri) -> bool {
    let Some(host) = request_host(headers, uri) else {
        return false;
    };
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !port.contains(']') => h,
        _ => host,
    };
    let ends_with = |suffix: &str| {
        host.len() >= suffix.len()
            && host.as_bytes()[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    host.eq_ignore_ascii_case("localhost")
        || ends_with(".localhost")
        || host == "127.0.0.1"
        || host == "[::1]"
}

/// The value of cookie `name`, from every `Cookie` header (HTTP/2 may send several).
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    fn uri() -> Uri {
        "/submit".parse().unwrap()
    }

    #[test]
    fn same_origin_and_headerless_requests_pass() {
        let config = CsrfConfig::new();
        for h in [
            headers(&[("host", "app.example.com")]),
            headers(&[
                ("host", "app.example.com"),
                ("origin", "https://app.example.com"),
            ]),
            headers(&[
                ("host", "app.example.com:443"),
                ("origin", "https://app.example.com"),
            ]),
            headers(&[
                ("host", "localhost:3000"),
                ("origin", "http://localhost:3000"),
            ]),
            headers(&[
                ("host", "Localhost:3000"),
                ("sec-fetch-site", "same-origin"),
            ]),
            headers(&[("host", "localhost:3000"), ("sec-fetch-site", "none")]),
        ] {
            assert_eq!(check(&h, &uri(), &config), Ok(()), "{h:?}");
        }
    }

    #[test]
    fn cross_site_and_foreign_origins_fail() {
        let config = CsrfConfig::new();
        for h in [
            headers(&[
                ("host", "app.example.com"),
                ("sec-fetch-site", "cross-site"),
            ]),
            headers(&[("host", "app.example.com"), ("sec-fetch-site", "same-site")]),
            headers(&[("host", "app.example.com"), ("sec-fetch-site", "bogus")]),
            headers(&[
                ("host", "app.example.com"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "app.example.com"), ("origin", "null")]),
            headers(&[
                ("host", "app.example.com:8443"),
                ("origin", "https://app.example.com"),
            ]),
            headers(&[("origin", "https://app.example.com")]),
        ] {
            assert!(check(&h, &uri(), &config).is_err(), "{h:?}");
        }
    }

    #[test]
    fn trusted_origins_pass_same_site_but_never_cross_site() {
        let config = CsrfConfig::new()
            .add_trusted_origin("https://admin.example.com")
            .unwrap();
        let same_site = headers(&[
            ("host", "app.example.com"),
            ("sec-fetch-site", "same-site"),
            ("origin", "https://admin.example.com"),
        ]);
        assert_eq!(check(&same_site, &uri(), &config), Ok(()));
        let cross_site = headers(&[
            ("host", "app.example.com"),
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://admin.example.com"),
        ]);
        assert!(check(&cross_site, &uri(), &config).is_err());
    }

    #[test]
    fn bearer_only_means_no_cookie_header_at_all() {
        assert!(is_bearer_only(&headers(&[("authorization", "Bearer abc")])));
        assert!(is_bearer_only(&headers(&[("authorization", "bearer abc")])));
        assert!(!is_bearer_only(&headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "x=1")
        ])));
        assert!(!is_bearer_only(&headers(&[("authorization", "Basic abc")])));
        assert!(!is_bearer_only(&headers(&[])));
    }

    #[test]
    fn cookie_name_follows_the_request() {
        let local = headers(&[("host", "localhost:3000")]);
        let proxied = headers(&[("host", "localhost:3000"), ("x-forwarded-proto", "https")]);
        let public = headers(&[("host", "app.example.com")]);
        let auto = CookieMode::Auto;
        assert_eq!(CookieSpec::for_request(&local, &uri(), auto), LOCAL_COOKIE);
        assert_eq!(
            CookieSpec::for_request(&proxied, &uri(), auto),
            SECURE_COOKIE
        );
        assert_eq!(
            CookieSpec::for_request(&public, &uri(), auto),
            SECURE_COOKIE
        );
        let ip = headers(&[("host", "127.0.0.1:3000")]);
        assert_eq!(CookieSpec::for_request(&ip, &uri(), auto), LOCAL_COOKIE);
        assert_eq!(
            CookieSpec::for_request(&local, &uri(), CookieMode::Secure),
            SECURE_COOKIE
        );
    }

    #[test]
    fn cookies_are_found_across_headers() {
        let h = headers(&[("cookie", "a=1; csrf=abc"), ("cookie", "__Host-csrf=def")]);
        assert_eq!(cookie(&h, "csrf"), Some("abc"));
        assert_eq!(cookie(&h, "__Host-csrf"), Some("def"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&headers(&[("cookie", "xcsrf=1")]), "csrf"), None);
    }
}
