//! A stand-in for Microsoft Graph: it accepts only the Graph tokens this IdP issued, the way
//! real Graph accepts only Entra's (and, like apps must, never tries to validate them itself).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::cae;
use super::super::faults::Endpoint;
use super::super::model::TestUser;
use super::super::state::{GraphGrant, Shared, lock, read};
use super::injected_fault;

/// Delegated permissions that let a caller read the signed-in user's profile.
const PROFILE_SCOPES: [&str; 5] = [
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "Directory.Read.All",
];

/// Graph's error shape: `{"error": {"code", "message"}}`.
struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// A `WWW-Authenticate` value other than the default one.
    challenge: Option<String>,
}

fn graph_error(status: StatusCode, code: &'static str, message: &str) -> GraphError {
    GraphError {
        status,
        code,
        message: message.to_owned(),
        challenge: None,
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = self
                .challenge
                .and_then(|c| HeaderValue::from_str(&c).ok())
                .unwrap_or_else(|| {
                    HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\"")
                });
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The grant behind the request's bearer token, or Graph's 401.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<GraphGrant, GraphError> {
    {
        let mut challenge = lock(&shared.graph_challenge);
        if let Some((claims, remaining)) = challenge.as_mut()
            && *remaining > 0
        {
            *remaining -= 1;
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(claims.as_bytes());
            return Err(GraphError {
                status: StatusCode::UNAUTHORIZED,
                code: "InvalidAuthenticationToken",
                message: "Continuous access evaluation resulted in claims challenge.".into(),
                challenge: Some(format!(
                    "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{encoded}\"",
                    shared.base_url
                )),
            });
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            )
        })?;
    let grant = lock(&shared.graph_tokens).get(token.trim()).cloned();
    match grant {
        None => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Invalid audience or signature: this is not a Microsoft Graph token from this identity provider.",
        )),
        Some(g) if g.expires <= shared.now() => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )),
        Some(g) => match cae::challenge(shared, &g) {
            Some(claims) => Err(claims_challenge(shared, &g, &claims)),
            None => Ok(g),
        },
    }
}

/// Graph's answer to a CAE-capable token issued before a critical event of its user.
fn claims_challenge(shared: &Shared, grant: &GraphGrant, claims: &str) -> GraphError {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(claims.as_bytes());
    let tenant = {
        let reg = read(&shared.registry);
        grant
            .oid
            .as_deref()
            .and_then(|oid| reg.user_by_oid(oid))
            .map(|user| reg.user_tenant(user).to_owned())
            .unwrap_or_else(|| "common".to_owned())
    };
    GraphError {
        status: StatusCode::UNAUTHORIZED,
        code: "InvalidAuthenticationToken",
        message: "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp".into(),
        challenge: Some(format!(
            "Bearer realm=\"\", authorization_uri=\"{}/{tenant}/oauth2/v2.0/authorize\", error=\"insufficient_claims\", claims=\"{encoded}\"",
            shared.base_url
        )),
    }
}

fn signed_in_user(shared: &Shared, grant: &GraphGrant) -> Result<TestUser, GraphError> {
    let oid = grant.oid.as_deref().ok_or_else(|| {
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )
    })?;
    read(&shared.registry)
        .user_by_oid(oid)
        .cloned()
        .ok_or_else(|| {
            graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "The user no longer exists.",
            )
        })
}

/// `GET /graph/v1.0/me`
pub(crate) async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Graph).await {
        return fault;
    }
    let result = authorize(&shared, &headers).and_then(|grant| {
        let user = signed_in_user(&shared, &grant)?;
        if !grant
            .scopes
            .iter()
            .any(|s| PROFILE_SCOPES.contains(&s.as_str()))
        {
            return Err(graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation: /me needs User.Read.",
            ));
        }
        Ok(user)
    });
    let user = match result {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let (given, surname) = user.name.split_once(' ').unwrap_or((&user.name, ""));
    let body = json!({
        "@odata.context": format!("{}/$metadata#users/$entity", shared.graph_base()),
        "id": user.oid,
        "displayName": user.name,
        "givenName": given,
        "surname": surname,
        "userPrincipalName": user.preferred_username,
        "mail": user.email,
        "businessPhones": [],
        "jobTitle": Value::Null,
        "mobilePhone": Value::Null,
        "officeLocation": Value::Null,
        "preferredLanguage": Value::Null,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn member_objects_of(shared: &Shared, headers: &HeaderMap, who: Option<&str>) -> Response {
    let grant = match authorize(shared, headers) {
        Ok(grant) => grant,
        Err(error) => return error.into_response(),
    };
    let user = match who {
        Some(id) => read(&shared.registry).user_by_oid(id).cloned().ok_or_else(|| {
            graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
            )
        }),
        None => signed_in_user(shared, &grant),
    };
    match user {
        Ok(user) => (
            StatusCode::OK,
            axum::Json(json!({
                "@odata.context": format!("{}/$metadata#Collection(Edm.String)", shared.graph_base()),
                "value": user.groups,
            })),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /graph/v1.0/me/getMemberObjects`
pub(crate) async fn my_member_objects(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Graph).await {
        return fault;
    }
    member_objects_of(&shared, &headers, None)
}

/// `POST /graph/v1.0/users/{id}/getMemberObjects`: where group-overage claims point.
pub(crate) async fn member_objects(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Graph).await {
        return fault;
    }
    member_objects_of(&shared, &headers, Some(&id))
}
