//! [`TestIdpBuilder`]: the tenants, clients, users and lifetimes a [`TestIdp`] starts with.

use super::*;

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
    host: Option<String>,
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
            host: None,
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
    /// The host name TestIdp's URLs use (default `127.0.0.1`, or the address given to
    /// [`bind`](Self::bind); `localhost` for cross-site browser tests). It still binds
    /// 127.0.0.1. The v1 issuer lives on the other loopback host (`localhost` for
    /// `127.0.0.1`, `127.0.0.1` for any other).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), msal_runtime::testing::TestIdpError> {
    /// let idp = msal_runtime::testing::TestIdp::builder().host("localhost").start().await?;
    /// assert!(idp.base_url().starts_with("http://localhost:"));
    /// # Ok(()) }
    /// ```
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
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
        let registry = Registry {
            tenants: self.tenants,
            clients: self.clients,
            users: self.users,
        };
        for client in &registry.clients {
            for scope in &client.admin_consents {
                if let Err(err) = tokens::parse_scopes(&registry, scope) {
                    problems.push(format!(
                        "client '{}' has admin consent for '{scope}', which is not a scope: {}",
                        client.client_id,
                        err.text()
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(TestIdpError::Config(problems.join("; ")));
        }
        Ok((registry, self.settings))
    }

    /// Binds, and serves on the current tokio runtime until the handle is dropped.
    pub async fn start(self) -> Result<TestIdp, TestIdpError> {
        let addr = self.addr;
        let host = self.host.clone();
        let host = move |local: SocketAddr| {
            host.unwrap_or_else(|| match local.ip() {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            })
        };
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
        let shared = Arc::new(Shared::new(
            &host(local),
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
