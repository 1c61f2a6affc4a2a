//! Configuration: [`MsalConfig`], built in code or read from `MSAL_*` variables (environment,
//! `.env`, secrets directory), validated all at once.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `MSAL_CLIENT_ID` | application (client) id | required |
//! | `MSAL_CLIENT_SECRET` | client secret | none (public client) |
//! | `MSAL_CLIENT_CERTIFICATE` | PEM file (or PEM text) with the certificate and its key; excludes the secret | none |
//! | `MSAL_TENANT_ID` | tenant id, domain, `common`, `organizations` or `consumers` | — |
//! | `MSAL_INSTANCE` | cloud instance (or B2C host) | `https://login.microsoftonline.com` |
//! | `MSAL_AUTHORITY` | full authority or any OIDC issuer URL; excludes the two above | — |
//! | `MSAL_B2C_POLICY` | B2C user flow / policy, with `MSAL_INSTANCE` + `MSAL_TENANT_ID` | — |
//! | `MSAL_PUBLIC_URL` | the app's public base URL (behind a proxy) | from the request |
//! | `MSAL_REDIRECT_URI` | redirect URI, if not `{public url}{prefix}/callback` | derived |
//! | `MSAL_POST_LOGOUT_REDIRECT_URI` | where the provider returns after sign-out | `{public url}/` |
//! | `MSAL_SCOPES` | extra sign-in scopes (space or comma separated) | none |
//! | `MSAL_ALLOWED_TENANTS` | tenant ids allowed to sign in (comma separated) | any |
//! | `MSAL_ROLES_FROM_ANY_TENANT` | multi-tenant apps: trust app roles from any tenant (the app scopes every role by `tid`) | `false` |
//! | `MSAL_B2C_ALLOWED_POLICIES` | B2C: further user flows whose tokens are accepted (comma separated) | only `MSAL_B2C_POLICY` |
//! | `MSAL_SESSION_STORE` | `memory` or `redis://…` | `memory` |
//! | `MSAL_SESSION_LIFETIME` | inactivity expiry: `3600`, `90m`, `8h`, `1d` (at most `400d`) | `8h` |
//! | `MSAL_COOKIE_NAME` | session cookie name | `msal_session` |
//! | `MSAL_ROUTE_PREFIX` | prefix of the sign-in routes | `/auth` |
//! | `MSAL_RESPONSE_MODE` | `query` or `form_post` | `query` |
//! | `MSAL_TOKEN_AUTH_METHOD` | `client_secret_post` or `client_secret_basic` | `client_secret_post` |
//! | `MSAL_CLOCK_SKEW` | allowed clock skew for token times (at most 15m) | `5m` |
//! | `MSAL_SESSION_KEY` | 32-byte key (base64) sealing the tokens in each session record | none (tokens stored as is) |
//! | `MSAL_SESSION_OLD_KEYS` | earlier keys, comma separated, still accepted for reading | none |
//! | `MSAL_GRAPH_URL` | Microsoft Graph's base URL | `https://graph.microsoft.com/v1.0` |
//! | `MSAL_AUDIENCE` | accepted `aud` of bearer tokens (comma separated) | client id, `api://{client id}` |
//! | `MSAL_ACCEPT_UNSCOPED_TOKENS` | accept bearer tokens with neither `scp` nor `roles` | `false` |
//! | `MSAL_JWKS_COOLDOWN` | least time between key refetches for an unknown `kid` (at least 1s) | `5m` |
//! | `MSAL_HTTP_TIMEOUT` | time limit of every call to the provider and to downstream APIs | `15s` |
//! | `MSAL_SECRETS_DIR` | directory of secret files (`msal_client_secret`, …) | `/run/secrets` |

mod authority;
mod sources;

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

pub use authority::{Authority, DEFAULT_INSTANCE, Tenant};
pub(crate) use authority::{
    IssuerRule, is_ciam_issuer, is_guid, is_loopback_http, parse_url as parse_endpoint,
    tenant_of_issuer, trim,
};
use sources::RawValues;
pub use sources::Source;
pub(crate) use sources::Sources;

/// Every variable the configuration reads.
pub(crate) const VARIABLES: [&str; 29] = [
    "MSAL_CLIENT_ID",
    "MSAL_CLIENT_SECRET",
    "MSAL_CLIENT_CERTIFICATE",
    "MSAL_TENANT_ID",
    "MSAL_INSTANCE",
    "MSAL_AUTHORITY",
    "MSAL_B2C_POLICY",
    "MSAL_PUBLIC_URL",
    "MSAL_REDIRECT_URI",
    "MSAL_POST_LOGOUT_REDIRECT_URI",
    "MSAL_SCOPES",
    "MSAL_ALLOWED_TENANTS",
    "MSAL_ROLES_FROM_ANY_TENANT",
    "MSAL_B2C_ALLOWED_POLICIES",
    "MSAL_SESSION_STORE",
    "MSAL_SESSION_LIFETIME",
    "MSAL_COOKIE_NAME",
    "MSAL_ROUTE_PREFIX",
    "MSAL_RESPONSE_MODE",
    "MSAL_TOKEN_AUTH_METHOD",
    "MSAL_CLOCK_SKEW",
    "MSAL_JWKS_COOLDOWN",
    "MSAL_HTTP_TIMEOUT",
    "MSAL_AUDIENCE",
    "MSAL_ACCEPT_UNSCOPED_TOKENS",
    "MSAL_SESSION_KEY",
    "MSAL_SESSION_OLD_KEYS",
    "MSAL_GRAPH_URL",
    "MSAL_SECRETS_DIR",
];

/// Variables whose values never appear in errors or `Debug`.
pub(crate) const SECRET_VARIABLES: [&str; 5] = [
    "MSAL_CLIENT_SECRET",
    "MSAL_CLIENT_CERTIFICATE",
    "MSAL_SESSION_STORE",
    "MSAL_SESSION_KEY",
    "MSAL_SESSION_OLD_KEYS",
];

/// How the app proves its identity at the token endpoint.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientCredential {
    /// A client secret. `Debug` shows `[REDACTED]`.
    Secret(SecretString),
    /// A certificate: each token request carries a `private_key_jwt` assertion signed PS256
    /// with its key and naming it by its SHA-256 thumbprint (`x5t#S256`).
    Certificate(ClientCertificate),
}

/// A client certificate and its private key. `Debug` shows only the thumbprint.
#[derive(Clone)]
pub struct ClientCertificate {
    pub(crate) key_pem: SecretString,
    pub(crate) thumbprint: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// Reads PEM text holding the certificate (`CERTIFICATE`) and its RSA private key
    /// (`PRIVATE KEY` or `RSA PRIVATE KEY`), in either order.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use base64::Engine as _;
        use sha2::{Digest, Sha256};
        let block = |label: &str| -> Option<String> {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let start = pem.find(&begin)?;
            let stop = pem[start..].find(&end)? + start + end.len();
            Some(pem[start..stop].to_owned())
        };
        let certificate = block("CERTIFICATE").ok_or(
            "has no -----BEGIN CERTIFICATE----- block: put the certificate and its key in one PEM",
        )?;
        let key = block("PRIVATE KEY")
            .or_else(|| block("RSA PRIVATE KEY"))
            .ok_or("has no private key block (-----BEGIN PRIVATE KEY-----)")?;
        jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|e| format!("its private key is not a usable RSA key: {e}"))?;
        let body: String = certificate
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|_| "its certificate block is not base64")?;
        Ok(Self {
            key_pem: SecretString::from(key),
            thumbprint: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(&der)),
        })
    }

    /// The certificate's SHA-256 thumbprint, base64url (`x5t#S256`).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }
}

/// Where sessions (and the token cache) live.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStoreKind {
    /// In this process; the default. Sessions end when it stops.
    Memory,
    /// Redis, shared by every instance of the app behind a load balancer (cargo feature
    /// `redis`).
    #[cfg(feature = "redis")]
    Redis(Url),
}

impl fmt::Debug for SessionStoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionStoreKind::Memory => f.write_str("Memory"),
            #[cfg(feature = "redis")]
            SessionStoreKind::Redis(url) => {
                let mut shown = url.clone();
                if url.password().is_some() {
                    // Cannot fail: the URL already has a password, so it has a host.
                    let _ = shown.set_password(Some("[REDACTED]"));
                }
                f.debug_tuple("Redis").field(&shown.as_str()).finish()
            }
        }
    }
}

/// How the provider returns the authorization response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResponseMode {
    /// A top-level GET back to the app: the `SameSite=Lax` session cookie comes along.
    #[default]
    Query,
    /// A cross-site POST: needs the short-lived `SameSite=None; Secure` pre-auth cookie.
    FormPost,
}

/// Client authentication at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenAuthMethod {
    /// `client_id` and `client_secret` in the form body.
    #[default]
    ClientSecretPost,
    /// HTTP Basic authentication.
    ClientSecretBasic,
}

/// The validated configuration. Build it with [`MsalConfig::builder`] or
/// [`MsalConfig::from_env`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use msal_runtime::config::MsalConfig;
/// let config = MsalConfig::builder()
///     .client_id("11111111-2222-4333-8444-555555555555")
///     .client_secret("s3cret")
///     .tenant_id("contoso.onmicrosoft.com")
///     .public_url("https://app.contoso.com")
///     .build()?;
/// assert_eq!(
///     config.redirect_uri().map(String::from).as_deref(),
///     Some("https://app.contoso.com/auth/callback")
/// );
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MsalConfig {
    /// Application (client) id.
    pub client_id: String,
    /// The client credential; `None` for a public client.
    pub client_credential: Option<ClientCredential>,
    /// Where users sign in.
    pub authority: Authority,
    /// Public base URL of the app, if configured.
    pub public_url: Option<Url>,
    /// Explicit redirect URI, if configured.
    pub explicit_redirect_uri: Option<Url>,
    /// Explicit post-logout redirect URI, if configured.
    pub explicit_post_logout_redirect_uri: Option<Url>,
    /// Extra scopes asked for at sign-in (beyond `openid profile offline_access`).
    pub scopes: Vec<String>,
    /// Tenant ids allowed to sign in; empty means any the authority lets through.
    pub allowed_tenants: Vec<String>,
    /// A multi-tenant app trusts app roles and application permissions from any tenant
    /// (`MSAL_ROLES_FROM_ANY_TENANT`): it scopes every role by `tid` itself.
    pub roles_from_any_tenant: bool,
    /// With a B2C authority, the user flows (policies) whose tokens are accepted: the
    /// configured one and `MSAL_B2C_ALLOWED_POLICIES`, lower case. Empty otherwise.
    pub b2c_policies: Vec<String>,
    /// Where sessions live.
    pub session_store: SessionStoreKind,
    /// Inactivity expiry of a session.
    pub session_lifetime: Duration,
    /// Session cookie name.
    pub cookie_name: String,
    /// Prefix of the sign-in routes, e.g. `/auth`.
    pub route_prefix: String,
    /// How the authorization response comes back.
    pub response_mode: ResponseMode,
    /// Client authentication at the token endpoint.
    pub token_auth_method: TokenAuthMethod,
    /// Allowed clock skew for `exp`, `nbf` and `iat`.
    pub clock_skew: Duration,
    /// Least time between two fetches of the provider's keys for an unknown `kid`.
    pub jwks_cooldown: Duration,
    /// Time limit of every outbound call (discovery, keys, token endpoint, Graph): a
    /// provider that hangs costs a request at most this long.
    pub http_timeout: Duration,
    /// Accepted `aud` values of bearer tokens.
    pub audiences: Vec<String>,
    /// Accept bearer tokens that carry neither `scp` nor `roles`.
    pub accept_unscoped_tokens: bool,
    /// Keys sealing the tokens of each session: the first seals, all open.
    pub session_keys: Vec<SessionKey>,
    /// Microsoft Graph's base URL, for the Graph helper.
    pub graph_url: Url,
}

/// A 32-byte key for sealing the token part of session records (ChaCha20-Poly1305). `Debug`
/// shows only its id.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey {
    pub(crate) bytes: [u8; 32],
    /// Derived once: every sealed session read compares against it.
    id: String,
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.id())
    }
}

impl SessionKey {
    /// A key from 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        use sha2::{Digest, Sha256};
        let id = Sha256::digest(bytes)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self { bytes, id }
    }

    /// Reads standard or URL-safe base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        use base64::Engine as _;
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| "is not base64: make one with `openssl rand -base64 32`".to_owned())?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "is {} bytes; a session key is 32 (`openssl rand -base64 32`)",
                b.len()
            )
        })?;
        Ok(Self::new(bytes))
    }

    /// A short public id: which key sealed a record, without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl MsalConfig {
    /// A builder with nothing set.
    pub fn builder() -> MsalConfigBuilder {
        MsalConfigBuilder::default()
    }

    /// Reads `MSAL_*` from the environment, `.env` in the working directory and the secrets
    /// directory (in that order of precedence), and validates the result.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().with_env().build()
    }

    /// The redirect URI: explicit, or `{public url}{prefix}/callback`; `None` when neither is
    /// configured (it is then derived from each request's `Host`).
    pub fn redirect_uri(&self) -> Option<Url> {
        self.explicit_redirect_uri.clone().or_else(|| {
            let base = self.public_url.as_ref()?;
            Url::parse(&format!("{}{}/callback", trim(base), self.route_prefix)).ok()
        })
    }

    /// Whether the session cookie is marked `Secure`: always, except for a public URL on
    /// plain http loopback (local development and tests).
    pub fn secure_cookies(&self) -> bool {
        !self
            .public_url
            .as_ref()
            .or(self.explicit_redirect_uri.as_ref())
            .is_some_and(authority::is_loopback_http)
    }

    /// The client secret, if the credential is one.
    pub(crate) fn client_secret(&self) -> Option<&SecretString> {
        match &self.client_credential {
            Some(ClientCredential::Secret(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether any tenant's users can sign in: a multi-tenant authority (`common`,
    /// `organizations`, Entra's `{tenantid}` template) with no `MSAL_ALLOWED_TENANTS`. In
    /// this mode an admin of any tenant can consent to the app and assign its app roles.
    pub fn any_tenant_signs_in(&self) -> bool {
        matches!(
            self.authority.issuer_rule(),
            IssuerRule::TenantTemplate { .. }
        ) && self.allowed_tenants.is_empty()
    }

    /// The client certificate, if the credential is one.
    pub(crate) fn client_certificate(&self) -> Option<&ClientCertificate> {
        match &self.client_credential {
            Some(ClientCredential::Certificate(c)) => Some(c),
            _ => None,
        }
    }
}

/// One thing wrong with the configuration, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The variable at fault, if one is.
    pub variable: Option<&'static str>,
    /// Where its value came from.
    pub source: Option<Source>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.variable, self.source) {
            (Some(v), Some(s)) => write!(f, "{v} (from {s}): {}", self.message),
            (Some(v), None) => write!(f, "{v}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Everything wrong with a configuration, reported at once. Its `Debug` is its `Display`
/// (`{:#?}` shows the structure), so `?` out of `main` prints every problem and its fix.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.debug_struct("ConfigError")
                .field("problems", &self.problems)
                .finish()
        } else {
            fmt::Display::fmt(self, f)
        }
    }
}

impl ConfigError {
    /// One problem with one variable.
    pub(crate) fn single(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![ConfigProblem {
                variable: Some(variable),
                source: None,
                message: message.into(),
            }],
        }
    }

    /// Each problem found.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid msal configuration ({} problem",
            self.problems.len()
        )?;
        if self.problems.len() != 1 {
            f.write_str("s")?;
        }
        f.write_str("):")?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

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
    fn set(mut self, name: &'static str, value: String) -> Self {
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
        /// `MSAL_SESSION_STORE`: `memory` or a `redis://` URL.
        session_store => "MSAL_SESSION_STORE";
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

    /// `MSAL_SESSION_LIFETIME`.
    pub fn session_lifetime(self, lifetime: Duration) -> Self {
        self.set("MSAL_SESSION_LIFETIME", format!("{}s", lifetime.as_secs()))
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

/// Reads typed values out of the raw ones, collecting problems instead of stopping.
struct Validator {
    values: RawValues,
    problems: Vec<ConfigProblem>,
}

impl Validator {
    fn get(&self, name: &'static str) -> Option<&str> {
        self.values
            .get(name)
            .map(|(v, _)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn problem(&mut self, name: &'static str, message: impl Into<String>) {
        let source = self.values.get(name).map(|(_, s)| *s);
        self.problems.push(ConfigProblem {
            variable: Some(name),
            source,
            message: message.into(),
        });
    }

    /// Parses an optional value; a parse failure becomes a problem and `None`.
    fn parse<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.get(name)?.to_owned();
        match f(&text) {
            Ok(v) => Some(v),
            Err(message) => {
                self.problem(name, message);
                None
            }
        }
    }

    fn run(mut self) -> Result<MsalConfig, ConfigError> {
        let client_id = self.get("MSAL_CLIENT_ID").map(str::to_owned);
        if client_id.is_none() {
            self.problem(
                "MSAL_CLIENT_ID",
                "is not set: use the Application (client) ID of your app registration",
            );
        }
        let certificate = self.parse("MSAL_CLIENT_CERTIFICATE", |t| {
            let pem = if t.contains("-----BEGIN") {
                t.to_owned()
            } else {
                // The value may be a mangled PEM rather than a path: never echo it.
                std::fs::read_to_string(t).map_err(|e| {
                    format!("is neither PEM text nor the path of a readable file ({e})")
                })?
            };
            ClientCertificate::from_pem(&pem)
        });
        if certificate.is_some() && self.get("MSAL_CLIENT_SECRET").is_some() {
            self.problem(
                "MSAL_CLIENT_CERTIFICATE",
                "and MSAL_CLIENT_SECRET are both set: use one client credential",
            );
        }
        let client_credential = certificate.map(ClientCredential::Certificate).or_else(|| {
            self.get("MSAL_CLIENT_SECRET")
                .map(|s| ClientCredential::Secret(SecretString::from(s.to_owned())))
        });
        let authority = self.authority();
        let public_url = self.parse("MSAL_PUBLIC_URL", authority::parse_url);
        let explicit_redirect_uri = self.parse("MSAL_REDIRECT_URI", |t| {
            let url = authority::parse_url(t)?;
            if url.fragment().is_some() {
                return Err("a redirect URI must not have a #fragment".into());
            }
            Ok(url)
        });
        let explicit_post_logout_redirect_uri =
            self.parse("MSAL_POST_LOGOUT_REDIRECT_URI", authority::parse_url);
        let scopes: Vec<String> = self.get("MSAL_SCOPES").map(split_list).unwrap_or_default();
        let allowed_tenants: Vec<String> = self
            .parse("MSAL_ALLOWED_TENANTS", |t| {
                let list = split_list(t);
                match list.iter().find(|t| !is_guid(t)) {
                    Some(bad) => Err(format!(
                        "'{bad}' is not a tenant id: list tenant GUIDs (the `tid` claim), comma separated"
                    )),
                    None => Ok(list.iter().map(|t| t.to_ascii_lowercase()).collect()),
                }
            })
            .unwrap_or_default();
        if let Some(Authority::Entra {
            tenant: Tenant::Id(id),
            ..
        }) = &authority
            && !allowed_tenants.is_empty()
            && !allowed_tenants.contains(id)
        {
            self.problem(
                "MSAL_ALLOWED_TENANTS",
                format!("does not include the configured tenant {id}, so nobody could sign in"),
            );
        }
        let session_store = self
            .parse("MSAL_SESSION_STORE", |t| {
                if t.eq_ignore_ascii_case("memory") {
                    return Ok(SessionStoreKind::Memory);
                }
                match Url::parse(t) {
                    #[cfg(feature = "redis")]
                    Ok(url) if matches!(url.scheme(), "redis" | "rediss") => {
                        Ok(SessionStoreKind::Redis(url))
                    }
                    #[cfg(not(feature = "redis"))]
                    Ok(url) if matches!(url.scheme(), "redis" | "rediss") => Err(
                        "is a Redis URL, but this build has no Redis support: enable \
                         msal-runtime's cargo feature `redis` (msal-runtime = { version = \
                         \"…\", features = [\"redis\"] }), or use 'memory'"
                            .into(),
                    ),
                    _ => Err("must be 'memory' or a redis:// (or rediss://) URL".into()),
                }
            })
            .unwrap_or(SessionStoreKind::Memory);
        let session_lifetime = self
            .parse("MSAL_SESSION_LIFETIME", |t| {
                let d = parse_duration(t)?;
                if d.is_zero() || d > Duration::from_secs(400 * 86400) {
                    return Err(
                        "must be longer than zero and at most 400d (browsers cap cookies there)"
                            .into(),
                    );
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(8 * 3600));
        let cookie_name = self
            .parse("MSAL_COOKIE_NAME", |t| {
                let token = t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if token {
                    Ok(t.to_owned())
                } else {
                    Err(format!(
                        "'{t}' is not a valid cookie name: use letters, digits, '-' and '_'"
                    ))
                }
            })
            .unwrap_or_else(|| "msal_session".to_owned());
        let route_prefix = self
            .parse("MSAL_ROUTE_PREFIX", |t| {
                let ok = t.starts_with('/')
                    && t.len() > 1
                    && !t.ends_with('/')
                    && !t.contains(['?', '#', ' ', '{', '}', '*', ':']);
                if ok {
                    Ok(t.to_owned())
                } else {
                    Err(format!("'{t}' must be a path like '/auth': a leading '/', no trailing '/', no query"))
                }
            })
            .unwrap_or_else(|| "/auth".to_owned());
        let response_mode = self
            .parse("MSAL_RESPONSE_MODE", |t| match t {
                "query" => Ok(ResponseMode::Query),
                "form_post" => Ok(ResponseMode::FormPost),
                _ => Err(format!("'{t}' must be 'query' or 'form_post'")),
            })
            .unwrap_or_default();
        let token_auth_method = self
            .parse("MSAL_TOKEN_AUTH_METHOD", |t| match t {
                "client_secret_post" => Ok(TokenAuthMethod::ClientSecretPost),
                "client_secret_basic" => Ok(TokenAuthMethod::ClientSecretBasic),
                _ => Err(format!(
                    "'{t}' must be 'client_secret_post' or 'client_secret_basic'"
                )),
            })
            .unwrap_or_default();
        if self.get("MSAL_TOKEN_AUTH_METHOD").is_some()
            && !matches!(client_credential, Some(ClientCredential::Secret(_)))
        {
            self.problem(
                "MSAL_TOKEN_AUTH_METHOD",
                "needs a client secret: set MSAL_CLIENT_SECRET",
            );
        }
        let clock_skew = self
            .parse("MSAL_CLOCK_SKEW", |t| {
                let d = parse_duration(t)?;
                if d > Duration::from_secs(15 * 60) {
                    return Err(
                        "must be at most 15m: a larger skew accepts long-expired tokens".into(),
                    );
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(300));
        let jwks_cooldown = self
            .parse("MSAL_JWKS_COOLDOWN", |t| {
                let d = parse_duration(t)?;
                if d < Duration::from_secs(1) {
                    return Err(
                        "must be at least 1s: a shorter cooldown lets random key ids make this app fetch the keys on every request"
                            .into(),
                    );
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(300));
        let http_timeout = self
            .parse("MSAL_HTTP_TIMEOUT", |t| {
                let d = parse_duration(t)?;
                if d.is_zero() || d > Duration::from_secs(300) {
                    return Err("must be more than zero and at most 5m".into());
                }
                Ok(d)
            })
            .unwrap_or(Duration::from_secs(15));
        let audiences = self
            .get("MSAL_AUDIENCE")
            .map(split_list)
            .or_else(|| {
                client_id
                    .as_ref()
                    .map(|id| vec![id.clone(), format!("api://{id}")])
            })
            .unwrap_or_default();
        let mut session_keys: Vec<SessionKey> = self
            .parse("MSAL_SESSION_KEY", SessionKey::parse)
            .into_iter()
            .collect();
        if let Some(old) = self.get("MSAL_SESSION_OLD_KEYS").map(split_list) {
            for key in old {
                match SessionKey::parse(&key) {
                    Ok(k) => session_keys.push(k),
                    Err(e) => self.problem("MSAL_SESSION_OLD_KEYS", format!("an entry {e}")),
                }
            }
            if self.get("MSAL_SESSION_KEY").is_none() {
                self.problem(
                    "MSAL_SESSION_OLD_KEYS",
                    "needs MSAL_SESSION_KEY: the current key seals, old keys only open",
                );
            }
        }
        let graph_url = self
            .parse("MSAL_GRAPH_URL", authority::parse_url)
            .or_else(|| Url::parse("https://graph.microsoft.com/v1.0").ok());
        let accept_unscoped_tokens = self
            .parse("MSAL_ACCEPT_UNSCOPED_TOKENS", parse_bool)
            .unwrap_or(false);
        let roles_from_any_tenant = self
            .parse("MSAL_ROLES_FROM_ANY_TENANT", parse_bool)
            .unwrap_or(false);
        let extra_policies = self.get("MSAL_B2C_ALLOWED_POLICIES").map(split_list);
        let b2c_policies = match &authority {
            Some(Authority::B2c { policy, .. }) => std::iter::once(policy.clone())
                .chain(extra_policies.unwrap_or_default())
                .map(|p| p.to_ascii_lowercase())
                .collect(),
            _ => {
                if extra_policies.is_some() {
                    self.problem(
                        "MSAL_B2C_ALLOWED_POLICIES",
                        "needs a B2C authority: set MSAL_B2C_POLICY (with MSAL_INSTANCE and MSAL_TENANT_ID)",
                    );
                }
                Vec::new()
            }
        };

        match (client_id, authority, graph_url, self.problems.is_empty()) {
            (Some(client_id), Some(authority), Some(graph_url), true) => Ok(MsalConfig {
                client_id,
                client_credential,
                authority,
                public_url,
                explicit_redirect_uri,
                explicit_post_logout_redirect_uri,
                scopes,
                allowed_tenants,
                roles_from_any_tenant,
                b2c_policies,
                session_store,
                session_lifetime,
                cookie_name,
                route_prefix,
                response_mode,
                token_auth_method,
                clock_skew,
                jwks_cooldown,
                http_timeout,
                audiences,
                accept_unscoped_tokens,
                session_keys,
                graph_url,
            }),
            _ => Err(ConfigError {
                problems: self.problems,
            }),
        }
    }

    fn authority(&mut self) -> Option<Authority> {
        let full = self.get("MSAL_AUTHORITY").map(str::to_owned);
        let tenant = self.get("MSAL_TENANT_ID").map(str::to_owned);
        let instance = self.get("MSAL_INSTANCE").map(str::to_owned);
        let policy = self.get("MSAL_B2C_POLICY").map(str::to_owned);
        if let Some(full) = full {
            let mut conflict = false;
            for other in ["MSAL_TENANT_ID", "MSAL_INSTANCE", "MSAL_B2C_POLICY"] {
                if self.get(other).is_some() {
                    conflict = true;
                    self.problem(
                        other,
                        "conflicts with MSAL_AUTHORITY: set either a full MSAL_AUTHORITY, or MSAL_INSTANCE + MSAL_TENANT_ID (+ MSAL_B2C_POLICY)",
                    );
                }
            }
            let parsed = self.parse("MSAL_AUTHORITY", |_| Authority::parse(&full));
            return parsed.filter(|_| !conflict);
        }
        let Some(tenant) = tenant else {
            self.problem(
                "MSAL_TENANT_ID",
                "is not set, and neither is MSAL_AUTHORITY: set MSAL_TENANT_ID to a tenant id, a domain, 'common', 'organizations' or 'consumers', or MSAL_AUTHORITY to a full authority or OpenID Connect issuer URL",
            );
            return None;
        };
        let instance_url = match instance {
            None => Url::parse(DEFAULT_INSTANCE).ok(),
            Some(_) => self.parse("MSAL_INSTANCE", |t| {
                let url = authority::parse_url(t)?;
                if url.path() != "/" || url.query().is_some() {
                    return Err(format!(
                        "'{t}' must be only scheme and host (like https://login.microsoftonline.com); put the tenant in MSAL_TENANT_ID"
                    ));
                }
                Ok(url)
            }),
        }?;
        if tenant.contains(['/', '?', '#', ' ']) {
            self.problem(
                "MSAL_TENANT_ID",
                format!("'{tenant}' must be one path segment: a tenant id, a domain, 'common', 'organizations' or 'consumers'"),
            );
            return None;
        }
        Some(match policy {
            Some(policy) => Authority::B2c {
                instance: instance_url,
                tenant,
                policy,
            },
            None => Authority::Entra {
                instance: instance_url,
                tenant: Tenant::parse(&tenant),
            },
        })
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("'{text}' must be true or false")),
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split([',', ' ', '\t', '\n'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `3600`, `3600s`, `90m`, `8h`, `1d`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration: use seconds (3600) or 90m, 8h, 1d"))?;
    if unit == "ms" {
        return Ok(Duration::from_millis(n));
    }
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "'{text}' has unknown unit '{unit}': use ms, s, m, h or d"
            ));
        }
    };
    let secs = n
        .checked_mul(scale)
        .ok_or_else(|| format!("'{text}' is too long a duration"))?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
