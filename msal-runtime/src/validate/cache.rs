//! Validated bearer tokens, so a repeated token costs a lookup, not a signature check.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use super::now;

type Entries<T> = RwLock<HashMap<[u8; 32], (Arc<T>, i64)>>;

/// Values by a 32-byte key, until they expire: a repeated token costs a lookup instead of a
/// signature check or a token request. The key is the caller's choice: for validated bearer
/// tokens the last 32 bytes of the token's signature (`caller::bearer_key`, a hit is taken
/// only after the cached token is compared in full), for on-behalf-of tokens the SHA-256 of
/// the incoming token and the scopes ([`TokenCache::key`]). Bounded: when full, expired
/// entries go first, then everything (a full cache is rebuilt from traffic in moments).
pub(crate) struct TokenCache<T> {
    entries: Entries<T>,
    capacity: usize,
}

impl<T> TokenCache<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Default::default(),
            capacity,
        }
    }

    /// The SHA-256 of `text`: a key for values whose own text has no cheaper unique tail.
    pub(crate) fn key(token: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(token.as_bytes()).into()
    }

    /// The cached value, if the token was validated and is still within `exp` (+ skew).
    pub(crate) fn get(&self, key: &[u8; 32], skew: Duration) -> Option<Arc<T>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let (value, exp) = entries.get(key)?;
        // Saturating: a token whose `exp` is near i64::MAX is kept, not wrapped to the past.
        let skew = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
        (exp.saturating_add(skew) >= now()).then(|| value.clone())
    }

    pub(crate) fn insert(&self, key: [u8; 32], value: Arc<T>, exp: i64) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            let t = now();
            entries.retain(|_, (_, e)| *e > t);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, exp));
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
