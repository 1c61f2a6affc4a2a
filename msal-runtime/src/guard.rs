//! [`Guard`]: the first parameter `#[msal_protected]` gives a handler. It looks the handler's
//! requirement up, judges the caller before any other extractor runs, and asks Microsoft
//! Graph for group memberships a token did not carry.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::caller::{Ctx, Requirement, bearer_key, principal, refusal};
use crate::challenge::{ClaimsRequest, TokenKind};
use crate::error::AuthError;
use crate::graph::{MEMBERSHIP_SCOPE, MembershipFailure, member_objects};
use crate::principal::{
    Principal, PrincipalKind, Protected, Undetermined, Verdict, named_groups, registered,
};
use crate::session;

/// The guard `#[msal_protected]` adds as a handler's first parameter: it runs before every
/// other extractor and before the body, and lets the request through only when the
/// handler's requirement holds. `ID` names the requirement the macro registered.
#[doc(hidden)]
pub struct Guard<const ID: u64>(());

impl<S: Send + Sync, const ID: u64> FromRequestParts<S> for Guard<ID> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(protected) = registered(ID) else {
            // Fail closed: a guard whose requirement cannot be found lets nobody in.
            return Err(refusal(
                parts,
                AuthError::Misconfigured(format!(
                    "no requirement is registered for guard {ID:#x}; rebuild, and report a bug if it persists"
                )),
            )
            .into_response());
        };
        let deny = |parts: &Parts, error: AuthError| {
            let rejection = refusal(parts, error);
            match protected.on_denied {
                Some(custom) => custom(rejection),
                None => rejection.into_response(),
            }
        };
        let mut principal = match principal(parts).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(deny(parts, AuthError::NotSignedIn)),
            Err(rejection) => return Err(deny(parts, rejection.error)),
        };
        let mut verdict = protected.rule.evaluate(&principal);
        if matches!(verdict, Verdict::Unknown(_))
            && principal.groups_unknown()
            && protected.rule.names_groups()
        {
            // The token did not say which groups (overage, or no claim): ask Graph, then
            // judge again. An outage is answered as one; whatever Graph cannot answer stays
            // Unknown, and Unknown is refused.
            match resolve_groups(parts, &principal).await {
                Ok(Some(resolved)) => {
                    principal = resolved;
                    parts.extensions.insert(principal.clone());
                    verdict = protected.rule.evaluate(&principal);
                }
                Ok(None) => {}
                Err(error) => return Err(deny(parts, error)),
            }
        }
        match verdict {
            Verdict::Allow => {
                parts.extensions.insert(Requirement(&protected.rule));
                Ok(Guard(()))
            }
            Verdict::MissingScopes => {
                let missing = protected.rule.missing_scopes(&principal);
                let missing = missing.iter().map(|s| (*s).to_owned()).collect();
                Err(deny(parts, AuthError::InsufficientScope(missing)))
            }
            Verdict::MissingAuthContext => {
                let error = auth_context_challenge(protected, &principal);
                Err(deny(parts, error))
            }
            Verdict::Deny => Err(deny(
                parts,
                AuthError::Forbidden(format!("This needs {}.", protected.rule.describe())),
            )),
            Verdict::Unknown(why) => Err(deny(parts, undetermined(protected, why))),
        }
    }
}

/// The claims challenge for the authentication contexts (`acrs`) a user's sign-in or token
/// lacks: a browser signs in again asking for them in the ID token; a bearer caller hears
/// which claims its next access token must carry. (A sign-in that answered exactly this
/// challenge a moment ago is not repeated: the sign-in route refuses it.)
fn auth_context_challenge(protected: &Protected, principal: &Principal) -> AuthError {
    let contexts = protected.rule.missing_auth_contexts(principal);
    let kind = match principal.kind {
        PrincipalKind::Session => TokenKind::IdToken,
        _ => TokenKind::AccessToken,
    };
    let claims = ClaimsRequest::auth_context(kind, &contexts);
    let scopes = protected.rule.missing_scopes(principal);
    AuthError::InsufficientClaims {
        claims: claims.as_str().to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        login_hint: principal
            .user
            .as_ref()
            .and_then(|u| u.preferred_username.clone()),
        reason: format!(
            "This needs a sign-in that satisfied the authentication context {}",
            contexts.join(", ")
        ),
    }
}

/// The caller's group memberships from Microsoft Graph, for a token that did not carry them
/// (Entra's overage marker, or no `groups` claim): with the signed-in user's Graph token, or
/// on behalf of a bearer caller when the app has a credential. Only the groups some
/// requirement names are kept, with the session (or with the validated token), so Graph is
/// asked once. `Ok(None)` when Graph cannot say (the groups stay unknown, and so does any
/// rule that needs them); `Err` for an outage or a session that must sign in again, which
/// are answered as such.
async fn resolve_groups(
    parts: &Parts,
    principal: &Principal,
) -> Result<Option<Arc<Principal>>, AuthError> {
    let Some(ctx) = parts.extensions.get::<Ctx>() else {
        return Ok(None);
    };
    let callers = &ctx.callers;
    let scopes = [MEMBERSHIP_SCOPE.to_owned()];
    let token = match principal.kind {
        PrincipalKind::Session => {
            let Some(session) = parts.extensions.get::<Session>() else {
                return Ok(None);
            };
            crate::tokens::user_token(&ctx.tokens, session, &scopes, None).await
        }
        PrincipalKind::BearerUser if callers.config.client_credential.is_some() => {
            crate::tokens::on_behalf_of(&ctx.tokens, principal, &scopes, None).await
        }
        _ => return Ok(None),
    };
    let token = match token {
        Ok(token) => token,
        Err(e) if e.is_outage() || matches!(e, AuthError::ReauthenticationRequired { .. }) => {
            return Err(e);
        }
        Err(e) => {
            tracing::warn!(error = %e, "no Microsoft Graph token to look up group memberships; group rules stay undetermined");
            return Ok(None);
        }
    };
    let looked_up = member_objects(
        callers.provider.http(),
        &callers.config.graph_url,
        token.secret(),
    )
    .await;
    let mut groups = match looked_up {
        Ok(groups) => groups,
        Err(MembershipFailure::Outage(why)) => {
            return Err(AuthError::ProviderUnavailable(why));
        }
        Err(MembershipFailure::Refused(why)) => {
            tracing::warn!(
                why,
                "Microsoft Graph did not list the group memberships; group rules stay undetermined"
            );
            return Ok(None);
        }
    };
    let named = named_groups();
    groups.retain(|g| named.contains(&g.to_ascii_lowercase()));
    let resolved = Arc::new(principal.with_groups(groups.clone()));
    match (&principal.raw, parts.extensions.get::<Session>()) {
        (Some(raw), _) => {
            let exp = principal.expires_at.unwrap_or_default();
            callers
                .tokens
                .insert(bearer_key(raw.0.as_bytes()), resolved.clone(), exp);
        }
        (None, Some(session)) => {
            if let Err(e) = session::remember_groups(
                session,
                &callers.config.session_keys,
                &callers.app,
                groups,
            )
            .await
            {
                // This request is judged on the answer; the next one asks Graph again.
                tracing::warn!(error = %e, "group memberships could not be kept with the session");
            }
        }
        (None, None) => {}
    }
    Ok(Some(resolved))
}

/// The refusal of a requirement that could not be decided: what it needs, and what could
/// not be determined.
fn undetermined(protected: &Protected, why: Undetermined) -> AuthError {
    AuthError::Undetermined(format!(
        "This needs {}. {}",
        protected.rule.describe(),
        why.reason()
    ))
}
