//! `TestIdp`: an Entra-compatible OpenID Connect identity provider on loopback.
//!
//! It serves Entra's v2.0 paths (`/{tenant}/v2.0/.well-known/openid-configuration`,
//! `/{tenant}/discovery/v2.0/keys`, `/{tenant}/oauth2/v2.0/{authorize,token,logout}`) and a
//! Microsoft Graph stand-in (`/graph/v1.0/me`), so an app configured with
//! [`TestIdp::authority`] behaves as it would against `login.microsoftonline.com`. It is a
//! strict adversary, not a rubber stamp: PKCE S256 is required, codes and refresh tokens are
//! single use, redirect URIs must be registered, client secrets are checked, and errors carry
//! Entra's `AADSTS` codes.
//!
//! Tests drive it further: [`TestIdp::rotate_keys`], [`TestIdp::mint`] for forged or broken
//! tokens, [`TestIdp::set_fault`] for outages and garbage, [`TestIdp::requests`] to count
//! calls, [`TestIdp::advance_clock`] for expiry.
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
mod faults;
mod jwt;
mod keys;
#[doc(hidden)]
pub mod measure;
mod model;
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
pub use faults::{Endpoint, Fault};
pub use jwt::{JsonObject, Mint, MintKey};
pub use keys::KeyRotation;
pub use model::{
    BOB_GROUP_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_DOMAIN,
    DEFAULT_TENANT_ID, TestClient, TestTenant, TestUser, TokenVersion,
};

/// The HTTP client crate [`browser`] returns, so a test needs no dependency of its own for
/// it: `msal_runtime::testing::reqwest::Client::new()` for API calls.
pub use reqwest;

use state::{RefreshStatus, Registry, Settings, Shared, lock, read, write};
use tokens::{Resource, ScopeSet};

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
}

/// Configures a [`TestIdp`]. Starts with one tenant ([`DEFAULT_TENANT_ID`],
/// `contoso.test`), one confidential app ([`TestClient::default_app`]) and the users Alice
/// and Bob; [`without_defaults`](Self::without_defaults) starts from nothing.
///
/// ```no_run
/// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
/// use std::time::Duration;
/// use msal_runtime::testing::{TestClient, TestIdp, TestUser};
/// let idp = TestIdp::builder()
///     .user(TestUser::new("carol@contoso.test", "Carol Tester").role("Admin"))
///     .client(TestClient::new("22222222-0000-4000-8000-000000000002").secret("s"))
///     .token_lifetime(Duration::from_secs(60))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .start().await"]
pub struct TestIdpBuilder {
    tenants: Vec<TestTenant>,
    clients: Vec<TestClient>,
    users: Vec<TestUser>,
    settings: Settings,
    publish_ec_key: bool,
    key_source: keys::KeySource,
    addr: SocketAddr,
}

impl Default for TestIdpBuilder {
    fn default() -> Self {
        Self {
            tenants: vec![TestTenant::new(DEFAULT_TENANT_ID, DEFAULT_TENANT_DOMAIN)],
            clients: vec![TestClient::default_app()],
            users: vec![TestUser::alice(), TestUser::bob()],
            settings: Settings {
                token_lifetime: Duration::from_secs(3600),
                code_lifetime: Duration::from_secs(600),
                refresh_lifetime: Duration::from_secs(24 * 3600),
                group_overage_limit: 200,
            },
            publish_ec_key: false,
            key_source: keys::KeySource::Generated,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl TestIdpBuilder {
    /// Drops the default tenant, app and users; register your own.
    pub fn without_defaults(mut self) -> Self {
        self.tenants.clear();
        self.clients.clear();
        self.users.clear();
        self
    }
    /// Adds a tenant. The first tenant is the default one ([`TestIdp::authority`]).
    pub fn tenant(mut self, tenant: TestTenant) -> Self {
        self.tenants.push(tenant);
        self
    }
    /// Adds an app registration. The first is the default one ([`TestIdp::client`]).
    pub fn client(mut self, client: TestClient) -> Self {
        self.clients.push(client);
        self
    }
    /// Adds a user.
    pub fn user(mut self, user: TestUser) -> Self {
        self.users.push(user);
        self
    }
    /// Lifetime of access and ID tokens (default one hour).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.token_lifetime = lifetime;
        self
    }
    /// Lifetime of authorization codes (default ten minutes).
    pub fn code_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.code_lifetime = lifetime;
        self
    }
    /// Lifetime of refresh tokens (default one day).
    pub fn refresh_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.refresh_lifetime = lifetime;
        self
    }
    /// Past this many groups, tokens carry Entra's overage claims (`_claim_names`,
    /// `_claim_sources`) instead of `groups` (default 200, as Entra's JWT limit).
    pub fn group_overage_limit(mut self, limit: usize) -> Self {
        self.settings.group_overage_limit = limit;
        self
    }
    /// Publishes the instance's P-256 key in the JWKS, so [`MintKey::Es256`] tokens verify.
    /// Off by default: Entra publishes RSA keys only.
    pub fn publish_ec_key(mut self) -> Self {
        self.publish_ec_key = true;
        self
    }
    /// Signs with the RSA keys committed in this crate (`src/testing/keys`) instead of keys
    /// generated in this process. Their private halves are public, so anyone can forge the
    /// tokens such an IdP signs: only for tests that need the same key material on every
    /// run. Never for an app that anyone else can reach.
    pub fn committed_test_keys(mut self) -> Self {
        self.key_source = keys::KeySource::Committed;
        self
    }
    /// Listens here instead of `127.0.0.1:0`.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    fn registry(mut self) -> Result<(Registry, Settings), TestIdpError> {
        let Some(first) = self.tenants.first().map(|t| t.id.clone()) else {
            return Err(TestIdpError::Config(
                "no tenant: add one with .tenant(TestTenant::new(id, domain))".into(),
            ));
        };
        let mut problems = Vec::new();
        if self.clients.is_empty() {
            problems.push("no client: add one with .client(TestClient::new(client_id))".to_owned());
        }
        let duplicate = |items: Vec<&str>, what: &str, problems: &mut Vec<String>| {
            for (i, item) in items.iter().enumerate() {
                if items[..i].iter().any(|e| e.eq_ignore_ascii_case(item)) {
                    problems.push(format!("{what} '{item}' is registered twice"));
                }
            }
        };
        duplicate(
            self.tenants.iter().map(|t| t.id.as_str()).collect(),
            "tenant",
            &mut problems,
        );
        duplicate(
            self.clients.iter().map(|c| c.client_id.as_str()).collect(),
            "client",
            &mut problems,
        );
        duplicate(
            self.users
                .iter()
                .map(|u| u.preferred_username.as_str())
                .collect(),
            "user",
            &mut problems,
        );
        duplicate(
            self.users.iter().map(|u| u.oid.as_str()).collect(),
            "user oid",
            &mut problems,
        );
        for user in &mut self.users {
            match &user.tenant_id {
                None => user.tenant_id = Some(first.clone()),
                Some(t) if !self.tenants.iter().any(|x| &x.id == t) => problems.push(format!(
                    "user '{}' is in tenant '{t}', which is not registered",
                    user.preferred_username
                )),
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            return Err(TestIdpError::Config(problems.join("; ")));
        }
        let registry = Registry {
            tenants: self.tenants,
            clients: self.clients,
            users: self.users,
        };
        Ok((registry, self.settings))
    }

    /// Binds, and serves on the current tokio runtime until the handle is dropped.
    pub async fn start(self) -> Result<TestIdp, TestIdpError> {
        let addr = self.addr;
        let publish_ec = self.publish_ec_key;
        let key_source = self.key_source;
        let (registry, settings) = self.registry()?;
        let keys = keys::KeySet::new(publish_ec, key_source)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| TestIdpError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| TestIdpError::Bind { addr, source })?;
        let base_url = format!("http://{local}");
        let shared = Arc::new(Shared::new(
            base_url,
            local.port(),
            settings,
            registry,
            keys,
        ));
        let app = server::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender also means "stop".
                    let _ = rx.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "TestIdp server stopped with an error");
            }
        });
        tracing::debug!(base_url = %shared.base_url, "TestIdp started");
        Ok(TestIdp {
            shared,
            addr: local,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
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

    /// `http://127.0.0.1:PORT`: the "instance", as `https://login.microsoftonline.com` is.
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

    /// The v1 issuer of a tenant id, `{base_url}/{tenant id}/` (the shape of
    /// `https://sts.windows.net/{tid}/`).
    pub fn v1_issuer_for(&self, tenant_id: &str) -> String {
        self.shared.v1_issuer(tenant_id)
    }

    /// The default tenant's discovery document URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
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
    pub fn rotate_keys(&self, rotation: KeyRotation) -> Result<String, TestIdpError> {
        write(&self.shared.keys).rotate(rotation)
    }

    /// The `kid` that signs new tokens.
    pub fn current_kid(&self) -> Result<String, TestIdpError> {
        Ok(read(&self.shared.keys).current()?.kid.clone())
    }

    /// The `kid`s in the JWKS now.
    pub fn published_kids(&self) -> Vec<String> {
        read(&self.shared.keys).published_kids()
    }

    /// Signs a token made to order. See [`Mint`].
    pub fn mint(&self, mint: &Mint) -> Result<String, TestIdpError> {
        mint.sign(&read(&self.shared.keys))
    }

    fn parts(
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
        ))
    }

    /// The claims of a valid delegated access token for the API of `api_client_id`, with
    /// these scope names in `scp` (not checked against what the API exposes), requested by
    /// the API's own client. Its version follows the API's [`TokenVersion`].
    pub fn access_token_claims(
        &self,
        username: &str,
        api_client_id: &str,
        scopes: &[&str],
    ) -> Result<JsonObject, TestIdpError> {
        let (user, api) = self.parts(username, api_client_id)?;
        let set = ScopeSet {
            oidc: Vec::new(),
            resource: Resource::Api(Box::new(api.clone())),
            names: scopes.iter().map(|s| (*s).to_owned()).collect(),
            default: false,
        };
        let reg = read(&self.shared.registry);
        Ok(tokens::user_access_token(
            &self.shared,
            &reg,
            &user,
            &api,
            true,
            &set,
            None,
        ))
    }

    /// The claims of a valid app-only token (client credentials) from `caller_client_id`
    /// for the API of `api_client_id`, with these `roles`.
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
            &Resource::Api(Box::new(api.clone())),
            &roles,
            &tenant,
        ))
    }

    /// Injects a fault into an endpoint (replacing any fault it had).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.shared.faults).insert(endpoint, fault);
    }

    /// Removes the fault of one endpoint.
    pub fn clear_fault(&self, endpoint: Endpoint) {
        lock(&self.shared.faults).remove(&endpoint);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// How many requests reached an endpoint (faulted ones included) since start or the
    /// last [`reset_counts`](Self::reset_counts).
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        self.shared.counts[endpoint.index()].load(Ordering::Relaxed)
    }

    /// Sets every request count to zero.
    pub fn reset_counts(&self) {
        for count in &self.shared.counts {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// Moves this IdP's clock forward: what it issues and what it checks (code, refresh and
    /// Graph token expiry) see the later time. Tokens it issued earlier thereby look old.
    pub fn advance_clock(&self, by: Duration) {
        self.shared
            .clock_offset
            .fetch_add(by.as_secs() as i64, Ordering::Relaxed);
    }

    /// From now on, the token endpoint edits the claims of every ID token it issues and signs
    /// it with `key`: the way to test how a relying party treats a wrong `iss`, `aud`,
    /// `nonce`, an expired token or a bad signature arriving through a real code flow.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// use msal_runtime::testing::{MintKey, TestIdp};
    /// let idp = TestIdp::start().await?;
    /// idp.tamper_id_tokens(MintKey::Current, |claims| {
    ///     claims.insert("nonce".into(), "not-the-one-you-sent".into());
    /// });
    /// idp.stop_tampering();
    /// # Ok(()) }
    /// ```
    pub fn tamper_id_tokens(
        &self,
        key: MintKey,
        edit: impl Fn(&mut JsonObject) + Send + Sync + 'static,
    ) {
        *lock(&self.shared.id_token_tamper) = Some(state::IdTokenTamper {
            edit: Arc::new(edit),
            key,
        });
    }

    /// Appends an entry to the JWKS as served (say, a key nobody can parse): clients must
    /// skip what they cannot use.
    pub fn add_jwks_entry(&self, entry: serde_json::Value) {
        lock(&self.shared.extra_jwks).push(entry);
    }

    /// Makes discovery documents claim this `issuer` (`None`: the real one again), to test
    /// that clients refuse a provider whose metadata names someone else.
    pub fn override_discovery_issuer(&self, issuer: Option<&str>) {
        *lock(&self.shared.discovery_issuer) = issuer.map(str::to_owned);
    }

    /// Makes discovery documents carry `value` as the field `name` (`None`: the real one
    /// again): a token endpoint on another host, say, to test that clients refuse to send
    /// secrets there.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let idp = msal_runtime::testing::TestIdp::start().await?;
    /// idp.override_discovery_field("token_endpoint", Some("https://evil.test/token".into()));
    /// # Ok(()) }
    /// ```
    pub fn override_discovery_field(&self, name: &str, value: Option<serde_json::Value>) {
        let mut fields = lock(&self.shared.discovery_fields);
        match value {
            Some(value) => fields.insert(name.to_owned(), value),
            None => fields.remove(name),
        };
    }

    /// Serves this document as the JWKS instead of the real one (`None`: the real one
    /// again), such as a key set without a usable key.
    pub fn override_jwks(&self, jwks: Option<serde_json::Value>) {
        *lock(&self.shared.jwks_override) = jwks;
    }

    /// Changes the lifetime of the access and ID tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared
            .token_lifetime_now
            .store(lifetime.as_secs().max(1), Ordering::Relaxed);
    }

    /// The Graph stand-in answers the next `times` requests with `401` and a claims
    /// challenge (`WWW-Authenticate: Bearer … error="insufficient_claims", claims="…"`), as
    /// Graph does under Continuous Access Evaluation.
    pub fn challenge_graph(&self, claims_json: &str, times: u32) {
        *lock(&self.shared.graph_challenge) = Some((claims_json.to_owned(), times));
    }

    /// Issues ID tokens untouched again.
    pub fn stop_tampering(&self) {
        *lock(&self.shared.id_token_tamper) = None;
    }

    /// Seconds since the epoch on this IdP's clock (see [`advance_clock`](Self::advance_clock)).
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// Every refresh token issued to a user so far, spent or not: for tests that check a
    /// secret never shows up where it must not (logs, pages, `Debug` output).
    ///
    /// ```no_run
    /// # use msal_runtime::testing::{TestIdp, TestIdpError};
    /// # fn f(idp: &TestIdp) -> Result<(), TestIdpError> {
    /// let issued = idp.issued_refresh_tokens("alice@contoso.test")?;
    /// assert!(issued.iter().all(|token| !token.is_empty()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn issued_refresh_tokens(&self, username: &str) -> Result<Vec<String>, TestIdpError> {
        let oid = self.user(username)?.oid;
        Ok(lock(&self.shared.refresh_tokens)
            .iter()
            .filter(|(_, grant)| grant.oid == oid)
            .map(|(token, _)| token.clone())
            .collect())
    }

    /// Revokes every refresh token and IdP session of a user (as Entra's
    /// `revokeSignInSessions`). Returns how many refresh tokens were revoked.
    pub fn revoke_refresh_tokens(&self, username: &str) -> Result<usize, TestIdpError> {
        let oid = self.user(username)?.oid;
        let mut revoked = 0;
        for grant in lock(&self.shared.refresh_tokens).values_mut() {
            if grant.oid == oid && grant.status == RefreshStatus::Active {
                grant.status = RefreshStatus::Revoked;
                revoked += 1;
            }
        }
        lock(&self.shared.sso).retain(|_, s| s.oid != oid);
        Ok(revoked)
    }
}
