//! The memory store stays bounded: a flood of pending sign-ins keeps the newest, never more
//! than the cap, and never costs a signed-in session; expired records stay gone.

use std::time::Duration;

use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::Memory;
use crate::session::store::{SID_FIELD, derived};

const TEN_MINUTES: Duration = Duration::from_secs(600);

fn record(expiry: OffsetDateTime) -> Record {
    Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: expiry,
    }
}

fn in_an_hour() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::hours(1)
}

#[test]
fn a_flood_of_pending_sign_ins_keeps_the_newest_and_never_more_than_the_cap() {
    let store = Memory::new(100);
    for i in 0..2_000 {
        assert!(store.put_once(format!("flow:{i}"), format!("v{i}"), TEN_MINUTES));
    }
    let (_, once, _) = store.counts();
    assert!(once <= 100, "{once} pending records held; the cap is 100");
    // The oldest went first: the last fifty are all there, the first thousand are gone.
    for i in 1_950..2_000 {
        assert_eq!(
            store.take_once(&format!("flow:{i}")).as_deref(),
            Some(format!("v{i}").as_str()),
            "flow {i}"
        );
    }
    for i in 0..1_000 {
        assert_eq!(store.take_once(&format!("flow:{i}")), None, "flow {i}");
    }
}

#[test]
fn a_flood_of_pending_sign_ins_never_costs_a_signed_in_session() {
    let store = Memory::new(50);
    let mut signed_in = record(in_an_hour());
    store.create(&mut signed_in);
    for i in 0..5_000 {
        store.put_once(format!("flow:{i}"), String::new(), TEN_MINUTES);
    }
    assert!(store.load(&signed_in.id).is_some());
}

#[test]
fn sessions_past_the_cap_evict_the_least_recently_used() {
    let store = Memory::new(100);
    let mut ids = Vec::new();
    for _ in 0..1_000 {
        let mut r = record(in_an_hour());
        store.create(&mut r);
        ids.push(r.id);
    }
    let (sessions, _, _) = store.counts();
    assert!(sessions <= 100, "{sessions} sessions held; the cap is 100");
    assert!(
        store.load(&ids[999]).is_some(),
        "the newest session is kept"
    );
    assert!(
        store.load(&ids[0]).is_none(),
        "the oldest session made room"
    );
}

#[test]
fn a_single_use_record_is_taken_once_and_not_after_its_time() {
    let store = Memory::new(10);
    assert!(store.put_once("code:a".into(), "x".into(), TEN_MINUTES));
    assert!(
        !store.put_once("code:a".into(), "y".into(), TEN_MINUTES),
        "a live record is never overwritten"
    );
    assert_eq!(store.take_once("code:a").as_deref(), Some("x"));
    assert_eq!(store.take_once("code:a"), None);

    assert!(store.put_once("code:b".into(), "x".into(), Duration::ZERO));
    assert_eq!(store.take_once("code:b"), None, "an expired record is gone");
}

#[test]
fn a_deleted_or_expired_session_is_not_brought_back_by_a_late_save() {
    let store = Memory::new(10);
    let mut r = record(in_an_hour());
    store.create(&mut r);
    store.delete(&r.id);
    store.save(&r);
    assert!(store.load(&r.id).is_none(), "deleted stays deleted");

    let mut old = record(OffsetDateTime::now_utc() - time::Duration::seconds(1));
    store.create(&mut old);
    assert!(
        store.load(&old.id).is_none(),
        "an expired record is never loaded"
    );
}

#[test]
fn ending_a_sid_ends_only_the_sessions_of_its_issuer() {
    let store = Memory::new(10);
    let mut mine = record(in_an_hour());
    mine.data.insert(SID_FIELD.into(), "sid-1".into());
    let mut theirs = record(in_an_hour());
    theirs.data.insert(SID_FIELD.into(), "sid-1".into());
    store.create(&mut mine);
    store.create(&mut theirs);
    let name = derived("sid", "sid-1");
    store.index_sid(name.clone(), "https://a", mine.id, in_an_hour());
    store.index_sid(name.clone(), "https://b", theirs.id, in_an_hour());

    let ended = store.end_sid(name.clone(), |m| m.ends_with(" https://a"));
    assert_eq!(ended, vec![mine.id.to_string()]);
    assert!(store.load(&mine.id).is_none());
    assert!(
        store.load(&theirs.id).is_some(),
        "another issuer's session stays"
    );
    // Ending it again finds nothing of the first issuer left.
    assert!(
        store
            .end_sid(name, |m| m.ends_with(" https://a"))
            .is_empty()
    );
}

#[test]
fn an_index_entry_pushed_out_for_room_ends_its_sessions() {
    let store = Memory::new(100);
    let mut victim = record(in_an_hour());
    victim.data.insert(SID_FIELD.into(), "sid-victim".into());
    store.create(&mut victim);
    store.index_sid(
        derived("sid", "sid-victim"),
        "https://a",
        victim.id,
        in_an_hour(),
    );
    // Others' sign-ins fill the index past its cap; the victim's entry is the oldest.
    for i in 0..3_000 {
        store.index_sid(
            derived("sid", &format!("sid-{i}")),
            "https://a",
            Id::default(),
            in_an_hour(),
        );
    }
    let (_, _, sids) = store.counts();
    assert!(
        sids <= 1_224,
        "{sids} index entries; the index's cap is 2 × 100 + 1024"
    );
    assert!(
        store.load(&victim.id).is_none(),
        "a session its front-channel sign-out could no longer find is ended, not kept"
    );
}

#[test]
fn a_deleted_session_leaves_nothing_in_the_index() {
    let store = Memory::new(10);
    let mut r = record(in_an_hour());
    r.data.insert(SID_FIELD.into(), "sid-1".into());
    store.create(&mut r);
    store.index_sid(derived("sid", "sid-1"), "https://a", r.id, in_an_hour());
    store.index_sid(derived("sid", "sid-1"), "https://a", r.id, in_an_hour());
    assert_eq!(store.counts().2, 1);
    store.delete(&r.id);
    assert_eq!(store.counts().2, 0, "its index entry went with it");
}

#[test]
fn large_single_use_records_weigh_by_their_size() {
    let store = Memory::new(100);
    let big = "x".repeat(50 * 1024);
    for i in 0..20 {
        store.put_once(format!("swagger:{i}"), big.clone(), TEN_MINUTES);
    }
    let (_, once, _) = store.counts();
    assert!(
        once <= 2,
        "{once} records of 50 KiB held; the cap of 100 is about 100 KiB"
    );
    assert!(
        store.take_once("swagger:19").is_some(),
        "the newest is kept"
    );
}

#[test]
fn sessions_leaving_for_room_leave_the_index_too() {
    let store = Memory::new(10);
    // Thousands sign in, each with a sid of its own: their sessions push each other out,
    // and their index entries go with them (the index never fills up with the dead, so it
    // never has to end a live session for room).
    for i in 0..3_000 {
        let mut r = record(in_an_hour());
        let sid = format!("sid-{i}");
        r.data.insert(SID_FIELD.into(), sid.clone().into());
        store.create(&mut r);
        store.index_sid(derived("sid", &sid), "https://a", r.id, in_an_hour());
    }
    let (sessions, _, sids) = store.counts();
    assert!(sessions <= 10, "{sessions} sessions");
    assert!(sids <= 20, "{sids} index entries for {sessions} sessions");
}
