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

#[tokio::test]
async fn a_sign_in_request_too_large_to_keep_is_refused_and_stores_nothing() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, |c| c.memory_sessions_max(100)).await;
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let scopes = vec!["api://x/Scope.Name"; 400].join(" ");
    // (A long `next` is already cut to `/` by the sanitiser: 2 KiB at most.)
    let r = stranger
        .get(app.url("/auth/login"))
        .query(&[("scopes", scopes.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("set-cookie").is_none(), "no flow cookie");
    let body = r.text().await.unwrap();
    assert!(body.contains("at most 4096"), "{body}");
    // An ordinary sign-in still starts.
    let ok = stranger
        .get(app.url("/auth/login?next=/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 302);
}
