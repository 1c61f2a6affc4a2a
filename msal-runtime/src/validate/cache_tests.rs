//! The validated-token cache's expiry arithmetic.

use super::*;

#[test]
fn an_expiry_at_the_end_of_time_neither_overflows_nor_expires() {
    let cache = TokenCache::new(4);
    let key = TokenCache::<u8>::key("t");
    cache.insert(key, Arc::new(1u8), i64::MAX);
    assert!(cache.get(&key, Duration::from_secs(u64::MAX)).is_some());
    cache.insert(key, Arc::new(2u8), now() - 600);
    assert!(cache.get(&key, Duration::from_secs(300)).is_none());
    assert!(cache.get(&key, Duration::from_secs(900)).is_some());
}
