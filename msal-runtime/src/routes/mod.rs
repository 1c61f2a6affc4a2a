//! The sign-in routes: `GET {prefix}/login`, `GET|POST {prefix}/callback`,
//! `POST {prefix}/logout`, `GET {prefix}/signout-oidc`, served with their own state
//! ([`SignIn`]), and what they share: the app's public URL, the provider's refusals in words a
//! page may show, the refusal of a request.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

#[cfg(feature = "openapi")]
use crate::caller::Callers;
use crate::caller::Ctx;
use crate::client::{Provider, ProviderError};
use crate::config::{MsalConfig, is_loopback_http, trim};
use crate::error::{Asker, AuthError, AuthRejection};
use tower_sessions::Session;

use crate::session::{AppBinding, MsalStore, WhoCache};

#[cfg(test)]
mod hostile_tests;
mod login;
mod logout;
mod swagger;

#[cfg(feature = "openapi")]
pub(crate) use login::{LoginParams, start_login};
#[cfg(feature = "openapi")]
pub(crate) use swagger::SwaggerGrant;

/// What the sign-in routes need: the configuration, the provider, the store of pending flows
/// and sessions, the app a session record must have been made for, and the cache of decoded
/// records (sign-out reads the record the guards read).
pub(crate) struct SignIn {
    pub(crate) config: Arc<MsalConfig>,
    pub(crate) provider: Arc<Provider>,
    pub(crate) store: MsalStore,
    pub(crate) app: AppBinding,
    pub(crate) sessions: Arc<WhoCache>,
    /// Judges the access token a Swagger UI sign-in obtained, as every bearer token is.
    #[cfg(feature = "openapi")]
    pub(crate) callers: Arc<Callers>,
}

/// The request's session, from this app's own layer. A sign-in route the layer does not
/// wrap (merged after `.layer(msal.layer())`, or under another session layer) refuses with
/// a 500 that names the fix: a sign-in there could not finish, or would land in a session
/// msal does not keep.
pub(crate) struct Wired(pub(crate) Session);

impl FromRequestParts<Arc<SignIn>> for Wired {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        sign_in: &Arc<SignIn>,
    ) -> Result<Self, Self::Rejection> {
        let ours = parts
            .extensions
            .get::<Ctx>()
            .is_some_and(|ctx| Arc::ptr_eq(&ctx.callers.sessions, &sign_in.sessions));
        match parts.extensions.get::<Session>() {
            Some(session) if ours => Ok(Wired(session.clone())),
            _ => Err(refuse(
                sign_in,
                &parts.method,
                &parts.uri,
                &parts.headers,
                AuthError::unwired(),
            )),
        }
    }
}

/// The routes, under the configured prefix.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(sign_in: Arc<SignIn>) -> Router<S> {
    let prefix = sign_in.config.route_prefix.clone();
    Router::new()
        .route(&format!("{prefix}/login"), get(login::login))
        .route(
            &format!("{prefix}/callback"),
            get(login::callback).post(login::callback),
        )
        .route(&format!("{prefix}/logout"), post(logout::logout))
        .route(&format!("{prefix}/signout-oidc"), get(logout::signout_oidc))
        .with_state(sign_in)
}

/// A refusal answered in the requester's format.
fn refuse(
    ctx: &SignIn,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    error: AuthError,
) -> Response {
    AuthRejection {
        error,
        asker: Asker::new(method, uri, headers, &ctx.config.route_prefix),
    }
    .into_response()
}

/// Only same-origin relative paths; everything else becomes `/`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".into();
    };
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2048
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if ok { next.to_owned() } else { "/".into() }
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The app's base URL: configured, or this request's `Host` (http only for loopback).
pub(crate) fn public_base(ctx: &SignIn, headers: &HeaderMap) -> Result<String, AuthError> {
    if let Some(url) = &ctx.config.public_url {
        return Ok(trim(url).to_owned());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| {
            AuthError::Misconfigured("the request has no Host header; set MSAL_PUBLIC_URL".into())
        })?;
    let http = Url::parse(&format!("http://{host}/")).map_err(|_| {
        AuthError::Misconfigured(format!("Host {host:?} is not a host; set MSAL_PUBLIC_URL"))
    })?;
    let scheme = if is_loopback_http(&http) {
        "http"
    } else {
        "https"
    };
    Ok(format!("{scheme}://{host}"))
}

fn redirect_uri(ctx: &SignIn, headers: &HeaderMap) -> Result<Url, AuthError> {
    if let Some(uri) = ctx.config.redirect_uri() {
        return Ok(uri);
    }
    let base = public_base(ctx, headers)?;
    Url::parse(&format!("{base}{}/callback", ctx.config.route_prefix))
        .map_err(|e| AuthError::Misconfigured(format!("redirect URI: {e}")))
}

fn provider_error(e: ProviderError) -> AuthError {
    match e {
        ProviderError::Unavailable(why) => AuthError::ProviderUnavailable(why),
        ProviderError::Malformed(why) => {
            AuthError::sign_in(401, "The identity provider's answer was refused", why)
        }
        ProviderError::Refused(r) => {
            tracing::info!(error = %r.error, description = %r.description, "the identity provider refused the sign-in");
            AuthError::sign_in(
                400,
                "The identity provider refused the sign-in",
                provider_said(&r.error, &r.description),
            )
        }
    }
}

/// What a page may say about a provider's refusal: its error code and Entra's `AADSTS`
/// number, both checked to be only that. The description itself is untrusted text (a
/// callback's query is anyone's to write) and goes only to the log.
fn provider_said(error: &str, description: &str) -> String {
    let code: String = error
        .chars()
        .take(64)
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let aadsts = description.find("AADSTS").map(|at| {
        description[at + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .take(10)
            .collect::<String>()
    });
    match aadsts.filter(|n| !n.is_empty()) {
        Some(n) => format!(
            "The identity provider answered '{code}' (AADSTS{n}). Start the sign-in again, or ask your administrator."
        ),
        None => format!(
            "The identity provider answered '{code}'. Start the sign-in again, or ask your administrator."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_accepts_only_same_origin_paths() {
        for good in ["/", "/me", "/a/b?c=d&e=%2F%2F", "/%2F%2Fevil"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "\\\\evil.test",
            "javascript:alert(1)",
            "/\t/evil.test",
            "/\n/evil.test",
            "evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
