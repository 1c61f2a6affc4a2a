//! `check = path::to_fn` over real HTTP: a resource-level decision by the app's own async
//! function. `Ok(false)` is 403; an error never lets the request through (`CheckError`
//! answers 503 in the caller's shape without its cause, another error answers as itself);
//! a check runs only when the rest of the rule leaves the outcome open.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use msal_runtime::testing::TestIdp;
use msal_runtime::{CheckError, User, msal_protected};
use msal_tests::{TestApp, app_only_token, app_sign_in, browser, navigate};

// Each counter belongs to one route and one test: the tests run side by side.
static OWNS_CHECKS: AtomicUsize = AtomicUsize::new(0);
static DOCUMENT_BODIES: AtomicUsize = AtomicUsize::new(0);
static UNLESS_BODIES: AtomicUsize = AtomicUsize::new(0);

/// Document 1 is alice's; 2 is someone else's; 99's store is down; 98 is an app error.
async fn owns(user: &User, parts: &mut Parts) -> Result<bool, Teapot> {
    OWNS_CHECKS.fetch_add(1, Ordering::SeqCst);
    let Path(id) = Path::<u32>::from_request_parts(parts, &())
        .await
        .map_err(|_| Teapot)?;
    match id {
        98 => Err(Teapot),
        _ => Ok(id == 1 && user.preferred_username.as_deref() == Some("alice@contoso.test")),
    }
}

/// The app's own error: answered as itself.
struct Teapot;

impl IntoResponse for Teapot {
    fn into_response(self) -> Response {
        (StatusCode::IM_A_TEAPOT, "the app's own answer").into_response()
    }
}

async fn store_lookup(_: &User, parts: &mut Parts) -> Result<bool, CheckError> {
    let Path(id) = Path::<u32>::from_request_parts(parts, &())
        .await
        .map_err(|e| CheckError::new(e.body_text()))?;
    if id == 99 {
        // `?` on any std error: the cause goes to the log only.
        let refused: Result<u32, std::io::Error> = Err(std::io::Error::other(
            "connection to db-7.internal:5432 refused (password=hunter2)",
        ));
        refused?;
    }
    Ok(true)
}

#[msal_protected(check = owns)]
async fn document(Path(id): Path<u32>) -> String {
    DOCUMENT_BODIES.fetch_add(1, Ordering::SeqCst);
    format!("document {id}")
}

#[msal_protected(check = store_lookup)]
async fn stored(Path(id): Path<u32>) -> String {
    format!("stored {id}")
}

/// Only `/shared` runs it, so its count is this test's alone.
static SHARED_CHECKS: AtomicUsize = AtomicUsize::new(0);

async fn shared_owner(user: &User, parts: &mut Parts) -> Result<bool, Teapot> {
    SHARED_CHECKS.fetch_add(1, Ordering::SeqCst);
    let Path(id) = Path::<u32>::from_request_parts(parts, &())
        .await
        .map_err(|_| Teapot)?;
    Ok(id == 1 && user.preferred_username.as_deref() == Some("alice@contoso.test"))
}

#[msal_protected(any(check = shared_owner, roles = "Admin"))]
async fn admin_or_owner(Path(id): Path<u32>) -> String {
    format!("shared {id}")
}

#[msal_protected(not(check = store_lookup))]
async fn unless_stored(Path(id): Path<u32>) -> String {
    UNLESS_BODIES.fetch_add(1, Ordering::SeqCst);
    format!("unless {id}")
}

/// An error type whose response is a 200: read as a success, it would show its text.
async fn stringly(_: &User, _: &mut Parts) -> Result<bool, String> {
    Err("connection to db-7.internal:5432 refused (password=hunter2)".to_owned())
}

#[msal_protected(check = stringly)]
async fn stringly_page() -> &'static str {
    "never"
}

/// An `on_denied` that prints the refusal's reason.
fn printed(rejection: msal_runtime::AuthRejection) -> Response {
    (
        StatusCode::FORBIDDEN,
        format!("refused: {}", rejection.error()),
    )
        .into_response()
}

#[msal_protected(check = store_lookup, on_denied = printed)]
async fn printed_page(Path(id): Path<u32>) -> String {
    format!("printed {id}")
}

fn routes() -> Router {
    Router::new()
        .route("/stringly", get(stringly_page))
        .route("/printed/{id}", get(printed_page))
        .route("/documents/{id}", get(document))
        .route("/stored/{id}", get(stored))
        .route("/shared/{id}", get(admin_or_owner))
        .route("/unless/{id}", get(unless_stored))
}

async fn json_get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn signed_in(idp: &TestIdp, app: &TestApp, user: &str) -> reqwest::Client {
    let browser = browser();
    assert_eq!(app_sign_in(&browser, app, user, "/").await.status(), 303);
    let _ = idp;
    browser
}

#[tokio::test]
async fn a_check_allows_refuses_and_answers_its_own_errors_and_a_refused_body_never_runs() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let alice = signed_in(&idp, &app, "alice@contoso.test").await;
    let bodies = DOCUMENT_BODIES.load(Ordering::SeqCst);
    assert_eq!(
        json_get(&alice, &app.url("/documents/1")).await,
        (200, "document 1".to_owned())
    );
    let (status, body) = json_get(&alice, &app.url("/documents/2")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("the check owns"), "{body}");
    assert_eq!(
        json_get(&alice, &app.url("/documents/98")).await,
        (418, "the app's own answer".to_owned())
    );
    // Bob owns nothing.
    let bob = signed_in(&idp, &app, "bob@contoso.test").await;
    assert_eq!(json_get(&bob, &app.url("/documents/1")).await.0, 403);
    // Nobody signed in: the check has no user to judge and never runs.
    let checked = OWNS_CHECKS.load(Ordering::SeqCst);
    let anonymous = reqwest::Client::new();
    assert_eq!(json_get(&anonymous, &app.url("/documents/1")).await.0, 401);
    assert_eq!(OWNS_CHECKS.load(Ordering::SeqCst), checked);
    assert_eq!(
        DOCUMENT_BODIES.load(Ordering::SeqCst) - bodies,
        1,
        "only the allowed body ran"
    );
}

#[tokio::test]
async fn a_check_error_is_503_in_the_callers_shape_and_never_shows_its_cause() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let alice = signed_in(&idp, &app, "alice@contoso.test").await;
    assert_eq!(json_get(&alice, &app.url("/stored/5")).await.0, 200);
    let api = alice
        .get(app.url("/stored/99"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 503);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    assert!(api.headers().contains_key("retry-after"));
    let body = api.text().await.unwrap();
    assert!(
        !body.contains("hunter2") && !body.contains("db-7"),
        "{body}"
    );
    let page = navigate(&alice, &app.url("/stored/99")).await;
    assert_eq!(page.status(), 503);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = page.text().await.unwrap();
    assert!(!body.contains("hunter2"), "{body}");
    // not(failed check) is still refused: a failure is Unknown, not Deny.
    let bodies = UNLESS_BODIES.load(Ordering::SeqCst);
    assert_eq!(json_get(&alice, &app.url("/unless/99")).await.0, 503);
    assert_eq!(json_get(&alice, &app.url("/unless/5")).await.0, 403);
    assert_eq!(UNLESS_BODIES.load(Ordering::SeqCst), bodies);
}

#[tokio::test]
async fn a_check_runs_only_when_the_rest_of_the_rule_leaves_the_outcome_open() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let bob = signed_in(&idp, &app, "bob@contoso.test").await;
    let alice = signed_in(&idp, &app, "alice@contoso.test").await;
    let before = SHARED_CHECKS.load(Ordering::SeqCst);
    assert_eq!(
        json_get(&bob, &app.url("/shared/2")).await.0,
        200,
        "an admin"
    );
    assert_eq!(
        SHARED_CHECKS.load(Ordering::SeqCst),
        before,
        "an admin's request never runs the check"
    );
    assert_eq!(
        json_get(&alice, &app.url("/shared/1")).await,
        (200, "shared 1".to_owned())
    );
    assert_eq!(json_get(&alice, &app.url("/shared/2")).await.0, 403);
    assert_eq!(
        SHARED_CHECKS.load(Ordering::SeqCst) - before,
        2,
        "once per request that needs it"
    );
}

#[tokio::test]
async fn an_app_only_token_is_denied_without_running_a_check() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_api(&idp, |c| c, routes()).await;
    let token = &app_only_token(&idp).await;
    let response = reqwest::Client::new()
        .get(app.url("/stored/99"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "denied, not 503: the check never ran"
    );
}

#[tokio::test]
async fn a_check_error_that_answers_like_a_success_is_refused_and_its_cause_shown_nowhere() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let alice = signed_in(&idp, &app, "alice@contoso.test").await;
    let (status, body) = json_get(&alice, &app.url("/stringly")).await;
    assert_eq!(status, 503, "{body}");
    assert!(!body.contains("hunter2") && body != "never", "{body}");
    // Through an on_denied that prints the reason, the cause stays in the log too.
    assert_eq!(
        json_get(&alice, &app.url("/printed/5")).await,
        (200, "printed 5".to_owned())
    );
    let (status, body) = json_get(&alice, &app.url("/printed/99")).await;
    assert_eq!(status, 403);
    assert!(
        body.starts_with("refused: ") && !body.contains("hunter2"),
        "{body}"
    );
}
