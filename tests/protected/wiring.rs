//! How an app is wired: a protected route that `msal.layer()` does not wrap fails closed,
//! and the answer says how to fix the order.

use axum::Router;
use axum::routing::get;
use msal_runtime::testing::TestIdp;
use msal_runtime::{Msal, msal_protected};

#[msal_protected]
async fn early() -> &'static str {
    "early"
}

#[msal_protected]
async fn late() -> &'static str {
    "late: must never be served"
}

#[tokio::test]
async fn a_route_added_after_the_layer_is_refused_with_the_order_to_fix() {
    let idp = TestIdp::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let msal = Msal::new(msal_tests::app_config(&idp, &base_url).build().unwrap())
        .await
        .unwrap();
    // The mistake: `.route` after `.layer`, so the layer does not wrap `/late`.
    let app = Router::new()
        .route("/early", get(early))
        .merge(msal.routes())
        .layer(msal.layer())
        .route("/late", get(late));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let wrapped = client
        .get(format!("{base_url}/early"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrapped.status(),
        401,
        "the layer is there for routes above it"
    );
    let late = client
        .get(format!("{base_url}/late"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 500);
    let body: serde_json::Value = late.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(".layer(msal.layer())"), "{detail}");
    assert!(
        detail.contains("added after") && detail.contains("only the routes added before"),
        "the message explains the order: {detail}"
    );
    // A browser gets the same refusal as a page, never the body.
    let page = client
        .get(format!("{base_url}/late"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 500);
    let html = page.text().await.unwrap();
    assert!(!html.contains("must never be served"));
    assert!(html.contains("added after"), "{html}");
}

#[tokio::test]
async fn sign_in_routes_the_layer_does_not_wrap_start_no_sign_in() {
    let idp = TestIdp::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = msal_tests::app_config(&idp, &base_url)
        .route_prefix("/signin")
        .build()
        .unwrap();
    let msal = Msal::new(config).await.unwrap();
    // The mistake: the sign-in routes merged after the layer. A sign-in started there
    // could never finish (its callback has no session), so none starts.
    let app = Router::new()
        .route("/early", get(early))
        .layer(msal.layer())
        .merge(msal.routes());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/signin/login", "/signin/callback?state=s&code=c"] {
        let response = client
            .get(format!("{base_url}{path}"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500, "{path}");
        assert!(response.headers().get("location").is_none(), "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(".layer(msal.layer())"), "{path}: {detail}");
    }
}

#[tokio::test]
async fn sign_in_routes_under_another_apps_layer_start_no_sign_in() {
    let idp = TestIdp::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let ours = Msal::new(msal_tests::app_config(&idp, &base_url).build().unwrap())
        .await
        .unwrap();
    let other = Msal::new(msal_tests::app_config(&idp, &base_url).build().unwrap())
        .await
        .unwrap();
    // The mistake: a session layer is there, but not this Msal's: its sessions would land
    // in a store and under cookie rules this app does not keep.
    let app = Router::new().merge(ours.routes()).layer(other.layer());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!("{base_url}/auth/login"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().get("location").is_none());
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(".layer(msal.layer())")
    );
}
