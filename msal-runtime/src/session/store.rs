//! The store behind sessions and msal's own records: in this process, or Redis shared by
//! every instance of the app. Besides tower-sessions' records it keeps single-use records
//! (pending sign-ins, Swagger codes), each taken by one atomic operation, and the
//! front-channel index (`sid` → sessions), which lives as long as the sessions it names.
//! In Redis every key lives under the app's own namespace (`msal:{client id}:`), so apps
//! sharing one Redis never read each other's records.
//!
//! A record that was deleted is never brought back by a late save: saves only replace a
//! record that still exists (Redis `SET … XX`), so a slow request finishing after sign-out
//! cannot sign the user in again. Redis keys name sessions by a digest of their id, never the id
//! itself: whoever can read the store cannot make a session cookie from what they read.
//!
//! The Redis commands are those of Redis 3.2 and later (`SET … EX|PX NX|XX`, `SPOP` with a
//! count, `EVAL`), so older managed Redis services work too.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use fred::clients::WithOptions;
use fred::interfaces::{ClientLike, KeysInterface, SetsInterface};
use fred::prelude::{Config as RedisConfig, Pool};
use fred::types::config::Options as RedisOptions;
use fred::types::{
    Builder as RedisBuilder, ClusterHash, CustomCommand, Expiration, SetOptions,
    Value as RedisValue,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::config::SessionStoreKind;
use crate::error::AuthError;

/// The session value naming the identity provider's session (`sid`) a signed-in record
/// belongs to: saving such a record keeps its front-channel index alive as long as it.
pub(crate) const SID_FIELD: &str = "msal.sid";

/// The session store msal-axum uses: in memory, or Redis shared by every instance of the
/// app (chosen by `MSAL_SESSION_STORE`).
#[derive(Clone)]
pub struct MsalStore(Arc<Backend>);

enum Backend {
    Memory(Memory),
    Redis(Redis),
}

impl fmt::Debug for MsalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &*self.0 {
            Backend::Memory(_) => "MsalStore::Memory",
            Backend::Redis(_) => "MsalStore::Redis",
        })
    }
}

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

/// Redis's name for a session: a digest of its id (the cookie's value), so the id itself is
/// nowhere in Redis. (The memory store keys sessions by id: it is this process's own
/// memory, and a digest per request would cost more than the rest of the lookup.)
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

/// Sessions, single-use records and the index, in this process.
#[derive(Default)]
struct Memory {
    sessions: Mutex<HashMap<Id, Record>>,
    once: Mutex<HashMap<String, (String, OffsetDateTime)>>,
    sids: Mutex<HashMap<String, (Vec<String>, OffsetDateTime)>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Memory {
    fn touch_sid(&self, record: &Record) {
        let Some(sid) = record.data.get(SID_FIELD).and_then(|v| v.as_str()) else {
            return;
        };
        if let Some((_, until)) = locked(&self.sids).get_mut(&derived("sid", sid)) {
            *until = (*until).max(record.expiry_date);
        }
    }
}

/// Takes a key's value and deletes it in one step (what `GETDEL` does on Redis 6.2+).
const TAKE_SCRIPT: &str =
    "local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) end return v";

/// Lengthens a key's time to live to ARGV[1] seconds, never shortens it (what `EXPIRE … GT`
/// does on Redis 7+); a missing key stays missing.
const EXTEND_SCRIPT: &str = "local t = redis.call('TTL', KEYS[1]) if t == -2 then return 0 end \
     if t < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return 1";

/// Seconds from now until `until`, at least one (Redis refuses a zero time to live).
fn seconds_until(until: OffsetDateTime) -> i64 {
    (until - now()).whole_seconds().max(1)
}

/// Sessions, single-use records and the index in Redis, under the app's namespace.
struct Redis {
    commands: WithOptions<Pool>,
    namespace: String,
}

impl Redis {
    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.namespace)
    }

    fn session_key(&self, id: &Id) -> String {
        self.key(&session_name(id))
    }

    async fn set_record(&self, record: &Record, options: SetOptions) -> Result<bool, String> {
        let bytes = rmp_serde::to_vec(record).map_err(|e| e.to_string())?;
        let stored: Option<String> = self
            .commands
            .set(
                self.session_key(&record.id),
                bytes.as_slice(),
                Some(Expiration::EX(seconds_until(record.expiry_date))),
                Some(options),
                false,
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(stored.is_some())
    }

    /// Runs a script over one key (hashed by that key in a cluster).
    async fn eval<R: fred::types::FromValue>(
        &self,
        script: &'static str,
        key: &str,
        args: &[RedisValue],
    ) -> Result<R, fred::error::Error> {
        let mut all = vec![
            RedisValue::from(script),
            RedisValue::from(1i64),
            RedisValue::from(key),
        ];
        all.extend_from_slice(args);
        self.commands
            .custom(
                CustomCommand::new_static("EVAL", ClusterHash::Offset(2), false),
                all,
            )
            .await
    }

    /// Makes the front-channel index `key` live at least until `until`.
    async fn extend(&self, key: &str, until: OffsetDateTime) -> Result<(), fred::error::Error> {
        let _: i64 = self
            .eval(
                EXTEND_SCRIPT,
                key,
                &[RedisValue::from(seconds_until(until))],
            )
            .await?;
        Ok(())
    }

    async fn touch_sid(&self, record: &Record) -> Result<(), String> {
        let Some(sid) = record.data.get(SID_FIELD).and_then(|v| v.as_str()) else {
            return Ok(());
        };
        self.extend(&self.key(&derived("sid", sid)), record.expiry_date)
            .await
            .map_err(|e| e.to_string())
    }
}

impl MsalStore {
    /// Opens the configured store; Redis keys go under `namespace`. An unreachable Redis is
    /// not fatal: it is retried in the background, and requests that need a session answer
    /// 503 meanwhile.
    pub(crate) async fn open(kind: &SessionStoreKind, namespace: &str) -> Result<Self, String> {
        let backend = match kind {
            SessionStoreKind::Memory => Backend::Memory(Memory::default()),
            SessionStoreKind::Redis(url) => {
                let config = RedisConfig::from_url(url.as_str())
                    .map_err(|e| format!("MSAL_SESSION_STORE is not a usable Redis URL: {e}"))?;
                let pool = RedisBuilder::from_config(config)
                    .with_connection_config(|c| {
                        c.connection_timeout = Duration::from_secs(2);
                        c.internal_command_timeout = Duration::from_secs(5);
                        c.max_command_attempts = 1;
                    })
                    .with_performance_config(|p| {
                        p.default_command_timeout = Duration::from_secs(10);
                    })
                    .set_policy(fred::types::config::ReconnectPolicy::new_constant(0, 500))
                    .build_pool(8)
                    .map_err(|e| format!("Redis pool: {e}"))?;
                pool.connect();
                match tokio::time::timeout(Duration::from_secs(3), pool.wait_for_connect()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "Redis unreachable; sessions answer 503 until it is back")
                    }
                    Err(_) => tracing::error!(
                        "Redis did not answer within 3s; sessions answer 503 until it does"
                    ),
                }
                // Commands fail at once while the connection is down (503 without waiting),
                // and otherwise get a generous time limit: under load a healthy Redis answers
                // in milliseconds, but this process may take seconds to read the answer.
                let commands = pool.with_options(&RedisOptions {
                    fail_fast: true,
                    max_attempts: Some(1),
                    timeout: Some(Duration::from_secs(10)),
                    ..RedisOptions::default()
                });
                Backend::Redis(Redis {
                    commands,
                    namespace: namespace.to_owned(),
                })
            }
        };
        Ok(MsalStore(Arc::new(backend)))
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
            Backend::Memory(m) => {
                let mut once = locked(&m.once);
                let at = now();
                // Now and then, forget what expired unredeemed.
                if once.len() >= 1024 && once.len().is_power_of_two() {
                    once.retain(|_, (_, until)| *until > at);
                }
                match once.get(&name) {
                    Some((_, until)) if *until > at => false,
                    _ => {
                        once.insert(name, (value, at + ttl));
                        true
                    }
                }
            }
            Backend::Redis(r) => {
                let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
                let stored: Option<String> = r
                    .commands
                    .set(
                        r.key(&name),
                        value,
                        Some(Expiration::PX(millis)),
                        Some(SetOptions::NX),
                        false,
                    )
                    .await
                    .map_err(unavailable)?;
                stored.is_some()
            }
        };
        if stored {
            Ok(())
        } else {
            // Two secrets with one digest: refuse rather than hand either out twice.
            Err(unavailable("a one-time key collided; start again"))
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
            Backend::Memory(m) => Ok(locked(&m.once)
                .remove(&name)
                .filter(|(_, until)| *until > now())
                .map(|(value, _)| value)),
            Backend::Redis(r) => r
                .eval(TAKE_SCRIPT, &r.key(&name), &[])
                .await
                .map_err(unavailable),
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
                let mut sids = locked(&m.sids);
                let at = now();
                if sids.len() >= 1024 && sids.len().is_power_of_two() {
                    sids.retain(|_, (_, until)| *until > at);
                }
                let entry = sids.entry(name).or_insert_with(|| (Vec::new(), until));
                if entry.1 <= at {
                    entry.0.clear();
                }
                entry.0.push(member(iss, &session.to_string()));
                entry.1 = entry.1.max(until);
                Ok(())
            }
            Backend::Redis(r) => {
                let key = r.key(&name);
                let _: i64 = r
                    .commands
                    .sadd(&key, member(iss, &session_name(&session)))
                    .await
                    .map_err(unavailable)?;
                r.extend(&key, until).await.map_err(unavailable)
            }
        }
    }

    /// Ends every session of the identity provider's session `sid` (only those signed in by
    /// `iss`, when it is given): their records are deleted. Returns how many.
    pub(crate) async fn end_sid(&self, sid: &str, iss: Option<&str>) -> Result<usize, AuthError> {
        let name = derived("sid", sid);
        let fits = |m: &str| parse_member(m).is_some_and(|(_, i)| iss.is_none_or(|iss| iss == i));
        let ended: Vec<String> = match &*self.0 {
            Backend::Memory(m) => {
                let mut sids = locked(&m.sids);
                let Some((members, until)) = sids.remove(&name) else {
                    return Ok(0);
                };
                if until <= now() {
                    return Ok(0);
                }
                let (ended, kept): (Vec<String>, Vec<String>) =
                    members.into_iter().partition(|m| fits(m));
                if !kept.is_empty() {
                    sids.insert(name, (kept, until));
                }
                drop(sids);
                let mut sessions = locked(&m.sessions);
                let names = session_names(&ended);
                for id in names.iter().filter_map(|name| name.parse::<Id>().ok()) {
                    sessions.remove(&id);
                }
                names
            }
            Backend::Redis(r) => {
                let key = r.key(&name);
                let ttl: i64 = r.commands.ttl(&key).await.map_err(unavailable)?;
                // SPOP takes the members and the key in one step: a concurrent sign-out
                // finds nothing left to end twice.
                let members: Vec<String> = r
                    .commands
                    .spop(&key, Some(100_000))
                    .await
                    .map_err(unavailable)?;
                let (ended, kept): (Vec<String>, Vec<String>) =
                    members.into_iter().partition(|m| fits(m));
                if !kept.is_empty() && ttl > 0 {
                    // Sessions of another issuer under the same `sid` keep their entries.
                    let _: i64 = r.commands.sadd(&key, kept).await.map_err(unavailable)?;
                    let _: i64 = r
                        .commands
                        .expire(&key, ttl, None)
                        .await
                        .map_err(unavailable)?;
                }
                let names = session_names(&ended);
                for name in &names {
                    let _: i64 = r.commands.del(r.key(name)).await.map_err(unavailable)?;
                }
                names
            }
        };
        Ok(ended.len())
    }
}

fn backend(e: impl fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for MsalStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &*self.0 {
            Backend::Memory(m) => {
                let mut sessions = locked(&m.sessions);
                while sessions.contains_key(&record.id) {
                    record.id = Id::default();
                }
                sessions.insert(record.id, record.clone());
                drop(sessions);
                m.touch_sid(record);
            }
            Backend::Redis(r) => {
                while !r
                    .set_record(record, SetOptions::NX)
                    .await
                    .map_err(backend)?
                {
                    record.id = Id::default();
                }
                r.touch_sid(record).await.map_err(backend)?;
            }
        }
        Ok(())
    }

    /// Replaces a record that still exists; a deleted or expired one stays gone.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &*self.0 {
            Backend::Memory(m) => {
                let mut sessions = locked(&m.sessions);
                if let Some(existing) = sessions.get_mut(&record.id)
                    && existing.expiry_date > now()
                {
                    *existing = record.clone();
                    drop(sessions);
                    m.touch_sid(record);
                }
            }
            Backend::Redis(r) => {
                if r.set_record(record, SetOptions::XX)
                    .await
                    .map_err(backend)?
                {
                    r.touch_sid(record).await.map_err(backend)?;
                }
            }
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match &*self.0 {
            Backend::Memory(m) => Ok(locked(&m.sessions)
                .get(id)
                .filter(|r| r.expiry_date > now())
                .cloned()),
            Backend::Redis(r) => {
                let bytes: Option<Vec<u8>> =
                    r.commands.get(r.session_key(id)).await.map_err(backend)?;
                bytes
                    .map(|b| {
                        rmp_serde::from_slice(&b)
                            .map_err(|e| session_store::Error::Decode(e.to_string()))
                    })
                    .transpose()
            }
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &*self.0 {
            Backend::Memory(m) => {
                locked(&m.sessions).remove(id);
            }
            Backend::Redis(r) => {
                let _: i64 = r.commands.del(r.session_key(id)).await.map_err(backend)?;
            }
        }
        Ok(())
    }
}
