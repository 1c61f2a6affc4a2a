//! [`MsalConfigBuilder`]: values set in code, over those read from the environment, `.env`
//! and the secrets directory.

use super::*;

/// Builds an [`MsalConfig`]. Values set here win over [`with_env`](Self::with_env)'s.
#[derive(Default)]
#[must_use]
pub struct MsalConfigBuilder {
    values: RawValues,
    problems: Vec<ConfigProblem>,
}

impl fmt::Debug for MsalConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, (v, s)) in &self.values {
            if SECRET_VARIABLES.contains(k) {
                map.entry(k, &format_args!("[REDACTED] (from {s})"));
            } else {
                map.entry(k, &format_args!("{v:?} (from {s})"));
            }
        }
        map.finish()
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident => $var:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, value: impl Into<String>) -> Self {
                self.set($var, value.into())
            }
        )*
    };
}

impl MsalConfigBuilder {
    pub(super) fn set(mut self, name: &'static str, value: String) -> Self {
        self.values.insert(name, (value, Source::Code));
        self
    }

    setters! {
        /// `MSAL_CLIENT_ID`.
        client_id => "MSAL_CLIENT_ID";
        /// `MSAL_CLIENT_SECRET`.
        client_secret => "MSAL_CLIENT_SECRET";
        /// `MSAL_CLIENT_CERTIFICATE`: a PEM file's path, or PEM text, with certificate and key.
        client_certificate => "MSAL_CLIENT_CERTIFICATE";
        /// `MSAL_TENANT_ID`: a tenant id, a domain, `common`, `organizations` or `consumers`.
        tenant_id => "MSAL_TENANT_ID";
        /// `MSAL_INSTANCE`: the cloud instance, default `https://login.microsoftonline.com`.
        instance => "MSAL_INSTANCE";
        /// `MSAL_AUTHORITY`: a full authority or any OpenID Connect issuer.
        authority => "MSAL_AUTHORITY";
        /// `MSAL_B2C_POLICY`.
        b2c_policy => "MSAL_B2C_POLICY";
        /// `MSAL_PUBLIC_URL`.
        public_url => "MSAL_PUBLIC_URL";
        /// `MSAL_REDIRECT_URI`.
        redirect_uri => "MSAL_REDIRECT_URI";
        /// `MSAL_POST_LOGOUT_REDIRECT_URI`.
        post_logout_redirect_uri => "MSAL_POST_LOGOUT_REDIRECT_URI";
        /// `MSAL_SCOPES`: extra sign-in scopes, space or comma separated.
        scopes => "MSAL_SCOPES";
        /// `MSAL_ALLOWED_TENANTS`: tenant ids, comma separated.
        allowed_tenants => "MSAL_ALLOWED_TENANTS";
        /// `MSAL_B2C_ALLOWED_POLICIES`: further B2C user flows whose tokens are accepted.
        b2c_allowed_policies => "MSAL_B2C_ALLOWED_POLICIES";
        /// `MSAL_SESSION_STORE`: `memory`, or a Redis URL: `redis://host:6379`,
        /// `rediss://:password@host:6380` (TLS), `redis-cluster://host:port?node=host:port`
        /// (Redis Cluster), `rediss-cluster://…` (TLS cluster).
        session_store => "MSAL_SESSION_STORE";
        /// `MSAL_REDIS_CA_FILE`: the path of a PEM file holding the private CA that signed a
        /// TLS Redis's certificate; it is then the only CA trusted for Redis.
        redis_ca_file => "MSAL_REDIS_CA_FILE";
        /// `MSAL_COOKIE_NAME`.
        cookie_name => "MSAL_COOKIE_NAME";
        /// `MSAL_ROUTE_PREFIX`.
        route_prefix => "MSAL_ROUTE_PREFIX";
        /// `MSAL_SECRETS_DIR`.
        secrets_dir => "MSAL_SECRETS_DIR";
        /// `MSAL_AUDIENCE`: accepted `aud` values of bearer tokens, comma separated.
        audience => "MSAL_AUDIENCE";
        /// `MSAL_SESSION_KEY`: base64 of 32 bytes sealing the tokens in session records.
        session_key => "MSAL_SESSION_KEY";
        /// `MSAL_SESSION_OLD_KEYS`: earlier session keys, comma separated, for reading.
        session_old_keys => "MSAL_SESSION_OLD_KEYS";
        /// `MSAL_GRAPH_URL`: Microsoft Graph's base URL.
        graph_url => "MSAL_GRAPH_URL";
    }

    /// `MSAL_CLIENT_CAPABILITIES`: client capabilities to announce, such as `cp1` (the app
    /// handles claims challenges, so Entra may issue Continuous Access Evaluation tokens).
    /// Each is one name of letters, digits and `_`.
    ///
    /// ```
    /// let config = msal_runtime::MsalConfig::builder()
    ///     .client_id("11111111-2222-4333-8444-555555555555")
    ///     .tenant_id("contoso.onmicrosoft.com")
    ///     .client_capabilities(["cp1"])
    ///     .build()?;
    /// assert_eq!(config.client_capabilities, ["cp1"]);
    /// # Ok::<(), msal_runtime::config::ConfigError>(())
    /// ```
    pub fn client_capabilities(
        mut self,
        capabilities: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let capabilities: Vec<String> = capabilities.into_iter().map(Into::into).collect();
        // Joined into the variable's list form, a name holding a separator would read as
        // two: say so instead.
        for capability in &capabilities {
            if !validator::is_capability(capability) {
                self.problems.push(ConfigProblem {
                    variable: Some("MSAL_CLIENT_CAPABILITIES"),
                    source: Some(Source::Code),
                    message: format!(
                        "'{capability}' is not a client capability: each is one name of letters, digits and '_', such as cp1"
                    ),
                });
            }
        }
        let valid: Vec<String> = capabilities
            .into_iter()
            .filter(|c| validator::is_capability(c))
            .collect();
        self.set("MSAL_CLIENT_CAPABILITIES", valid.join(" "))
    }

    /// `MSAL_SESSION_LIFETIME`.
    pub fn session_lifetime(self, lifetime: Duration) -> Self {
        self.set("MSAL_SESSION_LIFETIME", format!("{}s", lifetime.as_secs()))
    }

    /// `MSAL_MEMORY_SESSIONS_MAX`: with the memory store, the most sessions (and apart the
    /// most pending sign-ins) it keeps; the least recently used make room.
    ///
    /// ```
    /// let builder = msal_runtime::MsalConfig::builder().memory_sessions_max(10_000);
    /// # let _ = builder;
    /// ```
    pub fn memory_sessions_max(self, max: u64) -> Self {
        self.set("MSAL_MEMORY_SESSIONS_MAX", max.to_string())
    }

    /// `MSAL_CLOCK_SKEW`.
    pub fn clock_skew(self, skew: Duration) -> Self {
        self.set("MSAL_CLOCK_SKEW", format!("{}s", skew.as_secs()))
    }

    /// `MSAL_ACCEPT_UNSCOPED_TOKENS`.
    pub fn accept_unscoped_tokens(self, accept: bool) -> Self {
        self.set("MSAL_ACCEPT_UNSCOPED_TOKENS", accept.to_string())
    }

    /// `MSAL_ROLES_FROM_ANY_TENANT`: a multi-tenant app without `MSAL_ALLOWED_TENANTS`
    /// trusts app roles and application permissions from any tenant. Only for apps that
    /// scope every role by the tenant (`tid`) themselves.
    ///
    /// ```
    /// let builder = msal_runtime::MsalConfig::builder().roles_from_any_tenant(true);
    /// ```
    pub fn roles_from_any_tenant(self, trust: bool) -> Self {
        self.set("MSAL_ROLES_FROM_ANY_TENANT", trust.to_string())
    }

    /// `MSAL_JWKS_COOLDOWN`.
    pub fn jwks_cooldown(self, cooldown: Duration) -> Self {
        self.set("MSAL_JWKS_COOLDOWN", format!("{}s", cooldown.as_secs()))
    }

    /// `MSAL_HTTP_TIMEOUT`: the time limit of every outbound call.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = msal_runtime::MsalConfig::builder().http_timeout(Duration::from_secs(5));
    /// ```
    pub fn http_timeout(self, timeout: Duration) -> Self {
        self.set("MSAL_HTTP_TIMEOUT", format!("{}ms", timeout.as_millis()))
    }

    /// `MSAL_RESPONSE_MODE`.
    pub fn response_mode(self, mode: ResponseMode) -> Self {
        let text = match mode {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
        };
        self.set("MSAL_RESPONSE_MODE", text.into())
    }

    /// `MSAL_TOKEN_AUTH_METHOD`.
    pub fn token_auth_method(self, method: TokenAuthMethod) -> Self {
        let text = match method {
            TokenAuthMethod::ClientSecretPost => "client_secret_post",
            TokenAuthMethod::ClientSecretBasic => "client_secret_basic",
        };
        self.set("MSAL_TOKEN_AUTH_METHOD", text.into())
    }

    /// Fills what code did not set from the environment, then `.env`, then the secrets
    /// directory.
    pub fn with_env(self) -> Self {
        self.with_sources(&Sources::process())
    }

    pub(crate) fn with_sources(mut self, sources: &Sources) -> Self {
        for message in sources.fill(&mut self.values, &VARIABLES) {
            self.problems.push(ConfigProblem {
                variable: None,
                source: None,
                message,
            });
        }
        self
    }

    /// Where `variable`'s value comes from (code, the environment, `.env`, the secrets
    /// directory), or `None` when no source mentions it: the same sources
    /// [`MsalConfig::from_env`] reads, so an app can tell "configured" from "not configured"
    /// as the configuration will. A variable set to a blank value counts as configured
    /// (someone meant to set it), and [`build`](Self::build) then says it is not set.
    ///
    /// ```
    /// use msal_runtime::MsalConfig;
    /// let builder = MsalConfig::builder().client_id("11111111-2222-4333-8444-555555555555");
    /// assert!(builder.source_of("MSAL_CLIENT_ID").is_some());
    /// assert!(builder.source_of("MSAL_CLIENT_SECRET").is_none());
    /// let blank = MsalConfig::builder().client_id("  ");
    /// assert!(blank.source_of("MSAL_CLIENT_ID").is_some());
    /// ```
    pub fn source_of(&self, variable: &str) -> Option<Source> {
        self.values.get(variable).map(|(_, source)| *source)
    }

    /// Validates everything and reports every problem at once.
    pub fn build(self) -> Result<MsalConfig, ConfigError> {
        Validator {
            values: self.values,
            problems: self.problems,
        }
        .run()
    }
}
