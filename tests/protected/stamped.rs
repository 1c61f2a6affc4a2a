//! Handlers stamped out by one `macro_rules!` share a call site, so `#[msal_protected]`
//! gives them one guard id. With the same rule but different refusal builders, neither
//! registration can be trusted for the other: both refuse everyone (500), never answering
//! with the other handler's refusal.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use msal_runtime::AuthRejection;
use msal_runtime::testing::TestIdp;
use msal_tests::TestApp;

/// Refuses the way handler A wants: 403.
fn refuse_a(_: AuthRejection) -> (StatusCode, &'static str) {
    (StatusCode::FORBIDDEN, "refused by A")
}

/// Refuses the way handler B wants: a 200 page that says so (its own business).
fn refuse_b(_: AuthRejection) -> (StatusCode, &'static str) {
    (StatusCode::OK, "refused by B")
}

macro_rules! stamped {
    () => {
        #[msal_runtime::msal_protected(roles = "Nobody", on_denied = refuse)]
        pub async fn handler() -> &'static str {
            "the body ran"
        }
    };
}

mod a {
    use super::refuse_a as refuse;
    stamped!();
}

mod b {
    use super::refuse_b as refuse;
    stamped!();
}

#[tokio::test]
async fn two_refusal_builders_under_one_guard_id_refuse_everyone() {
    let idp = TestIdp::start().await.unwrap();
    let routes = Router::new()
        .route("/a", get(a::handler))
        .route("/b", get(b::handler));
    let app = TestApp::start_routes(&idp, |c| c, routes).await;
    for path in ["/a", "/b"] {
        let response = reqwest::Client::new()
            .get(app.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("no requirement is registered"),
            "{path}: {body}"
        );
        assert!(
            !body.contains("refused by") && !body.contains("body ran"),
            "{body}"
        );
    }
}
