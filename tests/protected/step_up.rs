//! Step-up over real HTTP (RFC 9470, OpenID Connect `max_age` and `acr_values`): a bearer
//! caller whose sign-in is too old or too weak hears `insufficient_user_authentication`; a
//! browser is sent to sign in again and comes back through; a provider that ignores
//! `max_age` is asked again with `prompt=login`; one that ignores `acr_values` is refused,
//! never looped. A refused request never reaches the body.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use msal_runtime::msal_protected;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Mint, TestIdp};
use msal_tests::{TestApp, app_only_token, app_sign_in, browser, navigate};
use reqwest::Url;
use serde_json::json;

static AUDITS: AtomicUsize = AtomicUsize::new(0);

#[msal_protected(max_age = "5m")]
async fn audit() -> &'static str {
    AUDITS.fetch_add(1, Ordering::SeqCst);
    "fresh"
}

#[msal_protected(acr = ["urn:high", "urn:higher"])]
async fn strong() -> &'static str {
    "strong"
}

#[msal_protected(max_age = "10m", acr = "urn:high")]
async fn both() -> &'static str {
    "both"
}

#[msal_protected]
async fn who(user: msal_runtime::User) -> String {
    user.preferred_username.unwrap_or_default()
}

fn routes() -> Router {
    Router::new()
        .route("/audit", get(audit))
        .route("/strong", get(strong))
        .route("/both", get(both))
        .route("/who", get(who))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Alice's access token for this API, with these claims changed (`null`: removed).
fn token(idp: &TestIdp, claims: serde_json::Value) -> String {
    let mut mint = Mint::new(
        idp.access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
            .unwrap(),
    );
    for (name, value) in claims.as_object().unwrap() {
        mint = if value.is_null() {
            mint.without_claim(name)
        } else {
            mint.claim(name, value.clone())
        };
    }
    idp.mint(&mint).unwrap()
}

async fn api_get(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .header("accept", "application/json")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, response.text().await.unwrap())
}

#[tokio::test]
async fn a_bearer_token_signed_in_too_long_ago_hears_insufficient_user_authentication() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_api(&idp, |c| c, routes()).await;
    let before = AUDITS.load(Ordering::SeqCst);
    let fresh = token(&idp, json!({"auth_time": now() - 60}));
    assert_eq!(api_get(&app, "/audit", &fresh).await.0, 200);
    for stale in [
        json!({"auth_time": now() - 301}),
        // No auth_time: when the user signed in is unknown, so not recently.
        json!({"auth_time": null}),
        json!({"auth_time": "recently"}),
        // Dated ahead of every clock: no sign-in anyone can date.
        json!({"auth_time": now() + 86_400}),
    ] {
        let (status, challenge, body) = api_get(&app, "/audit", &token(&idp, stale.clone())).await;
        assert_eq!(status, 401, "{stale}: {body}");
        assert!(
            challenge.starts_with("Bearer error=\"insufficient_user_authentication\"")
                && challenge.contains("max_age=\"300\"")
                && !challenge.contains("acr_values"),
            "{stale}: {challenge}"
        );
        assert!(body.contains("5 minutes"), "{body}");
    }
    assert_eq!(
        AUDITS.load(Ordering::SeqCst) - before,
        1,
        "refused bodies never ran"
    );
}

#[tokio::test]
async fn a_bearer_token_of_another_authentication_level_is_told_which_levels_count() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_api(&idp, |c| c, routes()).await;
    for acr in ["urn:high", "urn:higher"] {
        let (status, _, body) = api_get(&app, "/strong", &token(&idp, json!({ "acr": acr }))).await;
        assert_eq!((status, body.as_str()), (200, "strong"), "{acr}");
    }
    for claims in [
        json!({"acr": "urn:low"}),
        json!({"acr": "URN:HIGH"}),
        json!({}),
    ] {
        let (status, challenge, _) = api_get(&app, "/strong", &token(&idp, claims.clone())).await;
        assert_eq!(status, 401, "{claims}");
        assert!(
            challenge.contains("error=\"insufficient_user_authentication\"")
                && challenge.contains("acr_values=\"urn:high urn:higher\"")
                && !challenge.contains("max_age"),
            "{claims}: {challenge}"
        );
    }
    // Both unmet: one challenge asks for both.
    let (status, challenge, _) = api_get(
        &app,
        "/both",
        &token(&idp, json!({"acr": "urn:low", "auth_time": now() - 3600})),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("max_age=\"600\"") && challenge.contains("acr_values=\"urn:high\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn an_app_only_token_has_no_sign_in_to_step_up() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_api(&idp, |c| c, routes()).await;
    let app_token = &app_only_token(&idp).await;
    let (status, challenge, _) = api_get(&app, "/audit", app_token).await;
    assert_eq!(status, 403);
    assert!(!challenge.contains("insufficient_user_authentication"));
    // A claim an app-only token carries changes nothing.
    let claims = idp
        .app_token_claims(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_ID,
            &["Tasks.ReadWrite.All"],
        )
        .unwrap();
    let minted = idp
        .mint(
            &Mint::new(claims)
                .claim("auth_time", json!(now()))
                .claim("acr", json!("urn:high")),
        )
        .unwrap();
    assert_eq!(api_get(&app, "/audit", &minted).await.0, 403);
    assert_eq!(api_get(&app, "/strong", &minted).await.0, 403);
}

/// Follows a browser's redirects from `url`, returning the last response and every URL it
/// was sent to.
async fn trail(browser: &reqwest::Client, url: &str) -> (reqwest::Response, Vec<Url>) {
    let mut seen = vec![Url::parse(url).unwrap()];
    for _ in 0..12 {
        let here = seen.last().unwrap().clone();
        let response = navigate(browser, here.as_str()).await;
        if !response.status().is_redirection() {
            return (response, seen);
        }
        let location = response.headers()["location"].to_str().unwrap();
        seen.push(here.join(location).unwrap());
    }
    panic!("a redirect loop: {seen:#?}");
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The provider's authorize requests along a trail.
fn authorize_requests<'a>(idp: &TestIdp, seen: &'a [Url]) -> Vec<&'a Url> {
    seen.iter()
        .filter(|u| u.as_str().starts_with(idp.base_url()) && u.path().ends_with("/authorize"))
        .collect()
}

/// A browser whose session's sign-in (its ID token's `auth_time`) is `age` seconds old: it
/// signs in, the provider's sign-in is aged, and it signs in again reusing it.
async fn signed_in_long_ago(idp: &TestIdp, app: &TestApp, user: &str, age: u64) -> reqwest::Client {
    let browser = browser();
    assert_eq!(app_sign_in(&browser, app, user, "/who").await.status(), 303);
    idp.age_sign_in(user, std::time::Duration::from_secs(age))
        .unwrap();
    // Single sign-on at the provider: no max_age, so the old sign-in is reused.
    let (page, _) = trail(&browser, &app.url("/auth/login?next=/who")).await;
    assert_eq!(page.status(), 200);
    browser
}

#[tokio::test]
async fn a_browser_signed_in_too_long_ago_signs_in_again_with_max_age_and_comes_back() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let browser = signed_in_long_ago(&idp, &app, "alice@contoso.test", 900).await;
    let before = AUDITS.load(Ordering::SeqCst);
    let (page, seen) = trail(&browser, &app.url("/audit")).await;
    assert_eq!(page.status(), 200, "{seen:#?}");
    assert_eq!(page.text().await.unwrap(), "fresh");
    let login = &seen[1];
    assert_eq!(login.path(), "/auth/login");
    assert_eq!(param(login, "max_age").as_deref(), Some("300"));
    assert_eq!(
        param(login, "login_hint").as_deref(),
        Some("alice@contoso.test")
    );
    let authorize = authorize_requests(&idp, &seen);
    assert_eq!(authorize.len(), 1, "{seen:#?}");
    assert_eq!(param(authorize[0], "max_age").as_deref(), Some("300"));
    assert_eq!(
        param(authorize[0], "prompt"),
        None,
        "TestIdp honours max_age"
    );
    assert_eq!(AUDITS.load(Ordering::SeqCst) - before, 1);
    // A fresh sign-in lets it straight through afterwards.
    let again = navigate(&browser, &app.url("/audit")).await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn a_provider_that_ignores_max_age_is_asked_again_with_prompt_login() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let browser = signed_in_long_ago(&idp, &app, "alice@contoso.test", 900).await;
    idp.ignore_max_age(true);
    let (page, seen) = trail(&browser, &app.url("/audit")).await;
    assert_eq!(page.status(), 200, "{seen:#?}");
    let authorize = authorize_requests(&idp, &seen);
    assert_eq!(authorize.len(), 2, "{seen:#?}");
    assert_eq!(param(authorize[0], "prompt"), None);
    assert_eq!(param(authorize[1], "prompt").as_deref(), Some("login"));
    assert_eq!(param(authorize[1], "max_age").as_deref(), Some("300"));
}

#[tokio::test]
async fn a_provider_that_ignores_acr_values_is_refused_once_not_looped() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, &app, "alice@contoso.test", "/who")
            .await
            .status(),
        303
    );
    idp.ignore_acr_values(true);
    let (page, seen) = trail(&browser, &app.url("/strong")).await;
    assert_eq!(page.status(), 403, "{seen:#?}");
    let text = page.text().await.unwrap();
    assert!(text.contains("urn:high or urn:higher"), "{text}");
    assert_eq!(
        authorize_requests(&idp, &seen).len(),
        1,
        "asked once: {seen:#?}"
    );
    assert_eq!(
        param(authorize_requests(&idp, &seen)[0], "acr_values").as_deref(),
        Some("urn:high urn:higher")
    );
    // The session from before is still the one signed in.
    let who = navigate(&browser, &app.url("/who")).await;
    assert_eq!(who.text().await.unwrap(), "alice@contoso.test");
    // A provider that honours it signs in at that level, and the page opens.
    idp.ignore_acr_values(false);
    let (page, seen) = trail(&browser, &app.url("/strong")).await;
    assert_eq!(page.status(), 200, "{seen:#?}");
}

#[tokio::test]
async fn a_step_up_asked_for_by_hand_is_checked_at_the_callback_too() {
    // An attacker's (or a curious user's) own login URL cannot weaken anything: max_age is
    // read only to ask the provider, and what comes back is checked.
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let browser = signed_in_long_ago(&idp, &app, "alice@contoso.test", 900).await;
    for bad in ["-5", "5m", "1e9", "99999999999999999999999"] {
        let response = navigate(
            &browser,
            &app.url(&format!("/auth/login?next=/who&max_age={bad}")),
        )
        .await;
        assert_eq!(response.status(), 400, "max_age={bad}");
    }
    let bad_acr = navigate(&browser, &app.url("/auth/login?next=/who&acr_values=a%0Ab")).await;
    assert_eq!(bad_acr.status(), 400);
    // The old sign-in is still too old for /audit; a script on the page hears why.
    let direct = browser
        .get(app.url("/audit"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 401);
    let challenge = direct.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("insufficient_user_authentication"),
        "{challenge}"
    );
}

#[msal_protected(acr = "urn:phr")]
async fn phr_page() -> &'static str {
    "phr"
}

#[tokio::test]
async fn two_requirements_wanting_different_levels_are_refused_not_looped() {
    // A layer wants one level and its handler another: one sign-in holds one `acr`, so each
    // step-up would undo the other's. The session's chain of step-ups ends it.
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with_msal(
        &idp,
        |c| c,
        Router::new(),
        |msal| {
            let sensitive = Router::new()
                .route("/phr", get(phr_page))
                .route_layer(msal.require(msal_runtime::msal_rule!(acr = "urn:mfa")));
            Router::new().nest("/sensitive", sensitive)
        },
    )
    .await;
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    let (page, seen) = trail(&browser, &app.url("/sensitive/phr")).await;
    assert_eq!(page.status(), 403, "{seen:#?}");
    let text = page.text().await.unwrap();
    assert!(
        text.contains("urn:mfa") && text.contains("one sign-in holds only one"),
        "{text}"
    );
    let asked: Vec<Option<String>> = authorize_requests(&idp, &seen)
        .iter()
        .map(|u| param(u, "acr_values"))
        .collect();
    assert_eq!(
        asked,
        [Some("urn:mfa".to_owned()), Some("urn:phr".to_owned())],
        "each level asked for once"
    );
    // A plain sign-in ends the chain: the first step-up is asked for again, once.
    assert_eq!(
        app_sign_in(&browser, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    let (page, seen) = trail(&browser, &app.url("/sensitive/phr")).await;
    assert_eq!(page.status(), 403);
    assert_eq!(authorize_requests(&idp, &seen).len(), 2, "{seen:#?}");
}
