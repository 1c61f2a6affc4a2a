//! OpenAPI and Swagger UI sign-in on the demo: the document, the Swagger flow over HTTP,
//! and Swagger UI's assets.

use msal_runtime::config::MsalConfigBuilder;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestIdp};
use msal_tests::{Pkce, TestApp, location, param};
use serde_json::Value;

async fn demo_with_docs(idp: &TestIdp) -> TestApp {
    demo_with_docs_and(idp, |c| c).await
}

async fn demo_with_docs_and(
    idp: &TestIdp,
    tweak: impl FnOnce(MsalConfigBuilder) -> MsalConfigBuilder,
) -> TestApp {
    TestApp::start_with_msal(
        idp,
        tweak,
        msal_examples::demo::router(),
        msal_examples::demo::docs,
    )
    .await
}

#[tokio::test]
async fn the_document_holds_the_scheme_and_each_protected_routes_lock() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flow = &doc["components"]["securitySchemes"]["msal"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], "/auth/swagger/authorize");
    assert_eq!(flow["tokenUrl"], "/auth/swagger/token");
    // Only this API's scopes: `User.Read` is what /graph/me calls Microsoft Graph with, not
    // a scope of this API, so Swagger does not offer it (asking for it fails at Entra).
    assert_eq!(
        flow["scopes"],
        serde_json::json!({ format!("api://{DEFAULT_CLIENT_ID}/.default"): "everything this API exposes" }),
        "{flow}"
    );
    let security = |path: &str| doc["paths"][path]["get"]["security"].clone();
    assert_eq!(security("/me"), serde_json::json!([{ "msal": [] }]));
    assert_eq!(security("/admin"), serde_json::json!([{ "msal": [] }]));
    assert_eq!(security("/graph/me"), serde_json::json!([{ "msal": [] }]));
    assert_eq!(
        security("/health"),
        Value::Null,
        "public routes have no lock"
    );
    let admin = &doc["paths"]["/admin"]["get"]["responses"];
    assert_eq!(
        admin["403"]["description"],
        "Forbidden: this needs the app role Admin."
    );
    assert!(admin["401"].is_object());
    assert!(
        doc["paths"]["/health"]["get"]["responses"]
            .get("401")
            .is_none()
    );
}

#[tokio::test]
async fn docs_serve_swagger_ui_and_its_assets() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let page = reqwest::get(app.url("/docs/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/oauth2-redirect.html",
        "/docs/swagger-initializer.js",
    ] {
        let response = reqwest::get(app.url(asset)).await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
    }
    let init = reqwest::get(app.url("/docs/swagger-initializer.js"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        init.contains(DEFAULT_CLIENT_ID),
        "Swagger knows the client id"
    );
    assert!(
        !init.contains(msal_runtime::testing::DEFAULT_CLIENT_SECRET),
        "but never the secret"
    );
}

/// Swagger's authorize request for `scope`, as its popup sends it.
async fn swagger_authorize(
    browser: &reqwest::Client,
    app: &TestApp,
    username: &str,
    pkce: &Pkce,
    scope: &str,
) -> reqwest::Response {
    let redirect = app.url("/docs/oauth2-redirect.html");
    browser
        .get(app.url("/auth/swagger/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope),
            ("state", "swagger-state"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("login_hint", username),
        ])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

/// Swagger UI's flow, as its popup and its JavaScript would drive it.
async fn swagger_sign_in(app: &TestApp, username: &str, pkce: &Pkce) -> (reqwest::Client, String) {
    let browser = msal_tests::browser();
    let redirect = app.url("/docs/oauth2-redirect.html");
    let authorize = swagger_authorize(&browser, app, username, pkce, "").await;
    assert_eq!(authorize.status(), 302, "{:?}", authorize.text().await);
    let at_idp = browser.get(location(&authorize)).send().await.unwrap();
    let callback = browser.get(location(&at_idp)).send().await.unwrap();
    assert_eq!(callback.status(), 303);
    assert!(
        callback
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("msal_session=")),
        "no session for Swagger"
    );
    let back = location(&callback);
    assert!(back.as_str().starts_with(&redirect), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("swagger-state"));
    (browser, param(&back, "code").unwrap())
}

async fn redeem(app: &TestApp, code: &str, verifier: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/auth/swagger/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", DEFAULT_CLIENT_ID),
            ("redirect_uri", &app.url("/docs/oauth2-redirect.html")),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_swagger_flow_yields_a_token_the_api_accepts() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(&app, "bob@contoso.test", &pkce).await;
    let response = redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    let (_, claims) = msal_tests::decode_unverified(token);
    assert_eq!(
        claims["aud"], DEFAULT_CLIENT_ID,
        "a token for this API, not Graph's"
    );
    let admin = reqwest::Client::new()
        .get(app.url("/admin"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let me: Value = reqwest::Client::new()
        .get(app.url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Bob Admin");
}

#[tokio::test]
async fn a_replayed_or_unverified_swagger_code_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(&app, "alice@contoso.test", &pkce).await;
    assert_eq!(redeem(&app, &code, &pkce.verifier).await.status(), 200);
    let replay = redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let (_, code) = swagger_sign_in(&app, "alice@contoso.test", &pkce).await;
    let wrong = redeem(&app, &code, &Pkce::new().verifier).await;
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().await.unwrap().contains("code_verifier"));
    assert_eq!(
        redeem(&app, &code, &pkce.verifier).await.status(),
        400,
        "a failed attempt spends the code"
    );
    assert_eq!(redeem(&app, "made-up", &pkce.verifier).await.status(), 400);
}

#[tokio::test]
async fn swagger_authorize_checks_its_request() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let ask = |redirect: String, challenge: Option<&str>| {
        let url = app.url("/auth/swagger/authorize");
        let challenge = challenge.map(str::to_owned);
        async move {
            let mut query = vec![
                ("response_type", "code".to_owned()),
                ("client_id", DEFAULT_CLIENT_ID.to_owned()),
                ("redirect_uri", redirect),
            ];
            if let Some(c) = challenge {
                query.push(("code_challenge", c));
                query.push(("code_challenge_method", "S256".into()));
            }
            msal_tests::browser()
                .get(url)
                .query(&query)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
        }
    };
    let elsewhere = ask("https://evil.test/steal".into(), Some(&pkce.challenge)).await;
    assert_eq!(elsewhere.status(), 400);
    let no_pkce = ask(app.url("/docs/oauth2-redirect.html"), None).await;
    assert_eq!(no_pkce.status(), 400);
    assert!(no_pkce.text().await.unwrap().contains("PKCE"));
}

#[tokio::test]
async fn swagger_asks_only_for_this_apis_scopes() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let browser = msal_tests::browser();
    // `User.Read` is what /graph/me calls Graph with: a Graph scope, never Swagger's.
    for foreign in [
        "User.Read",
        "https://graph.microsoft.com/User.Read",
        "api://orders/Orders.Read",
        &format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read User.Read"),
    ] {
        let refused = swagger_authorize(&browser, &app, "alice@contoso.test", &pkce, foreign).await;
        assert_eq!(refused.status(), 400, "{foreign}");
        let text = refused.text().await.unwrap();
        assert!(text.contains("this API only"), "{foreign}: {text}");
    }
    let own = format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read");
    assert_eq!(
        swagger_authorize(&browser, &app, "alice@contoso.test", &pkce, &own)
            .await
            .status(),
        302
    );
}

#[tokio::test]
async fn swagger_is_handed_only_tokens_this_api_accepts() {
    // This API accepts only `api://…` audiences, and TestIdp's v2 tokens say the client
    // id: the identity provider's token is not one for this API, so Swagger gets none.
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs_and(&idp, |c| c.audience(format!("api://{DEFAULT_CLIENT_ID}"))).await;
    let browser = msal_tests::browser();
    let pkce = Pkce::new();
    let authorize = swagger_authorize(&browser, &app, "alice@contoso.test", &pkce, "").await;
    assert_eq!(authorize.status(), 302);
    let at_idp = browser.get(location(&authorize)).send().await.unwrap();
    let callback = browser.get(location(&at_idp)).send().await.unwrap();
    assert_eq!(callback.status(), 400);
    let text = callback.text().await.unwrap();
    assert!(text.contains("not one this API accepts"), "{text}");
}

#[tokio::test]
async fn swagger_routes_exist_only_where_swagger_ui_is_merged() {
    let idp = TestIdp::start().await.unwrap();
    let without_docs = TestApp::start_routes(&idp, |c| c, msal_examples::demo::router()).await;
    for path in ["/auth/swagger/authorize", "/auth/swagger/token"] {
        let response = reqwest::Client::new()
            .post(without_docs.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

/// Eight redemptions of one code at once: exactly one token.
async fn eight_redemptions_at_once(app: &TestApp) {
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(app, "alice@contoso.test", &pkce).await;
    let mut all = tokio::task::JoinSet::new();
    let client = reqwest::Client::new();
    for _ in 0..8 {
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("client_id", DEFAULT_CLIENT_ID.to_owned()),
            ("redirect_uri", app.url("/docs/oauth2-redirect.html")),
            ("code_verifier", pkce.verifier.clone()),
        ];
        all.spawn(
            client
                .post(app.url("/auth/swagger/token"))
                .form(&form)
                .send(),
        );
    }
    let statuses = msal_tests::statuses_of(all).await;
    assert_eq!(
        statuses,
        [200, 400, 400, 400, 400, 400, 400, 400],
        "{statuses:?}"
    );
}

// Several worker threads, so the eight redemptions really run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_swagger_code_succeed_once_in_memory() {
    let idp = TestIdp::start().await.unwrap();
    eight_redemptions_at_once(&demo_with_docs(&idp).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_swagger_code_succeed_once_in_redis() {
    let Some(redis) = msal_tests::redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs_and(&idp, move |c| c.session_store(redis)).await;
    eight_redemptions_at_once(&app).await;
}

#[tokio::test]
async fn with_a_session_key_a_waiting_swagger_code_holds_no_readable_token() {
    let Some(redis) = msal_tests::redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let r = redis.clone();
    let app = demo_with_docs_and(&idp, move |c| {
        c.session_store(r)
            .session_key("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
    })
    .await;
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(&app, "alice@contoso.test", &pkce).await;
    // The record a code names, found the way the store names it: by a digest, never the code.
    use sha2::Digest as _;
    let digest = sha2::Sha256::new()
        .chain_update("swagger")
        .chain_update([0])
        .chain_update(&code)
        .finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let key = format!("msal:{DEFAULT_CLIENT_ID}:swagger:{hex}");
    let held = String::from_utf8(
        msal_tests::redis_command(&redis, &["GET", &key])
            .await
            .concat(),
    )
    .unwrap();
    assert!(!held.is_empty(), "the grant waits under {key}");
    assert!(
        !msal_tests::contains_jwt(&held) && !held.contains("access_token"),
        "sealed: {held}"
    );
    // And it still redeems.
    assert_eq!(redeem(&app, &code, &pkce.verifier).await.status(), 200);
}
