//! What a grant turns into: scope resolution (one resource per request, as at Entra), the
//! OAuth errors the endpoints answer with, and the claims of ID tokens, user access tokens
//! and app-only tokens, v1 and v2.

mod claims;
mod scopes;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) use claims::{Issue, app_access_token, id_token, user_access_token};
pub(crate) use scopes::{
    GRAPH_APP_ID, GRAPH_RESOURCE, Resource, ScopeSet, app_roles_for, parse_scopes, resource_named,
};

use super::model::random_guid;

/// An OAuth error as the token and authorize endpoints report it, with an Entra code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GrantError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) code: u32,
    pub(crate) description: String,
    /// Entra's `suberror` (`consent_required`, `basic_action`, …).
    pub(crate) suberror: Option<&'static str>,
    /// A claims challenge (JSON) the client must send back to `/authorize`.
    pub(crate) claims: Option<String>,
}

impl GrantError {
    pub(crate) fn new(error: &'static str, code: u32, description: impl Into<String>) -> Self {
        Self {
            status: 400,
            error,
            code,
            description: description.into(),
            suberror: None,
            claims: None,
        }
    }

    pub(crate) fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub(crate) fn suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }

    pub(crate) fn claims(mut self, claims: String) -> Self {
        self.claims = Some(claims);
        self
    }

    /// `AADSTS900144`: a required parameter is missing.
    pub(crate) fn missing(parameter: &str) -> Self {
        Self::new(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    /// The `error_description` text: Entra prefixes the code.
    pub(crate) fn text(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.description)
    }
}

/// What the user did to sign in, carried by a grant from its code through every refresh
/// token: `amr` (`pwd`, plus `mfa` once multi-factor authentication was done), `acrs` (the
/// authentication contexts satisfied), `auth_time` (when the user last actively
/// authenticated, which SSO reuse and refreshes keep, as OpenID Connect Core requires) and
/// `acr` (the level an `acr_values` request asked for, which TestIdp's users always meet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Authn {
    pub(crate) amr: Vec<String>,
    pub(crate) acrs: Vec<String>,
    /// Seconds since the epoch on TestIdp's clock. `None` only when an on-behalf-of
    /// assertion carried none.
    pub(crate) auth_time: Option<i64>,
    /// The `acr` claim, when `acr_values` asked for one (or an assertion carried one).
    pub(crate) acr: Option<String>,
}

impl Authn {
    /// A password sign-in at `auth_time`, nothing more.
    pub(crate) fn password(auth_time: i64) -> Self {
        Self {
            amr: vec!["pwd".to_owned()],
            acrs: Vec::new(),
            auth_time: Some(auth_time),
            acr: None,
        }
    }

    pub(crate) fn mfa_done(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }

    pub(crate) fn add_mfa(&mut self) {
        if !self.mfa_done() {
            self.amr.push("mfa".to_owned());
        }
    }

    pub(crate) fn add_context(&mut self, context: &str) {
        if !self.acrs.iter().any(|c| c == context) {
            self.acrs.push(context.to_owned());
        }
    }
}

/// How the client authenticated at the token endpoint: `azpacr`/`appidacr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// A public client: no credential (`0`).
    Public,
    /// A client secret (`1`).
    Secret,
    /// A certificate: a `private_key_jwt` assertion (`2`).
    Certificate,
}

impl ClientAuth {
    pub(crate) fn acr(self) -> &'static str {
        match self {
            ClientAuth::Public => "0",
            ClientAuth::Secret => "1",
            ClientAuth::Certificate => "2",
        }
    }

    pub(crate) fn confidential(self) -> bool {
        self != ClientAuth::Public
    }
}

/// A fresh opaque value for codes, refresh tokens and session ids.
pub(crate) fn secret_value() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A fresh session id, GUID-shaped like Entra's `sid`.
pub(crate) fn session_id() -> String {
    random_guid()
}
