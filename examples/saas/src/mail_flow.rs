//! The server side of a mailed link (confirmation, magic link, recovery), as `@supabase/ssr`
//! does it: the page that asks for the mail keeps a PKCE code verifier in an HTTP-only
//! cookie, the link leads to `/auth/callback?code=…`, and the callback trades the code and
//! the verifier for a session. A link opened in another browser has no verifier and signs
//! nobody in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use routekit::auth::{AuthService, MailOptions, Pkce};
use routekit::http::HeaderMap;
use sha2::{Digest, Sha256};

/// The verifier's cookie, sent back to the callback only.
pub(crate) const VERIFIER_COOKIE: &str = "saas-code-verifier";

/// The mail options for a flow that ends on `next` (a local path), and the `Set-Cookie`
/// value that keeps the verifier for an hour (as long as a link lives at most).
pub(crate) fn start(
    auth: &AuthService,
    next: &str,
) -> Result<(MailOptions, String), routekit::ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| routekit::ApiError::internal(e.to_string()))?;
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let pkce = Pkce::new(&challenge, "s256")?;
    let callback = crate::pages::with_query(
        &format!("{}/auth/callback", auth.config().site_url),
        &[("next", next)],
    );
    let mut options = MailOptions::redirect_to(callback);
    options.pkce = Some(pkce);
    let secure = if auth.config().site_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{VERIFIER_COOKIE}={verifier}; Path=/auth/callback; Max-Age=3600; HttpOnly; SameSite=Lax{secure}"
    );
    Ok((options, cookie))
}

/// The verifier the browser kept, if any.
pub(crate) fn verifier(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(routekit::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == VERIFIER_COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
}

/// Deletes the verifier cookie: a code is good once.
pub(crate) fn forget() -> String {
    format!("{VERIFIER_COOKIE}=; Path=/auth/callback; Max-Age=0; HttpOnly; SameSite=Lax")
}
