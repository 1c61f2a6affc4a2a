//! Issuer rules and the provider's keys: templates, discovery's issuer, unusable JWKs.

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

#[test]
fn a_jwk_alg_names_the_only_algorithm_its_key_verifies() {
    let jwks = br#"{"keys":[
        {"kty":"RSA","kid":"a","alg":"RS256","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"},
        {"kty":"RSA","kid":"b","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"},
        {"kty":"RSA","kid":"c","alg":"RSA-OAEP-9000","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}
    ]}"#;
    let set = KeySet::parse(jwks).unwrap();
    // A key for an algorithm this library does not know is skipped.
    assert_eq!(set.keys.len(), 2);
    assert_eq!(set.keys[0].alg, Some(Algorithm::RS256));
    assert_eq!(set.keys[1].alg, None);
}

/// Validation against a running TestIdp's keys: tokens with hostile headers and claims,
/// signed by the key the JWKS publishes.
#[cfg(feature = "testing")]
mod signed {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, JsonObject, Mint, MintKey, TestIdp};

    use super::*;

    fn keys(idp: &TestIdp) -> Arc<KeyCache> {
        Arc::new(KeyCache::new(
            reqwest::Client::new(),
            url::Url::parse(&idp.jwks_uri()).unwrap(),
            Duration::from_secs(300),
        ))
    }

    fn id_claims(idp: &TestIdp) -> JsonObject {
        idp.id_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, None)
            .unwrap()
    }

    async fn validate(
        idp: &TestIdp,
        token: &str,
        b2c_policies: &[String],
    ) -> Result<Map<String, Value>, ValidationError> {
        let issuer = ResolvedIssuer::Exact(idp.issuer());
        let expect = IdTokenExpectations {
            client_id: DEFAULT_CLIENT_ID,
            issuer: &issuer,
            nonce: None,
            skew: Duration::from_secs(300),
            allowed_tenants: &[],
            b2c_policies,
        };
        validate_id_token(&keys(idp), token, &expect).await
    }

    #[tokio::test]
    async fn a_crit_header_this_library_does_not_implement_is_refused() {
        let idp = TestIdp::start().await.unwrap();
        let good = idp.mint(&Mint::new(id_claims(&idp))).unwrap();
        assert!(validate(&idp, &good, &[]).await.is_ok());
        for crit in [
            serde_json::json!(["exp"]),
            serde_json::json!(["b64"]),
            serde_json::json!([]),
            serde_json::json!("exp"),
            serde_json::json!([1]),
        ] {
            let token = idp
                .mint(&Mint::new(id_claims(&idp)).header("crit", crit.clone()))
                .unwrap();
            let err = validate(&idp, &token, &[]).await.unwrap_err();
            assert!(err.to_string().contains("'crit'"), "{crit}: {err}");
        }
    }

    #[tokio::test]
    async fn a_token_signed_for_another_algorithm_than_its_jwk_names_is_refused() {
        let idp = TestIdp::start().await.unwrap();
        let kid = idp.current_kid().unwrap();
        let jwks: Value = reqwest::get(idp.jwks_uri())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut only = jwks["keys"][0].clone();
        only["alg"] = "PS256".into();
        idp.override_jwks(Some(serde_json::json!({ "keys": [only] })));
        let rs256 = idp.mint(&Mint::new(id_claims(&idp))).unwrap();
        let err = validate(&idp, &rs256, &[]).await.unwrap_err();
        assert!(err.to_string().contains("does not fit its key"), "{err}");
        let ps256 = idp
            .mint(&Mint::new(id_claims(&idp)).key(MintKey::Ps256))
            .unwrap();
        assert!(validate(&idp, &ps256, &[]).await.is_ok(), "kid {kid}");
    }

    #[tokio::test]
    async fn a_b2c_token_of_another_user_flow_is_refused() {
        let idp = TestIdp::start().await.unwrap();
        let policies = vec!["b2c_1_signin".to_owned(), "b2c_1_mfa".to_owned()];
        let with = |name: &str, value: &str| {
            idp.mint(&Mint::new(id_claims(&idp)).claim(name, value))
                .unwrap()
        };
        assert!(
            validate(&idp, &with("tfp", "B2C_1_SignIn"), &policies)
                .await
                .is_ok()
        );
        assert!(
            validate(&idp, &with("acr", "b2c_1_mfa"), &policies)
                .await
                .is_ok()
        );
        let weaker = validate(&idp, &with("tfp", "B2C_1_selfsignup"), &policies)
            .await
            .unwrap_err();
        assert!(weaker.to_string().contains("B2C_1_selfsignup"), "{weaker}");
        let none = idp.mint(&Mint::new(id_claims(&idp))).unwrap();
        let err = validate(&idp, &none, &policies).await.unwrap_err();
        assert!(err.to_string().contains("no user flow"), "{err}");
        // Outside B2C the claim is not looked at.
        assert!(validate(&idp, &with("tfp", "anything"), &[]).await.is_ok());
    }

    /// Found by review: the refetch for an unknown `kid` ran in the request's future and
    /// recorded its outcome only when it finished, so a request dropped mid-fetch (a client
    /// hanging up, a timeout layer) left no cooldown and no backoff behind: dropping
    /// requests with random `kid`s started fetch after fetch. The fetch is now a task of its
    /// own that records its outcome whoever waits for it.
    #[tokio::test]
    async fn a_request_dropped_during_the_refetch_still_counts_it() {
        let idp = TestIdp::start().await.unwrap();
        let cache = keys(&idp);
        let kid = idp.current_kid().unwrap();
        assert!(cache.key(Some(&kid)).await.is_ok());
        idp.reset_counts();
        idp.set_fault(Endpoint::Jwks, Fault::delay(Duration::from_millis(300)));
        for i in 0..5 {
            let given_up =
                tokio::time::timeout(Duration::from_millis(30), cache.key(Some(&format!("x{i}"))))
                    .await;
            assert!(
                given_up.is_err(),
                "the caller gave up before the fetch answered"
            );
        }
        // Everyone after waits for the fetch in flight, then the cooldown holds.
        for i in 0..20 {
            let refused = cache.key(Some(&format!("y{i}"))).await.err().unwrap();
            assert!(
                refused.to_string().contains("does not publish"),
                "{refused}"
            );
        }
        assert_eq!(
            idp.requests(Endpoint::Jwks),
            1,
            "one refetch, however many callers gave up on it"
        );
    }
}
