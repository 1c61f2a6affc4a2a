//! The extractors handlers take: [`User`], `Option<User>`, [`Claims`], [`SignOutCsrf`],
//! [`AccessToken`] and [`Tokens`]. Each reads the caller the layer's context judges
//! (module `caller`), once per request.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::caller::{Requirement, asker, context, principal, refusal, session_user};
use crate::error::{AuthError, AuthRejection};
use crate::principal::{Principal, PrincipalKind, User};
use crate::tokens::{AccessToken, Tokens};

/// The user of a principal; an app-only token has none.
fn user_of(parts: &Parts, p: &Principal) -> Result<User, AuthRejection> {
    p.user().cloned().ok_or_else(|| {
        refusal(
            parts,
            AuthError::Forbidden("this needs a user, and an app-only token has none".into()),
        )
    })
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match principal(parts).await? {
            Some(p) => user_of(parts, &p),
            None => Err(refusal(parts, AuthError::NotSignedIn)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for User {
    type Rejection = AuthRejection;

    /// `None` for anyone who is not a signed-in user: nobody signed in, an invalid or
    /// malformed token, an app-only caller. Only an outage (503) or a missing layer (500)
    /// rejects, as those say nothing about who is calling.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        match principal(parts).await {
            Ok(p) => Ok(p.and_then(|p| p.user().cloned())),
            Err(rejection) if rejection.error.is_outage() => Err(rejection),
            Err(_) => Ok(None),
        }
    }
}

/// The caller's claims as your own type: for a browser session the signed-in user's ID-token
/// claims, for a bearer request the claims of its access token (validated, for this API).
/// Refuses with 403 when they do not fit it, or when the caller is an app (no user).
///
/// ```
/// use msal_runtime::Claims;
///
/// #[derive(serde::Deserialize)]
/// struct Employee { oid: String, department: Option<String> }
///
/// async fn handler(Claims(me): Claims<Employee>) -> String {
///     me.department.unwrap_or_default()
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <User as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        user.claims_as::<T>().map(Claims).map_err(|e| {
            refusal(
                parts,
                AuthError::Forbidden(format!(
                    "the caller's claims do not have what this page needs: {e}"
                )),
            )
        })
    }
}

/// The signed-in session's CSRF token, for the sign-out form (`POST {prefix}/logout` with the
/// field `csrf_token`, or the header `X-CSRF-Token`).
///
/// ```
/// use axum::response::Html;
/// use msal_runtime::SignOutCsrf;
///
/// async fn page(csrf: SignOutCsrf) -> Html<String> {
///     Html(format!(
///         r#"<form method="post" action="/auth/logout">{}<button>Sign out</button></form>"#,
///         csrf.hidden_input()
///     ))
/// }
/// ```
#[derive(Clone)]
pub struct SignOutCsrf(String);

impl std::fmt::Debug for SignOutCsrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignOutCsrf([REDACTED])")
    }
}

impl SignOutCsrf {
    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<input type="hidden" name="csrf_token" value="…">`.
    pub fn hidden_input(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
            crate::error::escape_html(&self.0)
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignOutCsrf {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match session_user(parts).await? {
            Some(who) => Ok(SignOutCsrf(who.csrf.clone())),
            None => Err(refusal(parts, AuthError::NotSignedIn)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for SignOutCsrf {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(session_user(parts)
            .await?
            .map(|s| SignOutCsrf(s.csrf.clone())))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = AuthRejection;

    /// The signed-in user's token for the scopes the handler's
    /// `#[msal_protected(scopes = …)]` names: from the cache or a silent refresh. A bearer
    /// request is refused (500, a programming error): there those scopes are this API's
    /// own, held by the caller's token, which must never be handed on; a handler calls
    /// [`Tokens::on_behalf_of`] with the downstream API's scopes instead, and reads the
    /// caller's token, if it must, with [`Tokens::incoming_bearer`].
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let scopes: Vec<String> = parts
            .extensions
            .get::<Requirement>()
            .map(|r| {
                r.0.required_scopes()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if scopes.is_empty() {
            return Err(refusal(
                parts,
                AuthError::Misconfigured(
                    "AccessToken gives the token for the scopes of #[msal_protected(scopes = \"…\")]; this handler names none (use Tokens::user_token for others)".into(),
                ),
            ));
        }
        let tokens = <Tokens as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if tokens.principal().kind != PrincipalKind::Session {
            return Err(tokens.refuse(AuthError::Misconfigured(
                "AccessToken holds a browser session's token; on a bearer request this handler's scopes are the caller's scopes for this API, and its token must never be handed on: call Tokens::on_behalf_of(&[\"<downstream API>/<scope>\"]) for a downstream API, or Tokens::incoming_bearer() to read the caller's own token".into(),
            )));
        }
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        tokens.user_token(&scopes).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tokens {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(principal) = principal(parts).await? else {
            return Err(refusal(parts, AuthError::NotSignedIn));
        };
        let source = context(parts)?.tokens.clone();
        Ok(Tokens::new(
            source,
            parts.extensions.get::<Session>().cloned(),
            principal,
            asker(parts),
        ))
    }
}
