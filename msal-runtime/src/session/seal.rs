//! Sealing what the store keeps that grants access (a session's tokens, a pending sign-in's
//! PKCE verifier, a Swagger code's access token): ChaCha20-Poly1305 under the first session
//! key, so a dump of the store (Redis) reveals none of it. Without a key the text is kept as
//! it is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::config::SessionKey;

/// What a sealed text is for: bound into the seal, so a text sealed for one purpose never
/// opens as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A session's token vault.
    Vault,
    /// A pending sign-in.
    Flow,
    /// A Swagger UI code's grant (feature `openapi`; its label stays reserved without it).
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    Swagger,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Vault => "vault",
            Purpose::Flow => "flow",
            Purpose::Swagger => "swagger",
        }
    }
}

fn aad(purpose: Purpose, key: &SessionKey) -> String {
    format!("msal.{}.{}", purpose.label(), key.id())
}

/// `plain` (JSON text) sealed with the first key as `{key id}.{nonce}.{ciphertext}`
/// (base64url), or unchanged when there is no key; and the id of the key that sealed it.
pub(crate) fn seal(
    plain: String,
    purpose: Purpose,
    keys: &[SessionKey],
) -> Result<(String, Option<String>), String> {
    let Some(key) = keys.first() else {
        return Ok((plain, None));
    };
    let nonce_bytes: [u8; 12] = rand::random();
    let sealed = ChaCha20Poly1305::new(&Key::from(key.bytes))
        .encrypt(
            &Nonce::from(nonce_bytes),
            Payload {
                msg: plain.as_bytes(),
                aad: aad(purpose, key).as_bytes(),
            },
        )
        .map_err(|_| "sealing failed".to_owned())?;
    let text = format!(
        "{}.{}.{}",
        key.id(),
        URL_SAFE_NO_PAD.encode(nonce_bytes),
        URL_SAFE_NO_PAD.encode(sealed)
    );
    Ok((text, Some(key.id().to_owned())))
}

/// Opens a text made by [`seal`]: `None` when it was sealed with a key not configured, for
/// another purpose, or altered. Text stored before a key was configured (JSON, which a
/// sealed text never starts with: key ids are hex) is returned as it is.
pub(crate) fn open(text: &str, purpose: Purpose, keys: &[SessionKey]) -> Option<String> {
    if text.starts_with('{') {
        return Some(text.to_owned());
    }
    let (key, rest) = sealing_key(text, keys)?;
    let (nonce, data) = rest.split_once('.')?;
    let nonce: [u8; 12] = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
    let data = URL_SAFE_NO_PAD.decode(data).ok()?;
    let plain = ChaCha20Poly1305::new(&Key::from(key.bytes))
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &data,
                aad: aad(purpose, key).as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

/// The configured key a sealed text (`{key id}.{rest}`) names, and the rest; `None` when no
/// configured key has that id.
pub(crate) fn sealing_key<'k, 't>(
    text: &'t str,
    keys: &'k [SessionKey],
) -> Option<(&'k SessionKey, &'t str)> {
    let (id, rest) = text.split_once('.')?;
    Some((keys.iter().find(|k| k.id() == id)?, rest))
}

#[cfg(test)]
#[path = "seal_tests.rs"]
mod tests;
