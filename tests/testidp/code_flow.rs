//! The authorization-code flow end to end, with every token verified independently.

use msal_runtime::testing::{
    BOB_GROUP_ID, DEFAULT_CLIENT_ID, TestClient, TestIdp, TestTenant, TestUser, TokenVersion,
};
use msal_tests::{
    AuthRequest, REDIRECT_URI, assert_redirected_error, authorize_code, browser, decode_unverified,
    location, param, redeem, send_authorize, sign_in, verify, verify_for_app,
};
use serde_json::json;

use crate::common::{form_action, form_fields};

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

#[tokio::test]
async fn login_hint_signs_in_and_tokens_verify_independently() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("alice@contoso.test");
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_eq!(response.status(), 302);
    let back = location(&response);
    assert_eq!(back.as_str().split('?').next().unwrap(), REDIRECT_URI);
    assert_eq!(param(&back, "state").as_deref(), Some("state-123"));
    let code = param(&back, "code").unwrap();
    let session_state = param(&back, "session_state").unwrap();

    let response = redeem(&idp, &code, &request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(
        body["refresh_token"].is_string(),
        "offline_access gives a refresh token"
    );

    let claims = verify_for_app(&idp, body["id_token"].as_str().unwrap())
        .await
        .expect("ID token verifies against the JWKS");
    let alice = idp.user("alice@contoso.test").unwrap();
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["oid"], alice.oid);
    assert_eq!(claims["tid"], idp.tenant().id);
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["preferred_username"], "alice@contoso.test");
    assert_eq!(claims["email"], "alice@contoso.test");
    assert_eq!(claims["sid"], session_state);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["sub"].as_str().unwrap().len(), 43, "pairwise sub");
    assert!(claims.get("roles").is_none(), "alice has no roles");
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(iat, nbf);
    assert_eq!(exp - iat, 3600);

    // With no API scope the access token is for Microsoft Graph (named by nothing, so by
    // its application id), and like Graph's real tokens it carries a header nonce that
    // makes standard verification fail.
    let access = body["access_token"].as_str().unwrap();
    let (header, at) = decode_unverified(access);
    assert!(header["nonce"].is_string());
    assert_eq!(at["aud"], GRAPH_APP_ID);
    assert_eq!(at["ver"], "1.0");
    assert_eq!(at["amr"], json!(["pwd"]));
    let err = verify(
        &idp,
        access,
        GRAPH_APP_ID,
        &idp.v1_issuer_for(&idp.tenant().id),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.kind(),
        &jsonwebtoken::errors::ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn picker_page_signs_in_the_chosen_user() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let request = AuthRequest::new("").remove("login_hint");
    let page = send_authorize(&browser, &idp, &request).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Alice Example (alice@contoso.test)"));
    assert!(html.contains("Bob Admin (bob@contoso.test)"));

    let bob = idp.user("bob@contoso.test").unwrap();
    let mut fields: Vec<(String, String)> = form_fields(&html)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("testidp_"))
        .collect();
    fields.push(("testidp_user".into(), bob.oid.clone()));
    let response = browser
        .post(form_action(&html))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let back = location(&response);
    assert_eq!(param(&back, "state").as_deref(), Some("state-123"));
    let body: serde_json::Value = redeem(&idp, &param(&back, "code").unwrap(), &request)
        .await
        .json()
        .await
        .unwrap();
    let claims = verify_for_app(&idp, body["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims["oid"], bob.oid);
    assert_eq!(claims["roles"], json!(["Admin"]));
    assert_eq!(claims["groups"], json!([BOB_GROUP_ID]));
}

#[tokio::test]
async fn cancelling_on_the_picker_returns_access_denied_with_state() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let request = AuthRequest::new("").remove("login_hint");
    let html = send_authorize(&browser, &idp, &request)
        .await
        .text()
        .await
        .unwrap();
    let mut fields: Vec<(String, String)> = form_fields(&html)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("testidp_"))
        .collect();
    fields.push(("testidp_cancel".into(), "1".into()));
    let response = browser
        .post(form_action(&html))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_redirected_error(&response, "access_denied", "65004");
}

#[tokio::test]
async fn unknown_login_hint_shows_the_picker_with_a_notice() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("mallory@contoso.test");
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("No test user is named &#39;mallory@contoso.test&#39;"),
        "{html}"
    );
}

#[tokio::test]
async fn select_account_shows_the_picker_even_with_a_known_hint() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("alice@contoso.test").set("prompt", "select_account");
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Pick an account"));
}

#[tokio::test]
async fn prompt_login_signs_a_known_hint_in_afresh_and_shows_the_picker_otherwise() {
    let idp = TestIdp::start().await.unwrap();
    // A known hint: a fresh sign-in without the form, so scripts need none.
    let hinted = AuthRequest::new("alice@contoso.test").set("prompt", "login");
    let response = send_authorize(&browser(), &idp, &hinted).await;
    assert_eq!(response.status(), 302);
    assert!(param(&location(&response), "code").is_some());
    // No hint: the picker, even with an IdP session.
    let browser = browser();
    authorize_code(&browser, &idp, &AuthRequest::new("alice@contoso.test")).await;
    let unhinted = AuthRequest::new("")
        .remove("login_hint")
        .set("prompt", "login");
    let response = send_authorize(&browser, &idp, &unhinted).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Pick an account"));
    // An unknown hint: the picker with a notice.
    let unknown = AuthRequest::new("mallory@contoso.test").set("prompt", "login");
    let html = send_authorize(&browser, &idp, &unknown)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("No test user is named &#39;mallory@contoso.test&#39;"),
        "{html}"
    );
}

#[tokio::test]
async fn form_post_mode_posts_code_and_state_to_the_redirect_uri() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("alice@contoso.test").set("response_mode", "form_post");
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert_eq!(form_action(&html), REDIRECT_URI);
    let fields = form_fields(&html);
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("state-123"));
    let code = get("code").unwrap();
    assert_eq!(redeem(&idp, &code, &request).await.status(), 200);
}

#[tokio::test]
async fn idp_session_cookie_allows_silent_sign_in_with_prompt_none() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    authorize_code(&browser, &idp, &AuthRequest::new("bob@contoso.test")).await;

    // Same browser, no hint, prompt=none: the IdP session signs Bob in silently.
    let silent = AuthRequest::new("")
        .remove("login_hint")
        .set("prompt", "none");
    let code = authorize_code(&browser, &idp, &silent).await;
    let body: serde_json::Value = redeem(&idp, &code, &silent).await.json().await.unwrap();
    let claims = verify_for_app(&idp, body["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims["preferred_username"], "bob@contoso.test");

    // A fresh browser has no IdP session: login_required, back to the app with state.
    let response = send_authorize(&msal_tests::browser(), &idp, &silent).await;
    assert_redirected_error(&response, "login_required", "50058");
}

#[tokio::test]
async fn api_scope_yields_a_v2_access_token_for_the_api() {
    let idp = TestIdp::start().await.unwrap();
    let scope = format!("openid profile offline_access api://{DEFAULT_CLIENT_ID}/Tasks.Read");
    let body = sign_in(&idp, "bob@contoso.test", &scope).await;
    assert_eq!(
        body["scope"],
        format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read openid profile")
    );
    let claims = verify_for_app(&idp, body["access_token"].as_str().unwrap())
        .await
        .expect("API access tokens verify");
    assert_eq!(claims["scp"], "Tasks.Read");
    assert_eq!(claims["azp"], DEFAULT_CLIENT_ID);
    assert_eq!(claims["azpacr"], "1");
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["roles"], json!(["Admin"]));
    assert_eq!(claims["oid"], idp.user("bob@contoso.test").unwrap().oid);
    assert!(claims.get("idtyp").is_none());
}

#[tokio::test]
async fn default_scope_grants_every_exposed_scope() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid {DEFAULT_CLIENT_ID}/.default"),
    )
    .await;
    let (_, claims) = decode_unverified(body["access_token"].as_str().unwrap());
    assert_eq!(claims["scp"], "Tasks.Read Tasks.Write access_as_user");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
}

#[tokio::test]
async fn a_v1_api_gets_v1_access_tokens() {
    let api_id = "22222222-0000-4000-8000-000000000002";
    let idp = TestIdp::builder()
        .client(
            TestClient::new(api_id)
                .scope("Orders.Read")
                .access_token_version(TokenVersion::V1),
        )
        .start()
        .await
        .unwrap();
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{api_id}/Orders.Read"),
    )
    .await;
    let tid = idp.tenant().id;
    let claims = verify(
        &idp,
        body["access_token"].as_str().unwrap(),
        &format!("api://{api_id}"),
        &idp.v1_issuer_for(&tid),
    )
    .await
    .expect("v1 token verifies with the App ID URI audience and the v1 issuer");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["appid"], DEFAULT_CLIENT_ID);
    assert_eq!(claims["upn"], "alice@contoso.test");
    assert_eq!(claims["scp"], "Orders.Read");
    assert!(claims.get("azp").is_none());
}

#[tokio::test]
async fn users_of_another_tenant_sign_in_through_common_with_their_own_issuer() {
    let fabrikam = "0ddba11a-0000-4000-8000-000000000001";
    let idp = TestIdp::builder()
        .tenant(TestTenant::new(fabrikam, "fabrikam.test"))
        .user(TestUser::new("dave@fabrikam.test", "Dave Guest").tenant(fabrikam))
        .start()
        .await
        .unwrap();
    let request = AuthRequest::new("dave@fabrikam.test");
    let common = format!("{}/oauth2/v2.0/authorize", idp.authority_for("common"));
    let response = browser().get(request.url(&common)).send().await.unwrap();
    let code = param(&location(&response), "code").unwrap();
    let body: serde_json::Value = redeem(&idp, &code, &request).await.json().await.unwrap();
    let claims = verify(
        &idp,
        body["id_token"].as_str().unwrap(),
        DEFAULT_CLIENT_ID,
        &idp.issuer_for(fabrikam),
    )
    .await
    .unwrap();
    assert_eq!(claims["tid"], fabrikam);

    // Through Contoso's own authority, Dave is a stranger.
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_redirected_error(&response, "invalid_request", "50020");
}

#[tokio::test]
async fn groups_past_the_overage_limit_become_a_claim_source() {
    let idp = TestIdp::builder()
        .group_overage_limit(2)
        .user(
            TestUser::new("many@contoso.test", "Many Groups")
                .group("g1")
                .group("g2")
                .group("g3"),
        )
        .start()
        .await
        .unwrap();
    let body = sign_in(&idp, "many@contoso.test", "openid").await;
    let claims = verify_for_app(&idp, body["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert!(claims.get("groups").is_none());
    assert_eq!(claims["_claim_names"], json!({ "groups": "src1" }));
    let oid = idp.user("many@contoso.test").unwrap().oid;
    assert_eq!(
        claims["_claim_sources"]["src1"]["endpoint"],
        format!("{}/users/{oid}/getMemberObjects", idp.graph_base_url())
    );
}

#[tokio::test]
async fn a_public_client_redeems_with_pkce_alone() {
    let public = "33333333-0000-4000-8000-000000000003";
    let idp = TestIdp::builder()
        .client(TestClient::new(public).redirect_uri("http://localhost/callback"))
        .start()
        .await
        .unwrap();
    let request = AuthRequest::new("alice@contoso.test")
        .set("client_id", public)
        .set("redirect_uri", "http://localhost:7777/callback")
        .set("scope", "openid");
    let code = authorize_code(&browser(), &idp, &request).await;
    let response = msal_tests::token_request(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", public),
            ("code", &code),
            ("redirect_uri", "http://localhost:7777/callback"),
            ("code_verifier", &request.pkce.verifier),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let (_, at) = decode_unverified(body["access_token"].as_str().unwrap());
    assert_eq!(at["appid"], public);
    assert_eq!(at["appidacr"], "0", "a public client");
    verify(
        &idp,
        body["id_token"].as_str().unwrap(),
        public,
        &idp.issuer(),
    )
    .await
    .unwrap();
}
