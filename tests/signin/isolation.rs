//! Sessions belong to the app that made them, and single-use records are used once: apps
//! sharing a Redis, staging beside production, a tenant no longer allowed, concurrent
//! callbacks, what Redis holds at rest, and the front-channel index's lifetime and issuer.
//! The Redis cases need Redis at `MSAL_TEST_REDIS_URL` (see `redis_url`).

use std::time::Duration;

use msal_runtime::testing::{DEFAULT_TENANT_ID, TestClient, TestIdp, TestTenant, TestUser};
use msal_tests::{
    TestApp, app_callback_url, app_sign_in, browser, get_with_cookie, redis_url, redis_values,
    session_cookie,
};

const OTHER_APP: &str = "22222222-0000-4000-8000-00000000000b";
const FABRIKAM: &str = "0ddba11a-0000-4000-8000-000000000001";

/// What `/me` answers to a request carrying exactly this cookie.
async fn me_status(app: &TestApp, cookie: &str) -> u16 {
    get_with_cookie(&app.url("/me"), cookie)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn two_apps_with_different_client_ids_on_one_redis_never_share_a_session() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = TestIdp::builder()
        .client(
            TestClient::new(OTHER_APP)
                .secret("other-secret")
                .redirect_uri("http://127.0.0.1/auth/callback"),
        )
        .start()
        .await
        .unwrap();
    let r = redis.clone();
    let a = TestApp::start_with(&idp, move |c| c.session_store(r)).await;
    let b = TestApp::start_with(&idp, move |c| {
        c.session_store(redis)
            .client_id(OTHER_APP)
            .client_secret("other-secret")
    })
    .await;
    let signed_in = app_sign_in(&browser(), &a, "alice@contoso.test", "/").await;
    assert_eq!(signed_in.status(), 303);
    let cookie = session_cookie(&signed_in);
    assert_eq!(me_status(&a, &cookie).await, 200);
    // App B reads the same Redis and the same cookie: Alice is nobody there.
    assert_eq!(me_status(&b, &cookie).await, 401);
    assert_eq!(me_status(&a, &cookie).await, 200, "A is unaffected");
}

#[tokio::test]
async fn staging_and_production_behind_one_client_id_never_share_a_session() {
    let Some(redis) = redis_url().await else {
        return;
    };
    // Two providers (two issuers), one client id, one Redis: the records share a namespace,
    // so only the record's binding to its issuer keeps them apart.
    let production = TestIdp::start().await.unwrap();
    let staging = TestIdp::start().await.unwrap();
    let r = redis.clone();
    let prod = TestApp::start_with(&production, move |c| c.session_store(r)).await;
    let stage = TestApp::start_with(&staging, move |c| c.session_store(redis)).await;
    let signed_in = app_sign_in(&browser(), &stage, "bob@contoso.test", "/").await;
    assert_eq!(signed_in.status(), 303);
    let cookie = session_cookie(&signed_in);
    assert_eq!(me_status(&stage, &cookie).await, 200);
    assert_eq!(
        me_status(&prod, &cookie).await,
        401,
        "a staging sign-in is nobody in production"
    );
}

#[tokio::test]
async fn a_session_of_a_tenant_no_longer_allowed_reads_as_signed_out() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = TestIdp::builder()
        .tenant(TestTenant::new(FABRIKAM, "fabrikam.test"))
        .user(TestUser::new("dave@fabrikam.test", "Dave Fabrikam").tenant(FABRIKAM))
        .start()
        .await
        .unwrap();
    let both = format!("{DEFAULT_TENANT_ID},{FABRIKAM}");
    let r = redis.clone();
    let before = TestApp::start_with(&idp, move |c| {
        c.tenant_id("organizations")
            .allowed_tenants(both)
            .session_store(r)
    })
    .await;
    let signed_in = app_sign_in(&browser(), &before, "dave@fabrikam.test", "/").await;
    assert_eq!(signed_in.status(), 303);
    let cookie = session_cookie(&signed_in);
    assert_eq!(me_status(&before, &cookie).await, 200);
    // The same app, redeployed trusting Contoso only: Dave's session is over.
    let after = TestApp::start_with(&idp, move |c| {
        c.tenant_id("organizations")
            .allowed_tenants(DEFAULT_TENANT_ID)
            .session_store(redis)
    })
    .await;
    assert_eq!(me_status(&after, &cookie).await, 401);
}

/// Eight browsers-worth of the same callback at once: one sign-in, seven refusals, and one
/// code redemption (the provider's codes are single use too, so the count is what shows
/// the flow itself was taken once).
async fn eight_callbacks_at_once(idp: &TestIdp, app: &TestApp) {
    let browser = browser();
    let callback = app_callback_url(&browser, app, "alice@contoso.test", "/").await;
    idp.reset_counts();
    let mut all = tokio::task::JoinSet::new();
    for _ in 0..8 {
        all.spawn(browser.get(callback.clone()).send());
    }
    let statuses = msal_tests::statuses_of(all).await;
    assert_eq!(
        statuses,
        [303, 400, 400, 400, 400, 400, 400, 400],
        "{statuses:?}"
    );
    assert_eq!(
        idp.requests(msal_runtime::testing::Endpoint::Token),
        1,
        "the flow was taken once: one code redemption"
    );
}

// Several worker threads, so the eight callbacks really run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callbacks_of_one_sign_in_complete_it_once_in_memory() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    eight_callbacks_at_once(&idp, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callbacks_of_one_sign_in_complete_it_once_in_redis() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, move |c| c.session_store(redis)).await;
    eight_callbacks_at_once(&idp, &app).await;
}

#[tokio::test]
async fn with_a_session_key_redis_holds_no_verifier_nonce_session_id_or_token() {
    let Some(redis) = redis_url().await else {
        return;
    };
    // A client of its own, so this test's namespace holds only its records.
    let client = format!("33333333-0000-4000-8000-{:012x}", rand::random::<u32>());
    let idp = TestIdp::builder()
        .client(
            TestClient::new(client.clone())
                .secret("s3cret")
                .redirect_uri("http://127.0.0.1/auth/callback"),
        )
        .start()
        .await
        .unwrap();
    let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let (id, r) = (client.clone(), redis.clone());
    let app = TestApp::start_with(&idp, move |c| {
        c.session_store(r)
            .client_id(id)
            .client_secret("s3cret")
            .session_key(key)
    })
    .await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    // The authorize request showed the nonce; the flow in Redis must not.
    let namespace = format!("msal:{client}:*");
    let pending = redis_values(&redis, &namespace).await;
    assert_eq!(pending.len(), 1, "one pending sign-in: {pending:?}");
    let flow = &pending[0].1;
    for plain in ["nonce", "pkce", "verifier", "redirect_uri", "\"next\""] {
        assert!(
            !flow.contains(plain),
            "the flow is sealed, yet shows {plain}: {flow}"
        );
    }
    let signed_in = browser.get(callback).send().await.unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = session_cookie(&signed_in);
    let session_id = cookie.split_once('=').unwrap().1.to_owned();
    let held = redis_values(&redis, &namespace).await;
    assert!(!held.is_empty());
    for (name, value) in &held {
        assert!(
            !name.contains(&session_id) && !value.contains(&session_id),
            "{name}"
        );
        assert!(
            !msal_tests::contains_jwt(value),
            "{name} holds a token: {value}"
        );
    }
}

/// The provider's front-channel sign-out of `sid`, as if sent by `iss`.
async fn front_channel_sign_out(
    browser: &reqwest::Client,
    app: &TestApp,
    sid: &str,
    iss: &str,
) -> reqwest::Response {
    browser
        .get(app.url("/auth/signout-oidc"))
        .query(&[("sid", sid), ("iss", iss)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_front_channel_index_lives_as_long_as_the_session_it_names() {
    for redis in [None, redis_url().await] {
        let idp = TestIdp::start().await.unwrap();
        let store = redis.clone();
        let app = TestApp::start_with(&idp, move |c| {
            let c = c.session_lifetime(Duration::from_secs(3));
            match store {
                Some(url) => c.session_store(url),
                None => c,
            }
        })
        .await;
        let browser = browser();
        assert_eq!(
            app_sign_in(&browser, &app, "alice@contoso.test", "/")
                .await
                .status(),
            303
        );
        let sid = app.me(&browser).await["sid"].as_str().unwrap().to_owned();
        // Each visit writes to the session, so it lives on past its first three seconds.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            assert_eq!(
                browser
                    .get(app.url("/visit"))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
        assert_eq!(app.who(&browser).await, "Alice Example", "still signed in");
        // The provider signs her out: the index still names the session.
        let out = front_channel_sign_out(&browser, &app, &sid, &idp.issuer()).await;
        assert_eq!(out.status(), 200);
        assert_eq!(
            app.who(&browser).await,
            "anonymous",
            "ended (store: {})",
            if redis.is_some() { "redis" } else { "memory" }
        );
    }
}

#[tokio::test]
async fn a_front_channel_sign_out_from_another_issuer_ends_nothing() {
    let idp = TestIdp::builder()
        .tenant(TestTenant::new(FABRIKAM, "fabrikam.test"))
        .start()
        .await
        .unwrap();
    let both = format!("{DEFAULT_TENANT_ID},{FABRIKAM}");
    let app = TestApp::start_with(&idp, move |c| {
        c.tenant_id("organizations").allowed_tenants(both)
    })
    .await;
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    let sid = app.me(&browser).await["sid"].as_str().unwrap().to_owned();
    // Fabrikam's issuer fits the multi-tenant template, but did not sign Alice in.
    let fabrikam = front_channel_sign_out(&browser, &app, &sid, &idp.issuer_for(FABRIKAM)).await;
    assert_eq!(fabrikam.status(), 200);
    assert_eq!(app.who(&browser).await, "Alice Example");
    // An issuer outside the template is refused outright.
    let evil = front_channel_sign_out(&browser, &app, &sid, "https://evil.test/v2.0").await;
    assert_eq!(evil.status(), 400);
    assert_eq!(app.who(&browser).await, "Alice Example");
    // Her own issuer ends it.
    let own = front_channel_sign_out(&browser, &app, &sid, &idp.issuer()).await;
    assert_eq!(own.status(), 200);
    assert_eq!(app.who(&browser).await, "anonymous");
}
