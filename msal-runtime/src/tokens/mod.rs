//! Tokens for downstream APIs: the signed-in user's (cached in the session, refreshed
//! silently, one refresh at a time per session across instances), the app's own (client
//! credentials, cached in process), and on-behalf-of (for web APIs calling other APIs).
//! [`TokenSource`] is the handle that gets them; [`Tokens`] is what a handler holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::client::{Provider, ProviderError};
use crate::config::MsalConfig;
use crate::error::AuthError;
use crate::session::{AppBinding, CachedToken, MsalStore};
use crate::validate::TokenCache;

mod app;
mod cache;
mod handle;
mod refresh_lock;
mod user;

#[cfg(feature = "testing")]
pub(crate) use refresh_lock::abandon_lock;

pub(crate) use app::{app_token, on_behalf_of};
#[cfg(feature = "openapi")]
pub(crate) use cache::check_request;
pub(crate) use cache::remember;
pub use handle::Tokens;
pub(crate) use user::user_token;

/// How many on-behalf-of tokens are remembered.
const OBO_CACHE_CAPACITY: usize = 10_000;

/// What getting tokens needs: the configuration, the provider, the app a session record must
/// have been made for, the store (whose locks make refreshes single-flight across
/// instances), and the in-process caches and single-flight locks.
pub(crate) struct TokenSource {
    pub(crate) config: Arc<MsalConfig>,
    pub(crate) provider: Arc<Provider>,
    pub(crate) app: AppBinding,
    pub(crate) store: MsalStore,
    /// One token refresh at a time per user in this process.
    flights: cache::Flights,
    /// The app's own tokens, by scope set.
    app_tokens: Mutex<HashMap<Vec<String>, AccessToken>>,
    app_flights: cache::Flights,
    /// On-behalf-of tokens by the hash of the incoming token and the scopes.
    obo: TokenCache<AccessToken>,
}

impl TokenSource {
    pub(crate) fn new(
        config: Arc<MsalConfig>,
        provider: Arc<Provider>,
        app: AppBinding,
        store: MsalStore,
    ) -> Self {
        Self {
            config,
            provider,
            app,
            store,
            flights: cache::Flights::default(),
            app_tokens: Mutex::default(),
            app_flights: cache::Flights::default(),
            obo: TokenCache::new(OBO_CACHE_CAPACITY),
        }
    }
}

/// A token for a downstream API. `Debug` never shows it.
///
/// ```
/// # fn f(token: msal_runtime::AccessToken) {
/// let header = format!("Bearer {}", token.secret());
/// # }
/// ```
#[derive(Clone)]
pub struct AccessToken {
    token: Arc<str>,
    expires_at: i64,
    scopes: Vec<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl AccessToken {
    pub(crate) fn new(token: &str, expires_at: i64, scopes: Vec<String>) -> Self {
        Self {
            token: token.into(),
            expires_at,
            scopes,
        }
    }

    /// The token, for an `Authorization: Bearer` header. Never log it.
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// When it expires, in seconds since the epoch.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// The scopes it was obtained for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

impl From<&CachedToken> for AccessToken {
    fn from(t: &CachedToken) -> Self {
        Self::new(&t.token, t.expires_at, t.scopes.clone())
    }
}

fn provider_failure(e: ProviderError) -> AuthError {
    match e {
        ProviderError::Unavailable(why) | ProviderError::Malformed(why) => {
            AuthError::ProviderUnavailable(why)
        }
        ProviderError::Refused(r) => {
            AuthError::ProviderUnavailable(format!("{}: {}", r.error, r.description))
        }
    }
}
