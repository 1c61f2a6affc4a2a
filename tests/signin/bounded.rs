//! The memory store under a flood of sign-ins nobody finishes: it stays within its cap, the
//! oldest pending sign-ins go first, and signed-in users stay signed in.

use msal_runtime::testing::TestIdp;
use msal_tests::{TestApp, app_callback_url, app_sign_in, browser};

#[tokio::test]
async fn strangers_starting_sign_ins_evict_only_the_oldest_pending_ones() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, |c| c.memory_sessions_max(100)).await;
    let alice = browser();
    assert_eq!(
        app_sign_in(&alice, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    // Bob starts a sign-in, then strangers start a thousand more and finish none.
    let bob = browser();
    let bobs_callback = app_callback_url(&bob, &app, "bob@contoso.test", "/").await;
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (stranger, url) = (stranger.clone(), app.url("/auth/login"));
        flood.spawn(async move {
            for _ in 0..125 {
                let r = stranger.get(&url).send().await.unwrap();
                assert_eq!(r.status(), 302, "every stranger is sent to sign in");
            }
        });
    }
    while let Some(done) = flood.join_next().await {
        done.unwrap();
    }
    // Alice, on her phone, starts after the flood: hers is among the newest and completes.
    let phone = browser();
    assert_eq!(
        app_sign_in(&phone, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    assert_eq!(app.who(&phone).await, "Alice Example");
    // Bob's was among the oldest: it made room, and he is told to start again.
    let late = bob.get(bobs_callback).send().await.unwrap();
    assert_eq!(late.status(), 400);
    assert!(
        late.text()
            .await
            .unwrap()
            .contains("Unknown or used sign-in"),
        "Bob learns his sign-in is gone"
    );
    assert_eq!(app.who(&bob).await, "anonymous");
    // Alice signed in before it all and still is: sessions are never evicted for flows.
    assert_eq!(app.who(&alice).await, "Alice Example");
}
