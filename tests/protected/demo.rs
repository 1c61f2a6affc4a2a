//! The demo's contract (DESIGN.md): what `cargo run --example demo` serves.

use std::time::Duration;

use msal_runtime::testing::{DEFAULT_CLIENT_ID, Mint, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser, follow, navigate, sign_in};

async fn demo(idp: &TestIdp) -> TestApp {
    TestApp::start_with_msal(idp, |c| c, axum::Router::new(), msal_examples::demo::router).await
}

#[tokio::test]
async fn health_and_home_are_public() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    assert_eq!(
        reqwest::get(app.url("/health"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let home = reqwest::get(app.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Not signed in") && home.contains("/auth/login"));
}

#[tokio::test]
async fn me_unauthenticated_redirects_browsers_and_401s_apis() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let page = browser()
        .get(app.url("/me"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 302);
    assert_eq!(page.headers()["location"], "/auth/login?next=%2Fme");
    let api = browser()
        .get(app.url("/me"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn admin_admits_bob_and_refuses_alice() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let bob = browser();
    app_sign_in(&bob, &app, "bob@contoso.test", "/").await;
    let ok = bob.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<serde_json::Value>().await.unwrap()["greeting"],
        "welcome, Bob Admin"
    );
    let alice = browser();
    app_sign_in(&alice, &app, "alice@contoso.test", "/").await;
    let page = alice
        .get(app.url("/admin"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 403);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("This needs the app role Admin.")
    );
    let home = alice
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Alice Example") && home.contains("name=\"csrf_token\""));
}

#[tokio::test]
async fn graph_me_asks_for_consent_once_then_calls_graph() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let bob = browser();
    app_sign_in(&bob, &app, "bob@contoso.test", "/").await;
    let consent = bob
        .get(app.url("/graph/me"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 302);
    assert_eq!(
        consent.headers()["location"],
        "/auth/login?next=%2Fgraph%2Fme&scopes=User.Read"
    );
    // Through the IdP (its session signs Bob in silently) and back.
    let login = bob
        .get(app.url(consent.headers()["location"].to_str().unwrap()))
        .send()
        .await
        .unwrap();
    let at_idp = bob.get(msal_tests::location(&login)).send().await.unwrap();
    let back = bob.get(msal_tests::location(&at_idp)).send().await.unwrap();
    assert_eq!(back.headers()["location"], "/graph/me");
    let me: serde_json::Value = bob
        .get(app.url("/graph/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["displayName"], "Bob Admin");
    assert_eq!(me["userPrincipalName"], "bob@contoso.test");
}

#[tokio::test]
async fn the_profile_page_shows_the_claims_table() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let alice = browser();
    app_sign_in(&alice, &app, "alice@contoso.test", "/").await;
    let page = alice.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Alice Example</h1>"));
    assert!(
        html.contains("<tr><th>preferred_username</th><td>alice@contoso.test</td></tr>"),
        "{html}"
    );
}

/// The headline handler, `Json(user)`, gives the browser who the user is and nothing of the
/// protocol: no nonce, IdP session id, audience, issuer or token ids, and no claim twice.
#[tokio::test]
async fn me_serves_the_user_facing_fields_and_no_protocol_claims() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let bob = browser();
    app_sign_in(&bob, &app, "bob@contoso.test", "/").await;
    let me = app.me(&bob).await;
    let mut fields: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "email",
            "groups",
            "name",
            "oid",
            "preferred_username",
            "roles",
            "sub",
            "tid"
        ],
        "{me}"
    );
    assert_eq!(me["preferred_username"], "bob@contoso.test");
    assert_eq!(me["roles"], serde_json::json!(["Admin"]));
    assert_eq!(me["tid"], idp.tenant().id);
    // The protocol claims are still there for a handler that asks: the profile page shows
    // the IdP session id, on purpose.
    let profile = bob.get(app.url("/profile")).send().await.unwrap();
    assert!(profile.text().await.unwrap().contains("<tr><th>sid</th>"));
}

#[tokio::test]
async fn admin_audit_admits_an_admin_who_just_signed_in_and_refuses_alice() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let bob = browser();
    app_sign_in(&bob, &app, "bob@contoso.test", "/").await;
    let ok = bob.get(app.url("/admin/audit")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let audit: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(audit["viewer"], "Bob Admin");
    assert!(
        audit["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{audit}"
    );
    let alice = browser();
    app_sign_in(&alice, &app, "alice@contoso.test", "/").await;
    let page = navigate(&alice, &app.url("/admin/audit")).await;
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("the app role Admin"), "{html}");
}

#[tokio::test]
async fn admin_audit_asks_an_admin_whose_sign_in_is_older_than_five_minutes_to_sign_in_again() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let bob = browser();
    app_sign_in(&bob, &app, "bob@contoso.test", "/").await;
    // Bob's sign-in at the provider is ten minutes old; the app's session gets it again.
    idp.age_sign_in("bob@contoso.test", Duration::from_secs(600))
        .unwrap();
    app_sign_in(&bob, &app, "bob@contoso.test", "/").await;
    let step_up = navigate(&bob, &app.url("/admin/audit")).await;
    assert_eq!(step_up.status(), 302);
    let to = step_up.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/auth/login?") && to.contains("max_age=300"),
        "{to}"
    );
    // Through the provider, which authenticates Bob afresh, and back in.
    let back = follow(&bob, app.url(&to), 8).await;
    assert_eq!(back.status(), 200);
    assert!(back.text().await.unwrap().contains("\"events\""));

    // An API caller whose token's sign-in is old hears RFC 9470's error.
    let claims = idp
        .access_token_claims("bob@contoso.test", DEFAULT_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let stale = idp
        .mint(&Mint::new(claims.clone()).claim("auth_time", idp.now() - 600))
        .unwrap();
    let api = reqwest::Client::new();
    let refused = api
        .get(app.url("/admin/audit"))
        .bearer_auth(stale)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("max_age=\"300\""),
        "{challenge}"
    );
    let fresh = idp
        .mint(&Mint::new(claims).claim("auth_time", idp.now()))
        .unwrap();
    let ok = api
        .get(app.url("/admin/audit"))
        .bearer_auth(fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn files_are_for_signed_in_users_and_tokens() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let anonymous = browser();
    let page = navigate(&anonymous, &app.url("/files/hello.txt")).await;
    assert_eq!(page.status(), 302);
    assert_eq!(
        page.headers()["location"],
        "/auth/login?next=%2Ffiles%2Fhello.txt"
    );
    let api = anonymous
        .get(app.url("/files/hello.txt"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["www-authenticate"], "Bearer");

    let alice = browser();
    app_sign_in(&alice, &app, "alice@contoso.test", "/").await;
    let file = navigate(&alice, &app.url("/files/hello.txt")).await;
    assert_eq!(file.status(), 200);
    assert!(
        file.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        file.text()
            .await
            .unwrap()
            .starts_with("Hello from the msal-axum demo")
    );
    let index = navigate(&alice, &app.url("/files/")).await;
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("href=\"hello.txt\""));
    let home = navigate(&alice, &app.url("/")).await.text().await.unwrap();
    assert!(home.contains("href=\"/files/\"") && home.contains("href=\"/admin/audit\""));

    let token = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{DEFAULT_CLIENT_ID}/access_as_user"),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = reqwest::Client::new()
        .get(app.url("/files/hello.txt"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
}
