//! Issuers as other providers write them: one ending in `/` (Auth0 writes
//! `https://tenant.auth0.com/`) is matched exactly, slash included, from discovery to every
//! token, and one written without it does not stand in for it.

use msal_runtime::config::Authority;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Mint, MintKey, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser};

/// A TestIdp that names itself `issuer` everywhere: in discovery, on its keys (as Entra
/// publishes them) and in every ID token it issues.
async fn provider_named(idp: &TestIdp, issuer: &str) {
    idp.override_discovery_issuer(Some(issuer));
    let mut jwks: serde_json::Value = reqwest::get(idp.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in jwks["keys"].as_array_mut().unwrap() {
        key["issuer"] = issuer.into();
    }
    idp.override_jwks(Some(jwks));
    let issuer = issuer.to_owned();
    idp.tamper_id_tokens(MintKey::Current, move |claims| {
        claims.insert("iss".into(), issuer.clone().into());
    });
}

/// An app whose `MSAL_AUTHORITY` is `authority`.
async fn app_for(authority: &str) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = msal_runtime::MsalConfig::builder()
        .client_id(DEFAULT_CLIENT_ID)
        .client_secret(DEFAULT_CLIENT_SECRET)
        .authority(authority)
        .public_url(&base_url)
        .build()
        .unwrap();
    TestApp::serve(listener, base_url, config).await
}

#[tokio::test]
async fn an_issuer_ending_in_a_slash_signs_in_and_its_tokens_are_accepted() {
    let idp = TestIdp::start().await.unwrap();
    let issuer = format!("{}/", idp.issuer());
    provider_named(&idp, &issuer).await;
    let app = app_for(&issuer).await;
    let Authority::Issuer(configured) = &app.msal.config().authority else {
        panic!("{:?}", app.msal.config().authority)
    };
    assert_eq!(configured.as_str(), issuer);

    let browser = browser();
    let signed_in = app_sign_in(&browser, &app, "bob@contoso.test", "/").await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(app.who(&browser).await, "Bob Admin");
    assert_eq!(app.me(&browser).await["iss"], issuer.as_str());

    // A bearer token of this issuer is accepted; one naming it without the slash is not.
    let claims = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let call = |token: String| {
        reqwest::Client::new()
            .get(app.url("/me"))
            .bearer_auth(token)
            .send()
    };
    let exact = idp
        .mint(&Mint::new(claims.clone()).claim("iss", issuer.as_str()))
        .unwrap();
    assert_eq!(call(exact).await.unwrap().status(), 200);
    let without_slash = idp
        .mint(&Mint::new(claims).claim("iss", idp.issuer()))
        .unwrap();
    assert_eq!(call(without_slash).await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_configured_issuer_without_the_slash_refuses_a_provider_that_writes_one() {
    let idp = TestIdp::start().await.unwrap();
    let issuer = format!("{}/", idp.issuer());
    provider_named(&idp, &issuer).await;
    let app = app_for(&idp.issuer()).await;
    let login = browser()
        .get(app.url("/auth/login"))
        .query(&[("login_hint", "bob@contoso.test")])
        .send()
        .await
        .unwrap();
    // Refused as the provider's answer, before anyone is sent to sign in.
    assert_eq!(login.status(), 401);
    let body = login.text().await.unwrap();
    assert!(
        body.contains("The identity provider's answer was refused"),
        "{body}"
    );
}
