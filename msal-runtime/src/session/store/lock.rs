//! Short locks in the store, one per name, so that across every instance of the app one
//! holder at a time does something (a session's token refresh).
//!
//! In Redis a lock is a key (`SET … NX PX`) holding a random token of its holder's: only that
//! token deletes it, so a holder whose lock expired never frees someone else's. It lives a
//! short time (a refresh's: [`LOCK_TTL`]) and its holder renews it while it works, so a
//! crashed instance blocks nobody for longer than that. In memory there is one process,
//! whose in-process locks are enough: the lock is granted at once.

use std::time::Duration;

use tokio::task::JoinHandle;

#[cfg(feature = "redis")]
use super::derived;
use super::{Backend, MsalStore};
use crate::error::AuthError;

/// How long a refresh lock lives in the store without being renewed: how long a crashed
/// holder blocks the others at most.
pub(crate) const LOCK_TTL: Duration = Duration::from_secs(10);

/// A lock held in the store, released by [`release`](Self::release) (or, failing that, when
/// dropped, in the background); renewed in the background meanwhile.
pub(crate) struct StoreLock {
    store: MsalStore,
    /// The lock's name in the store and its holder's token; `None` for a lock that needs
    /// nothing in the store (the memory store) or was already released.
    held: Option<(String, String)>,
    renewal: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLock")
            .field("name", &self.held.as_ref().map(|(name, _)| name))
            .finish_non_exhaustive()
    }
}

impl MsalStore {
    /// Takes the lock `kind` of `key` (a secret, such as a session id: the store holds only a
    /// digest of it) for `ttl` unless another holder has it; it is renewed three times per
    /// `ttl` until released. `Ok(None)`: held by someone else, try again later. An
    /// unreachable store is an error: never proceed as if locked.
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    pub(crate) async fn lock(
        &self,
        kind: &str,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<StoreLock>, AuthError> {
        match &*self.0 {
            Backend::Memory(_) => Ok(Some(StoreLock {
                store: self.clone(),
                held: None,
                renewal: None,
            })),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => {
                use base64::Engine as _;
                let name = derived(kind, key);
                let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(rand::random::<[u8; 16]>());
                if !r
                    .try_lock(&name, &token, ttl)
                    .await
                    .map_err(super::unavailable)?
                {
                    return Ok(None);
                }
                let renewal = tokio::spawn(renew(self.clone(), name.clone(), token.clone(), ttl));
                Ok(Some(StoreLock {
                    store: self.clone(),
                    held: Some((name, token)),
                    renewal: Some(renewal),
                }))
            }
        }
    }
}

/// Renews a held lock until its task is stopped, or until it turns out to be lost (expired
/// and taken by another holder: nothing more to renew).
#[cfg(feature = "redis")]
async fn renew(store: MsalStore, name: String, token: String, ttl: Duration) {
    let Backend::Redis(r) = &*store.0 else {
        return;
    };
    loop {
        // Three renewals per time to live: one slow or lost renewal does not let it expire.
        tokio::time::sleep(ttl / 3).await;
        match r.renew_lock(&name, &token, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    "a store lock expired while held (the store was unreachable for longer \
                     than its time to live): another holder may have taken it"
                );
                return;
            }
            Err(e) => tracing::warn!(error = %e, "a store lock could not be renewed"),
        }
    }
}

impl StoreLock {
    /// Releases the lock now (if it is still this holder's: one that expired and was taken
    /// by another holder stays theirs).
    pub(crate) async fn release(mut self) -> Result<(), AuthError> {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        match self.held.take() {
            Some((name, token)) => unlock(&self.store, &name, &token).await,
            None => Ok(()),
        }
    }

    /// Leaves the lock in the store as a crashed holder would: neither renewed nor released,
    /// so it ends when its time to live runs out. For tests only.
    #[cfg(feature = "testing")]
    pub(crate) fn abandon(mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        self.held = None;
    }
}

/// Deletes the lock `name` if it still holds `token`. (Only locks in Redis hold anything.)
#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
async fn unlock(store: &MsalStore, name: &str, token: &str) -> Result<(), AuthError> {
    match &*store.0 {
        Backend::Memory(_) => Ok(()),
        #[cfg(feature = "redis")]
        Backend::Redis(r) => r
            .unlock(name, token)
            .await
            .map_err(super::unavailable)
            .map(|_| ()),
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        // Not released on purpose (an error path, a cancelled request): release it in the
        // background, or else it expires on its own.
        if let Some((name, token)) = self.held.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let store = self.store.clone();
            runtime.spawn(async move {
                if let Err(e) = unlock(&store, &name, &token).await {
                    tracing::warn!(error = %e, "a store lock could not be released; it expires on its own");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;
    use std::time::Duration;

    use super::super::{Backend, MsalStore, memory::Memory};

    #[tokio::test]
    async fn the_memory_store_grants_a_lock_at_once_even_when_held() {
        // One process: its in-process locks already make refreshes single-flight.
        let store = MsalStore(Arc::new(Backend::Memory(Memory::new(10))));
        let held = store.lock("refresh", "a", Duration::from_secs(10)).await;
        let again = store.lock("refresh", "a", Duration::from_secs(10)).await;
        assert!(held.unwrap().is_some() && again.unwrap().is_some());
    }
}
