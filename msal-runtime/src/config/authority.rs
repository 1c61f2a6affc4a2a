//! Where users sign in: Entra ID (a tenant, or `common`/`organizations`/`consumers`), Azure AD
//! B2C (tenant + user flow), External ID (CIAM), or any OpenID Connect issuer.

use url::Url;

/// Microsoft's global cloud, the default Entra instance.
pub const DEFAULT_INSTANCE: &str = "https://login.microsoftonline.com";

/// The tenant segment of an Entra authority.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tenant {
    /// A tenant id (GUID): tokens must come from exactly this tenant.
    Id(String),
    /// A verified domain (`contoso.onmicrosoft.com`): resolved to its tenant id by discovery.
    Domain(String),
    /// Any work or school account, or any personal Microsoft account.
    Common,
    /// Any work or school account.
    Organizations,
    /// Personal Microsoft accounts only.
    Consumers,
}

impl Tenant {
    /// Reads `MSAL_TENANT_ID`-style text.
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "common" => Tenant::Common,
            "organizations" => Tenant::Organizations,
            "consumers" => Tenant::Consumers,
            _ if is_guid(text) => Tenant::Id(text.to_ascii_lowercase()),
            _ => Tenant::Domain(text.to_owned()),
        }
    }

    /// The path segment.
    pub fn segment(&self) -> &str {
        match self {
            Tenant::Id(s) | Tenant::Domain(s) => s,
            Tenant::Common => "common",
            Tenant::Organizations => "organizations",
            Tenant::Consumers => "consumers",
        }
    }
}

/// Where users sign in.
///
/// ```
/// # fn main() -> Result<(), String> {
/// use msal_runtime::config::{Authority, Tenant};
/// let entra = Authority::parse("https://login.microsoftonline.com/contoso.onmicrosoft.com")?;
/// assert!(matches!(entra, Authority::Entra { tenant: Tenant::Domain(_), .. }));
/// let any = Authority::parse("https://accounts.example.com")?;
/// assert_eq!(any.discovery_url().as_str(), "https://accounts.example.com/.well-known/openid-configuration");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authority {
    /// Entra ID: `{instance}/{tenant}`, metadata at `{instance}/{tenant}/v2.0/.well-known/...`.
    Entra {
        /// `https://login.microsoftonline.com` or a sovereign cloud (or a TestIdp base URL).
        instance: Url,
        /// The tenant segment.
        tenant: Tenant,
    },
    /// Azure AD B2C: `{instance}/{tenant}/{policy}`.
    B2c {
        /// `https://{name}.b2clogin.com` or a custom domain.
        instance: Url,
        /// `{name}.onmicrosoft.com` or the tenant id.
        tenant: String,
        /// The user flow or custom policy, e.g. `B2C_1_signupsignin`.
        policy: String,
    },
    /// Microsoft Entra External ID (CIAM): `https://{name}.ciamlogin.com/{tenant}`, where the
    /// tenant defaults to `{name}.onmicrosoft.com`.
    Ciam {
        /// `https://{name}.ciamlogin.com`.
        instance: Url,
        /// The tenant domain or id.
        tenant: String,
    },
    /// Any OpenID Connect issuer: metadata at `{issuer}/.well-known/openid-configuration`.
    Issuer(Issuer),
}

/// An OpenID Connect issuer identifier, kept exactly as configured: the discovery
/// document's `issuer` and every token's `iss` must equal it character for character
/// (OpenID Connect Discovery §4.3), a trailing `/` included. Auth0 writes
/// `https://tenant.auth0.com/`, Google `https://accounts.google.com`; a URL parser would make
/// both end in `/`, so the text is kept beside the parsed URL.
///
/// ```
/// # fn main() -> Result<(), String> {
/// use msal_runtime::config::Issuer;
/// let auth0 = Issuer::parse("https://tenant.auth0.com/")?;
/// assert_eq!(auth0.as_str(), "https://tenant.auth0.com/");
/// assert_eq!(Issuer::parse("https://accounts.google.com")?.as_str(), "https://accounts.google.com");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer {
    url: Url,
    text: String,
}

impl Issuer {
    /// Reads an issuer: an https URL (http only on loopback) without query or fragment,
    /// kept as written (surrounding whitespace aside).
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = parse_url(text)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "'{text}' has a query or fragment, which an OpenID Connect issuer never has: use the provider's issuer as its discovery document names it"
            ));
        }
        Ok(Self {
            url,
            text: text.trim().to_owned(),
        })
    }

    /// The issuer identifier, exactly as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The issuer as a parsed URL (normalized: an empty path becomes `/`).
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl std::fmt::Display for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Authority {
    /// Reads a full authority or issuer URL: Entra hosts become [`Authority::Entra`],
    /// `*.b2clogin.com/{tenant}/{policy}` becomes [`Authority::B2c`], and so does a B2C
    /// custom domain's `https://login.contoso.com/{tenant}/{policy}` (a policy is named
    /// `B2C_1_…` or `B2C_1A_…`; `/tfp/` before the tenant and `/v2.0` after the policy are
    /// allowed); `*.ciamlogin.com` becomes [`Authority::Ciam`]; anything else is an OpenID
    /// Connect issuer, kept exactly as written ([`Issuer`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = parse_url(text)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let instance = origin(&url)?;
        if ENTRA_HOSTS.contains(&host.as_str()) {
            return match segments.as_slice() {
                [tenant] | [tenant, "v2.0"] => Ok(Authority::Entra {
                    instance,
                    tenant: Tenant::parse(tenant),
                }),
                _ => Err(format!(
                    "'{text}' is an Entra host but not an authority: expected {instance}<tenant id, domain, common or organizations>"
                )),
            };
        }
        if let Some(name) = host.strip_suffix(".ciamlogin.com") {
            let tenant = match segments.as_slice() {
                [] => format!("{name}.onmicrosoft.com"),
                [tenant] | [tenant, "v2.0"] => (*tenant).to_owned(),
                _ => {
                    return Err(format!(
                        "'{text}' is an External ID host but not an authority: expected {instance} or {instance}<tenant>"
                    ));
                }
            };
            return Ok(Authority::Ciam { instance, tenant });
        }
        // A B2C authority: on `*.b2clogin.com`, or on a custom domain (login.contoso.com),
        // which only its path tells apart, since B2C names every user flow `B2C_1_…` and every
        // custom policy `B2C_1A_…`. Either is the same authority as MSAL_INSTANCE +
        // MSAL_TENANT_ID + MSAL_B2C_POLICY would give.
        let b2c_host = host.ends_with(".b2clogin.com");
        let path = match segments.as_slice() {
            // MSAL's older form, `{instance}/tfp/{tenant}/{policy}`.
            ["tfp", rest @ ..] if b2c_host || rest.iter().any(|s| is_b2c_policy(s)) => rest,
            all => all,
        };
        if b2c_host || path.iter().any(|s| is_b2c_policy(s)) {
            let expected = format!(
                "expected {instance}<tenant>.onmicrosoft.com/<policy> or {instance}<tenant id>/<policy>"
            );
            return match path {
                [tenant, policy] | [tenant, policy, "v2.0"]
                    if b2c_host || is_b2c_policy(policy) =>
                {
                    // On a custom domain the shape is all that says B2C: a tenant that is
                    // neither a domain nor an id says it is something else.
                    if !(b2c_host || is_guid(tenant) || tenant.contains('.')) {
                        return Err(format!(
                            "'{text}' looks like a B2C authority on a custom domain, but its tenant '{tenant}' is neither a domain nor a tenant id: {expected}"
                        ));
                    }
                    Ok(Authority::B2c {
                        instance,
                        tenant: (*tenant).to_owned(),
                        policy: (*policy).to_owned(),
                    })
                }
                _ if b2c_host => Err(format!(
                    "'{text}' is a B2C host but not a B2C authority: {expected}"
                )),
                _ => Err(format!(
                    "'{text}' names a B2C policy but is not a B2C authority: {expected} (a policy is named B2C_1_… or B2C_1A_…)"
                )),
            };
        }
        Ok(Authority::Issuer(Issuer::parse(text)?))
    }

    /// The OpenID Connect discovery document's URL.
    pub fn discovery_url(&self) -> Url {
        let text = match self {
            Authority::Entra { instance, tenant } => format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                trim(instance),
                tenant.segment()
            ),
            Authority::B2c {
                instance,
                tenant,
                policy,
            } => format!(
                "{}/{tenant}/{policy}/v2.0/.well-known/openid-configuration",
                trim(instance)
            ),
            Authority::Ciam { instance, tenant } => format!(
                "{}/{tenant}/v2.0/.well-known/openid-configuration",
                trim(instance)
            ),
            // Discovery §4.1: the issuer without its terminating `/`, then the well-known path.
            Authority::Issuer(issuer) => format!(
                "{}/.well-known/openid-configuration",
                issuer.as_str().trim_end_matches('/')
            ),
        };
        // Every part above came from a parsed URL; joining them keeps it one.
        Url::parse(&text).unwrap_or_else(|_| self.base().clone())
    }

    fn base(&self) -> &Url {
        match self {
            Authority::Entra { instance, .. }
            | Authority::B2c { instance, .. }
            | Authority::Ciam { instance, .. } => instance,
            Authority::Issuer(issuer) => issuer.url(),
        }
    }

    /// Where an Entra, B2C or External ID authority's endpoints must be: its own origin.
    /// Discovery naming a token endpoint, key set or sign-out endpoint elsewhere would send
    /// the client secret, assertions and refresh tokens (or fetch the signing keys) from a
    /// host this authority does not name. `None` for a generic OpenID Connect issuer, whose
    /// endpoints may live on other hosts.
    pub(crate) fn endpoint_origin(&self) -> Option<url::Origin> {
        match self {
            Authority::Entra { instance, .. }
            | Authority::B2c { instance, .. }
            | Authority::Ciam { instance, .. } => Some(instance.origin()),
            Authority::Issuer(_) => None,
        }
    }

    /// Whether the authority is served over plain `http` on a loopback host (tests, TestIdp).
    pub fn is_loopback_http(&self) -> bool {
        is_loopback_http(self.base())
    }

    /// Where Entra's v1 tokens say they come from (`https://sts.windows.net`), for an Entra
    /// authority in a public or national cloud, whose v1 issuers are known. `None` for other
    /// providers (no v1 tokens) and for a custom Entra instance (a TestIdp, a proxy): its v1
    /// issuer is on a host of its own, which discovery learns from the instance's v1
    /// metadata, `{instance}/{tenant}/.well-known/openid-configuration`.
    pub(crate) fn v1_issuer_base(&self) -> Option<String> {
        let Authority::Entra { instance, .. } = self else {
            return None;
        };
        match instance.host_str().unwrap_or_default() {
            "login.microsoftonline.com" | "login.microsoftonline.us" => {
                Some("https://sts.windows.net".to_owned())
            }
            "login.chinacloudapi.cn" | "login.partner.microsoftonline.cn" => {
                Some("https://sts.chinacloudapi.cn".to_owned())
            }
            _ => None,
        }
    }

    /// The issuer rule tokens must satisfy, before discovery refines it.
    pub(crate) fn issuer_rule(&self) -> IssuerRule {
        match self {
            Authority::Entra {
                instance,
                tenant: Tenant::Id(id),
            } => IssuerRule::Exact(format!("{}/{id}/v2.0", trim(instance))),
            Authority::Entra {
                instance,
                tenant: Tenant::Common | Tenant::Organizations,
            } => IssuerRule::TenantTemplate {
                template: format!("{}/{{tenantid}}/v2.0", trim(instance)),
            },
            Authority::Entra {
                instance,
                tenant: Tenant::Consumers,
            } => IssuerRule::Exact(format!("{}/{CONSUMERS_TENANT_ID}/v2.0", trim(instance))),
            Authority::Entra {
                instance,
                tenant: Tenant::Domain(_),
            } => IssuerRule::FromDiscovery {
                prefix: format!("{}/", trim(instance)),
            },
            Authority::B2c { instance, .. } => IssuerRule::FromDiscovery {
                prefix: format!("{}/", trim(instance)),
            },
            // External ID's issuer is https://{tenant id}.ciamlogin.com/{tenant id}/v2.0, or
            // under the authority's own name: https://{name}.ciamlogin.com/{tenant id}/v2.0.
            Authority::Ciam { instance, .. } => IssuerRule::Ciam {
                name: instance
                    .host_str()
                    .and_then(|h| h.strip_suffix(".ciamlogin.com"))
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
            },
            // Exactly as configured: a trailing `/` is part of the issuer (Auth0 writes one).
            Authority::Issuer(issuer) => IssuerRule::Exact(issuer.as_str().to_owned()),
        }
    }
}

/// How the issuer of discovery and tokens is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IssuerRule {
    /// Exactly this issuer.
    Exact(String),
    /// Entra's multi-tenant template: `{tenantid}` stands for the token's `tid`.
    TenantTemplate { template: String },
    /// Whatever discovery says, if it starts with this prefix; exact from then on.
    FromDiscovery { prefix: String },
    /// External ID's shape, `https://{tenant id or name}.ciamlogin.com/{tenant id}/v2.0`, with
    /// the authority's own `name`; exact from then on.
    Ciam { name: String },
}

impl IssuerRule {
    /// Whether a token's issuer (and tenant) fits this rule, without discovery: what a
    /// stored session is checked against.
    pub(crate) fn admits(&self, iss: &str, tid: Option<&str>) -> bool {
        match self {
            IssuerRule::Exact(expected) => expected == iss,
            IssuerRule::TenantTemplate { template } => {
                tid.is_some_and(|tid| is_guid(tid) && template.replace("{tenantid}", tid) == iss)
            }
            IssuerRule::FromDiscovery { prefix } => iss.starts_with(prefix.as_str()),
            IssuerRule::Ciam { name } => is_ciam_issuer(iss, name),
        }
    }
}

/// The tenant an issuer names: its last path segment, before a trailing `/v2.0`. Entra's v2
/// `https://login.microsoftonline.com/{tenant}/v2.0`, its v1 `https://sts.windows.net/{tenant}/`,
/// External ID's `https://{name}.ciamlogin.com/{tenant}/v2.0`. `None` for an issuer without
/// a path. The one place a tenant is read off an issuer; whether it is one is for the caller.
pub(crate) fn tenant_of_issuer(iss: &str) -> Option<&str> {
    let rest = iss.split_once("://").map_or(iss, |(_, rest)| rest);
    let (_, path) = rest.split_once('/')?;
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix("/v2.0").unwrap_or(path);
    path.rsplit('/').next().filter(|tenant| !tenant.is_empty())
}

/// `https://{tenant id}.ciamlogin.com/{tenant id}/v2.0`, or the same under the authority's
/// own `name` (`https://{name}.ciamlogin.com/{tenant id}/v2.0`): the shapes of External ID's
/// issuers. Nothing else, whatever a discovery document says.
pub(crate) fn is_ciam_issuer(iss: &str, name: &str) -> bool {
    let Some(rest) = iss.strip_prefix("https://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    let Some(sub) = host.strip_suffix(".ciamlogin.com") else {
        return false;
    };
    let Some(tenant) = tenant_of_issuer(iss) else {
        return false;
    };
    path.strip_suffix("/v2.0") == Some(tenant)
        && is_guid(tenant)
        && (sub.eq_ignore_ascii_case(tenant)
            || (!name.is_empty() && sub.eq_ignore_ascii_case(name)))
}

/// The tenant id Entra uses for personal Microsoft accounts.
pub(crate) const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

const ENTRA_HOSTS: [&str; 4] = [
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
];

/// A B2C user flow (`B2C_1_…`) or custom policy (`B2C_1A_…`), in any case.
fn is_b2c_policy(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    ["b2c_1a_", "b2c_1_"].iter().any(|prefix| {
        lower
            .strip_prefix(prefix)
            .is_some_and(|name| !name.is_empty())
    })
}

/// `8-4-4-4-12` hex digits.
pub(crate) fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(crate) fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("'{text}' is not a URL ({e})"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_http(&url) => Ok(url),
        "http" => Err(format!(
            "'{text}' uses http: only https is allowed, except on loopback (127.0.0.1, localhost, [::1])"
        )),
        other => Err(format!("'{text}' has scheme '{other}': use https")),
    }
}

pub(crate) fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

fn origin(url: &Url) -> Result<Url, String> {
    Url::parse(&url.origin().ascii_serialization())
        .map_err(|e| format!("'{url}' has no usable origin ({e})"))
}

/// The URL without a trailing slash.
pub(crate) fn trim(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}
