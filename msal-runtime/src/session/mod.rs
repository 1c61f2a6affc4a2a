//! What lives server-side: the signed-in user (in the tower-sessions session), pending
//! sign-in flows and the front-channel index (as records of their own in the same store), and
//! the store itself (memory or Redis).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{MemoryStore, Session};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::clients::WithOptions;
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config as RedisConfig, Pool};
use tower_sessions_redis_store::fred::types::Builder as RedisBuilder;
use tower_sessions_redis_store::fred::types::config::Options as RedisOptions;

mod vault;

pub(crate) use vault::{CachedToken, TokenVault};

use crate::config::{SessionKey, SessionStoreKind};
use crate::error::AuthError;
use crate::principal::{Principal, User};

/// Session key of who the signed-in user is: what every protected request reads.
const WHO: &str = "msal.who";
/// Session key of the token vault: read only when a handler needs a token.
const VAULT: &str = "msal.vault";

/// How many decoded sessions are kept (see [`WhoCache`]).
pub(crate) const WHO_CACHE_CAPACITY: usize = 4096;

/// How long a started sign-in may take.
pub(crate) const FLOW_TTL: Duration = Duration::from_secs(600);

/// The signed-in user, the CSRF token of sign-out, and consent. The tokens live beside it
/// in the session, in a [`TokenVault`] of their own.
#[derive(Clone)]
pub(crate) struct SignedIn {
    pub(crate) user: User,
    pub(crate) csrf: String,
    /// Delegated scopes granted so far (accumulated over incremental consent).
    pub(crate) scopes: Vec<String>,
    /// Scopes asked for at the last sign-in and not granted: not asked for again.
    pub(crate) declined: Vec<String>,
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user.preferred_username)
            .field("csrf", &"[REDACTED]")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// [`SignedIn`] as the session stores it, as one JSON text: the ID token's claims once (the
/// typed fields of [`User`] are derived from them on load), and the id of the key that
/// sealed the vault, so a protected request can tell a vault nobody can open without
/// reading it.
#[derive(Serialize, Deserialize)]
struct StoredWho {
    claims: serde_json::Map<String, serde_json::Value>,
    csrf: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    declined: Vec<String>,
    #[serde(default)]
    sealed_with: Option<String>,
}

impl StoredWho {
    fn of(signed_in: &SignedIn, sealed_with: Option<String>) -> Self {
        Self {
            claims: signed_in.user.claims.clone(),
            csrf: signed_in.csrf.clone(),
            scopes: signed_in.scopes.clone(),
            declined: signed_in.declined.clone(),
            sealed_with,
        }
    }

    fn into_signed_in(self) -> SignedIn {
        SignedIn {
            user: User::from_claims(self.claims),
            csrf: self.csrf,
            scopes: self.scopes,
            declined: self.declined,
        }
    }

    /// Whether a configured key can open the vault this record names.
    fn vault_opens(&self, keys: &[SessionKey]) -> bool {
        match &self.sealed_with {
            None => true,
            Some(id) => keys.iter().any(|k| k.id() == id),
        }
    }
}

/// A sign-in in progress, stored under its `state` until the callback uses it once.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingFlow {
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
    /// The value of the browser's binding cookie when the flow started: a callback from
    /// another browser (a login CSRF) does not have it.
    pub(crate) binding: String,
    pub(crate) next: String,
    pub(crate) redirect_uri: String,
    /// Scopes asked for beyond the configured ones (incremental consent).
    #[serde(default)]
    pub(crate) extra_scopes: Vec<String>,
    /// Set when Swagger UI started this sign-in: its code goes back to Swagger, and no
    /// session is signed in.
    #[serde(default)]
    pub(crate) swagger: Option<SwaggerRequest>,
}

/// What Swagger UI's authorization request asked for.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SwaggerRequest {
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
}

fn unavailable(e: impl fmt::Display) -> AuthError {
    AuthError::StoreUnavailable(e.to_string())
}

/// The text stored under `key`; a value of another shape (a record from an older version)
/// counts as absent: signed out, never an error.
async fn text_of(session: &Session, key: &str) -> Result<Option<String>, AuthError> {
    match session.get_value(key).await.map_err(unavailable)? {
        Some(serde_json::Value::String(text)) => Ok(Some(text)),
        Some(_) => {
            tracing::info!(
                key,
                "a session value of an unknown shape: treated as signed out"
            );
            Ok(None)
        }
        None => Ok(None),
    }
}

/// The record of who is signed in, decoded; `None` when nobody is, or when the vault was
/// sealed with a key no longer configured (signed out).
fn decode_who(text: &str, keys: &[SessionKey]) -> Option<StoredWho> {
    let stored: StoredWho = match serde_json::from_str(text) {
        Ok(stored) => stored,
        Err(e) => {
            tracing::warn!(error = %e, "an unreadable signed-in record: treated as signed out");
            return None;
        }
    };
    if stored.vault_opens(keys) {
        Some(stored)
    } else {
        tracing::info!("a session sealed with an unknown key: treated as signed out");
        None
    }
}

/// The signed-in user of this session, if any, with the opened vault. A vault that cannot
/// be opened (sealed with a key no longer configured, or altered) counts as signed out.
pub(crate) async fn signed_in(
    session: &Session,
    keys: &[SessionKey],
) -> Result<Option<(SignedIn, TokenVault)>, AuthError> {
    let Some(who) = text_of(session, WHO).await? else {
        return Ok(None);
    };
    let Some(stored) = decode_who(&who, keys) else {
        return Ok(None);
    };
    let vault = text_of(session, VAULT).await?.unwrap_or_default();
    match TokenVault::open(&vault, keys) {
        Some(vault) => Ok(Some((stored.into_signed_in(), vault))),
        None => {
            tracing::info!("a session vault that does not open: treated as signed out");
            Ok(None)
        }
    }
}

/// Who a session's user is, as a protected request needs it: the principal requirements
/// are judged on, and the CSRF token of sign-out. The tokens are neither read nor
/// decrypted (a protected request rarely needs them).
#[derive(Debug)]
pub(crate) struct Who {
    pub(crate) principal: Arc<Principal>,
    pub(crate) csrf: String,
}

/// Decoded signed-in records by session id, each kept with the exact text it was decoded
/// from: a request whose record holds the same text (compared in full) reuses the decoded
/// [`Who`] instead of parsing the claims again. Any change to the record (sign-in,
/// consent, a vault sealed with another key) changes the text, and a session that ended
/// has no record, so an entry can never answer for anything but the text it came from.
pub(crate) struct WhoCache {
    entries: RwLock<HashMap<Id, (String, Arc<Who>)>>,
    capacity: usize,
}

impl WhoCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::default(),
            capacity,
        }
    }

    fn get(&self, id: &Id, text: &str) -> Option<Arc<Who>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let (seen, who) = entries.get(id)?;
        (seen == text).then(|| who.clone())
    }

    fn insert(&self, id: Id, text: String, who: Arc<Who>) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity
            && !entries.contains_key(&id)
            && let Some(evicted) = entries.keys().next().copied()
        {
            // Full: one arbitrary entry makes room (a later request decodes it again).
            entries.remove(&evicted);
        }
        entries.insert(id, (text, who));
    }

    /// How many sessions are kept decoded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The signed-in user of this session, if any, for judging requirements. Like
/// [`signed_in`], a vault sealed with a key no longer configured counts as signed out; a
/// vault whose ciphertext was altered is found out by [`signed_in`] when the tokens are
/// used: the seal protects the tokens' secrecy, while the user's claims sit beside it
/// unsealed in the same record, so decrypting here would prove nothing about them.
pub(crate) async fn who(
    session: &Session,
    keys: &[SessionKey],
    cache: &WhoCache,
) -> Result<Option<Arc<Who>>, AuthError> {
    let Some(text) = text_of(session, WHO).await? else {
        return Ok(None);
    };
    let id = session.id();
    if let Some(id) = &id
        && let Some(who) = cache.get(id, &text)
    {
        return Ok(Some(who));
    }
    let Some(who) = decode(&text, keys).map(Arc::new) else {
        return Ok(None);
    };
    if let Some(id) = id {
        cache.insert(id, text, who.clone());
    }
    Ok(Some(who))
}

/// Decodes a signed-in record without the cache: what a request costs the first time a
/// session is seen. `None`: unreadable, or its vault sealed with a key not configured.
pub(crate) fn decode(text: &str, keys: &[SessionKey]) -> Option<Who> {
    let signed_in = decode_who(text, keys)?.into_signed_in();
    Some(Who {
        principal: Arc::new(Principal::session(
            signed_in.user,
            signed_in.scopes,
            signed_in.declined,
        )),
        csrf: signed_in.csrf,
    })
}

/// The two texts a signed-in session stores: who (under `msal.who`) and the vault (under
/// `msal.vault`, sealed when a key is configured).
pub(crate) fn encode(
    signed_in: &SignedIn,
    vault: &TokenVault,
    keys: &[SessionKey],
) -> Result<(String, String), AuthError> {
    let (sealed, sealed_with) = vault.seal(keys).map_err(unavailable)?;
    let who = serde_json::to_string(&StoredWho::of(signed_in, sealed_with)).map_err(unavailable)?;
    Ok((who, sealed))
}

/// Stores an updated vault in the signed-in session, and saves it now.
pub(crate) async fn update_vault(
    session: &Session,
    keys: &[SessionKey],
    vault: &TokenVault,
) -> Result<(), AuthError> {
    let Some(text) = text_of(session, WHO).await? else {
        return Err(AuthError::NotSignedIn);
    };
    let mut stored = decode_who(&text, keys).ok_or(AuthError::NotSignedIn)?;
    let (sealed, sealed_with) = vault.seal(keys).map_err(unavailable)?;
    if stored.sealed_with != sealed_with {
        // Sealed with another key than before (a rotation): say so beside the user.
        stored.sealed_with = sealed_with;
        put_text(
            session,
            WHO,
            serde_json::to_string(&stored).map_err(unavailable)?,
        )
        .await?;
    }
    put_text(session, VAULT, sealed).await?;
    session.save().await.map_err(unavailable)
}

/// Stores `text` under `key` as one string value (see [`text_of`]).
async fn put_text(session: &Session, key: &str, text: String) -> Result<(), AuthError> {
    session
        .insert_value(key, serde_json::Value::String(text))
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Signs the user in: a new session id (no fixation), the user and the vault stored, saved
/// now so store failures surface as 503 here rather than after the response.
pub(crate) async fn sign_in(
    session: &Session,
    keys: &[SessionKey],
    signed_in: &SignedIn,
    vault: &TokenVault,
) -> Result<Id, AuthError> {
    let (who, sealed) = encode(signed_in, vault, keys)?;
    session.cycle_id().await.map_err(unavailable)?;
    put_text(session, WHO, who).await?;
    put_text(session, VAULT, sealed).await?;
    session.save().await.map_err(unavailable)?;
    session
        .id()
        .ok_or_else(|| unavailable("the store gave the session no id"))
}

/// Ends the session: the record is deleted and the cookie removed.
pub(crate) async fn sign_out(session: &Session) -> Result<(), AuthError> {
    session.flush().await.map_err(unavailable)
}

/// A record id derived from a secret value, so a flow or index is found by what names it.
fn derived_id(kind: &str, value: &str) -> Id {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update([0])
        .chain_update(value)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

fn expiry_in(d: Duration) -> OffsetDateTime {
    OffsetDateTime::now_utc() + d
}

impl MsalStore {
    /// Stores a single-use record of its own under a secret key (a flow's state, a code).
    pub(crate) async fn put_once<T: Serialize>(
        &self,
        kind: &str,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), AuthError> {
        let value = serde_json::to_value(value).map_err(unavailable)?;
        let mut record = Record {
            id: derived_id(kind, key),
            data: [("value".to_owned(), value)].into_iter().collect(),
            expiry_date: expiry_in(ttl),
        };
        let wanted = record.id;
        self.create(&mut record).await.map_err(unavailable)?;
        if record.id != wanted {
            // A 2^-128 collision: refuse rather than store it where nobody finds it.
            self.delete(&record.id).await.map_err(unavailable)?;
            return Err(unavailable("a one-time key collided; start again"));
        }
        Ok(())
    }

    /// Takes a record stored with [`put_once`](Self::put_once): found at most once.
    pub(crate) async fn take_once<T: DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
    ) -> Result<Option<T>, AuthError> {
        let id = derived_id(kind, key);
        let Some(record) = self.load(&id).await.map_err(unavailable)? else {
            return Ok(None);
        };
        self.delete(&id).await.map_err(unavailable)?;
        if record.expiry_date <= OffsetDateTime::now_utc() {
            return Ok(None);
        }
        Ok(record
            .data
            .get("value")
            .and_then(|v| serde_json::from_value(v.clone()).ok()))
    }

    /// Stores a pending flow under its state.
    pub(crate) async fn put_flow(&self, state: &str, flow: &PendingFlow) -> Result<(), AuthError> {
        self.put_once("flow", state, flow, FLOW_TTL).await
    }

    /// Takes a pending flow: found at most once.
    pub(crate) async fn take_flow(&self, state: &str) -> Result<Option<PendingFlow>, AuthError> {
        self.take_once("flow", state).await
    }

    /// Remembers which sessions belong to an identity-provider session (`sid`).
    pub(crate) async fn index_sid(
        &self,
        sid: &str,
        session: Id,
        lifetime: Duration,
    ) -> Result<(), AuthError> {
        let id = derived_id("sid", sid);
        let existing = self.load(&id).await.map_err(unavailable)?;
        let mut sessions: Vec<String> = existing
            .as_ref()
            .and_then(|r| r.data.get("sessions"))
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        sessions.push(session.to_string());
        let mut record = Record {
            id,
            data: [("sessions".to_owned(), serde_json::json!(sessions))]
                .into_iter()
                .collect(),
            expiry_date: expiry_in(lifetime),
        };
        if existing.is_some() {
            self.save(&record).await.map_err(unavailable)
        } else {
            self.create(&mut record).await.map_err(unavailable)
        }
    }

    /// Deletes every session of an identity-provider session; returns how many.
    pub(crate) async fn end_sid(&self, sid: &str) -> Result<usize, AuthError> {
        let id = derived_id("sid", sid);
        let Some(record) = self.load(&id).await.map_err(unavailable)? else {
            return Ok(0);
        };
        let sessions: Vec<String> = record
            .data
            .get("sessions")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let mut ended = 0;
        for session in sessions.iter().filter_map(|s| s.parse::<Id>().ok()) {
            self.delete(&session).await.map_err(unavailable)?;
            ended += 1;
        }
        self.delete(&id).await.map_err(unavailable)?;
        Ok(ended)
    }
}

/// The session store msal-axum uses: in memory, or Redis shared by every instance of the
/// app (chosen by `MSAL_SESSION_STORE`).
#[derive(Clone)]
pub struct MsalStore(StoreKind);

#[derive(Clone)]
enum StoreKind {
    Memory(MemoryStore),
    Redis(RedisStore<WithOptions<Pool>>),
}

impl fmt::Debug for MsalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            StoreKind::Memory(_) => "MsalStore::Memory",
            StoreKind::Redis(_) => "MsalStore::Redis",
        })
    }
}

impl MsalStore {
    /// Opens the configured store. An unreachable Redis is not fatal: it is retried in the
    /// background, and requests that need a session answer 503 meanwhile.
    pub(crate) async fn open(kind: &SessionStoreKind) -> Result<Self, String> {
        match kind {
            SessionStoreKind::Memory => Ok(MsalStore(StoreKind::Memory(MemoryStore::default()))),
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
                    .set_policy(tower_sessions_redis_store::fred::types::config::ReconnectPolicy::new_constant(0, 500))
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
                Ok(MsalStore(StoreKind::Redis(RedisStore::new(commands))))
            }
        }
    }
}

#[async_trait]
impl SessionStore for MsalStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.0 {
            StoreKind::Memory(s) => s.create(record).await,
            StoreKind::Redis(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.0 {
            StoreKind::Memory(s) => s.save(record).await,
            StoreKind::Redis(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match &self.0 {
            StoreKind::Memory(s) => s.load(id).await,
            StoreKind::Redis(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &self.0 {
            StoreKind::Memory(s) => s.delete(id).await,
            StoreKind::Redis(s) => s.delete(id).await,
        }
    }
}

#[cfg(test)]
#[path = "who_tests.rs"]
mod who_tests;
