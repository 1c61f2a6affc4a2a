//! `User` from claims: which claim each field reads, and what its public `Serialize` shows.

use serde_json::{Value, json};

use super::User;

fn user(claims: Value) -> User {
    let Value::Object(mut map) = claims else {
        unreachable!("claims are an object")
    };
    map.insert("sub".into(), "sub".into());
    map.insert("iss".into(), "https://issuer".into());
    User::from_claims(map)
}

#[test]
fn a_v1_token_names_its_user_by_upn_then_unique_name() {
    let upn = user(json!({"upn": "alice@contoso.test", "unique_name": "live.com#alice"}));
    assert_eq!(
        upn.preferred_username.as_deref(),
        Some("alice@contoso.test")
    );
    let unique = user(json!({"unique_name": "alice@contoso.test"}));
    assert_eq!(
        unique.preferred_username.as_deref(),
        Some("alice@contoso.test")
    );
    let v2 = user(json!({"preferred_username": "alice@v2.test", "upn": "alice@contoso.test"}));
    assert_eq!(v2.preferred_username.as_deref(), Some("alice@v2.test"));
    assert_eq!(user(json!({})).preferred_username, None);
}

#[test]
fn a_users_auth_contexts_are_serialized_only_when_there_are_any() {
    let plain = serde_json::to_value(user(json!({"oid": "o"}))).unwrap();
    assert!(plain.get("auth_contexts").is_none(), "{plain}");
    let stepped_up = serde_json::to_value(user(json!({"acrs": ["c1"]}))).unwrap();
    assert_eq!(stepped_up["auth_contexts"], json!(["c1"]));
}

#[test]
fn user_facing_fields_are_serialized_and_protocol_claims_are_not() {
    let shown = serde_json::to_value(user(json!({
        "oid": "o", "tid": "t", "name": "Alice", "preferred_username": "alice@contoso.test",
        "roles": ["Admin"], "groups": ["g"], "sid": "s", "nonce": "n", "acrs": ["c1", "c2"],
    })))
    .unwrap();
    let mut keys: Vec<&str> = shown
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "auth_contexts",
            "email",
            "groups",
            "name",
            "oid",
            "preferred_username",
            "roles",
            "sub",
            "tid"
        ]
    );
}
