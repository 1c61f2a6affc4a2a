//! The app's own tokens (client credentials, cached in process by scope set) and
//! on-behalf-of tokens (a web API's caller's token exchanged, cached by the hash of both).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::ExposeSecret;

use super::cache::{EARLY, check_request, expiry, scope_key};
use super::{AccessToken, TokenSource, provider_failure};
use crate::challenge::ClaimsRequest;
use crate::client::{ProviderError, RefusalKind};
use crate::error::AuthError;
use crate::principal::{Principal, PrincipalKind};
use crate::validate::{TokenCache, now};

/// The app's own token (client credentials) for `scopes`, cached in this process until five
/// minutes before it expires; one request at a time per scope set.
pub(crate) async fn app_token(
    source: &TokenSource,
    scopes: &[String],
    claims: Option<&ClaimsRequest>,
) -> Result<AccessToken, AuthError> {
    check_request(scopes, &source.config.audiences)?;
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
        && let Some(t) = lock(&source.app_tokens)
    {
        return Ok(t);
    }
    let flight = source.app_flights.lock_for(&key.join(" "));
    let _one_at_a_time = flight.lock().await;
    if claims.is_none()
        && let Some(t) = lock(&source.app_tokens)
    {
        return Ok(t);
    }
    let d = source
        .provider
        .discovered()
        .await
        .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
    let tokens = source
        .provider
        .client_credentials(&d, &key, claims)
        .await
        .map_err(|e| match e {
            // The description stays out of any response body (see AuthError's detail).
            ProviderError::Refused(r) => AuthError::AppTokenRefused {
                scopes: key.join(" "),
                error: r.error,
                description: r.description,
            },
            e => provider_failure(e),
        })?;
    let token = AccessToken::new(
        tokens.access_token.expose_secret(),
        expiry(tokens.expires_in),
        key.clone(),
    );
    source
        .app_tokens
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, token.clone());
    Ok(token)
}

/// On-behalf-of: the caller's own bearer token exchanged for one for `scopes`, cached by the
/// hash of both until five minutes before it expires.
pub(crate) async fn on_behalf_of(
    source: &TokenSource,
    caller: &Principal,
    scopes: &[String],
    claims: Option<&ClaimsRequest>,
) -> Result<AccessToken, AuthError> {
    let (Some(raw), PrincipalKind::BearerUser) = (&caller.raw, caller.kind) else {
        return Err(AuthError::Forbidden(
            "on-behalf-of needs a user's bearer token; an app-only token or a browser session has none to exchange".into(),
        ));
    };
    if source.config.client_credential.is_none() {
        return Err(AuthError::Misconfigured(
            "on-behalf-of needs a client credential: set MSAL_CLIENT_SECRET or MSAL_CLIENT_CERTIFICATE".into(),
        ));
    }
    check_request(scopes, &source.config.audiences)?;
    let key = scope_key(scopes);
    let cache_key = TokenCache::<AccessToken>::key(&format!("{}\n{}", raw.0, key.join(" ")));
    if claims.is_none()
        && let Some(t) = source.obo.get(&cache_key, Duration::ZERO)
    {
        return Ok((*t).clone());
    }
    let d = source
        .provider
        .discovered()
        .await
        .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
    let tokens = source
        .provider
        .on_behalf_of(&d, &raw.0, &key, claims)
        .await
        .map_err(|e| match e {
            ProviderError::Refused(r) => {
                tracing::info!(error = %r.error, description = %r.description, "on-behalf-of was refused");
                let login_hint = caller.user.as_ref().and_then(|u| u.preferred_username.clone());
                match r.kind() {
                    // The app's credential, not the caller's token, was refused.
                    RefusalKind::AppCredential => AuthError::AppTokenRefused {
                        scopes: key.join(" "),
                        error: r.error,
                        description: r.description,
                    },
                    // Nothing the caller's token can fix: consent is missing downstream.
                    RefusalKind::Consent => AuthError::ConsentRequired {
                        scopes: key.clone(),
                        login_hint,
                    },
                    // Conditional Access wants more of the user: the calling client gets the
                    // claims, to ask for a token for this API that carries them.
                    RefusalKind::Interaction(Some(claims)) => AuthError::InsufficientClaims {
                        claims: claims.as_str().to_owned(),
                        scopes: Vec::new(),
                        login_hint,
                        reason: format!(
                            "the identity provider requires more verification of the user for {}",
                            key.join(" ")
                        ),
                    },
                    RefusalKind::Interaction(None) | RefusalKind::Grant => {
                        AuthError::InvalidToken(format!(
                            "the identity provider refused to exchange this token on behalf of its user ({})",
                            r.error
                        ))
                    }
                }
            }
            e => provider_failure(e),
        })?;
    let token = AccessToken::new(
        tokens.access_token.expose_secret(),
        expiry(tokens.expires_in),
        key,
    );
    source.obo.insert(
        cache_key,
        Arc::new(token.clone()),
        token.expires_at.saturating_sub(EARLY.as_secs() as i64),
    );
    Ok(token)
}
