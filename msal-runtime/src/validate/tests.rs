use super::keys::KeySet;
use super::*;

#[test]
fn template_issuer_needs_a_guid_tid_that_matches() {
    let rule = ResolvedIssuer::Template("https://login.microsoftonline.com/{tenantid}/v2.0".into());
    let tid = "c0ffee00-0000-4000-8000-00000000c0de";
    assert!(
        rule.check(
            &format!("https://login.microsoftonline.com/{tid}/v2.0"),
            Some(tid)
        )
        .is_ok()
    );
    assert!(
        rule.check(
            "https://login.microsoftonline.com/0ddba11a-0000-4000-8000-000000000001/v2.0",
            Some(tid)
        )
        .is_err()
    );
    assert!(
        rule.check("https://login.microsoftonline.com/evil/v2.0", Some("evil"))
            .is_err()
    );
    assert!(
        rule.check("https://login.microsoftonline.com/x/v2.0", None)
            .is_err()
    );
}

#[test]
fn discovery_issuer_must_fit_the_rule() {
    let exact = IssuerRule::Exact("https://a.test/t/v2.0".into());
    assert!(ResolvedIssuer::from_discovery(&exact, "https://a.test/t/v2.0").is_ok());
    assert!(ResolvedIssuer::from_discovery(&exact, "https://evil.test/t/v2.0").is_err());
    let prefix = IssuerRule::FromDiscovery {
        prefix: "https://a.test/".into(),
    };
    assert_eq!(
        ResolvedIssuer::from_discovery(&prefix, "https://a.test/guid/v2.0").unwrap(),
        ResolvedIssuer::Exact("https://a.test/guid/v2.0".into())
    );
    assert!(ResolvedIssuer::from_discovery(&prefix, "https://b.test/guid/v2.0").is_err());
}

#[test]
fn unusable_keys_are_skipped() {
    let jwks = br#"{"keys":[{"kty":"oct","k":"abc"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"x","n":"!!","e":"AQAB"},{"kty":"EC","crv":"P-384","x":"a","y":"b"}]}"#;
    assert_eq!(KeySet::parse(jwks).unwrap().keys.len(), 0);
    assert!(KeySet::parse(b"not json").is_err());
    assert!(KeySet::parse(b"{}").is_err());
}
