//! The signed-in user's tokens: from the session's vault while fresh, else refreshed with
//! the vault's refresh token (one refresh at a time per user), the refreshed ID token checked
//! to name the same user.

use secrecy::ExposeSecret;
use tower_sessions::Session;

use super::cache::{cached, check_request, expiry, remember, scope_key};
use super::{AccessToken, TokenSource, app_credential_refused, provider_failure};
use crate::client::ProviderError;
use crate::error::AuthError;
use crate::session;
use crate::validate::{IdTokenExpectations, validate_id_token};

/// The signed-in user's token for `scopes`: from the session's cache while it has more than
/// five minutes left, else refreshed (one refresh at a time per user; waiting requests use
/// its result). `claims` (a claims challenge) forces a refresh carrying them.
pub(crate) async fn user_token(
    source: &TokenSource,
    session: &Session,
    scopes: &[String],
    claims: Option<&str>,
) -> Result<AccessToken, AuthError> {
    let this_api = &source.config.audiences;
    check_request(scopes, this_api)?;
    let keys = &source.config.session_keys;
    let app = &source.app;
    let (signed_in, vault) = session::signed_in(session, keys, app)
        .await?
        .ok_or(AuthError::NotSignedIn)?;
    if claims.is_none()
        && let Some(t) = cached(&vault, scopes, this_api)
    {
        return Ok(t.into());
    }
    let flight = source
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
    let d = source
        .provider
        .discovered()
        .await
        .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
    let mut asked = scope_key(scopes);
    asked.extend(["openid".to_owned(), "offline_access".to_owned()]);
    let tokens = match source
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
        let config = &source.config;
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
