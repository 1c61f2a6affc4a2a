//! OpenAPI and Swagger UI sign-in (feature `openapi`): press Authorize in `/docs`, sign in,
//! and try protected endpoints from the browser.
//!
//! The OAuth2 scheme's authorize and token URLs are the app's own routes
//! (`{prefix}/swagger/authorize`, `{prefix}/swagger/token`): Swagger UI never sees the client
//! secret, the app completes the code exchange server-side and hands Swagger an access token
//! for this API. Every operation whose `operationId` names a `#[msal_protected]` handler gets
//! its security requirement (the lock and its scopes) and its 401/403 responses, read from the
//! requirement the macro registered: nothing is repeated in `#[utoipa::path]`. What a
//! [`Msal::require`] layer protects (a nested router, a `ServeDir`) has no handler to name:
//! [`Msal::document_required`] marks the operations under the path it wraps the same way.
//! Step-up (`max_age`, `acr`), authentication contexts and checks are noted in each
//! operation's description.
//!
//! ```ignore
//! #[derive(utoipa::OpenApi)]
//! #[openapi(paths(me, admin))]
//! struct ApiDoc;
//!
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .merge(msal.routes())
//!     .merge(msal.swagger_ui(ApiDoc::openapi(), module_path!()))   // /docs, /openapi.json
//!     .layer(msal.layer());
//! ```

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response as ApiResponse;
use utoipa::openapi::security::{
    AuthorizationCode, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa_swagger_ui::{SwaggerUi, oauth};

use crate::config::MsalConfig;
use crate::error::{Asker, AuthError, AuthRejection};
use crate::msal::Msal;
use crate::principal::{PROTECTED, Protected, Rule};
use crate::require::RequireLayer;
use crate::routes::{LoginParams, SignIn, SwaggerGrant, Wired, public_base, start_login};
use crate::scopes::{Reading, Resource};
use crate::session::SwaggerRequest;

/// The security scheme's name in the document.
pub const SCHEME: &str = "msal";

/// Where Swagger UI is served, and its OAuth2 redirect page.
const DOCS: &str = "/docs";
const REDIRECT_PAGE: &str = "/docs/oauth2-redirect.html";

/// This API's `.default` scope (everything consented to it), under one of its names: its
/// App ID URI where one is configured, else its first audience.
fn default_scope(config: &MsalConfig) -> String {
    let api = config
        .audiences
        .iter()
        .find(|a| a.starts_with("api://"))
        .or(config.audiences.first())
        .cloned()
        .unwrap_or_else(|| format!("api://{}", config.client_id));
    format!("{}/.default", api.trim_end_matches('/'))
}

/// Whether a scope is one of this API's, read as a token request reads it: written with one
/// of its audiences as the prefix. An unprefixed scope is Microsoft Graph's (a handler's
/// `scopes = "User.Read"` is what it calls Graph with), so Swagger never offers it.
fn of_this_api(config: &MsalConfig, scope: &str) -> bool {
    let (resource, name) = Reading::token_request(&config.audiences).resolve(scope);
    resource == Resource::ThisApi && !name.is_empty()
}

/// The protected handlers of the document: those under `module` (a module path prefix, such
/// as the crate's name from `module_path!()`). A `msal_rule!` has no handler: it documents
/// the operations its layer covers ([`Msal::document_required`]), never one by name.
fn protected_in(module: &str) -> impl Iterator<Item = &'static Protected> + '_ {
    PROTECTED
        .iter()
        .filter(move |p| p.module == module || p.module.starts_with(&format!("{module}::")))
}

/// Every operation of a path.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
        &mut item.query,
    ]
    .into_iter()
    .flatten()
}

/// Whether `path` is `prefix` or under it, a segment at a time: `/admin` covers `/admin`
/// and `/admin/{id}`, not `/administrators`; `/` (or an empty prefix) covers every path.
fn covers(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// What the `.default` placeholder of the scheme says.
const EVERYTHING: &str = "everything this API exposes";

/// The scopes the document's msal scheme offers already (read back through its JSON, the
/// only way utoipa shows them).
fn offered_scopes(openapi: &OpenApi) -> BTreeMap<String, String> {
    let scheme = openapi
        .components
        .as_ref()
        .and_then(|c| c.security_schemes.get(SCHEME))
        .and_then(|scheme| serde_json::to_value(scheme).ok());
    scheme
        .as_ref()
        .and_then(|s| s.pointer("/flows/authorizationCode/scopes"))
        .and_then(serde_json::Value::as_object)
        .map(|scopes| {
            scopes
                .iter()
                .filter_map(|(name, what)| Some((name.clone(), what.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Adds the scheme, or widens the one there: it lists this API's scopes among `scopes` (those
/// the requirements write with this API's App ID URI) and those it listed already, or this
/// API's `.default` when there are none. Swagger signs in for this API and nothing else.
fn add_scheme<'s>(
    config: &MsalConfig,
    openapi: &mut OpenApi,
    scopes: impl IntoIterator<Item = &'s str>,
) {
    let prefix = &config.route_prefix;
    let placeholder = default_scope(config);
    let mut offered = offered_scopes(openapi);
    offered.retain(|name, what| !(*name == placeholder && what == EVERYTHING));
    for scope in scopes.into_iter().filter(|s| of_this_api(config, s)) {
        offered
            .entry(scope.to_owned())
            .or_insert_with(|| format!("the delegated scope {scope}"));
    }
    if offered.is_empty() {
        offered.insert(placeholder, EVERYTHING.into());
    }
    let flow = AuthorizationCode::new(
        format!("{prefix}/swagger/authorize"),
        format!("{prefix}/swagger/token"),
        offered.into_iter().collect::<Scopes>(),
    );
    let scheme = SecurityScheme::OAuth2(OAuth2::with_description(
        [Flow::AuthorizationCode(flow)],
        "Sign in through the app: it completes the code exchange and gives Swagger an access token for this API.",
    ));
    openapi
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(SCHEME, scheme);
}

/// How a 403 msal wrote begins; what follows is what the requirement needs.
const FORBIDDEN: &str = "Forbidden: this needs ";

/// The notes on what can send a caller through sign-in again, or refuse a signed-in one,
/// for every item of `rule` outside `not`.
fn notes(rule: &Rule) -> Vec<String> {
    let mut notes = Vec::new();
    let contexts = rule.named_auth_contexts();
    if !contexts.is_empty() {
        notes.push(format!(
            "Needs the Conditional Access authentication context {} (the `acrs` claim): a caller who has not met it is asked to sign in again meeting it.",
            contexts.join(" and ")
        ));
    }
    each_item(rule, &mut |item| {
        let note = match item {
            Rule::MaxAge(_) => format!(
                "Needs {}; a caller whose sign-in is older is asked to authenticate again (RFC 9470 step-up).",
                item.describe()
            ),
            Rule::Acr(_) => format!(
                "Needs {} (the `acr` claim); a caller who signed in at another level is asked to authenticate again at it (RFC 9470 step-up).",
                item.describe()
            ),
            Rule::Check(check) => format!(
                "Access also rests on a resource-level check, `{}`: 403 when it refuses.",
                check.name
            ),
            _ => return,
        };
        if !notes.contains(&note) {
            notes.push(note);
        }
    });
    notes
}

/// Calls `f` with every leaf of `rule` outside `not` (what a caller may be asked to meet).
fn each_item(rule: &Rule, f: &mut dyn FnMut(&Rule)) {
    match rule {
        Rule::All(rules) | Rule::Any(rules) => rules.iter().for_each(|r| each_item(r, f)),
        Rule::Not(_) => {}
        leaf => f(leaf),
    }
}

/// The scopes of msal's security requirement already on an operation (read back through
/// its JSON, the only way utoipa shows them), or `None` without one.
fn required_scopes_of(operation: &Operation) -> Option<Vec<String>> {
    let requirements = operation.security.as_ref()?;
    let mut found = None;
    for requirement in requirements {
        let Ok(value) = serde_json::to_value(requirement) else {
            continue;
        };
        if let Some(scopes) = value.get(SCHEME).and_then(serde_json::Value::as_array) {
            let found: &mut Vec<String> = found.get_or_insert_with(Vec::new);
            found.extend(
                scopes
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned),
            );
        }
    }
    found
}

/// Marks an operation as needing `rule`, the one way both a `#[msal_protected]` handler and
/// a [`RequireLayer`] are documented: msal's security requirement with the rule's scopes of
/// this API, the 401 and 403 responses, and notes on step-up, authentication contexts and
/// checks. A mark already there is widened, not replaced (an operation of a handler under a
/// covered path needs both requirements), and marking twice with one rule changes nothing.
fn mark(config: &MsalConfig, operation: &mut Operation, rule: &Rule) {
    let mut needed = required_scopes_of(operation).unwrap_or_default();
    for scope in rule.required_scopes() {
        if of_this_api(config, scope) && !needed.iter().any(|s| s == scope) {
            needed.push(scope.to_owned());
        }
    }
    operation.security = Some(vec![SecurityRequirement::new(SCHEME, needed)]);
    let responses = &mut operation.responses.responses;
    responses.entry("401".into()).or_insert_with(|| {
        ApiResponse::new("Not signed in, or the token is missing, expired or invalid.").into()
    });
    let needs = rule.describe();
    match responses.entry("403".into()) {
        Entry::Vacant(entry) => {
            entry.insert(ApiResponse::new(format!("{FORBIDDEN}{needs}.")).into());
        }
        // Ours, from another requirement: both hold.
        Entry::Occupied(mut entry) => {
            if let RefOr::T(response) = entry.get_mut() {
                let before = response
                    .description
                    .strip_prefix(FORBIDDEN)
                    .and_then(|d| d.strip_suffix('.'));
                let signed_in = Rule::Authenticated.describe();
                let both = match before {
                    Some(before) if before == signed_in => Some(needs),
                    Some(before) if *rule == Rule::Authenticated || before.contains(&needs) => None,
                    Some(before) => Some(format!("{before}, and {needs}")),
                    None => None,
                };
                if let Some(both) = both {
                    response.description = format!("{FORBIDDEN}{both}.");
                }
            }
        }
    }
    for note in notes(rule) {
        let text = operation.description.take().unwrap_or_default();
        operation.description = Some(if text.contains(&note) {
            text
        } else if text.trim().is_empty() {
            note
        } else {
            format!("{text}\n\n{note}")
        });
    }
}

/// Adds the scheme and marks every operation whose `operationId` is a protected handler.
fn document(config: &MsalConfig, openapi: &mut OpenApi, module: &str) {
    add_scheme(
        config,
        openapi,
        protected_in(module).flat_map(|p| p.rule.required_scopes()),
    );
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            let Some(id) = operation
                .operation_id
                .as_deref()
                .filter(|id| !id.is_empty())
            else {
                continue;
            };
            let mut candidates = protected_in(module).filter(|p| p.handler == id);
            let Some(protected) = candidates.next() else {
                continue;
            };
            if candidates.any(|other| other.rule != protected.rule) {
                tracing::warn!(
                    operation = id,
                    module,
                    "two protected handlers share this operationId; its security is left undocumented"
                );
                continue;
            }
            mark(config, operation, &protected.rule);
        }
    }
}

/// Adds the scheme and marks every operation under `prefix` with the layer's requirement.
fn document_required(config: &MsalConfig, openapi: &mut OpenApi, prefix: &str, rule: &Rule) {
    add_scheme(config, openapi, rule.required_scopes());
    for (path, item) in openapi.paths.paths.iter_mut() {
        if covers(prefix, path) {
            for operation in operations(item) {
                mark(config, operation, rule);
            }
        }
    }
}

impl Msal {
    /// Adds msal's OAuth2 security scheme to a document, and to every operation whose
    /// `operationId` is a `#[msal_protected]` handler under `module` (a module path prefix:
    /// `module_path!()` at the crate root covers the whole crate) its requirement and 401/403
    /// responses. Operation ids must be unique there, as OpenAPI wants anyway.
    pub fn document(&self, openapi: &mut OpenApi, module: &str) {
        document(self.config(), openapi, module);
    }

    /// Documents what a [`RequireLayer`] protects: every operation whose path is `prefix`
    /// or under it (`/admin` covers `/admin` and `/admin/{id}`, not `/administrators`)
    /// gets the security requirement, the 401/403 responses and the notes (step-up,
    /// authentication contexts, checks) that a `#[msal_protected]` handler with the same
    /// requirement gets, and the scheme offers its scopes. An operation that is also a
    /// protected handler is documented as needing both. Call it before
    /// [`swagger_ui`](Self::swagger_ui) (or [`document`](Self::document)), with the prefix
    /// the layer wraps.
    ///
    /// ```ignore
    /// use msal_runtime::msal_rule;
    /// use utoipa::OpenApi as _;
    ///
    /// let admin = msal.require(msal_rule!(roles = "Admin", max_age = "10m"));
    /// let app = Router::new()
    ///     .nest("/admin", admin_router().route_layer(admin))
    ///     .merge(msal.routes());
    /// let mut doc = ApiDoc::openapi();
    /// msal.document_required(&mut doc, "/admin", &admin);
    /// let app = app
    ///     .merge(msal.swagger_ui(doc, module_path!()))
    ///     .layer(msal.layer());
    /// ```
    pub fn document_required(&self, openapi: &mut OpenApi, prefix: &str, layer: &RequireLayer) {
        document_required(self.config(), openapi, prefix, layer.rule());
    }

    /// Swagger UI at `/docs`, the document (completed by [`document`](Self::document)) at
    /// `/openapi.json`, and the two routes its sign-in uses (`{prefix}/swagger/authorize`
    /// and `{prefix}/swagger/token`): they exist only where this router is merged. Swagger
    /// signs in with PKCE through the app, which keeps its secret and hands Swagger only
    /// tokens for this API.
    ///
    /// ```ignore
    /// let docs = msal.swagger_ui(ApiDoc::openapi(), module_path!());
    /// ```
    pub fn swagger_ui<S: Clone + Send + Sync + 'static>(
        &self,
        mut openapi: OpenApi,
        module: &str,
    ) -> Router<S> {
        self.document(&mut openapi, module);
        let oauth = oauth::Config::new()
            .client_id(&self.config().client_id)
            .app_name("msal-axum")
            .use_pkce_with_authorization_code_grant(true);
        let prefix = &self.config().route_prefix;
        Router::from(
            SwaggerUi::new(DOCS)
                .url("/openapi.json", openapi)
                .oauth(oauth),
        )
        .route(&format!("{prefix}/swagger/authorize"), get(authorize))
        .route(&format!("{prefix}/swagger/token"), post(token))
        .with_state(self.sign_in.clone())
    }
}

#[derive(Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
}

/// `GET {prefix}/swagger/authorize`: checks Swagger's request, then starts an ordinary
/// sign-in whose callback answers Swagger with a one-time code.
async fn authorize(
    State(ctx): State<Arc<SignIn>>,
    _: Wired,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    let result = async {
        let config = &ctx.config;
        let bad = |why: &str| AuthError::sign_in(400, "Swagger sign-in refused", why);
        if p.response_type.as_deref() != Some("code") {
            return Err(bad("response_type must be 'code'"));
        }
        if p.client_id.as_deref() != Some(config.client_id.as_str()) {
            return Err(bad("client_id is not this app's"));
        }
        let expected = format!("{}{REDIRECT_PAGE}", public_base(&ctx, &headers)?);
        let redirect_uri = p.redirect_uri.clone().unwrap_or_default();
        if redirect_uri != expected {
            return Err(bad(&format!("redirect_uri must be {expected}")));
        }
        let (Some(code_challenge), Some("S256")) =
            (p.code_challenge.clone(), p.code_challenge_method.as_deref())
        else {
            return Err(bad(
                "PKCE is required: code_challenge with code_challenge_method=S256",
            ));
        };
        let scopes: Vec<String> = p
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let scopes: Vec<String> = if scopes.is_empty() {
            vec![default_scope(config)]
        } else {
            scopes
        };
        if let Some(other) = scopes.iter().find(|s| !of_this_api(config, s)) {
            return Err(bad(&format!(
                "Swagger UI signs in for this API only, and '{}' is not one of its scopes (write them with its App ID URI, like {})",
                crate::error::untrusted(other),
                default_scope(config)
            )));
        }
        crate::tokens::check_request(&scopes, &config.audiences)?;
        let params = LoginParams {
            login_hint: p.login_hint.clone(),
            scopes: Some(scopes.join(" ")),
            ..LoginParams::default()
        };
        let swagger = SwaggerRequest {
            redirect_uri,
            state: p.state.clone(),
            code_challenge,
        };
        start_login(&ctx, &headers, params, Some(swagger), None).await
    }
    .await;
    match result {
        Ok(response) => response,
        Err(error) => AuthRejection {
            error,
            asker: Asker::new(&method, &uri, &headers, &ctx.config.route_prefix),
        }
        .into_response(),
    }
}

fn token_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(
            serde_json::json!({ "error": "invalid_grant", "error_description": description }),
        ),
    )
        .into_response()
}

/// `POST {prefix}/swagger/token`: redeems Swagger's one-time code (single use, PKCE
/// checked, same redirect URI) for the access token the sign-in obtained.
async fn token(State(ctx): State<Arc<SignIn>>, body: Bytes) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "authorization_code" {
        return token_error("grant_type must be authorization_code");
    }
    if field("client_id") != ctx.config.client_id {
        return token_error("client_id is not this app's");
    }
    let grant: SwaggerGrant = match ctx
        .store
        .take_swagger_grant(field("code"), &ctx.config.session_keys)
        .await
    {
        Ok(Some(grant)) => grant,
        Ok(None) => return token_error("the code is unknown, expired or already used"),
        Err(error) => {
            return AuthRejection {
                error,
                asker: Asker::of(false, &Uri::from_static("/"), &ctx.config.route_prefix),
            }
            .into_response();
        }
    };
    if field("redirect_uri") != grant.redirect_uri {
        return token_error("redirect_uri differs from the authorization request's");
    }
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
    if challenge != grant.code_challenge {
        return token_error("code_verifier does not match the code_challenge");
    }
    (
        StatusCode::OK,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": grant.expires_at.saturating_sub(crate::validate::now()).max(0),
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_prefix_covers_its_path_and_those_under_it_a_segment_at_a_time() {
        for (prefix, path) in [
            ("/admin", "/admin"),
            ("/admin", "/admin/{id}"),
            ("/admin/", "/admin/users"),
            ("/", "/anything"),
            ("", "/anything"),
        ] {
            assert!(covers(prefix, path), "{prefix} covers {path}");
        }
        for (prefix, path) in [
            ("/admin", "/administrators"),
            ("/admin", "/"),
            ("/admin/users", "/admin"),
        ] {
            assert!(!covers(prefix, path), "{prefix} does not cover {path}");
        }
    }
}
