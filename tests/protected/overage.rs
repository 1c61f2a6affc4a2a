//! Three-valued rules over real HTTP: group overage resolved through Microsoft Graph (for
//! sessions and bearer tokens), and what cannot be determined refused, `not(...)` included.

use axum::Router;
use axum::routing::get;
use msal_runtime::msal_protected;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Endpoint, Fault, Mint, TestIdp, TestUser};
use msal_tests::{TestApp, app_sign_in, browser};
use serde_json::Value;

const BLOCKED: &str = "b10cced0-0000-4000-8000-000000000001";
const MEMBERS: &str = "4e4be450-0000-4000-8000-000000000002";
/// Groups that push a user past the overage limit below.
const FILLER: [&str; 3] = [
    "f1110000-0000-4000-8000-000000000001",
    "f1110000-0000-4000-8000-000000000002",
    "f1110000-0000-4000-8000-000000000003",
];

#[msal_protected(not(groups = "b10cced0-0000-4000-8000-000000000001"))]
async fn not_blocked() -> &'static str {
    "not blocked"
}

#[msal_protected(groups = "4e4be450-0000-4000-8000-000000000002")]
async fn members_only() -> &'static str {
    "members"
}

#[msal_protected(any(roles = "Admin", not(groups = "b10cced0-0000-4000-8000-000000000001")))]
async fn admin_or_not_blocked() -> &'static str {
    "either"
}

fn routes() -> Router {
    Router::new()
        .route("/not-blocked", get(not_blocked))
        .route("/members", get(members_only))
        .route("/admin-or-not-blocked", get(admin_or_not_blocked))
}

fn user(name: &str, display: &str, first: &str) -> TestUser {
    FILLER
        .iter()
        .fold(TestUser::new(name, display).group(first), |u, g| {
            u.group(*g)
        })
}

/// Mallory is in the blocked group and Olivia in the members' group, each among more
/// groups than a token carries (limit 3); Una is in one group, carried in her token;
/// Alice is in none, so her token has no `groups` claim.
async fn idp() -> TestIdp {
    TestIdp::builder()
        .group_overage_limit(3)
        .user(user("mallory@contoso.test", "Mallory Blocked", BLOCKED))
        .user(user("olivia@contoso.test", "Olivia Member", MEMBERS))
        .user(TestUser::new("una@contoso.test", "Una One").group(FILLER[0]))
        .start()
        .await
        .unwrap()
}

async fn app(idp: &TestIdp) -> TestApp {
    TestApp::start_routes(idp, |c| c, routes()).await
}

async fn signed_in(app: &TestApp, username: &str) -> reqwest::Client {
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, app, username, "/").await.status(),
        303
    );
    browser
}

async fn fetch(browser: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = browser
        .get(app.url(path))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_overage_marker_is_resolved_through_graph_for_a_session() {
    let idp = idp().await;
    let app = app(&idp).await;
    // The token really carries the marker, not the groups.
    let claims = idp
        .id_token_claims("mallory@contoso.test", DEFAULT_CLIENT_ID, None)
        .unwrap();
    assert!(claims.get("groups").is_none() && claims.contains_key("_claim_names"));

    let mallory = signed_in(&app, "mallory@contoso.test").await;
    idp.reset_counts();
    // Before: not(groups = blocked) let her in, because "not in the token" was "not a member".
    let (status, body) = fetch(&mallory, &app, "/not-blocked").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(idp.requests(Endpoint::Graph), 1, "Graph was asked");
    let (status, _) = fetch(&mallory, &app, "/admin-or-not-blocked").await;
    assert_eq!(status, 403);
    assert_eq!(fetch(&mallory, &app, "/members").await.0, 403);
    // The answer is kept with the session: Graph is not asked again.
    assert_eq!(idp.requests(Endpoint::Graph), 1);

    let olivia = signed_in(&app, "olivia@contoso.test").await;
    assert_eq!(fetch(&olivia, &app, "/members").await.0, 200);
    assert_eq!(fetch(&olivia, &app, "/not-blocked").await.0, 200);
}

#[tokio::test]
async fn what_graph_cannot_answer_is_refused_never_allowed() {
    let idp = idp().await;
    let app = app(&idp).await;
    let olivia = signed_in(&app, "olivia@contoso.test").await;
    let mallory = signed_in(&app, "mallory@contoso.test").await;
    let cases = [
        (&mallory, "/not-blocked"),
        (&mallory, "/admin-or-not-blocked"),
        (&olivia, "/members"),
        (&olivia, "/not-blocked"),
    ];
    // Graph refuses (here: 403, as without the permission): the memberships stay unknown.
    idp.set_fault(Endpoint::Graph, Fault::status(403));
    for (browser, path) in cases {
        let (status, body) = fetch(browser, &app, path).await;
        assert_eq!(status, 403, "{path}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["title"], "Access cannot be decided", "{path}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("could not be looked up"), "{detail}");
        assert!(
            !detail.contains(BLOCKED) && !detail.contains(MEMBERS),
            "{detail}"
        );
    }
    // Graph is down: an outage, answered as one (503, try again), and still never a pass.
    idp.set_fault(Endpoint::Graph, Fault::status(503));
    for (browser, path) in cases {
        let (status, body) = fetch(browser, &app, path).await;
        assert_eq!(status, 503, "{path}: {body}");
    }
    // Once Graph answers, the same sessions are judged on the facts.
    idp.clear_faults();
    assert_eq!(fetch(&olivia, &app, "/members").await.0, 200);
    assert_eq!(fetch(&mallory, &app, "/not-blocked").await.0, 403);
}

#[tokio::test]
async fn without_a_groups_claim_graph_is_asked_and_otherwise_nothing_is_decided() {
    let idp = idp().await;
    let app = app(&idp).await;
    // Alice is in no group, so her token has no `groups`: Graph says she is in none.
    let alice = signed_in(&app, "alice@contoso.test").await;
    idp.reset_counts();
    assert_eq!(fetch(&alice, &app, "/not-blocked").await.0, 200);
    assert_eq!(fetch(&alice, &app, "/members").await.0, 403);
    assert_eq!(
        idp.requests(Endpoint::Graph),
        1,
        "asked once, kept with the session"
    );
    // A new session while Graph refuses: neither in nor out of a group.
    let again = signed_in(&app, "alice@contoso.test").await;
    idp.set_fault(Endpoint::Graph, Fault::status(403));
    let (status, body) = fetch(&again, &app, "/not-blocked").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("no 'groups' claim"), "{body}");
    idp.clear_faults();
    // Una's token carries her one group: judged without Graph.
    let una = signed_in(&app, "una@contoso.test").await;
    idp.reset_counts();
    assert_eq!(fetch(&una, &app, "/not-blocked").await.0, 200);
    assert_eq!(fetch(&una, &app, "/members").await.0, 403);
    assert_eq!(idp.requests(Endpoint::Graph), 0);
}

/// A bearer token for this API with the overage marker, as Entra issues one.
fn bearer(idp: &TestIdp, username: &str) -> String {
    let claims = idp
        .access_token_claims(username, DEFAULT_CLIENT_ID, &["access_as_user"])
        .unwrap();
    assert!(claims.contains_key("_claim_names"), "{claims:?}");
    idp.mint(&Mint::new(claims)).unwrap()
}

#[tokio::test]
async fn a_bearer_tokens_overage_is_resolved_on_behalf_of_its_user_once_per_token() {
    let idp = idp().await;
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let call = |token: String, path: &'static str| {
        let url = api.url(path);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let mallory = bearer(&idp, "mallory@contoso.test");
    let olivia = bearer(&idp, "olivia@contoso.test");
    idp.reset_counts();
    assert_eq!(call(mallory.clone(), "/not-blocked").await, 403);
    assert_eq!(call(olivia.clone(), "/members").await, 200);
    assert_eq!(
        idp.requests(Endpoint::Token),
        2,
        "one on-behalf-of exchange each"
    );
    assert_eq!(idp.requests(Endpoint::Graph), 2);
    // Kept with the validated token: asked once per token.
    assert_eq!(call(mallory.clone(), "/not-blocked").await, 403);
    assert_eq!(call(olivia, "/not-blocked").await, 200);
    assert_eq!(idp.requests(Endpoint::Graph), 2);
    // A fresh token while Graph refuses cannot be decided: refused.
    idp.set_fault(Endpoint::Graph, Fault::status(403));
    let again = idp
        .mint(
            &Mint::new(
                idp.access_token_claims(
                    "olivia@contoso.test",
                    DEFAULT_CLIENT_ID,
                    &["access_as_user"],
                )
                .unwrap(),
            )
            .claim("uti", "another-token"),
        )
        .unwrap();
    assert_eq!(call(again, "/members").await, 403);
}
