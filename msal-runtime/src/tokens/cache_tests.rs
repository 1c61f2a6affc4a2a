//! Token requests' rules, the per-resource token cache, and expiry arithmetic.

use super::*;

fn owned(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| (*x).to_owned()).collect()
}

#[test]
fn one_resource_per_request_and_default_alone() {
    let check = |s: &[&str]| check_request(&owned(s), &[]).map(|_| ());
    assert!(check(&["User.Read", "Mail.Read", "openid"]).is_ok());
    assert!(check(&["https://graph.microsoft.com/User.Read", "Mail.Read"]).is_ok());
    assert!(check(&["api://a/Read", "api://a/Write"]).is_ok());
    let two = check(&["User.Read", "api://a/Read"]).unwrap_err();
    assert!(two.to_string().contains("two resources"), "{two}");
    let mixed = check(&["api://a/.default", "api://a/Read"]).unwrap_err();
    assert!(mixed.to_string().contains(".default"), "{mixed}");
    assert!(check(&["openid"]).is_err());
}

fn vault_with(scopes: &[&str]) -> TokenVault {
    TokenVault {
        access: vec![CachedToken {
            scopes: owned(scopes),
            token: "graph-token".into(),
            expires_at: now() + 3600,
        }],
        ..TokenVault::default()
    }
}

#[test]
fn a_cached_token_never_serves_another_resource() {
    // Entra returns Graph's scopes unprefixed: that token is Graph's, not the orders API's.
    let vault = vault_with(&["User.Read"]);
    assert!(cached(&vault, &owned(&["User.Read"]), &[]).is_some());
    assert!(
        cached(
            &vault,
            &owned(&["https://graph.microsoft.com/User.Read"]),
            &[]
        )
        .is_some()
    );
    assert!(cached(&vault, &owned(&["api://orders/User.Read"]), &[]).is_none());
    let orders = vault_with(&["api://orders/Orders.Read"]);
    assert!(cached(&orders, &owned(&["Orders.Read"]), &[]).is_none());
    assert!(cached(&orders, &owned(&["api://orders/Orders.Read"]), &[]).is_some());
}

#[test]
fn expiry_saturates() {
    assert_eq!(expiry(Some(Duration::from_secs(u64::MAX))), i64::MAX);
    assert!(expiry(None) > now());
}
