//! Conditional Access: an armed policy refuses token requests for its resource with Entra's
//! `interaction_required` and a claims challenge, until `/authorize` is asked (by `claims`)
//! for what the policy requires; the grant then carries `amr`/`acrs` through its refreshes.

use msal_runtime::testing::{CaPolicy, DEFAULT_CLIENT_ID, Mint, TestIdp};
use msal_tests::{
    AuthRequest, assert_redirected_error, authorize_code, browser, decode_unverified, redeem,
    send_authorize, sign_in,
};
use serde_json::{Value, json};

use crate::common::{access_token_of, json_of, obo_as, refresh_token_of, refresh_with};

const GRAPH: &str = "https://graph.microsoft.com";
const MFA_DESCRIPTION: &str = "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access";

/// Asserts Entra's step-up answer for `resource_app_id` and returns its claims challenge.
fn assert_interaction_required(body: &Value, resource_app_id: &str) -> Value {
    assert_eq!(body["error"], "interaction_required", "{body}");
    assert_eq!(body["suberror"], "basic_action", "{body}");
    assert_eq!(body["error_codes"], json!([50076]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("{MFA_DESCRIPTION} '{resource_app_id}'.")),
        "{description}"
    );
    serde_json::from_str(body["claims"].as_str().unwrap()).unwrap()
}

/// Signs Alice in with these `claims` on the authorize request; returns the token response.
async fn sign_in_with_claims(idp: &TestIdp, scope: &str, claims: &str) -> Value {
    let request = AuthRequest::new("alice@contoso.test")
        .set("scope", scope)
        .set("claims", claims);
    let code = authorize_code(&browser(), idp, &request).await;
    json_of(redeem(idp, &code, &request).await, 200).await
}

#[tokio::test]
async fn a_refresh_under_an_mfa_policy_is_interaction_required_naming_the_policy() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        "openid offline_access User.Read",
    )
    .await;
    let id = idp.arm_policy(CaPolicy::mfa(GRAPH));
    assert_eq!(id.len(), 36, "a GUID");
    let refused = json_of(
        refresh_with(&idp, &refresh_token_of(&body), Some("User.Read"), None).await,
        400,
    )
    .await;
    let claims = assert_interaction_required(&refused, "00000003-0000-0000-c000-000000000000");
    assert_eq!(
        refused["claims"],
        format!(r#"{{"access_token":{{"capolids":{{"essential":true,"values":["{id}"]}}}}}}"#)
    );
    assert_eq!(
        claims,
        json!({"access_token": {"capolids": {"essential": true, "values": [id]}}})
    );
    idp.clear_policies();
    assert_eq!(
        refresh_with(&idp, &refresh_token_of(&body), Some("User.Read"), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_policy_applies_only_to_its_resource() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    idp.arm_policy(CaPolicy::mfa(GRAPH));
    let api = format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read");
    assert_eq!(
        refresh_with(&idp, &refresh_token_of(&body), Some(&api), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_code_whose_authorize_did_not_satisfy_the_policy_is_refused_at_redemption() {
    let idp = TestIdp::start().await.unwrap();
    idp.arm_policy(CaPolicy::mfa(format!("api://{DEFAULT_CLIENT_ID}")));
    let request = AuthRequest::new("alice@contoso.test").set(
        "scope",
        &format!("openid api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
    );
    let code = authorize_code(&browser(), &idp, &request).await;
    let refused = json_of(redeem(&idp, &code, &request).await, 400).await;
    assert_interaction_required(&refused, DEFAULT_CLIENT_ID);
}

#[tokio::test]
async fn authorize_with_the_challenge_satisfies_the_policy_for_the_whole_grant() {
    let idp = TestIdp::start().await.unwrap();
    let id = idp.arm_policy(CaPolicy::mfa(GRAPH));
    let challenge =
        format!(r#"{{"access_token":{{"capolids":{{"essential":true,"values":["{id}"]}}}}}}"#);
    let body = sign_in_with_claims(&idp, "openid offline_access User.Read", &challenge).await;
    let (_, id_token) = decode_unverified(body["id_token"].as_str().unwrap());
    assert_eq!(id_token["amr"], json!(["pwd", "mfa"]));
    let (_, access) = decode_unverified(&access_token_of(&body));
    assert_eq!(access["amr"], json!(["pwd", "mfa"]));
    // The refresh token chain remembers the MFA.
    let refreshed = json_of(
        refresh_with(&idp, &refresh_token_of(&body), Some("User.Read"), None).await,
        200,
    )
    .await;
    let again = json_of(
        refresh_with(&idp, &refresh_token_of(&refreshed), Some("User.Read"), None).await,
        200,
    )
    .await;
    assert_eq!(
        decode_unverified(&access_token_of(&again)).1["amr"],
        json!(["pwd", "mfa"])
    );
}

#[tokio::test]
async fn amr_mfa_in_the_claims_request_also_does_mfa() {
    let idp = TestIdp::start().await.unwrap();
    idp.arm_policy(CaPolicy::mfa(GRAPH));
    let body = sign_in_with_claims(
        &idp,
        "openid User.Read",
        r#"{"id_token":{"amr":{"essential":true,"values":["mfa"]}}}"#,
    )
    .await;
    assert_eq!(
        decode_unverified(&access_token_of(&body)).1["amr"],
        json!(["pwd", "mfa"])
    );
}

#[tokio::test]
async fn an_auth_context_policy_asks_for_acrs_and_authorize_satisfies_it() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    idp.arm_policy(CaPolicy::auth_context(DEFAULT_CLIENT_ID, "c1"));
    let api = format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read");
    let refused = json_of(
        refresh_with(&idp, &refresh_token_of(&body), Some(&api), None).await,
        400,
    )
    .await;
    let claims = assert_interaction_required(&refused, DEFAULT_CLIENT_ID);
    assert_eq!(
        claims,
        json!({"access_token": {"acrs": {"essential": true, "value": "c1"}}})
    );
    // A password is enough for everything else.
    assert_eq!(
        refresh_with(&idp, &refresh_token_of(&body), Some("User.Read"), None)
            .await
            .status(),
        200
    );
    let stepped_up = sign_in_with_claims(
        &idp,
        &format!("openid offline_access {api}"),
        refused["claims"].as_str().unwrap(),
    )
    .await;
    let (_, id_token) = decode_unverified(stepped_up["id_token"].as_str().unwrap());
    assert_eq!(id_token["acrs"], json!(["c1"]));
    let (_, access) = decode_unverified(&access_token_of(&stepped_up));
    assert_eq!(access["acrs"], json!(["c1"]));
    assert_eq!(access["amr"], json!(["pwd"]), "a context is not MFA");
    assert_eq!(
        refresh_with(&idp, &refresh_token_of(&stepped_up), Some(&api), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn claims_on_a_token_request_do_not_satisfy_a_policy() {
    let idp = TestIdp::start().await.unwrap();
    let body = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    let id = idp.arm_policy(CaPolicy::mfa(GRAPH));
    let challenge =
        format!(r#"{{"access_token":{{"capolids":{{"essential":true,"values":["{id}"]}}}}}}"#);
    let refused = json_of(
        refresh_with(
            &idp,
            &refresh_token_of(&body),
            Some("User.Read"),
            Some(&challenge),
        )
        .await,
        400,
    )
    .await;
    assert_interaction_required(&refused, "00000003-0000-0000-c000-000000000000");
}

#[tokio::test]
async fn on_behalf_of_is_judged_by_the_assertions_own_sign_in() {
    let idp = TestIdp::start().await.unwrap();
    idp.arm_policy(CaPolicy::mfa(GRAPH));
    let password_only = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let assertion = idp.mint(&Mint::new(password_only.clone())).unwrap();
    let refused = json_of(
        obo_as(
            &idp,
            DEFAULT_CLIENT_ID,
            msal_runtime::testing::DEFAULT_CLIENT_SECRET,
            &assertion,
            "User.Read",
            None,
        )
        .await,
        400,
    )
    .await;
    assert_interaction_required(&refused, "00000003-0000-0000-c000-000000000000");
    let with_mfa = idp
        .mint(&Mint::new(password_only).claim("amr", json!(["pwd", "mfa"])))
        .unwrap();
    let response = obo_as(
        &idp,
        DEFAULT_CLIENT_ID,
        msal_runtime::testing::DEFAULT_CLIENT_SECRET,
        &with_mfa,
        "User.Read",
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn malformed_claims_are_refused_at_authorize_and_at_the_token_endpoint() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("alice@contoso.test").set("claims", "{not json");
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_redirected_error(&response, "invalid_request", "50117");
    let body = sign_in(&idp, "alice@contoso.test", "openid offline_access").await;
    for claims in [
        "{not json",
        r#"{"access_token":["cp1"]}"#,
        r#"{"tokens":{}}"#,
    ] {
        let refused = json_of(
            refresh_with(&idp, &refresh_token_of(&body), None, Some(claims)).await,
            400,
        )
        .await;
        assert_eq!(refused["error"], "invalid_request", "{claims}");
        assert_eq!(refused["error_codes"], json!([50117]), "{claims}");
    }
}
