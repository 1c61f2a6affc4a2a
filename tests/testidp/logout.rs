//! Sign-out: the IdP session ends, front-channel URLs are loaded, and only registered
//! post-logout URIs are redirected to.

use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestIdp};
use msal_tests::{
    AuthRequest, authorize_code, browser, decode_unverified, location, param, redeem,
    send_authorize,
};

/// Signs Alice in with `browser` and returns her ID token.
async fn signed_in(idp: &TestIdp, browser: &reqwest::Client) -> String {
    let request = AuthRequest::new("alice@contoso.test");
    let code = authorize_code(browser, idp, &request).await;
    let body: serde_json::Value = redeem(idp, &code, &request).await.json().await.unwrap();
    body["id_token"].as_str().unwrap().to_owned()
}

fn logout_url(idp: &TestIdp, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&idp.end_session_endpoint()).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

#[tokio::test]
async fn logout_ends_the_idp_session_and_returns_to_the_app() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let id_token = signed_in(&idp, &browser).await;
    let response = browser
        .get(logout_url(
            &idp,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "http://127.0.0.1:8080/"),
                ("state", "bye"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let back = location(&response);
    assert_eq!(back.as_str(), "http://127.0.0.1:8080/?state=bye");

    // The IdP session is gone: a silent sign-in now needs a login.
    let silent = AuthRequest::new("")
        .remove("login_hint")
        .set("prompt", "none");
    let response = send_authorize(&browser, &idp, &silent).await;
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn unregistered_post_logout_redirect_is_refused_with_a_page() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let id_token = signed_in(&idp, &browser).await;
    for (hint, uri) in [
        (Some(id_token.as_str()), "https://evil.test/"),
        (Some(id_token.as_str()), "http://127.0.0.1:8080/elsewhere"),
        (None, "http://127.0.0.1:8080/"), // no way to tell which app is asking
    ] {
        let mut params = vec![("post_logout_redirect_uri", uri)];
        if let Some(hint) = hint {
            params.push(("id_token_hint", hint));
        }
        let response = browser.get(logout_url(&idp, &params)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.headers().get("location").is_none());
    }
    // client_id identifies the app as well as a hint does.
    let response = browser
        .get(logout_url(
            &idp,
            &[
                ("client_id", DEFAULT_CLIENT_ID),
                ("post_logout_redirect_uri", "http://localhost:3000/"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
}

#[tokio::test]
async fn a_forged_id_token_hint_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let claims = idp
        .id_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, None)
        .unwrap();
    let forged = idp
        .mint(
            &msal_runtime::testing::Mint::new(claims).key(msal_runtime::testing::MintKey::Foreign),
        )
        .unwrap();
    let response = browser()
        .get(logout_url(&idp, &[("id_token_hint", &forged)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("id_token_hint"));
}

#[tokio::test]
async fn logout_loads_front_channel_urls_of_the_apps_in_the_session() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_front_channel_logout_uri(DEFAULT_CLIENT_ID, "http://127.0.0.1:8080/auth/signout-oidc")
        .unwrap();
    let browser = browser();
    let id_token = signed_in(&idp, &browser).await;
    let (_, claims) = decode_unverified(&id_token);
    let sid = claims["sid"].as_str().unwrap();
    let response = browser
        .get(logout_url(
            &idp,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "http://127.0.0.1:8080/"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "a page, so the iframes load before leaving"
    );
    let html = response.text().await.unwrap();
    let iss = url::form_urlencoded::byte_serialize(idp.issuer().as_bytes()).collect::<String>();
    let expected = format!("http://127.0.0.1:8080/auth/signout-oidc?iss={iss}&amp;sid={sid}");
    assert!(
        html.contains(&expected),
        "expected iframe {expected} in {html}"
    );
    assert!(html.contains("href=\"http://127.0.0.1:8080/\""));
}

#[tokio::test]
async fn logout_without_a_redirect_shows_a_signed_out_page() {
    let idp = TestIdp::start().await.unwrap();
    let response = browser()
        .get(idp.end_session_endpoint())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("You signed out"));
}

#[tokio::test]
async fn front_channel_sign_out_can_send_only_the_sid() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_front_channel_logout_uri(DEFAULT_CLIENT_ID, "http://127.0.0.1:8080/auth/signout-oidc")
        .unwrap();
    idp.front_channel_sid_only(true);
    let browser = browser();
    let id_token = signed_in(&idp, &browser).await;
    let sid = decode_unverified(&id_token).1["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = browser
        .get(logout_url(&idp, &[("id_token_hint", &id_token)]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expected = format!("src=\"http://127.0.0.1:8080/auth/signout-oidc?sid={sid}\"");
    assert!(html.contains(&expected), "expected {expected} in {html}");
    assert!(!html.contains("iss="), "no issuer: {html}");
}
