//! Token refresh across app instances on one Redis: one refresh per session however many
//! instances need it at once, a crashed instance's lock that ends by itself, sessions that
//! never wait for each other, and no refresh at all without the lock. Entra does not spend a
//! refresh token on use, so to show that the session keeps the one a refresh returned, the
//! test revokes the redeemed ones. Needs Redis (see `redis_url`).

use std::time::{Duration, Instant};

use msal_runtime::testing::{Endpoint, Fault, TestIdp, crash};
use msal_tests::redis_servers::redis_cluster;
use msal_tests::relay::Relay;
use msal_tests::{TestApp, app_sign_in, browser, redis_url, session_cookie};

use crate::app::routes;

/// An instance of the tokens app with sessions in `redis`.
async fn instance(idp: &TestIdp, redis: &str) -> TestApp {
    let redis = redis.to_owned();
    TestApp::start_routes(
        idp,
        move |c| c.scopes("User.Read").session_store(redis),
        routes(),
    )
    .await
}

/// A TestIdp whose sign-in tokens live a minute (inside the five-minute margin, so the first
/// use of the user's token refreshes it) and whose refreshed ones an hour.
async fn idp_renewing_once() -> TestIdp {
    TestIdp::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap()
}

/// Signs `username` in on `app` with a new browser; returns it and its session cookie value.
async fn signed_in(app: &TestApp, username: &str) -> (reqwest::Client, String) {
    let browser = browser();
    let done = app_sign_in(&browser, app, username, "/").await;
    assert_eq!(done.status(), 303);
    let cookie = session_cookie(&done);
    let value = cookie.trim_start_matches("msal_session=").to_owned();
    (browser, value)
}

async fn get(browser: &reqwest::Client, url: String) -> (u16, String) {
    let response = browser
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Forty requests at once, half on each of two instances of one store, all needing the
/// session's first refresh: one refresh serves them all, and the session keeps the refresh
/// token it returned (the lock released: the next refresh does not wait for it).
async fn many_requests_on_two_instances_share_one_refresh(store: &str) {
    let idp = idp_renewing_once().await;
    let a = instance(&idp, store).await;
    let b = instance(&idp, store).await;
    let (browser, _) = signed_in(&a, "alice@contoso.test").await;
    idp.set_token_lifetime(Duration::from_secs(3600));
    idp.reset_counts();
    // A refresh that takes a moment: every request starts while the first is under way.
    idp.set_fault(Endpoint::Token, Fault::delay(Duration::from_millis(500)));
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (browser, app) = (browser.clone(), if i % 2 == 0 { &a } else { &b });
        let url = app.url("/token");
        calls.spawn(async move { get(&browser, url).await });
    }
    let mut tokens = Vec::new();
    while let Some(call) = calls.join_next().await {
        let (status, token) = call.unwrap();
        assert_eq!(status, 200, "every request gets a token: {token}");
        tokens.push(token);
    }
    idp.clear_faults();
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "one refresh for both instances"
    );
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "everyone got the one refreshed token");
    // The refresh token that refresh returned was kept: with the redeemed one revoked,
    // another scope (not cached yet) is one more refresh, at once (the lock was released,
    // not left to expire).
    assert_eq!(
        idp.revoke_used_refresh_tokens("alice@contoso.test")
            .unwrap(),
        1,
        "the sign-in's refresh token, redeemed once"
    );
    idp.reset_counts();
    let started = Instant::now();
    let (status, body) = get(&browser, b.url("/two")).await;
    assert_eq!(status, 200, "the session still refreshes: {body}");
    assert_eq!(idp.requests(Endpoint::Token), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the next refresh waited {:?}",
        started.elapsed()
    );
    let (status, _) = get(&browser, a.url("/two")).await;
    assert_eq!(status, 200, "and A reads what B saved");
    assert_eq!(idp.requests(Endpoint::Token), 1);
}

#[tokio::test]
async fn two_instances_needing_a_refresh_at_once_share_one_and_keep_the_refresh_token() {
    let Some(redis) = redis_url().await else {
        return;
    };
    many_requests_on_two_instances_share_one_refresh(&redis).await;
}

#[tokio::test]
async fn two_instances_on_a_redis_cluster_share_one_refresh() {
    // The lock's scripts go to its key's node, like every other command.
    let Some(cluster) = redis_cluster() else {
        return;
    };
    let url = cluster.cluster_url();
    many_requests_on_two_instances_share_one_refresh(&url).await;
}

#[tokio::test]
async fn a_crashed_instances_lock_ends_by_itself_and_never_blocks_another_session() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = idp_renewing_once().await;
    let app = instance(&idp, &redis).await;
    let (alice, alice_cookie) = signed_in(&app, "alice@contoso.test").await;
    let (bob, _) = signed_in(&app, "bob@contoso.test").await;
    idp.set_token_lifetime(Duration::from_secs(3600));
    // An instance crashed while refreshing Alice's tokens: its lock has 1.5 s left.
    let ttl = Duration::from_millis(1500);
    assert!(
        crash::abandon_refresh_lock(&app.msal, &alice_cookie, ttl)
            .await
            .unwrap()
    );
    assert!(
        !crash::abandon_refresh_lock(&app.msal, &alice_cookie, ttl)
            .await
            .unwrap(),
        "a held lock is not taken twice"
    );
    let started = Instant::now();
    idp.reset_counts();
    // Bob's session has a lock of its own: he does not wait for Alice's.
    let (status, _) = get(&bob, app.url("/token")).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "Bob waited {:?}",
        started.elapsed()
    );
    // Alice's refresh waits for the stale lock to expire, then goes ahead.
    let (status, body) = get(&alice, app.url("/token")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "Alice refreshed after {:?}, before the stale lock ended",
        started.elapsed()
    );
    assert_eq!(idp.requests(Endpoint::Token), 2, "one refresh each");
}

#[tokio::test]
async fn losing_redis_while_waiting_for_the_lock_is_a_503_never_a_refresh_without_it() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = idp_renewing_once().await;
    let a = instance(&idp, &redis).await;
    let relay = Relay::to(&redis).await;
    let b = instance(&idp, &relay.url()).await;
    let (browser, cookie) = signed_in(&a, "alice@contoso.test").await;
    // Instance A is in the middle of refreshing (it holds the lock, for a while yet)...
    assert!(
        crash::abandon_refresh_lock(&a.msal, &cookie, Duration::from_secs(30))
            .await
            .unwrap()
    );
    idp.reset_counts();
    // ...when B needs a refresh too, and loses Redis while it waits.
    let waiting = {
        let url = b.url("/token");
        tokio::spawn(async move { get(&browser, url).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.cut();
    let started = Instant::now();
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("Session store unavailable"), "{body}");
    // A command Redis never answers fails at the store's time limit (10 s), well before
    // the longest wait for a lock (55 s here).
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "failed with the store, not at the deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(
        idp.requests(Endpoint::Token),
        0,
        "no refresh without the lock"
    );
}
