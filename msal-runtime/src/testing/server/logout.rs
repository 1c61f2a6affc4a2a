//! `/{tenant}/oauth2/v2.0/logout`: ends the IdP session, loads the front-channel sign-out
//! URLs of the apps that used it, and returns to a registered post-logout URI.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::Value;

use super::super::faults::Endpoint;
use super::super::jwt;
use super::super::state::{Shared, SsoSession, lock, read};
use super::super::tokens::GrantError;
use super::pages::signed_out;
use super::{Params, cookie, error_page, found, injected_fault, uri_matches, with_query};

pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Logout).await {
        return fault;
    }
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    logout(&shared, &tenant, &headers, &params)
}

pub(crate) async fn post(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Logout).await {
        return fault;
    }
    logout(&shared, &tenant, &headers, &Params::parse(&body))
}

fn logout(shared: &Shared, tenant: &str, headers: &HeaderMap, params: &Params) -> Response {
    let reg = read(&shared.registry);
    if reg.tenant_path(tenant).is_none() {
        return error_page(&GrantError::new(
            "invalid_tenant",
            90002,
            format!("Tenant '{tenant}' not found."),
        ));
    }
    let hint = match params.get("id_token_hint") {
        Some(token) => match jwt::verify(&read(&shared.keys), token) {
            Ok(claims) => Some(claims),
            Err(_) => {
                return error_page(&GrantError::new(
                    "invalid_request",
                    90000,
                    "id_token_hint is not an ID token this identity provider issued (bad signature or unknown key).",
                ));
            }
        },
        None => None,
    };
    let hint_text = |name: &str| {
        hint.as_ref()
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let client_id = hint_text("aud").or_else(|| params.get("client_id").map(str::to_owned));
    let hint_sid = hint_text("sid");

    // End the sessions named by the cookie or by the hint's sid.
    let cookie_value = cookie(headers, &shared.sso_cookie).map(str::to_owned);
    let ended: Vec<SsoSession> = {
        let mut sso = lock(&shared.sso);
        let keys: Vec<String> = sso
            .iter()
            .filter(|(k, s)| Some(*k) == cookie_value.as_ref() || Some(&s.sid) == hint_sid.as_ref())
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| sso.remove(k)).collect()
    };
    // Entra may send only `sid`: an app must find the session without `iss`.
    let sid_only = shared.front_channel_sid_only.load(Ordering::Relaxed);
    let frames: Vec<String> = ended
        .iter()
        .flat_map(|session| {
            let issuer = reg
                .user_by_oid(&session.oid)
                .map(|u| shared.v2_issuer(reg.user_tenant(u)))
                .unwrap_or_default();
            session
                .clients
                .iter()
                .filter_map(|id| reg.client(id)?.front_channel_logout_uri.clone())
                .map(move |uri| {
                    if sid_only {
                        with_query(&uri, &[("sid", &session.sid)])
                    } else {
                        with_query(&uri, &[("iss", &issuer), ("sid", &session.sid)])
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();

    let target = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client_id
                .as_deref()
                .and_then(|id| reg.client(id))
                .is_some_and(|c| {
                    c.post_logout_redirect_uris
                        .iter()
                        .any(|r| uri_matches(r, uri))
                });
            if !registered {
                return error_page(&GrantError::new(
                    "invalid_request",
                    50011,
                    format!(
                        "The post_logout_redirect_uri '{uri}' is not registered for the application \
                         (identify the app with id_token_hint or client_id)."
                    ),
                ));
            }
            let state: Vec<(&str, &str)> = params
                .get("state")
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            Some(with_query(uri, &state))
        }
    };
    let mut response = match (&target, frames.is_empty()) {
        (Some(target), true) => found(target),
        _ => signed_out(&frames, target.as_deref()),
    };
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        shared.sso_cookie
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
