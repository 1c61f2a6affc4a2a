//! The happy path and what it promises: cookies, session cycling, sign-out, tabs, `next`.

use msal_runtime::testing::TestIdp;
use msal_tests::{TestApp, app_sign_in, browser, get_with_cookie, location, param, set_cookie};

#[tokio::test]
async fn sign_in_then_me_then_sign_out_and_the_old_cookie_is_dead() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();

    let callback = app_sign_in(&browser, &app, "alice@contoso.test", "/me").await;
    assert_eq!(callback.status(), 303);
    assert_eq!(callback.headers()["location"], "/me");
    let cookie = set_cookie(&callback, "msal_session")
        .expect("a session cookie")
        .to_owned();
    let session_value = cookie.split(';').next().unwrap().to_owned();

    let me = browser.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    let alice = idp.user("alice@contoso.test").unwrap();
    assert_eq!(me["oid"], alice.oid);
    assert_eq!(me["name"], "Alice Example");
    assert_eq!(me["preferred_username"], "alice@contoso.test");
    assert_eq!(me["email"], "alice@contoso.test");
    assert_eq!(me["tid"], idp.tenant().id);
    assert_eq!(me["iss"], idp.issuer());
    assert!(me["sid"].is_string());
    assert_eq!(app.who(&browser).await, "Alice Example");

    // Sign out: CSRF token from the session, POST, then the provider's sign-out.
    let csrf = app.csrf(&browser).await;
    let out = browser
        .post(app.url("/auth/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let end = location(&out);
    assert!(
        end.as_str().starts_with(&idp.end_session_endpoint()),
        "{end}"
    );
    assert!(param(&end, "id_token_hint").is_some());
    assert_eq!(
        param(&end, "post_logout_redirect_uri").unwrap(),
        app.url("/")
    );
    let back = browser.get(end).send().await.unwrap();
    assert_eq!(
        back.status(),
        302,
        "the IdP returns to the registered post-logout URI"
    );
    assert_eq!(location(&back).as_str(), app.url("/"));

    assert_eq!(app.who(&browser).await, "anonymous");
    // The cookie from before sign-out, replayed by hand, opens nothing.
    let replay = get_with_cookie(&app.url("/me"), &session_value).await;
    assert_eq!(replay.status(), 401);
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_data_survives() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let visit = browser.get(app.url("/visit")).send().await.unwrap();
    let before = set_cookie(&visit, "msal_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(visit.text().await.unwrap(), "1");

    let callback = app_sign_in(&browser, &app, "bob@contoso.test", "/").await;
    let after = set_cookie(&callback, "msal_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(before, after, "no session fixation: a new id at sign-in");
    assert_eq!(
        browser
            .get(app.url("/visit"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "2"
    );

    // The pre-sign-in id is dead: it cannot be used to ride the new session.
    let fixed = get_with_cookie(&app.url("/me"), &before).await;
    assert_eq!(fixed.status(), 401);
}

#[tokio::test]
async fn cookies_carry_only_an_opaque_id_with_safe_attributes() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let callback = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    let cookie = set_cookie(&callback, "msal_session").unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        cookie.contains("Max-Age=28800"),
        "8 hours of inactivity by default: {cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "http loopback: not Secure ({cookie})"
    );
    let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    assert!(
        value.len() <= 32 && !value.contains('.'),
        "an opaque id, not a token: {value}"
    );

    // Anywhere but http loopback the cookie is Secure.
    let secure = TestApp::start_with(&idp, |c| c.public_url("https://app.contoso.test")).await;
    let visit = reqwest::get(secure.url("/visit")).await.unwrap();
    let cookie = set_cookie(&visit, "msal_session").unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    for form in [vec![], vec![("csrf_token", "guess")]] {
        let out = browser
            .post(app.url("/auth/logout"))
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 403);
        assert_eq!(out.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(app.who(&browser).await, "Alice Example", "still signed in");
    // The header works as well as the form field.
    let csrf = app.csrf(&browser).await;
    let out = browser
        .post(app.url("/auth/logout"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(app.who(&browser).await, "anonymous");
}

#[tokio::test]
async fn two_tabs_signing_in_at_once_both_succeed() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let start = |next: &'static str| {
        let browser = browser.clone();
        let url = app.url("/auth/login");
        async move {
            let login = browser
                .get(url)
                .query(&[("login_hint", "alice@contoso.test"), ("next", next)])
                .send()
                .await
                .unwrap();
            let at_idp = browser.get(location(&login)).send().await.unwrap();
            location(&at_idp)
        }
    };
    let (tab_a, tab_b) = tokio::join!(start("/a"), start("/b"));
    let done_b = browser.get(tab_b).send().await.unwrap();
    assert_eq!(done_b.status(), 303);
    assert_eq!(done_b.headers()["location"], "/b");
    let done_a = browser.get(tab_a).send().await.unwrap();
    assert_eq!(done_a.status(), 303);
    assert_eq!(done_a.headers()["location"], "/a");
}

#[tokio::test]
async fn next_only_ever_leads_to_a_same_origin_path() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    for evil in [
        "https://evil.test/",
        "//evil.test",
        "/\\evil.test",
        "%2F%2Fevil.test",
        "javascript:alert(1)",
    ] {
        // `query` encodes the value once, so %2F%2F arrives at the app literally.
        let done = app_sign_in(&browser(), &app, "alice@contoso.test", evil).await;
        assert_eq!(done.status(), 303);
        assert_eq!(done.headers()["location"], "/", "next={evil}");
    }
    // Sent raw, %2F%2F decodes to // at the app.
    let browser = browser();
    let login = browser
        .get(format!(
            "{}?next=%2F%2Fevil.test&login_hint=alice%40contoso.test",
            app.url("/auth/login")
        ))
        .send()
        .await
        .unwrap();
    let at_idp = browser.get(location(&login)).send().await.unwrap();
    let done = browser.get(location(&at_idp)).send().await.unwrap();
    assert_eq!(
        done.headers()["location"],
        "/",
        "a decoded //evil.test is refused too"
    );
}

#[tokio::test]
async fn unauthenticated_requests_get_a_redirect_or_a_401_by_how_they_ask() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let page = browser()
        .get(app.url("/me?tab=1"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 302);
    assert_eq!(
        page.headers()["location"],
        "/auth/login?next=%2Fme%3Ftab%3D1"
    );

    let api = browser()
        .get(app.url("/me"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["www-authenticate"], "Bearer");
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["status"], 401);

    // A POST from a browser is not a navigation: no redirect.
    let post = browser()
        .post(app.url("/me"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        post.status(),
        405,
        "the route is GET-only; the extractor never ran"
    );
}

#[tokio::test]
async fn claims_extractor_reads_the_users_own_type() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    app_sign_in(&browser, &app, "bob@contoso.test", "/").await;
    let claims: serde_json::Value = browser
        .get(app.url("/claims"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(claims["name"], "Bob Admin");
    assert_eq!(claims["oid"], idp.user("bob@contoso.test").unwrap().oid);
}
