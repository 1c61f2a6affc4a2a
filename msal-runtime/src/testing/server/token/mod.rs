//! `/{tenant}/oauth2/v2.0/token`: authorization code, refresh token, client credentials and
//! on-behalf-of, with client authentication by `client_secret_post`, `client_secret_basic`
//! or a certificate's assertion. Delegated grants answer as Entra does when consent or a
//! Conditional Access policy is missing (`consent_required`, `interaction_required`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::claims_request::{ClaimsRequest, claims_of};
use super::super::consent;
use super::super::faults::Endpoint;
use super::super::jwt::{self, AssertionError};
use super::super::model::{TestClient, TestUser};
use super::super::policy::conditional_access;
use super::super::state::{
    GraphGrant, RefreshGrant, RefreshStatus, Registry, Shared, TenantPath, lock, read,
};
use super::super::tokens::{
    self, Authn, ClientAuth, GrantError, Issue, Resource, ScopeSet, app_roles_for, parse_scopes,
    secret_value,
};
use super::{Params, injected_fault, no_store, oauth_error};

mod client_auth;
mod service;
mod user;

use client_auth::{authenticate, authenticate_assertion, constant_time_eq, invalid_client};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = injected_fault(&shared, Endpoint::Token).await {
        return fault;
    }
    match grant(&shared, &tenant, &headers, &body) {
        Ok(body) => no_store(StatusCode::OK, body),
        Err(err) => oauth_error(&err),
    }
}

fn grant(
    shared: &Shared,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, GrantError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(GrantError::new(
            "invalid_request",
            900561,
            "The token endpoint only accepts POST requests with Content-Type application/x-www-form-urlencoded.",
        ));
    }
    let params = Params::parse(body);
    params.refuse_repeats()?;
    let reg = read(&shared.registry);
    let path = reg.tenant_path(tenant).ok_or_else(|| {
        GrantError::new(
            "invalid_tenant",
            90002,
            format!("Tenant '{tenant}' not found."),
        )
    })?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| GrantError::missing("grant_type"))?;
    let (client, auth) = match params.get("client_assertion") {
        Some(assertion) => {
            authenticate_assertion(shared, &reg, tenant, headers, &params, assertion)?
        }
        None => authenticate(shared, &reg, headers, &params)?,
    };
    // A token request's claims declare capabilities (`cp1`) and carry a claims challenge's
    // values; they never satisfy a Conditional Access policy (only `/authorize` does).
    let claims = claims_of(params.get("claims"))?;
    let ctx = Ctx {
        shared,
        reg: &reg,
        client,
        auth,
        params: &params,
        claims,
    };
    match grant_type {
        "authorization_code" => ctx.authorization_code(),
        "refresh_token" => ctx.refresh_token(),
        "client_credentials" => ctx.client_credentials(&path),
        JWT_BEARER => ctx.on_behalf_of(),
        other => Err(GrantError::new(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

struct Ctx<'a> {
    shared: &'a Shared,
    reg: &'a Registry,
    client: &'a TestClient,
    auth: ClientAuth,
    params: &'a Params,
    claims: ClaimsRequest,
}

impl Ctx<'_> {
    fn require(&self, name: &str) -> Result<&str, GrantError> {
        self.params
            .get(name)
            .ok_or_else(|| GrantError::missing(name))
    }

    fn user(&self, oid: &str) -> Result<&TestUser, GrantError> {
        self.reg.user_by_oid(oid).ok_or_else(|| {
            GrantError::new(
                "invalid_grant",
                50034,
                "The user account does not exist in the directory.",
            )
        })
    }

    fn lifetime(&self) -> u64 {
        self.shared.token_lifetime()
    }

    /// Refuses what an armed Conditional Access policy requires of the resource and `authn`
    /// does not show. A request for no resource scope at all needs nothing.
    fn conditional_access(&self, scopes: &ScopeSet, authn: &Authn) -> Result<(), GrantError> {
        if scopes.names.is_empty() {
            return Ok(());
        }
        conditional_access(self.shared, self.reg, &scopes.resource, authn)
    }

    /// Signs an access token; Graph tokens the way Graph's are (unverifiable by design) and
    /// remembered so the Graph stand-in can accept (or challenge) them.
    fn sign_access_token(
        &self,
        resource: &Resource,
        claims: &jwt::JsonObject,
        oid: Option<&str>,
        scopes: &[String],
    ) -> Result<String, GrantError> {
        let keys = read(&self.shared.keys);
        let signed = match resource {
            Resource::Graph => jwt::issue_graph(&keys, claims),
            Resource::Api(_) => jwt::issue(&keys, claims),
        };
        let token = signed.map_err(|e| {
            GrantError::new(
                "server_error",
                50000,
                format!("TestIdp could not sign: {e}"),
            )
            .status(500)
        })?;
        if let Resource::Graph = resource {
            lock(&self.shared.graph_tokens).insert(
                token.clone(),
                GraphGrant {
                    oid: oid.map(str::to_owned),
                    scopes: scopes.to_vec(),
                    expires: claims
                        .get("exp")
                        .and_then(Value::as_i64)
                        .unwrap_or_default(),
                    cae_capable: self.claims.cae_capable(),
                    requested_nbf: self.claims.nbf,
                },
            );
        }
        Ok(token)
    }

    /// The token response of a delegated grant.
    fn respond(
        &self,
        user: &TestUser,
        scopes: &ScopeSet,
        sid: &str,
        nonce: Option<&str>,
        authn: &Authn,
    ) -> Result<Value, GrantError> {
        let capabilities = match scopes.resource {
            Resource::Graph if self.claims.cae_capable() => vec!["cp1".to_owned()],
            _ => Vec::new(),
        };
        let claims = tokens::user_access_token(
            self.shared,
            self.reg,
            &Issue {
                user,
                caller: self.client,
                auth: self.auth,
                scopes,
                sid: Some(sid).filter(|s| !s.is_empty()),
                authn,
                capabilities: &capabilities,
            },
        );
        let access_token =
            self.sign_access_token(&scopes.resource, &claims, Some(&user.oid), &scopes.names)?;
        let mut body = json!({
            "token_type": "Bearer",
            "scope": scopes.granted(),
            "expires_in": self.lifetime(),
            "ext_expires_in": self.lifetime(),
            "access_token": access_token,
        });
        if scopes.has("openid") {
            body["id_token"] = self.id_token(user, sid, nonce, scopes, authn)?.into();
        }
        // A refresh always returns another refresh token; the one redeemed stays valid.
        let wants_refresh =
            scopes.has("offline_access") || self.params.get("grant_type") == Some("refresh_token");
        if wants_refresh {
            let refresh = secret_value();
            lock(&self.shared.refresh_tokens).insert(
                refresh.clone(),
                RefreshGrant {
                    status: RefreshStatus::Active,
                    redeemed: false,
                    client_id: self.client.client_id.clone(),
                    oid: user.oid.clone(),
                    scope: scopes.requested(),
                    sid: sid.to_owned(),
                    expires: self.shared.now()
                        + self.shared.settings.refresh_lifetime.as_secs() as i64,
                    authn: authn.clone(),
                },
            );
            body["refresh_token"] = refresh.into();
        }
        Ok(body)
    }

    fn id_token(
        &self,
        user: &TestUser,
        sid: &str,
        nonce: Option<&str>,
        scopes: &ScopeSet,
        authn: &Authn,
    ) -> Result<String, GrantError> {
        let claims = tokens::id_token(
            self.shared,
            self.reg,
            user,
            self.client,
            nonce,
            sid,
            scopes.has("email"),
            authn,
        );
        let tamper = lock(&self.shared.id_token_tamper).clone();
        let mint = match tamper {
            Some(tamper) => {
                let mut claims = claims;
                (tamper.edit)(&mut claims);
                jwt::Mint::new(claims).key(tamper.key.clone())
            }
            None => jwt::Mint::new(claims),
        };
        let keys = read(&self.shared.keys);
        mint.sign(&keys).map_err(|e| {
            GrantError::new(
                "server_error",
                50000,
                format!("TestIdp could not sign: {e}"),
            )
            .status(500)
        })
    }
}
