//! The signed-in user's tokens: from the session's vault while fresh, else refreshed with
//! the vault's refresh token (one refresh at a time per session, across instances), the
//! refreshed ID token checked to name the same user.

use secrecy::ExposeSecret;
use tokio::time::Instant;
use tower_sessions::Session;

use super::cache::{cached, check_request, expiry, remember, scope_key};
use super::refresh_lock::{longest_wait, refresh_lock};
use super::{AccessToken, TokenSource, provider_failure};
use crate::challenge::ClaimsRequest;
use crate::client::{ProviderError, RefusalKind};
use crate::error::AuthError;
use crate::session;
use crate::validate::{IdTokenExpectations, ValidationError, validate_id_token};

/// The signed-in user's token for `scopes`: from the session's cache while it has more than
/// five minutes left, else refreshed: one refresh at a time per user in this process, and
/// per session across every instance (the store's lock); waiting requests use its result.
/// `claims` (a claims challenge) forces a refresh carrying them.
pub(crate) async fn user_token(
    source: &TokenSource,
    session: &Session,
    scopes: &[String],
    claims: Option<&ClaimsRequest>,
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
    let id = session.id().ok_or(AuthError::NotSignedIn)?.to_string();
    // One deadline for everyone waiting in this process, not one each in turn.
    let deadline = Instant::now() + longest_wait(source.config.http_timeout);
    let flight = source
        .flights
        .lock_for(&format!("{}|{}", signed_in.user.iss, signed_in.user.sub));
    let _one_here = flight.lock().await;
    // Whoever refreshed while we waited here has saved the result: read it, and take the
    // store's lock only to refresh.
    reload(session).await?;
    if claims.is_none()
        && let Some((_, vault)) = session::signed_in(session, keys, app).await?
        && let Some(t) = cached(&vault, scopes, this_api)
    {
        return Ok(t.into());
    }
    let one_anywhere = refresh_lock(source, &id, deadline).await?;
    let refreshed = refresh_locked(source, session, scopes, claims).await;
    if let Err(e) = one_anywhere.release().await {
        // It expires on its own; the refresh itself is done and saved.
        tracing::warn!(error = %e, "a refresh lock could not be released");
    }
    refreshed
}

/// Reads the session again from the store: whatever another request or instance saved
/// meanwhile (the request's own copy is replaced).
async fn reload(session: &Session) -> Result<(), AuthError> {
    session
        .load()
        .await
        .map_err(|e| AuthError::StoreUnavailable(e.to_string()))
}

/// The refresh itself, with the session's locks held: the vault read afresh from the store
/// (another instance that refreshed while we waited for its lock has saved the result), then
/// refreshed if it still needs to be, and saved.
async fn refresh_locked(
    source: &TokenSource,
    session: &Session,
    scopes: &[String],
    claims: Option<&ClaimsRequest>,
) -> Result<AccessToken, AuthError> {
    let this_api = &source.config.audiences;
    let keys = &source.config.session_keys;
    let app = &source.app;
    reload(session).await?;
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
        Err(ProviderError::Refused(r)) => {
            // The provider's description goes to the log, never to the caller.
            tracing::info!(error = %r.error, description = %r.description, "a token refresh was refused");
            let login_hint = signed_in.user.preferred_username.clone();
            return Err(match r.kind() {
                // The app's own credential was refused (an expired secret, say): the user's
                // refresh token is still good, so it stays.
                RefusalKind::AppCredential => AuthError::AppTokenRefused {
                    scopes: scope_key(scopes).join(" "),
                    error: r.error,
                    description: r.description,
                },
                // Consent or an interaction is missing for this resource only: the refresh
                // token still serves every other one, so it stays.
                RefusalKind::Consent => AuthError::ConsentRequired {
                    scopes: scope_key(scopes),
                    login_hint,
                },
                RefusalKind::Interaction(Some(asked)) => AuthError::InsufficientClaims {
                    claims: asked.as_str().to_owned(),
                    scopes: scope_key(scopes),
                    login_hint,
                    reason: format!(
                        "the identity provider requires more verification for {}",
                        scope_key(scopes).join(" ")
                    ),
                },
                RefusalKind::Interaction(None) => reauth(format!(
                    "the identity provider requires you to sign in again ({})",
                    r.error
                )),
                // The refresh token is spent or revoked: forget it, so nothing retries it.
                RefusalKind::Grant => {
                    return refused(source, session, scopes, claims, &refresh_token)
                        .await?
                        .ok_or_else(|| {
                            reauth(format!(
                                "the identity provider refused to renew the tokens ({})",
                                r.error
                            ))
                        });
                }
            });
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
            .map_err(|e| match e {
                // The provider's keys cannot be fetched: an outage, not a reason to sign in
                // again (the refresh token stays, for the next try).
                ValidationError::KeysUnavailable(why) => AuthError::ProviderUnavailable(why),
                e => reauth(format!("the refreshed ID token was refused: {e}")),
            })?;
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

/// After the provider refused `spent` (revoked, expired, or already used): forgets it, so
/// nothing retries it, unless the session meanwhile holds another refresh token (one saved
/// by an instance that refreshed beside this one, which a rotating provider then refuses as
/// a reuse of the old one). That one is kept, and its token serves the request when it can
/// (`Some`). `None`: sign in again.
async fn refused(
    source: &TokenSource,
    session: &Session,
    scopes: &[String],
    claims: Option<&ClaimsRequest>,
    spent: &str,
) -> Result<Option<AccessToken>, AuthError> {
    let keys = &source.config.session_keys;
    let app = &source.app;
    reload(session).await?;
    let Some((_, mut vault)) = session::signed_in(session, keys, app).await? else {
        return Err(AuthError::NotSignedIn);
    };
    match vault.refresh_token.as_deref() {
        Some(rt) if rt == spent => {
            vault.refresh_token = None;
            session::update_vault(session, keys, app, &vault).await?;
            Ok(None)
        }
        None => Ok(None),
        Some(_) => {
            tracing::warn!(
                "a refresh was refused while another instance renewed the same session's \
                 tokens (an instance without the refresh lock?): its refresh token is kept"
            );
            if claims.is_none()
                && let Some(t) = cached(&vault, scopes, &source.config.audiences)
            {
                return Ok(Some(t.into()));
            }
            Err(AuthError::ProviderUnavailable(
                "the session's tokens were renewed elsewhere during this refresh; try again".into(),
            ))
        }
    }
}
