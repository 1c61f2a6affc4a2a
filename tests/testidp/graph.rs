//! The Microsoft Graph stand-in: it takes the Graph tokens TestIdp issued, nothing else.

use std::time::Duration;

use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestClient, TestIdp, TestUser};
use msal_tests::{sign_in, token_request};
use serde_json::Value;

async fn get_me(idp: &TestIdp, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new().get(format!("{}/me", idp.graph_base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), challenge)
}

#[tokio::test]
async fn me_answers_the_profile_for_a_graph_token() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(&idp, "bob@contoso.test", "openid User.Read").await;
    let (status, me, _) = get_me(&idp, body["access_token"].as_str()).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], idp.user("bob@contoso.test").unwrap().oid);
    assert_eq!(me["displayName"], "Bob Admin");
    assert_eq!(me["givenName"], "Bob");
    assert_eq!(me["surname"], "Admin");
    assert_eq!(me["userPrincipalName"], "bob@contoso.test");
    assert_eq!(me["mail"], "bob@contoso.test");
}

#[tokio::test]
async fn me_without_a_token_is_401_with_a_challenge() {
    let idp = TestIdp::start().await.unwrap();
    let (status, body, challenge) = get_me(&idp, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(challenge.unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn me_refuses_tokens_that_are_not_graph_tokens() {
    let idp = TestIdp::start().await.unwrap();
    // A valid token, but for the app's own API.
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
    )
    .await;
    let (status, error, _) = get_me(&idp, body["access_token"].as_str()).await;
    assert_eq!(status, 401);
    assert_eq!(error["error"]["code"], "InvalidAuthenticationToken");
    let (status, _, _) = get_me(&idp, Some("garbage")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn me_refuses_an_expired_graph_token() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid User.Read").await;
    idp.advance_clock(Duration::from_secs(3601));
    let (status, error, _) = get_me(&idp, body["access_token"].as_str()).await;
    assert_eq!(status, 401);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn me_without_user_read_is_403() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid Mail.Read").await;
    let (status, error, _) = get_me(&idp, body["access_token"].as_str()).await;
    assert_eq!(status, 403);
    assert_eq!(error["error"]["code"], "Authorization_RequestDenied");
}

#[tokio::test]
async fn member_objects_lists_groups_for_overage_lookups() {
    let idp = TestIdp::builder()
        .user(
            TestUser::new("many@contoso.test", "Many Groups")
                .group("g1")
                .group("g2"),
        )
        .start()
        .await
        .unwrap();
    let body = sign_in(&idp, "many@contoso.test", "openid User.Read").await;
    let token = body["access_token"].as_str().unwrap();
    let oid = idp.user("many@contoso.test").unwrap().oid;
    let client = reqwest::Client::new();
    for url in [
        format!("{}/me/getMemberObjects", idp.graph_base_url()),
        format!("{}/users/{oid}/getMemberObjects", idp.graph_base_url()),
    ] {
        let response = client
            .post(&url)
            .bearer_auth(token)
            .json(&serde_json::json!({"securityEnabledOnly": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let groups: Value = response.json().await.unwrap();
        assert_eq!(groups["value"], serde_json::json!(["g1", "g2"]));
    }
    let missing = client
        .post(format!(
            "{}/users/nobody/getMemberObjects",
            idp.graph_base_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn me_with_an_app_only_graph_token_is_400() {
    let idp = TestIdp::builder()
        .client(
            TestClient::new("55555555-0000-4000-8000-000000000005")
                .secret("s")
                .app_permission("User.Read.All"),
        )
        .start()
        .await
        .unwrap();
    let body: Value = token_request(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "55555555-0000-4000-8000-000000000005"),
            ("client_secret", "s"),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let (status, error, _) = get_me(&idp, body["access_token"].as_str()).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("delegated")
    );
}
