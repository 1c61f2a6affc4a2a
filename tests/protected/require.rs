//! `Msal::require` over real HTTP: a `ServeDir` and a nested router behind a requirement,
//! answered exactly as a `#[msal_protected]` handler would be, and never reached when refused.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, TestIdp, TestUser};
use msal_runtime::{AuthRejection, Msal, Protection, msal_rule};
use msal_tests::{TestApp, app_sign_in, browser, sign_in};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::Layer as _;
use tower_http::services::ServeDir;

fn signed_in_rule() -> Protection {
    msal_rule!()
}

fn admin_rule() -> Protection {
    msal_rule!(roles = "Admin")
}

/// The group `members_rule` names.
const MEMBERS: &str = "4e4be450-0000-4000-8000-00000000e901";
const FILLER: [&str; 3] = [
    "f1110000-0000-4000-8000-00000000e901",
    "f1110000-0000-4000-8000-00000000e902",
    "f1110000-0000-4000-8000-00000000e903",
];

fn members_rule() -> Protection {
    msal_rule!(groups = "4e4be450-0000-4000-8000-00000000e901")
}

fn teapot(rejection: AuthRejection) -> Response {
    (
        StatusCode::IM_A_TEAPOT,
        format!("custom: {}", rejection.error()),
    )
        .into_response()
}

fn admin_or_teapot() -> Protection {
    msal_rule!(roles = "Admin", on_denied = teapot)
}

/// The directory served at `/files`; its parent holds this suite's sources.
const FILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/protected/files");

/// `/files` (any signed-in user) and `/admin` (admins), each behind a layer.
fn routes(msal: &Msal) -> Router {
    let admin = Router::new()
        .route("/", get(|| async { "admin home" }))
        .route("/report", get(|| async { "admin report" }))
        .route_layer(msal.require(admin_rule()));
    Router::new()
        .nest_service("/files", ServeDir::new(FILES))
        .route_layer(msal.require(signed_in_rule()))
        .nest("/admin", admin)
        .nest("/section", Router::new().route("/page", get(section_page)))
}

/// A protected handler in a nested router: its refusals see the whole path too.
#[msal_runtime::msal_protected]
async fn section_page() -> &'static str {
    "section page"
}

#[tokio::test]
async fn a_protected_handler_in_a_nested_router_sends_the_browser_back_to_the_whole_path() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp).await;
    let page = get_as(&browser(), &app, "/section/page?tab=2", "text/html", None).await;
    assert_eq!(page.status(), 302);
    assert_eq!(
        page.headers()["location"],
        "/auth/login?next=%2Fsection%2Fpage%3Ftab%3D2"
    );
    let alice = signed_in(&app, "alice@contoso.test").await;
    let served = get_as(&alice, &app, "/section/page", "text/html", None).await;
    assert_eq!(served.text().await.unwrap(), "section page");
}

async fn app(idp: &TestIdp) -> TestApp {
    TestApp::start_with_msal(idp, |c| c, Router::new(), routes).await
}

async fn signed_in(app: &TestApp, username: &str) -> reqwest::Client {
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, app, username, "/").await.status(),
        303
    );
    browser
}

/// A user's access token for this API, through a real code flow.
async fn token(idp: &TestIdp, username: &str) -> String {
    let scope = format!("openid api://{DEFAULT_CLIENT_ID}/access_as_user");
    sign_in(idp, username, &scope).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn get_as(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    accept: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = client.get(app.url(path)).header("accept", accept);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A GET with the path exactly as written (an HTTP client would resolve `..` and `%2e%2e`
/// first): the status and the whole response.
async fn raw_get(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    let host = app.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[tokio::test]
async fn files_send_a_browser_to_sign_in_and_answer_an_api_call_401() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp).await;
    let client = browser();
    let page = get_as(&client, &app, "/files/hello.txt", "text/html", None).await;
    assert_eq!(page.status(), 302);
    assert_eq!(
        page.headers()["location"],
        "/auth/login?next=%2Ffiles%2Fhello.txt"
    );
    let api = get_as(&client, &app, "/files/hello.txt", "application/json", None).await;
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["www-authenticate"], "Bearer");
    assert!(!api.text().await.unwrap().contains("hello from behind"));
    // A file that does not exist is refused the same way: nothing about the directory
    // is told to a caller who is not signed in.
    let missing = get_as(&client, &app, "/files/nope.txt", "application/json", None).await;
    assert_eq!(missing.status(), 401);
}

#[tokio::test]
async fn files_are_served_to_a_signed_in_user_and_a_valid_bearer_token() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp).await;
    let alice = signed_in(&app, "alice@contoso.test").await;
    let file = get_as(&alice, &app, "/files/hello.txt", "text/html", None).await;
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.text().await.unwrap(),
        "hello from behind msal.require\n"
    );
    let index = get_as(&alice, &app, "/files/", "text/html", None).await;
    assert_eq!(index.status(), 200);
    assert!(
        index
            .text()
            .await
            .unwrap()
            .contains("Protected files index")
    );

    let bearer = token(&idp, "alice@contoso.test").await;
    let api = reqwest::Client::new();
    let file = get_as(&api, &app, "/files/hello.txt", "*/*", Some(&bearer)).await;
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.text().await.unwrap(),
        "hello from behind msal.require\n"
    );
    let forged = get_as(&api, &app, "/files/hello.txt", "*/*", Some("not.a.jwt")).await;
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn a_path_out_of_the_served_directory_is_not_served() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp).await;
    let bearer = token(&idp, "alice@contoso.test").await;
    // The control: the same raw request reaches a file.
    let (status, response) = raw_get(&app, "/files/hello.txt", &bearer).await;
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("hello from behind msal.require"));
    for path in [
        "/files/../main.rs",
        "/files/../../Cargo.toml",
        "/files/%2e%2e/main.rs",
        "/files/%2E%2E/%2E%2E/Cargo.toml",
        "/files/%2e%2e%2fmain.rs",
        "/files/..%5cmain.rs",
    ] {
        let (status, response) = raw_get(&app, path, &bearer).await;
        assert!((400..500).contains(&status), "{path}: {status}\n{response}");
        assert!(
            !response.contains("mod require") && !response.contains("[package]"),
            "{path} served a file outside the directory:\n{response}"
        );
    }
}

#[tokio::test]
async fn a_nested_admin_router_admits_admins_only() {
    let idp = TestIdp::start().await.unwrap();
    let app = app(&idp).await;
    // Not signed in: the sign-in comes back to the path asked for, prefix included.
    let page = get_as(&browser(), &app, "/admin/report", "text/html", None).await;
    assert_eq!(page.status(), 302);
    assert_eq!(
        page.headers()["location"],
        "/auth/login?next=%2Fadmin%2Freport"
    );
    let alice = signed_in(&app, "alice@contoso.test").await;
    for path in ["/admin", "/admin/report"] {
        let refused = get_as(&alice, &app, path, "text/html", None).await;
        assert_eq!(refused.status(), 403, "{path}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("This needs the app role Admin."),
            "{path}"
        );
    }
    let bob = signed_in(&app, "bob@contoso.test").await;
    let ok = get_as(&bob, &app, "/admin/report", "text/html", None).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "admin report");
    assert_eq!(
        get_as(&bob, &app, "/admin", "text/html", None)
            .await
            .text()
            .await
            .unwrap(),
        "admin home"
    );
    // Bearer tokens: Alice's has no role.
    let api = reqwest::Client::new();
    let alice_token = token(&idp, "alice@contoso.test").await;
    let refused = get_as(
        &api,
        &app,
        "/admin/report",
        "application/json",
        Some(&alice_token),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("the app role Admin"),
        "{body}"
    );
    let bob_token = token(&idp, "bob@contoso.test").await;
    let ok = get_as(
        &api,
        &app,
        "/admin/report",
        "application/json",
        Some(&bob_token),
    )
    .await;
    assert_eq!(ok.status(), 200);
}

/// Olivia is a member among more groups than a token carries (limit 3); Mallory is in as
/// many groups, not that one.
async fn overage_idp() -> TestIdp {
    let user = |name: &str, display: &str, first: &str| {
        FILLER
            .iter()
            .fold(TestUser::new(name, display).group(first), |u, g| {
                u.group(*g)
            })
    };
    TestIdp::builder()
        .group_overage_limit(3)
        .user(user("olivia@contoso.test", "Olivia Member", MEMBERS))
        .user(user(
            "mallory@contoso.test",
            "Mallory Other",
            "b10cced0-0000-4000-8000-00000000e901",
        ))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_layer_naming_groups_resolves_overage_through_graph() {
    let idp = overage_idp().await;
    let app = TestApp::start_with_msal(
        &idp,
        |c| c,
        Router::new(),
        |msal| {
            Router::new()
                .route("/members", get(|| async { "members" }))
                .route_layer(msal.require(members_rule()))
        },
    )
    .await;
    let olivia = signed_in(&app, "olivia@contoso.test").await;
    idp.reset_counts();
    let ok = get_as(&olivia, &app, "/members", "application/json", None).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(idp.requests(Endpoint::Graph), 1, "Graph was asked");
    assert_eq!(
        get_as(&olivia, &app, "/members", "application/json", None)
            .await
            .status(),
        200
    );
    assert_eq!(
        idp.requests(Endpoint::Graph),
        1,
        "the answer is kept with the session"
    );
    let mallory = signed_in(&app, "mallory@contoso.test").await;
    let refused = get_as(&mallory, &app, "/members", "application/json", None).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(idp.requests(Endpoint::Graph), 2);
}

#[tokio::test]
async fn on_denied_builds_the_layers_refusals() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with_msal(
        &idp,
        |c| c,
        Router::new(),
        |msal| {
            Router::new()
                .route("/custom", get(|| async { "custom ok" }))
                .route_layer(msal.require(admin_or_teapot()))
        },
    )
    .await;
    let anonymous = get_as(&browser(), &app, "/custom", "text/html", None).await;
    assert_eq!(anonymous.status(), 418);
    assert!(anonymous.text().await.unwrap().starts_with("custom: "));
    let alice = signed_in(&app, "alice@contoso.test").await;
    let refused = get_as(&alice, &app, "/custom", "application/json", None).await;
    assert_eq!(refused.status(), 418);
    let text = refused.text().await.unwrap();
    assert!(text.contains("the app role Admin"), "{text}");
    let bob = signed_in(&app, "bob@contoso.test").await;
    let ok = get_as(&bob, &app, "/custom", "application/json", None).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "custom ok");
}

static INNER_CALLS: AtomicUsize = AtomicUsize::new(0);

/// A service that counts its calls.
async fn counted(_request: axum::extract::Request) -> Result<&'static str, Infallible> {
    INNER_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok("inner ran")
}

#[tokio::test]
async fn a_refused_request_never_reaches_the_inner_service() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with_msal(
        &idp,
        |c| c,
        Router::new(),
        |msal| {
            Router::new().nest_service(
                "/counted",
                msal.require(admin_rule()).layer(tower::service_fn(counted)),
            )
        },
    )
    .await;
    let before = INNER_CALLS.load(Ordering::SeqCst);
    let anonymous = browser();
    assert_eq!(
        get_as(&anonymous, &app, "/counted/x", "text/html", None)
            .await
            .status(),
        302
    );
    assert_eq!(
        get_as(&anonymous, &app, "/counted/x", "application/json", None)
            .await
            .status(),
        401
    );
    let alice = signed_in(&app, "alice@contoso.test").await;
    assert_eq!(
        get_as(&alice, &app, "/counted/x", "application/json", None)
            .await
            .status(),
        403
    );
    let alice_token = token(&idp, "alice@contoso.test").await;
    let api = reqwest::Client::new();
    assert_eq!(
        get_as(
            &api,
            &app,
            "/counted/x",
            "application/json",
            Some(&alice_token)
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        INNER_CALLS.load(Ordering::SeqCst),
        before,
        "no refused request reached the inner service"
    );
    let bob = signed_in(&app, "bob@contoso.test").await;
    let ok = get_as(&bob, &app, "/counted/x", "application/json", None).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "inner ran");
    assert_eq!(INNER_CALLS.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn a_layer_msal_layer_does_not_wrap_refuses_everyone() {
    let idp = TestIdp::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let msal = Msal::new(msal_tests::app_config(&idp, &base_url).build().unwrap())
        .await
        .unwrap();
    // The mistake: the files are added after `msal.layer()`, so it does not wrap them.
    let app = Router::new()
        .merge(msal.routes())
        .layer(msal.layer())
        .nest_service("/files", ServeDir::new(FILES))
        .route_layer(msal.require(signed_in_rule()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    for accept in ["application/json", "text/html"] {
        let response = client
            .get(format!("{base_url}/files/hello.txt"))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500, "{accept}");
        assert!(response.headers().get("location").is_none(), "{accept}");
        let text = response.text().await.unwrap();
        assert!(!text.contains("hello from behind"), "{accept}: {text}");
        assert!(text.contains(".layer(msal.layer())"), "{accept}: {text}");
    }
}
