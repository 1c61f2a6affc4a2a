//! `/.well-known/openid-configuration` (v2, and Entra's v1 metadata, which names the v1
//! issuer) and the JWKS, in Entra's shape.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::faults::Endpoint;
use super::super::state::{Shared, TenantPath, lock, read};
use super::super::tokens::GrantError;
use super::{injected_fault, oauth_error};

/// The tenant id Entra uses for Microsoft accounts (`consumers`).
const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

fn unknown_tenant(tenant: &str) -> Response {
    oauth_error(&GrantError::new(
        "invalid_tenant",
        90002,
        format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and \
             are signing into the correct cloud."
        ),
    ))
}

/// (issuer, tenant segment the endpoints use) for a tenant path.
fn issuer_and_segment(shared: &Shared, path: &TenantPath, segment: &str) -> (String, String) {
    match path {
        TenantPath::Tenant(t) => (shared.v2_issuer(&t.id), t.id.clone()),
        TenantPath::Any => (
            format!("{}/{{tenantid}}/v2.0", shared.base_url),
            segment.to_ascii_lowercase(),
        ),
        TenantPath::Consumers => (shared.v2_issuer(CONSUMERS_TENANT_ID), "consumers".into()),
    }
}

pub(crate) async fn openid_configuration(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Discovery).await {
        return fault;
    }
    let Some(path) = read(&shared.registry).tenant_path(&tenant) else {
        return unknown_tenant(&tenant);
    };
    let (issuer, segment) = issuer_and_segment(&shared, &path, &tenant);
    let issuer = lock(&shared.discovery_issuer).clone().unwrap_or(issuer);
    let base = &shared.base_url;
    let mut doc = json!({
        "token_endpoint": format!("{base}/{segment}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{segment}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/{segment}/oauth2/v2.0/authorize"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{segment}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce",
            "preferred_username", "name", "tid", "ver", "email", "oid", "sid", "roles", "groups"],
        "code_challenge_methods_supported": ["S256"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "testidp.local",
        "cloud_graph_host_name": "graph.testidp.local",
        "msgraph_host": format!("{base}/graph"),
    });
    if let Some(fields) = doc.as_object_mut() {
        for (name, value) in lock(&shared.discovery_fields).iter() {
            fields.insert(name.clone(), value.clone());
        }
    }
    (StatusCode::OK, axum::Json(doc)).into_response()
}

/// `GET /{tenant}/.well-known/openid-configuration`: Entra's v1 metadata. What it is read
/// for is its `issuer`, the v1 one (`http://{the other loopback host}:{port}/{tid}/`, as
/// Entra's is `https://sts.windows.net/{tid}/`; `{tenantid}` for `common` and
/// `organizations`). TestIdp speaks only the v2 protocol, so the endpoints it lists are the
/// v2 ones; its keys are the same keys, at Entra's v1 path.
pub(crate) async fn v1_openid_configuration(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::V1Discovery).await {
        return fault;
    }
    let Some(path) = read(&shared.registry).tenant_path(&tenant) else {
        return unknown_tenant(&tenant);
    };
    let (issuer, segment) = match &path {
        TenantPath::Tenant(t) => (shared.v1_issuer(&t.id), t.id.clone()),
        TenantPath::Any => (
            format!("{}/{{tenantid}}/", shared.v1_base),
            tenant.to_ascii_lowercase(),
        ),
        TenantPath::Consumers => (shared.v1_issuer(CONSUMERS_TENANT_ID), "consumers".into()),
    };
    let issuer = lock(&shared.v1_discovery_issuer).clone().unwrap_or(issuer);
    let base = &shared.base_url;
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{segment}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{segment}/oauth2/v2.0/token"),
        "end_session_endpoint": format!("{base}/{segment}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/{segment}/discovery/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "microsoft_multi_refresh_token": true,
        "cloud_instance_name": "testidp.local",
    });
    (StatusCode::OK, axum::Json(doc)).into_response()
}

pub(crate) async fn jwks(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Jwks).await {
        return fault;
    }
    let Some(path) = read(&shared.registry).tenant_path(&tenant) else {
        return unknown_tenant(&tenant);
    };
    if let Some(doc) = lock(&shared.jwks_override).clone() {
        return (StatusCode::OK, axum::Json(doc)).into_response();
    }
    let (issuer, _) = issuer_and_segment(&shared, &path, &tenant);
    let mut doc = read(&shared.keys).jwks(&issuer);
    let extra = lock(&shared.extra_jwks).clone();
    if let Some(keys) = doc.get_mut("keys").and_then(|k| k.as_array_mut()) {
        keys.extend(extra);
    }
    (StatusCode::OK, axum::Json(doc)).into_response()
}
