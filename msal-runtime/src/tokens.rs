//! Tokens for downstream APIs: the signed-in user's (cached in the session, refreshed
//! silently, one refresh at a time per session), the app's own (client credentials, cached in
//! process), and on-behalf-of (for web APIs calling other APIs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::ExposeSecret;
use tower_sessions::Session;

use crate::client::{ProviderError, Tokens};
use crate::error::AuthError;
use crate::msal::Inner;
use crate::principal::{Principal, PrincipalKind};
use crate::scopes::{OPENID, Reading};
use crate::session::{self, CachedToken, TokenVault};
use crate::validate::{IdTokenExpectations, TokenCache, now, validate_id_token};

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

/// `now` plus a provider's `expires_in` (default an hour), saturating: a huge value is a
/// token that never expires here, not an overflow.
pub(crate) fn expiry(expires_in: Option<Duration>) -> i64 {
    let secs = expires_in.map_or(3600, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    now().saturating_add(secs)
}

/// Puts a token response into the vault: its access token under the granted scopes, and
/// the refresh token (which may have rotated).
pub(crate) fn remember(vault: &mut TokenVault, tokens: &Tokens, granted: &[String]) {
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

/// Whether the provider refused the app itself (its secret or certificate), not the user's
/// grant: nothing a user can fix by signing in again.
fn app_credential_refused(error: &str) -> bool {
    matches!(error, "invalid_client" | "unauthorized_client")
}

fn provider_failure(e: ProviderError) -> AuthError {
    match e {
        ProviderError::Unavailable(why) | ProviderError::Malformed(why) => {
            AuthError::ProviderUnavailable(why)
        }
        ProviderError::Refused { error, description } => {
            AuthError::ProviderUnavailable(format!("{error}: {description}"))
        }
    }
}

/// The signed-in user's token for `scopes`: from the session's cache while it has more than
/// five minutes left, else refreshed (one refresh at a time per user; waiting requests use
/// its result). `claims` (a claims challenge) forces a refresh carrying them.
pub(crate) async fn user_token(
    inner: &Inner,
    session: &Session,
    scopes: &[String],
    claims: Option<&str>,
) -> Result<AccessToken, AuthError> {
    let this_api = &inner.config.audiences;
    check_request(scopes, this_api)?;
    let keys = &inner.config.session_keys;
    let app = &inner.app;
    let (signed_in, vault) = session::signed_in(session, keys, app)
        .await?
        .ok_or(AuthError::NotSignedIn)?;
    if claims.is_none()
        && let Some(t) = cached(&vault, scopes, this_api)
    {
        return Ok(t.into());
    }
    let flight = inner
        .flights
        .lock_for(&format!("{}|{}", signed_in.user.iss, signed_in.user.sub));
    let _one_at_a_time = flight.lock().await;
    // Whoever refreshed while we waited has saved the result: read it.
    session
        .load()
        .await
        .map_err(|e| AuthError::StoreUnavailable(e.to_string()))?;
    let (signed_in, mut vault) = session::signed_in(session, keys, app)
        .await?
        .ok_or(AuthError::NotSignedIn)?;
    if claims.is_none()
        && let Some(t) = cached(&vault, scopes, this_api)
    {
        return Ok(t.into());
    }
    let reauth = |reason: String| AuthError::ReauthenticationRequired {
        scopes: scope_key(scopes),
        login_hint: signed_in.user.preferred_username.clone(),
        reason,
    };
    let Some(refresh_token) = vault.refresh_token.clone() else {
        return Err(reauth("no refresh token in the session".into()));
    };
    let d = inner
        .provider
        .discovered()
        .await
        .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
    let mut asked = scope_key(scopes);
    asked.extend(["openid".to_owned(), "offline_access".to_owned()]);
    let tokens = match inner
        .provider
        .refresh(&d, &refresh_token, &asked, claims)
        .await
    {
        Ok(tokens) => tokens,
        // The app's own credential was refused (an expired secret, say): the user's refresh
        // token is still good, so it stays.
        Err(ProviderError::Refused { error, description }) if app_credential_refused(&error) => {
            return Err(AuthError::AppTokenRefused {
                scopes: scope_key(scopes).join(" "),
                error,
                description,
            });
        }
        Err(ProviderError::Refused { error, description }) => {
            // The refresh token is spent or revoked: forget it, so nothing retries it. The
            // provider's description goes to the log, never to the caller.
            tracing::info!(%error, %description, "a token refresh was refused");
            vault.refresh_token = None;
            session::update_vault(session, keys, app, &vault).await?;
            return Err(reauth(format!(
                "the identity provider refused to renew the tokens ({error})"
            )));
        }
        Err(e) => return Err(provider_failure(e)),
    };
    if let Some(id_token) = &tokens.id_token {
        let config = &inner.config;
        let expect = IdTokenExpectations {
            client_id: &config.client_id,
            issuer: &d.issuer,
            nonce: None,
            skew: config.clock_skew,
            allowed_tenants: &config.allowed_tenants,
            b2c_policies: &config.b2c_policies,
        };
        let fresh = validate_id_token(&d.keys, id_token.expose_secret(), &expect)
            .await
            .map_err(|e| reauth(format!("the refreshed ID token was refused: {e}")))?;
        let same = |name: &str, value: &str| {
            fresh.get(name).and_then(serde_json::Value::as_str) == Some(value)
        };
        if !same("iss", &signed_in.user.iss) || !same("sub", &signed_in.user.sub) {
            return Err(reauth("the refreshed ID token names another user".into()));
        }
        vault.id_token = id_token.expose_secret().to_owned();
    }
    let granted = tokens.scopes.clone().unwrap_or_else(|| asked.clone());
    remember(&mut vault, &tokens, &granted);
    session::update_vault(session, keys, app, &vault).await?;
    Ok(AccessToken::new(
        tokens.access_token.expose_secret(),
        expiry(tokens.expires_in),
        scope_key(&granted),
    ))
}

/// The app's own token (client credentials) for `scopes`, cached in this process until five
/// minutes before it expires; one request at a time per scope set.
pub(crate) async fn app_token(
    inner: &Inner,
    scopes: &[String],
    claims: Option<&str>,
) -> Result<AccessToken, AuthError> {
    check_request(scopes, &inner.config.audiences)?;
    let key = scope_key(scopes);
    let fresh = |cache: &HashMap<Vec<String>, AccessToken>| {
        cache
            .get(&key)
            .filter(|t| t.expires_at > now().saturating_add(EARLY.as_secs() as i64))
            .cloned()
    };
    let lock = |m: &Mutex<HashMap<Vec<String>, AccessToken>>| {
        fresh(&m.lock().unwrap_or_else(PoisonError::into_inner))
    };
    if claims.is_none()
        && let Some(t) = lock(&inner.app_tokens)
    {
        return Ok(t);
    }
    let flight = inner.app_flights.lock_for(&key.join(" "));
    let _one_at_a_time = flight.lock().await;
    if claims.is_none()
        && let Some(t) = lock(&inner.app_tokens)
    {
        return Ok(t);
    }
    let d = inner
        .provider
        .discovered()
        .await
        .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
    let tokens = inner
        .provider
        .client_credentials(&d, &key, claims)
        .await
        .map_err(|e| match e {
            // The description stays out of any response body (see AuthError's detail).
            ProviderError::Refused { error, description } => AuthError::AppTokenRefused {
                scopes: key.join(" "),
                error,
                description,
            },
            e => provider_failure(e),
        })?;
    let token = AccessToken::new(
        tokens.access_token.expose_secret(),
        expiry(tokens.expires_in),
        key.clone(),
    );
    inner
        .app_tokens
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, token.clone());
    Ok(token)
}

/// On-behalf-of: the caller's own bearer token exchanged for one for `scopes`, cached by the
/// hash of both until five minutes before it expires.
pub(crate) async fn on_behalf_of(
    inner: &Inner,
    caller: &Principal,
    scopes: &[String],
    claims: Option<&str>,
) -> Result<AccessToken, AuthError> {
    let (Some(raw), PrincipalKind::BearerUser) = (&caller.raw, caller.kind) else {
        return Err(AuthError::Forbidden(
            "on-behalf-of needs a user's bearer token; an app-only token or a browser session has none to exchange".into(),
        ));
    };
    if inner.config.client_credential.is_none() {
        return Err(AuthError::Misconfigured(
            "on-behalf-of needs a client credential: set MSAL_CLIENT_SECRET or MSAL_CLIENT_CERTIFICATE".into(),
        ));
    }
    check_request(scopes, &inner.config.audiences)?;
    let key = scope_key(scopes);
    let cache_key = TokenCache::<AccessToken>::key(&format!("{}\n{}", raw.0, key.join(" ")));
    if claims.is_none()
        && let Some(t) = inner.obo.get(&cache_key, Duration::ZERO)
    {
        return Ok((*t).clone());
    }
    let d = inner
        .provider
        .discovered()
        .await
        .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
    let tokens = inner
        .provider
        .on_behalf_of(&d, &raw.0, &key, claims)
        .await
        .map_err(|e| match e {
            // The app's credential, not the caller's token, was refused.
            ProviderError::Refused { error, description } if app_credential_refused(&error) => {
                AuthError::AppTokenRefused {
                    scopes: key.join(" "),
                    error,
                    description,
                }
            }
            ProviderError::Refused { error, description } => {
                tracing::info!(%error, %description, "on-behalf-of was refused");
                AuthError::InvalidToken(format!(
                    "the identity provider refused to exchange this token on behalf of its user ({error})"
                ))
            }
            e => provider_failure(e),
        })?;
    let token = AccessToken::new(
        tokens.access_token.expose_secret(),
        expiry(tokens.expires_in),
        key,
    );
    inner.obo.insert(
        cache_key,
        Arc::new(token.clone()),
        token.expires_at.saturating_sub(EARLY.as_secs() as i64),
    );
    Ok(token)
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
