//! Signing out: `POST {prefix}/logout` (CSRF-checked) ends the session here and sends the
//! browser to the provider's sign-out; `GET {prefix}/signout-oidc` is the provider's
//! front-channel call that ends every session of a `sid`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{SignIn, Wired, constant_time_eq, provider_error, public_base, refuse};
use crate::config::tenant_of_issuer;
use crate::error::{AuthError, redirect};
use crate::session;

pub(super) async fn logout(
    State(ctx): State<Arc<SignIn>>,
    Wired(session): Wired,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let keys = &ctx.config.session_keys;
        // Judged on the record the guards read, so a session whose tokens no longer open
        // is still one that can be ended.
        let Some(who) = session::who(&session, &ctx.store, keys, &ctx.app, &ctx.sessions).await? else {
            return Ok("/".to_owned());
        };
        let id_token_hint = session::signed_in(&session, keys, &ctx.app)
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
                "Sign-out needs the CSRF token: send the form field 'csrf_token' (or the header X-CSRF-Token) from SignOutCsrf.".into(),
            ));
        }
        session::sign_out(&session).await?;
        let oid = who.principal.user().and_then(|u| u.oid.as_deref());
        tracing::info!(?oid, "signed out");
        // Signed out here whatever the provider's state: its sign-out is a courtesy.
        let end = match ctx.provider.discovered().await {
            Ok(d) => d.end_session_endpoint.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "provider unreachable at sign-out; signed out locally only");
                None
            }
        };
        let Some(mut end) = end else {
            return Ok("/".to_owned());
        };
        let back = match &ctx.config.explicit_post_logout_redirect_uri {
            Some(uri) => uri.to_string(),
            None => format!("{}/", public_base(&ctx, &headers)?),
        };
        if let Some(hint) = id_token_hint.filter(|h| !h.is_empty()) {
            end.query_pairs_mut().append_pair("id_token_hint", &hint);
        }
        end.query_pairs_mut()
            .append_pair("post_logout_redirect_uri", &back)
            .append_pair("client_id", &ctx.config.client_id);
        Ok(end.to_string())
    }
    .await;
    match result {
        Ok(target) => redirect(StatusCode::SEE_OTHER, &target),
        Err(error) => refuse(&ctx, &method, &uri, &headers, error),
    }
}

#[derive(Deserialize)]
pub(super) struct SignoutParams {
    sid: Option<String>,
    iss: Option<String>,
}

pub(super) async fn signout_oidc(
    State(ctx): State<Arc<SignIn>>,
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
            let d = ctx.provider.discovered().await.map_err(provider_error)?;
            let tid = tenant_of_issuer(iss);
            d.issuer.check(iss, tid).map_err(|why| {
                AuthError::sign_in(400, "Front-channel sign-out from another issuer", why)
            })?;
        }
        // Only sessions the sending issuer signed in end (Entra sends `iss`).
        let ended = ctx.store.end_sid(sid, params.iss.as_deref()).await?;
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
