//! The app's own tokens, on-behalf-of, Redis persistence and sealed sessions.

use std::time::Duration;

use msal_runtime::config::SessionKey;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser, decode_unverified, redis_url, sign_in_via};

use crate::app::routes;

#[tokio::test]
async fn app_tokens_are_cached_and_renewed_ahead_of_expiry() {
    let idp = TestIdp::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let scope = format!("api://{DEFAULT_CLIENT_ID}/.default");
    idp.reset_counts();
    let first = app.msal.app_token(&[&scope]).await.unwrap();
    // An app-only token (idtyp is an optional claim the default app does not ask for).
    let claims = decode_unverified(first.secret()).1;
    assert_eq!(claims["oid"], claims["sub"]);
    // A minute left is inside the five-minute margin: renewed on the next call.
    app.msal.app_token(&[&scope]).await.unwrap();
    assert_eq!(idp.requests(Endpoint::Token), 2);
    idp.set_token_lifetime(Duration::from_secs(3600));
    let long = app.msal.app_token(&[&scope]).await.unwrap();
    let again = app.msal.app_token(&[&scope]).await.unwrap();
    assert_eq!(long.secret(), again.secret());
    assert_eq!(idp.requests(Endpoint::Token), 3, "cached now");
    assert!(
        !format!("{again:?}").contains(again.secret()),
        "Debug redacts"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_clear_error_for_app_tokens() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c.client_secret("wrong"), routes()).await;
    let err = app
        .msal
        .app_token(&[&format!("api://{DEFAULT_CLIENT_ID}/.default")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
    // The developer reads why; a caller whose request needed the token does not: the
    // provider's description stays out of the 500 body.
    assert!(err.to_string().contains("AADSTS"), "{err}");
    let refused = bearer_get(
        &app,
        "/app-token",
        &bearer_for_this_api(&idp, &["Tasks.Read"]),
    )
    .await;
    assert_eq!(refused.status(), 500);
    let body = refused.text().await.unwrap();
    assert!(body.contains("invalid_client"), "{body}");
    assert!(
        !body.contains("AADSTS"),
        "no provider text in the body: {body}"
    );
}

/// GET with a bearer token.
async fn bearer_get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// A token for this API (scp `User.Read` of this API), as a client of the API holds it.
fn bearer_for_this_api(idp: &TestIdp, scopes: &[&str]) -> String {
    let claims = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, scopes)
        .unwrap();
    idp.mint(&msal_runtime::testing::Mint::new(claims)).unwrap()
}

#[tokio::test]
async fn access_token_never_hands_on_a_bearer_callers_own_token() {
    let idp = TestIdp::start().await.unwrap();
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let incoming = bearer_for_this_api(&idp, &["User.Read", "access_as_user"]);
    let get = |path: &'static str| bearer_get(&api, path, &incoming);
    // `/token` takes `AccessToken` under `scopes = "User.Read"`: the caller holds this API's
    // User.Read, in its own token, which is for this API and must not be handed on.
    let response = get("/token").await;
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains(&incoming),
        "the caller's token is never handed out"
    );
    assert!(
        body.contains("on_behalf_of") && body.contains("incoming_bearer"),
        "{body}"
    );
    // A downstream token comes on behalf of the caller, by name...
    let obo = get("/obo").await;
    assert_eq!(obo.status(), 200);
    let handed = obo.text().await.unwrap();
    assert_ne!(handed, incoming);
    assert_eq!(
        decode_unverified(&handed).1["aud"],
        "https://graph.microsoft.com"
    );
    // ...and the caller's own token is there for a handler that asks for it by name.
    assert_eq!(get("/incoming").await.text().await.unwrap(), incoming);
}

#[tokio::test]
async fn a_refused_app_credential_is_the_apps_fault_never_the_callers() {
    // On-behalf-of with a wrong secret: a 500 about the app, not a 401 about the token.
    let idp = TestIdp::start().await.unwrap();
    let api = TestApp::start_api(&idp, |c| c.client_secret("wrong"), routes()).await;
    let response = bearer_get(
        &api,
        "/obo",
        &bearer_for_this_api(&idp, &["access_as_user"]),
    )
    .await;
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("invalid_client") && !body.contains("AADSTS"),
        "{body}"
    );
}

#[tokio::test]
async fn a_refused_app_credential_at_refresh_keeps_the_users_refresh_token() {
    let Some(redis) = redis_url().await else {
        return;
    };
    // Two instances on one Redis; the second was deployed with a wrong secret.
    let idp = TestIdp::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let r = redis.clone();
    let good = TestApp::start_routes(
        &idp,
        move |c| c.session_store(r).scopes("User.Read"),
        routes(),
    )
    .await;
    let bad = TestApp::start_routes(
        &idp,
        move |c| {
            c.session_store(redis)
                .scopes("User.Read")
                .client_secret("wrong")
        },
        routes(),
    )
    .await;
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, &good, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    // Tokens shorter-lived than the five-minute margin are refreshed on every use.
    let refused = browser
        .get(bad.url("/token"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        500,
        "the app's credential, not the user's grant"
    );
    let renewed = browser.get(good.url("/token")).send().await.unwrap();
    assert_eq!(
        renewed.status(),
        200,
        "the refresh token survived the bad instance"
    );
}

#[tokio::test]
async fn on_behalf_of_without_a_client_credential_is_a_clear_misconfiguration() {
    let idp = TestIdp::start().await.unwrap();
    let api = TestApp::start_api(
        &idp,
        |c| {
            msal_runtime::MsalConfig::builder()
                .client_id(DEFAULT_CLIENT_ID)
                .instance(idp.base_url())
                .tenant_id(idp.tenant().id)
                .graph_url(idp.graph_base_url())
                .public_url(
                    c.build()
                        .map(|c| c.public_url.unwrap().to_string())
                        .unwrap(),
                )
        },
        routes(),
    )
    .await;
    let response = bearer_get(
        &api,
        "/obo",
        &bearer_for_this_api(&idp, &["access_as_user"]),
    )
    .await;
    assert_eq!(response.status(), 500);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("MSAL_CLIENT_SECRET")
    );
}

#[tokio::test]
async fn on_behalf_of_is_cached_by_incoming_token_and_scopes() {
    let idp = TestIdp::start().await.unwrap();
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let body = sign_in_via(
        &idp,
        &idp.tenant().id,
        "alice@contoso.test",
        &format!("api://{DEFAULT_CLIENT_ID}/access_as_user"),
    )
    .await;
    let incoming = body["access_token"].as_str().unwrap();
    idp.reset_counts();
    let call = |path: &'static str| {
        let url = api.url(path);
        let incoming = incoming.to_owned();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(incoming)
                .send()
                .await
                .unwrap()
        }
    };
    let first = call("/obo").await.text().await.unwrap();
    let second = call("/obo").await.text().await.unwrap();
    assert_eq!(first, second);
    let claims = decode_unverified(&first).1;
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["oid"], idp.user("alice@contoso.test").unwrap().oid);
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "one exchange, then the cache"
    );
    let me: serde_json::Value = call("/obo/graph").await.json().await.unwrap();
    assert_eq!(me["displayName"], "Alice Example");
    assert_eq!(
        idp.requests(Endpoint::Token),
        1,
        "the Graph helper reuses the same OBO token"
    );
}

fn session_id(response: &reqwest::Response) -> String {
    let cookie = msal_tests::set_cookie(response, "msal_session").unwrap();
    cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

#[tokio::test]
async fn tokens_in_redis_survive_a_restart_without_a_token_request() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let r = redis.clone();
    let first = TestApp::start_routes(
        &idp,
        move |c| c.session_store(r).scopes("User.Read"),
        routes(),
    )
    .await;
    let browser = browser();
    app_sign_in(&browser, &first, "alice@contoso.test", "/").await;
    let token = browser
        .get(first.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    drop(first);
    let second = TestApp::start_routes(
        &idp,
        move |c| c.session_store(redis).scopes("User.Read"),
        routes(),
    )
    .await;
    idp.reset_counts();
    let again = browser
        .get(second.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(again, token);
    assert_eq!(idp.requests(Endpoint::Token), 0);
}

#[tokio::test]
async fn a_session_key_seals_tokens_in_redis_and_rotation_keeps_sessions() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let k1 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let k2 = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    assert!(SessionKey::parse(k1).is_ok());
    let r = redis.clone();
    let sealed = TestApp::start_routes(
        &idp,
        move |c| c.session_store(r).scopes("User.Read").session_key(k1),
        routes(),
    )
    .await;
    let browser = browser();
    let done = app_sign_in(&browser, &sealed, "alice@contoso.test", "/").await;
    let id = session_id(&done);
    let token = browser
        .get(sealed.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Everything the app keeps, under its namespace (sessions are named by a digest of
    // their id, so the record is found by what it holds).
    let values = msal_tests::redis_values(&redis, &format!("msal:{DEFAULT_CLIENT_ID}:*")).await;
    assert!(
        values.iter().any(|(_, v)| v.contains("Alice Example")),
        "the record is there: {values:?}"
    );
    assert!(
        values
            .iter()
            .all(|(k, v)| !k.contains(&id) && !v.contains(&id)),
        "no session id in Redis"
    );
    let raw: String = values.into_iter().map(|(_, v)| v).collect();
    let signature = token.rsplit('.').next().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    for secret in [&signature[..40], &payload[20..60]] {
        let at = raw.find(secret).unwrap_or(0);
        assert!(
            !raw.contains(secret),
            "no token text in Redis: {secret} in …{}…",
            &raw[at.saturating_sub(80)..(at + 80).min(raw.len())]
        );
    }
    drop(sealed);

    // Rotated: a new key seals, the old one still opens.
    let r = redis.clone();
    let rotated = TestApp::start_routes(
        &idp,
        move |c| {
            c.session_store(r)
                .scopes("User.Read")
                .session_key(k2)
                .session_old_keys(k1)
        },
        routes(),
    )
    .await;
    assert_eq!(
        browser
            .get(rotated.url("/token"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        token
    );
    let me = browser.get(rotated.url("/who")).send().await.unwrap();
    assert_eq!(me.status(), 200, "an old key still opens the session");
    drop(rotated);

    // Without the key that sealed it, the session reads as signed out, not as an error.
    let forgot = TestApp::start_routes(
        &idp,
        move |c| c.session_store(redis).scopes("User.Read").session_key(k2),
        routes(),
    )
    .await;
    let signed_out = browser
        .get(forgot.url("/token"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 401, "signed out, not an error");
    // The same for a route that only asks who the user is and never opens the vault.
    let me = browser
        .get(forgot.url("/who"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "a forgotten key signs out every route");
}
