//! Signed-in records: encoded and decoded, bound to their app, cached by session.

use super::*;

const ISS: &str = "https://login.test/c0ffee00-0000-4000-8000-00000000c0de/v2.0";
const TID: &str = "c0ffee00-0000-4000-8000-00000000c0de";

fn app() -> AppBinding {
    AppBinding::new("app-a", IssuerRule::Exact(ISS.into()), &[])
}

fn signed_in() -> SignedIn {
    let claims = serde_json::json!({
        "iss": ISS, "sub": "alice-sub", "oid": "alice-oid",
        "tid": TID, "roles": ["Admin"], "groups": ["g1"], "name": "Alice",
    });
    let serde_json::Value::Object(claims) = claims else {
        unreachable!("an object literal")
    };
    SignedIn {
        user: User::from_claims(claims),
        csrf: "csrf-secret".into(),
        scopes: vec!["User.Read".into()],
        declined: vec![],
        groups: None,
        answered: None,
        stepped_up: vec![],
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
    let (who, vault_text) = encode(&signed_in(), &vault(), &[], &app()).unwrap();
    // The typed fields are derived from the claims, not stored beside them.
    assert_eq!(who.matches("alice-oid").count(), 1, "{who}");
    assert!(
        !who.contains("refresh-secret"),
        "tokens live in the vault: {who}"
    );
    assert!(vault_text.contains("refresh-secret"));
    let decoded = decode(&who, &[], &app()).unwrap();
    let user = decoded.principal.user().unwrap();
    assert_eq!(user.oid.as_deref(), Some("alice-oid"));
    assert_eq!(user.roles, ["Admin"]);
    assert_eq!(decoded.principal.scopes(), ["User.Read"]);
    assert_eq!(decoded.principal.tenant_id(), Some(TID));
    assert_eq!(decoded.csrf, "csrf-secret");
}

#[test]
fn a_record_whose_vault_no_configured_key_opens_decodes_to_nobody() {
    let old = SessionKey::new([1; 32]);
    let (who, _) = encode(&signed_in(), &vault(), std::slice::from_ref(&old), &app()).unwrap();
    assert!(decode(&who, std::slice::from_ref(&old), &app()).is_some());
    assert!(decode(&who, &[SessionKey::new([2; 32])], &app()).is_none());
    assert!(decode("not json", &[], &app()).is_none());
    assert!(decode("{}", &[], &app()).is_none());
}

#[test]
fn the_cache_answers_only_for_the_exact_text_it_decoded() {
    let cache = WhoCache::new(2);
    let (who, _) = encode(&signed_in(), &vault(), &[], &app()).unwrap();
    let id = Id(7);
    cache.insert(
        id,
        who.clone(),
        Arc::new(decode(&who, &[], &app()).unwrap()),
    );
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
    let (who, _) = encode(&signed_in(), &vault(), &[], &app()).unwrap();
    let decoded = Arc::new(decode(&who, &[], &app()).unwrap());
    for i in 0..5 {
        cache.insert(Id(i), who.clone(), decoded.clone());
        assert!(cache.len() <= 2);
    }
    // Replacing a kept session's entry evicts nobody.
    cache.insert(Id(4), who.clone(), decoded);
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&Id(4), &who).is_some());
}

#[test]
fn a_record_made_for_another_app_reads_as_signed_out() {
    let (who, _) = encode(&signed_in(), &vault(), &[], &app()).unwrap();
    assert!(decode(&who, &[], &app()).is_some());
    // Another client id on the same store (app B, or staging beside production).
    let other_app = AppBinding::new("app-b", IssuerRule::Exact(ISS.into()), &[]);
    assert!(decode(&who, &[], &other_app).is_none());
    // The same client id behind another authority.
    let other_issuer = AppBinding::new(
        "app-a",
        IssuerRule::Exact("https://login.test/0ddba11a-0000-4000-8000-000000000001/v2.0".into()),
        &[],
    );
    assert!(decode(&who, &[], &other_issuer).is_none());
    // A tenant that is no longer allowed.
    let narrowed = AppBinding::new(
        "app-a",
        IssuerRule::Exact(ISS.into()),
        &["0ddba11a-0000-4000-8000-000000000001"],
    );
    assert!(decode(&who, &[], &narrowed).is_none());
    let still_allowed = AppBinding::new("app-a", IssuerRule::Exact(ISS.into()), &[TID]);
    assert!(decode(&who, &[], &still_allowed).is_some());
}

#[test]
fn a_record_that_names_no_app_or_whose_user_another_issuer_signed_in_reads_as_signed_out() {
    let (who, _) = encode(&signed_in(), &vault(), &[], &app()).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&who).unwrap();
    let unbound = {
        let mut r = record.clone();
        r.as_object_mut().unwrap().remove("made_for");
        r.to_string()
    };
    assert!(decode(&unbound, &[], &app()).is_none());
    // A user another issuer signed in, under this app's client id.
    record["claims"]["iss"] = "https://evil.test/v2.0".into();
    assert!(decode(&record.to_string(), &[], &app()).is_none());
}

#[test]
fn debug_of_who_hides_the_csrf_token() {
    let (who, _) = encode(&signed_in(), &vault(), &[], &app()).unwrap();
    let decoded = decode(&who, &[], &app()).unwrap();
    let shown = format!("{decoded:?}");
    assert!(!shown.contains("csrf-secret"), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
}

#[test]
fn once_discovery_confirms_the_issuer_a_prefix_rule_no_longer_admits_other_tenants() {
    // A domain-named tenant: before discovery only the instance is known.
    let app = AppBinding::new(
        "app-a",
        IssuerRule::FromDiscovery {
            prefix: "https://login.test/".into(),
        },
        &[],
    );
    let (who, _) = encode(&signed_in(), &vault(), &[], &app).unwrap();
    assert!(decode(&who, &[], &app).is_some());
    app.confirmed_issuer()
        .store(Some(Arc::new(IssuerRule::Exact(
            "https://login.test/0ddba11a-0000-4000-8000-000000000001/v2.0".into(),
        ))));
    assert!(decode(&who, &[], &app).is_none(), "another tenant's record");
}

#[test]
fn looked_up_groups_age_out_of_the_cache_even_when_the_record_is_unchanged() {
    let mut with_overage = signed_in();
    with_overage.user.claims.remove("groups");
    with_overage
        .user
        .claims
        .insert("_claim_names".into(), serde_json::json!({"groups": "src1"}));
    let fresh_for = GROUPS_FRESH_FOR.as_secs() as i64;
    let looked_up = |ago: i64| {
        let mut s = with_overage.clone();
        s.groups = Some(LookedUpGroups {
            ids: vec!["g1".into()],
            at: crate::validate::now() - ago,
        });
        encode(&s, &vault(), &[], &app()).unwrap().0
    };
    // Fresh: the looked-up groups are the principal's, until they age out.
    let fresh = decode(&looked_up(10), &[], &app()).unwrap();
    assert_eq!(fresh.principal.groups(), ["g1"]);
    assert!(!fresh.principal.groups_unknown());
    let cache = WhoCache::new(4);
    let text = looked_up(fresh_for - 1);
    let who = Arc::new(decode(&text, &[], &app()).unwrap());
    assert!(who.groups_until.is_some());
    cache.insert(Id(1), text.clone(), who);
    // One second later they are stale: the cache no longer answers, and a decode no longer
    // applies them (the guard asks Graph again).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(cache.get(&Id(1), &text).is_none());
    let stale = decode(&text, &[], &app()).unwrap();
    assert!(stale.principal.groups_unknown());
}

#[test]
fn a_b2c_session_of_a_user_flow_no_longer_accepted_reads_as_signed_out() {
    let mut from_signin = signed_in();
    from_signin
        .user
        .claims
        .insert("tfp".into(), "B2C_1_SignIn".into());
    let (who, _) = encode(&from_signin, &vault(), &[], &app()).unwrap();
    let accepting = app().with_b2c_policies(&["b2c_1_signin"]);
    assert!(decode(&who, &[], &accepting).is_some());
    // The flow was dropped from the accepted ones (say, for one that requires MFA).
    let narrowed = app().with_b2c_policies(&["b2c_1_mfa"]);
    assert!(decode(&who, &[], &narrowed).is_none());
    // A record naming no flow is not accepted by a B2C app either.
    let (plain, _) = encode(&signed_in(), &vault(), &[], &app()).unwrap();
    assert!(decode(&plain, &[], &accepting).is_none());
}
