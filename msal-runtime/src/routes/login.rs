//! Signing in: `GET {prefix}/login` stores the pending flow and sends the browser to the
//! provider; `GET|POST {prefix}/callback` checks it came back to the browser that started
//! it, redeems the code, validates the ID token and signs the session in.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;
use url::Url;

use super::{
    SignIn, Wired, constant_time_eq, cookie, provider_error, provider_said, random_token,
    redirect_uri, refuse, safe_next,
};
use crate::challenge::{ClaimsRequest, MAX_CLAIMS_BYTES};
use crate::client::{Hints, ProviderError, RefusalKind};
use crate::config::ResponseMode;
use crate::error::{
    Asker, AuthError, AuthRejection, SignInAsk, login_location, redirect, untrusted,
};
use crate::principal::User;
use crate::session::{
    self, AnsweredClaims, AnsweredStepUp, PendingFlow, SignedIn, SwaggerRequest, TokenVault,
};
use crate::validate::{IdTokenExpectations, ValidationError, validate_id_token};

/// Each pending sign-in has its own cookie (named after its state) holding a random value
/// the flow also keeps: the callback must come from the browser that started it, and tabs
/// signing in at once do not overwrite each other's.
fn flow_cookie_name(ctx: &SignIn, state: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(state.as_bytes());
    let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}_flow_{tag}", ctx.config.cookie_name)
}

/// `Set-Cookie` for a flow cookie; `None` as the value removes it.
fn flow_cookie(ctx: &SignIn, state: &str, value: Option<&str>) -> Option<HeaderValue> {
    let config = &ctx.config;
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
    /// A claims request (JSON) the sign-in must answer: a Conditional Access or CAE claims
    /// challenge, or an `auth_context` rule's.
    pub(crate) claims: Option<String>,
    /// The most seconds since the user's authentication (a `max_age` rule's step-up).
    pub(crate) max_age: Option<String>,
    /// Acceptable authentication levels, most preferred first (an `acr` rule's step-up).
    pub(crate) acr_values: Option<String>,
}

/// The most characters of `acr_values` a sign-in passes on.
const MAX_ACR_VALUES: usize = 512;

/// `max_age`: whole seconds, as OpenID Connect writes it.
fn parse_max_age(text: Option<&str>) -> Result<Option<u64>, AuthError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::BadRequest(
            "`max_age` must be a number of seconds, such as max_age=300".into(),
        ));
    }
    text.parse().map(Some).map_err(|_| {
        AuthError::BadRequest(
            "`max_age` is too large: give it in seconds, such as max_age=300".into(),
        )
    })
}

/// `acr_values`: space-separated levels of printable ASCII, bounded.
fn parse_acr_values(text: Option<&str>) -> Result<Vec<String>, AuthError> {
    let text = text.unwrap_or_default();
    if text.len() > MAX_ACR_VALUES || !text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(AuthError::BadRequest(format!(
            "`acr_values` must be space-separated authentication levels of printable ASCII, at most {MAX_ACR_VALUES} characters"
        )));
    }
    Ok(text.split_whitespace().map(str::to_owned).collect())
}

pub(super) async fn login(
    State(ctx): State<Arc<SignIn>>,
    Wired(session): Wired,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<LoginParams>,
) -> Response {
    match start_login(&ctx, &headers, params, None, Some(&session)).await {
        Ok(response) => response,
        Err(error) => refuse(&ctx, &method, &uri, &headers, error),
    }
}

/// Starts a sign-in: the pending flow stored, its browser cookie set, the browser sent to the
/// provider. `swagger`: Swagger UI asked, and gets a code back instead of a session.
/// `session`: the browser's, whose last sign-in may have answered the claims asked for now.
pub(crate) async fn start_login(
    ctx: &SignIn,
    headers: &HeaderMap,
    params: LoginParams,
    swagger: Option<SwaggerRequest>,
    session: Option<&Session>,
) -> Result<Response, AuthError> {
    let config = &ctx.config;
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
    let claims = match params.claims.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(ClaimsRequest::parse(text).ok_or_else(|| {
            AuthError::BadRequest(format!(
                "`claims` must be a claims request: a JSON object such as \
                 {{\"id_token\":{{\"acrs\":{{\"essential\":true,\"value\":\"c1\"}}}}}} of at most \
                 {MAX_CLAIMS_BYTES} bytes"
            ))
        })?),
    };
    // The one loop guard of every claims challenge (a rule's, a refresh's, Graph's): the
    // same claims again right after this browser's sign-in answered them would only be asked
    // for again.
    if let (Some(asked), Some(session)) = (&claims, session)
        && let Some((signed_in, _)) =
            session::signed_in(session, &config.session_keys, &ctx.app).await?
        && AnsweredClaims::repeated_by(signed_in.answered.as_ref(), asked.as_str())
    {
        return Err(AuthError::claims_loop());
    }
    let max_age = parse_max_age(params.max_age.as_deref())?;
    let acr_values = parse_acr_values(params.acr_values.as_deref())?;
    // The loop guard of `acr` step-ups: levels this session's last step-ups answered a
    // moment ago, asked for again after another level replaced them.
    if !acr_values.is_empty()
        && let Some(session) = session
        && let Some((signed_in, _)) =
            session::signed_in(session, &config.session_keys, &ctx.app).await?
        && AnsweredStepUp::loops(&signed_in.stepped_up, &acr_values)
    {
        return Err(AuthError::step_up_loop(&acr_values));
    }
    let d = ctx.provider.discovered().await.map_err(provider_error)?;
    let redirect_uri = redirect_uri(ctx, headers)?;
    let acr_joined = acr_values.join(" ");
    let hints = Hints {
        login_hint: params.login_hint.as_deref(),
        domain_hint: params.domain_hint.as_deref(),
        prompt,
        claims: claims.as_ref(),
        max_age,
        acr_values: (!acr_joined.is_empty()).then_some(acr_joined.as_str()),
    };
    let request = ctx
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
        claims: claims.map(|c| c.as_str().to_owned()),
        login_hint: params.login_hint.clone(),
        max_age,
        acr_values,
        prompt_login: prompt == Some("login"),
    };
    ctx.store
        .put_flow(&request.state, &flow, &config.session_keys)
        .await?;
    let mut response = redirect(StatusCode::FOUND, request.url.as_str());
    if let Some(cookie) = flow_cookie(ctx, &request.state, Some(&binding)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub(super) async fn callback(
    State(ctx): State<Arc<SignIn>>,
    Wired(session): Wired,
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
            let mut asker = Asker::new(&Method::GET, &uri, &headers, &ctx.config.route_prefix);
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
    ctx: &SignIn,
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
    let keys = &ctx.config.session_keys;
    if let Some(error) = get("error") {
        if let Some(state) = get("state") {
            // The flow is over either way.
            ctx.store.take_flow(state, keys).await?;
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
    let flow = ctx.store.take_flow(state, keys).await?.ok_or_else(|| {
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
    let d = ctx.provider.discovered().await.map_err(provider_error)?;
    let redirect_uri = Url::parse(&flow.redirect_uri)
        .map_err(|e| AuthError::Misconfigured(format!("stored redirect URI: {e}")))?;
    let answering = flow.claims.as_deref().and_then(ClaimsRequest::parse);
    let exchanged = ctx
        .provider
        .exchange_code(
            &d,
            &redirect_uri,
            code,
            &flow.pkce_verifier,
            answering.as_ref(),
        )
        .await;
    let tokens = match exchanged {
        Ok(tokens) => tokens,
        Err(ProviderError::Refused(r)) => {
            if let RefusalKind::Interaction(Some(asked)) = r.kind() {
                tracing::info!(error = %r.error, description = %r.description, "the code redemption asks for more verification");
                // The next round asks for what this one did and what the provider wants now.
                let next = match &answering {
                    Some(answering) => answering.merged(&asked),
                    None => asked,
                };
                if answering.as_ref() == Some(&next) {
                    // This sign-in already asked for all of that: no second round.
                    return Err(AuthError::claims_loop());
                }
                return Ok(sign_in_url(ctx, &flow, Some(&next), flow.prompt_login));
            }
            return Err(provider_error(ProviderError::Refused(r)));
        }
        Err(e) => return Err(provider_error(e)),
    };
    let config = &ctx.config;
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
    if let Some(again) = step_up_answered(ctx, &flow, &claims)? {
        return Ok(again);
    }
    if let Some(swagger) = &flow.swagger {
        // Swagger UI gets a one-time code for the access token; no session is signed in.
        return super::swagger::code(ctx, swagger, &tokens).await;
    }
    let user = User::from_claims(claims);
    let granted = tokens
        .scopes
        .clone()
        .unwrap_or_else(|| flow.extra_scopes.clone());
    // Consent accumulates for the same user; another user starts afresh.
    let app = &ctx.app;
    let before = session::signed_in(session, &config.session_keys, app).await?;
    let (mut scopes, mut vault, chain) = match before {
        Some((b, vault)) if b.user.iss == user.iss && b.user.sub == user.sub => {
            (b.scopes, vault, b.stepped_up)
        }
        _ => (Vec::new(), TokenVault::default(), Vec::new()),
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
        answered: flow.claims.clone().map(|claims| AnsweredClaims {
            claims,
            at: crate::validate::now(),
        }),
        stepped_up: AnsweredStepUp::chain(chain, &flow.acr_values, crate::validate::now()),
    };
    session::sign_in(
        session,
        &ctx.store,
        &config.session_keys,
        app,
        &signed_in,
        &vault,
    )
    .await?;
    tracing::info!(oid = ?signed_in.user.oid, tid = ?signed_in.user.tid, "signed in");
    Ok(flow.next)
}

/// Whether the sign-in met the step-up it was started for (OpenID Connect Core 3.1.2.1:
/// with `max_age` the client checks `auth_time`; with `acr_values`, `acr`). `Ok(None)`: it
/// did, or none was asked. `Ok(Some(url))`: the provider ignored `max_age` and reused an
/// older sign-in, so one more round asks with `prompt=login`. `Err`: the provider did not
/// give what was asked even so; signing in again would only repeat it.
fn step_up_answered(
    ctx: &SignIn,
    flow: &PendingFlow,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<String>, AuthError> {
    if let Some(max_age) = flow.max_age {
        let auth_time = crate::principal::auth_time(claims);
        let fresh = auth_time.is_some_and(|at| {
            crate::principal::signed_in_within(at, crate::validate::now(), max_age)
        });
        if !fresh {
            if !flow.prompt_login {
                tracing::info!(
                    max_age,
                    ?auth_time,
                    "the provider reused an older sign-in despite max_age; asking again with prompt=login"
                );
                return Ok(Some(sign_in_url(ctx, flow, None, true)));
            }
            return Err(AuthError::sign_in(
                403,
                "A fresh sign-in did not happen",
                "This page needs you to have signed in recently, and the identity provider did not ask you to sign in again. Try again, or ask your administrator.",
            ));
        }
    }
    if !flow.acr_values.is_empty() {
        let acr = claims.get("acr").and_then(serde_json::Value::as_str);
        if !acr.is_some_and(|acr| flow.acr_values.iter().any(|v| v == acr)) {
            tracing::info!(acr = ?acr.map(untrusted), wanted = ?flow.acr_values, "the sign-in did not reach the authentication level asked for");
            return Err(AuthError::sign_in(
                403,
                "The sign-in was not strong enough",
                format!(
                    "This page needs a sign-in of the authentication level {}, and the identity provider signed you in at another. Try again, or ask your administrator.",
                    flow.acr_values.join(" or ")
                ),
            ));
        }
    }
    Ok(None)
}

/// Where a sign-in goes when its flow needs another round: a new sign-in for the same user,
/// scopes, step-up and destination, asking for `claims` (the provider's, to redeem the
/// code) and with `prompt=login` (the provider ignored `max_age`).
fn sign_in_url(
    ctx: &SignIn,
    flow: &PendingFlow,
    claims: Option<&ClaimsRequest>,
    prompt_login: bool,
) -> String {
    let claims = claims.map(ClaimsRequest::as_str).or(flow.claims.as_deref());
    let ask = SignInAsk {
        scopes: &flow.extra_scopes,
        login_hint: flow.login_hint.as_deref(),
        claims,
        max_age: flow.max_age,
        acr_values: &flow.acr_values,
        prompt_login,
    };
    login_location(
        &format!("{}/login", ctx.config.route_prefix),
        &flow.next,
        &ask,
    )
}

#[cfg(test)]
mod step_up_params {
    use super::*;

    #[test]
    fn max_age_is_whole_seconds_or_refused() {
        assert_eq!(parse_max_age(None).ok(), Some(None));
        assert_eq!(parse_max_age(Some("")).ok(), Some(None));
        assert_eq!(parse_max_age(Some("300")).ok(), Some(Some(300)));
        for bad in [
            "-1",
            "5m",
            "1e3",
            " 300",
            "300 ",
            "+300",
            "99999999999999999999999",
        ] {
            assert!(
                matches!(parse_max_age(Some(bad)), Err(AuthError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn acr_values_are_bounded_printable_words() {
        assert_eq!(
            parse_acr_values(Some("urn:high  b2c_1a_mfa")).ok(),
            Some(vec!["urn:high".to_owned(), "b2c_1a_mfa".to_owned()])
        );
        assert_eq!(parse_acr_values(None).ok(), Some(vec![]));
        for bad in ["a\nb", "a\tb", "é", &"a".repeat(MAX_ACR_VALUES + 1)] {
            assert!(
                matches!(parse_acr_values(Some(bad)), Err(AuthError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }
}
