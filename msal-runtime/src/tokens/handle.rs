//! [`Tokens`]: what a handler holds to get tokens for the caller of its request.

use std::sync::Arc;

use tower_sessions::Session;

use super::{AccessToken, TokenSource};
use crate::challenge::ClaimsRequest;
use crate::error::{Asker, AuthError, AuthRejection};
use crate::principal::{Principal, PrincipalKind};

/// Tokens for downstream APIs, on demand: the signed-in user's ([`user_token`](Self::user_token)),
/// on-behalf-of the calling user ([`on_behalf_of`](Self::on_behalf_of)), the app's own
/// ([`app_token`](Self::app_token)), and a Microsoft Graph helper ([`graph`](Self::graph)).
/// A refusal is answered to the request the handler serves, as the extractors' are.
///
/// ```
/// use axum::Json;
/// use msal_runtime::{AuthRejection, Tokens, msal_protected};
///
/// #[msal_protected(scopes = "User.Read")]
/// async fn graph_me(tokens: Tokens) -> Result<Json<serde_json::Value>, AuthRejection> {
///     Ok(Json(tokens.graph(&["User.Read"]).get("/me").await?))
/// }
/// ```
#[derive(Clone)]
pub struct Tokens {
    source: Arc<TokenSource>,
    session: Option<Session>,
    principal: Arc<Principal>,
    /// Who asked, for refusals built after extraction.
    asker: Asker,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("principal", &self.principal.kind)
            .finish_non_exhaustive()
    }
}

fn owned(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|s| (*s).to_owned()).collect()
}

impl Tokens {
    pub(crate) fn new(
        source: Arc<TokenSource>,
        session: Option<Session>,
        principal: Arc<Principal>,
        asker: Asker,
    ) -> Self {
        Self {
            source,
            session,
            principal,
            asker,
        }
    }

    /// The signed-in user's token for `scopes` (one resource): cached in the session, renewed
    /// silently. When that is no longer possible, a browser is sent to sign in again with
    /// these scopes and an API caller gets 401.
    pub async fn user_token(&self, scopes: &[&str]) -> Result<AccessToken, AuthRejection> {
        self.user_token_with_claims(&owned(scopes), None).await
    }

    async fn user_token_with_claims(
        &self,
        scopes: &[String],
        claims: Option<&ClaimsRequest>,
    ) -> Result<AccessToken, AuthRejection> {
        let Some(session) = &self.session else {
            return Err(self.refuse(AuthError::NotSignedIn));
        };
        if self.principal.kind != PrincipalKind::Session {
            return Err(self.refuse(AuthError::Forbidden(
                "a bearer request has no session tokens: use on_behalf_of".into(),
            )));
        }
        super::user_token(&self.source, session, scopes, claims)
            .await
            .map_err(|e| self.refuse(e))
    }

    /// A token for `scopes` on behalf of the user whose bearer token called this API.
    pub async fn on_behalf_of(&self, scopes: &[&str]) -> Result<AccessToken, AuthRejection> {
        super::on_behalf_of(&self.source, &self.principal, &owned(scopes), None)
            .await
            .map_err(|e| self.refuse(e))
    }

    /// The caller's own bearer token, exactly as it arrived, for a bearer request (`None`
    /// for a session). It is a token for this API: read it, log nothing of it, and never
    /// hand it to another service (one that received it could call this API as the
    /// caller). For a downstream API use [`on_behalf_of`](Self::on_behalf_of).
    pub fn incoming_bearer(&self) -> Option<AccessToken> {
        let raw = self.principal.raw.as_ref()?;
        Some(AccessToken::new(
            &raw.0,
            self.principal.expires_at.unwrap_or_default(),
            self.principal.scopes.clone(),
        ))
    }

    /// The app's own token (client credentials) for `scopes`.
    pub async fn app_token(&self, scopes: &[&str]) -> Result<AccessToken, AuthRejection> {
        super::app_token(&self.source, &owned(scopes), None)
            .await
            .map_err(|e| self.refuse(e))
    }

    /// The caller's token for `scopes`, with a claims challenge when retrying: the
    /// signed-in user's, on-behalf-of a bearer user, or the app's own for an app caller.
    pub(crate) async fn for_caller(
        &self,
        scopes: &[String],
        claims: Option<&ClaimsRequest>,
    ) -> Result<AccessToken, AuthRejection> {
        match self.principal.kind {
            PrincipalKind::Session => self.user_token_with_claims(scopes, claims).await,
            PrincipalKind::BearerUser => {
                super::on_behalf_of(&self.source, &self.principal, scopes, claims)
                    .await
                    .map_err(|e| self.refuse(e))
            }
            _ => super::app_token(&self.source, scopes, claims)
                .await
                .map_err(|e| self.refuse(e)),
        }
    }

    /// The calling user's sign-in name, to pre-fill the provider's page.
    pub(crate) fn login_hint(&self) -> Option<String> {
        self.principal.user.as_ref()?.preferred_username.clone()
    }

    /// Who is calling.
    pub(crate) fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Where Microsoft Graph is.
    pub(crate) fn graph_url(&self) -> &url::Url {
        &self.source.config.graph_url
    }

    /// The provider's HTTP client, shared by every outgoing call.
    pub(crate) fn http(&self) -> &reqwest::Client {
        self.source.provider.http()
    }

    /// A refusal answered to the request this handler serves.
    pub(crate) fn refuse(&self, error: AuthError) -> AuthRejection {
        AuthRejection {
            error,
            asker: self.asker.clone(),
        }
    }
}
