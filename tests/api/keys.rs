//! The JWKS cache: rotation, failures, single-flight refetch, and the validated-token cache.

use std::time::Duration;

use msal_runtime::testing::{Endpoint, Fault, KeyRotation, Mint, TestIdp};

use crate::common::{api, call, claims, mint, user_token};

#[tokio::test]
async fn a_new_kid_after_rotation_is_fetched_once_and_accepted() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c.jwks_cooldown(Duration::ZERO)).await;
    let before = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &before).await.status(), 200);
    assert_eq!(idp.requests(Endpoint::Jwks), 1);
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    let after = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &after).await.status(), 200);
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        2,
        "exactly one refetch for the new kid"
    );
    assert_eq!(
        call(&app, "/api/hello", &before).await.status(),
        200,
        "old kid still published"
    );
}

#[tokio::test]
async fn rotation_while_the_jwks_endpoint_fails_keeps_the_last_known_good_keys() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c.jwks_cooldown(Duration::ZERO)).await;
    let old = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &old).await.status(), 200);
    idp.set_fault(Endpoint::Jwks, Fault::status(503));
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    let new = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(
        call(&app, "/api/hello", &new).await.status(),
        401,
        "the new kid cannot be fetched"
    );
    let old_again = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).key(msal_runtime::testing::MintKey::Kid(
            idp.published_kids()[0].clone(),
        )),
    );
    assert_eq!(
        call(&app, "/api/hello", &old_again).await.status(),
        200,
        "known keys still verify"
    );
    idp.clear_faults();
    assert_eq!(
        call(&app, "/api/hello", &new).await.status(),
        200,
        "recovered"
    );
}

#[tokio::test]
async fn the_first_request_with_the_jwks_down_is_503() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::Jwks, Fault::status(500));
    let app = api(&idp, |c| c).await;
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &token).await.status(), 503);
}

#[tokio::test]
async fn a_thousand_concurrent_requests_with_a_new_kid_share_one_fetch() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c.jwks_cooldown(Duration::ZERO)).await;
    let warm = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &warm).await.status(), 200);
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    idp.reset_counts();
    // Distinct tokens, so the validated-token cache cannot answer for the others.
    let tokens: Vec<String> = (0..1000)
        .map(|i| {
            mint(
                &idp,
                Mint::new(claims(&idp, &["Tasks.Read"])).claim("uti", format!("t{i}")),
            )
        })
        .collect();
    let client = reqwest::Client::new();
    let mut requests = tokio::task::JoinSet::new();
    for token in tokens {
        let client = client.clone();
        let url = app.url("/api/hello");
        requests.spawn(async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    let mut ok = 0;
    while let Some(result) = requests.join_next().await {
        if result.unwrap().unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1000);
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        1,
        "single-flight: one fetch for all of them"
    );
}

#[tokio::test]
async fn repeated_valid_tokens_fetch_nothing() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &token).await.status(), 200);
    idp.reset_counts();
    for _ in 0..100 {
        assert_eq!(call(&app, "/api/hello", &token).await.status(), 200);
    }
    assert_eq!(idp.requests(Endpoint::Jwks), 0);
    assert_eq!(idp.requests(Endpoint::Discovery), 0);
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c.clock_skew(Duration::ZERO)).await;
    let soon = crate::common::now() + 2;
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("exp", soon),
    );
    assert_eq!(call(&app, "/api/hello", &token).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        call(&app, "/api/hello", &token).await.status(),
        401,
        "the cache honours exp"
    );
}

#[tokio::test]
async fn a_cached_tokens_signature_on_another_payload_is_not_taken_from_the_cache() {
    // The cache finds tokens by the tail of their signature; a hit must still be the very
    // token validated. Bob's payload under Alice's (cached) signature is refused.
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let alice = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &alice).await.status(), 200);
    let bob = user_token(&idp, "bob@contoso.test", "Tasks.Read").await;
    let (_, alice_signature) = alice.rsplit_once('.').unwrap();
    let (bob_signed_part, _) = bob.rsplit_once('.').unwrap();
    let forged = format!("{bob_signed_part}.{alice_signature}");
    assert_eq!(call(&app, "/api/hello", &forged).await.status(), 401);
    // Only a suffix shared: the same.
    let (head, tail) = alice.split_at(alice.len() - 32);
    let mut altered = head.as_bytes().to_vec();
    altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
    let altered = format!("{}{tail}", String::from_utf8(altered).unwrap());
    assert_eq!(call(&app, "/api/hello", &altered).await.status(), 401);
    // Alice's own token is still served, from the cache or not.
    assert_eq!(call(&app, "/api/hello", &alice).await.status(), 200);
}
