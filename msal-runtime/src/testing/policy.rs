//! Conditional Access: policies a test arms, what satisfies them, and the `interaction_required`
//! answer (with a claims challenge) a token request gets when its grant does not.

use serde_json::json;

use super::TestIdp;
use super::claims_request::ClaimsRequest;
use super::model::random_guid;
use super::state::{Registry, Shared, lock};
use super::tokens::{Authn, GrantError, Resource, resource_named};

/// A Conditional Access policy, applying to every token request for one resource.
///
/// The resource is named as a scope's prefix would name it: `https://graph.microsoft.com`
/// (or Graph's application id), an App ID URI or a client id. A token request for it — a
/// refresh, an on-behalf-of exchange, or a code redemption whose `/authorize` did not
/// satisfy the policy — is refused with `interaction_required` and a claims challenge, until
/// the user signs in again with `/authorize?claims=…` asking for what the policy requires.
///
/// ```
/// use msal_runtime::testing::CaPolicy;
/// let mfa = CaPolicy::mfa("https://graph.microsoft.com");
/// let step_up = CaPolicy::auth_context("api://orders", "c1");
/// assert!(matches!(step_up, CaPolicy::AuthContext { .. }));
/// # let _ = mfa;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaPolicy {
    /// Multi-factor authentication (`amr` must hold `mfa`).
    Mfa {
        /// The resource the policy protects.
        resource: String,
    },
    /// An authentication context (`acrs` must hold `context`, such as `c1`).
    AuthContext {
        /// The resource the policy protects.
        resource: String,
        /// The authentication context id.
        context: String,
    },
}

impl CaPolicy {
    /// Requires multi-factor authentication for `resource`.
    pub fn mfa(resource: impl Into<String>) -> Self {
        CaPolicy::Mfa {
            resource: resource.into(),
        }
    }

    /// Requires the authentication context `context` for `resource`.
    pub fn auth_context(resource: impl Into<String>, context: impl Into<String>) -> Self {
        CaPolicy::AuthContext {
            resource: resource.into(),
            context: context.into(),
        }
    }

    fn resource(&self) -> &str {
        match self {
            CaPolicy::Mfa { resource } | CaPolicy::AuthContext { resource, .. } => resource,
        }
    }

    fn satisfied_by(&self, authn: &Authn) -> bool {
        match self {
            CaPolicy::Mfa { .. } => authn.mfa_done(),
            CaPolicy::AuthContext { context, .. } => authn.acrs.iter().any(|c| c == context),
        }
    }
}

/// A policy with the id it was armed under.
#[derive(Clone, Debug)]
pub(crate) struct ArmedPolicy {
    pub(crate) id: String,
    pub(crate) policy: CaPolicy,
}

/// What an `/authorize` request's `claims` make the user do: MFA when `amr` asks for it or a
/// named MFA policy needs it, and the authentication contexts asked for or named; the user
/// last authenticated at `auth_time`.
pub(crate) fn sign_in_authn(shared: &Shared, claims: &ClaimsRequest, auth_time: i64) -> Authn {
    let mut authn = Authn::password(auth_time);
    if shared
        .ignore_claims
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return authn;
    }
    if claims.mfa {
        authn.add_mfa();
    }
    for context in &claims.contexts {
        authn.add_context(context);
    }
    for armed in lock(&shared.policies).iter() {
        if !claims.policy_ids.iter().any(|id| id == &armed.id) {
            continue;
        }
        match &armed.policy {
            CaPolicy::Mfa { .. } => authn.add_mfa(),
            CaPolicy::AuthContext { context, .. } => authn.add_context(context),
        }
    }
    authn
}

/// Refuses a token request for `resource` whose grant does not satisfy an armed policy:
/// Entra's `interaction_required` (AADSTS50076, suberror `basic_action`) with the claims
/// challenge the client must take back to `/authorize`. For MFA the challenge names the
/// unsatisfied MFA policies (`capolids`); for an authentication context it asks for the
/// first unsatisfied one (`acrs`). AADSTS50076 serves both, as Entra's step-up does.
pub(crate) fn conditional_access(
    shared: &Shared,
    reg: &Registry,
    resource: &Resource,
    authn: &Authn,
) -> Result<(), GrantError> {
    let unsatisfied: Vec<ArmedPolicy> = lock(&shared.policies)
        .iter()
        .filter(|armed| {
            resource_named(reg, armed.policy.resource()).is_some_and(|r| r.same_as(resource))
                && !armed.policy.satisfied_by(authn)
        })
        .cloned()
        .collect();
    let Some(first) = unsatisfied.first() else {
        return Ok(());
    };
    let claims = match &first.policy {
        CaPolicy::Mfa { .. } => {
            let ids: Vec<&str> = unsatisfied
                .iter()
                .filter(|a| matches!(a.policy, CaPolicy::Mfa { .. }))
                .map(|a| a.id.as_str())
                .collect();
            json!({ "access_token": { "capolids": { "essential": true, "values": ids } } })
        }
        CaPolicy::AuthContext { context, .. } => {
            json!({ "access_token": { "acrs": { "essential": true, "value": context } } })
        }
    };
    Err(GrantError::new(
        "interaction_required",
        50076,
        format!(
            "Due to a configuration change made by your administrator, or because you moved to \
             a new location, you must use multi-factor authentication to access '{}'.",
            resource.app_id()
        ),
    )
    .suberror("basic_action")
    .claims(claims.to_string()))
}

impl TestIdp {
    /// Arms a Conditional Access policy; returns its policy id (a GUID), the one its
    /// challenges name in `capolids`.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// use msal_runtime::testing::{CaPolicy, TestIdp};
    /// let idp = TestIdp::start().await?;
    /// let id = idp.arm_policy(CaPolicy::mfa("https://graph.microsoft.com"));
    /// // A refresh for Graph now answers interaction_required with
    /// // claims={"access_token":{"capolids":{"essential":true,"values":["<id>"]}}}.
    /// # let _ = id;
    /// idp.clear_policies();
    /// # Ok(()) }
    /// ```
    pub fn arm_policy(&self, policy: CaPolicy) -> String {
        let id = random_guid();
        lock(&self.shared.policies).push(ArmedPolicy {
            id: id.clone(),
            policy,
        });
        id
    }

    /// Disarms every Conditional Access policy.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.clear_policies();
    /// # }
    /// ```
    pub fn clear_policies(&self) {
        lock(&self.shared.policies).clear();
    }

    /// Makes `/authorize` ignore its `claims` parameter, as a provider that does not honour
    /// claims requests would: a claims challenge can then not be satisfied by signing in,
    /// which a relying party must notice instead of looping.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) {
    /// idp.ignore_claims_requests(true);
    /// # }
    /// ```
    pub fn ignore_claims_requests(&self, on: bool) {
        self.shared
            .ignore_claims
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }
}
