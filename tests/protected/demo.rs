//! The demo's contract (DESIGN.md): what `cargo run --example demo` serves.

use msal_runtime::testing::TestIdp;
use msal_tests::{TestApp, app_sign_in, browser};

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
