//! Continuous Access Evaluation, as Graph does it: tokens whose request declared `cp1` carry
//! `xms_cc`, and after a critical event for their user Graph answers them with a claims
//! challenge until a token requested with the challenge's claims arrives.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Mint, TestIdp};
use msal_tests::{decode_unverified, sign_in};
use serde_json::json;

use crate::common::{access_token_of, graph_me, json_of, obo_as, refresh_token_of, refresh_with};

const CP1: &str = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;

/// A Graph token for `username` by refresh, requested with `claims`.
async fn graph_token(idp: &TestIdp, refresh_token: &str, claims: Option<&str>) -> String {
    let body = json_of(
        refresh_with(idp, refresh_token, Some("User.Read"), claims).await,
        200,
    )
    .await;
    access_token_of(&body)
}

async fn signed_in(idp: &TestIdp, username: &str) -> String {
    let body = sign_in(idp, username, "openid offline_access User.Read").await;
    refresh_token_of(&body)
}

#[tokio::test]
async fn a_cae_event_challenges_cp1_tokens_until_one_requested_with_its_claims_arrives() {
    let idp = TestIdp::start().await.unwrap();
    let rt = signed_in(&idp, "alice@contoso.test").await;
    let capable = graph_token(&idp, &rt, Some(CP1)).await;
    assert_eq!(decode_unverified(&capable).1["xms_cc"], json!(["cp1"]));
    assert_eq!(graph_me(&idp, &capable).await.0, 200);

    let claims = idp.cae_event("alice@contoso.test").unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&claims).unwrap();
    let time = parsed["access_token"]["nbf"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        (idp.now() - time.parse::<i64>().unwrap()).abs() <= 1,
        "the event's time"
    );
    assert_eq!(
        claims,
        format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{time}"}}}}}}"#)
    );
    let (status, challenge, body) = graph_me(&idp, &capable).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(
        challenge.unwrap(),
        format!(
            r#"Bearer realm="", authorization_uri="{}", error="insufficient_claims", claims="{}""#,
            idp.authorize_endpoint(),
            STANDARD.encode(&claims)
        )
    );
    // A new token without the claims is still from before the client heard of the event.
    let fresh = graph_token(&idp, &rt, Some(CP1)).await;
    assert_eq!(graph_me(&idp, &fresh).await.0, 401);
    // The claims, merged with the capability, as a client sends them back.
    let merged = format!(
        r#"{{"access_token":{{"xms_cc":{{"values":["cp1"]}},"nbf":{{"essential":true,"value":"{time}"}}}}}}"#
    );
    let answered = graph_token(&idp, &rt, Some(&merged)).await;
    let (status, _, me) = graph_me(&idp, &answered).await;
    assert_eq!(status, 200);
    assert_eq!(me["userPrincipalName"], "alice@contoso.test");
    assert_eq!(
        graph_me(&idp, &capable).await.0,
        401,
        "the old token stays refused"
    );
}

#[tokio::test]
async fn tokens_without_cp1_are_never_challenged() {
    let idp = TestIdp::start().await.unwrap();
    let rt = signed_in(&idp, "alice@contoso.test").await;
    let plain = graph_token(&idp, &rt, None).await;
    assert!(decode_unverified(&plain).1.get("xms_cc").is_none());
    idp.cae_event("alice@contoso.test").unwrap();
    assert_eq!(graph_me(&idp, &plain).await.0, 200);
}

#[tokio::test]
async fn an_event_concerns_its_user_only() {
    let idp = TestIdp::start().await.unwrap();
    let bob = graph_token(&idp, &signed_in(&idp, "bob@contoso.test").await, Some(CP1)).await;
    idp.cae_event("alice@contoso.test").unwrap();
    assert_eq!(graph_me(&idp, &bob).await.0, 200);
    assert!(idp.cae_event("nobody@contoso.test").is_err());
}

#[tokio::test]
async fn on_behalf_of_with_cp1_yields_a_cae_capable_graph_token() {
    let idp = TestIdp::start().await.unwrap();
    let assertion = idp
        .mint(&Mint::new(
            idp.access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["access_as_user"])
                .unwrap(),
        ))
        .unwrap();
    let body = json_of(
        obo_as(
            &idp,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            &assertion,
            "User.Read",
            Some(CP1),
        )
        .await,
        200,
    )
    .await;
    let token = access_token_of(&body);
    assert_eq!(decode_unverified(&token).1["xms_cc"], json!(["cp1"]));
    idp.cae_event("alice@contoso.test").unwrap();
    assert_eq!(graph_me(&idp, &token).await.0, 401);
}
