//! TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, one step of skew either way) with
//! `totp-rs`, and the `otpauth://` URI and QR code authenticator apps read.

/// Seconds a code covers.
pub(crate) const PERIOD: u64 = 30;

/// Longest friendly name and issuer, in bytes: the `otpauth://` URI must fit in a QR code.
pub(crate) const MAX_NAME_BYTES: usize = 128;

fn generator(secret: &[u8]) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(PERIOD)
        .with_secret(secret)
        // RFC 4226 asks for 128-bit secrets; ours are 160 bits, and `totp` also computes the
        // RFC's test vectors, whatever their length.
        .build_noncompliant()
}

/// The 6-digit TOTP code of `secret` for time step `step` (RFC 6238 with SHA-1).
///
/// ```
/// // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" at T = 59 s.
/// assert_eq!(routekit_auth::totp(b"12345678901234567890", 59 / 30), "287082");
/// ```
pub fn totp(secret: &[u8], step: i64) -> String {
    generator(secret)
        .generate(step.max(0) as u64 * PERIOD)
        .to_string()
}

/// The time step whose code `code` is at unix time `now`, within one step either way, or
/// `None`. The comparison is constant-time. Accepting each step once is the caller's part.
pub(crate) fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    generator(secret)
        .check(code, now.max(0) as u64)
        .map(|step| step as i64)
}

/// RFC 4648 base32 without padding, as authenticator apps expect (data-encoding's
/// `BASE32_NOPAD`).
///
/// ```
/// assert_eq!(routekit_auth::base32(b"foobar"), "MZXW6YTBOI");
/// ```
pub fn base32(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

/// Decodes RFC 4648 base32 (upper case, no padding), as [`base32`] writes it; `None` for
/// anything else.
///
/// ```
/// let secret = routekit_auth::base32_decode("MZXW6YTBOI").unwrap();
/// assert_eq!(secret, b"foobar");
/// assert_eq!(routekit_auth::base32_decode("mzxw6ytboi"), None);
/// ```
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    data_encoding::BASE32_NOPAD.decode(text.as_bytes()).ok()
}

/// What the `otpauth://` URI leaves as it is in a label or parameter: RFC 3986's unreserved
/// characters and `@` (authenticator apps show `ann@example.com`); everything else is
/// percent-encoded.
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

fn percent(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// `otpauth://totp/<issuer>:<account>?secret=…` (the Key Uri Format authenticator apps read).
pub(crate) fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={PERIOD}",
        percent(issuer),
        percent(account),
        base32(secret),
        percent(issuer),
    )
}

/// The URI as an SVG QR code, or `None` when it is too long for one.
pub(crate) fn qr_svg(uri: &str) -> Option<String> {
    Some(
        qrcode::QrCode::new(uri.as_bytes())
            .ok()?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
    )
}

/// The host of the site URL, the default TOTP issuer (as GoTrue).
pub(crate) fn site_host(site_url: &str) -> String {
    let rest = site_url.split_once("://").map_or(site_url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors() {
        // Appendix B (SHA-1), truncated to six digits.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp(secret, t / 30), code, "T = {t}");
            assert_eq!(matching_step(secret, code, t), Some(t / 30), "T = {t}");
        }
    }

    #[test]
    fn codes_match_one_step_either_way_and_no_further() {
        let secret = [9u8; 20];
        let now = 1_700_000_000;
        let step = now / 30;
        for offset in [-1, 0, 1] {
            let code = totp(&secret, step + offset);
            assert_eq!(matching_step(&secret, &code, now), Some(step + offset));
        }
        for offset in [-2, 2] {
            let code = totp(&secret, step + offset);
            assert_eq!(matching_step(&secret, &code, now), None);
        }
        for bad in ["", "12345", "1234567", "abcdef", " 123456"] {
            assert_eq!(matching_step(&secret, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(&[0u8; 20]).len(), 32);
    }

    #[test]
    fn the_uri_escapes_names() {
        let uri = otpauth_uri("Acme & Co", "ann@example.com", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20%26%20Co:ann@example.com?secret=MZXW6YTBOI&issuer=Acme%20%26%20Co&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_issuer_defaults_to_the_site_host() {
        assert_eq!(site_host("https://app.example.com/x"), "app.example.com");
        assert_eq!(site_host("http://127.0.0.1:3000"), "127.0.0.1");
    }
}
