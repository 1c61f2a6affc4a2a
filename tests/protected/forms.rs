//! Each DSL form with users who pass and users who fail; the response table of DESIGN.md.

use msal_runtime::testing::{TestIdp, TestTenant, TestUser};
use msal_tests::{TestApp, app_sign_in, browser, location, param};
use tokio::sync::{Mutex, MutexGuard};

use crate::app::{routes, runs};

const FABRIKAM: &str = "0ddba11a-0000-4000-8000-000000000001";

/// Body counters are global: tests in this binary take turns so each count is exact.
static TURN: Mutex<()> = Mutex::const_new(());

struct Setup {
    _turn: MutexGuard<'static, ()>,
    idp: TestIdp,
    app: TestApp,
}

async fn setup() -> Setup {
    let turn = TURN.lock().await;
    let idp = TestIdp::builder()
        .tenant(TestTenant::new(FABRIKAM, "fabrikam.test"))
        .user(
            TestUser::new("carol@fabrikam.test", "Carol Fabrikam")
                .tenant(FABRIKAM)
                .role("Admin"),
        )
        .start()
        .await
        .unwrap();
    // Multi-tenant, with the tenants it trusts listed (its rules use app roles).
    let tenants = format!("{},{FABRIKAM}", idp.tenant().id);
    let app = TestApp::start_routes(
        &idp,
        |c| c.tenant_id("organizations").allowed_tenants(tenants),
        routes(),
    )
    .await;
    Setup {
        _turn: turn,
        idp,
        app,
    }
}

async fn signed_in_as(app: &TestApp, username: &str) -> reqwest::Client {
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, app, username, "/").await.status(),
        303
    );
    browser
}

/// GET as an API client (JSON): status and body.
async fn api_get(browser: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::Response {
    browser
        .get(app.url(path))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

async fn assert_allowed(browser: &reqwest::Client, app: &TestApp, path: &str, route: &str) {
    let before = runs(route);
    let response = api_get(browser, app, path).await;
    assert_eq!(response.status(), 200, "{path} should be allowed");
    assert_eq!(runs(route), before + 1, "the body of {route} ran once");
}

async fn assert_forbidden(browser: &reqwest::Client, app: &TestApp, path: &str, route: &str) {
    let before = runs(route);
    let response = api_get(browser, app, path).await;
    assert_eq!(response.status(), 403, "{path} should be forbidden");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(
        response.headers().get("www-authenticate").is_none(),
        "a 403 for roles carries no Bearer challenge"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 403);
    assert!(
        body["detail"].as_str().unwrap().starts_with("This needs "),
        "{body}"
    );
    assert_eq!(runs(route), before, "a denied body never runs ({route})");
}

#[tokio::test]
async fn nobody_signed_in_gets_a_redirect_or_a_401_and_no_body_runs() {
    let s = setup().await;
    let before = runs("signed_in");
    let page = browser()
        .get(s.app.url("/signed-in"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 302);
    assert_eq!(page.headers()["location"], "/auth/login?next=%2Fsigned-in");
    let api = api_get(&browser(), &s.app, "/signed-in").await;
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["www-authenticate"], "Bearer");
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    assert_eq!(runs("signed_in"), before);
}

#[tokio::test]
async fn any_signed_in_user_passes_the_bare_attribute() {
    let s = setup().await;
    for user in [
        "alice@contoso.test",
        "bob@contoso.test",
        "carol@fabrikam.test",
    ] {
        let b = signed_in_as(&s.app, user).await;
        assert_allowed(&b, &s.app, "/signed-in", "signed_in").await;
    }
}

#[tokio::test]
async fn roles_admit_only_holders_of_the_role() {
    let s = setup().await;
    let bob = signed_in_as(&s.app, "bob@contoso.test").await;
    let alice = signed_in_as(&s.app, "alice@contoso.test").await;
    assert_allowed(&bob, &s.app, "/admin", "admin").await;
    assert_forbidden(&alice, &s.app, "/admin", "admin").await;
    // A browser gets the 403 page, not a redirect: signing in again would not help.
    let page = alice
        .get(s.app.url("/admin"))
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
}

#[tokio::test]
async fn groups_admit_only_members() {
    let s = setup().await;
    assert_allowed(
        &signed_in_as(&s.app, "bob@contoso.test").await,
        &s.app,
        "/group",
        "group",
    )
    .await;
    assert_forbidden(
        &signed_in_as(&s.app, "alice@contoso.test").await,
        &s.app,
        "/group",
        "group",
    )
    .await;
}

#[tokio::test]
async fn tenants_admit_only_users_of_the_tenant() {
    let s = setup().await;
    assert_allowed(
        &signed_in_as(&s.app, "carol@fabrikam.test").await,
        &s.app,
        "/fabrikam-only",
        "fabrikam_only",
    )
    .await;
    assert_forbidden(
        &signed_in_as(&s.app, "bob@contoso.test").await,
        &s.app,
        "/fabrikam-only",
        "fabrikam_only",
    )
    .await;
}

#[tokio::test]
async fn app_permissions_never_admit_a_user_session() {
    let s = setup().await;
    // Bob holds roles, but app permissions belong to app-only tokens.
    assert_forbidden(
        &signed_in_as(&s.app, "bob@contoso.test").await,
        &s.app,
        "/app-only",
        "app_only",
    )
    .await;
}

#[tokio::test]
async fn any_admits_either_alternative() {
    let s = setup().await;
    assert_allowed(
        &signed_in_as(&s.app, "bob@contoso.test").await,
        &s.app,
        "/admin-or-fabrikam",
        "admin_or_fabrikam",
    )
    .await;
    assert_allowed(
        &signed_in_as(&s.app, "carol@fabrikam.test").await,
        &s.app,
        "/admin-or-fabrikam",
        "admin_or_fabrikam",
    )
    .await;
    assert_forbidden(
        &signed_in_as(&s.app, "alice@contoso.test").await,
        &s.app,
        "/admin-or-fabrikam",
        "admin_or_fabrikam",
    )
    .await;
}

#[tokio::test]
async fn not_inverts() {
    let s = setup().await;
    assert_allowed(
        &signed_in_as(&s.app, "alice@contoso.test").await,
        &s.app,
        "/not-admin",
        "not_admin",
    )
    .await;
    assert_forbidden(
        &signed_in_as(&s.app, "bob@contoso.test").await,
        &s.app,
        "/not-admin",
        "not_admin",
    )
    .await;
}

#[tokio::test]
async fn top_level_items_and_all_are_anded() {
    let s = setup().await;
    assert_allowed(
        &signed_in_as(&s.app, "bob@contoso.test").await,
        &s.app,
        "/admin-in-group-at-contoso",
        "admin_in_group_at_contoso",
    )
    .await;
    // Carol is an Admin, but at Fabrikam and in no group.
    assert_forbidden(
        &signed_in_as(&s.app, "carol@fabrikam.test").await,
        &s.app,
        "/admin-in-group-at-contoso",
        "admin_in_group_at_contoso",
    )
    .await;
    assert_forbidden(
        &signed_in_as(&s.app, "alice@contoso.test").await,
        &s.app,
        "/admin-in-group-at-contoso",
        "admin_in_group_at_contoso",
    )
    .await;
}

#[tokio::test]
async fn a_missing_scope_is_insufficient_scope_for_apis() {
    let s = setup().await;
    let alice = signed_in_as(&s.app, "alice@contoso.test").await;
    let before = runs("mail");
    let response = api_get(&alice, &s.app, "/mail").await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"Mail.Read Mail.Send\""
    );
    assert_eq!(runs("mail"), before);
}

#[tokio::test]
async fn a_missing_scope_sends_a_browser_through_incremental_consent() {
    let s = setup().await;
    let alice = signed_in_as(&s.app, "alice@contoso.test").await;
    let before = runs("graph");
    let denied = alice
        .get(s.app.url("/graph"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 302);
    assert_eq!(
        denied.headers()["location"],
        "/auth/login?next=%2Fgraph&scopes=User.Read"
    );
    assert_eq!(runs("graph"), before);

    // Follow it: the IdP session signs Alice in silently with the extra scope.
    let login = alice
        .get(s.app.url(denied.headers()["location"].to_str().unwrap()))
        .send()
        .await
        .unwrap();
    let authorize = location(&login);
    let scope = param(&authorize, "scope").unwrap();
    assert!(scope.split(' ').any(|x| x == "User.Read"), "{scope}");
    let at_idp = alice.get(authorize).send().await.unwrap();
    let back = alice.get(location(&at_idp)).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], "/graph");
    assert_allowed(&alice, &s.app, "/graph", "graph").await;
    // Consent accumulates: earlier grants stay.
    assert_allowed(&alice, &s.app, "/signed-in", "signed_in").await;
    let _ = &s.idp;
}

#[tokio::test]
async fn on_denied_builds_every_refusal() {
    let s = setup().await;
    let before = runs("custom_denied");
    let alice = signed_in_as(&s.app, "alice@contoso.test").await;
    let response = api_get(&alice, &s.app, "/custom-denied").await;
    assert_eq!(response.status(), 418);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .starts_with("custom: forbidden: This needs the app role Admin.")
    );
    let anonymous = api_get(&browser(), &s.app, "/custom-denied").await;
    assert_eq!(anonymous.status(), 418);
    assert_eq!(anonymous.text().await.unwrap(), "custom: sign-in required");
    assert_eq!(runs("custom_denied"), before);
    assert_allowed(
        &signed_in_as(&s.app, "bob@contoso.test").await,
        &s.app,
        "/custom-denied",
        "custom_denied",
    )
    .await;
}

#[tokio::test]
async fn every_handler_shape_works_and_is_guarded() {
    let s = setup().await;
    let bob = signed_in_as(&s.app, "bob@contoso.test").await;
    let alice = signed_in_as(&s.app, "alice@contoso.test").await;
    let text = |r: reqwest::Response| async move { r.text().await.unwrap() };
    assert_eq!(
        text(api_get(&bob, &s.app, "/with-state").await).await,
        "hello from state"
    );
    assert_eq!(
        text(api_get(&bob, &s.app, "/items/7?x=y").await).await,
        "7:y"
    );
    assert_eq!(text(api_get(&bob, &s.app, "/fallible").await).await, "fine");
    assert_eq!(api_get(&bob, &s.app, "/fallible?fail").await.status(), 400);
    assert_eq!(text(api_get(&bob, &s.app, "/generic").await).await, "0");
    for (path, route) in [
        ("/nested", "nested"),
        ("/associated", "associated"),
        ("/macro-before", "macro_before"),
        ("/macro-after", "macro_after"),
        ("/items/1", "with_path_and_query"),
    ] {
        assert_allowed(&bob, &s.app, path, route).await;
        assert_forbidden(&alice, &s.app, path, route).await;
    }
    let task = bob
        .post(s.app.url("/tasks"))
        .json(&serde_json::json!({"title": "write tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(task.status(), 200);
    assert_eq!(
        task.json::<serde_json::Value>().await.unwrap()["title"],
        "write tests"
    );
}

#[tokio::test]
async fn the_guard_runs_before_the_body_is_read() {
    let s = setup().await;
    let alice = signed_in_as(&s.app, "alice@contoso.test").await;
    let before = runs("json_body");
    // Not JSON at all: were the Json extractor first, this would be 400/415, not 403.
    let response = alice
        .post(s.app.url("/tasks"))
        .header("accept", "application/json")
        .header("content-type", "text/plain")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(runs("json_body"), before);
    let anonymous = browser()
        .post(s.app.url("/tasks"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "a POST is never redirected");
}
