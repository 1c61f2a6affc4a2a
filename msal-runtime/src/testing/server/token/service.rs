//! Grants of confidential services: client credentials (app-only tokens) and on-behalf-of (a
//! middle tier exchanging its caller's token, under the middle tier's consent and the
//! caller's own sign-in strength).

use super::*;

impl Ctx<'_> {
    pub(super) fn client_credentials(&self, path: &TenantPath) -> Result<Value, GrantError> {
        if !self.auth.confidential() {
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
            self.auth,
            &scopes.resource,
            &scopes.named,
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

    pub(super) fn on_behalf_of(&self) -> Result<Value, GrantError> {
        if !self.auth.confidential() {
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
        let mut scopes = parse_scopes(self.reg, self.require("scope")?)?;
        // The middle tier's consent to the downstream resource, not the original client's.
        consent::require(self.shared, self.reg, &user.oid, self.client, &mut scopes)?;
        // How the user signed in is what the assertion says: a policy on the downstream
        // resource needs a token for the middle tier that shows it was met.
        let authn = authn_of(&claims);
        self.conditional_access(&scopes, &authn)?;
        let sid = text("sid").unwrap_or_default().to_owned();
        self.respond(user, &scopes, &sid, None, &authn)
    }
}

/// `amr` and `acrs` of a token's claims (strings in arrays; anything else is nothing), and
/// its `auth_time` (an integer) and `acr` (a string), which carry through to the tokens the
/// exchange issues.
fn authn_of(claims: &jwt::JsonObject) -> Authn {
    let list = |name: &str| -> Vec<String> {
        claims
            .get(name)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Authn {
        amr: list("amr"),
        acrs: list("acrs"),
        auth_time: claims.get("auth_time").and_then(Value::as_i64),
        acr: claims.get("acr").and_then(Value::as_str).map(str::to_owned),
    }
}
