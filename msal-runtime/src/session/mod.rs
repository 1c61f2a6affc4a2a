//! What lives server-side: the signed-in user (in the tower-sessions session), pending
//! sign-in flows and the front-channel index (as records of their own in the same store), and
//! the store itself (memory or Redis).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use tower_sessions::session::Id;

mod binding;
mod cookie;
mod records;
mod seal;
mod store;
mod vault;

pub(crate) use binding::AppBinding;
pub(crate) use cookie::SessionCookie;

pub use store::MsalStore;
pub(crate) use store::{LOCK_TTL, StoreLock};
pub(crate) use vault::{CachedToken, TokenVault};

use crate::config::{IssuerRule, MsalConfig, SessionKey};
use crate::error::AuthError;
use crate::principal::{Principal, User};
use seal::Purpose;
use store::SID_FIELD;

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
    /// Group memberships looked up in Microsoft Graph (group overage), when they were.
    pub(crate) groups: Option<LookedUpGroups>,
    /// The claims challenge this sign-in answered, if it answered one.
    pub(crate) answered: Option<AnsweredClaims>,
    /// The `acr` step-ups of this sign-in and the ones just before it, oldest first.
    pub(crate) stepped_up: Vec<AnsweredStepUp>,
}

/// An `acr` step-up a sign-in answered (`acr_values`), and when (seconds since the epoch).
/// A session holds one `acr`: two requirements wanting different ones (a layer and its
/// handler, say) would send the browser back and forth between them for ever.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AnsweredStepUp {
    pub(crate) acr_values: Vec<String>,
    pub(crate) at: i64,
}

/// How many chained step-ups a session remembers.
const STEP_UPS_KEPT: usize = 4;

impl AnsweredStepUp {
    /// The chain after a sign-in that answered `acr_values` (none: the chain ends), from
    /// the chain of the same user's session before it.
    pub(crate) fn chain(before: Vec<Self>, acr_values: &[String], now: i64) -> Vec<Self> {
        if acr_values.is_empty() {
            return Vec::new();
        }
        let mut chain: Vec<Self> = before
            .into_iter()
            .filter(|s| now.saturating_sub(s.at) < ANSWER_HOLDS_FOR)
            .collect();
        chain.push(AnsweredStepUp {
            acr_values: acr_values.to_vec(),
            at: now,
        });
        let extra = chain.len().saturating_sub(STEP_UPS_KEPT);
        chain.drain(..extra);
        chain
    }

    /// Whether asking for `acr_values` again goes round in a circle: this session's chain of
    /// step-ups answered them a moment ago, and something asked for another level since.
    pub(crate) fn loops(chain: &[Self], acr_values: &[String]) -> bool {
        let now = crate::validate::now();
        chain
            .iter()
            .any(|s| s.acr_values == acr_values && now.saturating_sub(s.at) < ANSWER_HOLDS_FOR)
    }
}

/// A claims challenge a sign-in answered, and when (seconds since the epoch): the same
/// challenge again soon after is a loop the provider will not end, not a new request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AnsweredClaims {
    pub(crate) claims: String,
    pub(crate) at: i64,
}

/// How long after answering a claims challenge the same challenge counts as a loop.
const ANSWER_HOLDS_FOR: i64 = 600;

impl AnsweredClaims {
    /// Whether `claims` is the challenge this sign-in answered a moment ago: asking the
    /// user to answer it again would only ask again.
    pub(crate) fn repeated_by(answered: Option<&Self>, claims: &str) -> bool {
        answered.is_some_and(|a| {
            a.claims == claims && crate::validate::now().saturating_sub(a.at) < ANSWER_HOLDS_FOR
        })
    }
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

/// Group memberships of a user whose token could not carry them, as Microsoft Graph
/// answered, and when (seconds since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LookedUpGroups {
    pub(crate) ids: Vec<String>,
    pub(crate) at: i64,
}

/// How long group memberships looked up in Graph are trusted: as long as a token's would be.
pub(crate) const GROUPS_FRESH_FOR: Duration = Duration::from_secs(3600);

/// [`SignedIn`] as the session stores it, as one JSON text: the app (client id) it was made
/// for, the ID token's claims once, whose `iss` and `tid` say which issuer and tenant (the
/// typed fields of [`User`] are derived from them on load), and the
/// id of the key that sealed the vault, so a protected request can tell a vault nobody can
/// open without reading it.
#[derive(Serialize, Deserialize)]
struct StoredWho {
    /// The client id of the app that made it. A record without one comes from before
    /// records were bound to their app: signed out.
    #[serde(default)]
    made_for: Option<String>,
    claims: serde_json::Map<String, serde_json::Value>,
    csrf: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    declined: Vec<String>,
    #[serde(default)]
    sealed_with: Option<String>,
    #[serde(default)]
    groups: Option<LookedUpGroups>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answered: Option<AnsweredClaims>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stepped_up: Vec<AnsweredStepUp>,
}

impl StoredWho {
    fn of(signed_in: &SignedIn, app: &AppBinding, sealed_with: Option<String>) -> Self {
        Self {
            made_for: Some(app.client_id.clone()),
            claims: signed_in.user.claims.clone(),
            csrf: signed_in.csrf.clone(),
            scopes: signed_in.scopes.clone(),
            declined: signed_in.declined.clone(),
            sealed_with,
            groups: signed_in.groups.clone(),
            answered: signed_in.answered.clone(),
            stepped_up: signed_in.stepped_up.clone(),
        }
    }

    fn into_signed_in(self) -> SignedIn {
        SignedIn {
            user: User::from_claims(self.claims),
            csrf: self.csrf,
            scopes: self.scopes,
            declined: self.declined,
            groups: self.groups,
            answered: self.answered,
            stepped_up: self.stepped_up,
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
    /// The claims request this sign-in answers (JSON), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) claims: Option<String>,
    /// The `login_hint` it started with, for a second round the provider asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) login_hint: Option<String>,
    /// The step-up's `max_age` (seconds), which the ID token's `auth_time` must meet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_age: Option<u64>,
    /// The step-up's `acr_values`, one of which the ID token's `acr` must be.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) acr_values: Vec<String>,
    /// It asked with `prompt=login`: a provider that still reused an older sign-in is not
    /// asked again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) prompt_login: bool,
}

impl fmt::Debug for PendingFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingFlow")
            .field("next", &self.next)
            .field("extra_scopes", &self.extra_scopes)
            .finish_non_exhaustive()
    }
}

/// What Swagger UI's authorization request asked for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SwaggerRequest {
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
}

fn unavailable(e: impl fmt::Display) -> AuthError {
    AuthError::StoreUnavailable(e.to_string())
}

/// The text a session value holds; a value of another shape (a record from an older
/// version) counts as absent: signed out, never an error.
fn as_text<'a>(value: Option<&'a serde_json::Value>, key: &str) -> Option<&'a str> {
    match value? {
        serde_json::Value::String(text) => Some(text),
        _ => {
            tracing::info!(
                key,
                "a session value of an unknown shape: treated as signed out"
            );
            None
        }
    }
}

/// The text stored under `key` in the request's session (see [`as_text`]).
async fn text_of(session: &Session, key: &str) -> Result<Option<String>, AuthError> {
    let value = session.get_value(key).await.map_err(unavailable)?;
    Ok(as_text(value.as_ref(), key).map(str::to_owned))
}

/// The record of who is signed in, decoded; `None` when nobody is, when it was made for
/// another app, or when the vault was sealed with a key no longer configured (signed out).
fn decode_who(text: &str, keys: &[SessionKey], app: &AppBinding) -> Option<StoredWho> {
    let stored: StoredWho = match serde_json::from_str(text) {
        Ok(stored) => stored,
        Err(e) => {
            tracing::warn!(error = %e, "an unreadable signed-in record: treated as signed out");
            return None;
        }
    };
    if let Some(why) = app.refuses(&stored) {
        tracing::warn!(
            why,
            "a session record this app does not accept: treated as signed out"
        );
        return None;
    }
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
    app: &AppBinding,
) -> Result<Option<(SignedIn, TokenVault)>, AuthError> {
    let Some(who) = text_of(session, WHO).await? else {
        return Ok(None);
    };
    let Some(stored) = decode_who(&who, keys, app) else {
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
/// decrypted (a protected request rarely needs them). `Debug` never shows the CSRF token.
pub(crate) struct Who {
    pub(crate) principal: Arc<Principal>,
    pub(crate) csrf: String,
    /// When group memberships looked up in Graph stop being trusted (seconds since the
    /// epoch): a cached entry past it is decoded again, and the groups looked up again.
    pub(crate) groups_until: Option<i64>,
}

impl fmt::Debug for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Who")
            .field("principal", &self.principal)
            .field("csrf", &"[REDACTED]")
            .field("groups_until", &self.groups_until)
            .finish()
    }
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
        // Looked-up groups age out even while the record stays the same.
        let stale = who
            .groups_until
            .is_some_and(|until| crate::validate::now() >= until);
        (seen == text && !stale).then(|| who.clone())
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
/// [`signed_in`], a record of another app, or whose vault was sealed with a key no longer
/// configured, counts as signed out; a vault whose ciphertext was altered is found out by
/// [`signed_in`] when the tokens are used: the seal protects the tokens' secrecy, while the
/// user's claims sit beside it unsealed in the same record, so decrypting here would prove
/// nothing about them.
///
/// The record is read from the store as it is now (one look-up, nothing copied), not
/// through the request's [`Session`]: a protected request only reads it, and a session ended
/// anywhere is gone from the store for every instance at once.
pub(crate) async fn who(
    session: &Session,
    store: &MsalStore,
    keys: &[SessionKey],
    app: &AppBinding,
    cache: &WhoCache,
) -> Result<Option<Arc<Who>>, AuthError> {
    let Some(id) = session.id() else {
        return Ok(None);
    };
    let Some(record) = store.peek(&id).await? else {
        return Ok(None);
    };
    let Some(text) = as_text(record.data.get(WHO), WHO) else {
        return Ok(None);
    };
    if let Some(who) = cache.get(&id, text) {
        return Ok(Some(who));
    }
    let Some(who) = decode(text, keys, app).map(Arc::new) else {
        return Ok(None);
    };
    cache.insert(id, text.to_owned(), who.clone());
    Ok(Some(who))
}

/// Decodes a signed-in record without the cache: what a request costs the first time a
/// session is seen. `None`: unreadable, made for another app, or its vault sealed with a
/// key not configured.
pub(crate) fn decode(text: &str, keys: &[SessionKey], app: &AppBinding) -> Option<Who> {
    let signed_in = decode_who(text, keys, app)?.into_signed_in();
    let fresh_for = i64::try_from(GROUPS_FRESH_FOR.as_secs()).unwrap_or(i64::MAX);
    let fresh_groups = signed_in
        .groups
        .as_ref()
        .map(|g| (g, g.at.saturating_add(fresh_for)))
        .filter(|(_, until)| crate::validate::now() < *until);
    let mut principal = Principal::session(
        signed_in.user,
        signed_in.scopes,
        signed_in.declined,
        app.this_api(),
    );
    let mut groups_until = None;
    if principal.groups_unknown()
        && let Some((groups, until)) = fresh_groups
    {
        principal = principal.with_groups(groups.ids.clone());
        groups_until = Some(until);
    }
    Some(Who {
        principal: Arc::new(principal),
        csrf: signed_in.csrf,
        groups_until,
    })
}

/// The two texts a signed-in session stores: who (under `msal.who`) and the vault (under
/// `msal.vault`, sealed when a key is configured).
pub(crate) fn encode(
    signed_in: &SignedIn,
    vault: &TokenVault,
    keys: &[SessionKey],
    app: &AppBinding,
) -> Result<(String, String), AuthError> {
    let (sealed, sealed_with) = vault.seal(keys).map_err(unavailable)?;
    let who =
        serde_json::to_string(&StoredWho::of(signed_in, app, sealed_with)).map_err(unavailable)?;
    Ok((who, sealed))
}

/// Stores an updated vault in the signed-in session, and saves it now.
pub(crate) async fn update_vault(
    session: &Session,
    keys: &[SessionKey],
    app: &AppBinding,
    vault: &TokenVault,
) -> Result<(), AuthError> {
    let Some(text) = text_of(session, WHO).await? else {
        return Err(AuthError::NotSignedIn);
    };
    let mut stored = decode_who(&text, keys, app).ok_or(AuthError::NotSignedIn)?;
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

/// Remembers the group memberships Graph answered for the signed-in user, and saves now.
pub(crate) async fn remember_groups(
    session: &Session,
    keys: &[SessionKey],
    app: &AppBinding,
    groups: Vec<String>,
) -> Result<(), AuthError> {
    let Some(text) = text_of(session, WHO).await? else {
        return Err(AuthError::NotSignedIn);
    };
    let mut stored = decode_who(&text, keys, app).ok_or(AuthError::NotSignedIn)?;
    stored.groups = Some(LookedUpGroups {
        ids: groups,
        at: crate::validate::now(),
    });
    put_text(
        session,
        WHO,
        serde_json::to_string(&stored).map_err(unavailable)?,
    )
    .await?;
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
/// now so store failures surface as 503 here rather than after the response. With the
/// provider's session id (`sid`), the front-channel index names this session from now on
/// for as long as it lives.
pub(crate) async fn sign_in(
    session: &Session,
    store: &MsalStore,
    keys: &[SessionKey],
    app: &AppBinding,
    signed_in: &SignedIn,
    vault: &TokenVault,
) -> Result<Id, AuthError> {
    let (who, sealed) = encode(signed_in, vault, keys, app)?;
    session.cycle_id().await.map_err(unavailable)?;
    put_text(session, WHO, who).await?;
    put_text(session, VAULT, sealed).await?;
    let sid = signed_in.user.sid.as_deref().filter(|s| !s.is_empty());
    if let Some(sid) = sid {
        put_text(session, SID_FIELD, sid.to_owned()).await?;
    }
    session.save().await.map_err(unavailable)?;
    let id = session
        .id()
        .ok_or_else(|| unavailable("the store gave the session no id"))?;
    if let Some(sid) = sid {
        store
            .index_sid(sid, &signed_in.user.iss, id, session.expiry_date())
            .await?;
    }
    Ok(id)
}

/// Ends the session: the record is deleted and the cookie removed.
pub(crate) async fn sign_out(session: &Session) -> Result<(), AuthError> {
    session.flush().await.map_err(unavailable)
}

#[cfg(test)]
#[path = "who_tests.rs"]
mod who_tests;
