//! The token cache's rules: which scope set a token is kept under, when a cached token still
//! serves a request, what one token request may ask for, and one refresh at a time per key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::client::TokenResponse;
use crate::error::AuthError;
use crate::scopes::{OPENID, Reading};
use crate::session::{CachedToken, TokenVault};
use crate::validate::now;

/// A cached token is used until this long before it expires.
pub(crate) const EARLY: Duration = Duration::from_secs(300);

/// The cache key of a scope set: the API scopes, sorted, without the OpenID ones.
pub(crate) fn scope_key(scopes: &[String]) -> Vec<String> {
    let mut key: Vec<String> = scopes
        .iter()
        .filter(|s| !OPENID.contains(&s.as_str()))
        .cloned()
        .collect();
    key.sort();
    key.dedup();
    key
}

/// One token request is for one resource, and `.default` stands alone (Entra's rules): a
/// request that breaks them is a programming error, reported before anything is sent.
pub(crate) fn check_request(scopes: &[String], this_api: &[String]) -> Result<(), AuthError> {
    let key = scope_key(scopes);
    match Reading::token_request(this_api).single_resource(scopes) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(AuthError::Misconfigured(
                "a token request needs at least one scope".into(),
            ));
        }
        Err((one, other)) => {
            return Err(AuthError::Misconfigured(format!(
                "scopes of two resources in one token request ({one} and {other}): ask for each resource separately"
            )));
        }
    }
    if key.len() > 1 && key.iter().any(|s| s.ends_with(".default")) {
        return Err(AuthError::Misconfigured(
            "'.default' cannot be combined with other scopes in one token request".into(),
        ));
    }
    Ok(())
}

/// How long a token whose response gave no `expires_in` is taken to live: the one default,
/// for every grant.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// `now` plus a provider's `expires_in` (default [`DEFAULT_LIFETIME`]), saturating: a huge
/// value is a token that never expires here, not an overflow.
pub(crate) fn expiry(expires_in: Option<Duration>) -> i64 {
    let lifetime = expires_in.unwrap_or(DEFAULT_LIFETIME);
    let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    now().saturating_add(secs)
}

/// Puts a token response into the vault: its access token under the granted scopes, and
/// the refresh token (which may have rotated).
pub(crate) fn remember(vault: &mut TokenVault, tokens: &TokenResponse, granted: &[String]) {
    if let Some(rt) = &tokens.refresh_token {
        vault.refresh_token = Some(rt.expose_secret().to_owned());
    }
    let key = scope_key(granted);
    if key.is_empty() {
        return;
    }
    let expires_at = expiry(tokens.expires_in);
    vault
        .access
        .retain(|t| t.scopes != key && t.expires_at > now());
    vault.access.push(CachedToken {
        scopes: key,
        token: tokens.access_token.expose_secret().to_owned(),
        expires_at,
    });
}

/// A cached token for `scopes` that is not about to expire: one granted for the same
/// resource and every scope asked for ([`Reading::covers`], read as token requests are).
pub(crate) fn cached<'v>(
    vault: &'v TokenVault,
    scopes: &[String],
    this_api: &[String],
) -> Option<&'v CachedToken> {
    let wanted = scope_key(scopes);
    let fresh_until = now().saturating_add(EARLY.as_secs() as i64);
    let reading = Reading::token_request(this_api);
    vault
        .access
        .iter()
        .find(|t| t.expires_at > fresh_until && reading.covers(&t.scopes, &wanted))
}

/// One lock per key, for single-flight refreshes.
#[derive(Default)]
pub(crate) struct Flights(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl Flights {
    pub(crate) fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget idle locks now and then, so the map does not grow with every user ever seen.
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        map.entry(key.to_owned()).or_default().clone()
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
