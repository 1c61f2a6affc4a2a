//! `auth_context = "c1"` over real HTTP: the `acrs` claim of a bearer token and of a
//! session's ID token lets a user through; a user without it never reaches the body (how
//! the step-up is asked for is the claims challenge's to pin); an app-only token is refused.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use msal_runtime::msal_protected;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Mint, MintKey, TestIdp};
use msal_tests::{TestApp, app_only_token, app_sign_in, browser};

static RAN: AtomicUsize = AtomicUsize::new(0);

#[msal_protected(auth_context = "c1")]
async fn keys() -> &'static str {
    RAN.fetch_add(1, Ordering::SeqCst);
    "stepped up"
}

/// The same requirement, uncounted: the sessions' test runs beside the bearer one.
#[msal_protected(auth_context = "c1")]
async fn session_keys() -> &'static str {
    "stepped up"
}

fn routes() -> Router {
    Router::new()
        .route("/keys", get(keys))
        .route("/session/keys", get(session_keys))
}

async fn get_keys(client: &reqwest::Client, app: &TestApp, token: Option<&str>) -> (u16, String) {
    let path = if token.is_some() {
        "/keys"
    } else {
        "/session/keys"
    };
    let mut request = client
        .get(app.url(path))
        .header("accept", "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn user_token(idp: &TestIdp, acrs: Option<serde_json::Value>) -> String {
    let claims = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let mint = match acrs {
        Some(acrs) => Mint::new(claims).claim("acrs", acrs),
        None => Mint::new(claims),
    };
    idp.mint(&mint).unwrap()
}

#[tokio::test]
async fn a_bearer_token_that_met_the_context_passes_and_one_that_did_not_never_reaches_the_body() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_api(&idp, |c| c, routes()).await;
    let client = reqwest::Client::new();
    let before = RAN.load(Ordering::SeqCst);
    for acrs in [serde_json::json!(["c1", "c2"]), serde_json::json!("c1")] {
        let (status, body) = get_keys(&client, &app, Some(&user_token(&idp, Some(acrs)))).await;
        assert_eq!((status, body.as_str()), (200, "stepped up"));
    }
    for acrs in [None, Some(serde_json::json!(["c2"]))] {
        let (status, body) = get_keys(&client, &app, Some(&user_token(&idp, acrs))).await;
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("c1"), "the refusal names the context: {body}");
    }
    assert_eq!(
        RAN.load(Ordering::SeqCst) - before,
        2,
        "refused bodies never ran"
    );
}

#[tokio::test]
async fn an_app_only_token_is_refused_even_with_acrs() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_api(&idp, |c| c, routes()).await;
    let app_token = &app_only_token(&idp).await;
    let client = reqwest::Client::new();
    let (status, body) = get_keys(&client, &app, Some(app_token)).await;
    assert_eq!(status, 403, "{body}");
    // Nobody to step up: a claim an app-only token carries changes nothing.
    let claims = idp
        .app_token_claims(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_ID,
            &["Tasks.ReadWrite.All"],
        )
        .unwrap();
    let with_acrs = idp
        .mint(&Mint::new(claims).claim("acrs", serde_json::json!(["c1"])))
        .unwrap();
    assert_eq!(get_keys(&client, &app, Some(&with_acrs)).await.0, 403);
}

#[tokio::test]
async fn a_session_is_judged_on_its_id_tokens_acrs() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let plain = browser();
    app_sign_in(&plain, &app, "alice@contoso.test", "/").await;
    let (status, body) = get_keys(&plain, &app, None).await;
    assert_ne!(status, 200, "{body}");

    idp.tamper_id_tokens(MintKey::Current, |claims| {
        claims.insert("acrs".into(), serde_json::json!(["c1"]));
    });
    let stepped_up = browser();
    assert_eq!(
        app_sign_in(&stepped_up, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    idp.stop_tampering();
    assert_eq!(
        get_keys(&stepped_up, &app, None).await,
        (200, "stepped up".to_owned())
    );
}
