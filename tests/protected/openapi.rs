//! OpenAPI and Swagger UI sign-in on the demo: the document, the Swagger flow over HTTP,
//! and Swagger UI's assets.

use msal_runtime::config::MsalConfigBuilder;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestIdp};
use msal_tests::{Pkce, TestApp, location, param};
use serde_json::Value;

async fn demo_with_docs(idp: &TestIdp) -> TestApp {
    demo_with_docs_and(idp, |c| c).await
}

async fn demo_with_docs_and(
    idp: &TestIdp,
    tweak: impl FnOnce(MsalConfigBuilder) -> MsalConfigBuilder,
) -> TestApp {
    TestApp::start_with_msal(idp, tweak, axum::Router::new(), |msal| {
        msal_examples::demo::router(msal).merge(msal_examples::demo::docs(msal))
    })
    .await
}

#[tokio::test]
async fn the_document_holds_the_scheme_and_each_protected_routes_lock() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flow = &doc["components"]["securitySchemes"]["msal"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], "/auth/swagger/authorize");
    assert_eq!(flow["tokenUrl"], "/auth/swagger/token");
    // Only this API's scopes: `User.Read` is what /graph/me calls Microsoft Graph with, not
    // a scope of this API, so Swagger does not offer it (asking for it fails at Entra).
    assert_eq!(
        flow["scopes"],
        serde_json::json!({ format!("api://{DEFAULT_CLIENT_ID}/.default"): "everything this API exposes" }),
        "{flow}"
    );
    let security = |path: &str| doc["paths"][path]["get"]["security"].clone();
    assert_eq!(security("/me"), serde_json::json!([{ "msal": [] }]));
    assert_eq!(security("/admin"), serde_json::json!([{ "msal": [] }]));
    assert_eq!(security("/graph/me"), serde_json::json!([{ "msal": [] }]));
    assert_eq!(
        security("/health"),
        Value::Null,
        "public routes have no lock"
    );
    let admin = &doc["paths"]["/admin"]["get"]["responses"];
    assert_eq!(
        admin["403"]["description"],
        "Forbidden: this needs the app role Admin."
    );
    assert!(admin["401"].is_object());
    assert!(
        doc["paths"]["/health"]["get"]["responses"]
            .get("401")
            .is_none()
    );
}

#[tokio::test]
async fn the_document_holds_the_files_layers_lock_and_the_audit_step_up() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // `/files` has no handler: its lock comes from its layer, `msal.require(msal_rule!())`.
    let file = &doc["paths"]["/files/{path}"]["get"];
    assert_eq!(
        file["security"],
        serde_json::json!([{ "msal": [] }]),
        "{file}"
    );
    assert_eq!(
        file["responses"]["401"]["description"],
        "Not signed in, or the token is missing, expired or invalid."
    );
    assert_eq!(
        file["responses"]["403"]["description"],
        "Forbidden: this needs a signed-in user."
    );
    assert_eq!(file["responses"]["200"]["description"], "The file");
    let audit = &doc["paths"]["/admin/audit"]["get"];
    assert_eq!(audit["security"], serde_json::json!([{ "msal": [] }]));
    assert_eq!(
        audit["responses"]["403"]["description"],
        "Forbidden: this needs the app role Admin, and a sign-in within the last 5 minutes."
    );
    let description = audit["description"].as_str().unwrap();
    assert!(
        description.contains(
            "Needs a sign-in within the last 5 minutes; a caller whose sign-in is older is asked to authenticate again (RFC 9470 step-up)."
        ),
        "{description}"
    );
}

#[tokio::test]
async fn docs_serve_swagger_ui_and_its_assets() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let page = reqwest::get(app.url("/docs/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/oauth2-redirect.html",
        "/docs/swagger-initializer.js",
    ] {
        let response = reqwest::get(app.url(asset)).await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
    }
    let init = reqwest::get(app.url("/docs/swagger-initializer.js"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        init.contains(DEFAULT_CLIENT_ID),
        "Swagger knows the client id"
    );
    assert!(
        !init.contains(msal_runtime::testing::DEFAULT_CLIENT_SECRET),
        "but never the secret"
    );
}

/// Swagger's authorize request for `scope`, as its popup sends it.
async fn swagger_authorize(
    browser: &reqwest::Client,
    app: &TestApp,
    username: &str,
    pkce: &Pkce,
    scope: &str,
) -> reqwest::Response {
    let redirect = app.url("/docs/oauth2-redirect.html");
    browser
        .get(app.url("/auth/swagger/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope),
            ("state", "swagger-state"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("login_hint", username),
        ])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

/// Swagger UI's flow, as its popup and its JavaScript would drive it.
async fn swagger_sign_in(app: &TestApp, username: &str, pkce: &Pkce) -> (reqwest::Client, String) {
    let browser = msal_tests::browser();
    let redirect = app.url("/docs/oauth2-redirect.html");
    let authorize = swagger_authorize(&browser, app, username, pkce, "").await;
    assert_eq!(authorize.status(), 302, "{:?}", authorize.text().await);
    let at_idp = browser.get(location(&authorize)).send().await.unwrap();
    let callback = browser.get(location(&at_idp)).send().await.unwrap();
    assert_eq!(callback.status(), 303);
    assert!(
        callback
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("msal_session=")),
        "no session for Swagger"
    );
    let back = location(&callback);
    assert!(back.as_str().starts_with(&redirect), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("swagger-state"));
    (browser, param(&back, "code").unwrap())
}

async fn redeem(app: &TestApp, code: &str, verifier: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/auth/swagger/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", DEFAULT_CLIENT_ID),
            ("redirect_uri", &app.url("/docs/oauth2-redirect.html")),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_swagger_flow_yields_a_token_the_api_accepts() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(&app, "bob@contoso.test", &pkce).await;
    let response = redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    let (_, claims) = msal_tests::decode_unverified(token);
    assert_eq!(
        claims["aud"], DEFAULT_CLIENT_ID,
        "a token for this API, not Graph's"
    );
    let admin = reqwest::Client::new()
        .get(app.url("/admin"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let me: Value = reqwest::Client::new()
        .get(app.url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Bob Admin");
}

#[tokio::test]
async fn a_replayed_or_unverified_swagger_code_is_refused() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(&app, "alice@contoso.test", &pkce).await;
    assert_eq!(redeem(&app, &code, &pkce.verifier).await.status(), 200);
    let replay = redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let (_, code) = swagger_sign_in(&app, "alice@contoso.test", &pkce).await;
    let wrong = redeem(&app, &code, &Pkce::new().verifier).await;
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().await.unwrap().contains("code_verifier"));
    assert_eq!(
        redeem(&app, &code, &pkce.verifier).await.status(),
        400,
        "a failed attempt spends the code"
    );
    assert_eq!(redeem(&app, "made-up", &pkce.verifier).await.status(), 400);
}

#[tokio::test]
async fn swagger_authorize_checks_its_request() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let ask = |redirect: String, challenge: Option<&str>| {
        let url = app.url("/auth/swagger/authorize");
        let challenge = challenge.map(str::to_owned);
        async move {
            let mut query = vec![
                ("response_type", "code".to_owned()),
                ("client_id", DEFAULT_CLIENT_ID.to_owned()),
                ("redirect_uri", redirect),
            ];
            if let Some(c) = challenge {
                query.push(("code_challenge", c));
                query.push(("code_challenge_method", "S256".into()));
            }
            msal_tests::browser()
                .get(url)
                .query(&query)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
        }
    };
    let elsewhere = ask("https://evil.test/steal".into(), Some(&pkce.challenge)).await;
    assert_eq!(elsewhere.status(), 400);
    let no_pkce = ask(app.url("/docs/oauth2-redirect.html"), None).await;
    assert_eq!(no_pkce.status(), 400);
    assert!(no_pkce.text().await.unwrap().contains("PKCE"));
}

#[tokio::test]
async fn swagger_asks_only_for_this_apis_scopes() {
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs(&idp).await;
    let pkce = Pkce::new();
    let browser = msal_tests::browser();
    // `User.Read` is what /graph/me calls Graph with: a Graph scope, never Swagger's.
    for foreign in [
        "User.Read",
        "https://graph.microsoft.com/User.Read",
        "api://orders/Orders.Read",
        &format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read User.Read"),
    ] {
        let refused = swagger_authorize(&browser, &app, "alice@contoso.test", &pkce, foreign).await;
        assert_eq!(refused.status(), 400, "{foreign}");
        let text = refused.text().await.unwrap();
        assert!(text.contains("this API only"), "{foreign}: {text}");
    }
    let own = format!("api://{DEFAULT_CLIENT_ID}/Tasks.Read");
    assert_eq!(
        swagger_authorize(&browser, &app, "alice@contoso.test", &pkce, &own)
            .await
            .status(),
        302
    );
}

#[tokio::test]
async fn swagger_is_handed_only_tokens_this_api_accepts() {
    // This API accepts only `api://…` audiences, and TestIdp's v2 tokens say the client
    // id: the identity provider's token is not one for this API, so Swagger gets none.
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs_and(&idp, |c| c.audience(format!("api://{DEFAULT_CLIENT_ID}"))).await;
    let browser = msal_tests::browser();
    let pkce = Pkce::new();
    let authorize = swagger_authorize(&browser, &app, "alice@contoso.test", &pkce, "").await;
    assert_eq!(authorize.status(), 302);
    let at_idp = browser.get(location(&authorize)).send().await.unwrap();
    let callback = browser.get(location(&at_idp)).send().await.unwrap();
    assert_eq!(callback.status(), 400);
    let text = callback.text().await.unwrap();
    assert!(text.contains("not one this API accepts"), "{text}");
}

#[tokio::test]
async fn swagger_routes_exist_only_where_swagger_ui_is_merged() {
    let idp = TestIdp::start().await.unwrap();
    let without_docs = TestApp::start_with_msal(
        &idp,
        |c| c,
        axum::Router::new(),
        msal_examples::demo::router,
    )
    .await;
    for path in ["/auth/swagger/authorize", "/auth/swagger/token"] {
        let response = reqwest::Client::new()
            .post(without_docs.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

/// Eight redemptions of one code at once: exactly one token.
async fn eight_redemptions_at_once(app: &TestApp) {
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(app, "alice@contoso.test", &pkce).await;
    let mut all = tokio::task::JoinSet::new();
    let client = reqwest::Client::new();
    for _ in 0..8 {
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("client_id", DEFAULT_CLIENT_ID.to_owned()),
            ("redirect_uri", app.url("/docs/oauth2-redirect.html")),
            ("code_verifier", pkce.verifier.clone()),
        ];
        all.spawn(
            client
                .post(app.url("/auth/swagger/token"))
                .form(&form)
                .send(),
        );
    }
    let statuses = msal_tests::statuses_of(all).await;
    assert_eq!(
        statuses,
        [200, 400, 400, 400, 400, 400, 400, 400],
        "{statuses:?}"
    );
}

// Several worker threads, so the eight redemptions really run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_swagger_code_succeed_once_in_memory() {
    let idp = TestIdp::start().await.unwrap();
    eight_redemptions_at_once(&demo_with_docs(&idp).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_swagger_code_succeed_once_in_redis() {
    let Some(redis) = msal_tests::redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let app = demo_with_docs_and(&idp, move |c| c.session_store(redis)).await;
    eight_redemptions_at_once(&app).await;
}

#[tokio::test]
async fn with_a_session_key_a_waiting_swagger_code_holds_no_readable_token() {
    let Some(redis) = msal_tests::redis_url().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let r = redis.clone();
    let app = demo_with_docs_and(&idp, move |c| {
        c.session_store(r)
            .session_key("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
    })
    .await;
    let pkce = Pkce::new();
    let (_, code) = swagger_sign_in(&app, "alice@contoso.test", &pkce).await;
    // The record a code names, found the way the store names it: by a digest, never the code.
    use sha2::Digest as _;
    let digest = sha2::Sha256::new()
        .chain_update("swagger")
        .chain_update([0])
        .chain_update(&code)
        .finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let key = format!("msal:{DEFAULT_CLIENT_ID}:swagger:{hex}");
    let held = String::from_utf8(
        msal_tests::redis_command(&redis, &["GET", &key])
            .await
            .concat(),
    )
    .unwrap();
    assert!(!held.is_empty(), "the grant waits under {key}");
    assert!(
        !msal_tests::contains_jwt(&held) && !held.contains("access_token"),
        "sealed: {held}"
    );
    // And it still redeems.
    assert_eq!(redeem(&app, &code, &pkce.verifier).await.status(), 200);
}

// `Msal::document_required`: what a `RequireLayer` covers is documented as a handler with
// the same requirement is.

mod required {
    use axum::Router;
    use axum::http::request::Parts;
    use axum::routing::get;
    use msal_runtime::testing::{DEFAULT_CLIENT_ID, TestIdp};
    use msal_runtime::{
        CheckError, Msal, Protection, RequireLayer, User, msal_protected, msal_rule,
    };
    use msal_tests::TestApp;
    use serde_json::{Value, json};
    use utoipa::OpenApi as _;

    async fn owns(_: &User, _: &mut Parts) -> Result<bool, CheckError> {
        Ok(true)
    }

    /// What `/handler/keys` requires, as a layer.
    fn keys_rule() -> Protection {
        msal_rule!(roles = "Admin", auth_context = "c1", max_age = "10m")
    }

    /// Every kind of note, and a scope of this API.
    fn everything_rule() -> Protection {
        msal_rule!(
            scopes = "api://11111111-2222-4333-8444-555555555555/Files.Read",
            max_age = "5m",
            acr = "phr",
            check = owns,
            auth_context = "c2"
        )
    }

    fn signed_in_rule() -> Protection {
        msal_rule!()
    }

    #[utoipa::path(get, path = "/handler/keys", responses((status = 200, description = "keys")))]
    #[msal_protected(roles = "Admin", auth_context = "c1", max_age = "10m")]
    async fn handler_keys() -> &'static str {
        "keys"
    }

    #[utoipa::path(get, path = "/layer/keys", responses((status = 200, description = "keys")))]
    async fn layer_keys() -> &'static str {
        "keys"
    }

    #[utoipa::path(get, path = "/files/{path}", params(("path" = String, Path)), responses((status = 200, description = "a file")))]
    #[allow(dead_code, reason = "documented, never served")]
    async fn file() {}

    #[utoipa::path(post, path = "/files/upload", responses((status = 201, description = "stored")))]
    #[allow(dead_code, reason = "documented, never served")]
    async fn upload() {}

    #[utoipa::path(get, path = "/files", responses((status = 200, description = "the index")))]
    #[allow(dead_code, reason = "documented, never served")]
    async fn files_index() {}

    #[utoipa::path(get, path = "/filesystem", responses((status = 200, description = "elsewhere")))]
    #[allow(dead_code, reason = "documented, never served")]
    async fn filesystem() {}

    /// Also behind the `/files` layer, and a handler of its own.
    #[utoipa::path(get, path = "/files/admin", responses((status = 200, description = "admin files")))]
    #[msal_protected(
        roles = "Admin",
        scopes = "api://11111111-2222-4333-8444-555555555555/Files.Admin"
    )]
    #[allow(dead_code, reason = "documented, never served")]
    async fn files_admin() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        handler_keys,
        layer_keys,
        file,
        upload,
        files_index,
        filesystem,
        files_admin
    ))]
    struct Doc;

    async fn msal(idp: &TestIdp) -> Msal {
        Msal::new(
            msal_tests::app_config(idp, "http://127.0.0.1:1")
                .build()
                .unwrap(),
        )
        .await
        .unwrap()
    }

    fn layer(msal: &Msal, protection: Protection) -> RequireLayer {
        msal.require(protection)
    }

    fn operation(doc: &Value, path: &str, method: &str) -> Value {
        let mut operation = doc["paths"][path][method].clone();
        assert!(operation.is_object(), "{path} {method}: {doc}");
        operation.as_object_mut().unwrap().remove("operationId");
        operation
    }

    /// The handler and the layered route of the document, and the document served by
    /// Swagger UI's router.
    fn keys_app(msal: &Msal) -> Router {
        let keys = layer(msal, keys_rule());
        let mut doc = Doc::openapi();
        msal.document_required(&mut doc, "/layer", &keys);
        Router::new()
            .route("/handler/keys", get(handler_keys))
            .nest(
                "/layer",
                Router::new()
                    .route("/keys", get(layer_keys))
                    .route_layer(keys),
            )
            .merge(msal.swagger_ui(doc, module_path!()))
    }

    #[tokio::test]
    async fn a_layers_operations_are_documented_as_a_handler_with_its_requirement() {
        let idp = TestIdp::start().await.unwrap();
        let app = TestApp::start_with_msal(&idp, |c| c, Router::new(), keys_app).await;
        let doc: Value = reqwest::get(app.url("/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let handler = operation(&doc, "/handler/keys", "get");
        assert_eq!(handler["security"], json!([{ "msal": [] }]), "{handler}");
        let description = handler["description"].as_str().unwrap();
        assert!(
            description.contains("authentication context c1")
                && description.contains("RFC 9470 step-up"),
            "{handler}"
        );
        assert_eq!(operation(&doc, "/layer/keys", "get"), handler);
        // And both answer as documented.
        let alice = msal_tests::browser();
        msal_tests::app_sign_in(&alice, &app, "alice@contoso.test", "/").await;
        for path in ["/handler/keys", "/layer/keys"] {
            let refused = alice
                .get(app.url(path))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(refused.status(), 403, "{path}");
            let body: Value = refused.json().await.unwrap();
            assert_eq!(
                body["detail"],
                "This needs the app role Admin, and the authentication context c1, and a sign-in within the last 10 minutes.",
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn every_operation_under_the_prefix_gets_the_lock_the_responses_and_the_notes() {
        let idp = TestIdp::start().await.unwrap();
        let msal = msal(&idp).await;
        let mut doc = Doc::openapi();
        msal.document_required(&mut doc, "/files", &layer(&msal, everything_rule()));
        let doc = serde_json::to_value(&doc).unwrap();
        let scope = format!("api://{DEFAULT_CLIENT_ID}/Files.Read");
        for (path, method) in [
            ("/files", "get"),
            ("/files/{path}", "get"),
            ("/files/upload", "post"),
        ] {
            let operation = operation(&doc, path, method);
            assert_eq!(
                operation["security"],
                json!([{ "msal": [scope] }]),
                "{path}"
            );
            let responses = &operation["responses"];
            assert_eq!(
                responses["401"]["description"],
                "Not signed in, or the token is missing, expired or invalid.",
                "{path}"
            );
            assert_eq!(
                responses["403"]["description"],
                format!(
                    "Forbidden: this needs the scopes {scope}, and a sign-in within the last 5 minutes, and a sign-in of the authentication level phr, and the check owns, and the authentication context c2."
                ),
                "{path}"
            );
            let description = operation["description"].as_str().unwrap();
            for note in [
                "Needs a sign-in within the last 5 minutes; a caller whose sign-in is older is asked to authenticate again (RFC 9470 step-up).",
                "Needs a sign-in of the authentication level phr (the `acr` claim)",
                "Access also rests on a resource-level check, `owns`: 403 when it refuses.",
                "Needs the Conditional Access authentication context c2",
            ] {
                assert!(description.contains(note), "{path}: {description}");
            }
        }
        // A path that only starts with the same letters is not under it.
        let elsewhere = &doc["paths"]["/filesystem"]["get"];
        assert!(elsewhere.get("security").is_none(), "{elsewhere}");
        assert!(elsewhere["responses"].get("401").is_none());
        assert!(doc["paths"]["/layer/keys"]["get"].get("security").is_none());
        // The scheme offers the layer's scope of this API (and no placeholder beside it).
        let flow = &doc["components"]["securitySchemes"]["msal"]["flows"]["authorizationCode"];
        assert_eq!(
            flow["scopes"],
            json!({ scope.clone(): format!("the delegated scope {scope}") }),
            "{flow}"
        );
    }

    #[tokio::test]
    async fn a_handler_under_a_layer_is_documented_as_needing_both_and_documenting_twice_changes_nothing()
     {
        let idp = TestIdp::start().await.unwrap();
        let msal = msal(&idp).await;
        let everything = layer(&msal, everything_rule());
        let signed_in = layer(&msal, signed_in_rule());
        let mut doc = Doc::openapi();
        // The layer first, then the handlers (as `swagger_ui` does after it), then again.
        msal.document_required(&mut doc, "/files", &everything);
        msal.document_required(&mut doc, "/", &signed_in);
        msal.document(&mut doc, module_path!());
        let once = serde_json::to_value(&doc).unwrap();
        msal.document(&mut doc, module_path!());
        msal.document_required(&mut doc, "/files", &everything);
        msal.document_required(&mut doc, "/", &signed_in);
        assert_eq!(serde_json::to_value(&doc).unwrap(), once);

        let admin = operation(&once, "/files/admin", "get");
        let read = format!("api://{DEFAULT_CLIENT_ID}/Files.Read");
        let write = format!("api://{DEFAULT_CLIENT_ID}/Files.Admin");
        assert_eq!(
            admin["security"],
            json!([{ "msal": [read, write] }]),
            "{admin}"
        );
        let forbidden = admin["responses"]["403"]["description"].as_str().unwrap();
        assert!(
            forbidden.starts_with(&format!("Forbidden: this needs the scopes {read}, and "))
                && forbidden.ends_with(&format!(
                    ", and the app role Admin, and the scopes {write}."
                ))
                && !forbidden.contains("a signed-in user"),
            "{forbidden}"
        );
        assert!(
            admin["description"]
                .as_str()
                .unwrap()
                .contains("RFC 9470 step-up"),
            "{admin}"
        );
        // `/` covers every path: the public one now needs a signed-in user.
        let elsewhere = operation(&once, "/filesystem", "get");
        assert_eq!(elsewhere["security"], json!([{ "msal": [] }]));
        assert_eq!(
            elsewhere["responses"]["403"]["description"],
            "Forbidden: this needs a signed-in user."
        );
        let flow = &once["components"]["securitySchemes"]["msal"]["flows"]["authorizationCode"];
        let scopes: Vec<&String> = flow["scopes"].as_object().unwrap().keys().collect();
        assert_eq!(scopes, [&write, &read], "{flow}");
    }
}
