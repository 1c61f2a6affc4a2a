//! Token validation: the provider's keys (cached by `kid`, refetched at most once per
//! cooldown for an unknown `kid`, last-known-good kept on failure), Entra's issuer rules, and
//! the checks of an ID token.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use url::Url;

use crate::config::{IssuerRule, is_guid};

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
        match rule {
            IssuerRule::Exact(expected) if expected == discovered => {
                Ok(ResolvedIssuer::Exact(discovered.to_owned()))
            }
            IssuerRule::Exact(expected) => Err(format!(
                "the discovery document names issuer '{discovered}', but this authority's issuer is '{expected}'"
            )),
            IssuerRule::TenantTemplate { template } if template == discovered => {
                Ok(ResolvedIssuer::Template(discovered.to_owned()))
            }
            IssuerRule::TenantTemplate { template } => Err(format!(
                "the discovery document names issuer '{discovered}', expected the template '{template}'"
            )),
            IssuerRule::FromDiscovery { prefix } if discovered.starts_with(prefix.as_str()) => {
                Ok(ResolvedIssuer::Exact(discovered.to_owned()))
            }
            IssuerRule::FromDiscovery { prefix } => Err(format!(
                "the discovery document names issuer '{discovered}', which is not under '{prefix}'"
            )),
        }
    }

    /// Checks a token's `iss` (and, for the template, its `tid`).
    pub(crate) fn check(&self, iss: &str, tid: Option<&str>) -> Result<(), String> {
        match self {
            ResolvedIssuer::Exact(expected) if expected == iss => Ok(()),
            ResolvedIssuer::Exact(expected) => {
                Err(format!("issuer '{iss}' is not the expected '{expected}'"))
            }
            ResolvedIssuer::Template(template) => {
                let tid = tid.ok_or("the token has no 'tid' to check its issuer against")?;
                if !is_guid(tid) {
                    return Err(format!("'tid' {tid:?} is not a tenant id"));
                }
                let expected = template.replace("{tenantid}", tid);
                if expected == iss {
                    Ok(())
                } else {
                    Err(format!(
                        "issuer '{iss}' does not match tenant '{tid}' (expected '{expected}')"
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

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::Invalid(message.into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Rsa,
    Ec,
}

struct Key {
    kid: Option<String>,
    family: Family,
    decoding: DecodingKey,
    /// Entra's per-key `issuer` attribute, checked where present.
    issuer: Option<String>,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<Arc<Key>>,
}

impl KeySet {
    /// Parses a JWKS, skipping keys that are not usable signing keys.
    fn parse(body: &[u8]) -> Result<Self, String> {
        let doc: Value =
            serde_json::from_slice(body).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the JWKS has no 'keys' array")?;
        let keys = entries
            .iter()
            .filter_map(|k| {
                let text = |name: &str| k.get(name).and_then(Value::as_str);
                if text("use").is_some_and(|u| u != "sig") {
                    return None;
                }
                let (family, decoding) = match text("kty")? {
                    "RSA" => (
                        Family::Rsa,
                        DecodingKey::from_rsa_components(text("n")?, text("e")?).ok()?,
                    ),
                    "EC" if text("crv") == Some("P-256") => (
                        Family::Ec,
                        DecodingKey::from_ec_components(text("x")?, text("y")?).ok()?,
                    ),
                    _ => return None,
                };
                Some(Arc::new(Key {
                    kid: text("kid").map(str::to_owned),
                    family,
                    decoding,
                    issuer: text("issuer").map(str::to_owned),
                }))
            })
            .collect();
        Ok(Self { keys })
    }

    /// The key for this `kid`. Without a `kid`, only a JWKS of exactly one key names it.
    fn find(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .cloned(),
            None if self.keys.len() == 1 => self.keys.first().cloned(),
            None => None,
        }
    }
}

/// The provider's signing keys. Readers never wait on a lock; an unknown `kid` triggers at
/// most one fetch per cooldown, shared by every request that needs it.
pub(crate) struct KeyCache {
    http: reqwest::Client,
    uri: Url,
    keys: ArcSwap<KeySet>,
    /// When the keys were last fetched; holding the lock is being the one fetching.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    cooldown: Duration,
}

impl KeyCache {
    pub(crate) fn new(http: reqwest::Client, uri: Url, cooldown: Duration) -> Self {
        Self {
            http,
            uri,
            keys: ArcSwap::from_pointee(KeySet::default()),
            last_fetch: tokio::sync::Mutex::new(None),
            cooldown,
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .http
            .get(self.uri.clone())
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.uri))?;
        if !response.status().is_success() {
            return Err(format!("GET {}: HTTP {}", self.uri, response.status()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("GET {}: {e}", self.uri))?;
        KeySet::parse(&body)
    }

    async fn key(&self, kid: Option<&str>) -> Result<Arc<Key>, ValidationError> {
        if let Some(key) = self.keys.load().find(kid) {
            return Ok(key);
        }
        let mut last = self.last_fetch.lock().await;
        // Whoever held the lock before may have fetched what we need.
        if let Some(key) = self.keys.load().find(kid) {
            return Ok(key);
        }
        let have_keys = !self.keys.load().keys.is_empty();
        if have_keys && last.is_some_and(|t| t.elapsed() < self.cooldown) {
            return Err(unknown_key(kid));
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(set) => {
                tracing::debug!(keys = set.keys.len(), uri = %self.uri, "fetched signing keys");
                self.keys.store(Arc::new(set));
            }
            Err(e) if have_keys => {
                tracing::warn!(error = %e, "refetching signing keys failed; keeping the last known good ones");
                return Err(unknown_key(kid));
            }
            Err(e) => return Err(ValidationError::KeysUnavailable(e)),
        }
        self.keys.load().find(kid).ok_or_else(|| unknown_key(kid))
    }
}

fn unknown_key(kid: Option<&str>) -> ValidationError {
    match kid {
        Some(kid) => invalid(format!(
            "the token is signed with key '{kid}', which the provider does not publish"
        )),
        None => invalid("the token names no key ('kid') and the provider publishes several"),
    }
}

/// What an ID token must match.
pub(crate) struct IdTokenExpectations<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) issuer: &'a ResolvedIssuer,
    pub(crate) nonce: &'a str,
    pub(crate) skew: Duration,
    pub(crate) allowed_tenants: &'a [String],
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Verifies an ID token and returns its claims.
pub(crate) async fn validate_id_token(
    keys: &KeyCache,
    raw: &str,
    expect: &IdTokenExpectations<'_>,
) -> Result<Map<String, Value>, ValidationError> {
    let header = jsonwebtoken::decode_header(raw)
        .map_err(|_| invalid("the ID token is malformed or uses an algorithm that is never accepted (such as 'none')"))?;
    let family = match header.alg {
        Algorithm::RS256 | Algorithm::PS256 => Family::Rsa,
        Algorithm::ES256 => Family::Ec,
        other => {
            return Err(invalid(format!(
                "the ID token uses {other:?}; only RS256, PS256 and ES256 are accepted"
            )));
        }
    };
    let key = keys.key(header.kid.as_deref()).await?;
    if key.family != family {
        return Err(invalid("the ID token's algorithm does not fit its key"));
    }
    let mut validation = Validation::new(header.alg);
    validation.leeway = expect.skew.as_secs();
    validation.validate_nbf = true;
    validation.set_audience(&[expect.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(raw, &key.decoding, &validation)
        .map_err(|e| invalid(describe(e.kind())))?
        .claims;

    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let iss = text("iss").unwrap_or_default();
    let tid = text("tid");
    expect.issuer.check(iss, tid).map_err(invalid)?;
    if let Some(key_issuer) = &key.issuer {
        let key_issuer = key_issuer.replace("{tenantid}", tid.unwrap_or_default());
        if key_issuer != iss {
            return Err(invalid(format!(
                "the signing key belongs to issuer '{key_issuer}', not '{iss}'"
            )));
        }
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("'iat' is not a number"))?;
    if iat > now() + expect.skew.as_secs() as i64 {
        return Err(invalid("the ID token was issued in the future ('iat')"));
    }
    if text("nonce") != Some(expect.nonce) {
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
            return Err(invalid(format!("'azp' {azp:?} is not this app")));
        }
        None if several_audiences => {
            return Err(invalid("the ID token has several audiences but no 'azp'"));
        }
        _ => {}
    }
    if !expect.allowed_tenants.is_empty() {
        let tid = tid.unwrap_or_default().to_ascii_lowercase();
        if !expect.allowed_tenants.contains(&tid) {
            return Err(invalid(format!(
                "tenant '{tid}' is not allowed to sign in to this app"
            )));
        }
    }
    Ok(claims)
}

fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "the ID token has expired ('exp')".into(),
        K::ImmatureSignature => "the ID token is not valid yet ('nbf')".into(),
        K::InvalidAudience => "the ID token is for another app ('aud')".into(),
        K::InvalidSignature => "the ID token's signature does not verify".into(),
        K::InvalidAlgorithm => "the ID token's algorithm does not fit its key".into(),
        K::MissingRequiredClaim(claim) => format!("the ID token has no '{claim}'"),
        _ => "the ID token is malformed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_issuer_needs_a_guid_tid_that_matches() {
        let rule =
            ResolvedIssuer::Template("https://login.microsoftonline.com/{tenantid}/v2.0".into());
        let tid = "c0ffee00-0000-4000-8000-00000000c0de";
        assert!(
            rule.check(
                &format!("https://login.microsoftonline.com/{tid}/v2.0"),
                Some(tid)
            )
            .is_ok()
        );
        assert!(
            rule.check(
                "https://login.microsoftonline.com/0ddba11a-0000-4000-8000-000000000001/v2.0",
                Some(tid)
            )
            .is_err()
        );
        assert!(
            rule.check("https://login.microsoftonline.com/evil/v2.0", Some("evil"))
                .is_err()
        );
        assert!(
            rule.check("https://login.microsoftonline.com/x/v2.0", None)
                .is_err()
        );
    }

    #[test]
    fn discovery_issuer_must_fit_the_rule() {
        let exact = IssuerRule::Exact("https://a.test/t/v2.0".into());
        assert!(ResolvedIssuer::from_discovery(&exact, "https://a.test/t/v2.0").is_ok());
        assert!(ResolvedIssuer::from_discovery(&exact, "https://evil.test/t/v2.0").is_err());
        let prefix = IssuerRule::FromDiscovery {
            prefix: "https://a.test/".into(),
        };
        assert_eq!(
            ResolvedIssuer::from_discovery(&prefix, "https://a.test/guid/v2.0").unwrap(),
            ResolvedIssuer::Exact("https://a.test/guid/v2.0".into())
        );
        assert!(ResolvedIssuer::from_discovery(&prefix, "https://b.test/guid/v2.0").is_err());
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let jwks = br#"{"keys":[{"kty":"oct","k":"abc"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"x","n":"!!","e":"AQAB"},{"kty":"EC","crv":"P-384","x":"a","y":"b"}]}"#;
        assert_eq!(KeySet::parse(jwks).unwrap().keys.len(), 0);
        assert!(KeySet::parse(b"not json").is_err());
        assert!(KeySet::parse(b"{}").is_err());
    }
}
