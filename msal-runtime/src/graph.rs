//! A small Microsoft Graph helper: the right token on every call, and one retry when Graph
//! answers with a claims challenge (Continuous Access Evaluation, conditional access).

use base64::Engine as _;
use serde_json::Value;

use crate::error::{AuthError, AuthRejection};
use crate::extract::Tokens;

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

impl<'t> Graph<'t> {
    pub(crate) fn new(tokens: &'t Tokens, scopes: Vec<String>) -> Self {
        Self { tokens, scopes }
    }

    /// `GET {graph}{path}` as JSON, e.g. `get("/me")`.
    pub async fn get(&self, path: &str) -> Result<Value, AuthRejection> {
        let url = format!(
            "{}{}",
            self.tokens.graph_url().as_str().trim_end_matches('/'),
            path
        );
        let token = self.tokens.for_graph(&self.scopes, None).await?;
        let mut response = self.send(&url, token.secret()).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED
            && let Some(claims) = claims_challenge(response.headers())
        {
            // Once, and only once: a second challenge is an answer, not a loop.
            let token = self.tokens.for_graph(&self.scopes, Some(&claims)).await?;
            response = self.send(&url, token.secret()).await?;
        }
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match status.as_u16() {
            200..=299 => Ok(body),
            401 => Err(self.tokens.refuse(AuthError::ReauthenticationRequired {
                scopes: self.scopes.clone(),
                login_hint: None,
                reason: format!("Microsoft Graph refused the token: {message}"),
            })),
            403 => Err(self
                .tokens
                .refuse(AuthError::Forbidden(format!("Microsoft Graph: {message}")))),
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

/// The decoded `claims` of a `WWW-Authenticate: Bearer … error="insufficient_claims",
/// claims="<base64>"` challenge.
fn claims_challenge(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let header = headers
        .get(reqwest::header::WWW_AUTHENTICATE)?
        .to_str()
        .ok()?;
    let encoded = header.split("claims=\"").nth(1)?.split('"').next()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
        .ok()?;
    String::from_utf8(decoded).ok()
}
