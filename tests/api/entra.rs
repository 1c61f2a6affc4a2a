//! Entra's rules for access tokens, for APIs registered for v1 tokens (Entra's default) and
//! for v2 ones.

use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, Endpoint, Fault, Mint, TestIdp, TestTenant, TestUser, TokenVersion,
};
use msal_tests::{TestApp, app_sign_in, browser, sign_in};

use msal_runtime::config::MsalConfigBuilder;

use crate::common::{
    api, app_token, assert_invalid_token, audience, call, claims, for_both_token_versions, idp,
    idp_builder, issuer, mint, user_token,
};

const FABRIKAM: &str = "0ddba11a-0000-4000-8000-000000000001";

async fn two_tenants(version: TokenVersion) -> TestIdp {
    idp_builder(version)
        .tenant(TestTenant::new(FABRIKAM, "fabrikam.test"))
        .user(TestUser::new("dave@fabrikam.test", "Dave Fabrikam").tenant(FABRIKAM))
        .start()
        .await
        .unwrap()
}

for_both_token_versions!(
    the_tenantid_template_must_match_the_tokens_tid,
    an_app_only_token_passes_app_permissions_and_nothing_delegated,
    a_token_with_neither_scp_nor_roles_is_refused_unless_allowed,
    the_tenant_allow_list_applies_to_bearer_tokens,
    the_configured_audiences_replace_the_defaults,
    a_bearer_header_is_never_rescued_by_the_session_cookie,
);

#[tokio::test]
async fn a_v1_token_from_an_issuer_on_another_host_is_accepted_once_the_v1_metadata_names_it() {
    let idp = idp(TokenVersion::V1).await;
    let app = api(&idp, |c| c).await;
    let tid = idp.tenant().id;
    let v1 = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let (_, claims) = msal_tests::decode_unverified(&v1);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["iss"], idp.v1_issuer_for(&tid));
    assert_eq!(claims["aud"], format!("api://{DEFAULT_CLIENT_ID}"));
    assert!(
        !claims["iss"].as_str().unwrap().starts_with(idp.base_url()),
        "not the authority's host"
    );
    assert_eq!(call(&app, "/api/tasks", &v1).await.status(), 200);
    assert_eq!(
        idp.requests(Endpoint::V1Discovery),
        1,
        "learned once, at discovery"
    );
}

#[tokio::test]
async fn a_v1_issuer_on_an_unrelated_host_is_refused() {
    let idp = idp(TokenVersion::V1).await;
    let app = api(&idp, |c| c).await;
    let tid = idp.tenant().id;
    // The right shape and tenant, another host than the v1 metadata names.
    for iss in [
        format!("https://sts.windows.net/{tid}/"),
        format!("{}/{tid}/", idp.base_url()),
    ] {
        let token = mint(
            &idp,
            Mint::new(claims(&idp, &["Tasks.Read"])).claim("iss", iss.clone()),
        );
        assert_invalid_token(call(&app, "/api/hello", &token).await, "issuer").await;
    }
}

#[tokio::test]
async fn without_a_v1_issuer_from_the_v1_metadata_v1_tokens_are_refused_and_v2_ones_accepted() {
    // The metadata cannot be fetched...
    let idp = idp(TokenVersion::V1).await;
    idp.set_fault(Endpoint::V1Discovery, Fault::status(503));
    let unavailable = api(&idp, |c| c).await;
    // ...or names another tenant's issuer, or one that is not a v1 issuer.
    let tid = idp.tenant().id;
    let v1 = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let v2 = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"]))
            .claim("iss", idp.issuer_for(&tid))
            .claim("aud", DEFAULT_CLIENT_ID),
    );
    assert_invalid_token(call(&unavailable, "/api/hello", &v1).await, "issuer").await;
    assert_eq!(call(&unavailable, "/api/hello", &v2).await.status(), 200);
    idp.clear_faults();
    let port = idp.addr().port();
    for lie in [
        format!("http://localhost:{port}/{FABRIKAM}/"),
        format!("http://localhost:{port}/{tid}/v2.0"),
        format!("http://evil.test/{tid}/"),
    ] {
        idp.override_v1_discovery_issuer(Some(&lie));
        let misled = api(&idp, |c| c).await;
        assert_invalid_token(call(&misled, "/api/hello", &v1).await, "issuer").await;
        assert_eq!(
            call(&misled, "/api/hello", &v2).await.status(),
            200,
            "{lie}"
        );
    }
}

async fn the_tenantid_template_must_match_the_tokens_tid(version: TokenVersion) {
    let idp = two_tenants(version).await;
    // Any tenant: this API says it scopes its app roles by `tid` itself.
    let app = api(&idp, |c| {
        c.tenant_id("organizations").roles_from_any_tenant(true)
    })
    .await;
    // Both tenants' real tokens pass the template...
    let contoso = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &contoso).await.status(), 200);
    let fabrikam = user_token(&idp, "dave@fabrikam.test", "Tasks.Read").await;
    assert_eq!(
        msal_tests::decode_unverified(&fabrikam).1["iss"],
        issuer(&idp, version, FABRIKAM)
    );
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
    let evil_iss = issuer(&idp, version, "evil");
    let evil = mint(
        &idp,
        Mint::new(claims(&idp, &["Tasks.Read"]))
            .claim("tid", "evil")
            .claim("iss", evil_iss),
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
        "00000003-0000-0000-c000-000000000000",
        "Graph, named by bare scopes"
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

async fn an_app_only_token_passes_app_permissions_and_nothing_delegated(version: TokenVersion) {
    let idp = idp(version).await;
    let app = api(&idp, |c| c).await;
    let token = app_token(&idp).await;
    let (_, claims) = msal_tests::decode_unverified(&token);
    assert!(claims.get("idtyp").is_none(), "told apart without idtyp");
    assert_eq!(claims["aud"], audience(version));
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

async fn a_token_with_neither_scp_nor_roles_is_refused_unless_allowed(version: TokenVersion) {
    let idp = idp(version).await;
    let bare = mint(&idp, Mint::new(claims(&idp, &[])).without_claim("scp"));
    let strict = api(&idp, |c| c).await;
    assert_invalid_token(call(&strict, "/api/hello", &bare).await, "grants nothing").await;
    let lenient = api(&idp, |c| c.accept_unscoped_tokens(true)).await;
    assert_eq!(call(&lenient, "/api/hello", &bare).await.status(), 200);
}

async fn the_tenant_allow_list_applies_to_bearer_tokens(version: TokenVersion) {
    let idp = two_tenants(version).await;
    let app = api(&idp, |c| {
        c.tenant_id("organizations").allowed_tenants(FABRIKAM)
    })
    .await;
    let contoso = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    assert_invalid_token(call(&app, "/api/hello", &contoso).await, "is not allowed").await;
    let fabrikam = user_token(&idp, "dave@fabrikam.test", "Tasks.Read").await;
    assert_eq!(call(&app, "/api/hello", &fabrikam).await.status(), 200);
}

async fn the_configured_audiences_replace_the_defaults(version: TokenVersion) {
    let idp = idp(version).await;
    let token = user_token(&idp, "alice@contoso.test", "Tasks.Read").await;
    let other = api(&idp, |c| c.audience("api://another-api")).await;
    assert_invalid_token(call(&other, "/api/hello", &token).await, "another audience").await;
    let ours = audience(version);
    let both = api(&idp, |c| c.audience(format!("api://another-api, {ours}"))).await;
    assert_eq!(call(&both, "/api/hello", &token).await.status(), 200);
}

async fn a_bearer_header_is_never_rescued_by_the_session_cookie(version: TokenVersion) {
    let idp = idp(version).await;
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
    let idp = two_tenants(TokenVersion::V2).await;
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
