//! Entra's failure modes and how the library recovers: consent missing for one resource,
//! Conditional Access (MFA, authentication contexts) asking for claims on refresh, on the
//! code redemption and on-behalf-of, Continuous Access Evaluation at Graph, and the loop a
//! provider that ignores claims requests would cause.

use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use msal_runtime::testing::{CaPolicy, DEFAULT_CLIENT_ID, Endpoint, TestClient, TestIdp};
use msal_runtime::{AccessToken, AuthRejection, Tokens, msal_protected};
use msal_tests::{
    AuthRequest, TestApp, app_sign_in, authorize_code, browser, decode_unverified, follow,
    location, navigate, param, redeem, sign_in_via,
};
use serde_json::Value;

const ORDERS: &str = "api://orders";
const ORDERS_READ: &str = "api://orders/Orders.Read";
const GRAPH: &str = "https://graph.microsoft.com";

#[msal_protected(scopes = "User.Read")]
async fn graph_token(token: AccessToken) -> String {
    token.secret().to_owned()
}

#[msal_protected]
async fn orders_token(tokens: Tokens) -> Result<String, AuthRejection> {
    Ok(tokens.user_token(&[ORDERS_READ]).await?.secret().to_owned())
}

#[msal_protected(scopes = "User.Read")]
async fn graph_me(tokens: Tokens) -> Result<Json<Value>, AuthRejection> {
    Ok(Json(tokens.graph(&["User.Read"]).get("/me").await?))
}

#[msal_protected(auth_context = "c1")]
async fn keys() -> &'static str {
    "the keys"
}

#[msal_protected(scopes = "access_as_user")]
async fn obo_graph_token(tokens: Tokens) -> Result<String, AuthRejection> {
    Ok(tokens
        .on_behalf_of(&["https://graph.microsoft.com/User.Read"])
        .await?
        .secret()
        .to_owned())
}

#[msal_protected(scopes = "access_as_user")]
async fn obo_orders_token(tokens: Tokens) -> Result<String, AuthRejection> {
    Ok(tokens
        .on_behalf_of(&[ORDERS_READ])
        .await?
        .secret()
        .to_owned())
}

fn routes() -> Router {
    Router::new()
        .route("/graph-token", get(graph_token))
        .route("/orders-token", get(orders_token))
        .route("/graph/me", get(graph_me))
        .route("/keys", get(keys))
        .route("/obo/graph", get(obo_graph_token))
        .route("/obo/orders", get(obo_orders_token))
}

/// TestIdp with an orders API nobody has consented to, and tokens that live a minute (inside
/// the five-minute margin: every use of a user's token refreshes it).
async fn idp() -> TestIdp {
    idp_with(Duration::from_secs(60)).await
}

/// [`idp`] with tokens that live `lifetime`.
async fn idp_with(lifetime: Duration) -> TestIdp {
    TestIdp::builder()
        .client(
            TestClient::new("0dde0000-0000-4000-8000-000000000001")
                .app_id_uri(ORDERS)
                .scope("Orders.Read"),
        )
        .token_lifetime(lifetime)
        .start()
        .await
        .unwrap()
}

async fn web_app(idp: &TestIdp) -> TestApp {
    TestApp::start_routes(idp, |c| c.scopes("User.Read"), routes()).await
}

/// The web app, and a browser Alice signed in with.
async fn alice_signed_in(idp: &TestIdp) -> (TestApp, reqwest::Client) {
    let app = web_app(idp).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    (app, browser)
}

/// The web app declaring the CAE capability `cp1`, and a browser Alice signed in with.
async fn cae_app_signed_in(idp: &TestIdp) -> (TestApp, reqwest::Client) {
    let app = TestApp::start_routes(
        idp,
        |c| c.scopes("User.Read").client_capabilities(["cp1"]),
        routes(),
    )
    .await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    (app, browser)
}

/// A JSON call from the signed-in browser.
async fn json_get(browser: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::Response {
    browser
        .get(app.url(path))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

/// A page navigation from the signed-in browser.
fn www_authenticate(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The decoded `claims` of an `insufficient_claims` challenge, asserting its shape.
fn challenged_claims(response: &reqwest::Response) -> Value {
    assert_eq!(response.status(), 401);
    let header = www_authenticate(response);
    assert!(
        header.starts_with("Bearer ") && header.contains("error=\"insufficient_claims\""),
        "{header}"
    );
    let encoded = header
        .split("claims=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no claims in {header}"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    serde_json::from_slice(&decoded).unwrap()
}

#[tokio::test]
async fn consent_missing_for_one_resource_costs_only_that_resource() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    // Orders.Read was never consented: the refresh for it is refused with AADSTS65001.
    let refused = json_get(&browser, &app, "/orders-token").await;
    assert_eq!(refused.status(), 403);
    assert!(!www_authenticate(&refused).contains("invalid_token"));
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("consent") && body.contains(ORDERS_READ),
        "{body}"
    );
    assert!(
        !body.contains("AADSTS"),
        "provider text stays in the log: {body}"
    );
    // The refresh token survived: Graph's token is still renewed silently.
    idp.reset_counts();
    let graph = json_get(&browser, &app, "/graph-token").await;
    assert_eq!(graph.status(), 200);
    assert_eq!(idp.requests(Endpoint::Token), 1, "a refresh, not a sign-in");
    // A browser is sent to consent, for that scope and that user, and comes back.
    let page = navigate(&browser, &app.url("/orders-token")).await;
    assert_eq!(page.status(), 302);
    let to = reqwest::Url::parse(&app.url(page.headers()["location"].to_str().unwrap())).unwrap();
    assert_eq!(to.path(), "/auth/login");
    assert_eq!(param(&to, "scopes").as_deref(), Some(ORDERS_READ));
    assert_eq!(
        param(&to, "login_hint").as_deref(),
        Some("alice@contoso.test")
    );
    let done = follow(&browser, to.to_string(), 6).await;
    assert_eq!(done.status(), 200, "consented and back");
    assert_eq!(
        decode_unverified(&done.text().await.unwrap()).1["aud"],
        ORDERS
    );
    let consented = idp
        .consented_scopes("alice@contoso.test", DEFAULT_CLIENT_ID)
        .unwrap();
    assert!(
        consented.iter().any(|s| s == ORDERS_READ)
            && consented
                .iter()
                .any(|s| s == "https://graph.microsoft.com/User.Read"),
        "consent accumulates: {consented:?}"
    );
    // One session throughout: Graph still works without another sign-in.
    assert_eq!(json_get(&browser, &app, "/graph-token").await.status(), 200);
}

#[tokio::test]
async fn mfa_for_graph_sends_the_browser_through_sign_in_with_the_claims() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    let policy = idp.arm_policy(CaPolicy::mfa(GRAPH));
    // An API-style call hears the claims in a challenge.
    let claims = challenged_claims(&json_get(&browser, &app, "/graph-token").await);
    assert_eq!(
        claims["access_token"]["capolids"]["values"][0], policy,
        "{claims}"
    );
    // A browser is sent to sign in with them, and comes back with a token.
    let page = navigate(&browser, &app.url("/graph-token")).await;
    assert_eq!(page.status(), 302);
    let to = reqwest::Url::parse(&app.url(page.headers()["location"].to_str().unwrap())).unwrap();
    assert_eq!(to.path(), "/auth/login");
    assert_eq!(param(&to, "next").as_deref(), Some("/graph-token"));
    assert_eq!(
        param(&to, "login_hint").as_deref(),
        Some("alice@contoso.test")
    );
    let asked: Value = serde_json::from_str(&param(&to, "claims").unwrap()).unwrap();
    assert_eq!(asked, claims);
    let at_idp = navigate(&browser, to.as_str()).await;
    let authorize = location(&at_idp);
    let sent: Value = serde_json::from_str(&param(&authorize, "claims").unwrap()).unwrap();
    assert_eq!(
        sent, claims,
        "the provider is asked for exactly those claims"
    );
    let done = follow(&browser, authorize.to_string(), 6).await;
    assert_eq!(done.status(), 200);
    let token = decode_unverified(&done.text().await.unwrap()).1;
    assert!(
        token["amr"].as_array().unwrap().iter().any(|m| m == "mfa"),
        "{token}"
    );
}

#[tokio::test]
async fn interaction_required_keeps_the_refresh_token() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    idp.arm_policy(CaPolicy::mfa(ORDERS));
    // The orders API needs MFA (and consent): Graph must not pay for it.
    let refused = json_get(&browser, &app, "/orders-token").await;
    assert!(matches!(refused.status().as_u16(), 401 | 403));
    idp.reset_counts();
    assert_eq!(json_get(&browser, &app, "/graph-token").await.status(), 200);
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "renewed with the same refresh token"
    );
}

#[tokio::test]
async fn a_challenge_answered_a_moment_ago_is_refused_not_looped() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    idp.arm_policy(CaPolicy::mfa(GRAPH));
    // A provider that does not honour claims requests: the sign-in cannot satisfy the policy.
    idp.ignore_claims_requests(true);
    let page = navigate(&browser, &app.url("/graph-token")).await;
    assert_eq!(page.status(), 302);
    let to = app.url(page.headers()["location"].to_str().unwrap());
    let end = follow(&browser, to, 8).await;
    assert_eq!(end.status(), 403, "a page, not another round");
    assert!(
        end.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = end.text().await.unwrap();
    assert!(
        html.contains("Additional verification did not succeed"),
        "{html}"
    );
}

#[tokio::test]
async fn an_auth_context_rule_signs_the_browser_in_again_asking_for_acrs() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    let page = navigate(&browser, &app.url("/keys")).await;
    assert_eq!(page.status(), 302);
    let to = reqwest::Url::parse(&app.url(page.headers()["location"].to_str().unwrap())).unwrap();
    assert_eq!(
        param(&to, "claims").as_deref(),
        Some(r#"{"id_token":{"acrs":{"essential":true,"value":"c1"}}}"#)
    );
    let done = follow(&browser, to.to_string(), 6).await;
    assert_eq!(done.status(), 200);
    assert_eq!(done.text().await.unwrap(), "the keys");
    // An API-style call without it hears the challenge for the ID token's acrs... and a
    // session that has it passes.
    assert_eq!(json_get(&browser, &app, "/keys").await.status(), 200);
}

#[tokio::test]
async fn an_auth_context_rule_answers_json_callers_with_the_challenge() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    let claims = challenged_claims(&json_get(&browser, &app, "/keys").await);
    assert_eq!(claims["id_token"]["acrs"]["value"], "c1", "{claims}");
}

/// A bearer token for this API's `access_as_user`, from a real sign-in, with `claims` asked
/// for at the authorize endpoint when given.
async fn api_token(idp: &TestIdp, claims: Option<&Value>) -> String {
    let scope = format!("api://{DEFAULT_CLIENT_ID}/access_as_user");
    let Some(claims) = claims else {
        let body = sign_in_via(idp, &idp.tenant().id, "alice@contoso.test", &scope).await;
        return body["access_token"].as_str().unwrap().to_owned();
    };
    let request = AuthRequest::new("alice@contoso.test")
        .set("scope", &scope)
        .set("claims", &claims.to_string());
    let code = authorize_code(&browser(), idp, &request).await;
    let response = redeem(idp, &code, &request).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn bearer_get(api: &TestApp, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(api.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn on_behalf_of_interaction_required_reaches_the_caller_as_a_claims_challenge() {
    let idp = idp().await;
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let policy = idp.arm_policy(CaPolicy::mfa(GRAPH));
    let token = api_token(&idp, None).await;
    let refused = bearer_get(&api, "/obo/graph", &token).await;
    let claims = challenged_claims(&refused);
    assert_eq!(claims["access_token"]["capolids"]["values"][0], policy);
    // The client asks for a token for this API with those claims; the exchange then works.
    let better = api_token(&idp, Some(&claims)).await;
    let done = bearer_get(&api, "/obo/graph", &better).await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        decode_unverified(&done.text().await.unwrap()).1["aud"],
        GRAPH
    );
}

#[tokio::test]
async fn on_behalf_of_without_downstream_consent_is_a_403_that_says_so() {
    let idp = idp().await;
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let token = api_token(&idp, None).await;
    let refused = bearer_get(&api, "/obo/orders", &token).await;
    assert_eq!(refused.status(), 403);
    assert!(!www_authenticate(&refused).contains("invalid_token"));
    let body = refused.text().await.unwrap();
    assert!(body.contains("consent"), "{body}");
}

#[tokio::test]
async fn a_cae_capable_app_answers_graphs_challenge_with_one_token_request() {
    // Tokens that live an hour: served from the session until Graph challenges one.
    let idp = idp_with(Duration::from_secs(3600)).await;
    let (app, browser) = cae_app_signed_in(&idp).await;
    let token = decode_unverified(
        &json_get(&browser, &app, "/graph-token")
            .await
            .text()
            .await
            .unwrap(),
    )
    .1;
    assert_eq!(token["xms_cc"][0], "cp1", "{token}");
    assert_eq!(json_get(&browser, &app, "/graph/me").await.status(), 200);
    idp.cae_event("alice@contoso.test").unwrap();
    idp.reset_counts();
    let me = json_get(&browser, &app, "/graph/me").await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        idp.requests(Endpoint::Graph),
        2,
        "the challenge, then the retry"
    );
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "one token request with the claims"
    );
    // Answered: Graph no longer challenges.
    idp.reset_counts();
    assert_eq!(json_get(&browser, &app, "/graph/me").await.status(), 200);
    assert_eq!(idp.requests(Endpoint::Graph), 1);
}

#[tokio::test]
async fn without_client_capabilities_graph_does_not_challenge() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    let token = decode_unverified(
        &json_get(&browser, &app, "/graph-token")
            .await
            .text()
            .await
            .unwrap(),
    )
    .1;
    assert!(token.get("xms_cc").is_none(), "{token}");
    idp.cae_event("alice@contoso.test").unwrap();
    idp.reset_counts();
    assert_eq!(json_get(&browser, &app, "/graph/me").await.status(), 200);
    assert_eq!(idp.requests(Endpoint::Graph), 1, "not challenged");
}

#[tokio::test]
async fn a_sign_in_asked_for_garbage_claims_is_refused_with_the_fix() {
    let idp = idp().await;
    let app = web_app(&idp).await;
    for claims in ["not json", "[]", "{}", r#"{"id_token":"acrs"}"#] {
        let response = browser()
            .get(app.url("/auth/login"))
            .query(&[("claims", claims), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{claims}");
        let body = response.text().await.unwrap();
        assert!(body.contains("`claims` must be a claims request"), "{body}");
    }
    // A good one reaches the provider as it was asked.
    let asked = r#"{"id_token":{"acrs":{"essential":true,"value":"c2"}}}"#;
    let response = browser()
        .get(app.url("/auth/login"))
        .query(&[("claims", asked)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        param(&location(&response), "claims").as_deref(),
        Some(asked)
    );
}

#[tokio::test]
async fn an_auth_context_the_provider_does_not_grant_is_refused_after_one_round() {
    let idp = idp().await;
    let (app, browser) = alice_signed_in(&idp).await;
    // The sign-in completes, but its ID token never carries acrs c1.
    idp.ignore_claims_requests(true);
    idp.reset_counts();
    let end = follow(&browser, app.url("/keys"), 8).await;
    assert_eq!(end.status(), 403, "a page, not another round");
    let html = end.text().await.unwrap();
    assert!(
        html.contains("Additional verification did not succeed"),
        "{html}"
    );
    assert_eq!(
        idp.requests(Endpoint::Authorize),
        1,
        "one round at the provider"
    );
}

#[tokio::test]
async fn a_graph_that_keeps_challenging_is_refused_after_one_sign_in() {
    let idp = idp_with(Duration::from_secs(3600)).await;
    let (app, browser) = cae_app_signed_in(&idp).await;
    // A resource that challenges whatever token it gets (CAE location enforcement that
    // disagrees with the provider, say).
    idp.challenge_graph(
        r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#,
        1000,
    );
    idp.reset_counts();
    let end = follow(&browser, app.url("/graph/me"), 10).await;
    assert_eq!(end.status(), 403, "a page, not another round");
    assert!(
        end.text()
            .await
            .unwrap()
            .contains("Additional verification did not succeed")
    );
    assert_eq!(
        idp.requests(Endpoint::Authorize),
        1,
        "one sign-in with the claims"
    );
}

#[tokio::test]
async fn an_auth_context_counts_for_an_hour_after_the_sign_in_not_for_the_session() {
    let idp = idp_with(Duration::from_secs(3 * 3600)).await;
    let app = web_app(&idp).await;
    // Every sign-in's ID token says it was issued two hours ago: its acrs no longer count.
    let two_hours_ago = idp.now() - 2 * 3600;
    idp.tamper_id_tokens(msal_runtime::testing::MintKey::Current, move |claims| {
        claims.insert("iat".into(), two_hours_ago.into());
    });
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    let end = follow(&browser, app.url("/keys"), 8).await;
    assert_eq!(end.status(), 403, "signed in with c1, but too long ago");
    // A fresh sign-in does count.
    idp.stop_tampering();
    let (app, browser) = alice_signed_in(&idp).await;
    let done = follow(&browser, app.url("/keys"), 8).await;
    assert_eq!(done.status(), 200);
}
