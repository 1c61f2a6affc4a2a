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
    Answers, CheckOutcome, Principal, PrincipalKind, Protected, Rule, StepUpAsk, Undetermined,
    Verdict, named_groups, registered,
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
        judge(protected, parts).await.map(|()| Guard(()))
    }
}

/// A check's failure, kept to answer with when the verdict rests on it.
enum CheckFailure {
    /// `CheckError`: 503 in the caller's shape.
    Unavailable(String),
    /// Another error: its own response.
    Response(Response),
}

/// Judges a request against a registered requirement: `Ok` lets it through (with the
/// requirement noted for the extractors), `Err` is the refusal, built by the requirement's
/// `on_denied` when it has one. The one judge of `#[msal_protected]` handlers and of
/// [`Msal::require`](crate::Msal::require).
pub(crate) async fn judge(
    protected: &'static Protected,
    parts: &mut Parts,
) -> Result<(), Response> {
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
    let rule = &protected.rule;
    let mut answers = Answers::default();
    let mut failure = None;
    let mut verdict = decide(rule, &principal, parts, &mut answers, &mut failure).await;
    if matches!(verdict, Verdict::Unknown(_)) && principal.groups_unknown() && rule.names_groups() {
        // The token did not say which groups (overage, or no claim): ask Graph, then
        // judge again. An outage is answered as one; whatever Graph cannot answer stays
        // Unknown, and Unknown is refused.
        match resolve_groups(parts, &principal).await {
            Ok(Some(resolved)) => {
                principal = resolved;
                parts.extensions.insert(principal.clone());
                verdict = decide(rule, &principal, parts, &mut answers, &mut failure).await;
            }
            Ok(None) => {}
            Err(error) => return Err(deny(parts, error)),
        }
    }
    match verdict {
        Verdict::Allow => {
            parts.extensions.insert(Requirement(rule));
            Ok(())
        }
        Verdict::MissingScopes => {
            let missing = rule.missing_scopes_in(&principal, &mut answers);
            let missing = missing.iter().map(|s| (*s).to_owned()).collect();
            Err(deny(parts, AuthError::InsufficientScope(missing)))
        }
        Verdict::MissingAuthContext => {
            let error = auth_context_challenge(rule, &principal, &mut answers);
            Err(deny(parts, error))
        }
        Verdict::StepUp => {
            let error = step_up_challenge(rule, &principal, &mut answers);
            Err(deny(parts, error))
        }
        Verdict::Deny => Err(deny(
            parts,
            AuthError::Forbidden(format!("This needs {}.", rule.describe())),
        )),
        Verdict::Unknown(Undetermined::CheckFailed) => match failure {
            Some(CheckFailure::Response(response)) => Err(response),
            Some(CheckFailure::Unavailable(cause)) => Err(deny(
                parts,
                AuthError::CheckUnavailable(crate::error::untrusted(&cause)),
            )),
            // Not reached (a failed check leaves its failure), but refused all the same.
            None => Err(deny(parts, undetermined(rule, Undetermined::CheckFailed))),
        },
        Verdict::Unknown(why) => Err(deny(parts, undetermined(rule, why))),
    }
}

/// The verdict, running the rule's checks as evaluation reaches them undecided: a check
/// runs only when the outcome still depends on it, and at most once per request.
async fn decide(
    rule: &Rule,
    principal: &Principal,
    parts: &mut Parts,
    answers: &mut Answers,
    failure: &mut Option<CheckFailure>,
) -> Verdict {
    loop {
        let verdict = rule.evaluate_in(principal, answers);
        let Some(check) = answers.take_pending() else {
            return verdict;
        };
        // An unanswered check counts as Unknown, which only a decided outcome absorbs: one
        // that is not Unknown holds whatever the check would say.
        if !matches!(verdict, Verdict::Unknown(_)) {
            return verdict;
        }
        // Checks judge users; an app-only caller was denied before reaching one.
        let Some(user) = principal.user.as_ref() else {
            return verdict;
        };
        let answer = match (check.run)(user, parts).await {
            CheckOutcome::Allow => Verdict::Allow,
            CheckOutcome::Deny => Verdict::Deny,
            CheckOutcome::Unavailable(cause) => {
                tracing::warn!(check = check.name, cause = %crate::error::untrusted(&cause), "an access check could not decide; refused");
                failure.get_or_insert(CheckFailure::Unavailable(cause));
                Verdict::Unknown(Undetermined::CheckFailed)
            }
            CheckOutcome::Failed(response) => {
                tracing::debug!(check = check.name, status = %response.status(), "an access check answered with its own error; refused");
                failure.get_or_insert(CheckFailure::Response(response));
                Verdict::Unknown(Undetermined::CheckFailed)
            }
        };
        answers.answer(check, answer);
    }
}

/// The claims challenge for the authentication contexts (`acrs`) a user's sign-in or token
/// lacks: a browser signs in again asking for them in the ID token; a bearer caller hears
/// which claims its next access token must carry. (A sign-in that answered exactly this
/// challenge a moment ago is not repeated: the sign-in route refuses it.)
fn auth_context_challenge(rule: &Rule, principal: &Principal, answers: &mut Answers) -> AuthError {
    let contexts = rule.missing_auth_contexts_in(principal, answers);
    let kind = match principal.kind {
        PrincipalKind::Session => TokenKind::IdToken,
        _ => TokenKind::AccessToken,
    };
    let claims = ClaimsRequest::auth_context(kind, &contexts);
    let scopes = rule.missing_scopes_in(principal, answers);
    AuthError::InsufficientClaims {
        claims: claims.as_str().to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        login_hint: login_hint(principal),
        reason: format!(
            "This needs a sign-in that satisfied the authentication context {}",
            contexts.join(", ")
        ),
    }
}

/// Who to pre-fill the provider's page with.
fn login_hint(principal: &Principal) -> Option<String> {
    principal
        .user
        .as_ref()
        .and_then(|u| u.preferred_username.clone())
}

/// The step-up (RFC 9470) for a sign-in too old for a `max_age` or of an `acr` the rule
/// does not accept: a browser signs in again with `max_age` and `acr_values` (and the
/// authentication contexts and scopes also missing, in the same round trip); a bearer
/// caller hears `insufficient_user_authentication`.
fn step_up_challenge(rule: &Rule, principal: &Principal, answers: &mut Answers) -> AuthError {
    let StepUpAsk {
        max_age,
        acr_values,
    } = rule.step_up_in(principal, answers);
    let contexts = rule.missing_auth_contexts_in(principal, answers);
    let claims = (principal.kind == PrincipalKind::Session && !contexts.is_empty()).then(|| {
        ClaimsRequest::auth_context(TokenKind::IdToken, &contexts)
            .as_str()
            .to_owned()
    });
    let scopes = rule.missing_scopes_in(principal, answers);
    let mut needs = Vec::new();
    if let Some(seconds) = max_age {
        needs.push(Rule::MaxAge(seconds).describe());
    }
    if !acr_values.is_empty() {
        needs.push(format!(
            "a sign-in of the authentication level {}",
            acr_values.join(" or ")
        ));
    }
    AuthError::StepUpRequired {
        max_age,
        acr_values: acr_values.iter().map(|s| (*s).to_owned()).collect(),
        claims,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        login_hint: login_hint(principal),
        reason: format!("This needs {}", needs.join(" and ")),
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
fn undetermined(rule: &Rule, why: Undetermined) -> AuthError {
    AuthError::Undetermined(format!("This needs {}. {}", rule.describe(), why.reason()))
}
