//! A thousand people signing in at the same moment: every browser gets a session of its own
//! and only ever sees its own user, never someone else's. Proved on one app instance with the
//! in-memory store, and on two instances sharing one Redis store, with each browser's requests
//! alternating between them.
//!
//! Every browser is a separate client with its own cookie jar, talking real HTTP on loopback
//! to the app and to TestIdp. All 1,000 sign-ins are released together by a barrier, so they
//! are all in flight at once; the checks afterwards run all at once too.
//!
//! The Redis test needs Redis at `MSAL_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`):
//! under `CI` it fails without it; elsewhere it skips, loudly.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use msal_runtime::testing::{TestIdp, TestUser};
use msal_tests::{TestApp, app_sign_in, browser, redis_url, set_cookie};
use tokio::sync::{Barrier, Mutex};
use tokio::task::JoinSet;

/// How many people sign in at once.
const USERS: usize = 1_000;

/// The two tests here take turns. Each already loads the machine fully; run side by side on
/// a small machine, they measure the machine rather than the library.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A browser that has signed in, and the session cookie the callback gave it.
struct SignedIn {
    browser: reqwest::Client,
    cookie: String,
}

/// A TestIdp that knows `USERS` people made for this test, besides Alice and Bob. Each has
/// their own `preferred_username`, hence their own oid.
async fn idp_with_many_users() -> (TestIdp, Arc<Vec<TestUser>>) {
    let users: Vec<TestUser> = (0..USERS)
        .map(|i| TestUser::new(format!("user{i:04}@contoso.test"), format!("Load User {i}")))
        .collect();
    let oids: HashSet<&str> = users.iter().map(|u| u.oid.as_str()).collect();
    assert_eq!(
        oids.len(),
        USERS,
        "every test user needs an oid of their own"
    );
    let idp = users
        .iter()
        .fold(TestIdp::builder(), |builder, user| {
            builder.user(user.clone())
        })
        .start()
        .await
        .unwrap();
    (idp, Arc::new(users))
}

/// Runs `task(i)` for every user, all at the same time, and returns the results in user
/// order. Nothing starts until every task is spawned and waiting at the barrier. Failures are
/// collected rather than stopping at the first, so a broken run says how many went wrong.
async fn for_every_user<T, Fut>(what: &str, task: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let started = Instant::now();
    let gate = Arc::new(Barrier::new(USERS));
    let mut tasks = JoinSet::new();
    for i in 0..USERS {
        let gate = gate.clone();
        let work = task(i);
        tasks.spawn(async move {
            gate.wait().await;
            (i, work.await)
        });
    }
    let mut results: Vec<Option<T>> = (0..USERS).map(|_| None).collect();
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, Ok(value))) => results[i] = Some(value),
            Ok((_, Err(failure))) => failures.push(failure),
            Err(panicked) => failures.push(panicked.to_string()),
        }
    }
    eprintln!("{what}: {USERS} concurrent in {:.2?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{what}: {} of {USERS} failed; the first few:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    results.into_iter().flatten().collect()
}

/// Signs `user` in through `app` in a fresh browser, and keeps the browser and its cookie.
async fn sign_in(app: &TestApp, user: &TestUser) -> Result<SignedIn, String> {
    let browser = browser();
    let username = &user.preferred_username;
    let callback = app_sign_in(&browser, app, username, "/me").await;
    let status = callback.status();
    if status != 303 {
        let body = callback.text().await.unwrap_or_default();
        return Err(format!(
            "{username} via {}: the callback answered {status}: {body}",
            app.base_url
        ));
    }
    let cookie = set_cookie(&callback, "msal_session")
        .ok_or_else(|| format!("{username}: the callback set no session cookie"))?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(SignedIn { browser, cookie })
}

/// Asks `app` who this browser is, and fails unless it is exactly `user`.
async fn expect_own_user(
    browser: &reqwest::Client,
    app: &TestApp,
    user: &TestUser,
) -> Result<(), String> {
    let username = &user.preferred_username;
    let response = browser
        .get(app.url("/me"))
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("{username}: /me on {} failed: {e}", app.base_url))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status != 200 {
        return Err(format!(
            "{username}: /me on {} answered {status}: {body}",
            app.base_url
        ));
    }
    let me: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
        format!(
            "{username}: /me on {} is not JSON ({e}): {body}",
            app.base_url
        )
    })?;
    // The oid is the identity: another user's oid here would mean sessions got mixed up.
    if me["oid"] != user.oid.as_str() || me["preferred_username"] != username.as_str() {
        return Err(format!(
            "{username} (oid {}) was shown oid {} ({}) by {}",
            user.oid, me["oid"], me["preferred_username"], app.base_url
        ));
    }
    Ok(())
}

/// Every browser was given a session of its own.
fn assert_distinct_cookies(signed: &[SignedIn]) {
    assert_eq!(signed.len(), USERS);
    let cookies: HashSet<&str> = signed.iter().map(|s| s.cookie.as_str()).collect();
    assert_eq!(
        cookies.len(),
        USERS,
        "two browsers were given the same session"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_concurrent_sign_ins_each_see_only_their_own_user() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let (idp, users) = idp_with_many_users().await;
    let app = Arc::new(TestApp::start(&idp).await);

    let signed = for_every_user("one instance: sign-in", |i| {
        let (app, users) = (app.clone(), users.clone());
        async move { sign_in(&app, &users[i]).await }
    })
    .await;
    assert_distinct_cookies(&signed);

    // Only once every sign-in has finished: each browser asks who it is, all at once.
    let signed = Arc::new(signed);
    for_every_user("one instance: /me", |i| {
        let (app, users, signed) = (app.clone(), users.clone(), signed.clone());
        async move { expect_own_user(&signed[i].browser, &app, &users[i]).await }
    })
    .await;
    eprintln!(
        "a_thousand_concurrent_sign_ins_each_see_only_their_own_user: {:.2?} in all",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_users_alternating_between_two_instances_sharing_redis() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let (idp, users) = idp_with_many_users().await;
    let r = redis.clone();
    let a = Arc::new(TestApp::start_with(&idp, move |c| c.session_store(r)).await);
    let b = Arc::new(TestApp::start_with(&idp, move |c| c.session_store(redis)).await);
    // Both listen on 127.0.0.1 and use the same cookie name. Cookies ignore ports, so each
    // browser's jar sends its one session cookie to both instances.
    let instances = [a, b];

    // Half the sign-ins start on A, half on B; each callback comes back to where it started.
    // The sessions these leave in Redis expire on their own (8 hours of inactivity).
    let signed = for_every_user("two instances: sign-in", |i| {
        let (app, users) = (instances[i % 2].clone(), users.clone());
        async move { sign_in(&app, &users[i]).await }
    })
    .await;
    assert_distinct_cookies(&signed);

    // Then each browser asks A, B, A, B in turn (or B, A, B, A): every answer is its own user.
    let signed = Arc::new(signed);
    for_every_user("two instances: /me x4", |i| {
        let (users, signed) = (users.clone(), signed.clone());
        let order = [
            instances[i % 2].clone(),
            instances[(i + 1) % 2].clone(),
            instances[i % 2].clone(),
            instances[(i + 1) % 2].clone(),
        ];
        async move {
            for app in &order {
                expect_own_user(&signed[i].browser, app, &users[i]).await?;
            }
            Ok(())
        }
    })
    .await;
    eprintln!(
        "a_thousand_users_alternating_between_two_instances_sharing_redis: {:.2?} in all",
        started.elapsed()
    );
}
