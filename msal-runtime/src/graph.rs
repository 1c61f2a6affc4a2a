//! A small Microsoft Graph helper: the right token on every call, and one retry when Graph
//! answers with a claims challenge (Continuous Access Evaluation, conditional access).

use serde_json::Value;

use crate::challenge::ClaimsRequest;
use crate::error::{AuthError, AuthRejection, untrusted};
use crate::tokens::Tokens;

/// The delegated permission that lets an app list the signed-in user's own group
/// memberships (`POST /me/getMemberObjects`).
pub(crate) const MEMBERSHIP_SCOPE: &str = "User.Read";

/// The most group ids taken from one answer: Graph's own limit for `getMemberObjects`.
const MAX_MEMBERSHIPS: usize = 11_000;

/// Graph's own error message (`{"error": {"message"}}`), escaped for a log line: it is
/// another service's text, never shown to a caller.
fn error_message(body: &Value) -> String {
    untrusted(
        body.pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

/// Why Graph did not list the memberships.
#[derive(Debug)]
pub(crate) enum MembershipFailure {
    /// Unreachable, timed out or 5xx: try again later (503).
    Outage(String),
    /// Graph answered and said no, or something unusable: the memberships stay unknown.
    Refused(String),
}

/// The object ids of every group (and directory role) the token's user is a member of,
/// transitively: `POST {graph}/me/getMemberObjects`. For a token that did not carry them
/// (Entra's group overage, or no `groups` claim).
pub(crate) async fn member_objects(
    http: &reqwest::Client,
    graph_url: &url::Url,
    token: &str,
) -> Result<Vec<String>, MembershipFailure> {
    use MembershipFailure::{Outage, Refused};
    let url = format!(
        "{}/me/getMemberObjects",
        graph_url.as_str().trim_end_matches('/')
    );
    let response = http
        .post(&url)
        .bearer_auth(token)
        .json(&serde_json::json!({ "securityEnabledOnly": false }))
        .send()
        .await
        .map_err(|e| Outage(format!("Microsoft Graph unreachable: {e}")))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Outage(format!("Microsoft Graph answered {status}")));
    }
    let body: Value = response.json().await.map_err(|e| {
        Refused(format!(
            "Microsoft Graph answered {status} with something that is not JSON: {e}"
        ))
    })?;
    if !status.is_success() {
        return Err(Refused(format!(
            "Microsoft Graph answered {status}: {}",
            error_message(&body)
        )));
    }
    let ids = body
        .get("value")
        .and_then(Value::as_array)
        .ok_or_else(|| Refused("Microsoft Graph's answer has no 'value' list".into()))?;
    if ids.len() > MAX_MEMBERSHIPS {
        return Err(Refused(format!(
            "Microsoft Graph listed {} memberships",
            ids.len()
        )));
    }
    ids.iter()
        .map(|id| {
            id.as_str().map(str::to_owned).ok_or_else(|| {
                Refused("Microsoft Graph listed a membership that is not an id".into())
            })
        })
        .collect()
}

/// Calls to Microsoft Graph (`MSAL_GRAPH_URL`, default `https://graph.microsoft.com/v1.0`)
/// with a token for the given scopes. Made by [`Tokens::graph`].
pub struct Graph<'t> {
    tokens: &'t Tokens,
    scopes: Vec<String>,
}

impl std::fmt::Debug for Graph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl Tokens {
    /// Calls Microsoft Graph with the caller's token for `scopes`: the signed-in user's, or
    /// on-behalf-of the bearer caller.
    pub fn graph(&self, scopes: &[&str]) -> Graph<'_> {
        Graph {
            tokens: self,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Graph<'_> {
    /// `GET {graph}{path}` as JSON, e.g. `get("/me")`.
    pub async fn get(&self, path: &str) -> Result<Value, AuthRejection> {
        let url = format!(
            "{}{}",
            self.tokens.graph_url().as_str().trim_end_matches('/'),
            path
        );
        let token = self.tokens.for_caller(&self.scopes, None).await?;
        let mut response = self.send(&url, token.secret()).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED
            && let Some(claims) = claims_challenge(response.headers())
        {
            // Once, and only once: a token asked for with the claims, then one more call.
            let token = self.tokens.for_caller(&self.scopes, Some(&claims)).await?;
            response = self.send(&url, token.secret()).await?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED
                && let Some(again) = claims_challenge(response.headers())
            {
                // Still not enough: only the user can answer it, by signing in again.
                return Err(self.tokens.refuse(AuthError::InsufficientClaims {
                    claims: again.as_str().to_owned(),
                    scopes: self.scopes.clone(),
                    login_hint: self.tokens.login_hint(),
                    reason: "Microsoft Graph asks for more verification of the user".into(),
                }));
            }
        }
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        // Graph's own message goes to the log; the caller hears what happened in our words.
        let message = error_message(&body);
        if !status.is_success() {
            tracing::info!(%status, %message, path, "Microsoft Graph refused a call");
        }
        match status.as_u16() {
            200..=299 => Ok(body),
            401 => Err(self.tokens.refuse(AuthError::ReauthenticationRequired {
                scopes: self.scopes.clone(),
                login_hint: None,
                reason: "Microsoft Graph refused the token".into(),
            })),
            403 => Err(self.tokens.refuse(AuthError::Forbidden(format!(
                "Microsoft Graph refused this call ({}): the app or the user lacks a permission it needs.",
                status.as_u16()
            )))),
            _ => Err(self.tokens.refuse(AuthError::ProviderUnavailable(format!(
                "Microsoft Graph answered {status}: {message}"
            )))),
        }
    }

    async fn send(&self, url: &str, token: &str) -> Result<reqwest::Response, AuthRejection> {
        self.tokens
            .http()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| {
                self.tokens.refuse(AuthError::ProviderUnavailable(format!(
                    "Microsoft Graph unreachable: {e}"
                )))
            })
    }
}

/// The claims of a `WWW-Authenticate: Bearer … error="insufficient_claims",
/// claims="<base64>"` challenge; any other challenge is none.
fn claims_challenge(headers: &reqwest::header::HeaderMap) -> Option<ClaimsRequest> {
    headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(ClaimsRequest::from_www_authenticate)
}
