//! Client credentials (app-only tokens) and on-behalf-of.

use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Mint, MintKey, TestClient, TestIdp,
};
use msal_tests::{decode_unverified, oauth_error, sign_in, token_request, verify_for_app};

async fn client_credentials(idp: &TestIdp, scope: &str) -> reqwest::Response {
    token_request(
        idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", scope),
        ],
    )
    .await
}

#[tokio::test]
async fn client_credentials_gives_an_app_token_with_granted_roles() {
    let idp = TestIdp::start().await.unwrap();
    let response = client_credentials(&idp, &format!("api://{DEFAULT_CLIENT_ID}/.default")).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let claims = verify_for_app(&idp, body["access_token"].as_str().unwrap())
        .await
        .expect("app token verifies");
    assert_eq!(claims["roles"], serde_json::json!(["Tasks.ReadWrite.All"]));
    assert!(
        claims.get("idtyp").is_none(),
        "idtyp is an optional claim the API did not ask for"
    );
    assert_eq!(claims["azp"], DEFAULT_CLIENT_ID);
    assert_eq!(claims["azpacr"], "1", "a secret");
    assert_eq!(claims["oid"], idp.client().service_principal_id);
    assert_eq!(claims["sub"], claims["oid"]);
    assert!(claims.get("scp").is_none(), "app tokens carry no scp");
}

#[tokio::test]
async fn client_credentials_for_graph_gives_a_graph_app_token() {
    let idp = TestIdp::builder()
        .client(
            TestClient::new("55555555-0000-4000-8000-000000000005")
                .secret("s")
                .app_permission("User.Read.All"),
        )
        .start()
        .await
        .unwrap();
    let response = token_request(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "55555555-0000-4000-8000-000000000005"),
            ("client_secret", "s"),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    let body: serde_json::Value = response.json().await.unwrap();
    let (header, claims) = decode_unverified(body["access_token"].as_str().unwrap());
    assert!(header["nonce"].is_string());
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["roles"], serde_json::json!(["User.Read.All"]));
}

#[tokio::test]
async fn client_credentials_needs_a_default_scope() {
    let idp = TestIdp::start().await.unwrap();
    for scope in [
        format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
        "openid".to_owned(),
        format!("openid api://{DEFAULT_CLIENT_ID}/.default"),
    ] {
        let (error, description) = oauth_error(client_credentials(&idp, &scope).await, 400).await;
        assert_eq!(error, "invalid_scope", "{scope}");
        assert!(description.starts_with("AADSTS1002012:"), "{description}");
    }
}

#[tokio::test]
async fn client_credentials_needs_a_tenant_specific_authority() {
    let idp = TestIdp::start().await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/v2.0/token", idp.authority_for("common")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
        ])
        .send()
        .await
        .unwrap();
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_request");
    assert!(description.starts_with("AADSTS50059:"), "{description}");
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let public = "33333333-0000-4000-8000-000000000003";
    let idp = TestIdp::builder()
        .client(TestClient::new(public))
        .start()
        .await
        .unwrap();
    let response = token_request(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", public),
            ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
        ],
    )
    .await;
    let (error, _) = oauth_error(response, 401).await;
    assert_eq!(error, "invalid_client");
}

async fn obo(idp: &TestIdp, assertion: &str, scope: &str) -> reqwest::Response {
    token_request(
        idp,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("assertion", assertion),
            ("requested_token_use", "on_behalf_of"),
            ("scope", scope),
        ],
    )
    .await
}

#[tokio::test]
async fn on_behalf_of_exchanges_a_user_token_for_a_graph_token() {
    let idp = TestIdp::start().await.unwrap();
    let user = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("api://{DEFAULT_CLIENT_ID}/access_as_user"),
    )
    .await;
    let response = obo(
        &idp,
        user["access_token"].as_str().unwrap(),
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let graph_token = body["access_token"].as_str().unwrap();
    let (_, claims) = decode_unverified(graph_token);
    assert_eq!(claims["oid"], idp.user("alice@contoso.test").unwrap().oid);
    assert_eq!(claims["scp"], "User.Read");
    // The Graph stand-in takes it.
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/me", idp.graph_base_url()))
        .bearer_auth(graph_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["userPrincipalName"], "alice@contoso.test");
}

#[tokio::test]
async fn on_behalf_of_refuses_bad_assertions() {
    let idp = TestIdp::start().await.unwrap();
    let valid = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "forged",
            idp.mint(&Mint::new(valid.clone()).key(MintKey::Foreign))
                .unwrap(),
            "50013",
        ),
        (
            "tampered",
            idp.mint(&Mint::new(valid.clone()).tampered_signature())
                .unwrap(),
            "50013",
        ),
        (
            "alg none",
            idp.mint(&Mint::new(valid.clone()).key(MintKey::None))
                .unwrap(),
            "50013",
        ),
        (
            "expired",
            idp.mint(&Mint::new(valid.clone()).claim("exp", 1_000_000_000))
                .unwrap(),
            "500133",
        ),
        (
            "other audience",
            idp.mint(&Mint::new(valid.clone()).claim("aud", "api://someone-else"))
                .unwrap(),
            "50013",
        ),
        (
            "foreign issuer",
            idp.mint(&Mint::new(valid.clone()).claim("iss", "https://evil.test/v2.0"))
                .unwrap(),
            "50013",
        ),
        (
            "app-only",
            idp.mint(
                &Mint::new(valid.clone())
                    .without_claim("scp")
                    .claim("idtyp", "app"),
            )
            .unwrap(),
            "50013",
        ),
        ("malformed", "not.a.jwt.at-all".to_owned(), "50027"),
    ];
    for (what, assertion, aadsts) in cases {
        let (error, description) = oauth_error(obo(&idp, &assertion, "User.Read").await, 400).await;
        assert_eq!(error, "invalid_grant", "{what}");
        assert!(
            description.starts_with(&format!("AADSTS{aadsts}:")),
            "{what}: {description}"
        );
    }
    // And the untouched claims work, so each refusal above is about its one change.
    let ok = idp.mint(&Mint::new(valid)).unwrap();
    assert_eq!(obo(&idp, &ok, "User.Read").await.status(), 200);
}

#[tokio::test]
async fn on_behalf_of_needs_requested_token_use() {
    let idp = TestIdp::start().await.unwrap();
    let response = token_request(
        &idp,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("assertion", "x"),
            ("scope", "User.Read"),
        ],
    )
    .await;
    let (error, description) = oauth_error(response, 400).await;
    assert_eq!(error, "invalid_request");
    assert!(
        description.contains("'requested_token_use'"),
        "{description}"
    );
}
