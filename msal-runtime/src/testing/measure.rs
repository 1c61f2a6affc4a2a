//! Entry points into msal-axum's internals for its own benchmarks (`tests/benches`): what a
//! protected request does, one piece at a time. Not a stable API.

use std::str::FromStr;

use tower_sessions::session::Id;

use super::JsonObject;
use crate::session::{self, SignedIn, TokenVault};
use crate::{AuthError, Msal, MsalStore, Principal};

/// Validates an access token as a protected route does, skipping the cache of validated
/// tokens: a signature check every time.
pub async fn validate_bearer_uncached(msal: &Msal, token: &str) -> Result<Principal, AuthError> {
    msal.ctx
        .callers
        .validate_bearer(token)
        .await
        .map(|(p, _)| p)
}

/// The principal of an `Authorization` header value as a protected route finds it: from
/// the cache of validated tokens when this token was seen before.
pub async fn validate_bearer(
    msal: &Msal,
    authorization: &str,
) -> Result<std::sync::Arc<Principal>, AuthError> {
    let value = axum::http::HeaderValue::from_str(authorization)
        .map_err(|_| AuthError::BadRequest("not a header value".into()))?;
    msal.ctx.callers.bearer(&value).await
}

/// A principal as a bearer token with these claims would give (for judging rules).
pub fn principal(claims: JsonObject, app: bool) -> Principal {
    Principal::bearer(claims, app, "", std::sync::Arc::from(Vec::new()))
}

/// The session store `msal` uses.
pub fn store(msal: &Msal) -> &MsalStore {
    &msal.store
}

/// A signed-in session's record, decoded.
pub struct SessionRecord {
    signed_in: SignedIn,
    vault: TokenVault,
}

impl SessionRecord {
    /// The record of the session whose cookie carries `cookie_value`, read from `msal`'s
    /// store; `None` when it holds nobody signed in.
    pub async fn load(msal: &Msal, cookie_value: &str) -> Option<Self> {
        let id = Id::from_str(cookie_value).ok()?;
        let keys = &msal.config.session_keys;
        let store = store(msal).clone();
        let session = tower_sessions::Session::new(Some(id), std::sync::Arc::new(store), None);
        let (signed_in, vault) = session::signed_in(&session, keys, &msal.sign_in.app)
            .await
            .ok()??;
        Some(Self { signed_in, vault })
    }

    /// Encodes it as sign-in and a token refresh store it: the texts under `msal.who` and
    /// `msal.vault`.
    pub fn encode(&self, msal: &Msal) -> Result<(String, String), AuthError> {
        session::encode(
            &self.signed_in,
            &self.vault,
            &msal.config.session_keys,
            &msal.sign_in.app,
        )
    }

    /// Decodes a `msal.who` text as a protected request does on a cache miss; `false` when
    /// it does not decode.
    pub fn decode(msal: &Msal, who: &str) -> bool {
        session::decode(who, &msal.config.session_keys, &msal.sign_in.app).is_some()
    }
}

/// How many decoded sessions the cache of decoded sessions keeps.
pub const DECODED_SESSIONS_KEPT: usize = crate::session::WHO_CACHE_CAPACITY;
