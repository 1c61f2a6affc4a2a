//! The example API's contract (DESIGN.md): what `cargo run --example api` serves.

use msal_runtime::testing::{TestIdp, TokenVersion};

use crate::common::{api, app_token, call, for_both_token_versions, idp, user_token};

for_both_token_versions!(routes_answer_by_scope_and_permission);

async fn routes_answer_by_scope_and_permission(version: TokenVersion) {
    let idp = idp(version).await;
    let app = api(&idp, |c| c).await;
    assert_eq!(
        reqwest::get(app.url("/health"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let anonymous = reqwest::get(app.url("/api/hello")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");

    let reader = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let writer = user_token(&idp, "bob@contoso.test", "Tasks.Read Tasks.Write").await;
    assert_eq!(call(&app, "/api/tasks", &reader).await.status(), 200);
    let denied = reqwest::Client::new()
        .post(app.url("/api/tasks"))
        .bearer_auth(&reader)
        .json(&serde_json::json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"Tasks.Write\""
    );
    let created = reqwest::Client::new()
        .post(app.url("/api/tasks"))
        .bearer_auth(&writer)
        .json(&serde_json::json!({"title": "write the API tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let tasks: serde_json::Value = call(&app, "/api/tasks", &reader)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tasks, serde_json::json!([{"title": "write the API tests"}]));
    let admin: serde_json::Value = call(&app, "/api/admin", &app_token(&idp).await)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admin["tasks"], 1);
}

#[tokio::test]
async fn an_api_serves_no_sign_in_routes_and_sets_no_cookies() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    assert_eq!(
        reqwest::get(app.url("/auth/login")).await.unwrap().status(),
        404
    );
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let response = call(&app, "/api/hello", &token).await;
    assert!(response.headers().get("set-cookie").is_none());
}
