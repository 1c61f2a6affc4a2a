//! The JWKS cache: rotation (right after start too), failures, single-flight refetch with a
//! cooldown and a backoff, last-known-good keys, and the validated-token cache.

use std::time::Duration;

use msal_runtime::testing::{Endpoint, Fault, KeyRotation, Mint, TestIdp};

use crate::common::{api, call, claims, mint, user_token};

#[tokio::test]
async fn a_new_kid_after_rotation_is_fetched_once_and_accepted() {
    // The default cooldown (5 minutes): the start-up fetch does not count against it, so
    // an issuer that rotates right after this app started is followed at once (the OpenID
    // RP certification's key-rotation test).
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
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
    // The default cooldown (5 minutes): a failed refetch is not the cooldown's one.
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let old = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &old).await.status(), 200);
    idp.set_fault(Endpoint::Jwks, Fault::status(503));
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    let new = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let refused = call(&app, "/api/hello", &new).await;
    assert_eq!(
        refused.status(),
        503,
        "whether the new kid is the provider's cannot be known: unavailable, not a bad token"
    );
    assert!(refused.headers().contains_key("retry-after"));
    let challenge = refused.headers().get("www-authenticate");
    assert!(
        challenge.is_none_or(|c| !c.to_str().unwrap().contains("invalid_token")),
        "the caller's token is not blamed: {challenge:?}"
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
    // After the failed fetch's backoff (200 ms), not the 5-minute cooldown, the new kid is
    // fetched.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        call(&app, "/api/hello", &new).await.status(),
        200,
        "recovered"
    );
}

#[tokio::test]
async fn a_failing_refetch_is_retried_after_a_backoff_not_per_request() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let warm = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &warm).await.status(), 200);
    // Minted before the clock matters: signing is slow in a debug build.
    let mut tokens: Vec<String> = (0..153).map(|i| random_kid_token(&idp, i)).collect();
    let (flood, later) = (tokens.split_off(53), tokens);
    // The endpoint fails after half a second: the whole flood arrives while the one fetch
    // is in flight, however busy the machine.
    idp.set_fault(
        Endpoint::Jwks,
        Fault::status(500).after_delay(Duration::from_millis(500)),
    );
    idp.reset_counts();
    // A flood of unknown kids while the endpoint fails: one fetch, whose failure answers
    // them all (503: unavailable, not a bad token).
    let client = reqwest::Client::new();
    let mut requests = tokio::task::JoinSet::new();
    for token in flood {
        requests.spawn(client.get(app.url("/api/hello")).bearer_auth(token).send());
    }
    let statuses = msal_tests::statuses_of(requests).await;
    assert_eq!(statuses, [503; 100]);
    assert_eq!(idp.requests(Endpoint::Jwks), 1, "one fetch for the flood");
    // After the first backoff (200 ms), one more fetch; it fails too, at once.
    idp.set_fault(Endpoint::Jwks, Fault::status(500));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(call(&app, "/api/hello", &later[0]).await.status(), 503);
    assert_eq!(idp.requests(Endpoint::Jwks), 2, "one more after 200 ms");
    // The second failure doubles the wait: nothing is fetched within 400 ms of it.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(call(&app, "/api/hello", &later[1]).await.status(), 503);
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        2,
        "150 ms after the second failure"
    );
    // Recovered: the provider answers, the unknown kids are not among its keys (401), and
    // from now on the cooldown holds further refetches back.
    idp.clear_faults();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for token in &later[2..] {
        assert_eq!(call(&app, "/api/hello", token).await.status(), 401);
    }
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        3,
        "one fetch, then the cooldown"
    );
    // The known key still verifies a token it has not seen (not the validated-token cache).
    let fresh = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("uti", "after-the-outage"),
    );
    assert_eq!(call(&app, "/api/hello", &fresh).await.status(), 200);
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
    let app = api(&idp, |c| c).await;
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

/// A token signed by the current key but naming a `kid` nobody publishes.
fn random_kid_token(idp: &TestIdp, i: usize) -> String {
    mint(
        idp,
        Mint::new(claims(idp, &["Tasks.Read"]))
            .header("kid", format!("random-{i}-{}", rand::random::<u64>())),
    )
}

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_at_most_one_fetch_per_cooldown() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c.jwks_cooldown(Duration::from_secs(2))).await;
    let warm = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &warm).await.status(), 200);
    idp.reset_counts();
    for i in 0..200 {
        assert_eq!(
            call(&app, "/api/hello", &random_kid_token(&idp, i))
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        1,
        "one refetch for the whole flood"
    );
    // After the cooldown, one more: never one per request.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for i in 0..50 {
        assert_eq!(
            call(&app, "/api/hello", &random_kid_token(&idp, i))
                .await
                .status(),
            401
        );
    }
    assert_eq!(idp.requests(Endpoint::Jwks), 2);
    // Known keys kept working throughout.
    assert_eq!(call(&app, "/api/hello", &warm).await.status(), 200);
}

#[tokio::test]
async fn with_no_keys_known_fetches_are_single_flight_with_backoff() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::Jwks, Fault::status(503));
    let app = api(&idp, |c| c).await;
    idp.reset_counts();
    let client = reqwest::Client::new();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..50 {
        let token = random_kid_token(&idp, i);
        requests.spawn(client.get(app.url("/api/hello")).bearer_auth(token).send());
    }
    let statuses = msal_tests::statuses_of(requests).await;
    assert_eq!(
        statuses, [503; 50],
        "keys unavailable, not the token's fault"
    );
    assert_eq!(idp.requests(Endpoint::Jwks), 1, "fifty requests, one fetch");
    // Within the backoff nothing is fetched; after it, one fetch, which now succeeds.
    assert_eq!(
        call(&app, "/api/hello", &random_kid_token(&idp, 99))
            .await
            .status(),
        503
    );
    assert_eq!(idp.requests(Endpoint::Jwks), 1);
    idp.clear_faults();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let good = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &good).await.status(), 200);
    assert_eq!(idp.requests(Endpoint::Jwks), 2);
}

#[tokio::test]
async fn a_jwks_without_a_usable_key_does_not_replace_the_known_keys() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let warm = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &warm).await.status(), 200);
    idp.override_jwks(Some(serde_json::json!({
        "keys": [{"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"}]
    })));
    idp.reset_counts();
    // An unknown kid makes the app refetch: the document has nothing usable, which says
    // nothing about the kid (a provider fault: 503, not the token's).
    assert_eq!(
        call(&app, "/api/hello", &random_kid_token(&idp, 0))
            .await
            .status(),
        503
    );
    assert_eq!(idp.requests(Endpoint::Jwks), 1);
    // A new token under the known key (not from the validated-token cache) still verifies.
    let fresh = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("uti", "after-the-empty-jwks"),
    );
    assert_eq!(call(&app, "/api/hello", &fresh).await.status(), 200);
}
