//! Who is calling: the request's bearer token or its session record, judged once per request
//! and kept in its extensions for every extractor after the first.
//!
//! A request with an `Authorization: Bearer` header is judged by that header only, never by
//! a cookie. [`Ctx`] is what msal-axum's layer puts into each request: the handle that
//! judges callers and the one that gets tokens for them.

use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use tower_sessions::Session;

use crate::client::Provider;
use crate::config::MsalConfig;
use crate::error::{Asker, AuthError, AuthRejection};
use crate::principal::{Principal, Rule};
use crate::session::{self, AppBinding, MsalStore, Who, WhoCache};
use crate::tokens::TokenSource;
use crate::validate::{
    AccessKind, AccessTokenExpectations, TokenCache, ValidationError, validate_access_token,
};

/// What judging a caller needs: the configuration, the provider's keys, the app a session
/// record must have been made for, and the caches of validated tokens and decoded records.
pub(crate) struct Callers {
    pub(crate) config: Arc<MsalConfig>,
    pub(crate) provider: Arc<Provider>,
    pub(crate) app: AppBinding,
    /// Validated bearer tokens, by [`bearer_key`].
    pub(crate) tokens: TokenCache<Principal>,
    /// Signed-in records decoded, by session.
    pub(crate) sessions: Arc<WhoCache>,
    /// Where the session records are read.
    pub(crate) store: MsalStore,
    /// A web API: bearer tokens only, no sessions.
    pub(crate) api_only: bool,
}

/// What msal-axum's layer puts into each request.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) callers: Arc<Callers>,
    pub(crate) tokens: Arc<TokenSource>,
}

/// The requirement that admitted the request, left by the guard:
/// [`AccessToken`](crate::AccessToken) gets the token for the delegated scopes it names.
#[derive(Clone, Debug)]
pub(crate) struct Requirement(pub(crate) &'static Rule);

/// How this request asked, with the configured sign-in prefix: what shapes its refusals.
/// Without the layer there is no configuration and no prefix: the only refusal then is
/// [`AuthError::unwired`], a 500 that links nowhere.
pub(crate) fn asker(parts: &Parts) -> Asker {
    let prefix = parts
        .extensions
        .get::<Ctx>()
        .map_or("", |ctx| ctx.callers.config.route_prefix.as_str());
    // Under `nest` the path is the nested router's; the browser comes back to the one it
    // asked for.
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    Asker::new(&parts.method, uri, &parts.headers, prefix)
}

/// The refusal of this request: the one way the extractors and the guard build one.
pub(crate) fn refusal(parts: &Parts, error: AuthError) -> AuthRejection {
    AuthRejection {
        error,
        asker: asker(parts),
    }
}

/// The context the layer left, or the refusal of a route it does not wrap.
pub(crate) fn context(parts: &Parts) -> Result<&Ctx, AuthRejection> {
    parts
        .extensions
        .get::<Ctx>()
        .ok_or_else(|| refusal(parts, AuthError::unwired()))
}

/// The signed-in session's record, if any (a web API has no sessions).
pub(crate) async fn session_user(parts: &Parts) -> Result<Option<Arc<Who>>, AuthRejection> {
    let callers = &context(parts)?.callers;
    if callers.api_only {
        // A web API has no sessions: nobody is signed in by a cookie.
        return Ok(None);
    }
    let Some(session) = parts.extensions.get::<Session>() else {
        return Err(refusal(parts, AuthError::unwired()));
    };
    session::who(
        session,
        &callers.store,
        &callers.config.session_keys,
        &callers.app,
        &callers.sessions,
    )
    .await
    .map_err(|error| refusal(parts, error))
}

/// The caller as requirements judge it, loaded once per request and kept in its extensions.
/// `Ok(None)`: nobody signed in and no token.
pub(crate) async fn principal(parts: &mut Parts) -> Result<Option<Arc<Principal>>, AuthRejection> {
    if let Some(p) = parts.extensions.get::<Arc<Principal>>() {
        return Ok(Some(p.clone()));
    }
    let callers = context(parts)?.callers.clone();
    let found = bearer_header(&parts.headers).map_err(|error| refusal(parts, error))?;
    let p = if let Some(value) = found {
        callers
            .bearer(value)
            .await
            .map_err(|error| refusal(parts, error))?
    } else if callers.api_only {
        return Ok(None);
    } else {
        let Some(who) = session_user(parts).await? else {
            return Ok(None);
        };
        who.principal.clone()
    };
    parts.extensions.insert(p.clone());
    Ok(Some(p))
}

/// The request's `Authorization` header when it uses the Bearer scheme. Another scheme
/// (`Basic` added by a proxy, say) is not ours to judge, and does not hide the session
/// cookie: the request is judged as if it had none.
/// Two bearer headers are refused: which one is the caller is not for us to guess.
pub(crate) fn bearer_header(headers: &HeaderMap) -> Result<Option<&HeaderValue>, AuthError> {
    let mut bearers = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter(|v| is_bearer_scheme(v.as_bytes()));
    let first = bearers.next();
    if bearers.next().is_some() {
        return Err(AuthError::BadRequest(
            "expected one `Authorization: Bearer` header, got several".into(),
        ));
    }
    Ok(first)
}

/// Whether an `Authorization` value names the Bearer scheme (case-insensitive).
pub(crate) fn is_bearer_scheme(value: &[u8]) -> bool {
    let scheme = value
        .iter()
        .position(|&b| b == b' ')
        .map_or(value, |space| &value[..space]);
    scheme.eq_ignore_ascii_case(b"bearer")
}

/// RFC 6750 `b64token` characters, judged byte by byte (a token is a few kilobytes).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Where a bearer token is looked up in the cache of validated tokens: the tail of its
/// signature, which differs between any two tokens the provider signed. Cheaper than a
/// digest of the whole token, and safe because a hit is only taken after the cached
/// principal's token is compared with this one in full.
pub(crate) fn bearer_key(token: &[u8]) -> [u8; 32] {
    let tail = &token[token.len().saturating_sub(32)..];
    let mut key = [0u8; 32];
    key[32 - tail.len()..].copy_from_slice(tail);
    key
}

impl Callers {
    /// The principal of an `Authorization: Bearer` header: from the cache of validated
    /// tokens, or validated now.
    pub(crate) async fn bearer(&self, value: &HeaderValue) -> Result<Arc<Principal>, AuthError> {
        let bytes = value.as_bytes();
        let rest = match bytes.iter().position(|&b| b == b' ') {
            Some(space) => &bytes[space + 1..],
            None => &[][..],
        };
        if !is_bearer_scheme(bytes) {
            // Another scheme is not ours to judge; it is not a sign-in either.
            return Err(AuthError::NotSignedIn);
        }
        let token = rest.trim_ascii();
        // A token validated before is found by its bytes and compared in full: the same
        // bytes passed every check below when they were first seen, so a repeated token
        // costs a lookup and one comparison, not a scan of its kilobytes.
        let key = bearer_key(token);
        if let Some(p) = self.tokens.get(&key, self.config.clock_skew)
            && p.raw.as_ref().is_some_and(|raw| raw.0.as_bytes() == token)
        {
            return Ok(p);
        }
        // Every byte is judged (no early exit), so the check runs as a vector loop.
        let well_formed = token.iter().fold(true, |ok, &b| ok & is_token_byte(b));
        let token = match std::str::from_utf8(token) {
            Ok(token) if well_formed && !token.is_empty() => token,
            _ => {
                return Err(AuthError::BadRequest(
                    "expected `Authorization: Bearer <token>` with one token".into(),
                ));
            }
        };
        let (p, exp) = self.validate_bearer(token).await?;
        let p = Arc::new(p);
        self.tokens.insert(key, p.clone(), exp);
        Ok(p)
    }

    /// Validates an access token with the provider's keys (no cache): the principal it names
    /// and its expiry.
    pub(crate) async fn validate_bearer(&self, token: &str) -> Result<(Principal, i64), AuthError> {
        let d = self
            .provider
            .discovered()
            .await
            .map_err(|e| AuthError::ProviderUnavailable(e.to_string()))?;
        let config = &self.config;
        let expect = AccessTokenExpectations {
            audiences: &config.audiences,
            issuer: &d.issuer,
            v1_issuer: d.v1_issuer.as_ref(),
            skew: config.clock_skew,
            allowed_tenants: &config.allowed_tenants,
            b2c_policies: &config.b2c_policies,
            allow_no_permissions: config.accept_unscoped_tokens,
        };
        let (claims, kind) = validate_access_token(&d.keys, token, &expect)
            .await
            .map_err(|e| match e {
                ValidationError::KeysUnavailable(why) => AuthError::ProviderUnavailable(why),
                ValidationError::Invalid(why) => AuthError::InvalidToken(why),
            })?;
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default();
        Ok((
            Principal::bearer(claims, kind == AccessKind::App, token, self.app.this_api()),
            exp,
        ))
    }
}

#[cfg(test)]
#[path = "caller_tests.rs"]
mod tests;
