//! Entra's rules for access tokens.

use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, Mint, TestClient, TestIdp, TestTenant, TestUser, TokenVersion,
};
use msal_tests::{TestApp, app_sign_in, browser, sign_in};

use msal_runtime::config::MsalConfigBuilder;

use crate::common::{api, app_token, assert_invalid_token, call, claims, mint, user_token};

const FABRIKAM: &str = "0ddba11a-0000-4000-8000-000000000001";

async fn two_tenants() -> TestIdp {
    TestIdp::builder()
        .tenant(TestTenant::new(FABRIKAM, "fabrikam.test"))
        .user(TestUser::new("dave@fabrikam.test", "Dave Fabrikam").tenant(FABRIKAM))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn v2_and_v1_issuers_are_both_accepted() {
    let idp = TestIdp::builder()
        .without_defaults()
        .tenant(TestTenant::new(
            msal_runtime::testing::DEFAULT_TENANT_ID,
            "contoso.test",
        ))
        .client(TestClient::default_app().access_token_version(TokenVersion::V1))
        .user(TestUser::alice())
        .start()
        .await
        .unwrap();
    let app = api(&idp, |c| c).await;
    let v1 = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let (_, claims) = msal_tests::decode_unverified(&v1);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["iss"], idp.v1_issuer_for(&idp.tenant().id));
    assert_eq!(claims["aud"], format!("api://{DEFAULT_CLIENT_ID}"));
    assert_eq!(call(&app, "/api/tasks", &v1).await.status(), 200);

    let v2_idp = TestIdp::start().await.unwrap();
    let v2_app = api(&v2_idp, |c| c).await;
    let v2 = user_token(&v2_idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(msal_tests::decode_unverified(&v2).1["ver"], "2.0");
    assert_eq!(call(&v2_app, "/api/tasks", &v2).await.status(), 200);
}

#[tokio::test]
async fn the_tenantid_template_must_match_the_tokens_tid() {
    let idp = two_tenants().await;
    // Any tenant: this API says it scopes its app roles by `tid` itself.
    let app = api(&idp, |c| {
        c.tenant_id("organizations").roles_from_any_tenant(true)
    })
    .await;
    // Both tenants' real tokens pass the template...
    let contoso = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &contoso).await.status(), 200);
    let fabrikam = user_token(&idp, "dave@fabrikam.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &fabrikam).await.status(), 200);
    // ...a Contoso issuer with Fabrikam's tid does not.
    let mixed = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"])).claim("tid", FABRIKAM),
    );
    assert_invalid_token(
        call(&app, "/api/hello", &mixed).await,
        "does not match tenant",
    )
    .await;
    // Nor does a tid that is not a GUID, even if the issuer is built from it.
    let evil = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"]))
            .claim("tid", "evil")
            .claim("iss", format!("{}/evil/v2.0", idp.base_url())),
    );
    assert_invalid_token(call(&app, "/api/hello", &evil).await, "is not a tenant id").await;
}

#[tokio::test]
async fn a_graph_token_is_never_accepted() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let body = sign_in(&idp, "alice@contoso.test", "openid User.Read").await;
    let graph = body["access_token"].as_str().unwrap();
    assert_eq!(
        msal_tests::decode_unverified(graph).1["aud"],
        "https://graph.microsoft.com"
    );
    let response = call(&app, "/api/hello", graph).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn an_id_token_is_not_a_bearer_token() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let body = sign_in(&idp, "bob@contoso.test", "openid profile").await;
    let id_token = body["id_token"].as_str().unwrap();
    assert_invalid_token(
        call(&app, "/api/hello", id_token).await,
        "an ID token is not an access token",
    )
    .await;
}

#[tokio::test]
async fn an_app_only_token_passes_app_permissions_and_nothing_delegated() {
    let idp = TestIdp::start().await.unwrap();
    let app = api(&idp, |c| c).await;
    let token = app_token(&idp).await;
    let admin = call(&app, "/api/admin", &token).await;
    assert_eq!(admin.status(), 200);
    assert_eq!(
        call(&app, "/api/hello", &token).await.text().await.unwrap(),
        "hello, app"
    );
    assert_eq!(
        call(&app, "/api/tasks", &token).await.status(),
        403,
        "scopes are for users"
    );
    // And a user never passes app_permissions, even holding the same role name.
    let user = user_token(&idp, "bob@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/admin", &user).await.status(), 403);
}

#[tokio::test]
async fn a_token_with_neither_scp_nor_roles_is_refused_unless_allowed() {
    let idp = TestIdp::start().await.unwrap();
    let bare = mint(&idp, Mint::new(claims(&idp, &[])).without_claim("scp"));
    let strict = api(&idp, |c| c).await;
    assert_invalid_token(call(&strict, "/api/hello", &bare).await, "grants nothing").await;
    let lenient = api(&idp, |c| c.accept_unscoped_tokens(true)).await;
    assert_eq!(call(&lenient, "/api/hello", &bare).await.status(), 200);
}

#[tokio::test]
async fn the_tenant_allow_list_applies_to_bearer_tokens() {
    let idp = two_tenants().await;
    let app = api(&idp, |c| {
        c.tenant_id("organizations").allowed_tenants(FABRIKAM)
    })
    .await;
    let contoso = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_invalid_token(call(&app, "/api/hello", &contoso).await, "is not allowed").await;
    let fabrikam = user_token(&idp, "dave@fabrikam.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &fabrikam).await.status(), 200);
}

#[tokio::test]
async fn the_configured_audiences_replace_the_defaults() {
    let idp = TestIdp::start().await.unwrap();
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let other = api(&idp, |c| c.audience("api://another-api")).await;
    assert_invalid_token(call(&other, "/api/hello", &token).await, "another audience").await;
    let both = api(&idp, |c| {
        c.audience(format!("api://another-api, {DEFAULT_CLIENT_ID}"))
    })
    .await;
    assert_eq!(call(&both, "/api/hello", &token).await.status(), 200);
}

#[tokio::test]
async fn a_bearer_header_is_never_rescued_by_the_session_cookie() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start(&idp).await;
    let browser = browser();
    app_sign_in(&browser, &app, "alice@contoso.test", "/").await;
    assert_eq!(app.who(&browser).await, "Alice Example");
    let response = browser
        .get(app.url("/me"))
        .bearer_auth("garbage.token.here")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "judged by the token only");
    let good = user_token(&idp, "bob@contoso.test", "Tasks.Read").await;
    let me: serde_json::Value = browser
        .get(app.url("/me"))
        .bearer_auth(good)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["name"], "Bob Admin",
        "the token's user, not the session's"
    );
}

#[tokio::test]
async fn a_multi_tenant_app_whose_rules_use_app_roles_does_not_start_without_a_tenant_list() {
    // Any tenant's admin can consent to a multi-tenant app and assign themselves its app
    // roles; `app_permissions = "Tasks.ReadWrite.All"` (examples/api) would admit them.
    let idp = two_tenants().await;
    let multi = |tweak: fn(MsalConfigBuilder) -> MsalConfigBuilder| {
        tweak(msal_tests::app_config(&idp, "http://127.0.0.1:1"))
            .build()
            .unwrap()
    };
    for tenant in ["organizations", "common"] {
        let config = msal_runtime::MsalConfig::builder()
            .client_id(msal_runtime::testing::DEFAULT_CLIENT_ID)
            .instance(idp.base_url())
            .tenant_id(tenant)
            .build()
            .unwrap();
        let refused = msal_runtime::Msal::api(config.clone()).await.unwrap_err();
        let text = refused.to_string();
        assert!(text.contains("MSAL_ALLOWED_TENANTS"), "{text}");
        assert!(text.contains("MSAL_ROLES_FROM_ANY_TENANT=true"), "{text}");
        // It names a handler whose rule needs a role (the first of those linked in).
        assert!(
            text.contains("requires the app role")
                || text.contains("requires the application permission"),
            "{text}"
        );
        assert!(
            msal_runtime::Msal::new(config).await.is_err(),
            "web apps too"
        );
    }
    // Naming the trusted tenants, or opting in explicitly, starts.
    let listed = multi(|c| {
        c.tenant_id("organizations")
            .allowed_tenants(msal_runtime::testing::DEFAULT_TENANT_ID)
    });
    assert!(msal_runtime::Msal::api(listed).await.is_ok());
    let opted_in = multi(|c| c.tenant_id("organizations").roles_from_any_tenant(true));
    assert!(msal_runtime::Msal::api(opted_in).await.is_ok());
    // A single-tenant app never needed either.
    let single = multi(|c| c);
    assert!(msal_runtime::Msal::api(single).await.is_ok());
}
