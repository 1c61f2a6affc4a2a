use super::*;

fn signed_in() -> SignedIn {
    let claims = serde_json::json!({
        "iss": "https://login.test/tid/v2.0", "sub": "alice-sub", "oid": "alice-oid",
        "tid": "tid", "roles": ["Admin"], "groups": ["g1"], "name": "Alice",
    });
    let serde_json::Value::Object(claims) = claims else {
        unreachable!("an object literal")
    };
    SignedIn {
        user: User::from_claims(claims),
        csrf: "csrf-secret".into(),
        scopes: vec!["User.Read".into()],
        declined: vec![],
    }
}

fn vault() -> TokenVault {
    TokenVault {
        id_token: "id.token.value".into(),
        refresh_token: Some("refresh-secret".into()),
        access: vec![],
    }
}

#[test]
fn a_record_decodes_to_the_user_it_was_encoded_from_without_storing_claims_twice() {
    let (who, vault_text) = encode(&signed_in(), &vault(), &[]).unwrap();
    // The typed fields are derived from the claims, not stored beside them.
    assert_eq!(who.matches("alice-oid").count(), 1, "{who}");
    assert!(
        !who.contains("refresh-secret"),
        "tokens live in the vault: {who}"
    );
    assert!(vault_text.contains("refresh-secret"));
    let decoded = decode(&who, &[]).unwrap();
    let user = decoded.principal.user().unwrap();
    assert_eq!(user.oid.as_deref(), Some("alice-oid"));
    assert_eq!(user.roles, ["Admin"]);
    assert_eq!(decoded.principal.scopes(), ["User.Read"]);
    assert_eq!(decoded.principal.tenant_id(), Some("tid"));
    assert_eq!(decoded.csrf, "csrf-secret");
}

#[test]
fn a_record_whose_vault_no_configured_key_opens_decodes_to_nobody() {
    let old = SessionKey::new([1; 32]);
    let (who, _) = encode(&signed_in(), &vault(), std::slice::from_ref(&old)).unwrap();
    assert!(decode(&who, std::slice::from_ref(&old)).is_some());
    assert!(decode(&who, &[SessionKey::new([2; 32])]).is_none());
    assert!(decode("not json", &[]).is_none());
    assert!(decode("{}", &[]).is_none());
}

#[test]
fn the_cache_answers_only_for_the_exact_text_it_decoded() {
    let cache = WhoCache::new(2);
    let (who, _) = encode(&signed_in(), &vault(), &[]).unwrap();
    let id = Id(7);
    cache.insert(id, who.clone(), Arc::new(decode(&who, &[]).unwrap()));
    assert!(cache.get(&id, &who).is_some());
    // The same session holding anything else (after consent, a new sign-in, a forged
    // record) is decoded afresh.
    let mut changed = who.clone();
    changed.push(' ');
    assert!(cache.get(&id, &changed).is_none());
    assert!(cache.get(&Id(8), &who).is_none());
}

#[test]
fn the_cache_stays_within_its_capacity() {
    let cache = WhoCache::new(2);
    let (who, _) = encode(&signed_in(), &vault(), &[]).unwrap();
    let decoded = Arc::new(decode(&who, &[]).unwrap());
    for i in 0..5 {
        cache.insert(Id(i), who.clone(), decoded.clone());
        assert!(cache.len() <= 2);
    }
    // Replacing a kept session's entry evicts nobody.
    cache.insert(Id(4), who.clone(), decoded);
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&Id(4), &who).is_some());
}
