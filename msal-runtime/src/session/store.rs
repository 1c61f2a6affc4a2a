//! The store behind sessions and msal's own records: in this process, or Redis shared by
//! every instance of the app. Besides tower-sessions' records it keeps single-use records
//! (pending sign-ins, Swagger codes), each taken by one atomic operation, the
//! front-channel index (`sid` → sessions), which lives as long as the sessions it names, and
//! short locks shared by every instance (`lock`: one token refresh per session at a time).
//! In Redis every key lives under the app's own namespace (`msal:{client id}:`), so apps
//! sharing one Redis never read each other's records.
//!
//! A record that was deleted is never brought back by a late save: saves only replace a
//! record that still exists (Redis `SET … XX`), so a slow request finishing after sign-out
//! cannot sign the user in again. Redis keys name sessions by a digest of their id, never the id
//! itself: whoever can read the store cannot make a session cookie from what they read.
//!
//! This file decides what each operation means; `memory` and `redis` (cargo feature `redis`)
//! each carry it out.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::config::{MsalConfig, SessionStoreKind};
use crate::error::AuthError;

mod lock;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub(crate) use lock::{LOCK_TTL, StoreLock};

/// The session value naming the identity provider's session (`sid`) a signed-in record
/// belongs to: saving such a record keeps its front-channel index alive as long as it.
pub(crate) const SID_FIELD: &str = "msal.sid";

/// The session store msal-axum uses: in memory, or Redis shared by every instance of the
/// app (chosen by `MSAL_SESSION_STORE`; Redis needs the cargo feature `redis`).
#[derive(Clone)]
pub struct MsalStore(Arc<Backend>);

enum Backend {
    Memory(memory::Memory),
    #[cfg(feature = "redis")]
    Redis(redis::Redis),
}

impl fmt::Debug for MsalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &*self.0 {
            Backend::Memory(_) => "MsalStore::Memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "MsalStore::Redis",
        })
    }
}

#[cfg(feature = "redis")]
fn unavailable(e: impl fmt::Display) -> AuthError {
    AuthError::StoreUnavailable(e.to_string())
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A key derived from a secret value (a flow's state, a code, a `sid`), so the record is
/// found by what names it and the store never holds the value itself.
fn derived(kind: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update([0])
        .chain_update(value)
        .finalize();
    // Every session lookup names its record this way: no allocation per byte.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut name = String::with_capacity(kind.len() + 33);
    name.push_str(kind);
    name.push(':');
    for b in &digest[..16] {
        name.push(char::from(HEX[usize::from(b >> 4)]));
        name.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    name
}

/// The front-channel index entry a session record keeps alive: the one of its `sid`, when it
/// has one (saving the record extends the entry to the record's expiry).
fn indexed_sid(record: &Record) -> Option<String> {
    let sid = record.data.get(SID_FIELD)?.as_str()?;
    Some(derived("sid", sid))
}

/// Redis's name for a session: a digest of its id (the cookie's value), so the id itself is
/// nowhere in Redis. (The memory store keys sessions by id: it is this process's own
/// memory, and a digest per request would cost more than the rest of the lookup.)
#[cfg(feature = "redis")]
fn session_name(id: &Id) -> String {
    derived("session", &id.to_string())
}

/// A member of the front-channel index: the session's name in its store, and the issuer it
/// was signed in by.
fn member(iss: &str, name: &str) -> String {
    format!("{name} {iss}")
}

fn parse_member(member: &str) -> Option<(&str, &str)> {
    member.split_once(' ')
}

/// The session names of index members.
fn session_names(members: &[String]) -> Vec<String> {
    members
        .iter()
        .filter_map(|m| parse_member(m))
        .map(|(name, _)| name.to_owned())
        .collect()
}

impl MsalStore {
    /// Opens the configured store; Redis keys go under `namespace`, the memory store keeps
    /// at most `MSAL_MEMORY_SESSIONS_MAX` sessions (and apart as many pending sign-ins). An
    /// unreachable Redis is not fatal: it is retried in the background, and requests that
    /// need a session answer 503 meanwhile.
    pub(crate) async fn open(config: &MsalConfig, namespace: &str) -> Result<Self, String> {
        let backend = match &config.session_store {
            SessionStoreKind::Memory => {
                Backend::Memory(memory::Memory::new(config.memory_sessions_max))
            }
            #[cfg(feature = "redis")]
            SessionStoreKind::Redis(url) => {
                Backend::Redis(redis::Redis::open(url, config.redis_ca.as_ref(), namespace).await?)
            }
        };
        #[cfg(not(feature = "redis"))]
        let _ = namespace;
        Ok(MsalStore(Arc::new(backend)))
    }

    /// The session record of `id` as the store holds it now, shared rather than copied where
    /// the store allows (in memory it is one look-up): for reading, never for changing.
    pub(crate) async fn peek(&self, id: &Id) -> Result<Option<Arc<Record>>, AuthError> {
        match &*self.0 {
            Backend::Memory(m) => Ok(m.peek(id)),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => Ok(r.load(id).await.map_err(unavailable)?.map(Arc::new)),
        }
    }

    /// Stores a single-use record under a key derived from a secret (a flow's state, a
    /// code) until `ttl` has passed or it is taken.
    pub(crate) async fn put_once(
        &self,
        kind: &str,
        key: &str,
        value: String,
        ttl: Duration,
    ) -> Result<(), AuthError> {
        let name = derived(kind, key);
        let stored = match &*self.0 {
            Backend::Memory(m) => m.put_once(name, value, ttl),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.put_once(&name, value, ttl).await.map_err(unavailable)?,
        };
        if stored {
            Ok(())
        } else {
            // Two secrets with one digest: refuse rather than hand either out twice.
            Err(AuthError::StoreUnavailable(
                "a one-time key collided; start again".into(),
            ))
        }
    }

    /// Takes a record stored with [`put_once`](Self::put_once): one atomic operation, so of
    /// any number of concurrent takers exactly one gets it.
    pub(crate) async fn take_once(
        &self,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, AuthError> {
        let name = derived(kind, key);
        match &*self.0 {
            Backend::Memory(m) => Ok(m.take_once(&name)),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.take_once(&name).await.map_err(unavailable),
        }
    }

    /// Remembers that `session` (signed in by `iss`) belongs to the identity provider's
    /// session `sid`, until `until` (the session's expiry, which every later save of the
    /// session carries forward).
    pub(crate) async fn index_sid(
        &self,
        sid: &str,
        iss: &str,
        session: Id,
        until: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let name = derived("sid", sid);
        match &*self.0 {
            Backend::Memory(m) => {
                m.index_sid(name, iss, session, until);
                Ok(())
            }
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r
                .index_sid(&name, iss, &session, until)
                .await
                .map_err(unavailable),
        }
    }

    /// Ends every session of the identity provider's session `sid` (only those signed in by
    /// `iss`, when it is given): their records are deleted. Returns how many.
    pub(crate) async fn end_sid(&self, sid: &str, iss: Option<&str>) -> Result<usize, AuthError> {
        let name = derived("sid", sid);
        let fits = |m: &str| parse_member(m).is_some_and(|(_, i)| iss.is_none_or(|iss| iss == i));
        let ended = match &*self.0 {
            Backend::Memory(m) => m.end_sid(name, fits),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.end_sid(&name, fits).await.map_err(unavailable)?,
        };
        Ok(ended.len())
    }
}

#[cfg(feature = "redis")]
fn backend(e: impl fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for MsalStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &*self.0 {
            Backend::Memory(m) => m.create(record),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.create(record).await.map_err(backend)?,
        }
        Ok(())
    }

    /// Replaces a record that still exists; a deleted or expired one stays gone.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &*self.0 {
            Backend::Memory(m) => m.save(record),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.save(record).await.map_err(backend)?,
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match &*self.0 {
            Backend::Memory(m) => Ok(m.load(id)),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &*self.0 {
            Backend::Memory(m) => m.delete(id),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.delete(id).await.map_err(backend)?,
        }
        Ok(())
    }
}
