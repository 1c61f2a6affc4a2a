//! Redis as users deploy it, against real servers each test starts (and kills): TLS with a
//! password in the URL and a private CA (Azure Cache for Redis serves TLS only), and a
//! three-node Redis Cluster. Needs `redis-server`, `redis-cli` and `openssl`: under `CI`
//! these tests fail without them; elsewhere they skip, loudly.

use std::time::Duration;

use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestIdp};
use msal_tests::redis_servers::{msal_keys_on, redirections_answered, redis_cluster, tls_redis};
use msal_tests::{TestApp, app_sign_in, browser};

/// Signed in on A is signed in on B; signing out on B ends it on A.
pub(crate) async fn share_a_sign_in(a: &TestApp, b: &TestApp, user: &str) {
    let browser = browser();
    assert_eq!(app_sign_in(&browser, a, user, "/").await.status(), 303);
    // Cookies ignore ports: the browser sends the same session cookie to instance B.
    let me: serde_json::Value = b.me(&browser).await;
    assert_eq!(me["preferred_username"], user);
    let csrf = b.csrf(&browser).await;
    let out = browser
        .post(b.url("/auth/logout"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(a.who(&browser).await, "anonymous");
    assert_eq!(b.who(&browser).await, "anonymous");
}

/// A sign-in on an app whose Redis cannot be trusted: the store is unavailable (503), and
/// nobody is ever signed in.
async fn refuses_to_sign_in(app: &TestApp) {
    let browser = browser();
    for _ in 0..3 {
        let login = browser
            .get(app.url("/auth/login?login_hint=alice@contoso.test"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 503, "an untrusted Redis is unavailable");
        let body: serde_json::Value = login.json().await.unwrap();
        assert_eq!(body["title"], "Session store unavailable");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(app.who(&browser).await, "anonymous");
}

#[tokio::test]
async fn rediss_with_a_password_and_a_private_ca_shares_a_sign_in_between_instances() {
    let Some(redis) = tls_redis() else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let start = |url: String, ca: String| {
        TestApp::start_with(&idp, move |c| c.session_store(url).redis_ca_file(ca))
    };
    let ca = redis.ca_file.display().to_string();
    let a = start(redis.url.clone(), ca.clone()).await;
    let b = start(redis.url.clone(), ca).await;
    share_a_sign_in(&a, &b, "alice@contoso.test").await;
}

#[tokio::test]
async fn rediss_whose_certificate_no_trusted_ca_signed_is_refused() {
    let Some(redis) = tls_redis() else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    // No CA file: the public roots, which never signed the test's CA.
    let url = redis.url.clone();
    let public_roots = TestApp::start_with(&idp, move |c| c.session_store(url)).await;
    refuses_to_sign_in(&public_roots).await;
    // A CA file of another CA: that CA alone is trusted, and it signed nothing here.
    let url = redis.url.clone();
    let other = redis.other_ca_file.display().to_string();
    let other_ca =
        TestApp::start_with(&idp, move |c| c.session_store(url).redis_ca_file(other)).await;
    refuses_to_sign_in(&other_ca).await;
}

#[tokio::test]
async fn redis_cluster_shares_sign_ins_and_spreads_keys_over_its_nodes() {
    let Some(cluster) = redis_cluster() else {
        return;
    };
    let url = cluster.cluster_url();
    let idp = TestIdp::start().await.unwrap();
    let u = url.clone();
    let a = TestApp::start_with(&idp, move |c| c.session_store(u)).await;
    let b = TestApp::start_with(&idp, move |c| c.session_store(url)).await;
    share_a_sign_in(&a, &b, "alice@contoso.test").await;

    // Front-channel sign-out (the sid index, then each of its sessions) ends a session
    // signed in on A through B, on a cluster too.
    idp.set_front_channel_logout_uri(DEFAULT_CLIENT_ID, &b.url("/auth/signout-oidc"))
        .unwrap();
    let bob = browser();
    assert_eq!(
        app_sign_in(&bob, &a, "bob@contoso.test", "/")
            .await
            .status(),
        303
    );
    let me: serde_json::Value = a.me(&bob).await;
    let sid = me["sid"].as_str().unwrap().to_owned();
    let mut frame = url::Url::parse(&b.url("/auth/signout-oidc")).unwrap();
    frame
        .query_pairs_mut()
        .append_pair("sid", &sid)
        .append_pair("iss", &idp.issuer());
    // The iframe is cross-site: it carries no cookies.
    let signed_out = reqwest::get(frame).await.unwrap();
    assert_eq!(signed_out.status(), 200);
    assert_eq!(a.who(&bob).await, "anonymous");

    // Sessions stay, spread over the nodes: no hash tag pins them to one slot.
    let mut browsers = Vec::new();
    for n in 0..6 {
        let user = browser();
        assert_eq!(
            app_sign_in(
                &user,
                if n % 2 == 0 { &a } else { &b },
                "alice@contoso.test",
                "/"
            )
            .await
            .status(),
            303
        );
        browsers.push(user);
    }
    for user in &browsers {
        assert_eq!(b.who(user).await, "Alice Example");
    }
    let per_node: Vec<usize> = cluster
        .ports
        .iter()
        .map(|port| msal_keys_on(*port).len())
        .collect();
    assert!(
        per_node.iter().sum::<usize>() >= 6,
        "the sessions are in the cluster: {per_node:?}"
    );
    assert!(
        per_node.iter().filter(|n| **n > 0).count() > 1,
        "keys spread over more than one node: {per_node:?}"
    );
    // Every command (scripts too) went straight to its key's node: none was redirected.
    let redirected: Vec<u64> = cluster
        .ports
        .iter()
        .map(|port| redirections_answered(*port))
        .collect();
    assert_eq!(redirected, [0, 0, 0], "MOVED/ASK replies per node");
}
