//! Secret sealing: TOTP secrets are encrypted before they reach the database
//! (XChaCha20-Poly1305), with a key that is never stored there.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::config::AuthConfig;
use crate::error::AuthError;

/// The key TOTP secrets are encrypted with before they reach the database
/// (XChaCha20-Poly1305, the factor id as associated data, so a ciphertext cannot be moved to
/// another row).
pub(crate) struct SecretBox {
    key: [u8; 32],
}

impl SecretBox {
    /// `ROUTEKIT_AUTH_ENCRYPTION_KEY` (32 bytes, base64url), or a key file next to the SQLite
    /// database (`auth.key`, created with mode 0600) — never in the database itself.
    pub(crate) fn load(config: &AuthConfig) -> Result<SecretBox, AuthError> {
        if let Some(key) = &config.encryption_key {
            let key: [u8; 32] = URL_SAFE_NO_PAD
                .decode(key.trim())
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| {
                    AuthError::internal(
                        "ROUTEKIT_AUTH_ENCRYPTION_KEY must be 32 bytes of base64url",
                    )
                })?;
            return Ok(SecretBox { key });
        }
        let path = key_file(config);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let key = URL_SAFE_NO_PAD
                .decode(text.trim())
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| {
                    AuthError::internal(format!("{} is not a valid key file", path.display()))
                })?;
            return Ok(SecretBox { key });
        }
        let key = crate::random_bytes::<32>()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(AuthError::internal)?;
        }
        write_private(&path, URL_SAFE_NO_PAD.encode(key).as_bytes())?;
        tracing::info!(target: "routekit::auth", path = %path.display(), "created the MFA encryption key file");
        Ok(SecretBox { key })
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }

    pub(crate) fn seal(&self, factor_id: &str, secret: &[u8]) -> Result<String, AuthError> {
        let nonce = crate::random_bytes::<24>()?;
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: factor_id.as_bytes(),
                },
            )
            .map_err(|_| AuthError::internal("encryption failed"))?;
        Ok(format!(
            "v1.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    pub(crate) fn open(&self, factor_id: &str, sealed: &str) -> Result<Vec<u8>, AuthError> {
        let fail = || AuthError::internal("a stored MFA secret cannot be decrypted (wrong key?)");
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(nonce), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(fail());
        };
        let nonce: [u8; 24] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(fail)?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| fail())?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &body,
                    aad: factor_id.as_bytes(),
                },
            )
            .map_err(|_| fail())
    }
}

fn key_file(config: &AuthConfig) -> PathBuf {
    if let Some(path) = config.database_url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = Path::new(file).parent() {
            return dir.join("auth.key");
        }
    }
    PathBuf::from("data/auth.key")
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), AuthError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(AuthError::internal)?;
    file.write_all(contents).map_err(AuthError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_row() {
        let b = SecretBox { key: [7; 32] };
        let sealed = b.seal("factor-a", b"secret").unwrap();
        assert_eq!(b.open("factor-a", &sealed).unwrap(), b"secret");
        assert!(b.open("factor-b", &sealed).is_err());
        assert!(
            SecretBox { key: [8; 32] }
                .open("factor-a", &sealed)
                .is_err()
        );
        assert!(!sealed.contains("secret"));
    }
}
