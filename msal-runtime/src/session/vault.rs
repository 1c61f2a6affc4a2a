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

/// The vault as stored: as is, or sealed.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum StoredVault {
    Plain(TokenVault),
    /// `{key id}.{nonce}.{ciphertext}`, base64url.
    Sealed(String),
}

impl fmt::Debug for StoredVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoredVault::Plain(_) => "StoredVault::Plain([REDACTED])",
            StoredVault::Sealed(_) => "StoredVault::Sealed",
        })
    }
}

impl StoredVault {
    /// Stores the vault, sealed with the first key when there is one.
    pub(crate) fn seal(vault: &TokenVault, keys: &[SessionKey]) -> Result<Self, String> {
        let Some(key) = keys.first() else {
            return Ok(StoredVault::Plain(vault.clone()));
        };
        let plain = serde_json::to_vec(vault).map_err(|e| e.to_string())?;
        let id = key.id();
        let nonce_bytes: [u8; 12] = rand::random();
        let cipher = ChaCha20Poly1305::new(&Key::from(key.bytes));
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: &plain,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| "sealing the session tokens failed".to_owned())?;
        Ok(StoredVault::Sealed(format!(
            "{id}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce_bytes),
            URL_SAFE_NO_PAD.encode(sealed)
        )))
    }

    /// Opens the vault; `None` when sealed with a key not configured, or tampered with.
    pub(crate) fn open(&self, keys: &[SessionKey]) -> Option<TokenVault> {
        match self {
            StoredVault::Plain(vault) => Some(vault.clone()),
            StoredVault::Sealed(text) => {
                let (key, sealed) = sealing_key(text, keys)?;
                let (nonce, data) = sealed.split_once('.')?;
                let id = key.id();
                let nonce: [u8; 12] = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
                let data = URL_SAFE_NO_PAD.decode(data).ok()?;
                let plain = ChaCha20Poly1305::new(&Key::from(key.bytes))
                    .decrypt(
                        &Nonce::from(nonce),
                        Payload {
                            msg: &data,
                            aad: id.as_bytes(),
                        },
                    )
                    .ok()?;
                serde_json::from_slice(&plain).ok()
            }
        }
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
