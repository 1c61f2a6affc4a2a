//! What tests steer: key rotation, minted tokens, injected faults, request counts, the
//! clock, and the builder's validation.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, Mint, MintKey, TestClient, TestIdp,
    TestIdpError, TestTenant, TestUser,
};
use msal_tests::{decode_unverified, sign_in, verify_for_app};
use rsa::pkcs8::{EncodePublicKey, LineEnding};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn access_token(idp: &TestIdp, mint: Mint) -> String {
    idp.mint(&mint).unwrap()
}

fn alice_api_claims(idp: &TestIdp) -> msal_runtime::testing::JsonObject {
    idp.access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap()
}

#[tokio::test]
async fn rotation_keeping_old_keys_publishes_both_and_old_tokens_still_verify() {
    let idp = TestIdp::start().await.unwrap();
    let old_kid = idp.current_kid().unwrap();
    let before = access_token(&idp, Mint::new(alice_api_claims(&idp))).await;
    let new_kid = idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    assert_ne!(old_kid, new_kid);
    assert_eq!(idp.published_kids(), vec![old_kid.clone(), new_kid.clone()]);
    let after = access_token(&idp, Mint::new(alice_api_claims(&idp))).await;
    let (header, _) = decode_unverified(&after);
    assert_eq!(header["kid"], new_kid);
    verify_for_app(&idp, &before)
        .await
        .expect("old key still published");
    verify_for_app(&idp, &after)
        .await
        .expect("new key published");
    // Issued tokens (not only minted ones) use the new key.
    let body = sign_in(&idp, "alice@contoso.test", "openid").await;
    let (header, _) = decode_unverified(body["id_token"].as_str().unwrap());
    assert_eq!(header["kid"], new_kid);
}

#[tokio::test]
async fn rotation_dropping_old_keys_leaves_old_tokens_with_an_unknown_kid() {
    let idp = TestIdp::start().await.unwrap();
    let old_kid = idp.current_kid().unwrap();
    let before = access_token(&idp, Mint::new(alice_api_claims(&idp))).await;
    let new_kid = idp.rotate_keys(KeyRotation::DropOld).unwrap();
    assert_eq!(idp.published_kids(), vec![new_kid]);
    let err = verify_for_app(&idp, &before).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::InvalidKeyFormat,
        "kid no longer in the JWKS"
    );
    // The retired key can still sign on request, for tests of stale caches.
    let stale = access_token(
        &idp,
        Mint::new(alice_api_claims(&idp)).key(MintKey::Kid(old_kid.clone())),
    )
    .await;
    assert_eq!(decode_unverified(&stale).0["kid"], old_kid);
    assert!(matches!(
        idp.mint(&Mint::new(alice_api_claims(&idp)).key(MintKey::Kid("never".into()))),
        Err(TestIdpError::UnknownKid(_))
    ));
}

#[tokio::test]
async fn many_rotations_keep_issuing_verifiable_tokens() {
    let idp = TestIdp::start().await.unwrap();
    for _ in 0..10 {
        idp.rotate_keys(KeyRotation::DropOld).unwrap();
        let token = access_token(&idp, Mint::new(alice_api_claims(&idp))).await;
        verify_for_app(&idp, &token).await.unwrap();
    }
}

#[tokio::test]
async fn a_plain_mint_is_a_valid_token() {
    let idp = TestIdp::start().await.unwrap();
    let token = access_token(&idp, Mint::new(alice_api_claims(&idp))).await;
    let claims = verify_for_app(&idp, &token).await.unwrap();
    assert_eq!(claims["scp"], "Tasks.Read");
}

#[tokio::test]
async fn minted_signature_attacks_fail_verification() {
    let idp = TestIdp::start().await.unwrap();
    let claims = alice_api_claims(&idp);
    let tampered = access_token(&idp, Mint::new(claims.clone()).tampered_signature()).await;
    assert_eq!(
        verify_for_app(&idp, &tampered).await.unwrap_err().kind(),
        &ErrorKind::InvalidSignature
    );
    let foreign = access_token(&idp, Mint::new(claims.clone()).key(MintKey::Foreign)).await;
    let (header, _) = decode_unverified(&foreign);
    assert_eq!(
        header["kid"],
        idp.current_kid().unwrap(),
        "claims a published kid"
    );
    assert_eq!(
        verify_for_app(&idp, &foreign).await.unwrap_err().kind(),
        &ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn alg_none_has_an_empty_signature() {
    let idp = TestIdp::start().await.unwrap();
    let token = access_token(&idp, Mint::new(alice_api_claims(&idp)).key(MintKey::None)).await;
    assert!(token.ends_with('.'), "empty signature part: {token}");
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "none");
    assert!(header.get("kid").is_none());
    assert!(verify_for_app(&idp, &token).await.is_err());
}

#[tokio::test]
async fn hs256_with_the_public_key_is_the_algorithm_confusion_token() {
    let idp = TestIdp::start().await.unwrap();
    let token = access_token(
        &idp,
        Mint::new(alice_api_claims(&idp)).key(MintKey::Hs256WithPublicKey),
    )
    .await;
    let (header, _) = decode_unverified(&token);
    assert_eq!(header["alg"], "HS256");
    // A naive verifier that uses the published key's PEM as an HMAC secret accepts it:
    // that is exactly what a correct validator must refuse.
    let jwks = msal_tests::jwks(&idp).await;
    let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwks.keys[0].algorithm else {
        panic!("RSA key expected")
    };
    let n = rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(&rsa.n).unwrap());
    let e = rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(&rsa.e).unwrap());
    let pem = rsa::RsaPublicKey::new(n, e)
        .unwrap()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let mut naive = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    naive.set_audience(&[DEFAULT_CLIENT_ID]);
    jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(pem.as_bytes()),
        &naive,
    )
    .expect("HMAC keyed with the public key PEM");
    assert!(
        verify_for_app(&idp, &token).await.is_err(),
        "a correct verifier refuses it"
    );
}

#[tokio::test]
async fn hs256_with_a_chosen_secret() {
    let idp = TestIdp::start().await.unwrap();
    let token = access_token(
        &idp,
        Mint::new(alice_api_claims(&idp)).key(MintKey::Hs256(b"shared".to_vec())),
    )
    .await;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[DEFAULT_CLIENT_ID]);
    jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(b"shared"),
        &validation,
    )
    .unwrap();
}

#[tokio::test]
async fn ps256_tokens_verify_with_the_rsa_key() {
    let idp = TestIdp::start().await.unwrap();
    let token = access_token(&idp, Mint::new(alice_api_claims(&idp)).key(MintKey::Ps256)).await;
    assert_eq!(decode_unverified(&token).0["alg"], "PS256");
    verify_for_app(&idp, &token)
        .await
        .expect("PS256 with the published RSA key");
}

#[tokio::test]
async fn es256_tokens_verify_only_when_the_ec_key_is_published() {
    let hidden = TestIdp::start().await.unwrap();
    let token = access_token(
        &hidden,
        Mint::new(alice_api_claims(&hidden)).key(MintKey::Es256),
    )
    .await;
    assert_eq!(decode_unverified(&token).0["alg"], "ES256");
    assert!(
        verify_for_app(&hidden, &token).await.is_err(),
        "Entra publishes RSA only"
    );

    let published = TestIdp::builder().publish_ec_key().start().await.unwrap();
    let jwks = msal_tests::jwks(&published).await;
    assert_eq!(jwks.keys.len(), 2);
    let token = access_token(
        &published,
        Mint::new(alice_api_claims(&published)).key(MintKey::Es256),
    )
    .await;
    verify_for_app(&published, &token)
        .await
        .expect("ES256 with the published P-256 key");
}

#[tokio::test]
async fn header_controls_remove_or_replace_the_kid() {
    let idp = TestIdp::start().await.unwrap();
    let no_kid = access_token(
        &idp,
        Mint::new(alice_api_claims(&idp)).without_header("kid"),
    )
    .await;
    let (header, _) = decode_unverified(&no_kid);
    assert!(header.get("kid").is_none());
    assert_eq!(header["alg"], "RS256");
    let unknown = access_token(
        &idp,
        Mint::new(alice_api_claims(&idp)).header("kid", "unknown-kid"),
    )
    .await;
    assert_eq!(decode_unverified(&unknown).0["kid"], "unknown-kid");
    assert_eq!(
        verify_for_app(&idp, &unknown).await.unwrap_err().kind(),
        &ErrorKind::InvalidKeyFormat
    );
    let typ = access_token(
        &idp,
        Mint::new(alice_api_claims(&idp)).header("typ", "at+jwt"),
    )
    .await;
    assert_eq!(decode_unverified(&typ).0["typ"], "at+jwt");
}

#[tokio::test]
async fn minted_claims_produce_each_claim_failure() {
    let idp = TestIdp::start().await.unwrap();
    let claims = alice_api_claims(&idp);
    let cases: Vec<(Mint, ErrorKind)> = vec![
        (
            Mint::new(claims.clone()).claim("exp", now() - 60),
            ErrorKind::ExpiredSignature,
        ),
        (
            Mint::new(claims.clone()).claim("nbf", now() + 3600),
            ErrorKind::ImmatureSignature,
        ),
        (
            Mint::new(claims.clone()).claim("iss", "https://evil.test/v2.0"),
            ErrorKind::InvalidIssuer,
        ),
        (
            Mint::new(claims.clone()).claim("aud", "api://someone-else"),
            ErrorKind::InvalidAudience,
        ),
    ];
    for (mint, kind) in cases {
        let token = idp.mint(&mint).unwrap();
        assert_eq!(
            verify_for_app(&idp, &token).await.unwrap_err().kind(),
            &kind
        );
    }
    let token = idp
        .mint(&Mint::new(claims.clone()).without_claim("exp"))
        .unwrap();
    assert!(decode_unverified(&token).1.get("exp").is_none());
    // What a generic JWT library does not check, a token validator must: the tenant and a
    // future issue time. The minted token carries exactly the change.
    let foreign_tenant = "0ddba11a-0000-4000-8000-000000000001";
    let token = idp
        .mint(&Mint::new(claims.clone()).claim("tid", foreign_tenant))
        .unwrap();
    assert_eq!(decode_unverified(&token).1["tid"], foreign_tenant);
    let token = idp
        .mint(&Mint::new(claims).claim("iat", now() + 3600))
        .unwrap();
    assert!(decode_unverified(&token).1["iat"].as_i64().unwrap() > now());
}

#[tokio::test]
async fn no_kid_with_several_published_keys() {
    let idp = TestIdp::start().await.unwrap();
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    assert_eq!(idp.published_kids().len(), 2);
    let token = access_token(
        &idp,
        Mint::new(alice_api_claims(&idp)).without_header("kid"),
    )
    .await;
    assert!(decode_unverified(&token).0.get("kid").is_none());
    // Signed by the current key: a validator that tries every key would accept it, one
    // that needs the kid to pick among several must refuse it.
    assert!(
        verify_for_app(&idp, &token).await.is_err(),
        "the independent verifier needs a kid"
    );
}

#[tokio::test]
async fn claim_helpers_describe_valid_tokens() {
    let idp = TestIdp::start().await.unwrap();
    let id = idp
        .id_token_claims("bob@contoso.test", DEFAULT_CLIENT_ID, Some("n-1"))
        .unwrap();
    let token = idp.mint(&Mint::new(id)).unwrap();
    let claims = verify_for_app(&idp, &token).await.unwrap();
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["roles"], serde_json::json!(["Admin"]));

    let app = idp
        .app_token_claims(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_ID,
            &["Tasks.ReadWrite.All"],
        )
        .unwrap();
    let claims = verify_for_app(&idp, &idp.mint(&Mint::new(app)).unwrap())
        .await
        .unwrap();
    assert_eq!(claims["roles"], serde_json::json!(["Tasks.ReadWrite.All"]));
    assert_eq!(
        claims["oid"], claims["sub"],
        "an app-only token: its own subject"
    );
    assert!(matches!(
        idp.id_token_claims("nobody", DEFAULT_CLIENT_ID, None),
        Err(TestIdpError::UnknownUser(_))
    ));
    assert!(matches!(
        idp.access_token_claims("alice@contoso.test", "nope", &[]),
        Err(TestIdpError::UnknownClient(_))
    ));
}

#[tokio::test]
async fn an_injected_status_answers_until_cleared_or_used_up() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::Jwks, Fault::status(503).times(2));
    for _ in 0..2 {
        let response = reqwest::get(idp.jwks_uri()).await.unwrap();
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }
    assert_eq!(
        reqwest::get(idp.jwks_uri()).await.unwrap().status(),
        200,
        "used up after two"
    );

    idp.set_fault(Endpoint::Token, Fault::status(500));
    for _ in 0..3 {
        let response = reqwest::Client::new()
            .post(idp.token_endpoint())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
    }
    idp.clear_fault(Endpoint::Token);
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .form(&[("grant_type", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "normal answer again");
}

#[tokio::test]
async fn a_malformed_json_fault_answers_200_with_garbage() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::Discovery, Fault::malformed_json());
    let response = reqwest::get(idp.discovery_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    idp.clear_faults();
    assert!(
        reqwest::get(idp.discovery_url())
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_delay_fault_holds_the_answer_back() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(
        Endpoint::Discovery,
        Fault::delay(Duration::from_millis(300)).times(1),
    );
    let started = Instant::now();
    let response = reqwest::get(idp.discovery_url()).await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "a delay alone still answers normally"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A client with a shorter timeout gives up.
    idp.set_fault(
        Endpoint::Jwks,
        Fault::status(503).after_delay(Duration::from_secs(5)),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert!(
        client
            .get(idp.jwks_uri())
            .send()
            .await
            .unwrap_err()
            .is_timeout()
    );
}

#[tokio::test]
async fn requests_are_counted_per_endpoint_faults_included() {
    let idp = TestIdp::start().await.unwrap();
    sign_in(&idp, "alice@contoso.test", "openid").await;
    assert_eq!(idp.requests(Endpoint::Authorize), 1);
    assert_eq!(idp.requests(Endpoint::Token), 1);
    assert_eq!(idp.requests(Endpoint::Jwks), 0);
    idp.set_fault(Endpoint::Jwks, Fault::status(503));
    for _ in 0..3 {
        reqwest::get(idp.jwks_uri()).await.unwrap();
    }
    reqwest::get(idp.discovery_url()).await.unwrap();
    assert_eq!(idp.requests(Endpoint::Jwks), 3);
    assert_eq!(idp.requests(Endpoint::Discovery), 1);
    idp.reset_counts();
    assert_eq!(idp.requests(Endpoint::Jwks), 0);
    assert_eq!(idp.requests(Endpoint::Token), 0);
}

#[tokio::test]
async fn advancing_the_clock_moves_what_the_idp_issues() {
    let idp = TestIdp::start().await.unwrap();
    let before = alice_api_claims(&idp)["iat"].as_i64().unwrap();
    idp.advance_clock(Duration::from_secs(7200));
    let after = alice_api_claims(&idp)["iat"].as_i64().unwrap();
    assert!(after - before >= 7200);
    // Seen from the real clock, what it issues now is not yet valid.
    let token = idp.mint(&Mint::new(alice_api_claims(&idp))).unwrap();
    assert_eq!(
        verify_for_app(&idp, &token).await.unwrap_err().kind(),
        &ErrorKind::ImmatureSignature
    );
}

#[tokio::test]
async fn the_builder_reports_every_setup_problem() {
    let err = TestIdp::builder()
        .user(TestUser::new("alice@contoso.test", "Second Alice"))
        .client(TestClient::default_app())
        .user(TestUser::new("eve@contoso.test", "Eve").tenant("not-registered"))
        .start()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("user 'alice@contoso.test' is registered twice"),
        "{message}"
    );
    assert!(
        message.contains("client '11111111-2222-4333-8444-555555555555' is registered twice"),
        "{message}"
    );
    assert!(
        message.contains("tenant 'not-registered', which is not registered"),
        "{message}"
    );

    let err = TestIdp::builder()
        .without_defaults()
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no tenant"), "{err}");
    let err = TestIdp::builder()
        .without_defaults()
        .tenant(TestTenant::new("t-1", "one.test"))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no client"), "{err}");

    let idp = TestIdp::builder()
        .without_defaults()
        .tenant(TestTenant::new("t-1", "one.test"))
        .client(TestClient::new("c-1"))
        .user(TestUser::new("solo@one.test", "Solo"))
        .start()
        .await
        .unwrap();
    assert_eq!(idp.users().len(), 1);
    assert_eq!(
        idp.user("solo@one.test").unwrap().tenant_id.as_deref(),
        Some("t-1")
    );
}

#[tokio::test]
async fn binding_a_taken_port_is_a_clear_error() {
    let first = TestIdp::start().await.unwrap();
    let err = TestIdp::builder()
        .bind(first.addr())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, TestIdpError::Bind { .. }));
    assert!(err.to_string().contains(&first.addr().to_string()), "{err}");
}

#[test]
fn debug_of_a_client_never_shows_its_secret() {
    let client = TestClient::new("c").secret("super-secret-value");
    let debug = format!("{client:?}");
    assert!(!debug.contains("super-secret-value"), "{debug}");
    assert!(debug.contains("[redacted]"));
}

/// The moduli (`n`, base64url) of the RSA keys committed in the repository.
fn committed_moduli() -> Vec<String> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    [
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-1.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-2.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-3.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-4.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-5.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-6.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-7.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-8.pem"),
        include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-9.pem"),
    ]
    .iter()
    .map(|pem| {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap();
        URL_SAFE_NO_PAD.encode(key.n().to_bytes_be())
    })
    .collect()
}

async fn published_moduli(idp: &TestIdp) -> Vec<String> {
    let jwks: serde_json::Value = reqwest::get(idp.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["n"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_testidp_signs_with_keys_nobody_else_has_unless_a_test_asks_for_the_committed_ones() {
    let committed = committed_moduli();
    let idp = TestIdp::start().await.unwrap();
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    for n in published_moduli(&idp).await {
        assert!(!committed.contains(&n), "a committed key is published");
    }
    // A token signed with a committed key (anyone can, from the repository) is refused by
    // an app trusting a default TestIdp, with the current kid or none at all.
    let pem = include_str!("../../msal-runtime/src/testing/keys/test-only-rsa-1.pem");
    let forger = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let lone = TestIdp::start().await.unwrap(); // exactly one published key
    let app = msal_tests::TestApp::start_api(&lone, |c| c, msal_examples::api::router()).await;
    let claims_for_lone = lone
        .access_token_claims("bob@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    for header in [jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some(lone.current_kid().unwrap());
        h
    }] {
        let forged = jsonwebtoken::encode(&header, &claims_for_lone, &forger).unwrap();
        let response = reqwest::Client::new()
            .get(app.url("/api/hello"))
            .bearer_auth(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            401,
            "a forged token with kid {:?}",
            header.kid
        );
    }
    // Asked for by name, the committed pool signs (fixed material across runs).
    let fixed = TestIdp::builder()
        .committed_test_keys()
        .start()
        .await
        .unwrap();
    let published = published_moduli(&fixed).await;
    assert!(published.iter().all(|n| committed.contains(n)));
    assert!(
        !published.contains(committed.last().unwrap()),
        "the foreign key is never published"
    );
}
