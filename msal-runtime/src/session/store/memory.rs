//! The store in this process's memory: sessions keyed by id, single-use records and the
//! front-channel index, each behind its own lock.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::{indexed_sid, member, now, session_names};

/// Sessions, single-use records and the index, in this process.
#[derive(Default)]
pub(super) struct Memory {
    sessions: Mutex<HashMap<Id, Record>>,
    once: Mutex<HashMap<String, (String, OffsetDateTime)>>,
    sids: Mutex<HashMap<String, (Vec<String>, OffsetDateTime)>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Memory {
    fn touch_sid(&self, record: &Record) {
        let Some(name) = indexed_sid(record) else {
            return;
        };
        if let Some((_, until)) = locked(&self.sids).get_mut(&name) {
            *until = (*until).max(record.expiry_date);
        }
    }

    /// Stores `value` under `name` unless a live record holds it; says whether it did.
    pub(super) fn put_once(&self, name: String, value: String, ttl: Duration) -> bool {
        let mut once = locked(&self.once);
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

    pub(super) fn take_once(&self, name: &str) -> Option<String> {
        locked(&self.once)
            .remove(name)
            .filter(|(_, until)| *until > now())
            .map(|(value, _)| value)
    }

    pub(super) fn index_sid(&self, name: String, iss: &str, session: Id, until: OffsetDateTime) {
        let mut sids = locked(&self.sids);
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
    }

    /// Ends the sessions of the index entry `name` whose members `fits`; returns their names.
    pub(super) fn end_sid(&self, name: String, fits: impl Fn(&str) -> bool) -> Vec<String> {
        let mut sids = locked(&self.sids);
        let Some((members, until)) = sids.remove(&name) else {
            return Vec::new();
        };
        if until <= now() {
            return Vec::new();
        }
        let (ended, kept): (Vec<String>, Vec<String>) = members.into_iter().partition(|m| fits(m));
        if !kept.is_empty() {
            sids.insert(name, (kept, until));
        }
        drop(sids);
        let mut sessions = locked(&self.sessions);
        let names = session_names(&ended);
        for id in names.iter().filter_map(|name| name.parse::<Id>().ok()) {
            sessions.remove(&id);
        }
        names
    }

    pub(super) fn create(&self, record: &mut Record) {
        let mut sessions = locked(&self.sessions);
        while sessions.contains_key(&record.id) {
            record.id = Id::default();
        }
        sessions.insert(record.id, record.clone());
        drop(sessions);
        self.touch_sid(record);
    }

    pub(super) fn save(&self, record: &Record) {
        let mut sessions = locked(&self.sessions);
        if let Some(existing) = sessions.get_mut(&record.id)
            && existing.expiry_date > now()
        {
            *existing = record.clone();
            drop(sessions);
            self.touch_sid(record);
        }
    }

    pub(super) fn load(&self, id: &Id) -> Option<Record> {
        locked(&self.sessions)
            .get(id)
            .filter(|r| r.expiry_date > now())
            .cloned()
    }

    pub(super) fn delete(&self, id: &Id) {
        locked(&self.sessions).remove(id);
    }
}
