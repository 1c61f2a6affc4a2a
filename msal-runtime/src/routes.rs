//! The sign-in routes: `GET {prefix}/login`, `GET|POST {prefix}/callback`,
//! `POST {prefix}/logout`, `GET {prefix}/signout-oidc`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tower_sessions::Session;
use url::Url;

use crate::client::{Hints, ProviderError};
use crate::config::{ResponseMode, is_loopback_http, trim};
use crate::error::{Asker, AuthError, AuthRejection, redirect, untrusted};
use crate::extract::{Ctx, Sess};
use crate::principal::User;
use crate::session::{self, PendingFlow, SignedIn, SwaggerRequest, TokenVault};
use crate::validate::{IdTokenExpectations, ValidationError, validate_id_token};

/// The routes, under the configured prefix.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(prefix: &str) -> Router<S> {
    Router::new()
        .route(&format!("{prefix}/login"), get(login))
        .route(&format!("{prefix}/callback"), get(callback).post(callback))
        .route(&format!("{prefix}/logout"), post(logout))
        .route(&format!("{prefix}/signout-oidc"), get(signout_oidc))
}

/// A refusal answered in the requester's format.
fn refuse(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    error: AuthError,
) -> Response {
    AuthRejection {
        error,
        asker: Asker::new(method, uri, headers, &ctx.0.config.route_prefix),
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
pub(crate) fn public_base(ctx: &Ctx, headers: &HeaderMap) -> Result<String, AuthError> {
    if let Some(url) = &ctx.0.config.public_url {
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

fn redirect_uri(ctx: &Ctx, headers: &HeaderMap) -> Result<Url, AuthError> {
    if let Some(uri) = ctx.0.config.redirect_uri() {
        return Ok(uri);
    }
    let base = public_base(ctx, headers)?;
    Url::parse(&format!("{base}{}/callback", ctx.0.config.route_prefix))
        .map_err(|e| AuthError::Misconfigured(format!("redirect URI: {e}")))
}

fn provider_error(e: ProviderError) -> AuthError {
    match e {
        ProviderError::Unavailable(why) => AuthError::ProviderUnavailable(why),
        ProviderError::Malformed(why) => {
            AuthError::sign_in(401, "The identity provider's answer was refused", why)
        }
        ProviderError::Refused { error, description } => {
            tracing::info!(%error, %description, "the identity provider refused the sign-in");
            AuthError::sign_in(
                400,
                "The identity provider refused the sign-in",
                provider_said(&error, &description),
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

/// Each pending sign-in has its own cookie (named after its state) holding a random value
/// the flow also keeps: the callback must come from the browser that started it, and tabs
/// signing in at once do not overwrite each other's.
fn flow_cookie_name(ctx: &Ctx, state: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(state.as_bytes());
    let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}_flow_{tag}", ctx.0.config.cookie_name)
}

/// `Set-Cookie` for a flow cookie; `None` as the value removes it.
fn flow_cookie(ctx: &Ctx, state: &str, value: Option<&str>) -> Option<HeaderValue> {
    let config = &ctx.0.config;
    let form_post = config.response_mode == ResponseMode::FormPost;
    // form_post comes back as a cross-site POST, which only carries SameSite=None cookies,
    // and those must be Secure.
    let same_site = if form_post { "None" } else { "Lax" };
    let secure = if form_post || config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let max_age = if value.is_some() {
        session::FLOW_TTL.as_secs()
    } else {
        0
    };
    HeaderValue::from_str(&format!(
        "{}={}; Path={}; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}",
        flow_cookie_name(ctx, state),
        value.unwrap_or_default(),
        config.route_prefix,
    ))
    .ok()
}

#[derive(Deserialize, Default)]
pub(crate) struct LoginParams {
    pub(crate) next: Option<String>,
    pub(crate) login_hint: Option<String>,
    pub(crate) domain_hint: Option<String>,
    pub(crate) prompt: Option<String>,
    pub(crate) scopes: Option<String>,
}

async fn login(
    ctx: Ctx,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<LoginParams>,
) -> Response {
    match start_login(&ctx, &headers, params, None).await {
        Ok(response) => response,
        Err(error) => refuse(&ctx, &method, &uri, &headers, error),
    }
}

/// Starts a sign-in: the pending flow stored, its browser cookie set, the browser sent to the
/// provider. `swagger`: Swagger UI asked, and gets a code back instead of a session.
pub(crate) async fn start_login(
    ctx: &Ctx,
    headers: &HeaderMap,
    params: LoginParams,
    swagger: Option<SwaggerRequest>,
) -> Result<Response, AuthError> {
    let config = &ctx.0.config;
    let prompt = params
        .prompt
        .as_deref()
        .filter(|p| matches!(*p, "login" | "none" | "consent" | "select_account"));
    let mut scopes: Vec<String> = ["openid", "profile", "email", "offline_access"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    // Extra scopes (incremental consent) are asked for on their own: one resource per
    // request, as Entra requires, and the configured ones are already granted.
    let extra: Vec<String> = params
        .scopes
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let wanted = if extra.is_empty() {
        &config.scopes
    } else {
        &extra
    };
    for scope in wanted {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    let d = ctx.0.provider.discovered().await.map_err(provider_error)?;
    let redirect_uri = redirect_uri(ctx, headers)?;
    let hints = Hints {
        login_hint: params.login_hint.as_deref(),
        domain_hint: params.domain_hint.as_deref(),
        prompt,
    };
    let request = ctx
        .0
        .provider
        .authorization_request(&d, &redirect_uri, &scopes, &hints)
        .map_err(provider_error)?;
    let binding = random_token();
    let flow = PendingFlow {
        nonce: request.nonce,
        pkce_verifier: request.pkce_verifier,
        binding: binding.clone(),
        next: safe_next(params.next.as_deref()),
        redirect_uri: redirect_uri.to_string(),
        extra_scopes: extra,
        swagger,
    };
    ctx.0
        .store
        .put_flow(&request.state, &flow, &config.session_keys)
        .await?;
    let mut response = redirect(StatusCode::FOUND, request.url.as_str());
    if let Some(cookie) = flow_cookie(ctx, &request.state, Some(&binding)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn callback(
    ctx: Ctx,
    Sess(session): Sess,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let raw = if method == Method::POST {
        body.to_vec()
    } else {
        query.unwrap_or_default().into_bytes()
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&raw).into_owned().collect();
    let result = finish_login(&ctx, &session, &headers, &params).await;
    let state = params
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.as_str());
    let mut response = match result {
        Ok(next) => redirect(StatusCode::SEE_OTHER, &next),
        Err(error) => {
            // Callback errors are for the person at the browser: a page whenever they accept
            // HTML, whatever the method (form_post arrives as a POST).
            let mut asker = Asker::new(&Method::GET, &uri, &headers, &ctx.0.config.route_prefix);
            if !matches!(
                error,
                AuthError::SignInFailed { .. }
                    | AuthError::ProviderUnavailable(_)
                    | AuthError::StoreUnavailable(_)
            ) {
                asker.browser = false;
            }
            AuthRejection { error, asker }.into_response()
        }
    };
    // The flow is spent either way; its cookie goes too.
    if let Some(cookie) = state.and_then(|s| flow_cookie(&ctx, s, None)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn finish_login(
    ctx: &Ctx,
    session: &Session,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<String, AuthError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let keys = &ctx.0.config.session_keys;
    if let Some(error) = get("error") {
        if let Some(state) = get("state") {
            // The flow is over either way.
            ctx.0.store.take_flow(state, keys).await?;
        }
        let description = get("error_description").unwrap_or("no description");
        tracing::info!(error = %untrusted(error), description = %untrusted(description), "the identity provider did not sign the user in");
        return Err(AuthError::sign_in(
            400,
            "The identity provider did not sign you in",
            provider_said(error, description),
        ));
    }
    let state = get("state").ok_or_else(|| {
        AuthError::sign_in(
            400,
            "Sign-in state missing",
            "The callback carries no 'state'. Start the sign-in again.",
        )
    })?;
    let code = get("code").ok_or_else(|| {
        AuthError::sign_in(
            400,
            "Authorization code missing",
            "The callback carries no 'code'. Start the sign-in again.",
        )
    })?;
    let flow = ctx.0.store.take_flow(state, keys).await?.ok_or_else(|| {
        AuthError::sign_in(
            400,
            "Unknown or used sign-in",
            "This sign-in is unknown, expired or was already completed. Start the sign-in again.",
        )
    })?;
    let binding = cookie(headers, &flow_cookie_name(ctx, state)).unwrap_or_default();
    if !constant_time_eq(binding.as_bytes(), flow.binding.as_bytes()) {
        return Err(AuthError::sign_in(
            400,
            "Sign-in started elsewhere",
            "This sign-in was started in another browser. Start the sign-in again here.",
        ));
    }
    let d = ctx.0.provider.discovered().await.map_err(provider_error)?;
    let redirect_uri = Url::parse(&flow.redirect_uri)
        .map_err(|e| AuthError::Misconfigured(format!("stored redirect URI: {e}")))?;
    let tokens = ctx
        .0
        .provider
        .exchange_code(&d, &redirect_uri, code, &flow.pkce_verifier)
        .await
        .map_err(provider_error)?;
    let config = &ctx.0.config;
    use secrecy::ExposeSecret;
    let raw_id_token = tokens
        .id_token
        .as_ref()
        .map(|t| t.expose_secret())
        .unwrap_or_default();
    let expect = IdTokenExpectations {
        client_id: &config.client_id,
        issuer: &d.issuer,
        nonce: Some(&flow.nonce),
        skew: config.clock_skew,
        allowed_tenants: &config.allowed_tenants,
        b2c_policies: &config.b2c_policies,
    };
    let claims = validate_id_token(&d.keys, raw_id_token, &expect)
        .await
        .map_err(|e| match e {
            ValidationError::KeysUnavailable(why) => AuthError::ProviderUnavailable(why),
            ValidationError::Invalid(why) => {
                AuthError::sign_in(401, "The ID token was refused", why)
            }
        })?;
    if let Some(swagger) = &flow.swagger {
        // Swagger UI gets a one-time code for the access token; no session is signed in.
        return crate::swagger_code(ctx, swagger, &tokens).await;
    }
    let user = User::from_claims(claims);
    let granted = tokens
        .scopes
        .clone()
        .unwrap_or_else(|| flow.extra_scopes.clone());
    // Consent accumulates for the same user; another user starts afresh.
    let app = &ctx.0.app;
    let before = session::signed_in(session, &config.session_keys, app).await?;
    let (mut scopes, mut vault) = match before {
        Some((b, vault)) if b.user.iss == user.iss && b.user.sub == user.sub => (b.scopes, vault),
        _ => (Vec::new(), TokenVault::default()),
    };
    for scope in &granted {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    let reading = crate::scopes::Reading::token_request(&config.audiences);
    let declined = flow
        .extra_scopes
        .iter()
        .filter(|s| !reading.holds(&scopes, s))
        .cloned()
        .collect();
    vault.id_token = raw_id_token.to_owned();
    crate::tokens::remember(&mut vault, &tokens, &granted);
    let signed_in = SignedIn {
        user,
        csrf: random_token(),
        scopes,
        declined,
        groups: None,
    };
    session::sign_in(
        session,
        &ctx.0.store,
        &config.session_keys,
        app,
        &signed_in,
        &vault,
    )
    .await?;
    tracing::info!(oid = ?signed_in.user.oid, tid = ?signed_in.user.tid, "signed in");
    Ok(flow.next)
}

async fn logout(
    ctx: Ctx,
    Sess(session): Sess,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let keys = &ctx.0.config.session_keys;
        // Judged on the record the guards read, so a session whose tokens no longer open
        // is still one that can be ended.
        let Some(who) = session::who(&session, keys, &ctx.0.app, &ctx.0.sessions).await? else {
            return Ok("/".to_owned());
        };
        let id_token_hint = session::signed_in(&session, keys, &ctx.0.app)
            .await?
            .map(|(_, vault)| vault.id_token);
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
        let sent = form
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str())
            .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
            .unwrap_or_default();
        if !constant_time_eq(sent.as_bytes(), who.csrf.as_bytes()) {
            return Err(AuthError::Forbidden(
                "Sign-out needs the CSRF token: send the form field 'csrf_token' (or the header X-CSRF-Token) from CsrfToken.".into(),
            ));
        }
        session::sign_out(&session).await?;
        let oid = who.principal.user().and_then(|u| u.oid.as_deref());
        tracing::info!(?oid, "signed out");
        // Signed out here whatever the provider's state: its sign-out is a courtesy.
        let end = match ctx.0.provider.discovered().await {
            Ok(d) => d.end_session_endpoint.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "provider unreachable at sign-out; signed out locally only");
                None
            }
        };
        let Some(mut end) = end else {
            return Ok("/".to_owned());
        };
        let back = match &ctx.0.config.explicit_post_logout_redirect_uri {
            Some(uri) => uri.to_string(),
            None => format!("{}/", public_base(&ctx, &headers)?),
        };
        if let Some(hint) = id_token_hint.filter(|h| !h.is_empty()) {
            end.query_pairs_mut().append_pair("id_token_hint", &hint);
        }
        end.query_pairs_mut()
            .append_pair("post_logout_redirect_uri", &back)
            .append_pair("client_id", &ctx.0.config.client_id);
        Ok(end.to_string())
    }
    .await;
    match result {
        Ok(target) => redirect(StatusCode::SEE_OTHER, &target),
        Err(error) => refuse(&ctx, &method, &uri, &headers, error),
    }
}

#[derive(Deserialize)]
struct SignoutParams {
    sid: Option<String>,
    iss: Option<String>,
}

async fn signout_oidc(
    ctx: Ctx,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<SignoutParams>,
) -> Response {
    let result = async {
        let sid = params
            .sid
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                AuthError::sign_in(
                    400,
                    "Front-channel sign-out needs 'sid'",
                    "The request carries no 'sid'.",
                )
            })?;
        if let Some(iss) = params.iss.as_deref() {
            let d = ctx.0.provider.discovered().await.map_err(provider_error)?;
            let tid = iss.trim_end_matches("/v2.0").rsplit('/').next();
            d.issuer.check(iss, tid).map_err(|why| {
                AuthError::sign_in(400, "Front-channel sign-out from another issuer", why)
            })?;
        }
        // Only sessions the sending issuer signed in end (Entra sends `iss`).
        let ended = ctx.0.store.end_sid(sid, params.iss.as_deref()).await?;
        tracing::info!(ended, "front-channel sign-out");
        Ok::<_, AuthError>(())
    }
    .await;
    match result {
        Ok(()) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            "<!doctype html><title>Signed out</title>",
        )
            .into_response(),
        Err(error) => refuse(&ctx, &method, &uri, &headers, error),
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
