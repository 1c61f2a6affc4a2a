//! One token refresh per session across every instance of the app: the session's lock in
//! the store, waited for while another instance holds it, and never done without.

use std::time::Duration;

use tokio::time::Instant;

use super::TokenSource;
use crate::error::AuthError;
use crate::session::{LOCK_TTL, StoreLock};

/// The kind of the store's locks for token refreshes (with the session id, it names one).
const KIND: &str = "refresh";

/// How often a lock held by another instance is tried again.
const POLL: Duration = Duration::from_millis(50);

/// How long a request waits for another instance's refresh of its session: what that
/// refresh may take (discovery, the token request and the signing keys, each up to the HTTP
/// timeout, then the save), and beyond it the time a crashed holder's lock takes to expire.
pub(crate) fn longest_wait(http_timeout: Duration) -> Duration {
    http_timeout.saturating_mul(3) + LOCK_TTL
}

/// Takes the refresh lock of session `id` in the store, waiting (until `deadline`) while
/// another instance holds it. Past the deadline, or when the store cannot be reached, it
/// fails with a 503: a refresh is never made without the lock.
pub(crate) async fn refresh_lock(
    source: &TokenSource,
    id: &str,
    deadline: Instant,
) -> Result<StoreLock, AuthError> {
    loop {
        if let Some(lock) = source.store.lock(KIND, id, LOCK_TTL).await? {
            return Ok(lock);
        }
        if Instant::now() + POLL > deadline {
            return Err(AuthError::StoreUnavailable(
                "another instance of the app has been refreshing this session's tokens for \
                 too long (its refresh lock was not released in time); try again shortly"
                    .into(),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Takes the refresh lock of session `id` for `ttl` and leaves it as a crashed instance
/// would: neither renewed nor released. Says whether it was free. For tests only.
#[cfg(feature = "testing")]
pub(crate) async fn abandon_lock(
    source: &TokenSource,
    id: &str,
    ttl: Duration,
) -> Result<bool, AuthError> {
    Ok(match source.store.lock(KIND, id, ttl).await? {
        Some(lock) => {
            lock.abandon();
            true
        }
        None => false,
    })
}
