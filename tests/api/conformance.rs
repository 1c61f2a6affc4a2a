//! The OpenID RP conformance cases that apply to a resource server, each its own test.

use msal_runtime::testing::{KeyRotation, Mint, MintKey, TestIdp, TokenVersion};

use crate::common::{
    api, assert_invalid_token, audience, call, claims, for_both_token_versions, idp, issuer, mint,
    user_token,
};

for_both_token_versions!(
    a_valid_rs256_token_is_accepted,
    a_wrong_issuer_is_refused,
    a_missing_or_wrong_audience_is_refused,
);

async fn a_valid_rs256_token_is_accepted(version: TokenVersion) {
    let idp = idp(version).await;
    let app = api(&idp, |c| c).await;
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let (_, claims) = msal_tests::decode_unverified(&token);
    assert_eq!(claims["iss"], issuer(&idp, version, &idp.tenant().id));
    assert_eq!(claims["aud"], audience(version));
    let hello = call(&app, "/api/hello", &token).await;
    assert_eq!(hello.status(), 200);
    assert_eq!(hello.text().await.unwrap(), "hello, Alice Example");
    assert_eq!(call(&app, "/api/tasks", &token).await.status(), 200);
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).tampered_signature(),
    );
    assert_invalid_token(
        call(&app, "/api/hello", &token).await,
        "signature does not verify",
    )
    .await;
    let foreign = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).key(MintKey::Foreign),
    );
    assert_invalid_token(
        call(&app, "/api/hello", &foreign).await,
        "signature does not verify",
    )
    .await;
}

#[tokio::test]
async fn alg_none_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).key(MintKey::None),
    );
    assert_invalid_token(call(&app, "/api/hello", &token).await, "never accepted").await;
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).key(MintKey::Hs256WithPublicKey),
    );
    assert_invalid_token(
        call(&app, "/api/hello", &token).await,
        "only RS256, PS256 and ES256",
    )
    .await;
}

async fn a_wrong_issuer_is_refused(version: TokenVersion) {
    let idp = idp(version).await;
    let app = api(&idp, |c| c).await;
    let tid = idp.tenant().id;
    let evil = match version {
        TokenVersion::V2 => format!("https://evil.test/{tid}/v2.0"),
        _ => format!("https://evil.test/{tid}/"),
    };
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("iss", evil),
    );
    assert_invalid_token(call(&app, "/api/hello", &token).await, "issuer").await;
    // The other version's issuer, right tenant: an issuer this API trusts too.
    let other = match version {
        TokenVersion::V2 => idp.v1_issuer_for(&tid),
        _ => idp.issuer_for(&tid),
    };
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("iss", other),
    );
    assert_eq!(call(&app, "/api/hello", &token).await.status(), 200);
}

async fn a_missing_or_wrong_audience_is_refused(version: TokenVersion) {
    let idp = idp(version).await;
    let app = api(&idp, |c| c).await;
    let wrong = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("aud", "api://someone-else"),
    );
    assert_invalid_token(call(&app, "/api/hello", &wrong).await, "another audience").await;
    let missing = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).without_claim("aud"),
    );
    assert_invalid_token(call(&app, "/api/hello", &missing).await, "has no 'aud'").await;
}

#[tokio::test]
async fn a_missing_iat_or_sub_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let no_iat = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).without_claim("iat"),
    );
    assert_invalid_token(call(&app, "/api/hello", &no_iat).await, "has no 'iat'").await;
    let no_sub = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).without_claim("sub"),
    );
    assert_invalid_token(call(&app, "/api/hello", &no_sub).await, "has no 'sub'").await;
}

#[tokio::test]
async fn no_kid_is_accepted_with_one_key_and_refused_with_several() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).without_header("kid"),
    );
    assert_eq!(
        call(&app, "/api/hello", &token).await.status(),
        200,
        "one key: it is the key"
    );

    let idp = TestIdp::start().await.unwrap();
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    let app = api(&idp, |c| c).await;
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).without_header("kid"),
    );
    assert_invalid_token(call(&app, "/api/hello", &token).await, "names no key").await;
}

#[tokio::test]
async fn an_unparseable_key_in_the_jwks_is_skipped() {
    let idp = TestIdp::start().await.unwrap();
    idp.add_jwks_entry(serde_json::json!({"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}));
    idp.add_jwks_entry(serde_json::json!({"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"}));
    idp.add_jwks_entry(serde_json::json!("not even an object"));
    let app = api(&idp, |c| c).await;
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &token).await.status(), 200);
    // A token naming the symmetric "key" finds nothing to verify with.
    let sneaky = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).header("kid", "symmetric"),
    );
    assert_invalid_token(call(&app, "/api/hello", &sneaky).await, "does not publish").await;
}

#[tokio::test]
async fn an_expired_or_not_yet_valid_token_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let now = crate::common::now();
    let expired = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("exp", now - 3600),
    );
    assert_invalid_token(call(&app, "/api/hello", &expired).await, "has expired").await;
    let early = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("nbf", now + 3600),
    );
    assert_invalid_token(call(&app, "/api/hello", &early).await, "not valid yet").await;
    let future = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("iat", now + 3600),
    );
    assert_invalid_token(
        call(&app, "/api/hello", &future).await,
        "issued in the future",
    )
    .await;
}

#[tokio::test]
async fn exp_and_nbf_at_the_edges_of_the_skew() {
    let idp = TestIdp::start().await.unwrap();
    let skew = 300;
    let app = api(&idp, |c| c.clock_skew(std::time::Duration::from_secs(skew))).await;
    let now = crate::common::now();
    let skew = skew as i64;
    // A few seconds inside and outside the edge: one clock tick cannot flip the outcome.
    let inside_exp = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("exp", now - skew + 5),
    );
    assert_eq!(call(&app, "/api/hello", &inside_exp).await.status(), 200);
    let outside_exp = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("exp", now - skew - 5),
    );
    assert_eq!(call(&app, "/api/hello", &outside_exp).await.status(), 401);
    let inside_nbf = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("nbf", now + skew - 5),
    );
    assert_eq!(call(&app, "/api/hello", &inside_nbf).await.status(), 200);
    let outside_nbf = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("nbf", now + skew + 5),
    );
    assert_eq!(call(&app, "/api/hello", &outside_nbf).await.status(), 401);
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    idp.override_discovery_issuer(Some("https://evil.test/v2.0"));
    let app = api(&idp, |c| c).await;
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let response = call(&app, "/api/hello", &token).await;
    assert_eq!(
        response.status(),
        503,
        "not the token's fault: the provider is misconfigured"
    );
    idp.override_discovery_issuer(None);
    // Failed discovery is retried after a backoff (at most 400 ms after two failures).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        call(&app, "/api/hello", &token).await.status(),
        200,
        "retried once the metadata is right"
    );
}

#[tokio::test]
async fn es256_and_ps256_are_accepted() {
    let idp = TestIdp::builder().publish_ec_key().start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let es = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).key(MintKey::Es256),
    );
    assert_eq!(call(&app, "/api/hello", &es).await.status(), 200);
    let ps = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).key(MintKey::Ps256),
    );
    assert_eq!(call(&app, "/api/hello", &ps).await.status(), 200);
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid_request() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    for header in ["Bearer", "Bearer ", "Bearer a b", "Bearer <script>"] {
        let response = reqwest::Client::new()
            .get(app.url("/api/hello"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{header:?}");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer error=\"invalid_request\"")
        );
    }
    let basic = reqwest::Client::new()
        .get(app.url("/api/hello"))
        .basic_auth("u", Some("p"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(basic.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn a_crit_header_naming_an_unimplemented_extension_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).header("crit", serde_json::json!(["exp"])),
    );
    assert_invalid_token(call(&app, "/api/hello", &token).await, "critical").await;
}
