//! Oversized input is answered before anything parses it: `Authorization` headers beyond
//! 16 KiB and `Cookie` headers beyond 8 KiB get 431 (Request Header Fields Too Large), on a
//! web API and on a web app alike; a token just under the limit is judged as usual.

use msal_runtime::testing::{Endpoint, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser};

use crate::common::{api, call, user_token};

async fn assert_too_large(response: reqwest::Response, header: &str) {
    assert_eq!(response.status(), 431);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(header), "{detail}");
}

#[tokio::test]
async fn an_oversized_bearer_token_is_431_and_never_validated() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &token).await.status(), 200);
    idp.reset_counts();
    // A valid token padded past the limit (the padding alone would make it invalid): no
    // key lookup, no signature check, no cache entry.
    let oversized = format!("{token}{}", "A".repeat(17 * 1024));
    assert_too_large(call(&app, "/api/hello", &oversized).await, "authorization").await;
    assert_eq!(idp.requests(Endpoint::Jwks), 0);
    // Several headers together count too.
    let half = "A".repeat(9 * 1024);
    let split = reqwest::Client::new()
        .get(app.url("/api/hello"))
        .header("authorization", format!("Bearer {half}"))
        .header("authorization", format!("Bearer {half}"))
        .send()
        .await
        .unwrap();
    assert_too_large(split, "authorization").await;
    // Just under the limit: judged, and refused as a bad token, not as a size.
    let large = "A".repeat(15 * 1024);
    assert_eq!(call(&app, "/api/hello", &large).await.status(), 401);
    // The app still serves the real token.
    assert_eq!(call(&app, "/api/hello", &token).await.status(), 200);
}

#[tokio::test]
async fn an_oversized_cookie_header_is_431_and_the_session_still_works_without_it() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    assert_eq!(
        app.me(&browser).await["preferred_username"],
        "alice@contoso.test"
    );
    let junk = format!("junk={}", "x".repeat(9 * 1024));
    let response = reqwest::Client::new()
        .get(app.url("/me"))
        .header("accept", "application/json")
        .header("cookie", junk)
        .send()
        .await
        .unwrap();
    assert_too_large(response, "cookie").await;
    // Ordinary requests are untouched.
    assert_eq!(
        app.me(&browser).await["preferred_username"],
        "alice@contoso.test"
    );
}
