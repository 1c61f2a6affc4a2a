//! Consent as Entra keeps it: per user and client, granted at `/authorize` (incremental,
//! accumulating), plus the client's admin consent. Refreshes and on-behalf-of exchanges for
//! anything else answer `consent_required` (AADSTS65001).

use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestClient, TestIdp, TestIdpError, TokenVersion};
use msal_tests::{AuthRequest, assert_redirected_error, authorize_code, browser, sign_in};
use serde_json::json;

use crate::common::{
    access_token_of, json_of, obo_as, refresh_as_client, refresh_token_of, refresh_with,
    sign_in_as_client,
};

const BARE: &str = "77777777-0000-4000-8000-000000000007";
const MIDDLE: &str = "88888888-0000-4000-8000-000000000008";

/// A web app registered as Entra makes one: no admin consent at all.
fn bare_app() -> TestClient {
    TestClient::new(BARE)
        .display_name("Bare app")
        .secret("bare-secret")
        .redirect_uri("http://127.0.0.1/auth/callback")
}

/// Asserts Entra's consent_required answer, naming the client.
fn assert_consent_required(body: &serde_json::Value, client_id: &str, name: &str) {
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(body["suberror"], "consent_required", "{body}");
    assert_eq!(body["error_codes"], json!([65001]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    let expected = format!(
        "AADSTS65001: The user or administrator has not consented to use the application with ID '{client_id}' named '{name}'. Send an interactive authorization request for this user and resource."
    );
    assert!(description.starts_with(&expected), "{description}");
}

#[tokio::test]
async fn authorize_consents_and_consent_accumulates_across_sign_ins() {
    let idp = TestIdp::builder().client(bare_app()).start().await.unwrap();
    assert!(
        idp.consented_scopes("alice@contoso.test", BARE)
            .unwrap()
            .is_empty(),
        "no admin consent, no sign-in yet"
    );
    sign_in_as_client(
        &idp,
        BARE,
        "bare-secret",
        "alice@contoso.test",
        "openid Mail.Read",
    )
    .await;
    sign_in_as_client(
        &idp,
        BARE,
        "bare-secret",
        "alice@contoso.test",
        &format!("openid api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
    )
    .await;
    assert_eq!(
        idp.consented_scopes("alice@contoso.test", BARE).unwrap(),
        vec![
            format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
            "https://graph.microsoft.com/Mail.Read".to_owned(),
        ]
    );
    assert!(
        idp.consented_scopes("bob@contoso.test", BARE)
            .unwrap()
            .is_empty(),
        "Alice's consent is hers"
    );
}

#[tokio::test]
async fn the_default_app_has_admin_consent_for_graph_user_read_and_its_own_api() {
    let idp = TestIdp::start().await.unwrap();
    assert_eq!(
        idp.consented_scopes("bob@contoso.test", DEFAULT_CLIENT_ID)
            .unwrap(),
        vec![
            format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
            format!("api://{DEFAULT_CLIENT_ID}/Tasks.Write"),
            format!("api://{DEFAULT_CLIENT_ID}/access_as_user"),
            "https://graph.microsoft.com/User.Read".to_owned(),
        ]
    );
    // So a refresh for them needs no sign-in that asked for them.
    let body = sign_in(&idp, "bob@contoso.test", "openid offline_access").await;
    let rt = refresh_token_of(&body);
    for scope in [
        "User.Read",
        &format!("api://{DEFAULT_CLIENT_ID}/Tasks.Write"),
    ] {
        assert_eq!(
            refresh_with(&idp, &rt, Some(scope), None).await.status(),
            200,
            "{scope}"
        );
    }
}

#[tokio::test]
async fn a_refresh_for_a_scope_nobody_consented_to_is_consent_required() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        "openid offline_access User.Read",
    )
    .await;
    let rt = refresh_token_of(&body);
    let refused = json_of(refresh_with(&idp, &rt, Some("Mail.Read"), None).await, 400).await;
    assert_consent_required(&refused, DEFAULT_CLIENT_ID, "msal-axum test app");
    // Incremental consent: an interactive request for it, and the same refresh token now
    // gets it (consent belongs to the user and the client, not to a token).
    sign_in(&idp, "alice@contoso.test", "openid Mail.Read").await;
    let granted = json_of(refresh_with(&idp, &rt, Some("Mail.Read"), None).await, 200).await;
    assert_eq!(granted["scope"], "Mail.Read");
}

#[tokio::test]
async fn openid_scopes_never_need_consent() {
    let idp = TestIdp::builder().client(bare_app()).start().await.unwrap();
    let body = sign_in_as_client(
        &idp,
        BARE,
        "bare-secret",
        "alice@contoso.test",
        "openid profile email offline_access",
    )
    .await;
    let response = refresh_as_client(
        &idp,
        BARE,
        "bare-secret",
        &refresh_token_of(&body),
        "openid profile email offline_access",
    )
    .await;
    assert_eq!(response.status(), 200);
    // Graph's User.Read, though, was never asked for.
    let refused = json_of(
        refresh_as_client(
            &idp,
            BARE,
            "bare-secret",
            &refresh_token_of(&body),
            "User.Read",
        )
        .await,
        400,
    )
    .await;
    assert_consent_required(&refused, BARE, "Bare app");
}

#[tokio::test]
async fn withdrawn_consent_is_consent_required_until_the_user_consents_again() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        "openid offline_access User.Read",
    )
    .await;
    let rt = refresh_token_of(&body);
    // Admin-consented, and asked for at sign-in: withdrawing takes it away all the same.
    idp.withdraw_consent("alice@contoso.test", DEFAULT_CLIENT_ID, "User.Read")
        .unwrap();
    assert!(
        !idp.consented_scopes("alice@contoso.test", DEFAULT_CLIENT_ID)
            .unwrap()
            .contains(&"https://graph.microsoft.com/User.Read".to_owned())
    );
    // The refresh token's own scopes are checked again at every refresh.
    let refused = json_of(refresh_with(&idp, &rt, None, None).await, 400).await;
    assert_consent_required(&refused, DEFAULT_CLIENT_ID, "msal-axum test app");
    // Bob was not affected.
    let bob = sign_in(&idp, "bob@contoso.test", "openid offline_access User.Read").await;
    assert_eq!(
        refresh_with(&idp, &refresh_token_of(&bob), None, None)
            .await
            .status(),
        200
    );
    sign_in(&idp, "alice@contoso.test", "openid User.Read").await;
    assert_eq!(refresh_with(&idp, &rt, None, None).await.status(), 200);
}

#[tokio::test]
async fn withdrawing_names_scopes_as_requests_do() {
    let idp = TestIdp::start().await.unwrap();
    idp.withdraw_consent(
        "alice@contoso.test",
        DEFAULT_CLIENT_ID,
        &format!("api://{DEFAULT_CLIENT_ID}/Tasks.Write"),
    )
    .unwrap();
    let left = idp
        .consented_scopes("alice@contoso.test", DEFAULT_CLIENT_ID)
        .unwrap();
    assert!(!left.contains(&format!("api://{DEFAULT_CLIENT_ID}/Tasks.Write")));
    assert!(left.contains(&format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read")));
    assert!(matches!(
        idp.withdraw_consent("alice@contoso.test", DEFAULT_CLIENT_ID, "api://nobody/X"),
        Err(TestIdpError::InvalidScope(_))
    ));
    assert!(matches!(
        idp.consented_scopes("nobody@contoso.test", DEFAULT_CLIENT_ID),
        Err(TestIdpError::UnknownUser(_))
    ));
    assert!(matches!(
        idp.consented_scopes("alice@contoso.test", "nope"),
        Err(TestIdpError::UnknownClient(_))
    ));
}

#[tokio::test]
async fn a_default_scope_refresh_gets_what_was_consented_on_that_resource() {
    let idp = TestIdp::builder().client(bare_app()).start().await.unwrap();
    let body = sign_in_as_client(
        &idp,
        BARE,
        "bare-secret",
        "alice@contoso.test",
        "openid offline_access User.Read Mail.Read",
    )
    .await;
    let rt = refresh_token_of(&body);
    let graph = json_of(
        refresh_as_client(
            &idp,
            BARE,
            "bare-secret",
            &rt,
            "https://graph.microsoft.com/.default",
        )
        .await,
        200,
    )
    .await;
    let (_, claims) = msal_tests::decode_unverified(&access_token_of(&graph));
    assert_eq!(claims["scp"], "Mail.Read User.Read");
    let api = json_of(
        refresh_as_client(
            &idp,
            BARE,
            "bare-secret",
            &rt,
            &format!("api://{DEFAULT_CLIENT_ID}/.default"),
        )
        .await,
        400,
    )
    .await;
    assert_consent_required(&api, BARE, "Bare app");
}

#[tokio::test]
async fn on_behalf_of_needs_the_middle_tiers_consent_to_the_downstream_resource() {
    let idp = TestIdp::builder()
        .client(
            TestClient::new(MIDDLE)
                .display_name("Middle tier")
                .secret("middle-secret")
                .scope("access_as_user")
                .access_token_version(TokenVersion::V2)
                .admin_consent("User.Read"),
        )
        .start()
        .await
        .unwrap();
    // The default app (the front end) has Alice's consent to Mail.Read...
    sign_in(&idp, "alice@contoso.test", "openid Mail.Read").await;
    let front = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{MIDDLE}/access_as_user"),
    )
    .await;
    let assertion = access_token_of(&front);
    // ...but the middle tier asks for itself: its admin consent covers User.Read only.
    let ok = obo_as(&idp, MIDDLE, "middle-secret", &assertion, "User.Read", None).await;
    assert_eq!(ok.status(), 200);
    let refused = json_of(
        obo_as(&idp, MIDDLE, "middle-secret", &assertion, "Mail.Read", None).await,
        400,
    )
    .await;
    assert_consent_required(&refused, MIDDLE, "Middle tier");
}

#[tokio::test]
async fn a_silent_authorize_without_consent_is_consent_required() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    authorize_code(&browser, &idp, &AuthRequest::new("alice@contoso.test")).await;
    let silent = AuthRequest::new("alice@contoso.test")
        .set("prompt", "none")
        .set("scope", "openid Mail.Read");
    let response = msal_tests::send_authorize(&browser, &idp, &silent).await;
    assert_redirected_error(&response, "consent_required", "65001");
    // Admin-consented scopes need no prompt.
    let consented = silent.set("scope", "openid User.Read");
    authorize_code(&browser, &idp, &consented).await;
}

#[tokio::test]
async fn admin_consent_for_something_that_is_not_a_scope_does_not_start() {
    let err = TestIdp::builder()
        .client(bare_app().admin_consent("api://nobody/Read"))
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("admin consent for 'api://nobody/Read'"),
        "{err}"
    );
}
