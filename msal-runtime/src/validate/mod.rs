//! Token validation: the provider's keys (cached by `kid`, refetched at most once per
//! cooldown for an unknown `kid`, last-known-good kept on failure), Entra's issuer rules, the
//! checks of ID tokens and access tokens, and the cache of validated bearer tokens.

mod cache;
#[cfg(test)]
mod hostile_tests;
mod keys;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::config::{IssuerRule, is_ciam_issuer, is_guid};
use crate::error::untrusted;

pub(crate) use cache::TokenCache;
use keys::Family;
pub(crate) use keys::KeyCache;
#[cfg(feature = "fuzzing")]
pub(crate) use keys::KeySet;

/// How a token's issuer is checked, once discovery has confirmed the provider's issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ResolvedIssuer {
    /// Exactly this `iss`.
    Exact(String),
    /// Entra's multi-tenant template: `{tenantid}` replaced by the token's `tid` (a GUID).
    Template(String),
}

impl ResolvedIssuer {
    /// Checks the discovery document's `issuer` against the configured rule.
    pub(crate) fn from_discovery(rule: &IssuerRule, discovered: &str) -> Result<Self, String> {
        // What the document says goes into messages (and logs) escaped.
        let shown = untrusted(discovered);
        match rule {
            IssuerRule::Exact(expected) if expected == discovered => {
                Ok(ResolvedIssuer::Exact(discovered.to_owned()))
            }
            IssuerRule::Exact(expected) => Err(format!(
                "the discovery document names issuer '{shown}', but this authority's issuer is '{expected}'"
            )),
            IssuerRule::TenantTemplate { template } if template == discovered => {
                Ok(ResolvedIssuer::Template(discovered.to_owned()))
            }
            IssuerRule::TenantTemplate { template } => Err(format!(
                "the discovery document names issuer '{shown}', expected the template '{template}'"
            )),
            IssuerRule::FromDiscovery { prefix } if discovered.starts_with(prefix.as_str()) => {
                Ok(ResolvedIssuer::Exact(discovered.to_owned()))
            }
            IssuerRule::FromDiscovery { prefix } => Err(format!(
                "the discovery document names issuer '{shown}', which is not under '{prefix}'"
            )),
            IssuerRule::Ciam { name } if is_ciam_issuer(discovered, name) => {
                Ok(ResolvedIssuer::Exact(discovered.to_owned()))
            }
            IssuerRule::Ciam { .. } => Err(format!(
                "the discovery document names issuer '{shown}', which does not have External ID's shape https://{{tenant id or name}}.ciamlogin.com/{{tenant id}}/v2.0"
            )),
        }
    }

    /// The issuer a token of tenant `tid` would carry under this rule.
    pub(crate) fn expected(&self, tid: Option<&str>) -> String {
        match self {
            ResolvedIssuer::Exact(iss) => iss.clone(),
            ResolvedIssuer::Template(t) => t.replace("{tenantid}", tid.unwrap_or_default()),
        }
    }

    /// Checks a token's `iss` (and, for the template, its `tid`).
    pub(crate) fn check(&self, iss: &str, tid: Option<&str>) -> Result<(), String> {
        match self {
            ResolvedIssuer::Exact(expected) if expected == iss => Ok(()),
            ResolvedIssuer::Exact(expected) => Err(format!(
                "issuer '{}' is not the expected '{expected}'",
                untrusted(iss)
            )),
            ResolvedIssuer::Template(template) => {
                let tid = tid.ok_or("the token has no 'tid' to check its issuer against")?;
                if !is_guid(tid) {
                    return Err(format!("'tid' '{}' is not a tenant id", untrusted(tid)));
                }
                let expected = template.replace("{tenantid}", tid);
                if expected == iss {
                    Ok(())
                } else {
                    Err(format!(
                        "issuer '{}' does not match tenant '{tid}' (expected '{expected}')",
                        untrusted(iss)
                    ))
                }
            }
        }
    }
}

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ValidationError {
    /// The keys could not be fetched and none are known: not the token's fault.
    #[error("the provider's signing keys cannot be fetched: {0}")]
    KeysUnavailable(String),
    /// Anything wrong with the token itself.
    #[error("{0}")]
    Invalid(String),
}

pub(super) fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::Invalid(message.into())
}

/// What an ID token must match.
pub(crate) struct IdTokenExpectations<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) issuer: &'a ResolvedIssuer,
    /// The sign-in's nonce; `None` for a refreshed ID token, which may omit it.
    pub(crate) nonce: Option<&'a str>,
    pub(crate) skew: Duration,
    pub(crate) allowed_tenants: &'a [String],
    /// With a B2C authority, the user flows whose tokens are accepted (lower case).
    pub(crate) b2c_policies: &'a [String],
}

/// What an access token for this API must match.
pub(crate) struct AccessTokenExpectations<'a> {
    /// Accepted `aud` values (default: the client id and `api://{client id}`).
    pub(crate) audiences: &'a [String],
    /// v2 issuer rule.
    pub(crate) issuer: &'a ResolvedIssuer,
    /// v1 issuer rule (Entra's `https://sts.windows.net/{tid}/`), where there is one.
    pub(crate) v1_issuer: Option<&'a ResolvedIssuer>,
    pub(crate) skew: Duration,
    pub(crate) allowed_tenants: &'a [String],
    /// With a B2C authority, the user flows whose tokens are accepted (lower case).
    pub(crate) b2c_policies: &'a [String],
    /// Accept tokens that carry neither `scp` nor `roles`.
    pub(crate) allow_no_permissions: bool,
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The checks every token gets: algorithm allow-list, key by `kid`, signature, `aud`,
/// `exp`/`nbf`/`iat` with skew, issuer rules, the key's own `issuer`, the tenant allow-list.
struct Checks<'a> {
    what: &'static str,
    audiences: &'a [&'a str],
    issuers: &'a [&'a ResolvedIssuer],
    skew: Duration,
    allowed_tenants: &'a [String],
    b2c_policies: &'a [String],
}

/// The JOSE header parameters this library implements as critical extensions: none. A
/// `crit` header naming anything (RFC 7515 §4.1.11) is refused.
const UNDERSTOOD_CRITICAL: [&str; 0] = [];

/// Refuses a token whose header is not a JSON object or lists critical extensions this
/// library does not implement (`crit`); jsonwebtoken ignores `crit`.
fn check_critical(raw: &str, what: &str) -> Result<(), ValidationError> {
    use base64::Engine as _;
    let malformed = || invalid(format!("the {what}'s header is malformed"));
    let encoded = raw.split('.').next().ok_or_else(malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| malformed())?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    match header.get("crit") {
        None => Ok(()),
        Some(Value::Array(names))
            if !names.is_empty()
                && names
                    .iter()
                    .all(|n| n.as_str().is_some_and(|n| UNDERSTOOD_CRITICAL.contains(&n))) =>
        {
            Ok(())
        }
        Some(_) => Err(invalid(format!(
            "the {what} marks header parameters critical ('crit') that this app does not implement"
        ))),
    }
}

async fn verify(
    keys: &Arc<KeyCache>,
    raw: &str,
    c: &Checks<'_>,
) -> Result<Map<String, Value>, ValidationError> {
    let what = c.what;
    let header = jsonwebtoken::decode_header(raw).map_err(|_| {
        invalid(format!(
            "the {what} is malformed or uses an algorithm that is never accepted (such as 'none')"
        ))
    })?;
    let family = match header.alg {
        Algorithm::RS256 | Algorithm::PS256 => Family::Rsa,
        Algorithm::ES256 => Family::Ec,
        other => {
            return Err(invalid(format!(
                "the {what} uses {other:?}; only RS256, PS256 and ES256 are accepted"
            )));
        }
    };
    check_critical(raw, what)?;
    let key = keys.key(header.kid.as_deref()).await?;
    if key.family != family || key.alg.is_some_and(|alg| alg != header.alg) {
        // A key published for one algorithm verifies no other (RFC 7517 §4.4).
        return Err(invalid(format!(
            "the {what}'s algorithm does not fit its key"
        )));
    }
    let mut validation = Validation::new(header.alg);
    validation.leeway = c.skew.as_secs();
    validation.validate_nbf = true;
    validation.set_audience(c.audiences);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(raw, &key.decoding, &validation)
        .map_err(|e| invalid(describe(what, e.kind())))?
        .claims;

    // jsonwebtoken skips an `nbf` (or `exp`) that is not a plain number as if it were
    // absent: a time claim must be whole seconds since 1970, or the token is refused.
    for name in ["exp", "nbf", "iat"] {
        if claims
            .get(name)
            .is_some_and(|v| v.as_i64().is_none_or(|n| n < 0))
        {
            return Err(invalid(format!(
                "the {what}'s '{name}' is not a number of seconds"
            )));
        }
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let iss = text("iss").unwrap_or_default();
    let tid = text("tid");
    let mut matched = Err(String::new());
    for rule in c.issuers {
        matched = rule.check(iss, tid);
        if matched.is_ok() {
            break;
        }
    }
    matched.map_err(invalid)?;
    if let Some(key_issuer) = &key.issuer {
        // Entra publishes the v2 issuer on its keys; a v1 token of the same tenant fits too.
        let key_issuer = key_issuer.replace("{tenantid}", tid.unwrap_or_default());
        let v2_of_token = c.issuers.first().map(|r| r.expected(tid));
        if key_issuer != iss && Some(&key_issuer) != v2_of_token.as_ref() {
            return Err(invalid(format!(
                "the signing key belongs to issuer '{}', not '{}'",
                untrusted(&key_issuer),
                untrusted(iss)
            )));
        }
    }
    let iat = match claims.get("iat") {
        None => return Err(invalid(format!("the {what} has no 'iat'"))),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| invalid(format!("the {what}'s 'iat' is not a number")))?,
    };
    if iat > now().saturating_add(skew_secs(c.skew)) {
        return Err(invalid(format!(
            "the {what} was issued in the future ('iat')"
        )));
    }
    if !c.allowed_tenants.is_empty() {
        let tid = tid.unwrap_or_default().to_ascii_lowercase();
        if !c.allowed_tenants.contains(&tid) {
            return Err(invalid(format!(
                "tenant '{}' is not allowed",
                untrusted(&tid)
            )));
        }
    }
    if !c.b2c_policies.is_empty() {
        // Every user flow of a B2C tenant shares its issuer: the policy claim tells a
        // token of the configured flow from one of a weaker flow (self sign-up, no MFA).
        let policy = text("tfp").or_else(|| text("acr"));
        match policy {
            Some(p) if c.b2c_policies.contains(&p.to_ascii_lowercase()) => {}
            Some(p) => {
                return Err(invalid(format!(
                    "the {what} comes from the user flow '{}', which this app does not accept",
                    untrusted(p)
                )));
            }
            None => {
                return Err(invalid(format!(
                    "the {what} names no user flow ('tfp' or 'acr')"
                )));
            }
        }
    }
    Ok(claims)
}

/// A clock skew in whole seconds, as time claims count.
fn skew_secs(skew: Duration) -> i64 {
    i64::try_from(skew.as_secs()).unwrap_or(i64::MAX)
}

/// Verifies an ID token and returns its claims.
pub(crate) async fn validate_id_token(
    keys: &Arc<KeyCache>,
    raw: &str,
    expect: &IdTokenExpectations<'_>,
) -> Result<Map<String, Value>, ValidationError> {
    let claims = verify(
        keys,
        raw,
        &Checks {
            what: "ID token",
            audiences: &[expect.client_id],
            issuers: &[expect.issuer],
            skew: expect.skew,
            allowed_tenants: expect.allowed_tenants,
            b2c_policies: expect.b2c_policies,
        },
    )
    .await?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if expect.nonce.is_some() && text("nonce") != expect.nonce {
        return Err(invalid(
            "the ID token's nonce does not match this sign-in (a replayed or foreign token)",
        ));
    }
    let several_audiences = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 1);
    match text("azp") {
        Some(azp) if azp != expect.client_id => {
            return Err(invalid(format!(
                "'azp' '{}' is not this app",
                untrusted(azp)
            )));
        }
        None if several_audiences => {
            return Err(invalid("the ID token has several audiences but no 'azp'"));
        }
        _ => {}
    }
    Ok(claims)
}

/// What kind of access token validated claims are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccessKind {
    /// Delegated: a user, with `scp`.
    User,
    /// App-only: client credentials, with `roles` as application permissions.
    App,
}

/// Verifies an access token for this API and says whose it is.
pub(crate) async fn validate_access_token(
    keys: &Arc<KeyCache>,
    raw: &str,
    expect: &AccessTokenExpectations<'_>,
) -> Result<(Map<String, Value>, AccessKind), ValidationError> {
    let audiences: Vec<&str> = expect.audiences.iter().map(String::as_str).collect();
    let mut issuers = vec![expect.issuer];
    issuers.extend(expect.v1_issuer);
    let claims = verify(
        keys,
        raw,
        &Checks {
            what: "access token",
            audiences: &audiences,
            issuers: &issuers,
            skew: expect.skew,
            allowed_tenants: expect.allowed_tenants,
            b2c_policies: expect.b2c_policies,
        },
    )
    .await?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let has_roles = claims
        .get("roles")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    let client = text("azp").or_else(|| text("appid"));
    if text("scp").is_some_and(|s| !s.trim().is_empty()) {
        return Ok((claims, AccessKind::User));
    }
    // An ID token has the same audience as a v2 access token; it names no client and may
    // carry a nonce. It proves a sign-in, not a right to call this API.
    if client.is_none() || claims.contains_key("nonce") {
        return Err(invalid(
            "an ID token is not an access token: send the access token for this API",
        ));
    }
    let app_only =
        text("idtyp") == Some("app") || (text("oid").is_some() && text("oid") == text("sub"));
    if has_roles && app_only {
        return Ok((claims, AccessKind::App));
    }
    if expect.allow_no_permissions {
        return Ok((
            claims,
            if app_only {
                AccessKind::App
            } else {
                AccessKind::User
            },
        ));
    }
    Err(invalid(
        "the access token grants nothing: it has neither 'scp' (delegated scopes) nor 'roles' (application permissions)",
    ))
}

fn describe(what: &str, kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => format!("the {what} has expired ('exp')"),
        K::ImmatureSignature => format!("the {what} is not valid yet ('nbf')"),
        K::InvalidAudience => format!("the {what} is for another audience ('aud')"),
        K::InvalidSignature => format!("the {what}'s signature does not verify"),
        K::InvalidAlgorithm => format!("the {what}'s algorithm does not fit its key"),
        K::MissingRequiredClaim(claim) => format!("the {what} has no '{claim}'"),
        _ => format!("the {what} is malformed"),
    }
}

#[cfg(test)]
mod tests;
