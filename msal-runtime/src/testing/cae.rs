//! Continuous Access Evaluation as Microsoft Graph does it: after a critical event for a user
//! (a password reset, revoked sessions), Graph answers that user's CAE-capable tokens with a
//! claims challenge until the client brings a token requested with the challenge's claims.

use super::state::{GraphGrant, Shared, lock};
use super::{TestIdp, TestIdpError};

/// The claims a challenge for an event at `time` asks for.
fn event_claims(time: i64) -> String {
    serde_json::json!({ "access_token": { "nbf": { "essential": true, "value": time.to_string() } } })
        .to_string()
}

/// The claims JSON Graph challenges this token with, if it must: a CAE-capable token of a
/// user with a critical event that was not requested with that event's claims. Tokens of
/// clients that did not declare `cp1` are never challenged (Graph relies on their short
/// lifetime instead).
pub(crate) fn challenge(shared: &Shared, grant: &GraphGrant) -> Option<String> {
    if !grant.cae_capable {
        return None;
    }
    let oid = grant.oid.as_deref()?;
    let event = *lock(&shared.cae_events).get(oid)?;
    match grant.requested_nbf {
        Some(nbf) if nbf >= event => None,
        _ => Some(event_claims(event)),
    }
}

impl TestIdp {
    /// A Continuous Access Evaluation critical event for this user (e.g. password reset,
    /// session revoked): Graph's stand-in from now on challenges that user's CAE-capable
    /// tokens; returns the claims JSON it challenges with.
    ///
    /// A token is CAE-capable when its token request's `claims` declared
    /// `{"access_token":{"xms_cc":{"values":["cp1"]}}}`. Graph answers such a token with `401`
    /// and `WWW-Authenticate: Bearer realm="", authorization_uri="…", error="insufficient_claims",
    /// claims="<base64 of the returned JSON>"` until a token requested with those claims
    /// (their `nbf`, merged with the capability) arrives. The user's refresh tokens stay
    /// valid, so a client can get that token silently.
    ///
    /// ```no_run
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let claims = idp.cae_event("alice@contoso.test")?;
    /// assert!(claims.starts_with(r#"{"access_token":{"nbf":{"essential":true,"value":""#));
    /// # Ok(()) }
    /// ```
    pub fn cae_event(&self, username: &str) -> Result<String, TestIdpError> {
        let oid = self.user(username)?.oid;
        let now = self.shared.now();
        lock(&self.shared.cae_events).insert(oid, now);
        Ok(event_claims(now))
    }
}
