//! [`AppBinding`]: what a session record must have been made for (client id, issuer,
//! tenant) to be read by this app.

use std::sync::Arc;

use super::*;

/// What a session record must have been made for to be read by this app: its client id,
/// an issuer its authority admits, and a tenant it still allows. A record of another app
/// sharing the store (a staging app on the production Redis, say) reads as signed out.
#[derive(Clone, Debug)]
pub(crate) struct AppBinding {
    pub(super) client_id: String,
    /// The configured authority's rule, until discovery has confirmed the issuer.
    issuer: IssuerRule,
    /// The issuer discovery confirmed (exact, or Entra's template), once it has: what a
    /// record is checked against from then on.
    confirmed_issuer: Arc<arc_swap::ArcSwapOption<IssuerRule>>,
    allowed_tenants: Vec<String>,
    /// With a B2C authority, the user flows still accepted (lower case).
    b2c_policies: Vec<String>,
    /// This API's names (its audiences), which the principals read scopes with.
    this_api: Arc<[String]>,
}

impl AppBinding {
    pub(crate) fn of(config: &MsalConfig) -> Self {
        Self {
            client_id: config.client_id.clone(),
            issuer: config.authority.issuer_rule(),
            confirmed_issuer: Arc::default(),
            allowed_tenants: config.allowed_tenants.clone(),
            b2c_policies: config.b2c_policies.clone(),
            this_api: Arc::from(config.audiences.clone()),
        }
    }

    /// Where discovery puts the issuer it confirmed (see [`Provider`](crate::client)).
    pub(crate) fn confirmed_issuer(&self) -> Arc<arc_swap::ArcSwapOption<IssuerRule>> {
        self.confirmed_issuer.clone()
    }

    /// A binding made up for a test: this client id, issuer rule and allowed tenants.
    #[cfg(test)]
    pub(crate) fn new(client_id: &str, issuer: IssuerRule, allowed_tenants: &[&str]) -> Self {
        Self {
            client_id: client_id.to_owned(),
            issuer,
            confirmed_issuer: Arc::default(),
            allowed_tenants: allowed_tenants.iter().map(|t| (*t).to_owned()).collect(),
            b2c_policies: Vec::new(),
            this_api: Arc::from(vec![format!("api://{client_id}")]),
        }
    }

    /// The same binding accepting only these B2C user flows (lower case), for a test.
    #[cfg(test)]
    pub(crate) fn with_b2c_policies(mut self, policies: &[&str]) -> Self {
        self.b2c_policies = policies.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// This API's names, as principals read scopes with them.
    pub(crate) fn this_api(&self) -> Arc<[String]> {
        self.this_api.clone()
    }

    /// Why a record cannot be read by this app, if it cannot.
    pub(super) fn refuses(&self, stored: &StoredWho) -> Option<&'static str> {
        let Some(client_id) = &stored.made_for else {
            return Some("the record names no app");
        };
        if *client_id != self.client_id {
            return Some("the record was made for another app (client id)");
        }
        let claim = |name: &str| stored.claims.get(name).and_then(serde_json::Value::as_str);
        let tenant = claim("tid");
        let confirmed = self.confirmed_issuer.load();
        let issuer = confirmed.as_deref().unwrap_or(&self.issuer);
        if !issuer.admits(claim("iss").unwrap_or_default(), tenant) {
            return Some("the record was signed in by another issuer");
        }
        if !self.b2c_policies.is_empty() {
            let policy = claim("tfp")
                .or_else(|| claim("acr"))
                .map(str::to_ascii_lowercase);
            if !policy.is_some_and(|p| self.b2c_policies.contains(&p)) {
                return Some("the record's user flow is no longer accepted");
            }
        }
        if !self.allowed_tenants.is_empty() {
            let tenant = tenant.unwrap_or_default().to_ascii_lowercase();
            if !self.allowed_tenants.contains(&tenant) {
                return Some("the record's tenant is no longer allowed");
            }
        }
        None
    }
}
