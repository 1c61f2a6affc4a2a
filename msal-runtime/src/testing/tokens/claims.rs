//! The claims of what TestIdp issues, shaped as Entra's: ID tokens (always v2), delegated
//! access tokens and app-only tokens (v1 unless the API asks for v2; Graph's are v1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Authn, ClientAuth, GRAPH_APP_ID, Resource, ScopeSet};
use crate::testing::jwt::JsonObject;
use crate::testing::model::{TestClient, TestUser, TokenVersion};
use crate::testing::state::{Registry, Shared};

/// Per-app subject, as Entra's pairwise `sub`: 43 base64url characters.
fn pairwise_sub(oid: &str, app: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        Sha256::new()
            .chain_update(oid)
            .chain_update("|")
            .chain_update(app)
            .finalize(),
    )
}

fn opaque() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// Claims every token shares: times and the random `uti`/`aio`.
fn base_claims(shared: &Shared) -> JsonObject {
    let now = shared.now();
    let lifetime = shared.token_lifetime() as i64;
    let mut c = JsonObject::new();
    c.insert("iat".into(), now.into());
    c.insert("nbf".into(), now.into());
    c.insert("exp".into(), (now + lifetime).into());
    c.insert("aio".into(), opaque().into());
    c.insert("uti".into(), opaque().into());
    c
}

/// `roles`, and, where the app asks for them (`groupMembershipClaims`), `groups` (with
/// Entra's overage indirection past the limit) and `wids`.
fn insert_roles_and_groups(shared: &Shared, c: &mut JsonObject, user: &TestUser, app: &TestClient) {
    let roles: Vec<&String> = user
        .roles
        .iter()
        .filter(|r| app.app_roles.contains(r))
        .collect();
    if !roles.is_empty() {
        c.insert("roles".into(), json!(roles));
    }
    if !app.group_membership_claims {
        return;
    }
    if user.groups.len() > shared.settings.group_overage_limit {
        c.insert("_claim_names".into(), json!({ "groups": "src1" }));
        c.insert(
            "_claim_sources".into(),
            json!({ "src1": { "endpoint": format!("{}/users/{}/getMemberObjects", shared.graph_base(), user.oid) } }),
        );
    } else if !user.groups.is_empty() {
        c.insert("groups".into(), json!(user.groups));
    }
    if !user.directory_roles.is_empty() {
        c.insert("wids".into(), json!(user.directory_roles));
    }
}

/// `amr` always; `acrs` once an authentication context was satisfied; `auth_time` (every
/// user sign-in has one); `acr` when `acr_values` asked for a level.
fn insert_authn(c: &mut JsonObject, authn: &Authn) {
    c.insert("amr".into(), json!(authn.amr));
    if !authn.acrs.is_empty() {
        c.insert("acrs".into(), json!(authn.acrs));
    }
    if let Some(auth_time) = authn.auth_time {
        c.insert("auth_time".into(), auth_time.into());
    }
    if let Some(acr) = &authn.acr {
        c.insert("acr".into(), acr.clone().into());
    }
}

/// An ID token for `client`, always v2 (the v2.0 endpoint issues no other).
#[allow(clippy::too_many_arguments)]
pub(crate) fn id_token(
    shared: &Shared,
    reg: &Registry,
    user: &TestUser,
    client: &TestClient,
    nonce: Option<&str>,
    sid: &str,
    with_email: bool,
    authn: &Authn,
) -> JsonObject {
    let tid = reg.user_tenant(user);
    let mut c = base_claims(shared);
    c.insert("aud".into(), client.client_id.clone().into());
    c.insert("iss".into(), shared.v2_issuer(tid).into());
    c.insert(
        "sub".into(),
        pairwise_sub(&user.oid, &client.client_id).into(),
    );
    c.insert("oid".into(), user.oid.clone().into());
    c.insert("tid".into(), tid.into());
    c.insert("name".into(), user.name.clone().into());
    c.insert(
        "preferred_username".into(),
        user.preferred_username.clone().into(),
    );
    if with_email {
        c.insert("email".into(), user.email.clone().into());
    }
    if let Some(nonce) = nonce {
        c.insert("nonce".into(), nonce.into());
    }
    c.insert("sid".into(), sid.into());
    insert_authn(&mut c, authn);
    insert_roles_and_groups(shared, &mut c, user, client);
    c.insert("ver".into(), "2.0".into());
    c
}

/// What a delegated access token is issued for.
pub(crate) struct Issue<'a> {
    pub(crate) user: &'a TestUser,
    /// The client that asked (`azp`/`appid`).
    pub(crate) caller: &'a TestClient,
    pub(crate) auth: ClientAuth,
    pub(crate) scopes: &'a ScopeSet,
    pub(crate) sid: Option<&'a str>,
    pub(crate) authn: &'a Authn,
    /// Client capabilities the request declared (`xms_cc`), which Graph tokens carry.
    pub(crate) capabilities: &'a [String],
}

/// A delegated access token: `caller` acting for `user` on `scopes.resource`.
pub(crate) fn user_access_token(shared: &Shared, reg: &Registry, issue: &Issue<'_>) -> JsonObject {
    let Issue {
        user,
        caller,
        auth,
        scopes,
        ..
    } = issue;
    let tid = reg.user_tenant(user);
    let mut c = base_claims(shared);
    let version = match &scopes.resource {
        Resource::Graph => TokenVersion::V1,
        Resource::Api(api) => api.access_token_version,
    };
    // A v1 token's audience is the resource as the client named it (URI or application
    // id); a v2 token's is always the client id.
    match (&scopes.resource, version) {
        (Resource::Graph, _) => {
            c.insert("aud".into(), scopes.named.clone().into());
            c.insert("app_displayname".into(), caller.display_name.clone().into());
            c.insert("idtyp".into(), "user".into());
            if !issue.capabilities.is_empty() {
                c.insert("xms_cc".into(), json!(issue.capabilities));
            }
        }
        (Resource::Api(api), TokenVersion::V1) => {
            c.insert("aud".into(), scopes.named.clone().into());
            if api.optional_claim_idtyp {
                c.insert("idtyp".into(), "user".into());
            }
        }
        (Resource::Api(api), _) => {
            c.insert("aud".into(), api.client_id.clone().into());
            if api.optional_claim_idtyp {
                c.insert("idtyp".into(), "user".into());
            }
        }
    }
    let resource_app = match &scopes.resource {
        Resource::Graph => GRAPH_APP_ID.to_owned(),
        Resource::Api(api) => api.client_id.clone(),
    };
    if version == TokenVersion::V1 {
        c.insert("iss".into(), shared.v1_issuer(tid).into());
        c.insert("appid".into(), caller.client_id.clone().into());
        c.insert("appidacr".into(), auth.acr().into());
        c.insert("upn".into(), user.preferred_username.clone().into());
        c.insert("unique_name".into(), user.preferred_username.clone().into());
        c.insert("ver".into(), "1.0".into());
    } else {
        c.insert("iss".into(), shared.v2_issuer(tid).into());
        c.insert("azp".into(), caller.client_id.clone().into());
        c.insert("azpacr".into(), auth.acr().into());
        c.insert(
            "preferred_username".into(),
            user.preferred_username.clone().into(),
        );
        c.insert("ver".into(), "2.0".into());
    }
    c.insert("name".into(), user.name.clone().into());
    c.insert("oid".into(), user.oid.clone().into());
    c.insert("sub".into(), pairwise_sub(&user.oid, &resource_app).into());
    c.insert("tid".into(), tid.into());
    c.insert("scp".into(), scopes.names.join(" ").into());
    if let Some(sid) = issue.sid {
        c.insert("sid".into(), sid.into());
    }
    insert_authn(&mut c, issue.authn);
    if let Resource::Api(api) = &scopes.resource {
        insert_roles_and_groups(shared, &mut c, user, api);
    }
    c
}

/// An app-only token (client credentials): `caller` as itself on `resource`, which the
/// request named `named`.
pub(crate) fn app_access_token(
    shared: &Shared,
    caller: &TestClient,
    auth: ClientAuth,
    resource: &Resource,
    named: &str,
    roles: &[String],
    tenant_id: &str,
) -> JsonObject {
    let mut c = base_claims(shared);
    let (version, idtyp) = match resource {
        // Graph's registration asks for `idtyp`.
        Resource::Graph => (TokenVersion::V1, true),
        Resource::Api(api) => (api.access_token_version, api.optional_claim_idtyp),
    };
    let aud = match (resource, version) {
        (Resource::Api(api), TokenVersion::V2) => api.client_id.clone(),
        _ => named.to_owned(),
    };
    c.insert("aud".into(), aud.into());
    if version == TokenVersion::V1 {
        c.insert("iss".into(), shared.v1_issuer(tenant_id).into());
        c.insert("appid".into(), caller.client_id.clone().into());
        c.insert("appidacr".into(), auth.acr().into());
        c.insert("ver".into(), "1.0".into());
    } else {
        c.insert("iss".into(), shared.v2_issuer(tenant_id).into());
        c.insert("azp".into(), caller.client_id.clone().into());
        c.insert("azpacr".into(), auth.acr().into());
        c.insert("ver".into(), "2.0".into());
    }
    if idtyp {
        c.insert("idtyp".into(), "app".into());
    }
    c.insert("oid".into(), caller.service_principal_id.clone().into());
    c.insert("sub".into(), caller.service_principal_id.clone().into());
    c.insert("tid".into(), tenant_id.into());
    if !roles.is_empty() {
        c.insert("roles".into(), json!(roles));
    }
    c
}
