//! `TestIdp`: an Entra-compatible OpenID Connect identity provider on loopback.
//!
//! It serves Entra's v2.0 paths (`/{tenant}/v2.0/.well-known/openid-configuration`,
//! `/{tenant}/discovery/v2.0/keys`, `/{tenant}/oauth2/v2.0/{authorize,token,logout}`), Entra's
//! v1 metadata (`/{tenant}/.well-known/openid-configuration`, naming the v1 issuer) and a
//! Microsoft Graph stand-in (`/graph/v1.0/me`), so an app configured with
//! [`TestIdp::authority`] behaves as it would against `login.microsoftonline.com`. It is a
//! strict adversary, not a rubber stamp, and no kinder than Entra: PKCE S256 is required,
//! codes are single use, redirect URIs must be registered, client secrets are checked,
//! refreshes need the user's (or an admin's) consent, armed Conditional Access policies
//! answer `interaction_required` with a claims challenge, Graph challenges CAE-capable
//! tokens after a critical event, v1 access tokens (Entra's default) come from an issuer on
//! another host, and errors carry Entra's `AADSTS` codes, `suberror` and `claims`.
//!
//! Tests drive it further: [`TestIdp::rotate_keys`], [`TestIdp::mint`] for forged or broken
//! tokens, [`TestIdp::set_fault`] for outages and garbage, [`TestIdp::requests`] to count
//! calls, [`TestIdp::advance_clock`] for expiry, [`TestIdp::arm_policy`],
//! [`TestIdp::withdraw_consent`] and [`TestIdp::cae_event`] for Entra's refusals,
//! [`TestIdp::age_sign_in`], [`TestIdp::ignore_max_age`] and [`TestIdp::ignore_acr_values`]
//! for step-up, and [`TestIdp::last_authorize_params`] to see what an app asked for.
//!
//! Every user token (ID and delegated access tokens, v1 and v2) carries `auth_time`: SSO
//! reuse and refreshes keep the original sign-in's, on-behalf-of keeps the assertion's.
//! `/authorize` honours `max_age` and `prompt=login` by authenticating afresh (a known
//! `login_hint` without the form, anyone else on the picker), and `acr_values` by putting
//! the first value in `acr`.
//!
//! It shares no code with the runtime's client or validation, so it can catch their mistakes.
//!
//! ```no_run
//! # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
//! use msal_runtime::testing::TestIdp;
//!
//! let idp = TestIdp::start().await?;
//! println!("authority: {}", idp.authority()); // http://127.0.0.1:PORT/<tenant id>
//! println!("issuer:    {}", idp.issuer());    // http://127.0.0.1:PORT/<tenant id>/v2.0
//! // Users: alice@contoso.test, bob@contoso.test (role Admin). A `login_hint` with one of
//! // them signs in without the picker page, so scripts need no form.
//! # Ok(()) }
//! ```

mod browser;
mod builder;
mod cae;
mod claims_request;
mod consent;
mod controls;
pub mod crash;
mod faults;
mod jwt;
mod keys;
#[doc(hidden)]
pub mod measure;
mod model;
mod policy;
mod server;
mod state;
mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use browser::browser;
pub use builder::TestIdpBuilder;
pub use faults::{Endpoint, Fault};
pub use jwt::{JsonObject, Mint, MintKey};
pub use keys::KeyRotation;
pub use model::{
    BOB_GROUP_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_DOMAIN,
    DEFAULT_TENANT_ID, TestClient, TestTenant, TestUser, TokenVersion,
};
pub use policy::CaPolicy;

/// The HTTP client crate [`browser`] returns, so a test needs no dependency of its own for
/// it: `msal_runtime::testing::reqwest::Client::new()` for API calls.
pub use reqwest;

use state::{RefreshStatus, Registry, Settings, Shared, lock, read, write};
use tokens::{Authn, ClientAuth, Issue, Resource, ScopeSet};

/// Why a TestIdp could not start, or a control could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestIdpError {
    /// The listener could not bind.
    #[error("TestIdp could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The builder's tenants, clients or users do not fit together.
    #[error("invalid TestIdp setup: {0}")]
    Config(String),
    /// The committed test keys could not be loaded or used.
    #[error("TestIdp signing keys unusable: {0}")]
    Keys(String),
    /// No registered user has this `preferred_username`.
    #[error("no test user named '{0}' (register it with TestIdpBuilder::user)")]
    UnknownUser(String),
    /// No registered app has this client id.
    #[error("no test client with id '{0}' (register it with TestIdpBuilder::client)")]
    UnknownClient(String),
    /// This instance never had a signing key with this `kid`.
    #[error("this TestIdp never had a signing key with kid '{0}'")]
    UnknownKid(String),
    /// A scope that names no registered resource or exposed scope.
    #[error("not a scope of a registered resource: {0}")]
    InvalidScope(String),
}

/// A running test identity provider. Dropping it stops the server.
///
/// See the [module documentation](self) for what it serves and how tests steer it.
pub struct TestIdp {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIdp")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestIdp {
    /// A builder with the default tenant, app and users.
    pub fn builder() -> TestIdpBuilder {
        TestIdpBuilder::default()
    }

    /// Starts one with the defaults on `127.0.0.1:0`.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let idp = msal_runtime::testing::TestIdp::start().await?;
    /// assert!(idp.base_url().starts_with("http://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub async fn start() -> Result<Self, TestIdpError> {
        Self::builder().start().await
    }

    /// Stops accepting, lets in-flight requests finish (up to a second), and returns once the
    /// port is closed.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or the [`host`](TestIdpBuilder::host) chosen): the
    /// "instance", as `https://login.microsoftonline.com` is.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The default tenant's authority, `{base_url}/{tenant id}` (what MSAL calls authority).
    pub fn authority(&self) -> String {
        self.authority_for(&self.tenant().id)
    }

    /// The authority for a tenant segment: a tenant id, a domain, `common`, `organizations`
    /// or `consumers`.
    pub fn authority_for(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.shared.base_url)
    }

    /// The default tenant's v2 issuer, `{base_url}/{tenant id}/v2.0`.
    pub fn issuer(&self) -> String {
        self.shared.v2_issuer(&self.tenant().id)
    }

    /// The v2 issuer of a tenant id.
    pub fn issuer_for(&self, tenant_id: &str) -> String {
        self.shared.v2_issuer(tenant_id)
    }

    /// The v1 issuer of a tenant id, `http://localhost:PORT/{tenant id}/` (the shape of
    /// `https://sts.windows.net/{tid}/`): on the other loopback host, as Entra's v1 issuer
    /// is not on the authority's host (`http://127.0.0.1:PORT/…` when the TestIdp's host is
    /// `localhost`). The same listener answers both; an app learns it from the v1 metadata,
    /// [`v1_discovery_url`](Self::v1_discovery_url).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let idp = msal_runtime::testing::TestIdp::start().await?;
    /// let v1 = idp.v1_issuer_for(&idp.tenant().id);
    /// assert!(v1.starts_with("http://localhost:") && v1.ends_with('/'));
    /// # Ok(()) }
    /// ```
    pub fn v1_issuer_for(&self, tenant_id: &str) -> String {
        self.shared.v1_issuer(tenant_id)
    }

    /// The default tenant's discovery document URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// The default tenant's v1 metadata URL (`{authority}/.well-known/openid-configuration`),
    /// whose `issuer` is the v1 issuer.
    pub fn v1_discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.authority())
    }

    /// The default tenant's JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/discovery/v2.0/keys", self.authority())
    }

    /// The default tenant's authorize endpoint.
    pub fn authorize_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/authorize", self.authority())
    }

    /// The default tenant's token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority())
    }

    /// The default tenant's end-session endpoint.
    pub fn end_session_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/logout", self.authority())
    }

    /// The Microsoft Graph stand-in's base, `{base_url}/graph/v1.0` (as
    /// `https://graph.microsoft.com/v1.0`).
    pub fn graph_base_url(&self) -> String {
        self.shared.graph_base()
    }

    /// The first (default) tenant.
    pub fn tenant(&self) -> TestTenant {
        // The builder refuses to start without a tenant, so the fallback is never used.
        read(&self.shared.registry)
            .tenants
            .first()
            .cloned()
            .unwrap_or_else(|| TestTenant::new("", ""))
    }

    /// The first (default) app registration.
    pub fn client(&self) -> TestClient {
        // The builder refuses to start without a client, so the fallback is never used.
        read(&self.shared.registry)
            .clients
            .first()
            .cloned()
            .unwrap_or_else(|| TestClient::new(""))
    }

    /// All registered users.
    pub fn users(&self) -> Vec<TestUser> {
        read(&self.shared.registry).users.clone()
    }

    /// The user with this `preferred_username`.
    pub fn user(&self, preferred_username: &str) -> Result<TestUser, TestIdpError> {
        read(&self.shared.registry)
            .user_by_name(preferred_username)
            .cloned()
            .ok_or_else(|| TestIdpError::UnknownUser(preferred_username.into()))
    }

    /// Registers another redirect URI for a client while running (say, once the app under
    /// test knows its port; loopback URIs already match any port).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.add_redirect_uri(DEFAULT_CLIENT_ID, "https://app.test/auth/callback")?;
    /// # Ok(()) }
    /// ```
    pub fn add_redirect_uri(&self, client_id: &str, uri: &str) -> Result<(), TestIdpError> {
        let mut reg = write(&self.shared.registry);
        let client = reg
            .clients
            .iter_mut()
            .find(|c| c.client_id == client_id)
            .ok_or_else(|| TestIdpError::UnknownClient(client_id.into()))?;
        client.redirect_uris.push(uri.into());
        Ok(())
    }

    /// Sets a client's front-channel logout URL while running.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// idp.set_front_channel_logout_uri(DEFAULT_CLIENT_ID, "http://127.0.0.1:5000/auth/signout-oidc")?;
    /// # Ok(()) }
    /// ```
    pub fn set_front_channel_logout_uri(
        &self,
        client_id: &str,
        uri: &str,
    ) -> Result<(), TestIdpError> {
        let mut reg = write(&self.shared.registry);
        let client = reg
            .clients
            .iter_mut()
            .find(|c| c.client_id == client_id)
            .ok_or_else(|| TestIdpError::UnknownClient(client_id.into()))?;
        client.front_channel_logout_uri = Some(uri.into());
        Ok(())
    }

    /// Adds a new signing key, which signs from now on, and returns its `kid`. With
    /// [`KeyRotation::DropOld`] the previous keys leave the JWKS at once.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let new_kid = idp.rotate_keys(KeyRotation::KeepOld)?;
    /// assert_eq!(idp.current_kid()?, new_kid);
    /// # Ok(()) }
    /// ```
    pub fn rotate_keys(&self, rotation: KeyRotation) -> Result<String, TestIdpError> {
        write(&self.shared.keys).rotate(rotation)
    }

    /// The `kid` that signs new tokens.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let kid = idp.current_kid()?;
    /// assert!(idp.published_kids().contains(&kid));
    /// # Ok(()) }
    /// ```
    pub fn current_kid(&self) -> Result<String, TestIdpError> {
        Ok(read(&self.shared.keys).current()?.kid.clone())
    }

    /// The `kid`s in the JWKS now.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// assert!(!idp.published_kids().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn published_kids(&self) -> Vec<String> {
        read(&self.shared.keys).published_kids()
    }

    /// Signs a token made to order. See [`Mint`].
    pub fn mint(&self, mint: &Mint) -> Result<String, TestIdpError> {
        mint.sign(&read(&self.shared.keys))
    }

    pub(crate) fn parts(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<(TestUser, TestClient), TestIdpError> {
        let reg = read(&self.shared.registry);
        let user = reg
            .user_by_name(username)
            .cloned()
            .ok_or_else(|| TestIdpError::UnknownUser(username.into()))?;
        let client = reg
            .client(client_id)
            .cloned()
            .ok_or_else(|| TestIdpError::UnknownClient(client_id.into()))?;
        Ok((user, client))
    }

    /// The claims of a valid ID token for `username` signing in to `client_id`, as the token
    /// endpoint would issue them now. Change them and [`mint`](Self::mint).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let claims = idp.id_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, Some("nonce-1"))?;
    /// let token = idp.mint(&Mint::new(claims).claim("aud", "someone-else"))?;
    /// # let _ = token;
    /// # Ok(()) }
    /// ```
    pub fn id_token_claims(
        &self,
        username: &str,
        client_id: &str,
        nonce: Option<&str>,
    ) -> Result<JsonObject, TestIdpError> {
        let (user, client) = self.parts(username, client_id)?;
        let reg = read(&self.shared.registry);
        Ok(tokens::id_token(
            &self.shared,
            &reg,
            &user,
            &client,
            nonce,
            "00000000-0000-4000-8000-000000000000",
            true,
            &Authn::password(self.shared.now()),
        ))
    }

    /// The claims of a valid delegated access token for the API of `api_client_id`, with
    /// these scope names in `scp` (not checked against what the API exposes), requested by
    /// the API's own client with its secret after a password sign-in. Its version follows
    /// the API's [`TokenVersion`] (a v1 token's `aud` is the App ID URI).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let claims = idp.access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])?;
    /// let token = idp.mint(&Mint::new(claims))?;
    /// # let _ = token;
    /// # Ok(()) }
    /// ```
    pub fn access_token_claims(
        &self,
        username: &str,
        api_client_id: &str,
        scopes: &[&str],
    ) -> Result<JsonObject, TestIdpError> {
        let (user, api) = self.parts(username, api_client_id)?;
        let set = ScopeSet {
            oidc: Vec::new(),
            named: api.app_id_uri.trim_end_matches('/').to_owned(),
            resource: Resource::Api(Box::new(api.clone())),
            names: scopes.iter().map(|s| (*s).to_owned()).collect(),
            default: false,
        };
        let reg = read(&self.shared.registry);
        Ok(tokens::user_access_token(
            &self.shared,
            &reg,
            &Issue {
                user: &user,
                caller: &api,
                auth: ClientAuth::Secret,
                scopes: &set,
                sid: None,
                authn: &Authn::password(self.shared.now()),
                capabilities: &[],
            },
        ))
    }

    /// The claims of a valid app-only token (client credentials, with a secret) from
    /// `caller_client_id` for the API of `api_client_id`, with these `roles`.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint};
    /// # fn f(idp: &msal_runtime::testing::TestIdp) -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let claims = idp.app_token_claims(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_ID, &["Tasks.ReadWrite.All"])?;
    /// assert_eq!(claims["oid"], claims["sub"]);
    /// # Ok(()) }
    /// ```
    pub fn app_token_claims(
        &self,
        caller_client_id: &str,
        api_client_id: &str,
        roles: &[&str],
    ) -> Result<JsonObject, TestIdpError> {
        let reg = read(&self.shared.registry);
        let caller = reg
            .client(caller_client_id)
            .ok_or_else(|| TestIdpError::UnknownClient(caller_client_id.into()))?;
        let api = reg
            .client(api_client_id)
            .ok_or_else(|| TestIdpError::UnknownClient(api_client_id.into()))?;
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let tenant = reg
            .tenants
            .first()
            .map(|t| t.id.clone())
            .unwrap_or_default();
        Ok(tokens::app_access_token(
            &self.shared,
            caller,
            ClientAuth::Secret,
            &Resource::Api(Box::new(api.clone())),
            api.app_id_uri.trim_end_matches('/'),
            &roles,
            &tenant,
        ))
    }
}
