//! The user's own grants: redeeming an authorization code, and refresh tokens (which, as at
//! Entra, are not spent by use: a redeemed one works again until it expires or is revoked).

use super::*;

impl Ctx<'_> {
    pub(super) fn authorization_code(&self) -> Result<Value, GrantError> {
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
        // `/authorize` consented to these scopes; a policy its claims did not satisfy
        // still stands between the code and the tokens.
        self.conditional_access(&scopes, &grant.authn)?;
        self.respond(
            user,
            &scopes,
            &grant.sid,
            grant.nonce.as_deref(),
            &grant.authn,
        )
    }

    pub(super) fn refresh_token(&self) -> Result<Value, GrantError> {
        let token = self.require("refresh_token")?;
        let grant = {
            let store = lock(&self.shared.refresh_tokens);
            let Some(grant) = store.get(token) else {
                return Err(GrantError::new(
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid: the refresh token is not one this provider issued.",
                ));
            };
            if grant.status == RefreshStatus::Revoked {
                return Err(GrantError::new(
                    "invalid_grant",
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
                ));
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
            grant.clone()
        };
        let scope = self.params.get("scope").unwrap_or(&grant.scope);
        let mut scopes = parse_scopes(self.reg, scope)?;
        let user = self.user(&grant.oid)?;
        consent::require(self.shared, self.reg, &user.oid, self.client, &mut scopes)?;
        self.conditional_access(&scopes, &grant.authn)?;
        let body = self.respond(user, &scopes, &grant.sid, None, &grant.authn)?;
        if let Some(redeemed) = lock(&self.shared.refresh_tokens).get_mut(token) {
            redeemed.redeemed = true;
        }
        Ok(body)
    }
}
