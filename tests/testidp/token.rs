//! The token endpoint's refusals for the code grant and client authentication.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestClient, TestIdp};
use msal_tests::{
    AuthRequest, REDIRECT_URI, authorize_code, browser, oauth_error, post_token, redeem,
    token_request,
};

async fn fresh_code(idp: &TestIdp) -> (String, AuthRequest) {
    let request = AuthRequest::new("alice@contoso.test");
    (authorize_code(&browser(), idp, &request).await, request)
}

fn assert_code(description: &str, aadsts: &str) {
    assert!(
        description.starts_with(&format!("AADSTS{aadsts}:")),
        "{description}"
    );
}

#[tokio::test]
async fn a_code_is_single_use() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    assert_eq!(redeem(&idp, &code, &request).await.status(), 200);
    let (error, description) = oauth_error(redeem(&idp, &code, &request).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert_code(&description, "54005");
}

#[tokio::test]
async fn an_unknown_code_is_invalid_grant() {
    let idp = TestIdp::start().await.unwrap();
    let (_, request) = fresh_code(&idp).await;
    let (error, description) = oauth_error(redeem(&idp, "made-up", &request).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert_code(&description, "70000");
}

#[tokio::test]
async fn a_wrong_verifier_fails_and_burns_the_code() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    let mut wrong = request.clone();
    wrong.pkce = msal_tests::Pkce::new();
    let (error, description) = oauth_error(redeem(&idp, &code, &wrong).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert_code(&description, "501481");
    // The right verifier is too late now: no second guess at a code.
    let (_, description) = oauth_error(redeem(&idp, &code, &request).await, 400).await;
    assert_code(&description, "54005");
}

#[tokio::test]
async fn a_missing_verifier_is_invalid_request() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    let response = post_token(&idp, &request.redemption(&code).remove("code_verifier")).await;
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("'code_verifier'"), "{description}");
}

#[tokio::test]
async fn the_redirect_uri_must_be_the_one_of_the_authorize_request() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    let other = request
        .clone()
        .set("redirect_uri", "http://127.0.0.1:9999/auth/callback");
    let (error, description) = oauth_error(redeem(&idp, &code, &other).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert_code(&description, "500112");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    idp.advance_clock(Duration::from_secs(601));
    let (error, description) = oauth_error(redeem(&idp, &code, &request).await, 400).await;
    assert_eq!(error, "invalid_grant");
    assert_code(&description, "70008");
}

#[tokio::test]
async fn a_code_for_another_client_is_refused() {
    let other = "44444444-0000-4000-8000-000000000004";
    let idp = TestIdp::builder()
        .client(TestClient::new(other).secret("other-secret"))
        .start()
        .await
        .unwrap();
    let (code, request) = fresh_code(&idp).await;
    let response = post_token(
        &idp,
        &request
            .redemption(&code)
            .set("client_id", other)
            .set("client_secret", "other-secret"),
    )
    .await;
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("different client"), "{description}");
}

#[tokio::test]
async fn a_wrong_secret_is_401_invalid_client() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    let response = post_token(
        &idp,
        &request
            .redemption(&code)
            .set("client_secret", "not-the-secret"),
    )
    .await;
    let (error, description) = oauth_error(response, 401).await;
    assert_eq!(error, "invalid_client");
    assert_code(&description, "7000215");
}

#[tokio::test]
async fn a_missing_secret_is_401_invalid_client() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    let response = post_token(&idp, &request.redemption(&code).remove("client_secret")).await;
    let (error, description) = oauth_error(response, 401).await;
    assert_eq!(error, "invalid_client");
    assert_code(&description, "7000218");
}

#[tokio::test]
async fn an_unknown_client_is_unauthorized_client() {
    let idp = TestIdp::start().await.unwrap();
    let response = token_request(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
            ("client_secret", "x"),
            ("scope", "x/.default"),
        ],
    )
    .await;
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "unauthorized_client");
    assert_code(&description, "700016");
}

#[tokio::test]
async fn client_secret_basic_authenticates() {
    let idp = TestIdp::start().await.unwrap();
    let (code, request) = fresh_code(&idp).await;
    let basic = STANDARD.encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", request.pkce.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn client_secret_basic_with_a_wrong_secret_is_401() {
    let idp = TestIdp::start().await.unwrap();
    let basic = STANDARD.encode(format!("{DEFAULT_CLIENT_ID}:wrong"));
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
        ])
        .send()
        .await
        .unwrap();
    let (error, description) = oauth_error(response, 401).await;
    assert_eq!(error, "invalid_client");
    assert_code(&description, "7000215");
}

#[tokio::test]
async fn two_client_authentication_methods_at_once_are_refused() {
    let idp = TestIdp::start().await.unwrap();
    let basic = STANDARD.encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
        ])
        .send()
        .await
        .unwrap();
    let (error, _) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn unsupported_or_missing_grant_type_is_refused_in_entras_error_shape() {
    let idp = TestIdp::start().await.unwrap();
    let response = token_request(
        &idp,
        &[
            ("grant_type", "password"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    assert_code(body["error_description"].as_str().unwrap(), "70003");
    assert_eq!(body["error_codes"], serde_json::json!([70003]));
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 36);
    assert_eq!(body["correlation_id"].as_str().unwrap().len(), 36);

    let response = token_request(&idp, &[("client_id", DEFAULT_CLIENT_ID)]).await;
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("'grant_type'"), "{description}");
}

#[tokio::test]
async fn a_json_body_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .json(&serde_json::json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_request");
    assert!(
        description.contains("application/x-www-form-urlencoded"),
        "{description}"
    );
}

/// A client-credentials request with this `Authorization: Basic` value (base64 of it).
async fn with_basic(idp: &TestIdp, credentials: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(idp.token_endpoint())
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(credentials)),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
        ])
        .send()
        .await
        .unwrap()
}

fn form_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn client_secret_basic_is_url_decoded_by_default() {
    assert!(DEFAULT_CLIENT_SECRET.contains('~'), "as Entra's secrets do");
    let encoded = form_encoded(DEFAULT_CLIENT_SECRET);
    assert!(
        encoded.contains("%7E"),
        "form encoding escapes '~': {encoded}"
    );
    let idp = TestIdp::start().await.unwrap();
    // RFC 6749 2.3.1: the encoded form is what the spec says to send...
    let spec = with_basic(&idp, &format!("{DEFAULT_CLIENT_ID}:{encoded}")).await;
    assert_eq!(spec.status(), 200);
    // ...and a raw `~` decodes to itself.
    let raw = with_basic(
        &idp,
        &format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"),
    )
    .await;
    assert_eq!(raw.status(), 200);
}

#[tokio::test]
async fn without_decoding_only_the_raw_secret_authenticates_as_at_entra() {
    let idp = TestIdp::start().await.unwrap();
    idp.decode_basic_credentials(false);
    let raw = with_basic(
        &idp,
        &format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"),
    )
    .await;
    assert_eq!(raw.status(), 200);
    let encoded = form_encoded(DEFAULT_CLIENT_SECRET);
    let spec = with_basic(&idp, &format!("{DEFAULT_CLIENT_ID}:{encoded}")).await;
    let (error, description) = oauth_error(spec, 401).await;
    assert_eq!(error, "invalid_client");
    assert_code(&description, "7000215");
    // client_secret_post is form-decoded as any form is, either way.
    let post = token_request(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
        ],
    )
    .await;
    assert_eq!(post.status(), 200);
    idp.decode_basic_credentials(true);
    assert_eq!(
        with_basic(&idp, &format!("{DEFAULT_CLIENT_ID}:{encoded}"))
            .await
            .status(),
        200
    );
}
