//! Refresh tokens: each refresh returns another (the redeemed one stays valid, as at
//! Entra), they can move to another resource, expire and can be revoked.

use std::time::Duration;

use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestClient, TestIdp};
use msal_tests::{decode_unverified, oauth_error, sign_in, token_request, verify_for_app};

async fn refresh(idp: &TestIdp, token: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("refresh_token", token),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(idp, &form).await
}

fn refresh_token_of(body: &serde_json::Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn refresh_returns_a_new_token_and_the_redeemed_one_stays_valid() {
    let idp = TestIdp::start().await.unwrap();
    let first = sign_in(&idp, "alice@contoso.test", "openid profile offline_access").await;
    let rt1 = refresh_token_of(&first);
    let response = refresh(&idp, &rt1, None).await;
    assert_eq!(response.status(), 200);
    let second: serde_json::Value = response.json().await.unwrap();
    let rt2 = refresh_token_of(&second);
    assert_ne!(rt1, rt2, "a new refresh token each time");

    let id_token = second["id_token"].as_str().unwrap();
    let claims = verify_for_app(&idp, id_token).await.unwrap();
    let (_, original) = decode_unverified(first["id_token"].as_str().unwrap());
    assert_eq!(claims["sid"], original["sid"], "same IdP session");
    assert!(
        claims.get("nonce").is_none(),
        "no nonce on a refreshed ID token"
    );

    // Entra does not revoke a refresh token on use: the redeemed one works again, and so
    // does the new one.
    assert_eq!(refresh(&idp, &rt1, None).await.status(), 200);
    assert_eq!(refresh(&idp, &rt2, None).await.status(), 200);
}

#[tokio::test]
async fn revoking_used_refresh_tokens_leaves_only_the_unused_ones() {
    let idp = TestIdp::start().await.unwrap();
    let first = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    let rt1 = refresh_token_of(&first);
    let second: serde_json::Value = refresh(&idp, &rt1, None).await.json().await.unwrap();
    let rt2 = refresh_token_of(&second);
    assert_eq!(
        idp.revoke_used_refresh_tokens("alice@contoso.test")
            .unwrap(),
        1
    );
    let (error, description) = oauth_error(refresh(&idp, &rt1, None).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.starts_with("AADSTS50173:"), "{description}");
    assert_eq!(refresh(&idp, &rt2, None).await.status(), 200);
}

#[tokio::test]
async fn refresh_can_ask_for_another_resource() {
    let idp = TestIdp::start().await.unwrap();
    let first = sign_in(&idp, "bob@contoso.test", "openid offline_access User.Read").await;
    let scope = format!("api://{DEFAULT_CLIENT_ID}/Tasks.Write offline_access");
    let response = refresh(&idp, &refresh_token_of(&first), Some(&scope)).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let claims = verify_for_app(&idp, body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims["scp"], "Tasks.Write");
    assert!(
        body.get("id_token").is_none(),
        "openid was not asked for this time"
    );
}

#[tokio::test]
async fn revoked_refresh_tokens_are_refused() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    assert_eq!(idp.revoke_refresh_tokens("alice@contoso.test").unwrap(), 1);
    let (error, description) =
        oauth_error(refresh(&idp, &refresh_token_of(&body), None).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.starts_with("AADSTS50173:"), "{description}");
    assert!(idp.revoke_refresh_tokens("nobody@contoso.test").is_err());
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let idp = TestIdp::builder()
        .refresh_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    idp.advance_clock(Duration::from_secs(61));
    let (error, description) =
        oauth_error(refresh(&idp, &refresh_token_of(&body), None).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.starts_with("AADSTS700082:"), "{description}");
}

#[tokio::test]
async fn unknown_refresh_tokens_are_refused() {
    let idp = TestIdp::start().await.unwrap();
    let (error, description) =
        oauth_error(refresh(&idp, "not-a-refresh-token", None).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.starts_with("AADSTS9002313:"), "{description}");
}

#[tokio::test]
async fn another_client_cannot_use_the_refresh_token() {
    let other = "44444444-0000-4000-8000-000000000004";
    let idp = TestIdp::builder()
        .client(TestClient::new(other).secret("other-secret"))
        .start()
        .await
        .unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    let response = token_request(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", other),
            ("client_secret", "other-secret"),
            ("refresh_token", &refresh_token_of(&body)),
        ],
    )
    .await;
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("different client"), "{description}");
}
