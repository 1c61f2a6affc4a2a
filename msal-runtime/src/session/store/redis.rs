//! The store in Redis (cargo feature `redis`), shared by every instance of the app: every key
//! under the app's namespace, sessions named by a digest of their id.
//!
//! The commands are those of Redis 3.2 and later (`SET … EX|PX NX|XX`, `SPOP` with a count,
//! `EVAL`), so older managed Redis services work too.
//!
//! Every command touches exactly one key (a script names its one key, hashed by it), so the
//! same commands work on a Redis Cluster: the keys carry no hash tag and spread over its
//! nodes. Over TLS (`rediss`, `rediss-cluster`) the server is trusted by the webpki-roots
//! public CAs, or by `MSAL_REDIS_CA_FILE` alone; in a cluster, nodes announced by IP address
//! are checked against the host name of the URL (as managed clusters expect).

use std::sync::Arc;
use std::time::Duration;

use fred::clients::WithOptions;
use fred::interfaces::{ClientLike, KeysInterface, SetsInterface};
use fred::prelude::{Config as RedisConfig, Pool};
use fred::types::config::{Options as RedisOptions, TlsConfig, TlsConnector, TlsHostMapping};
use fred::types::{
    Builder as RedisBuilder, ClusterHash, CustomCommand, Expiration, SetOptions,
    Value as RedisValue,
};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use url::Url;

use super::{indexed_sid, member, now, session_name, session_names};
use crate::config::{RedisCa, redis_is_cluster, redis_is_tls, redis_without_tls};

/// Takes a key's value and deletes it in one step (what `GETDEL` does on Redis 6.2+).
const TAKE_SCRIPT: &str =
    "local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) end return v";

/// Lengthens a key's time to live to ARGV[1] seconds, never shortens it (what `EXPIRE … GT`
/// does on Redis 7+); a missing key stays missing.
const EXTEND_SCRIPT: &str = "local t = redis.call('TTL', KEYS[1]) if t == -2 then return 0 end \
     if t < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return 1";

/// Deletes a lock if it still holds its holder's token (ARGV[1]): a lock that expired and
/// was taken by another holder stays theirs.
const UNLOCK_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) end return 0";

/// Gives a lock that still holds its holder's token (ARGV[1]) ARGV[2] milliseconds more.
const RENEW_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/// How many MOVED/ASK redirections a cluster command follows before it fails.
const REDIRECTIONS: u32 = 3;

/// Seconds from now until `until`, at least one (Redis refuses a zero time to live).
fn seconds_until(until: OffsetDateTime) -> i64 {
    (until - now()).whole_seconds().max(1)
}

/// TLS to Redis with ring (the provider reqwest uses here too), trusting `ca` alone or else
/// the webpki-roots public CAs.
fn tls_client(ca: Option<&RedisCa>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(ca) => {
            for certificate in &ca.certificates {
                roots
                    .add(certificate.clone())
                    .map_err(|e| format!("MSAL_REDIS_CA_FILE: {e}"))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS to Redis: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Sessions, single-use records and the index in Redis, under the app's namespace.
pub(super) struct Redis {
    commands: WithOptions<Pool>,
    namespace: String,
}

impl Redis {
    /// Connects to `url`, over TLS trusting `ca` alone when given. An unreachable Redis (or
    /// one whose certificate is not trusted) is not fatal: it is retried in the background,
    /// and requests that need a session answer 503 meanwhile.
    pub(super) async fn open(
        url: &Url,
        ca: Option<&RedisCa>,
        namespace: &str,
    ) -> Result<Self, String> {
        let tls = redis_is_tls(url);
        let mut config = RedisConfig::from_url(redis_without_tls(url)?.as_str())
            .map_err(|e| format!("MSAL_SESSION_STORE is not a usable Redis URL: {e}"))?;
        if tls {
            config.tls = Some(TlsConfig {
                connector: TlsConnector::from(tls_client(ca)?),
                hostnames: if redis_is_cluster(url) {
                    TlsHostMapping::DefaultHost
                } else {
                    TlsHostMapping::None
                },
            });
        } else if ca.is_some() {
            // The configuration refuses this; never connect in plain text believing otherwise.
            return Err(
                "MSAL_REDIS_CA_FILE is set, but MSAL_SESSION_STORE is not rediss://".into(),
            );
        }
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
            Ok(Err(e)) if tls && e.to_string().contains("certificate") => {
                tracing::error!(
                    error = %e,
                    "Redis's TLS certificate is not trusted; sessions answer 503 until it is: \
                     for a private CA set MSAL_REDIS_CA_FILE to its PEM file"
                )
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "Redis unreachable; sessions answer 503 until it is back")
            }
            Err(_) => {
                tracing::error!("Redis did not answer within 3s; sessions answer 503 until it does")
            }
        }
        // Commands fail at once while the connection is down (503 without waiting), and
        // otherwise get a generous time limit: under load a healthy Redis answers in
        // milliseconds, but this process may take seconds to read the answer.
        //
        // In a cluster a command may be answered MOVED or ASK (its slot moved: a failover, a
        // resharding, or a topology this client has not learned yet). Such a reply means the
        // command did not run, so it is sent again to the node named, up to REDIRECTIONS
        // times; each sending is an attempt to fred. A command in flight when a connection
        // drops is still failed, never sent twice (`fail_fast`).
        let (max_attempts, max_redirections) = if redis_is_cluster(url) {
            (1 + REDIRECTIONS, REDIRECTIONS)
        } else {
            (1, 0)
        };
        let commands = pool.with_options(&RedisOptions {
            fail_fast: true,
            max_attempts: Some(max_attempts),
            max_redirections: Some(max_redirections),
            timeout: Some(Duration::from_secs(10)),
            ..RedisOptions::default()
        });
        Ok(Self {
            commands,
            namespace: namespace.to_owned(),
        })
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.namespace)
    }

    fn session_key(&self, id: &Id) -> String {
        self.key(&session_name(id))
    }

    async fn set_record(&self, record: &Record, options: SetOptions) -> Result<bool, String> {
        let bytes = rmp_serde::to_vec(record).map_err(text)?;
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
            .map_err(text)?;
        Ok(stored.is_some())
    }

    /// Runs a script over one key (hashed by that key in a cluster).
    async fn eval<R: fred::types::FromValue>(
        &self,
        script: &'static str,
        key: &str,
        args: &[RedisValue],
    ) -> Result<R, String> {
        let mut all = vec![
            RedisValue::from(script),
            RedisValue::from(1i64),
            RedisValue::from(key),
        ];
        all.extend_from_slice(args);
        // The slot is the key's, given as such: fred 10.1 honours only `ClusterHash::Custom`
        // for a custom command (with `Offset(2)` it hashes the script text instead, and a
        // cluster answers MOVED).
        self.commands
            .custom(
                CustomCommand::new_static("EVAL", ClusterHash::from(key), false),
                all,
            )
            .await
            .map_err(text)
    }

    /// Makes the front-channel index `key` live at least until `until`.
    async fn extend(&self, key: &str, until: OffsetDateTime) -> Result<(), String> {
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
        match indexed_sid(record) {
            Some(name) => self.extend(&self.key(&name), record.expiry_date).await,
            None => Ok(()),
        }
    }

    /// Stores `value` under `name` unless a record holds it; says whether it did.
    pub(super) async fn put_once(
        &self,
        name: &str,
        value: String,
        ttl: Duration,
    ) -> Result<bool, String> {
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let stored: Option<String> = self
            .commands
            .set(
                self.key(name),
                value,
                Some(Expiration::PX(millis)),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(text)?;
        Ok(stored.is_some())
    }

    /// Takes the lock `name` for `ttl` with the holder's `token` unless another holds it;
    /// says whether it did.
    pub(super) async fn try_lock(
        &self,
        name: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, String> {
        self.put_once(name, token.to_owned(), ttl).await
    }

    /// Gives the lock `name`, if `token` still holds it, `ttl` more; says whether it did.
    pub(super) async fn renew_lock(
        &self,
        name: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, String> {
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let renewed: i64 = self
            .eval(
                RENEW_SCRIPT,
                &self.key(name),
                &[RedisValue::from(token), RedisValue::from(millis)],
            )
            .await?;
        Ok(renewed == 1)
    }

    /// Deletes the lock `name` if `token` still holds it; says whether it did.
    pub(super) async fn unlock(&self, name: &str, token: &str) -> Result<bool, String> {
        let deleted: i64 = self
            .eval(UNLOCK_SCRIPT, &self.key(name), &[RedisValue::from(token)])
            .await?;
        Ok(deleted == 1)
    }

    pub(super) async fn take_once(&self, name: &str) -> Result<Option<String>, String> {
        self.eval(TAKE_SCRIPT, &self.key(name), &[]).await
    }

    pub(super) async fn index_sid(
        &self,
        name: &str,
        iss: &str,
        session: &Id,
        until: OffsetDateTime,
    ) -> Result<(), String> {
        let key = self.key(name);
        let _: i64 = self
            .commands
            .sadd(&key, member(iss, &session_name(session)))
            .await
            .map_err(text)?;
        self.extend(&key, until).await
    }

    /// Ends the sessions of the index entry `name` whose members `fits`; returns their names.
    pub(super) async fn end_sid(
        &self,
        name: &str,
        fits: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, String> {
        let key = self.key(name);
        let members: Vec<String> = self.commands.smembers(&key).await.map_err(text)?;
        let ended: Vec<String> = members.into_iter().filter(|m| fits(m)).collect();
        let mut names = Vec::with_capacity(ended.len());
        // Each session is deleted before its member leaves the index: when Redis fails
        // half-way the sign-out answers 503 and the provider's retry finds what is left, so
        // a failure never leaves a session alive that nothing names any more. Sessions of
        // another issuer under the same `sid` keep their members.
        for m in &ended {
            let Some(session) = session_names(std::slice::from_ref(m)).pop() else {
                continue;
            };
            let _: i64 = self.commands.del(self.key(&session)).await.map_err(text)?;
            let _: i64 = self.commands.srem(&key, m.as_str()).await.map_err(text)?;
            names.push(session);
        }
        Ok(names)
    }

    pub(super) async fn create(&self, record: &mut Record) -> Result<(), String> {
        while !self.set_record(record, SetOptions::NX).await? {
            record.id = Id::default();
        }
        self.touch_sid(record).await
    }

    pub(super) async fn save(&self, record: &Record) -> Result<(), String> {
        if self.set_record(record, SetOptions::XX).await? {
            self.touch_sid(record).await?;
        }
        Ok(())
    }

    /// The record, if Redis holds one that has not expired.
    pub(super) async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let bytes: Option<Vec<u8>> = self
            .commands
            .get(self.session_key(id))
            .await
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        bytes
            .map(|b| {
                rmp_serde::from_slice(&b).map_err(|e| session_store::Error::Decode(e.to_string()))
            })
            .transpose()
    }

    pub(super) async fn delete(&self, id: &Id) -> Result<(), String> {
        let _: i64 = self
            .commands
            .del(self.session_key(id))
            .await
            .map_err(text)?;
        Ok(())
    }
}
