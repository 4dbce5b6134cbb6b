//! Server-side captcha verification: the siteverify request shared by Cloudflare Turnstile,
//! hCaptcha and Google reCAPTCHA (`secret`, `response`, `remoteip` posted as a form; JSON
//! `success` back), with a timeout, and each token accepted once.
//!
//! An unreachable provider, a timeout or an answer that is not the expected JSON is
//! [`CaptchaError::Unavailable`], never a pass.
//!
//! ```no_run
//! use routekit_captcha::{Captcha, CaptchaConfig, Provider};
//!
//! # async fn t() -> Result<(), Box<dyn std::error::Error>> {
//! let captcha = Captcha::new(CaptchaConfig::new(Provider::Turnstile, "0x4AAAAAAA…"))?;
//! captcha.verify("token from the widget", None).await?;
//! # Ok(()) }
//! ```

mod config;
mod verify;

pub use config::{
    CaptchaConfig, CaptchaConfigError, PROVIDER_VAR, Provider, SECRET_VAR, TIMEOUT_VAR,
    VERIFY_URL_VAR,
};
pub use verify::{Captcha, CaptchaError, FIELD_NAME, HEADER_NAME, MAX_TOKEN_LEN};
