//! Route guards against a real server: the passing case and every refusal, with the
//! handler's call count unchanged on each refusal.

#[cfg(feature = "captcha")]
mod captcha;
#[cfg(feature = "auth")]
mod roles;
#[cfg(feature = "validate")]
mod validation;
