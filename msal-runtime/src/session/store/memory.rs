//! The store in this process's memory, bounded: sessions keyed by id, single-use records and
//! the front-channel index, each a moka cache whose entries expire on their own deadline and
//! whose least recently used entries make room when it is full.
//!
//! Each kind has its own cap (`MSAL_MEMORY_SESSIONS_MAX` sessions, as many KiB of single-use
//! records, the index a little over twice as many entries), so what strangers can create
//! (pending sign-ins: one per `GET /auth/login`) never pushes out a signed-in session: a flood
//! of sign-ins that are never finished only evicts the oldest pending sign-ins, which then
//! answer "unknown sign-in, start again". The index holds only sessions that may be live
//! (leaving ones take their member with them); should it still overflow, the sessions of the
//! entry it drops end too, so a front-channel sign-out never misses one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::policy::{EvictionPolicy, Expiry};
use moka::sync::Cache;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::{indexed_sid, member, now, session_names};

/// Something stored until a deadline of its own.
trait Deadline {
    fn until(&self) -> OffsetDateTime;
}

impl Deadline for Arc<Record> {
    fn until(&self) -> OffsetDateTime {
        self.expiry_date
    }
}

/// A single-use record or an index entry: its content and when it ends.
#[derive(Clone)]
struct Until<T> {
    value: T,
    until: OffsetDateTime,
}

impl<T> Deadline for Arc<Until<T>> {
    fn until(&self) -> OffsetDateTime {
        self.until
    }
}

fn live<V: Deadline>(value: &V) -> bool {
    value.until() > now()
}

/// The time left until a deadline; none left for one that passed.
fn left(until: OffsetDateTime) -> Duration {
    Duration::try_from(until - now()).unwrap_or(Duration::ZERO)
}

/// Moka's expiry policy: every entry ends at its own deadline, set again on each write.
struct OnDeadline;

impl<K, V: Deadline> Expiry<K, V> for OnDeadline {
    fn expire_after_create(&self, _: &K, value: &V, _: Instant) -> Option<Duration> {
        Some(left(value.until()))
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &V,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(left(value.until()))
    }
}

/// A cache of at most `max` (entries, or weight with a weigher), each ending at its deadline. Plain LRU, without moka's
/// frequency-based admission: a new entry (a sign-in just made) is always kept, and the
/// least recently used one makes room.
fn bounded<K, V>(max: u64) -> moka::sync::CacheBuilder<K, V, Cache<K, V>>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Deadline + Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(max)
        .eviction_policy(EvictionPolicy::lru())
        .expire_after(OnDeadline)
}

/// What a single-use record weighs against the cap: one per started KiB, so the cap bounds
/// bytes too (a pending sign-in is under one; a Swagger code's tokens a few).
fn weight(_: &String, record: &Arc<Until<String>>) -> u32 {
    u32::try_from(record.value.len() / 1024 + 1).unwrap_or(u32::MAX)
}

/// An index entry once some of its members left: the rest, or nothing when none is left.
fn what_is_left(kept: Vec<String>, until: OffsetDateTime) -> Op<Arc<Until<Vec<String>>>> {
    if kept.is_empty() {
        Op::Remove
    } else {
        Op::Put(Arc::new(Until { value: kept, until }))
    }
}

/// The front-channel index: `sid` (derived) → members naming its sessions.
type Index = Cache<String, Arc<Until<Vec<String>>>>;

/// Takes session `id` (whose record is `record`) out of its `sid`'s index entry.
fn forget_member(sids: &Index, record: &Record, id: &Id) {
    let Some(name) = indexed_sid(record) else {
        return;
    };
    let gone = id.to_string();
    sids.entry(name).and_compute_with(|entry| {
        let Some(e) = entry else {
            return Op::Nop;
        };
        let kept: Vec<String> = e
            .value()
            .value
            .iter()
            .filter(|m| super::parse_member(m).is_none_or(|(name, _)| name != gone))
            .cloned()
            .collect();
        what_is_left(kept, e.value().until)
    });
}

/// Sessions, single-use records and the index, in this process.
pub(super) struct Memory {
    sessions: Cache<Id, Arc<Record>>,
    once: Cache<String, Arc<Until<String>>>,
    sids: Index,
}

impl Memory {
    /// A store keeping at most `max` sessions, `max` single-use records and `max` index
    /// entries.
    pub(super) fn new(max: u64) -> Self {
        // The index is built after the sessions, whose evictions prune it: set once, here.
        let index: Arc<std::sync::OnceLock<Index>> = Arc::default();
        let pruned = index.clone();
        // A session that leaves for room or time leaves the index too: the index names
        // only sessions that may still be live, so it never fills up with the dead.
        let sessions: Cache<Id, Arc<Record>> = bounded(max)
            .eviction_listener(move |id: Arc<Id>, record: Arc<Record>, cause| {
                use moka::notification::RemovalCause::{Expired, Size};
                if matches!(cause, Size | Expired)
                    && let Some(sids) = pruned.get()
                {
                    forget_member(sids, &record, &id);
                }
            })
            .build();
        let ended = sessions.clone();
        // Fail closed: an index entry pushed out for room takes its sessions with it, so a
        // front-channel sign-out can never miss a session it no longer finds. Pruned as
        // sessions leave, it holds about one entry per session; twice the sessions' cap and
        // some room for the moments before moka catches up with its evictions.
        let sids = bounded(max.saturating_mul(2).saturating_add(1024))
            .eviction_listener(move |_, entry: Arc<Until<Vec<String>>>, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    for id in session_names(&entry.value)
                        .iter()
                        .filter_map(|name| name.parse::<Id>().ok())
                    {
                        ended.invalidate(&id);
                    }
                }
            })
            .build();
        // Infallible: `index` was made empty above and is set only here.
        let _ = index.set(sids.clone());
        Self {
            sessions,
            once: bounded(max).weigher(weight).build(),
            sids,
        }
    }

    /// Makes the index entry of the record's `sid`, if it has one, last at least as long as
    /// the record.
    fn touch_sid(&self, record: &Record) {
        let Some(name) = indexed_sid(record) else {
            return;
        };
        self.sids.entry(name).and_compute_with(|entry| match entry {
            Some(e) if live(e.value()) && e.value().until < record.expiry_date => {
                Op::Put(Arc::new(Until {
                    value: e.value().value.clone(),
                    until: record.expiry_date,
                }))
            }
            _ => Op::Nop,
        });
    }

    /// Stores `value` under `name` unless a live record holds it; says whether it did.
    pub(super) fn put_once(&self, name: String, value: String, ttl: Duration) -> bool {
        let record = Arc::new(Until {
            value,
            until: now() + ttl,
        });
        let outcome = self.once.entry(name).and_compute_with(|entry| match entry {
            Some(e) if live(e.value()) => Op::Nop,
            _ => Op::Put(record),
        });
        !matches!(outcome, moka::ops::compute::CompResult::Unchanged(_))
    }

    /// Takes the record under `name`: of any number of concurrent takers, one gets it.
    pub(super) fn take_once(&self, name: &str) -> Option<String> {
        self.once
            .remove(name)
            .filter(live)
            .map(|record| record.value.clone())
    }

    pub(super) fn index_sid(&self, name: String, iss: &str, session: Id, until: OffsetDateTime) {
        let added = member(iss, &session.to_string());
        self.sids.entry(name).and_compute_with(|entry| {
            let (mut members, mut ends) = match entry {
                Some(e) if live(e.value()) => (e.value().value.clone(), e.value().until),
                _ => (Vec::new(), until),
            };
            if !members.contains(&added) {
                members.push(added);
            }
            ends = ends.max(until);
            Op::Put(Arc::new(Until {
                value: members,
                until: ends,
            }))
        });
    }

    /// Ends the sessions of the index entry `name` whose members `fits`; returns their names.
    pub(super) fn end_sid(&self, name: String, fits: impl Fn(&str) -> bool) -> Vec<String> {
        let mut ended = Vec::new();
        // One step on the entry: a concurrent sign-out finds nothing left to end twice.
        self.sids.entry(name).and_compute_with(|entry| {
            let Some(e) = entry.filter(|e| live(e.value())) else {
                return Op::Remove;
            };
            let (gone, kept): (Vec<String>, Vec<String>) =
                e.value().value.iter().cloned().partition(|m| fits(m));
            ended = gone;
            what_is_left(kept, e.value().until)
        });
        let names = session_names(&ended);
        for id in names.iter().filter_map(|name| name.parse::<Id>().ok()) {
            self.sessions.invalidate(&id);
        }
        names
    }

    pub(super) fn create(&self, record: &mut Record) {
        loop {
            let stored = Arc::new(record.clone());
            let outcome = self
                .sessions
                .entry(record.id)
                .and_compute_with(|entry| match entry {
                    Some(e) if live(e.value()) => Op::Nop,
                    _ => Op::Put(stored),
                });
            if !matches!(outcome, moka::ops::compute::CompResult::Unchanged(_)) {
                break;
            }
            // An id already taken (a 128-bit collision): draw another.
            record.id = Id::default();
        }
        self.touch_sid(record);
    }

    /// Replaces a live record; a deleted, expired or evicted one stays gone.
    pub(super) fn save(&self, record: &Record) {
        let stored = Arc::new(record.clone());
        let outcome = self
            .sessions
            .entry(record.id)
            .and_compute_with(|entry| match entry {
                Some(e) if live(e.value()) => Op::Put(stored),
                _ => Op::Nop,
            });
        if matches!(outcome, moka::ops::compute::CompResult::ReplacedWith(_)) {
            self.touch_sid(record);
        }
    }

    pub(super) fn load(&self, id: &Id) -> Option<Record> {
        self.peek(id).map(|record| Record::clone(&record))
    }

    /// The live record of `id`, shared.
    pub(super) fn peek(&self, id: &Id) -> Option<Arc<Record>> {
        self.sessions.get(id).filter(live)
    }

    /// Deletes the record, and its member of the front-channel index: what is left there
    /// names only sessions that may still be live.
    pub(super) fn delete(&self, id: &Id) {
        let Some(record) = self.sessions.remove(id) else {
            return;
        };
        forget_member(&self.sids, &record, id);
    }

    /// How many sessions, single-use records and index entries are held, once moka has
    /// caught up with its pending evictions.
    #[cfg(test)]
    pub(super) fn counts(&self) -> (u64, u64, u64) {
        self.sessions.run_pending_tasks();
        self.once.run_pending_tasks();
        self.sids.run_pending_tasks();
        (
            self.sessions.entry_count(),
            self.once.entry_count(),
            self.sids.entry_count(),
        )
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
