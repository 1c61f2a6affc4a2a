//! The `scope` parameter: OpenID scopes, then exactly one resource's scopes, and the name the
//! client used for that resource (a v1 token's `aud` is that name).

use super::GrantError;
use crate::testing::model::TestClient;
use crate::testing::state::Registry;

/// Microsoft Graph's resource identifier; a bare scope (`User.Read`) means Graph too.
pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Microsoft Graph's application id, which may also prefix its scopes.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The API a token is for.
#[derive(Clone, Debug)]
pub(crate) enum Resource {
    Graph,
    Api(Box<TestClient>),
}

impl Resource {
    pub(crate) fn same_as(&self, other: &Resource) -> bool {
        match (self, other) {
            (Resource::Graph, Resource::Graph) => true,
            (Resource::Api(a), Resource::Api(b)) => a.client_id == b.client_id,
            _ => false,
        }
    }

    /// The resource's application id, as Entra names it in error descriptions.
    pub(crate) fn app_id(&self) -> &str {
        match self {
            Resource::Graph => GRAPH_APP_ID,
            Resource::Api(api) => &api.client_id,
        }
    }

    /// `{resource}/{name}`: a scope fully qualified, the way consent lists it.
    pub(crate) fn qualify(&self, name: &str) -> String {
        match self {
            Resource::Graph => format!("{GRAPH_RESOURCE}/{name}"),
            Resource::Api(api) => format!("{}/{name}", api.app_id_uri.trim_end_matches('/')),
        }
    }
}

/// The resource an identifier names: Graph's URL or application id, an App ID URI or a
/// client id. `None` for anything else.
pub(crate) fn resource_named(reg: &Registry, identifier: &str) -> Option<Resource> {
    let identifier = identifier.trim_end_matches('/');
    if identifier.eq_ignore_ascii_case(GRAPH_RESOURCE)
        || identifier.eq_ignore_ascii_case(GRAPH_APP_ID)
    {
        return Some(Resource::Graph);
    }
    reg.resource(identifier)
        .map(|api| Resource::Api(Box::new(api.clone())))
}

/// A resolved `scope` parameter.
#[derive(Clone, Debug)]
pub(crate) struct ScopeSet {
    pub(crate) oidc: Vec<String>,
    pub(crate) resource: Resource,
    /// How the request named the resource: a URI (`https://graph.microsoft.com`, the App ID
    /// URI) or an application id. A bare Graph scope names Graph by its application id.
    pub(crate) named: String,
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

    /// A `scope` string that resolves back to the same set, the resource named the same way
    /// (for refresh tokens).
    pub(crate) fn requested(&self) -> String {
        let mut out: Vec<String> = self.oidc.clone();
        out.extend(self.names.iter().map(|n| format!("{}/{n}", self.named)));
        out.join(" ")
    }

    /// The names on the resource, fully qualified.
    pub(crate) fn qualified(&self) -> Vec<String> {
        self.names
            .iter()
            .map(|n| self.resource.qualify(n))
            .collect()
    }
}

/// Splits `resource/name` (a bare name means Microsoft Graph, by its application id), and
/// says how the resource was named.
fn split_resource(reg: &Registry, item: &str) -> Result<(Resource, String, String), GrantError> {
    let Some((prefix, name)) = item.rsplit_once('/') else {
        return Ok((Resource::Graph, GRAPH_APP_ID.to_owned(), item.to_owned()));
    };
    if prefix.eq_ignore_ascii_case(GRAPH_RESOURCE) {
        return Ok((Resource::Graph, GRAPH_RESOURCE.to_owned(), name.to_owned()));
    }
    if prefix.eq_ignore_ascii_case(GRAPH_APP_ID) {
        return Ok((Resource::Graph, GRAPH_APP_ID.to_owned(), name.to_owned()));
    }
    match reg.resource(prefix) {
        Some(api) => {
            let named = if api.client_id.eq_ignore_ascii_case(prefix) {
                api.client_id.clone()
            } else {
                api.app_id_uri.trim_end_matches('/').to_owned()
            };
            Ok((Resource::Api(Box::new(api.clone())), named, name.to_owned()))
        }
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
    let mut resource: Option<(Resource, String)> = None;
    let mut names: Vec<String> = Vec::new();
    let mut default = false;
    for item in raw.split_whitespace() {
        if let Some(s) = OIDC_SCOPES.iter().find(|s| s.eq_ignore_ascii_case(item)) {
            if !oidc.iter().any(|o| o == s) {
                oidc.push((*s).to_owned());
            }
            continue;
        }
        let (r, named, name) = split_resource(reg, item)?;
        match &resource {
            Some((existing, _)) if !existing.same_as(&r) => {
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
            None => resource = Some((r, named)),
        }
        if name == ".default" {
            default = true;
        } else if name.is_empty() {
            return Err(invalid_scope(item));
        } else if !names.contains(&name) {
            names.push(name);
        }
    }
    let (resource, named) = resource.unwrap_or((Resource::Graph, GRAPH_APP_ID.to_owned()));
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
        named,
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
        .filter(|(r, _, name)| {
            r.same_as(resource)
                && match r {
                    Resource::Api(api) => api.app_roles.contains(name),
                    Resource::Graph => true,
                }
        })
        .map(|(_, _, name)| name)
        .collect()
}
