//! The tokens of a signed-in session: kept server-side only, and sealed with
//! ChaCha20-Poly1305 when a session key is configured, so a dump of the store (Redis) reveals
//! no token. A record sealed with a key nobody holds any more counts as signed out.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};

use crate::config::SessionKey;

/// An access token for one set of scopes.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct CachedToken {
    /// Sorted: the cache key.
    pub(crate) scopes: Vec<String>,
    pub(crate) token: String,
    /// Seconds since the epoch.
    pub(crate) expires_at: i64,
}

/// Everything secret a session holds.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct TokenVault {
    /// The ID token, kept as the `id_token_hint` of sign-out.
    pub(crate) id_token: String,
    /// One refresh token serves every resource at Entra.
    pub(crate) refresh_token: Option<String>,
    pub(crate) access: Vec<CachedToken>,
}

impl fmt::Debug for TokenVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVault")
            .field("tokens", &self.access.len())
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

impl TokenVault {
    /// The vault as the session stores it: sealed with the first key as
    /// `{key id}.{nonce}.{ciphertext}` (base64url) when there is one, else its JSON text.
    /// Either way one string, so loading a session copies it in one piece instead of
    /// cloning a tree of JSON values. Returns the text and the id of the key that sealed it.
    pub(crate) fn seal(&self, keys: &[SessionKey]) -> Result<(String, Option<String>), String> {
        let plain = serde_json::to_string(self).map_err(|e| e.to_string())?;
        let Some(key) = keys.first() else {
            return Ok((plain, None));
        };
        let id = key.id();
        let nonce_bytes: [u8; 12] = rand::random();
        let cipher = ChaCha20Poly1305::new(&Key::from(key.bytes));
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: plain.as_bytes(),
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| "sealing the session tokens failed".to_owned())?;
        let text = format!(
            "{id}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce_bytes),
            URL_SAFE_NO_PAD.encode(sealed)
        );
        Ok((text, Some(id.to_owned())))
    }

    /// Opens a stored vault; `None` when sealed with a key not configured, or tampered
    /// with. A vault stored before a key was configured (JSON text) still opens.
    pub(crate) fn open(text: &str, keys: &[SessionKey]) -> Option<TokenVault> {
        if text.starts_with('{') {
            // A key id is hex, so a sealed vault never starts with a brace.
            return serde_json::from_str(text).ok();
        }
        let (key, sealed) = sealing_key(text, keys)?;
        let (nonce, data) = sealed.split_once('.')?;
        let nonce: [u8; 12] = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
        let data = URL_SAFE_NO_PAD.decode(data).ok()?;
        let plain = ChaCha20Poly1305::new(&Key::from(key.bytes))
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &data,
                    aad: key.id().as_bytes(),
                },
            )
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

/// The configured key a sealed vault (`{key id}.{rest}`) names, and the rest; `None` when
/// no configured key has that id.
pub(crate) fn sealing_key<'k, 't>(
    text: &'t str,
    keys: &'k [SessionKey],
) -> Option<(&'k SessionKey, &'t str)> {
    let (id, rest) = text.split_once('.')?;
    Some((keys.iter().find(|k| k.id() == id)?, rest))
}

#[cfg(test)]
#[path = "vault_tests.rs"]
mod tests;
