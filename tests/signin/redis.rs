//! Sessions in Redis: shared by app instances, and a dead Redis is a 503, never a panic.
//! Needs Redis at `MSAL_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`): under `CI` these
//! tests fail without it; elsewhere they skip, loudly.

use std::time::Duration;

use msal_runtime::testing::TestIdp;
use msal_tests::relay::Relay;
use msal_tests::{TestApp, app_sign_in, browser, get_with_cookie, redis_url};

#[tokio::test]
async fn a_sign_in_on_one_instance_holds_on_another_and_sign_out_ends_both() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let r = redis.clone();
    let a = TestApp::start_with(&idp, move |c| c.session_store(r)).await;
    let b = TestApp::start_with(&idp, move |c| c.session_store(redis)).await;
    super::redis_deploy::share_a_sign_in(&a, &b, "alice@contoso.test").await;
}

#[tokio::test]
async fn a_flow_started_on_one_instance_completes_on_another() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let r = redis.clone();
    let a = TestApp::start_with(&idp, move |c| c.session_store(r)).await;
    // B claims A's public URL: behind a load balancer both answer for one address.
    let a_url = a.base_url.clone();
    let b = TestApp::start_with(&idp, move |c| c.session_store(redis).public_url(a_url)).await;
    let browser = browser();
    let callback = msal_tests::app_callback_url(&browser, &a, "bob@contoso.test", "/").await;
    let on_b = format!(
        "{}{}?{}",
        b.base_url,
        callback.path(),
        callback.query().unwrap()
    );
    assert_eq!(browser.get(on_b).send().await.unwrap().status(), 303);
    assert_eq!(a.who(&browser).await, "Bob Admin");
}

#[tokio::test]
async fn an_unreachable_redis_answers_503_not_a_panic() {
    let idp = TestIdp::start().await.unwrap();
    // Nothing listens on port 1.
    let app = TestApp::start_with(&idp, |c| c.session_store("redis://127.0.0.1:1")).await;
    let login = browser()
        .get(app.url("/auth/login"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 503);
    let body: serde_json::Value = login.json().await.unwrap();
    assert_eq!(body["title"], "Session store unavailable");
    // A request with a session cookie needs the store too.
    let me = get_with_cookie(&app.url("/me"), "msal_session=AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(me.status(), 503);
    // An app handler writing to the session gets a 503 from the layer, not a bare 500.
    let visit = reqwest::get(app.url("/visit")).await.unwrap();
    assert_eq!(visit.status(), 503);
    // Pages that need no session still work.
    assert_eq!(
        reqwest::get(app.url("/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "anonymous"
    );
}

#[tokio::test]
async fn losing_redis_mid_run_is_503_for_session_users_and_recovers_with_nothing_lost() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let relay = Relay::to(&redis).await;
    let idp = TestIdp::start().await.unwrap();
    let store = format!("redis://127.0.0.1:{}", relay.port);
    let app = TestApp::start_with(&idp, move |c| c.session_store(store)).await;
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    relay.cut();
    let me = browser
        .get(app.url("/me"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 503);
    let page = browser
        .get(app.url("/me"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Sessions cannot be read or saved right now")
    );
    // Redis comes back (on the same address): no restart, and the session saved before
    // the outage is still Alice's.
    let port = relay.port;
    drop(relay);
    let _back = Relay::on(&redis, port).await;
    let mut status = 0;
    for _ in 0..40 {
        let me = browser
            .get(app.url("/me"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        status = me.status().as_u16();
        if status == 200 {
            let me: serde_json::Value = me.json().await.unwrap();
            assert_eq!(me["preferred_username"], "alice@contoso.test");
            break;
        }
        assert_eq!(status, 503, "only 503 while reconnecting");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200, "recovered within 10 s");
}
