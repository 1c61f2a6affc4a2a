//! Refusals at the authorize endpoint. Before the client and redirect URI are trusted the
//! answer is an error page and never a redirect; after, the error goes back with `state`.

use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestIdp};
use msal_tests::{AuthRequest, assert_redirected_error, browser, location, param, send_authorize};

/// Asserts an error page: the status, no Location, and the AADSTS code on the page.
async fn assert_error_page(idp: &TestIdp, request: &AuthRequest, aadsts: &str) {
    let response = send_authorize(&browser(), idp, request).await;
    assert_eq!(
        response.status(),
        400,
        "expected an error page for {aadsts}"
    );
    assert!(
        response.headers().get("location").is_none(),
        "never redirect to an untrusted URI"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("AADSTS{aadsts}:")),
        "page should name AADSTS{aadsts}: {html}"
    );
}

/// Sends the request and asserts the error comes back to the app.
async fn assert_error_redirect(idp: &TestIdp, request: &AuthRequest, error: &str, aadsts: &str) {
    assert_redirected_error(
        &send_authorize(&browser(), idp, request).await,
        error,
        aadsts,
    );
}

#[tokio::test]
async fn unknown_client_gets_an_error_page_not_a_redirect() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("alice@contoso.test")
        .set("client_id", "99999999-0000-4000-8000-000000000009");
    assert_error_page(&idp, &request, "700016").await;
}

#[tokio::test]
async fn missing_client_id_or_redirect_uri_gets_an_error_page() {
    let idp = TestIdp::start().await.unwrap();
    assert_error_page(
        &idp,
        &AuthRequest::new("alice@contoso.test").remove("client_id"),
        "900144",
    )
    .await;
    assert_error_page(
        &idp,
        &AuthRequest::new("alice@contoso.test").remove("redirect_uri"),
        "900144",
    )
    .await;
}

#[tokio::test]
async fn unregistered_redirect_uris_get_an_error_page() {
    let idp = TestIdp::start().await.unwrap();
    for uri in [
        "https://evil.test/auth/callback",
        "http://127.0.0.1:8080/auth/callback2",
        "http://127.0.0.1:8080/auth/callback?x=1",
        "http://127.0.0.1:8080/evil/../auth/callback",
        "https://127.0.0.1:8080/auth/callback",
        "http://user@127.0.0.1:8080/auth/callback",
        "http://127.0.0.2.evil.test/auth/callback",
        "http://127.0.0.1:8080/auth/callback#frag",
    ] {
        let request = AuthRequest::new("alice@contoso.test").set("redirect_uri", uri);
        assert_error_page(&idp, &request, "50011").await;
    }
}

#[tokio::test]
async fn loopback_redirect_uris_match_on_any_port() {
    let idp = TestIdp::start().await.unwrap();
    for uri in [
        "http://127.0.0.1/auth/callback",
        "http://127.0.0.1:1/auth/callback",
        "http://127.0.0.1:65000/auth/callback",
        "http://localhost:5000/auth/callback",
    ] {
        let request = AuthRequest::new("alice@contoso.test").set("redirect_uri", uri);
        let response = send_authorize(&browser(), &idp, &request).await;
        assert_eq!(response.status(), 302, "{uri}");
        assert!(location(&response).as_str().starts_with(uri), "{uri}");
    }
}

#[tokio::test]
async fn a_redirect_uri_added_at_run_time_is_accepted() {
    let idp = TestIdp::start().await.unwrap();
    let uri = "https://app.contoso.test/signin-oidc";
    let request = AuthRequest::new("alice@contoso.test").set("redirect_uri", uri);
    assert_error_page(&idp, &request, "50011").await;
    idp.add_redirect_uri(DEFAULT_CLIENT_ID, uri).unwrap();
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_eq!(response.status(), 302);
    assert!(idp.add_redirect_uri("nope", uri).is_err());
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let idp = TestIdp::start().await.unwrap();
    let mut request = AuthRequest::new("alice@contoso.test");
    request.params.0.push(("state".into(), "second".into()));
    assert_error_page(&idp, &request, "90015").await;
}

#[tokio::test]
async fn unknown_tenant_gets_an_error_page() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("alice@contoso.test");
    let url = request.url(&format!(
        "{}/oauth2/v2.0/authorize",
        idp.authority_for("nobody.test")
    ));
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("AADSTS90002:"));
}

#[tokio::test]
async fn response_type_other_than_code_is_unsupported() {
    let idp = TestIdp::start().await.unwrap();
    for rt in ["token", "id_token", "code id_token"] {
        let request = AuthRequest::new("alice@contoso.test").set("response_type", rt);
        assert_error_redirect(&idp, &request, "unsupported_response_type", "700054").await;
    }
    let request = AuthRequest::new("alice@contoso.test").remove("response_type");
    assert_error_redirect(&idp, &request, "invalid_request", "900144").await;
}

#[tokio::test]
async fn pkce_is_required_and_must_be_s256() {
    let idp = TestIdp::start().await.unwrap();
    let no_challenge = AuthRequest::new("alice@contoso.test").remove("code_challenge");
    assert_error_redirect(&idp, &no_challenge, "invalid_request", "9002325").await;
    let plain = AuthRequest::new("alice@contoso.test").set("code_challenge_method", "plain");
    assert_error_redirect(&idp, &plain, "invalid_request", "9002325").await;
    let no_method = AuthRequest::new("alice@contoso.test").remove("code_challenge_method");
    assert_error_redirect(&idp, &no_method, "invalid_request", "9002325").await;
    let short = AuthRequest::new("alice@contoso.test").set("code_challenge", "too-short");
    assert_error_redirect(&idp, &short, "invalid_request", "501491").await;
}

#[tokio::test]
async fn scope_is_required_and_must_name_one_known_resource() {
    let idp = TestIdp::start().await.unwrap();
    let missing = AuthRequest::new("alice@contoso.test").remove("scope");
    assert_error_redirect(&idp, &missing, "invalid_request", "900144").await;
    let two = AuthRequest::new("alice@contoso.test").set(
        "scope",
        &format!("openid User.Read api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
    );
    assert_error_redirect(&idp, &two, "invalid_scope", "28000").await;
    let unknown_api =
        AuthRequest::new("alice@contoso.test").set("scope", "openid api://nobody/Read");
    assert_error_redirect(&idp, &unknown_api, "invalid_resource", "500011").await;
    let unexposed = AuthRequest::new("alice@contoso.test").set(
        "scope",
        &format!("openid api://{DEFAULT_CLIENT_ID}/Tasks.Delete"),
    );
    assert_error_redirect(&idp, &unexposed, "invalid_scope", "70011").await;
    let mixed_default = AuthRequest::new("alice@contoso.test").set(
        "scope",
        &format!("api://{DEFAULT_CLIENT_ID}/.default api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
    );
    assert_error_redirect(&idp, &mixed_default, "invalid_scope", "70011").await;
}

#[tokio::test]
async fn unsupported_prompt_and_response_mode_are_refused() {
    let idp = TestIdp::start().await.unwrap();
    let prompt = AuthRequest::new("alice@contoso.test").set("prompt", "always");
    assert_error_redirect(&idp, &prompt, "invalid_request", "90023").await;
    let mode = AuthRequest::new("alice@contoso.test").set("response_mode", "fragment");
    assert_error_redirect(&idp, &mode, "invalid_request", "900352").await;
}

#[tokio::test]
async fn prompt_none_with_an_unknown_hint_is_login_required() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("mallory@contoso.test").set("prompt", "none");
    assert_error_redirect(&idp, &request, "login_required", "50058").await;
}

#[tokio::test]
async fn errors_in_form_post_mode_are_posted_back() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new("alice@contoso.test")
        .set("response_mode", "form_post")
        .remove("code_challenge");
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("name=\"error\" value=\"invalid_request\""),
        "{html}"
    );
    assert!(
        html.contains("name=\"state\" value=\"state-123\""),
        "{html}"
    );
}

#[tokio::test]
async fn state_is_echoed_exactly_and_html_in_it_is_escaped() {
    let idp = TestIdp::start().await.unwrap();
    let state = "<script>alert(1)</script>&x=\"y\"";
    let request = AuthRequest::new("alice@contoso.test").set("state", state);
    let response = send_authorize(&browser(), &idp, &request).await;
    assert_eq!(param(&location(&response), "state").as_deref(), Some(state));

    let posted = request.set("response_mode", "form_post");
    let html = send_authorize(&browser(), &idp, &posted)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>alert"),
        "state must be escaped: {html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;x=&quot;y&quot;"));
}
