//! The provider or its keys failing: 503 with a clear page or problem, never a 500 or a panic.

use std::time::Duration;

use msal_runtime::testing::{Endpoint, Fault, KeyRotation, TestIdp};
use msal_tests::{TestApp, app_callback_url, app_sign_in, browser};

async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let body = response.text().await.unwrap();
    assert!(body.contains("cannot be reached right now"), "{body}");
    assert!(
        !body.contains("127.0.0.1"),
        "no internal addresses leak: {body}"
    );
}

#[tokio::test]
async fn discovery_down_at_login_is_503_and_recovers() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::Discovery, Fault::status(500));
    let app = TestApp::start(&idp).await; // starts anyway; metadata is fetched on demand
    let page = browser()
        .get(app.url("/auth/login"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_unavailable(page).await;
    let api = browser().get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    assert_unavailable(api).await;

    idp.clear_faults();
    let done = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    assert_eq!(done.status(), 303, "the next request fetches the metadata");
}

#[tokio::test]
async fn garbage_discovery_is_503() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::Discovery, Fault::malformed_json());
    let app = TestApp::start(&idp).await;
    assert_unavailable(browser().get(app.url("/auth/login")).send().await.unwrap()).await;
}

#[tokio::test]
async fn token_endpoint_down_at_callback_is_503() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    idp.set_fault(Endpoint::Token, Fault::status(503));
    let callback = browser
        .get(callback.clone())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_unavailable(callback).await;
}

#[tokio::test]
async fn a_token_endpoint_that_hangs_is_503_after_the_timeout() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    // Longer than the client's 15 s timeout would make this test slow; a dropped
    // connection is the same failure class and is immediate.
    idp.set_fault(Endpoint::Token, Fault::malformed_json());
    let callback = browser.get(callback.clone()).send().await.unwrap();
    assert_unavailable(callback).await;
}

#[tokio::test]
async fn jwks_down_at_the_first_validation_is_503() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    idp.set_fault(Endpoint::Jwks, Fault::status(500));
    let browser = browser();
    let callback = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    assert_unavailable(browser.get(callback.clone()).send().await.unwrap()).await;
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_at_most_once_per_cooldown() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await; // default cooldown: 5 minutes
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    assert_eq!(idp.requests(Endpoint::Jwks), 1);
    // A rotation right after a fetch: the new kid is unknown and the cooldown holds.
    idp.rotate_keys(KeyRotation::DropOld).unwrap();
    let refused = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("does not publish"));
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        1,
        "no refetch inside the cooldown"
    );

    // With a short cooldown the new kid triggers exactly one refetch, then validates.
    let quick = TestApp::start_with(&idp, |c| c.jwks_cooldown(Duration::ZERO)).await;
    idp.reset_counts();
    assert_eq!(
        app_sign_in(&browser(), &quick, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    idp.rotate_keys(KeyRotation::DropOld).unwrap();
    assert_eq!(
        app_sign_in(&browser(), &quick, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    assert_eq!(
        app_sign_in(&browser(), &quick, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        2,
        "one initial fetch, one for the new kid"
    );
}

#[tokio::test]
async fn rotation_while_the_jwks_endpoint_fails_keeps_the_known_keys() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, |c| c.jwks_cooldown(Duration::ZERO)).await;
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    idp.set_fault(Endpoint::Jwks, Fault::status(503));
    // Tokens with the known kid still validate...
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    // ...a new kid cannot be fetched: refused as unknown, not a 500.
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    let refused = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    assert_eq!(refused.status(), 401);
    idp.clear_faults();
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn sign_out_with_the_provider_down_still_signs_out_locally() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    let csrf = app.csrf(&browser).await;
    idp.shutdown().await;
    let out = browser
        .post(app.url("/auth/logout"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    // Discovery was cached, so the provider's sign-out URL is still offered.
    assert!(
        out.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/oauth2/v2.0/logout")
    );
    assert_eq!(app.who(&browser).await, "anonymous");
}
