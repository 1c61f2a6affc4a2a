//! The signed-in user's tokens.

use std::time::Duration;

use msal_runtime::config::MsalConfigBuilder;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, KeyRotation, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser, decode_unverified};

use crate::app::routes;

/// Microsoft Graph's application id: the `aud` of a Graph token asked for by bare scopes.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

async fn app(idp: &TestIdp, tweak: impl FnOnce(MsalConfigBuilder) -> MsalConfigBuilder) -> TestApp {
    TestApp::start_routes(idp, |c| tweak(c.scopes("User.Read")), routes()).await
}

async fn get(browser: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::Response {
    browser
        .get(app.url(path))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

/// A TestIdp whose tokens live a minute: shorter than the five-minute margin, so every use
/// of a user's token refreshes it.
async fn short_lived_tokens() -> TestIdp {
    TestIdp::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sign_in_token_is_reused_without_a_token_request() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    idp.reset_counts();
    let first = get(&browser, &app, "/token").await.text().await.unwrap();
    let second = get(&browser, &app, "/token").await.text().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(decode_unverified(&first).1["scp"], "User.Read");
    assert_eq!(idp.requests(Endpoint::Token), 0, "served from the session");
}

#[tokio::test]
async fn fifty_concurrent_requests_share_one_refresh() {
    let idp = short_lived_tokens().await;
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    // The sign-in token has a minute left: inside the five-minute margin, so it is renewed.
    idp.set_token_lifetime(Duration::from_secs(3600));
    idp.reset_counts();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let browser = browser.clone();
        let url = app.url("/token");
        calls.spawn(async move { browser.get(url).send().await.unwrap().text().await.unwrap() });
    }
    let mut tokens = Vec::new();
    while let Some(t) = calls.join_next().await {
        tokens.push(t.unwrap());
    }
    assert_eq!(idp.requests(Endpoint::Token), 1, "exactly one refresh");
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "everyone got the refreshed token");
}

#[tokio::test]
async fn a_revoked_refresh_token_sends_browsers_to_sign_in_and_apis_get_401() {
    let idp = short_lived_tokens().await;
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    idp.revoke_refresh_tokens("alice@contoso.test").unwrap();
    let page = browser
        .get(app.url("/token"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 302);
    assert_eq!(
        page.headers()["location"],
        "/auth/login?next=%2Ftoken&scopes=User.Read&login_hint=alice%40contoso.test"
    );
    let api = get(&browser, &app, "/token").await;
    assert_eq!(api.status(), 401);
    assert!(
        api.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    // Signing in again (the IdP session was revoked too, so with the hint) repairs it.
    app_sign_in(&browser, &app, "alice@contoso.test", "/token").await;
    assert_eq!(get(&browser, &app, "/token").await.status(), 200);
}

#[tokio::test]
async fn scopes_of_two_resources_get_two_tokens() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "bob@contoso.test", "/").await;
    idp.reset_counts();
    let both: serde_json::Value = get(&browser, &app, "/two").await.json().await.unwrap();
    let graph = decode_unverified(both["graph"].as_str().unwrap()).1;
    let api = decode_unverified(both["api"].as_str().unwrap()).1;
    // Graph, asked for by bare scopes: its application id.
    assert_eq!(graph["aud"], GRAPH_APP_ID);
    assert_eq!(api["aud"], DEFAULT_CLIENT_ID);
    assert_eq!(api["scp"], "Tasks.Read");
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "Graph's came from sign-in, the API's by refresh"
    );
    let again: serde_json::Value = get(&browser, &app, "/two").await.json().await.unwrap();
    assert_eq!(again, both, "both cached now");
    assert_eq!(idp.requests(Endpoint::Token), 1);
}

/// An API of its own that exposes a scope named like Graph's: `api://orders/User.Read`.
const ORDERS_API: &str = "0bde7500-0000-4000-8000-0000000000de";

#[tokio::test]
async fn a_graph_token_never_serves_another_apis_scope_of_the_same_name() {
    // Entra answers Graph's scopes unprefixed (`User.Read`); the orders API exposes a
    // `User.Read` of its own. A token for one is never taken for the other.
    use msal_runtime::testing::{DEFAULT_TENANT_DOMAIN, DEFAULT_TENANT_ID, TestClient};
    use msal_runtime::testing::{TestTenant, TestUser};
    // The app holds admin consent for the orders API's scope, so a refresh may ask for it.
    let idp = TestIdp::builder()
        .without_defaults()
        .tenant(TestTenant::new(DEFAULT_TENANT_ID, DEFAULT_TENANT_DOMAIN))
        .client(TestClient::default_app().admin_consent("api://orders/User.Read"))
        .client(
            TestClient::new(ORDERS_API)
                .app_id_uri("api://orders")
                .scope("User.Read"),
        )
        .user(TestUser::alice())
        .start()
        .await
        .unwrap();
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    let graph = get(&browser, &app, "/token").await.text().await.unwrap();
    assert_eq!(decode_unverified(&graph).1["aud"], GRAPH_APP_ID);
    idp.reset_counts();
    let orders = get(&browser, &app, "/orders/user-read")
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(orders, graph, "the cached Graph token was not reused");
    // A v1 token (the orders API did not ask for v2): `aud` is its App ID URI.
    assert_eq!(decode_unverified(&orders).1["aud"], "api://orders");
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "a token request for the orders API"
    );
}

#[tokio::test]
async fn the_graph_helper_calls_graph_with_the_users_token() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "bob@contoso.test", "/").await;
    let me: serde_json::Value = get(&browser, &app, "/graph/me").await.json().await.unwrap();
    assert_eq!(me["displayName"], "Bob Admin");
}

#[tokio::test]
async fn a_claims_challenge_is_retried_once_and_only_once() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

    idp.challenge_graph(claims, 1);
    idp.reset_counts();
    let me = get(&browser, &app, "/graph/me").await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        idp.requests(Endpoint::Graph),
        2,
        "the challenge, then the retry"
    );
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "one token request carrying the claims"
    );

    idp.challenge_graph(claims, 5);
    idp.reset_counts();
    let refused = get(&browser, &app, "/graph/me").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(idp.requests(Endpoint::Graph), 2, "no second retry");
}

#[tokio::test]
async fn tokens_never_reach_the_browser() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp, |c| c).await;
    let browser = browser();
    let done = app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    let cookie = msal_tests::set_cookie(&done, "msal_session")
        .unwrap()
        .to_owned();
    assert!(
        cookie.len() < 120 && !cookie.contains("eyJ"),
        "an opaque id only: {cookie}"
    );
    let home = browser.get(app.url("/auth/login")).send().await.unwrap();
    for (_, value) in home.headers() {
        assert!(!value.to_str().unwrap_or_default().contains("eyJ"));
    }
}

#[tokio::test]
async fn a_refreshed_id_token_for_another_user_is_refused() {
    let idp = short_lived_tokens().await;
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    // From now on the IdP's ID tokens name someone else: a refresh must not switch users.
    idp.tamper_id_tokens(msal_runtime::testing::MintKey::Current, |claims| {
        claims.insert("sub".into(), "someone-else".into());
    });
    let refused = get(&browser, &app, "/token").await;
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("another user")
    );
}

/// Found by review: a refresh whose new ID token is signed with a key the app cannot fetch
/// right now (the provider rotated keys during a JWKS outage) sent the user to sign in again
/// and threw the refreshed tokens away. It is an outage: 503, and the session and its
/// refresh token stay for the next try.
#[tokio::test]
async fn a_refresh_during_a_jwks_outage_is_503_and_keeps_the_session() {
    let idp = short_lived_tokens().await;
    let app = app(&idp, |c| c).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    idp.set_fault(Endpoint::Jwks, Fault::status(503));
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    let unavailable = get(&browser, &app, "/token").await;
    assert_eq!(
        unavailable.status(),
        503,
        "an outage, not a sign-in to repeat"
    );
    assert!(unavailable.headers().contains_key("retry-after"));
    idp.clear_faults();
    tokio::time::sleep(Duration::from_millis(250)).await;
    idp.reset_counts();
    let token = get(&browser, &app, "/token").await;
    assert_eq!(token.status(), 200, "the same session, refreshed");
    assert_eq!(idp.requests(Endpoint::Token), 1, "by its refresh token");
    assert_eq!(idp.requests(Endpoint::Authorize), 0, "no sign-in");
}

/// A token refresh that takes a second, with a sign-out in the middle of it: the refresh's
/// late save must not bring the ended session back.
async fn sign_out_during_a_slow_refresh(app: &TestApp, idp: &TestIdp) {
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    let csrf = get(&browser, app, "/csrf").await.text().await.unwrap();
    assert_eq!(get(&browser, app, "/who").await.status(), 200);
    // Tokens shorter-lived than the five-minute margin are always refreshed.
    idp.set_fault(
        Endpoint::Token,
        msal_runtime::testing::Fault::delay(Duration::from_secs(1)),
    );
    let refresh = {
        let (browser, url) = (browser.clone(), app.url("/token"));
        tokio::spawn(async move {
            browser
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = browser
        .post(app.url("/auth/logout"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    // Whatever the refresh answers, it finishes after the sign-out...
    let _ = refresh.await.unwrap();
    idp.clear_faults();
    // ...and the session stays ended.
    assert_eq!(get(&browser, app, "/who").await.status(), 401);
}

#[tokio::test]
async fn a_slow_refresh_beside_sign_out_does_not_bring_the_session_back_in_memory() {
    let idp = short_lived_tokens().await;
    let app = app(&idp, |c| c).await;
    sign_out_during_a_slow_refresh(&app, &idp).await;
}

#[tokio::test]
async fn a_slow_refresh_beside_sign_out_does_not_bring_the_session_back_in_redis() {
    let Some(redis) = msal_tests::redis_url().await else {
        return;
    };
    let idp = short_lived_tokens().await;
    let app = app(&idp, move |c| c.session_store(redis)).await;
    sign_out_during_a_slow_refresh(&app, &idp).await;
}
