//! The provider's signing keys: parsed from the JWKS (unusable keys skipped), found by
//! `kid`, swapped atomically, refetched for an unknown `kid` at most once per cooldown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::DecodingKey;
use serde_json::Value;
use url::Url;

use super::{ValidationError, invalid, now};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    Rsa,
    Ec,
}

pub(super) struct Key {
    kid: Option<String>,
    pub(super) family: Family,
    pub(super) decoding: DecodingKey,
    /// Entra's per-key `issuer` attribute, checked where present.
    pub(super) issuer: Option<String>,
}

#[derive(Default)]
pub(super) struct KeySet {
    pub(super) keys: Vec<Arc<Key>>,
}

impl KeySet {
    /// Parses a JWKS, skipping keys that are not usable signing keys.
    pub(super) fn parse(body: &[u8]) -> Result<Self, String> {
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
    /// When the keys were last fetched (seconds since the epoch); older than
    /// [`REFRESH_AFTER`] starts a refresh in the background.
    fetched_at: std::sync::atomic::AtomicI64,
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
            fetched_at: std::sync::atomic::AtomicI64::new(0),
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

    pub(super) async fn key(
        self: &Arc<Self>,
        kid: Option<&str>,
    ) -> Result<Arc<Key>, ValidationError> {
        if let Some(key) = self.keys.load().find(kid) {
            self.refresh_if_old();
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
            Ok(set) => self.install(set),
            Err(e) if have_keys => {
                tracing::warn!(error = %e, "refetching signing keys failed; keeping the last known good ones");
                return Err(unknown_key(kid));
            }
            Err(e) => return Err(ValidationError::KeysUnavailable(e)),
        }
        self.keys.load().find(kid).ok_or_else(|| unknown_key(kid))
    }

    fn install(&self, set: KeySet) {
        tracing::debug!(keys = set.keys.len(), uri = %self.uri, "fetched signing keys");
        self.keys.store(Arc::new(set));
        self.fetched_at
            .store(now(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Keys older than a day are refreshed off the request path, one fetch at a time; a
    /// failure keeps the current keys.
    fn refresh_if_old(self: &Arc<Self>) {
        let fetched = self.fetched_at.load(std::sync::atomic::Ordering::Relaxed);
        if now() - fetched < REFRESH_AFTER.as_secs() as i64 {
            return;
        }
        let Ok(mut last) = self.last_fetch.try_lock() else {
            return; // someone is fetching already
        };
        *last = Some(Instant::now());
        // Claim this refresh before releasing the lock, so nobody else starts one.
        self.fetched_at
            .store(now(), std::sync::atomic::Ordering::Relaxed);
        drop(last);
        let cache = self.clone();
        tokio::spawn(async move {
            match cache.fetch().await {
                Ok(set) => cache.install(set),
                Err(e) => {
                    tracing::warn!(error = %e, "periodic key refresh failed; keeping the current keys")
                }
            }
        });
    }
}

/// How old keys may get before a background refresh.
const REFRESH_AFTER: Duration = Duration::from_secs(24 * 3600);

fn unknown_key(kid: Option<&str>) -> ValidationError {
    match kid {
        Some(kid) => invalid(format!(
            "the token is signed with key '{kid}', which the provider does not publish"
        )),
        None => invalid("the token names no key ('kid') and the provider publishes several"),
    }
}
