//! An API registered with Entra's default (v1) access tokens: its callers are named by
//! `upn` (then `unique_name`), since v1 tokens carry no `preferred_username`.

use axum::routing::get;
use axum::{Json, Router};
use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, DEFAULT_TENANT_ID, Mint, TestClient, TestIdp, TestTenant, TestUser,
    TokenVersion,
};
use msal_runtime::{User, msal_protected};
use msal_tests::{TestApp, decode_unverified, sign_in};

#[msal_protected]
async fn me(user: User) -> Json<User> {
    Json(user)
}

/// A TestIdp whose app registration issues v1 access tokens, and the API in front of it.
async fn v1_api() -> (TestIdp, TestApp) {
    let idp = TestIdp::builder()
        .without_defaults()
        .tenant(TestTenant::new(DEFAULT_TENANT_ID, "contoso.test"))
        .client(TestClient::default_app().access_token_version(TokenVersion::V1))
        .user(TestUser::alice())
        .start()
        .await
        .unwrap();
    let app = TestApp::start_api(&idp, |c| c, Router::new().route("/me", get(me))).await;
    (idp, app)
}

async fn me_of(app: &TestApp, token: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(app.url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_v1_token_names_its_caller_by_upn() {
    let (idp, app) = v1_api().await;
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
    )
    .await;
    let token = body["access_token"].as_str().unwrap();
    let (_, claims) = decode_unverified(token);
    assert_eq!(claims["ver"], "1.0");
    assert!(claims.get("preferred_username").is_none(), "{claims}");
    assert_eq!(claims["upn"], "alice@contoso.test");
    let me = me_of(&app, token).await;
    assert_eq!(me["preferred_username"], "alice@contoso.test");
    assert_eq!(me["name"], "Alice Example");
}

#[tokio::test]
async fn a_v1_token_without_upn_names_its_caller_by_unique_name() {
    let (idp, app) = v1_api().await;
    let claims = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    assert_eq!(claims["ver"], "1.0");
    // A guest or a personal account: no upn, the sign-in name only in unique_name.
    let token = idp
        .mint(
            &Mint::new(claims)
                .without_claim("upn")
                .claim("unique_name", "live.com#alice@outlook.test"),
        )
        .unwrap();
    let me = me_of(&app, &token).await;
    assert_eq!(me["preferred_username"], "live.com#alice@outlook.test");
}
