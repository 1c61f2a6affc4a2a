//! The example API's authentication-context route (`DELETE /api/tasks`, `auth_context =
//! "c1"`): a token without `acrs` c1 hears an `insufficient_claims` challenge whose claims,
//! asked for at sign-in, get a token that passes.

use base64::Engine as _;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Mint, TestIdp};
use msal_tests::{AuthRequest, authorize_code, browser, redeem};
use serde_json::Value;

use crate::common::{api, claims, mint, user_token};

const ACRS_C1: &str = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;

async fn delete(app: &msal_tests::TestApp, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .delete(app.url("/api/tasks"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn delete_without_the_auth_context_is_challenged_for_it() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = user_token(&idp, "bob@contoso.test", "Tasks.Write").await;
    let refused = delete(&app, &token).await;
    assert_eq!(refused.status(), 401);
    let header = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected = base64::engine::general_purpose::STANDARD.encode(ACRS_C1);
    assert!(
        header.starts_with("Bearer error=\"insufficient_claims\"")
            && header.ends_with(&format!("claims=\"{expected}\"")),
        "{header}"
    );
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_token_requested_with_the_challenged_claims_passes() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let request = AuthRequest::new("bob@contoso.test")
        .set(
            "scope",
            &format!("openid api://{DEFAULT_CLIENT_ID}/Tasks.Write"),
        )
        .set("claims", ACRS_C1);
    let code = authorize_code(&browser(), &idp, &request).await;
    let body: Value = redeem(&idp, &code, &request).await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let done = delete(&app, token).await;
    assert_eq!(done.status(), 200);
    assert_eq!(done.json::<Value>().await.unwrap()["deleted"], 0);
}

#[tokio::test]
async fn acrs_is_read_as_a_list_and_other_contexts_do_not_count() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    for (acrs, status) in [
        (serde_json::json!(["c2"]), 401),
        (serde_json::json!([]), 401),
        (serde_json::json!("c1"), 200),
        (serde_json::json!(["c2", "c1"]), 200),
        (serde_json::json!([1]), 401),
    ] {
        let token = mint(
            &idp,
            Mint::new(claims(&idp, &["Tasks.Write"])).claim("acrs", acrs.clone()),
        );
        assert_eq!(delete(&app, &token).await.status(), status, "acrs {acrs}");
    }
    // The scope still matters: c1 without Tasks.Write is a scope refusal.
    let token = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("acrs", serde_json::json!(["c1"])),
    );
    assert_eq!(delete(&app, &token).await.status(), 403);
}
