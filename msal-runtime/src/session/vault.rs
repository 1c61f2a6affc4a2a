//! The tokens of a signed-in session: kept server-side only, and sealed with
//! ChaCha20-Poly1305 when a session key is configured, so a dump of the store (Redis) reveals
//! no token. A record sealed with a key nobody holds any more counts as signed out.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::seal::{Purpose, open, seal};
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
    /// The vault as the session stores it: sealed with the first key when there is one
    /// (see [`seal`](super::seal)), else its JSON text. Either way one string, so loading a
    /// session copies it in one piece instead of cloning a tree of JSON values. Returns the
    /// text and the id of the key that sealed it.
    pub(crate) fn seal(&self, keys: &[SessionKey]) -> Result<(String, Option<String>), String> {
        let plain = serde_json::to_string(self).map_err(|e| e.to_string())?;
        seal(plain, Purpose::Vault, keys)
    }

    /// Opens a stored vault; `None` when sealed with a key not configured, or tampered
    /// with. A vault stored before a key was configured (JSON text) still opens.
    pub(crate) fn open(text: &str, keys: &[SessionKey]) -> Option<TokenVault> {
        serde_json::from_str(&open(text, Purpose::Vault, keys)?).ok()
    }
}

#[cfg(test)]
#[path = "vault_tests.rs"]
mod tests;
