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

    // Meanwhile requests were answered from the failure, not by calling again.
    assert_eq!(idp.requests(Endpoint::Discovery), 1, "backoff: one call");

    idp.clear_faults();
    // The backoff after one failure is 200 ms.
    tokio::time::sleep(Duration::from_millis(250)).await;
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
async fn malformed_json_from_the_token_endpoint_is_503_and_signs_nobody_in() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    idp.set_fault(Endpoint::Token, Fault::malformed_json());
    let refused = browser.get(callback.clone()).send().await.unwrap();
    assert_unavailable(refused).await;
    // No half-signed-in session.
    assert_eq!(app.who(&browser).await, "anonymous");
    let me = browser
        .get(app.url("/me"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
}

#[tokio::test]
async fn after_a_failed_callback_the_flow_is_discarded_and_a_new_sign_in_works() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    idp.set_fault(Endpoint::Token, Fault::status(500).times(1));
    assert_unavailable(browser.get(callback.clone()).send().await.unwrap()).await;
    // The same callback again: its flow was used up (single use), so it is refused
    // cleanly, with a way to start again; still nobody signed in.
    let again = browser
        .get(callback)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let page = again.text().await.unwrap();
    assert!(page.contains("Start the sign-in again"), "{page}");
    assert!(page.contains("href=\"/auth/login\""), "{page}");
    assert_eq!(app.who(&browser).await, "anonymous");
    // A fresh sign-in succeeds.
    let done = app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    assert_eq!(done.status(), 303);
    assert_eq!(app.who(&browser).await, "Alice Example");
}

#[tokio::test]
async fn a_token_endpoint_that_hangs_costs_a_request_the_timeout_and_no_more() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, |c| c.http_timeout(Duration::from_millis(500))).await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    idp.set_fault(Endpoint::Token, Fault::delay(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    assert_unavailable(browser.get(callback).send().await.unwrap()).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "bounded by MSAL_HTTP_TIMEOUT, took {took:?}"
    );
    assert_eq!(app.who(&browser).await, "anonymous");
}

#[tokio::test]
async fn a_hanging_discovery_never_holds_requests_beyond_the_timeout() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::Discovery, Fault::delay(Duration::from_secs(30)));
    let app = TestApp::start_with(&idp, |c| c.http_timeout(Duration::from_millis(500))).await;
    // Twenty sign-ins at once against a provider that hangs: one call waits out the
    // timeout, the others get its answer rather than queueing a timeout each.
    let started = std::time::Instant::now();
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let url = app.url("/auth/login");
        logins.spawn(async move { reqwest::get(url).await.unwrap().status() });
    }
    while let Some(status) = logins.join_next().await {
        assert_eq!(status.unwrap(), 503);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // Public routes never needed the provider.
    assert_eq!(app.who(&browser()).await, "anonymous");
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
async fn a_rotation_right_after_start_is_followed_then_the_cooldown_holds() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await; // default cooldown: 5 minutes
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    assert_eq!(idp.requests(Endpoint::Jwks), 1);
    // The issuer rotates right after this app fetched its keys: the cooldown counts from
    // the last refetch an unknown kid caused, and there was none, so the new key is fetched.
    idp.rotate_keys(KeyRotation::DropOld).unwrap();
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    assert_eq!(idp.requests(Endpoint::Jwks), 2);
    // A second rotation inside the cooldown is refused as unknown, without a fetch.
    idp.rotate_keys(KeyRotation::DropOld).unwrap();
    let refused = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("does not publish"));
    assert_eq!(
        idp.requests(Endpoint::Jwks),
        2,
        "no refetch inside the cooldown"
    );
}

#[tokio::test]
async fn rotation_while_the_jwks_endpoint_fails_keeps_the_known_keys() {
    // The default cooldown (5 minutes): a failed refetch is not the cooldown's one.
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
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
    // ...a new kid cannot be fetched: the provider is unavailable (503 page), the sign-in
    // did not fail for a bad token.
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    let refused = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    assert_unavailable(refused).await;
    idp.clear_faults();
    // After the failed fetch's backoff (200 ms), not the cooldown, the new kid is fetched.
    tokio::time::sleep(Duration::from_millis(250)).await;
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

#[tokio::test]
async fn an_api_whose_provider_is_down_at_start_answers_503_then_recovers() {
    let idp = TestIdp::start().await.unwrap();
    let claims = idp
        .access_token_claims(
            "alice@contoso.test",
            msal_runtime::testing::DEFAULT_CLIENT_ID,
            &["Tasks.Read"],
        )
        .unwrap();
    let token = idp.mint(&msal_runtime::testing::Mint::new(claims)).unwrap();
    idp.set_fault(Endpoint::Discovery, Fault::status(500));
    // It starts anyway, and a route that needs no provider works.
    let app = TestApp::start_api(&idp, |c| c, msal_examples::api::router()).await;
    let call = || {
        reqwest::Client::new()
            .get(app.url("/api/hello"))
            .bearer_auth(&token)
            .send()
    };
    let down = call().await.unwrap();
    assert_eq!(down.status(), 503);
    assert_eq!(down.headers()["content-type"], "application/problem+json");
    idp.clear_faults();
    // At most two failures so far: the backoff is at most 400 ms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(call().await.unwrap().status(), 200, "recovered, no restart");
}
