//! `POST /api/webhooks/payments`: a payment provider's webhook. The provider cannot send a
//! CSRF token, so the route is exempt; it authenticates each call by its signature instead:
//! `X-Signature: sha256=<hex HMAC-SHA256 of the body under SAAS_WEBHOOK_SECRET>`.

use hmac::{Hmac, KeyInit, Mac};
use routekit::axum::Extension;
use routekit::axum::body::Bytes;
use routekit::http::{HeaderMap, StatusCode};
use routekit::{ApiError, ApiResult, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::WebhookSecret;

/// Signed by the sender, so not CSRF-checked (`routekit routes` warns about it, as it should).
pub const CSRF: bool = false;

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

pub async fn POST(
    secret: Option<Extension<WebhookSecret>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let Some(Extension(WebhookSecret(secret))) = secret else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_not_configured",
            "set SAAS_WEBHOOK_SECRET to receive webhooks",
        ));
    };
    let signature = headers
        .get("x-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(decode_hex);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(&body);
    // `verify_slice` compares in constant time.
    if signature.is_none_or(|sig| mac.verify_slice(&sig).is_err()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "X-Signature does not match the body",
        ));
    }
    let Json(event) = Json::<Event>::from_bytes(&body)?;
    Ok(Json(json!({ "received": true, "id": event.id, "type": event.kind })))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}
