//! Every way a callback is refused, each for its own reason.

use msal_runtime::testing::{MintKey, TestIdp, TestTenant, TestUser};
use msal_tests::{TestApp, app_callback_url, app_sign_in, browser, param};

/// Asserts a refusal page: the status, HTML, and the words that say why.
async fn assert_refused(response: reqwest::Response, status: u16, why: &str) {
    assert_eq!(response.status(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response.headers().get("set-cookie").is_none_or(|c| !c
            .to_str()
            .unwrap()
            .starts_with("msal_session=")
            || c.to_str().unwrap().contains("Max-Age=0")),
        "no session for a refused sign-in"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains(why), "expected {why:?} in {html}");
}

async fn get_html(browser: &reqwest::Client, url: impl reqwest::IntoUrl) -> reqwest::Response {
    browser
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
}

async fn signed_in(browser: &reqwest::Client, app: &TestApp) -> bool {
    app.who(browser).await != "anonymous"
}

#[tokio::test]
async fn callback_without_state_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let mut url = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    let code = param(&url, "code").unwrap();
    url.set_query(Some(&format!("code={code}")));
    assert_refused(get_html(&browser, url).await, 400, "Sign-in state missing").await;
    assert!(!signed_in(&browser, &app).await);
}

#[tokio::test]
async fn callback_with_a_state_nobody_issued_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let mut url = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    let code = param(&url, "code").unwrap();
    url.set_query(Some(&format!("code={code}&state=forged-state")));
    assert_refused(
        get_html(&browser, url).await,
        400,
        "Unknown or used sign-in",
    )
    .await;
}

#[tokio::test]
async fn callback_with_replayed_state_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let url = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    assert_eq!(browser.get(url.clone()).send().await.unwrap().status(), 303);
    assert_refused(
        get_html(&browser, url).await,
        400,
        "Unknown or used sign-in",
    )
    .await;
}

#[tokio::test]
async fn callback_in_another_browser_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    // The attacker starts a sign-in and hands the callback to the victim (login CSRF).
    let url = app_callback_url(&browser(), &app, "bob@contoso.test", "/").await;
    let victim = browser();
    assert_refused(
        get_html(&victim, url).await,
        400,
        "started in another browser",
    )
    .await;
    assert!(!signed_in(&victim, &app).await);
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_the_provider() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let first = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    let second = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    assert_eq!(
        browser.get(first.clone()).send().await.unwrap().status(),
        303
    );
    // The second flow's state with the first (already redeemed) code.
    let mut replay = second.clone();
    replay.set_query(Some(&format!(
        "code={}&state={}",
        param(&first, "code").unwrap(),
        param(&second, "state").unwrap()
    )));
    assert_refused(get_html(&browser, replay).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_provider_error_renders_a_clear_page_or_problem() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    let url = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    let state = param(&url, "state").unwrap();
    let error_url = format!(
        "{}?error=access_denied&error_description=AADSTS65004%3A+User+declined+%3Cb%3E&state={state}",
        app.url("/auth/callback")
    );
    let page = get_html(&browser, &error_url).await;
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    // The error code and Entra's number, checked to be only that; the description is
    // anyone's text (this URL is), so it goes to the log and never onto the page.
    assert!(
        html.contains("&#39;access_denied&#39; (AADSTS65004)"),
        "{html}"
    );
    assert!(!html.contains("User declined"), "{html}");
    assert!(
        !html.contains("<b>") && !html.contains("&lt;b&gt;"),
        "{html}"
    );
    // The flow is spent: its real code cannot be used afterwards.
    assert_eq!(get_html(&browser, url).await.status(), 400);

    let api = browser
        .get(&error_url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 400);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = api.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("'access_denied' (AADSTS65004)"), "{detail}");
    assert!(!detail.contains("User declined"), "{detail}");
}

/// Signs in while the IdP spoils ID tokens with `edit`, and asserts the refusal.
async fn refused_with(
    key: MintKey,
    edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>) + Send + Sync + 'static,
    why: &str,
) {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    idp.tamper_id_tokens(key, edit);
    let browser = browser();
    let url = app_callback_url(&browser, &app, "alice@contoso.test", "/").await;
    assert_refused(get_html(&browser, url).await, 401, why).await;
    assert!(!signed_in(&browser, &app).await);
    // Untouched tokens sign in: the refusal was about the one change.
    idp.stop_tampering();
    let done = app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    assert_eq!(done.status(), 303);
}

#[tokio::test]
async fn an_id_token_with_a_bad_signature_is_refused() {
    refused_with(MintKey::Foreign, |_| {}, "signature does not verify").await;
}

#[tokio::test]
async fn an_unsigned_id_token_is_refused() {
    refused_with(MintKey::None, |_| {}, "never accepted").await;
}

#[tokio::test]
async fn an_hmac_id_token_keyed_with_the_public_key_is_refused() {
    refused_with(
        MintKey::Hs256WithPublicKey,
        |_| {},
        "only RS256, PS256 and ES256",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused() {
    refused_with(
        MintKey::Current,
        |c| {
            c.insert("iss".into(), "https://evil.test/v2.0".into());
        },
        "issuer &#39;https://evil.test/v2.0&#39; is not the expected",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_for_another_app_is_refused() {
    refused_with(
        MintKey::Current,
        |c| {
            c.insert("aud".into(), "someone-else".into());
        },
        "for another audience",
    )
    .await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    refused_with(
        MintKey::Current,
        |c| {
            let now = c["iat"].as_i64().unwrap();
            c.insert("iat".into(), (now - 7200).into());
            c.insert("nbf".into(), (now - 7200).into());
            c.insert("exp".into(), (now - 3600).into());
        },
        "has expired",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_from_the_future_is_refused() {
    refused_with(
        MintKey::Current,
        |c| {
            let now = c["iat"].as_i64().unwrap();
            c.insert("iat".into(), (now + 3600).into());
            c.insert("nbf".into(), (now + 3600).into());
            c.insert("exp".into(), (now + 7200).into());
        },
        "not valid yet",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    refused_with(
        MintKey::Current,
        |c| {
            c.insert("nonce".into(), "not-this-sign-in".into());
        },
        "nonce does not match",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_for_another_authorized_party_is_refused() {
    refused_with(
        MintKey::Current,
        |c| {
            c.insert("azp".into(), "someone-else".into());
        },
        "&#39;azp&#39;",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_without_sub_is_refused() {
    refused_with(
        MintKey::Current,
        |c| {
            c.remove("sub");
        },
        "ID token",
    )
    .await;
}

#[tokio::test]
async fn a_foreign_tenant_is_refused_when_an_allow_list_is_set() {
    let fabrikam = "0ddba11a-0000-4000-8000-000000000001";
    let idp = TestIdp::builder()
        .tenant(TestTenant::new(fabrikam, "fabrikam.test"))
        .user(TestUser::new("dave@fabrikam.test", "Dave Guest").tenant(fabrikam))
        .start()
        .await
        .unwrap();
    let contoso = idp.tenant().id;
    let app = TestApp::start_with(&idp, move |c| {
        c.tenant_id("organizations").allowed_tenants(contoso)
    })
    .await;
    // Contoso's users come through the multi-tenant authority ({tenantid} issuer)...
    let done = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    assert_eq!(done.status(), 303);
    // ...Fabrikam's do not.
    let browser = browser();
    let url = app_callback_url(&browser, &app, "dave@fabrikam.test", "/").await;
    assert_refused(get_html(&browser, url).await, 401, "is not allowed").await;

    // Without the allow-list, the template admits both tenants, each with its own issuer.
    let open = TestApp::start_with(&idp, |c| {
        c.tenant_id("organizations").roles_from_any_tenant(true)
    })
    .await;
    let browser = msal_tests::browser();
    assert_eq!(
        app_sign_in(&browser, &open, "dave@fabrikam.test", "/")
            .await
            .status(),
        303
    );
    let me: serde_json::Value = open.me(&browser).await;
    assert_eq!(me["tid"], fabrikam);
    assert_eq!(me["iss"], idp.issuer_for(fabrikam));
}

/// A listener that counts who connects to it: where a lying discovery document would send
/// the client secret.
async fn evil_endpoint() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (url, hits)
}

#[tokio::test]
async fn an_entra_authoritys_secrets_go_only_to_its_own_host() {
    let (evil, hits) = evil_endpoint().await;
    for field in [
        "token_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "authorization_endpoint",
    ] {
        let idp = TestIdp::start().await.unwrap();
        idp.override_discovery_field(field, Some(format!("{evil}/steal").into()));
        let app = TestApp::start(&idp).await;
        let login = browser()
            .get(app.url("/auth/login"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_refused(login, 401, "not on the authority&#39;s host").await;
    }
    // A look-alike host too.
    let idp = TestIdp::start().await.unwrap();
    let look_alike = idp.token_endpoint().replace("127.0.0.1", "localhost");
    idp.override_discovery_field("token_endpoint", Some(look_alike.into()));
    let app = TestApp::start(&idp).await;
    let login = get_html(&browser(), app.url("/auth/login")).await;
    assert_eq!(login.status(), 401);
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was sent there"
    );
}

#[tokio::test]
async fn a_generic_issuers_token_endpoint_may_live_on_another_host() {
    // Generic OpenID Connect providers do this (a token endpoint on an API host): allowed,
    // over loopback http here, https anywhere else.
    let idp = TestIdp::start().await.unwrap();
    idp.override_discovery_field(
        "token_endpoint",
        Some(
            idp.token_endpoint()
                .replace("127.0.0.1", "localhost")
                .into(),
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = msal_runtime::MsalConfig::builder()
        .client_id(msal_runtime::testing::DEFAULT_CLIENT_ID)
        .client_secret(msal_runtime::testing::DEFAULT_CLIENT_SECRET)
        .authority(idp.issuer())
        .public_url(&base_url)
        .build()
        .unwrap();
    let app = TestApp::serve(listener, base_url, config).await;
    assert_eq!(
        app_sign_in(&browser(), &app, "bob@contoso.test", "/")
            .await
            .status(),
        303
    );
}
