//! The provider's signing keys: parsed from the JWKS (unusable keys skipped), found by
//! `kid`, swapped atomically. An unknown `kid` refetches them at once unless the last
//! refetch *for an unknown `kid`* brought a key set within the cooldown (so an issuer may
//! rotate right after this app starts). Fetches are single-flight; one that fails (no
//! answer, an error status, no usable key) answers 503, never "unknown key", is retried
//! after a backoff rather than the cooldown, and never replaces the keys in hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::sync::OwnedMutexGuard;
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
    /// The JWK's `alg`, when it names one: the only algorithm the key verifies.
    pub(super) alg: Option<Algorithm>,
}

#[derive(Default)]
pub(crate) struct KeySet {
    pub(super) keys: Vec<Arc<Key>>,
}

impl KeySet {
    /// Parses a JWKS, skipping keys that are not usable signing keys.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
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
                // A key for an algorithm this library does not know verifies nothing here.
                let alg = match text("alg") {
                    None => None,
                    Some(alg) => Some(alg.parse::<Algorithm>().ok()?),
                };
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
                    alg,
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

/// The provider's signing keys. Readers never wait on a lock; fetches are single-flight.
pub(crate) struct KeyCache {
    http: reqwest::Client,
    uri: Url,
    keys: ArcSwap<KeySet>,
    /// When the keys were last fetched (seconds since the epoch); older than
    /// [`REFRESH_AFTER`] starts a refresh in the background.
    fetched_at: std::sync::atomic::AtomicI64,
    /// Holding it is being the one fetching. Shared with the fetch's own task, which holds
    /// it until the outcome is recorded, whether or not the request that started it waits.
    fetching: Arc<tokio::sync::Mutex<Fetches>>,
    cooldown: Duration,
}

/// What rate-limits fetches.
#[derive(Default)]
struct Fetches {
    /// The last refetch caused by an unknown `kid` that brought a usable key set (the
    /// start-up fetch and the daily refresh do not count): the cooldown counts from here.
    unknown_kid: Option<Instant>,
    /// The failed fetches in a row (no answer, an error status, or no usable key), the last
    /// one's time and error.
    failures: u32,
    last_failure: Option<(Instant, String)>,
}

/// How long after the `failures`-th failed fetch in a row the keys are not fetched again
/// on a request's behalf: 200 ms, doubling, at most 30 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(200)
        .saturating_mul(1 << failures.saturating_sub(1).min(8))
        .min(Duration::from_secs(30))
}

impl KeyCache {
    pub(crate) fn new(http: reqwest::Client, uri: Url, cooldown: Duration) -> Self {
        Self {
            http,
            uri,
            keys: ArcSwap::from_pointee(KeySet::default()),
            fetched_at: std::sync::atomic::AtomicI64::new(0),
            fetching: Arc::new(tokio::sync::Mutex::new(Fetches::default())),
            cooldown,
        }
    }

    /// Fetches and parses the JWKS; a document without one usable key is a failure.
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
        let set = KeySet::parse(&body)?;
        if set.keys.is_empty() {
            return Err(format!(
                "GET {}: the JWKS has no usable signing key",
                self.uri
            ));
        }
        Ok(set)
    }

    /// The key for `kid`, fetching the keys when it is unknown (see the module documentation).
    /// Needs a tokio runtime that runs spawned tasks (any axum server's does): the fetch is a
    /// task of its own.
    pub(super) async fn key(
        self: &Arc<Self>,
        kid: Option<&str>,
    ) -> Result<Arc<Key>, ValidationError> {
        if let Some(key) = self.keys.load().find(kid) {
            self.refresh_if_old();
            return Ok(key);
        }
        let fetches = Arc::clone(&self.fetching).lock_owned().await;
        // Whoever held the lock before may have fetched what we need.
        if let Some(key) = self.keys.load().find(kid) {
            return Ok(key);
        }
        // A failed fetch is retried no sooner than its backoff; until then the answer is the
        // failure (503): whether the key exists cannot be known.
        if let Some((at, error)) = &fetches.last_failure
            && at.elapsed() < backoff(fetches.failures)
        {
            return Err(ValidationError::KeysUnavailable(error.clone()));
        }
        let keys_known = !self.keys.load().keys.is_empty();
        // An unknown `kid` with keys in hand: a rotation, or a forgery. At most one
        // refetch that answers per cooldown, counted from the last one an unknown `kid`
        // caused; the document it brought stands for the provider's keys until then.
        if keys_known
            && fetches
                .unknown_kid
                .is_some_and(|t| t.elapsed() < self.cooldown)
        {
            return Err(unknown_key(kid));
        }
        // The fetch runs as a task of its own, holding the lock: a request that gives up
        // (its client hung up, a timeout layer) leaves it to finish and be recorded, so
        // dropping requests cannot start fetch after fetch past the cooldown and backoff.
        let cache = Arc::clone(self);
        let fetched = tokio::spawn(cache.fetch_and_record(fetches, keys_known))
            .await
            .unwrap_or_else(|e| Err(format!("the signing-key fetch did not finish: {e}")));
        if let Err(e) = fetched {
            return Err(ValidationError::KeysUnavailable(e));
        }
        self.keys.load().find(kid).ok_or_else(|| unknown_key(kid))
    }

    /// One fetch on a request's behalf, its outcome recorded under the lock it holds: keys
    /// installed (and, for an unknown `kid` with keys in hand, the cooldown started), or the
    /// failure and its backoff.
    async fn fetch_and_record(
        self: Arc<Self>,
        mut fetches: OwnedMutexGuard<Fetches>,
        unknown_kid: bool,
    ) -> Result<(), String> {
        // The fetch itself in a task of its own again: if it panics, that is a failure
        // recorded here with its backoff, not a lock released with nothing recorded.
        let cache = Arc::clone(&self);
        let fetched = tokio::spawn(async move { cache.fetch().await })
            .await
            .unwrap_or_else(|e| Err(format!("the signing-key fetch did not finish: {e}")));
        match fetched {
            Ok(set) => {
                self.install(set);
                fetches.failures = 0;
                fetches.last_failure = None;
                if unknown_kid {
                    fetches.unknown_kid = Some(Instant::now());
                }
                Ok(())
            }
            Err(e) => {
                // Not the cooldown's: the provider did not say which keys it publishes,
                // so the next request after the backoff asks again.
                fetches.failures = fetches.failures.saturating_add(1);
                let retry_in = backoff(fetches.failures);
                if unknown_kid {
                    tracing::warn!(error = %e, failures = fetches.failures, ?retry_in, "refetching signing keys for an unknown kid failed; keeping the last known good ones");
                } else {
                    tracing::warn!(error = %e, failures = fetches.failures, ?retry_in, "fetching signing keys failed");
                }
                fetches.last_failure = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    pub(crate) fn install(&self, set: KeySet) {
        tracing::debug!(keys = set.keys.len(), uri = %self.uri, "fetched signing keys");
        self.keys.store(Arc::new(set));
        self.fetched_at
            .store(now(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Keys older than a day are refreshed off the request path, one fetch at a time; a
    /// failure, or a document without usable keys, keeps the current keys.
    fn refresh_if_old(self: &Arc<Self>) {
        let fetched = self.fetched_at.load(std::sync::atomic::Ordering::Relaxed);
        if now().saturating_sub(fetched) < REFRESH_AFTER.as_secs() as i64 {
            return;
        }
        let Ok(mut fetches) = Arc::clone(&self.fetching).try_lock_owned() else {
            return; // someone is fetching already
        };
        // Claimed now: nobody else starts one, and a failure waits for the next day.
        self.fetched_at
            .store(now(), std::sync::atomic::Ordering::Relaxed);
        let cache = self.clone();
        // Under the lock, so it never installs an older document over a newer refetch.
        tokio::spawn(async move {
            match cache.fetch().await {
                Ok(set) => {
                    cache.install(set);
                    fetches.failures = 0;
                    fetches.last_failure = None;
                }
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
            "the token is signed with key '{}', which the provider does not publish",
            crate::error::untrusted(kid)
        )),
        None => invalid("the token names no key ('kid') and the provider publishes several"),
    }
}
