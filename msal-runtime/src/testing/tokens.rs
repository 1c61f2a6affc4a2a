//! What a grant turns into: scope resolution (one resource per request, as at Entra) and the
//! claims of ID tokens, user access tokens and app-only tokens, v1 and v2.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::jwt::JsonObject;
use super::model::{TestClient, TestUser, TokenVersion, random_guid};
use super::state::{Registry, Shared};

/// Microsoft Graph's resource identifier; a bare scope (`User.Read`) means Graph too.
pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Microsoft Graph's application id, which may also prefix its scopes.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// An OAuth error as the token and authorize endpoints report it, with an Entra code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GrantError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) code: u32,
    pub(crate) description: String,
}

impl GrantError {
    pub(crate) fn new(error: &'static str, code: u32, description: impl Into<String>) -> Self {
        Self {
            status: 400,
            error,
            code,
            description: description.into(),
        }
    }

    pub(crate) fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// `AADSTS900144`: a required parameter is missing.
    pub(crate) fn missing(parameter: &str) -> Self {
        Self::new(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    /// The `error_description` text: Entra prefixes the code.
    pub(crate) fn text(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.description)
    }
}

/// The API a token is for.
#[derive(Clone, Debug)]
pub(crate) enum Resource {
    Graph,
    Api(Box<TestClient>),
}

impl Resource {
    fn same_as(&self, other: &Resource) -> bool {
        match (self, other) {
            (Resource::Graph, Resource::Graph) => true,
            (Resource::Api(a), Resource::Api(b)) => a.client_id == b.client_id,
            _ => false,
        }
    }
}

/// A resolved `scope` parameter.
#[derive(Clone, Debug)]
pub(crate) struct ScopeSet {
    pub(crate) oidc: Vec<String>,
    pub(crate) resource: Resource,
    /// Scope names on the resource (`.default` already expanded).
    pub(crate) names: Vec<String>,
    pub(crate) default: bool,
}

impl ScopeSet {
    pub(crate) fn has(&self, oidc_scope: &str) -> bool {
        self.oidc.iter().any(|s| s == oidc_scope)
    }

    /// The `scope` field of the token response.
    pub(crate) fn granted(&self) -> String {
        let mut out: Vec<String> = match &self.resource {
            Resource::Graph => self.names.clone(),
            Resource::Api(api) => self
                .names
                .iter()
                .map(|n| format!("{}/{n}", api.app_id_uri))
                .collect(),
        };
        out.extend(self.oidc.iter().filter(|s| *s != "offline_access").cloned());
        out.join(" ")
    }
}

/// Splits `resource/name` (a bare name means Microsoft Graph).
fn split_resource(reg: &Registry, item: &str) -> Result<(Resource, String), GrantError> {
    let Some((prefix, name)) = item.rsplit_once('/') else {
        return Ok((Resource::Graph, item.to_owned()));
    };
    if prefix.eq_ignore_ascii_case(GRAPH_RESOURCE) || prefix.eq_ignore_ascii_case(GRAPH_APP_ID) {
        return Ok((Resource::Graph, name.to_owned()));
    }
    match reg.resource(prefix) {
        Some(api) => Ok((Resource::Api(Box::new(api.clone())), name.to_owned())),
        None => Err(GrantError::new(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {prefix} was not found in the tenant. This can \
                 happen if the application has not been installed by the administrator of the \
                 tenant or consented to by any user in the tenant."
            ),
        )),
    }
}

/// Resolves a `scope` parameter: OpenID scopes, then exactly one resource's scopes.
pub(crate) fn parse_scopes(reg: &Registry, raw: &str) -> Result<ScopeSet, GrantError> {
    let mut oidc = Vec::new();
    let mut resource: Option<Resource> = None;
    let mut names: Vec<String> = Vec::new();
    let mut default = false;
    for item in raw.split_whitespace() {
        if let Some(s) = OIDC_SCOPES.iter().find(|s| s.eq_ignore_ascii_case(item)) {
            if !oidc.iter().any(|o| o == s) {
                oidc.push((*s).to_owned());
            }
            continue;
        }
        let (r, name) = split_resource(reg, item)?;
        match &resource {
            Some(existing) if !existing.same_as(&r) => {
                return Err(GrantError::new(
                    "invalid_scope",
                    28000,
                    "Provided value for the input parameter scope is not valid because it \
                     contains more than one resource. Scope "
                        .to_owned()
                        + raw
                        + " is not valid.",
                ));
            }
            Some(_) => {}
            None => resource = Some(r),
        }
        if name == ".default" {
            default = true;
        } else if name.is_empty() {
            return Err(invalid_scope(item));
        } else if !names.contains(&name) {
            names.push(name);
        }
    }
    let resource = resource.unwrap_or(Resource::Graph);
    if default && !names.is_empty() {
        return Err(GrantError::new(
            "invalid_scope",
            70011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. '.default' \
                 cannot be combined with other scopes of the same resource: {raw}"
            ),
        ));
    }
    match &resource {
        Resource::Api(api) if default => names = api.scopes.clone(),
        Resource::Api(api) => {
            if let Some(unknown) = names.iter().find(|n| !api.scopes.contains(n)) {
                return Err(invalid_scope(&format!("{}/{unknown}", api.app_id_uri)));
            }
        }
        Resource::Graph if default => names = vec!["User.Read".to_owned()],
        Resource::Graph => {}
    }
    Ok(ScopeSet {
        oidc,
        resource,
        names,
        default,
    })
}

fn invalid_scope(scope: &str) -> GrantError {
    GrantError::new(
        "invalid_scope",
        70011,
        format!(
            "The provided value for the input parameter 'scope' is not valid. The scope \
             {scope} is not valid."
        ),
    )
}

/// The application permissions `caller` holds on `resource`.
pub(crate) fn app_roles_for(
    reg: &Registry,
    caller: &TestClient,
    resource: &Resource,
) -> Vec<String> {
    caller
        .app_permissions
        .iter()
        .filter_map(|p| split_resource(reg, p).ok())
        .filter(|(r, name)| {
            r.same_as(resource)
                && match r {
                    Resource::Api(api) => api.app_roles.contains(name),
                    Resource::Graph => true,
                }
        })
        .map(|(_, name)| name)
        .collect()
}

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

/// `roles` and `groups`, with Entra's overage indirection past the limit.
fn insert_roles_and_groups(shared: &Shared, c: &mut JsonObject, user: &TestUser, app: &TestClient) {
    let roles: Vec<&String> = user
        .roles
        .iter()
        .filter(|r| app.app_roles.contains(r))
        .collect();
    if !roles.is_empty() {
        c.insert("roles".into(), json!(roles));
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
}

/// An ID token for `client`, always v2 (the v2.0 endpoint issues no other).
pub(crate) fn id_token(
    shared: &Shared,
    reg: &Registry,
    user: &TestUser,
    client: &TestClient,
    nonce: Option<&str>,
    sid: &str,
    with_email: bool,
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
    insert_roles_and_groups(shared, &mut c, user, client);
    c.insert("ver".into(), "2.0".into());
    c
}

/// A delegated access token: `caller` acting for `user` on `scopes.resource`.
pub(crate) fn user_access_token(
    shared: &Shared,
    reg: &Registry,
    user: &TestUser,
    caller: &TestClient,
    confidential: bool,
    scopes: &ScopeSet,
    sid: Option<&str>,
) -> JsonObject {
    let tid = reg.user_tenant(user);
    let acr = if confidential { "1" } else { "0" };
    let mut c = base_claims(shared);
    let version = match &scopes.resource {
        Resource::Graph => TokenVersion::V1,
        Resource::Api(api) => api.access_token_version,
    };
    match (&scopes.resource, version) {
        (Resource::Graph, _) => {
            c.insert("aud".into(), GRAPH_RESOURCE.into());
            c.insert("app_displayname".into(), caller.display_name.clone().into());
            c.insert("idtyp".into(), "user".into());
        }
        (Resource::Api(api), TokenVersion::V1) => {
            c.insert("aud".into(), api.app_id_uri.clone().into());
        }
        (Resource::Api(api), _) => {
            c.insert("aud".into(), api.client_id.clone().into());
        }
    }
    let resource_app = match &scopes.resource {
        Resource::Graph => GRAPH_APP_ID.to_owned(),
        Resource::Api(api) => api.client_id.clone(),
    };
    if version == TokenVersion::V1 {
        c.insert("iss".into(), shared.v1_issuer(tid).into());
        c.insert("appid".into(), caller.client_id.clone().into());
        c.insert("appidacr".into(), acr.into());
        c.insert("upn".into(), user.preferred_username.clone().into());
        c.insert("unique_name".into(), user.preferred_username.clone().into());
        c.insert("ver".into(), "1.0".into());
    } else {
        c.insert("iss".into(), shared.v2_issuer(tid).into());
        c.insert("azp".into(), caller.client_id.clone().into());
        c.insert("azpacr".into(), acr.into());
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
    if let Some(sid) = sid {
        c.insert("sid".into(), sid.into());
    }
    if let Resource::Api(api) = &scopes.resource {
        insert_roles_and_groups(shared, &mut c, user, api);
    }
    c
}

/// An app-only token (client credentials): `caller` as itself on `resource`.
pub(crate) fn app_access_token(
    shared: &Shared,
    caller: &TestClient,
    resource: &Resource,
    roles: &[String],
    tenant_id: &str,
) -> JsonObject {
    let mut c = base_claims(shared);
    let version = match resource {
        Resource::Graph => TokenVersion::V1,
        Resource::Api(api) => api.access_token_version,
    };
    let aud: Value = match (resource, version) {
        (Resource::Graph, _) => GRAPH_RESOURCE.into(),
        (Resource::Api(api), TokenVersion::V1) => api.app_id_uri.clone().into(),
        (Resource::Api(api), _) => api.client_id.clone().into(),
    };
    c.insert("aud".into(), aud);
    if version == TokenVersion::V1 {
        c.insert("iss".into(), shared.v1_issuer(tenant_id).into());
        c.insert("appid".into(), caller.client_id.clone().into());
        c.insert("appidacr".into(), "1".into());
        c.insert("ver".into(), "1.0".into());
    } else {
        c.insert("iss".into(), shared.v2_issuer(tenant_id).into());
        c.insert("azp".into(), caller.client_id.clone().into());
        c.insert("azpacr".into(), "1".into());
        c.insert("ver".into(), "2.0".into());
    }
    c.insert("idtyp".into(), "app".into());
    c.insert("oid".into(), caller.service_principal_id.clone().into());
    c.insert("sub".into(), caller.service_principal_id.clone().into());
    c.insert("tid".into(), tenant_id.into());
    if !roles.is_empty() {
        c.insert("roles".into(), json!(roles));
    }
    c
}

/// A fresh opaque value for codes, refresh tokens and session ids.
pub(crate) fn secret_value() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A fresh session id, GUID-shaped like Entra's `sid`.
pub(crate) fn session_id() -> String {
    random_guid()
}
