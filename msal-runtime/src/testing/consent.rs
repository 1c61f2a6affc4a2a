//! Consent, per (user, client): what `/authorize` asked for (incremental, accumulating across
//! sign-ins), plus the client's tenant-wide admin consent, minus what a test withdrew. A
//! refresh or an on-behalf-of exchange for anything else is Entra's `consent_required`.

use std::collections::BTreeMap;

use super::state::{Registry, Shared, lock, read};
use super::tokens::{GRAPH_RESOURCE, GrantError, Resource, ScopeSet, parse_scopes};
use super::{TestIdp, TestIdpError};
use crate::testing::model::TestClient;

/// One user's consent to one client: fully qualified scopes, keyed by their lower case
/// (Entra's scope names are case-insensitive).
#[derive(Clone, Debug, Default)]
pub(crate) struct Consent {
    granted: BTreeMap<String, String>,
    /// Withdrawn by a test: wins over admin consent too, until the user consents again.
    withdrawn: BTreeMap<String, String>,
}

fn key(qualified: &str) -> String {
    qualified.to_ascii_lowercase()
}

/// What `/authorize` consented the user to.
pub(crate) fn grant(shared: &Shared, oid: &str, client_id: &str, scopes: &ScopeSet) {
    let mut book = lock(&shared.consents);
    let consent = book
        .entry((oid.to_owned(), client_id.to_owned()))
        .or_default();
    for qualified in scopes.qualified() {
        consent.withdrawn.remove(&key(&qualified));
        consent.granted.insert(key(&qualified), qualified);
    }
}

/// Everything `oid` may get for `client` without asking: user and admin consent, less what
/// was withdrawn.
fn effective(
    shared: &Shared,
    reg: &Registry,
    oid: &str,
    client: &TestClient,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = client
        .admin_consents
        .iter()
        .filter_map(|scope| parse_scopes(reg, scope).ok())
        .flat_map(|set| set.qualified())
        .map(|q| (key(&q), q))
        .collect();
    let book = lock(&shared.consents);
    if let Some(consent) = book.get(&(oid.to_owned(), client.client_id.clone())) {
        out.extend(consent.granted.clone());
        for withdrawn in consent.withdrawn.keys() {
            out.remove(withdrawn);
        }
    }
    out
}

fn consent_required(client: &TestClient) -> GrantError {
    GrantError::new(
        "invalid_grant",
        65001,
        format!(
            "The user or administrator has not consented to use the application with ID '{}' \
             named '{}'. Send an interactive authorization request for this user and resource.",
            client.client_id, client.display_name
        ),
    )
    .suberror("consent_required")
}

/// Refuses a token request for scopes `oid` has not consented to for `client`
/// (`openid`, `profile`, `email` and `offline_access` never need consent). For
/// `.default`, narrows the set to what was consented on that resource, and refuses when
/// that is nothing.
pub(crate) fn require(
    shared: &Shared,
    reg: &Registry,
    oid: &str,
    client: &TestClient,
    scopes: &mut ScopeSet,
) -> Result<(), GrantError> {
    let consented = effective(shared, reg, oid, client);
    if scopes.default {
        scopes.names = match &scopes.resource {
            Resource::Api(api) => api
                .scopes
                .iter()
                .filter(|n| consented.contains_key(&key(&scopes.resource.qualify(n))))
                .cloned()
                .collect(),
            Resource::Graph => {
                let prefix = key(&format!("{GRAPH_RESOURCE}/"));
                consented
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    // The key is the text in lower case: the same length.
                    .filter_map(|(_, q)| q.get(prefix.len()..).map(str::to_owned))
                    .collect()
            }
        };
        if scopes.names.is_empty() {
            return Err(consent_required(client));
        }
        return Ok(());
    }
    if scopes
        .qualified()
        .iter()
        .all(|q| consented.contains_key(&key(q)))
    {
        Ok(())
    } else {
        Err(consent_required(client))
    }
}

/// Whether `oid` consented to every scope of `scopes` for `client` (for `prompt=none`).
pub(crate) fn covers(
    shared: &Shared,
    reg: &Registry,
    oid: &str,
    client: &TestClient,
    scopes: &ScopeSet,
) -> bool {
    let consented = effective(shared, reg, oid, client);
    scopes
        .qualified()
        .iter()
        .all(|q| consented.contains_key(&key(q)))
}

impl TestIdp {
    /// Scopes `username` has consented to for `client_id` (sorted, fully qualified:
    /// `https://graph.microsoft.com/User.Read`, `api://…/Tasks.Read`): what `/authorize`
    /// asked for and the client's admin consent, less what was withdrawn.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// use msal_runtime::testing::DEFAULT_CLIENT_ID;
    /// let scopes = idp.consented_scopes("alice@contoso.test", DEFAULT_CLIENT_ID)?;
    /// assert!(scopes.contains(&"https://graph.microsoft.com/User.Read".to_owned()));
    /// # Ok(()) }
    /// ```
    pub fn consented_scopes(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<Vec<String>, TestIdpError> {
        let (user, client) = self.parts(username, client_id)?;
        let reg = read(&self.shared.registry);
        let mut scopes: Vec<String> = effective(&self.shared, &reg, &user.oid, &client)
            .into_values()
            .collect();
        scopes.sort();
        Ok(scopes)
    }

    /// Withdraws one consented scope (as written in a scope request: `User.Read` = Graph, or
    /// fully qualified), admin-consented or not, until the user consents to it again at
    /// `/authorize`. A refresh asking for it then answers `consent_required`.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// use msal_runtime::testing::DEFAULT_CLIENT_ID;
    /// idp.withdraw_consent("alice@contoso.test", DEFAULT_CLIENT_ID, "User.Read")?;
    /// # Ok(()) }
    /// ```
    pub fn withdraw_consent(
        &self,
        username: &str,
        client_id: &str,
        scope: &str,
    ) -> Result<(), TestIdpError> {
        let (user, client) = self.parts(username, client_id)?;
        let set = parse_scopes(&read(&self.shared.registry), scope)
            .map_err(|e| TestIdpError::InvalidScope(e.text()))?;
        let mut book = lock(&self.shared.consents);
        let consent = book.entry((user.oid, client.client_id)).or_default();
        for qualified in set.qualified() {
            consent.granted.remove(&key(&qualified));
            consent.withdrawn.insert(key(&qualified), qualified);
        }
        Ok(())
    }
}
