//! `/{tenant}/oauth2/v2.0/token`: authorization code, refresh token, client credentials and
//! on-behalf-of, with client authentication by `client_secret_post` or `client_secret_basic`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::faults::Endpoint;
use super::super::jwt::{self, AssertionError};
use super::super::model::{TestClient, TestUser};
use super::super::state::{
    GraphGrant, RefreshGrant, RefreshStatus, Registry, Shared, TenantPath, lock, read,
};
use super::super::tokens::{
    self, GrantError, Resource, ScopeSet, app_roles_for, parse_scopes, secret_value,
};
use super::{Params, injected_fault, no_store, oauth_error};

mod client_auth;

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
    let (client, confidential) = match params.get("client_assertion") {
        Some(assertion) => {
            authenticate_assertion(shared, &reg, tenant, headers, &params, assertion)?
        }
        None => authenticate(&reg, headers, &params)?,
    };
    let ctx = Ctx {
        shared,
        reg: &reg,
        client,
        confidential,
        params: &params,
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
    confidential: bool,
    params: &'a Params,
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

    fn authorization_code(&self) -> Result<Value, GrantError> {
        let code = self.require("code")?;
        // Single use: the code is gone whatever happens next, so a failed attempt cannot
        // be followed by a better guess.
        let grant = lock(&self.shared.codes).remove(code);
        let Some(grant) = grant else {
            let replayed = lock(&self.shared.redeemed_codes).contains(code);
            return Err(if replayed {
                GrantError::new(
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
                )
            } else {
                GrantError::new(
                    "invalid_grant",
                    70000,
                    "The provided value for the 'code' parameter is not valid.",
                )
            });
        };
        lock(&self.shared.redeemed_codes).insert(code.to_owned());
        if grant.client_id != self.client.client_id {
            return Err(GrantError::new(
                "invalid_grant",
                70000,
                "The provided authorization code was issued to a different client.",
            ));
        }
        if grant.expires <= self.shared.now() {
            return Err(GrantError::new(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            ));
        }
        let redirect_uri = self.require("redirect_uri")?;
        if redirect_uri != grant.redirect_uri {
            return Err(GrantError::new(
                "invalid_grant",
                500112,
                format!(
                    "The reply address '{redirect_uri}' does not match the reply address '{}' provided when requesting Authorization code.",
                    grant.redirect_uri
                ),
            ));
        }
        let verifier = self.require("code_verifier")?;
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if !well_formed || !constant_time_eq(computed.as_bytes(), grant.code_challenge.as_bytes()) {
            return Err(GrantError::new(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
        let scopes = parse_scopes(self.reg, &grant.scope)?;
        let user = self.user(&grant.oid)?;
        self.respond(user, &scopes, &grant.sid, grant.nonce.as_deref())
    }

    fn refresh_token(&self) -> Result<Value, GrantError> {
        let token = self.require("refresh_token")?;
        let grant = {
            let mut store = lock(&self.shared.refresh_tokens);
            let Some(grant) = store.get_mut(token) else {
                return Err(GrantError::new(
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid: the refresh token is not one this provider issued.",
                ));
            };
            match grant.status {
                RefreshStatus::Active => {}
                RefreshStatus::Used => {
                    return Err(GrantError::new(
                        "invalid_grant",
                        70000,
                        "The refresh token was already used. Refresh tokens rotate: use the one returned with the last token response.",
                    ));
                }
                RefreshStatus::Revoked => {
                    return Err(GrantError::new(
                        "invalid_grant",
                        50173,
                        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
                    ));
                }
            }
            if grant.client_id != self.client.client_id {
                return Err(GrantError::new(
                    "invalid_grant",
                    70000,
                    "The refresh token was issued to a different client.",
                ));
            }
            if grant.expires <= self.shared.now() {
                return Err(GrantError::new(
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity.",
                ));
            }
            grant.status = RefreshStatus::Used;
            grant.clone()
        };
        let scope = self.params.get("scope").unwrap_or(&grant.scope);
        let scopes = parse_scopes(self.reg, scope)?;
        let user = self.user(&grant.oid)?;
        self.respond(user, &scopes, &grant.sid, None)
    }

    fn client_credentials(&self, path: &TenantPath) -> Result<Value, GrantError> {
        if !self.confidential {
            return Err(invalid_client(
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
        let TenantPath::Tenant(tenant) = path else {
            return Err(GrantError::new(
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials: client credentials need a tenant-specific authority, not common or organizations.",
            ));
        };
        let raw = self.require("scope")?;
        let scopes = parse_scopes(self.reg, raw)?;
        if !scopes.default || raw.split_whitespace().count() != 1 {
            return Err(GrantError::new(
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {raw} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            ));
        }
        let roles = app_roles_for(self.reg, self.client, &scopes.resource);
        let claims = tokens::app_access_token(
            self.shared,
            self.client,
            &scopes.resource,
            &roles,
            &tenant.id,
        );
        let access_token = self.sign_access_token(&scopes.resource, &claims, None, &[])?;
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": self.lifetime(),
            "ext_expires_in": self.lifetime(),
            "access_token": access_token,
        }))
    }

    fn on_behalf_of(&self) -> Result<Value, GrantError> {
        if !self.confidential {
            return Err(invalid_client(
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
        if self.require("requested_token_use")? != "on_behalf_of" {
            return Err(GrantError::new(
                "invalid_request",
                50129,
                "requested_token_use must be 'on_behalf_of' for the jwt-bearer grant.",
            ));
        }
        let assertion = self.require("assertion")?;
        let claims = {
            let keys = read(&self.shared.keys);
            jwt::verify(&keys, assertion)
        }
        .map_err(|e| match e {
            AssertionError::Malformed => {
                GrantError::new("invalid_grant", 50027, "JWT token is invalid or malformed.")
            }
            AssertionError::BadSignature | AssertionError::UnknownKey => GrantError::new(
                "invalid_grant",
                50013,
                "Assertion failed signature validation: the signature, algorithm or key id is not one this provider publishes.",
            ),
        })?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let aud = text("aud").unwrap_or_default();
        if aud != self.client.client_id && aud != self.client.app_id_uri {
            return Err(GrantError::new(
                "invalid_grant",
                50013,
                format!(
                    "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '{aud}' and the expected audience is '{}' or '{}'.",
                    self.client.client_id, self.client.app_id_uri
                ),
            ));
        }
        let iss = text("iss").unwrap_or_default();
        let trusted =
            self.reg.tenants.iter().any(|t| {
                iss == self.shared.v2_issuer(&t.id) || iss == self.shared.v1_issuer(&t.id)
            });
        if !trusted {
            return Err(GrantError::new(
                "invalid_grant",
                50013,
                format!("Assertion issuer '{iss}' is not trusted."),
            ));
        }
        let now = self.shared.now();
        let number = |name: &str| claims.get(name).and_then(Value::as_i64);
        let in_time = number("exp").is_some_and(|exp| exp > now)
            && number("nbf").is_none_or(|nbf| nbf <= now + 300);
        if !in_time {
            return Err(GrantError::new(
                "invalid_grant",
                500133,
                "Assertion is not within its valid time range.",
            ));
        }
        if text("idtyp") == Some("app") || text("scp").is_none() {
            return Err(GrantError::new(
                "invalid_grant",
                50013,
                "The assertion is an app-only token; on-behalf-of needs a delegated (user) token with 'scp'.",
            ));
        }
        let user = self.user(text("oid").unwrap_or_default())?;
        let scopes = parse_scopes(self.reg, self.require("scope")?)?;
        let sid = text("sid").unwrap_or_default().to_owned();
        self.respond(user, &scopes, &sid, None)
    }

    fn lifetime(&self) -> u64 {
        self.shared.token_lifetime()
    }

    /// Signs an access token; Graph tokens the way Graph's are (unverifiable by design) and
    /// remembered so the Graph stand-in can accept them.
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
    ) -> Result<Value, GrantError> {
        let sid_claim = Some(sid).filter(|s| !s.is_empty());
        let claims = tokens::user_access_token(
            self.shared,
            self.reg,
            user,
            self.client,
            self.confidential,
            scopes,
            sid_claim,
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
            let claims = tokens::id_token(
                self.shared,
                self.reg,
                user,
                self.client,
                nonce,
                sid,
                scopes.has("email"),
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
            let id_token = mint.sign(&keys).map_err(|e| {
                GrantError::new(
                    "server_error",
                    50000,
                    format!("TestIdp could not sign: {e}"),
                )
                .status(500)
            })?;
            body["id_token"] = id_token.into();
        }
        // A refresh always returns the next refresh token: they rotate.
        let wants_refresh =
            scopes.has("offline_access") || self.params.get("grant_type") == Some("refresh_token");
        if wants_refresh {
            let refresh = secret_value();
            lock(&self.shared.refresh_tokens).insert(
                refresh.clone(),
                RefreshGrant {
                    status: RefreshStatus::Active,
                    client_id: self.client.client_id.clone(),
                    oid: user.oid.clone(),
                    scope: scope_of(scopes),
                    sid: sid.to_owned(),
                    expires: self.shared.now()
                        + self.shared.settings.refresh_lifetime.as_secs() as i64,
                },
            );
            body["refresh_token"] = refresh.into();
        }
        Ok(body)
    }
}

/// A `scope` string that resolves back to the same set (for refresh tokens).
fn scope_of(scopes: &ScopeSet) -> String {
    let mut out: Vec<String> = scopes.oidc.clone();
    match &scopes.resource {
        Resource::Graph => out.extend(
            scopes
                .names
                .iter()
                .map(|n| format!("https://graph.microsoft.com/{n}")),
        ),
        Resource::Api(api) => out.extend(
            scopes
                .names
                .iter()
                .map(|n| format!("{}/{n}", api.app_id_uri)),
        ),
    }
    out.join(" ")
}
