//! Configured variations: form_post, client_secret_basic, front-channel sign-out, scopes.

use msal_runtime::config::{ResponseMode, TokenAuthMethod};
use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser, location, param};

#[tokio::test]
async fn form_post_mode_signs_in_through_a_posted_callback() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, |c| c.response_mode(ResponseMode::FormPost)).await;
    let browser = browser();
    let login = browser
        .get(app.url("/auth/login"))
        .query(&[("login_hint", "bob@contoso.test"), ("next", "/me")])
        .send()
        .await
        .unwrap();
    let flow_cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("msal_session_flow_"))
        .unwrap();
    assert!(
        flow_cookie.contains("SameSite=None") && flow_cookie.contains("Secure"),
        "{flow_cookie}"
    );
    let authorize = location(&login);
    assert_eq!(
        param(&authorize, "response_mode").as_deref(),
        Some("form_post")
    );
    let page = browser
        .get(authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = |name: &str| -> String {
        page.split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(page.contains(&format!("action=\"{}\"", app.url("/auth/callback"))));
    let done = browser
        .post(app.url("/auth/callback"))
        .form(&[("code", field("code")), ("state", field("state"))])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "/me");
    let me: serde_json::Value = app.me(&browser).await;
    assert_eq!(me["name"], "Bob Admin");
    assert_eq!(me["roles"], serde_json::json!(["Admin"]));
}

#[tokio::test]
async fn client_secret_basic_is_used_when_configured() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, |c| {
        c.token_auth_method(TokenAuthMethod::ClientSecretBasic)
    })
    .await;
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    // A wrong secret is the provider's refusal, reported as such.
    let wrong = TestApp::start_with(&idp, |c| {
        c.client_secret("wrong")
            .token_auth_method(TokenAuthMethod::ClientSecretBasic)
    })
    .await;
    let refused = app_sign_in(&browser(), &wrong, "alice@contoso.test", "/").await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("invalid_client"));
}

/// Entra's secrets contain `~`, and Entra does not URL-decode Basic credentials: the secret
/// must arrive as written to a provider that decodes and to one that does not. The sign-in,
/// a refresh and on-behalf-of all authenticate the same way.
#[tokio::test]
async fn client_secret_basic_works_whether_or_not_the_provider_decodes() {
    assert!(DEFAULT_CLIENT_SECRET.contains('~'));
    for decodes in [true, false] {
        let idp = TestIdp::start().await.unwrap();
        idp.decode_basic_credentials(decodes);
        let app = TestApp::start_with(&idp, |c| {
            c.token_auth_method(TokenAuthMethod::ClientSecretBasic)
        })
        .await;
        let done = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
        assert_eq!(
            done.status(),
            303,
            "decodes: {decodes}: {:?}",
            done.text().await
        );
    }
}

#[tokio::test]
async fn front_channel_sign_out_ends_the_matching_session() {
    front_channel_sign_out(false).await;
}

/// Entra may send only `sid`, without `iss`: the matching session still ends, and only it.
#[tokio::test]
async fn front_channel_sign_out_with_only_sid_ends_the_matching_session() {
    front_channel_sign_out(true).await;
}

async fn front_channel_sign_out(sid_only: bool) {
    let idp = TestIdp::start().await.unwrap();
    idp.front_channel_sid_only(sid_only);
    let app = TestApp::start(&idp).await;
    idp.set_front_channel_logout_uri(DEFAULT_CLIENT_ID, &app.url("/auth/signout-oidc"))
        .unwrap();
    let alice = browser();
    let bob = browser();
    app_sign_in(&alice, &app, "alice@contoso.test", "/").await;
    app_sign_in(&bob, &app, "bob@contoso.test", "/").await;
    let me: serde_json::Value = app.me(&alice).await;
    let sid = me["sid"].as_str().unwrap().to_owned();

    // Alice signs out at the IdP directly (another app, say): its page loads our URL.
    let page = alice
        .get(format!(
            "{}?id_token_hint=&client_id={DEFAULT_CLIENT_ID}",
            idp.end_session_endpoint()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let frame = page
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(frame.contains(&format!("sid={sid}")), "{frame}");
    assert_eq!(frame.contains("iss="), !sid_only, "{frame}");
    // The iframe is cross-site: it carries no cookies.
    let signed_out = reqwest::get(&frame).await.unwrap();
    assert_eq!(signed_out.status(), 200);

    assert_eq!(app.who(&alice).await, "anonymous");
    assert_eq!(
        app.who(&bob).await,
        "Bob Admin",
        "only the matching session"
    );
}

#[tokio::test]
async fn front_channel_sign_out_checks_its_input() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let missing = reqwest::get(app.url("/auth/signout-oidc")).await.unwrap();
    assert_eq!(missing.status(), 400);
    let foreign =
        reqwest::get(app.url("/auth/signout-oidc?sid=x&iss=https%3A%2F%2Fevil.test%2Fv2.0"))
            .await
            .unwrap();
    assert_eq!(foreign.status(), 400);
    let unknown = reqwest::get(app.url("/auth/signout-oidc?sid=nobody"))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 200, "nothing to end is not an error");
}

#[tokio::test]
async fn login_passes_scopes_and_hints_through() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, |c| c.scopes("User.Read")).await;
    let login = browser()
        .get(app.url("/auth/login"))
        .query(&[
            ("login_hint", "alice@contoso.test"),
            ("domain_hint", "contoso.test"),
            ("prompt", "select_account"),
            ("scopes", "Mail.Read"),
        ])
        .send()
        .await
        .unwrap();
    let authorize = location(&login);
    assert!(authorize.as_str().starts_with(&idp.authorize_endpoint()));
    let scope = param(&authorize, "scope").unwrap();
    // Incremental consent asks for the extra scopes on their own (one resource per request).
    assert_eq!(scope, "openid profile email offline_access Mail.Read");
    // Without `scopes`, the configured ones come along.
    let plain = browser().get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(
        param(&location(&plain), "scope").unwrap(),
        "openid profile email offline_access User.Read"
    );
    assert_eq!(param(&authorize, "response_type").as_deref(), Some("code"));
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        param(&authorize, "login_hint").as_deref(),
        Some("alice@contoso.test")
    );
    assert_eq!(
        param(&authorize, "domain_hint").as_deref(),
        Some("contoso.test")
    );
    assert_eq!(
        param(&authorize, "prompt").as_deref(),
        Some("select_account")
    );
    assert_eq!(
        param(&authorize, "redirect_uri").unwrap(),
        app.url("/auth/callback")
    );
    assert!(param(&authorize, "state").unwrap().len() >= 16);
    assert!(param(&authorize, "nonce").unwrap().len() >= 16);
    assert!(
        param(&authorize, "response_mode").is_none(),
        "query is the default"
    );
}

#[tokio::test]
async fn any_openid_connect_issuer_works_as_the_authority() {
    let idp = TestIdp::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = msal_runtime::MsalConfig::builder()
        .client_id(DEFAULT_CLIENT_ID)
        .client_secret(msal_runtime::testing::DEFAULT_CLIENT_SECRET)
        .authority(idp.issuer())
        .public_url(&base_url)
        .build()
        .unwrap();
    let app = TestApp::serve(listener, base_url, config).await;
    assert!(matches!(
        app.msal.config().authority,
        msal_runtime::config::Authority::Issuer(_)
    ));
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, &app, "bob@contoso.test", "/")
            .await
            .status(),
        303
    );
    assert_eq!(app.who(&browser).await, "Bob Admin");
}

#[tokio::test]
async fn a_non_bearer_authorization_header_never_hides_the_session() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    assert_eq!(
        app_sign_in(&browser, &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    // A proxy in front adds Basic authentication of its own: the session still counts.
    let with = |header: &'static str, path: &'static str| {
        let (browser, url) = (browser.clone(), app.url(path));
        async move {
            let response = browser
                .get(url)
                .header("authorization", header)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(
        with("Basic dXNlcjpwYXNz", "/").await,
        (200, "Alice Example".into())
    );
    assert_eq!(with("Basic dXNlcjpwYXNz", "/me").await.0, 200);
    // An unusable bearer token is judged alone (never rescued by the cookie)...
    assert_eq!(with("Bearer not-a-token", "/me").await.0, 401);
    // ...yet `Option<User>` never rejects: nobody, not a 401.
    assert_eq!(
        with("Bearer not-a-token", "/").await,
        (200, "anonymous".into())
    );
    assert_eq!(with("Bearer", "/").await, (200, "anonymous".into()));
}
