//! Shared by the API suites: the example API on TestIdp (registered for v1 or v2 tokens),
//! tokens, and the call.

use msal_runtime::config::MsalConfigBuilder;
use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, JsonObject, Mint, TestClient,
    TestIdp, TestIdpBuilder, TestTenant, TestUser, TokenVersion,
};
use msal_tests::{TestApp, sign_in_via, token_request};

/// The default TestIdp, its app registered for this access-token version (the default
/// app's manifest asks for v2; Entra's own default is v1).
pub fn idp_builder(version: TokenVersion) -> TestIdpBuilder {
    TestIdp::builder()
        .without_defaults()
        .tenant(TestTenant::new(DEFAULT_TENANT_ID, "contoso.test"))
        .client(TestClient::default_app().access_token_version(version))
        .user(TestUser::alice())
        .user(TestUser::bob())
}

/// [`idp_builder`], started.
pub async fn idp(version: TokenVersion) -> TestIdp {
    idp_builder(version).start().await.unwrap()
}

/// The `aud` a token for this API carries: the client id (v2), or the resource as the
/// client named it, the App ID URI (v1).
pub fn audience(version: TokenVersion) -> String {
    match version {
        TokenVersion::V2 => DEFAULT_CLIENT_ID.to_owned(),
        _ => format!("api://{DEFAULT_CLIENT_ID}"),
    }
}

/// The issuer of tenant `tid`'s access tokens of this version.
pub fn issuer(idp: &TestIdp, version: TokenVersion, tid: &str) -> String {
    match version {
        TokenVersion::V2 => idp.issuer_for(tid),
        _ => idp.v1_issuer_for(tid),
    }
}

/// Runs each named `async fn(TokenVersion)` as two tests, `<name>::v1` and `<name>::v2`:
/// the bearer tests whose outcome depends on the token's shape (issuer, `aud`,
/// `azp`/`appid`, username claims, `scp`, `roles`).
macro_rules! for_both_token_versions {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn v1() {
                super::$name(msal_runtime::testing::TokenVersion::V1).await
            }
            #[tokio::test]
            async fn v2() {
                super::$name(msal_runtime::testing::TokenVersion::V2).await
            }
        }
    )+};
}
pub(crate) use for_both_token_versions;

/// The example API (`msal_examples::api`) in bearer-only mode.
pub async fn api(
    idp: &TestIdp,
    tweak: impl FnOnce(MsalConfigBuilder) -> MsalConfigBuilder,
) -> TestApp {
    TestApp::start_api(idp, tweak, msal_examples::api::router()).await
}

/// A user's access token for this API, through a real code flow.
pub async fn user_token(idp: &TestIdp, username: &str, scopes: &str) -> String {
    let scope = scopes
        .split_whitespace()
        .map(|s| format!("api://{DEFAULT_CLIENT_ID}/{s}"))
        .collect::<Vec<_>>()
        .join(" ");
    // Through `organizations`, so users of every tenant can sign in.
    let body = sign_in_via(idp, "organizations", username, &format!("openid {scope}")).await;
    body["access_token"].as_str().unwrap().to_owned()
}

/// An app-only token (client credentials) for this API.
pub async fn app_token(idp: &TestIdp) -> String {
    let body: serde_json::Value = token_request(
        idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Claims of a valid delegated token for this API with these scopes.
pub fn claims(idp: &TestIdp, scopes: &[&str]) -> JsonObject {
    idp.access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, scopes)
        .unwrap()
}

pub fn mint(idp: &TestIdp, mint: Mint) -> String {
    idp.mint(&mint).unwrap()
}

/// GET with a bearer token.
pub async fn call(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Asserts an RFC 6750 `invalid_token` refusal whose description mentions `why`.
pub async fn assert_invalid_token(response: reqwest::Response, why: &str) {
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(challenge.contains(why), "expected {why:?} in {challenge}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
