//! Step-up authentication (OpenID Connect `max_age`, `prompt=login`, `acr_values`; RFC
//! 9470): every user token carries the `auth_time` of the sign-in it comes from, through SSO
//! reuse, refreshes and on-behalf-of; `max_age` and `prompt=login` make the user
//! authenticate afresh; `acr_values` puts the level asked for in `acr`. The controls age a
//! sign-in or make TestIdp ignore `max_age` or `acr_values`.

use std::time::Duration;

use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Endpoint, Fault, Mint, TestIdp, TestIdpError,
};
use msal_tests::{
    AuthRequest, assert_redirected_error, authorize_code, browser, decode_unverified, redeem,
    send_authorize, token_request, verify, verify_for_app,
};
use serde_json::Value;

use crate::common::{
    access_token_of, form_action, form_fields, json_of, obo_as, refresh_token_of, refresh_with,
};

const ALICE: &str = "alice@contoso.test";
const GRAPH_SCOPE: &str = "openid offline_access User.Read";

/// The default app's own API (v2 access tokens).
fn api_scope() -> String {
    format!("openid offline_access api://{DEFAULT_CLIENT_ID}/Tasks.Read")
}

/// A request without a hint, for sign-ins the IdP session alone decides.
fn unhinted() -> AuthRequest {
    AuthRequest::new("").remove("login_hint")
}

/// The code flow in `browser` (its IdP session cookie kept); the token response.
async fn sign_in_in(browser: &reqwest::Client, idp: &TestIdp, request: &AuthRequest) -> Value {
    let code = authorize_code(browser, idp, request).await;
    json_of(redeem(idp, &code, request).await, 200).await
}

/// A claim of a JWT, unverified (after `advance_clock` the tokens are from the future).
fn claim(token: &str, name: &str) -> Value {
    decode_unverified(token).1[name].clone()
}

fn auth_time(token: &str) -> i64 {
    claim(token, "auth_time")
        .as_i64()
        .unwrap_or_else(|| panic!("no integer auth_time in {}", decode_unverified(token).1))
}

fn id_token_of(body: &Value) -> &str {
    body["id_token"].as_str().unwrap()
}

/// The `auth_time` of the ID token and of the access token of a token response, asserted
/// equal.
fn auth_times(body: &Value) -> i64 {
    let id = auth_time(id_token_of(body));
    assert_eq!(
        auth_time(&access_token_of(body)),
        id,
        "ID and access token agree"
    );
    id
}

/// Posts the picker page back choosing `username`; the token response of that sign-in.
async fn pick(
    browser: &reqwest::Client,
    idp: &TestIdp,
    page: reqwest::Response,
    request: &AuthRequest,
    username: &str,
) -> Value {
    assert_eq!(page.status(), 200, "the picker");
    let html = page.text().await.unwrap();
    assert!(html.contains("Pick an account"), "{html}");
    let mut fields: Vec<(String, String)> = form_fields(&html)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("testidp_"))
        .collect();
    fields.push(("testidp_user".into(), idp.user(username).unwrap().oid));
    let response = browser
        .post(form_action(&html))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let code = msal_tests::param(&msal_tests::location(&response), "code").unwrap();
    json_of(redeem(idp, &code, request).await, 200).await
}

#[tokio::test]
async fn the_code_grant_puts_auth_time_on_the_id_token_and_v1_and_v2_access_tokens() {
    let idp = TestIdp::start().await.unwrap();
    let before = idp.now();
    // A v2 access token (the default app's API).
    let v2 = msal_tests::sign_in(&idp, ALICE, &api_scope()).await;
    let after = idp.now();
    let id = verify_for_app(&idp, id_token_of(&v2)).await.unwrap();
    let at = id["auth_time"].as_i64().unwrap();
    assert!((before..=after).contains(&at), "{at} in {before}..={after}");
    assert!(at <= id["iat"].as_i64().unwrap());
    let access = verify(
        &idp,
        &access_token_of(&v2),
        DEFAULT_CLIENT_ID,
        &idp.issuer(),
    )
    .await
    .unwrap();
    assert_eq!(access["ver"], "2.0");
    assert_eq!(access["auth_time"], at);
    // A v1 access token (Graph's shape).
    let v1 = msal_tests::sign_in(&idp, ALICE, GRAPH_SCOPE).await;
    let graph = access_token_of(&v1);
    assert_eq!(claim(&graph, "ver"), "1.0");
    assert!(claim(&graph, "auth_time").is_i64());
    assert_eq!(
        auth_times(&v1),
        claim(&graph, "auth_time").as_i64().unwrap()
    );
}

#[tokio::test]
async fn app_only_tokens_have_no_auth_time() {
    let idp = TestIdp::start().await.unwrap();
    let body = json_of(
        token_request(
            &idp,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
                ("scope", &format!("api://{DEFAULT_CLIENT_ID}/.default")),
            ],
        )
        .await,
        200,
    )
    .await;
    let (_, claims) = decode_unverified(&access_token_of(&body));
    assert!(claims.get("auth_time").is_none(), "{claims}");
    assert!(claims.get("acr").is_none(), "{claims}");
    let minted = idp
        .app_token_claims(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_ID, &[])
        .unwrap();
    assert!(!minted.contains_key("auth_time"));
}

#[tokio::test]
async fn refreshes_keep_the_original_sign_in_s_auth_time() {
    let idp = TestIdp::start().await.unwrap();
    let first = msal_tests::sign_in(&idp, ALICE, GRAPH_SCOPE).await;
    let signed_in = auth_times(&first);
    idp.advance_clock(Duration::from_secs(1800));
    let second = json_of(
        refresh_with(&idp, &refresh_token_of(&first), None, None).await,
        200,
    )
    .await;
    assert_eq!(auth_times(&second), signed_in);
    assert!(claim(id_token_of(&second), "iat").as_i64().unwrap() >= signed_in + 1800);
    // Along the chain, and to another resource (the v2 API).
    idp.advance_clock(Duration::from_secs(1800));
    let api = format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read");
    let third = json_of(
        refresh_with(&idp, &refresh_token_of(&second), Some(&api), None).await,
        200,
    )
    .await;
    let access = access_token_of(&third);
    assert_eq!(claim(&access, "ver"), "2.0");
    assert_eq!(auth_time(&access), signed_in);
}

#[tokio::test]
async fn on_behalf_of_carries_the_assertion_s_auth_time() {
    let idp = TestIdp::start().await.unwrap();
    let user = msal_tests::sign_in(
        &idp,
        ALICE,
        &format!("api://{DEFAULT_CLIENT_ID}/access_as_user"),
    )
    .await;
    let assertion = access_token_of(&user);
    let signed_in = auth_time(&assertion);
    idp.advance_clock(Duration::from_secs(600));
    let exchange = |assertion: String| {
        let idp = &idp;
        async move {
            let body = json_of(
                obo_as(
                    idp,
                    DEFAULT_CLIENT_ID,
                    DEFAULT_CLIENT_SECRET,
                    &assertion,
                    "https://graph.microsoft.com/User.Read",
                    None,
                )
                .await,
                200,
            )
            .await;
            access_token_of(&body)
        }
    };
    let graph = exchange(assertion).await;
    assert_eq!(claim(&graph, "ver"), "1.0");
    assert_eq!(auth_time(&graph), signed_in);
    // Whatever the assertion says, even long ago; and nothing when it says nothing.
    let before = idp.now();
    let claims = idp
        .access_token_claims(ALICE, DEFAULT_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let helper = claims["auth_time"].as_i64().unwrap();
    assert!(
        (before..=idp.now()).contains(&helper),
        "the claim helper signs in now"
    );
    let old = idp
        .mint(&Mint::new(claims.clone()).claim("auth_time", 1_600_000_000))
        .unwrap();
    assert_eq!(auth_time(&exchange(old).await), 1_600_000_000);
    let none = idp
        .mint(&Mint::new(claims).without_claim("auth_time"))
        .unwrap();
    assert!(claim(&exchange(none).await, "auth_time").is_null());
}

#[tokio::test]
async fn sso_reuse_keeps_the_first_auth_time() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let first = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    let signed_in = auth_times(&first);
    idp.advance_clock(Duration::from_secs(900));
    // The session alone, a hint naming its user, and a silent request: all reuse it.
    for request in [
        unhinted(),
        AuthRequest::new(ALICE),
        unhinted().set("prompt", "none"),
        AuthRequest::new(ALICE).set("max_age", "3600"),
    ] {
        let body = sign_in_in(&browser, &idp, &request).await;
        assert_eq!(auth_times(&body), signed_in, "{:?}", request.params);
        assert_eq!(
            claim(id_token_of(&body), "sid"),
            claim(id_token_of(&first), "sid"),
            "the same IdP session"
        );
    }
    // Another user's sign-in in that browser authenticates now.
    let bob = sign_in_in(&browser, &idp, &AuthRequest::new("bob@contoso.test")).await;
    assert!(auth_times(&bob) >= signed_in + 900);
}

#[tokio::test]
async fn max_age_exceeded_signs_a_hinted_user_in_afresh_and_updates_the_session() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let first = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    let signed_in = auth_times(&first);
    idp.advance_clock(Duration::from_secs(120));
    let now = idp.now();
    let again = sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("max_age", "60"),
    )
    .await;
    let fresh = auth_times(&again);
    assert!(fresh >= now && fresh >= signed_in + 120, "{fresh} vs {now}");
    assert_eq!(
        claim(id_token_of(&again), "sid"),
        claim(id_token_of(&first), "sid"),
        "the IdP session goes on, re-authenticated"
    );
    // The session now vouches for the new time.
    idp.advance_clock(Duration::from_secs(30));
    let reused = sign_in_in(&browser, &idp, &unhinted()).await;
    assert_eq!(auth_times(&reused), fresh);
    let within = sign_in_in(&browser, &idp, &unhinted().set("max_age", "60")).await;
    assert_eq!(auth_times(&within), fresh, "30 s old is within 60");
}

#[tokio::test]
async fn max_age_zero_always_authenticates_afresh() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    idp.age_sign_in(ALICE, Duration::from_secs(5)).unwrap();
    let now = idp.now();
    let again = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE).set("max_age", "0")).await;
    assert!(auth_times(&again) >= now);
}

#[tokio::test]
async fn max_age_exceeded_without_a_hint_shows_the_picker() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    idp.advance_clock(Duration::from_secs(120));
    let request = unhinted().set("max_age", "60");
    let page = send_authorize(&browser, &idp, &request).await;
    let now = idp.now();
    let body = pick(&browser, &idp, page, &request, ALICE).await;
    assert!(auth_times(&body) >= now);
}

#[tokio::test]
async fn prompt_login_authenticates_afresh_and_updates_the_session() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let first = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    let signed_in = auth_times(&first);
    idp.advance_clock(Duration::from_secs(300));
    let hinted = sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("prompt", "login"),
    )
    .await;
    let fresh = auth_times(&hinted);
    assert!(fresh >= signed_in + 300);
    idp.advance_clock(Duration::from_secs(300));
    assert_eq!(
        auth_times(&sign_in_in(&browser, &idp, &unhinted()).await),
        fresh
    );
    // Without a hint, on the picker.
    let request = unhinted().set("prompt", "login");
    let page = send_authorize(&browser, &idp, &request).await;
    let picked = pick(&browser, &idp, page, &request, ALICE).await;
    assert!(auth_times(&picked) >= fresh + 300);
}

#[tokio::test]
async fn prompt_none_past_max_age_is_login_required() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let first = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    idp.advance_clock(Duration::from_secs(120));
    for request in [
        AuthRequest::new(ALICE)
            .set("prompt", "none")
            .set("max_age", "60"),
        unhinted().set("prompt", "none").set("max_age", "60"),
        unhinted().set("prompt", "none").set("max_age", "0"),
    ] {
        let response = send_authorize(&browser, &idp, &request).await;
        assert_redirected_error(&response, "login_required", "50058");
    }
    // Within max_age a silent request still works, with the old auth_time.
    let silent = unhinted().set("prompt", "none").set("max_age", "600");
    assert_eq!(
        auth_times(&sign_in_in(&browser, &idp, &silent).await),
        auth_times(&first)
    );
}

#[tokio::test]
async fn a_malformed_max_age_is_invalid_request() {
    let idp = TestIdp::start().await.unwrap();
    for value in ["-1", "abc", "1.5", "+5", " 5", "5s", "0x10", "١"] {
        let request = AuthRequest::new(ALICE).set("max_age", value);
        let response = send_authorize(&browser(), &idp, &request).await;
        assert_redirected_error(&response, "invalid_request", "90100");
        let description =
            msal_tests::param(&msal_tests::location(&response), "error_description").unwrap();
        assert!(description.contains("max_age"), "{description}");
    }
    // A huge one is no limit at all; an empty one is absent.
    for value in ["99999999999999999999999", ""] {
        let request = AuthRequest::new(ALICE).set("max_age", value);
        authorize_code(&browser(), &idp, &request).await;
    }
}

#[tokio::test]
async fn acr_values_put_the_first_value_in_acr_and_refreshes_keep_it() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new(ALICE)
        .set("scope", GRAPH_SCOPE)
        .set("acr_values", "urn:contoso:loa:high urn:contoso:loa:low");
    let body = sign_in_in(&browser(), &idp, &request).await;
    assert_eq!(claim(id_token_of(&body), "acr"), "urn:contoso:loa:high");
    let v1 = access_token_of(&body);
    assert_eq!(claim(&v1, "ver"), "1.0");
    assert_eq!(claim(&v1, "acr"), "urn:contoso:loa:high");
    assert_eq!(claim(&v1, "appidacr"), "1", "the client's acr is apart");
    // The refresh, to the v2 API too.
    let api = format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read");
    let refreshed = json_of(
        refresh_with(&idp, &refresh_token_of(&body), Some(&api), None).await,
        200,
    )
    .await;
    let v2 = access_token_of(&refreshed);
    assert_eq!(claim(&v2, "ver"), "2.0");
    assert_eq!(claim(&v2, "acr"), "urn:contoso:loa:high");
    // And the refreshed ID token.
    let same = json_of(
        refresh_with(&idp, &refresh_token_of(&refreshed), Some(GRAPH_SCOPE), None).await,
        200,
    )
    .await;
    assert_eq!(claim(id_token_of(&same), "acr"), "urn:contoso:loa:high");
    // An on-behalf-of exchange carries it on.
    let user = sign_in_in(
        &browser(),
        &idp,
        &AuthRequest::new(ALICE)
            .set(
                "scope",
                &format!("api://{DEFAULT_CLIENT_ID}/access_as_user"),
            )
            .set("acr_values", "c2"),
    )
    .await;
    let graph = json_of(
        obo_as(
            &idp,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            &access_token_of(&user),
            "https://graph.microsoft.com/User.Read",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(claim(&access_token_of(&graph), "acr"), "c2");
}

#[tokio::test]
async fn without_acr_values_no_acr_is_issued() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let body = sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("scope", GRAPH_SCOPE),
    )
    .await;
    assert!(claim(id_token_of(&body), "acr").is_null());
    assert!(claim(&access_token_of(&body), "acr").is_null());
    // Nor does an SSO session remember an earlier request's level.
    sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("acr_values", "urn:contoso:loa:high"),
    )
    .await;
    let later = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    assert!(claim(id_token_of(&later), "acr").is_null());
    // Blank values ask for nothing.
    let blank = sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("acr_values", "   "),
    )
    .await;
    assert!(claim(id_token_of(&blank), "acr").is_null());
}

#[tokio::test]
async fn age_sign_in_moves_the_next_token_s_auth_time_back() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let first = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    let signed_in = auth_times(&first);
    // Bob's sign-in elsewhere is not Alice's.
    let bob = msal_tests::sign_in(&idp, "bob@contoso.test", GRAPH_SCOPE).await;
    // One IdP session and one refresh-token grant.
    assert_eq!(
        idp.age_sign_in(ALICE, Duration::from_secs(3600)).unwrap(),
        2
    );
    let refreshed = json_of(
        refresh_with(&idp, &refresh_token_of(&first), None, None).await,
        200,
    )
    .await;
    assert_eq!(auth_times(&refreshed), signed_in - 3600);
    let reused = sign_in_in(&browser, &idp, &unhinted()).await;
    assert_eq!(auth_times(&reused), signed_in - 3600);
    // The session is now too old for max_age=1800: Alice signs in afresh.
    let now = idp.now();
    let fresh = sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("max_age", "1800"),
    )
    .await;
    assert!(auth_times(&fresh) >= now);
    let bob_again = json_of(
        refresh_with(&idp, &refresh_token_of(&bob), None, None).await,
        200,
    )
    .await;
    assert_eq!(auth_times(&bob_again), auth_times(&bob));
    // Revoked grants are not outstanding; nobody at all is an error.
    idp.revoke_refresh_tokens("bob@contoso.test").unwrap();
    assert_eq!(
        idp.age_sign_in("bob@contoso.test", Duration::from_secs(1))
            .unwrap(),
        0
    );
    assert!(matches!(
        idp.age_sign_in("mallory@contoso.test", Duration::from_secs(1)),
        Err(TestIdpError::UnknownUser(name)) if name == "mallory@contoso.test"
    ));
}

#[tokio::test]
async fn ignoring_max_age_reuses_the_old_session_but_prompt_login_still_works() {
    let idp = TestIdp::start().await.unwrap();
    let browser = browser();
    let first = sign_in_in(&browser, &idp, &AuthRequest::new(ALICE)).await;
    let signed_in = auth_times(&first);
    idp.advance_clock(Duration::from_secs(120));
    idp.ignore_max_age(true);
    for max_age in ["60", "0", "not-a-number"] {
        let body = sign_in_in(
            &browser,
            &idp,
            &AuthRequest::new(ALICE).set("max_age", max_age),
        )
        .await;
        assert_eq!(auth_times(&body), signed_in, "max_age={max_age} ignored");
    }
    let silent = unhinted().set("prompt", "none").set("max_age", "60");
    assert_eq!(
        auth_times(&sign_in_in(&browser, &idp, &silent).await),
        signed_in
    );
    let login = sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("prompt", "login"),
    )
    .await;
    let fresh = auth_times(&login);
    assert!(fresh >= signed_in + 120, "prompt=login is honoured");
    // Honoured again once switched back.
    idp.ignore_max_age(false);
    idp.advance_clock(Duration::from_secs(120));
    let now = idp.now();
    let body = sign_in_in(
        &browser,
        &idp,
        &AuthRequest::new(ALICE).set("max_age", "60"),
    )
    .await;
    assert!(auth_times(&body) >= now);
}

#[tokio::test]
async fn ignoring_acr_values_issues_no_acr() {
    let idp = TestIdp::start().await.unwrap();
    let request = AuthRequest::new(ALICE)
        .set("scope", GRAPH_SCOPE)
        .set("acr_values", "urn:contoso:loa:high");
    idp.ignore_acr_values(true);
    let body = sign_in_in(&browser(), &idp, &request).await;
    assert!(claim(id_token_of(&body), "acr").is_null());
    assert!(claim(&access_token_of(&body), "acr").is_null());
    assert!(
        claim(id_token_of(&body), "auth_time").is_i64(),
        "the rest as usual"
    );
    // The refresh of that grant has none either, even once switched back.
    idp.ignore_acr_values(false);
    let refreshed = json_of(
        refresh_with(&idp, &refresh_token_of(&body), None, None).await,
        200,
    )
    .await;
    assert!(claim(&access_token_of(&refreshed), "acr").is_null());
    let honoured = sign_in_in(&browser(), &idp, &request).await;
    assert_eq!(claim(id_token_of(&honoured), "acr"), "urn:contoso:loa:high");
}

#[tokio::test]
async fn the_last_authorize_request_is_recorded() {
    let idp = TestIdp::start().await.unwrap();
    assert_eq!(idp.last_authorize_params(), None);
    assert_eq!(idp.last_authorize_param("prompt"), None);
    let request = AuthRequest::new(ALICE)
        .set("prompt", "login")
        .set("max_age", "300")
        .set("acr_values", "c1 c2");
    authorize_code(&browser(), &idp, &request).await;
    let recorded = idp.last_authorize_params().unwrap();
    assert_eq!(recorded, request.params.0, "every parameter, in order");
    assert_eq!(idp.last_authorize_param("prompt").as_deref(), Some("login"));
    assert_eq!(idp.last_authorize_param("max_age").as_deref(), Some("300"));
    assert_eq!(
        idp.last_authorize_param("acr_values").as_deref(),
        Some("c1 c2")
    );
    assert_eq!(idp.last_authorize_param("claims"), None);
    // The picker's post is the app's request again, without the picker's own fields.
    let browser = browser();
    let plain = unhinted();
    let page = send_authorize(&browser, &idp, &plain).await;
    pick(&browser, &idp, page, &plain, ALICE).await;
    assert_eq!(idp.last_authorize_param("testidp_user"), None);
    assert_eq!(idp.last_authorize_param("prompt"), None);
    assert_eq!(
        idp.last_authorize_param("client_id").as_deref(),
        Some(DEFAULT_CLIENT_ID)
    );
    // A faulted request was still asked.
    idp.set_fault(Endpoint::Authorize, Fault::status(503).times(1));
    let faulted = AuthRequest::new(ALICE).set("max_age", "1");
    assert_eq!(
        send_authorize(&msal_tests::browser(), &idp, &faulted)
            .await
            .status(),
        503
    );
    assert_eq!(idp.last_authorize_param("max_age").as_deref(), Some("1"));
}
