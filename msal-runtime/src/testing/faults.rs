//! Test controls over the endpoints: injected faults and request counts.

use std::time::Duration;

/// The endpoints of a TestIdp, for [`Fault`] injection and request counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/{tenant}/v2.0/.well-known/openid-configuration`
    Discovery,
    /// `/{tenant}/discovery/v2.0/keys` (and Entra's v1 path, `/{tenant}/discovery/keys`)
    Jwks,
    /// `/{tenant}/oauth2/v2.0/authorize`
    Authorize,
    /// `/{tenant}/oauth2/v2.0/token`
    Token,
    /// `/{tenant}/oauth2/v2.0/logout`
    Logout,
    /// `/graph/v1.0/...`, the Microsoft Graph stand-in.
    Graph,
    /// `/{tenant}/.well-known/openid-configuration`, Entra's v1 metadata (where the v1
    /// issuer is learned).
    V1Discovery,
}

impl Endpoint {
    pub(crate) const ALL: [Endpoint; 7] = [
        Endpoint::Discovery,
        Endpoint::Jwks,
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Logout,
        Endpoint::Graph,
        Endpoint::V1Discovery,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A failure to inject into an endpoint: a delay, an error status, a malformed JSON body, or
/// a delay followed by one of the others. It applies to every request until cleared, or to
/// the next `n` requests with [`Fault::times`].
///
/// ```no_run
/// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
/// use std::time::Duration;
/// use msal_runtime::testing::{Endpoint, Fault, TestIdp};
/// let idp = TestIdp::start().await?;
/// idp.set_fault(Endpoint::Jwks, Fault::status(503).times(2));
/// idp.set_fault(Endpoint::Token, Fault::delay(Duration::from_secs(5)));
/// idp.set_fault(Endpoint::Discovery, Fault::malformed_json());
/// idp.clear_faults();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub(crate) status: Option<u16>,
    pub(crate) delay: Option<Duration>,
    pub(crate) malformed_json: bool,
    pub(crate) remaining: Option<u32>,
}

impl Fault {
    /// Answer with this HTTP status and an OAuth-shaped JSON error body.
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            delay: None,
            malformed_json: false,
            remaining: None,
        }
    }
    /// Wait this long, then answer normally.
    pub fn delay(delay: Duration) -> Self {
        Self {
            status: None,
            delay: Some(delay),
            malformed_json: false,
            remaining: None,
        }
    }
    /// Answer `200` with `Content-Type: application/json` and a body that is not JSON.
    pub fn malformed_json() -> Self {
        Self {
            status: None,
            delay: None,
            malformed_json: true,
            remaining: None,
        }
    }
    /// Also wait this long before the fault answers.
    pub fn after_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    /// Apply to the next `n` requests only, then answer normally again.
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }
}
