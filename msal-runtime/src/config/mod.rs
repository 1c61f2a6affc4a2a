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
//! | `MSAL_AUTHORITY` | full authority (a B2C one too, custom domain included: `https://login.contoso.com/{tenant}/{policy}`) or any OIDC issuer, matched exactly as written (a trailing `/` included); excludes the two above | — |
//! | `MSAL_B2C_POLICY` | B2C user flow / policy, with `MSAL_INSTANCE` + `MSAL_TENANT_ID` | — |
//! | `MSAL_PUBLIC_URL` | the app's public base URL (behind a proxy) | from the request |
//! | `MSAL_REDIRECT_URI` | redirect URI, if not `{public url}{prefix}/callback` | derived |
//! | `MSAL_POST_LOGOUT_REDIRECT_URI` | where the provider returns after sign-out | `{public url}/` |
//! | `MSAL_SCOPES` | extra sign-in scopes (space or comma separated) | none |
//! | `MSAL_CLIENT_CAPABILITIES` | client capabilities announced to Entra, such as `cp1` (Continuous Access Evaluation: the app handles claims challenges), comma or space separated | none |
//! | `MSAL_ALLOWED_TENANTS` | tenant ids allowed to sign in (comma separated) | any |
//! | `MSAL_ROLES_FROM_ANY_TENANT` | multi-tenant apps: trust app roles from any tenant (the app scopes every role by `tid`) | `false` |
//! | `MSAL_B2C_ALLOWED_POLICIES` | B2C: further user flows whose tokens are accepted (comma separated) | only `MSAL_B2C_POLICY` |
//! | `MSAL_SESSION_STORE` | `memory`, or Redis: `redis://…`, `rediss://…` (TLS), `redis-cluster://host:port?node=host:port…`, `rediss-cluster://…` | `memory` |
//! | `MSAL_REDIS_CA_FILE` | PEM file of the private CA a TLS Redis's certificate is signed by; then the only CA trusted | the webpki-roots public CAs |
//! | `MSAL_MEMORY_SESSIONS_MAX` | with the memory store: most sessions kept, and apart most pending sign-ins (the least recently used make room) | `100000` |
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
mod builder;
mod problems;
mod redis;
mod sources;
mod validator;

pub use builder::MsalConfigBuilder;
pub use problems::{ConfigError, ConfigProblem};
#[cfg(feature = "redis")]
pub use redis::RedisCa;
#[cfg(feature = "redis")]
pub(crate) use redis::{
    is_cluster as redis_is_cluster, is_tls as redis_is_tls, without_tls as redis_without_tls,
};
use validator::Validator;

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

pub use authority::{Authority, DEFAULT_INSTANCE, Issuer, Tenant};
pub(crate) use authority::{
    IssuerRule, is_ciam_issuer, is_guid, is_loopback_http, parse_url as parse_endpoint,
    tenant_of_issuer, trim,
};
use sources::RawValues;
pub use sources::Source;
pub(crate) use sources::Sources;

/// Every variable the configuration reads.
pub(crate) const VARIABLES: [&str; 32] = [
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
    "MSAL_CLIENT_CAPABILITIES",
    "MSAL_ALLOWED_TENANTS",
    "MSAL_ROLES_FROM_ANY_TENANT",
    "MSAL_B2C_ALLOWED_POLICIES",
    "MSAL_SESSION_STORE",
    "MSAL_REDIS_CA_FILE",
    "MSAL_SESSION_LIFETIME",
    "MSAL_MEMORY_SESSIONS_MAX",
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
    /// `redis`): one server or a Redis Cluster, over TLS when the scheme is `rediss` or
    /// `rediss-cluster`.
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
    /// Client capabilities the app announces to the identity provider
    /// (`MSAL_CLIENT_CAPABILITIES`), such as `cp1`: it can handle claims challenges, so Entra
    /// may issue Continuous Access Evaluation tokens. Empty: none announced.
    pub client_capabilities: Vec<String>,
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
    /// The only CA trusted for a TLS Redis (`MSAL_REDIS_CA_FILE`); `None` trusts the public
    /// CAs of webpki-roots.
    #[cfg(feature = "redis")]
    pub redis_ca: Option<RedisCa>,
    /// Inactivity expiry of a session.
    pub session_lifetime: Duration,
    /// With the memory store: the most signed-in sessions it keeps, and apart the most
    /// pending sign-ins (`MSAL_MEMORY_SESSIONS_MAX`); the least recently used make room.
    pub memory_sessions_max: u64,
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

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod redis_tests;
#[cfg(test)]
mod tests;
