//! Token shapes as Entra issues them: v1 access tokens unless the API asks for v2 (with the
//! v1 issuer on its own host, learned from Entra's v1 metadata), the resource's name as a v1
//! `aud`, `appidacr`/`azpacr` by credential, `idtyp`, `groups` and `wids` only on request.

use msal_runtime::testing::{
    BOB_GROUP_ID, DEFAULT_CLIENT_ID, Endpoint, Fault, TestClient, TestIdp, TestUser, TokenVersion,
};
use msal_tests::{decode_unverified, sign_in, token_request, verify};
use serde_json::{Value, json};

use crate::common::{GRAPH_APP_ID, access_token_of, json_of, sign_in_as_client};

const ORDERS: &str = "22222222-0000-4000-8000-000000000002";
const WEB: &str = "99999999-0000-4000-8000-000000000009";

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_v1_issuer_lives_on_the_other_loopback_host_and_the_v1_metadata_names_it() {
    let idp = TestIdp::start().await.unwrap();
    let tid = idp.tenant().id;
    let port = idp.addr().port();
    assert_eq!(idp.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        idp.v1_issuer_for(&tid),
        format!("http://localhost:{port}/{tid}/")
    );
    let doc = get_json(&idp.v1_discovery_url()).await;
    assert_eq!(doc["issuer"], idp.v1_issuer_for(&tid));
    assert_eq!(idp.requests(Endpoint::V1Discovery), 1);
    assert_eq!(idp.requests(Endpoint::Discovery), 0, "counted apart");
    // The same keys, at Entra's v1 path.
    let v1_keys = get_json(doc["jwks_uri"].as_str().unwrap()).await;
    let v2_keys = get_json(&idp.jwks_uri()).await;
    assert_eq!(v1_keys["keys"], v2_keys["keys"]);
    // The same listener answers on the v1 host.
    let via_v1_host = format!(
        "{}.well-known/openid-configuration",
        idp.v1_issuer_for(&tid)
    );
    assert_eq!(
        get_json(&via_v1_host).await["issuer"],
        idp.v1_issuer_for(&tid)
    );
    // Any tenant: the template, as sts.windows.net/{tenantid}/.
    let common = get_json(&format!(
        "{}/.well-known/openid-configuration",
        idp.authority_for("organizations")
    ))
    .await;
    assert_eq!(
        common["issuer"],
        format!("http://localhost:{port}/{{tenantid}}/")
    );
}

#[tokio::test]
async fn the_v1_metadata_can_fail_or_lie_on_its_own() {
    let idp = TestIdp::start().await.unwrap();
    idp.set_fault(Endpoint::V1Discovery, Fault::status(503));
    let response = reqwest::get(idp.v1_discovery_url()).await.unwrap();
    assert_eq!(response.status(), 503);
    get_json(&idp.discovery_url()).await;
    idp.clear_faults();
    idp.override_v1_discovery_issuer(Some("https://sts.example.test/someone-else/"));
    assert_eq!(
        get_json(&idp.v1_discovery_url()).await["issuer"],
        "https://sts.example.test/someone-else/"
    );
    assert_eq!(
        get_json(&idp.discovery_url()).await["issuer"],
        idp.issuer(),
        "the v2 document keeps its issuer"
    );
}

#[tokio::test]
async fn a_localhost_testidp_puts_its_v1_issuer_on_127_0_0_1() {
    let idp = TestIdp::builder().host("localhost").start().await.unwrap();
    let port = idp.addr().port();
    assert!(idp.addr().ip().is_loopback());
    assert_eq!(idp.base_url(), format!("http://localhost:{port}"));
    let tid = idp.tenant().id;
    assert_eq!(
        idp.v1_issuer_for(&tid),
        format!("http://127.0.0.1:{port}/{tid}/")
    );
    assert_eq!(idp.issuer(), format!("http://localhost:{port}/{tid}/v2.0"));
    let doc = get_json(&idp.discovery_url()).await;
    assert_eq!(doc["issuer"], idp.issuer());
    assert!(
        doc["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://localhost:{port}/"))
    );
    // A whole sign-in against it.
    let body = sign_in(&idp, "alice@contoso.test", "openid").await;
    verify(
        &idp,
        body["id_token"].as_str().unwrap(),
        DEFAULT_CLIENT_ID,
        &idp.issuer(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_new_registration_gets_v1_tokens_with_the_resource_named_as_the_client_named_it() {
    let idp = TestIdp::builder()
        .client(TestClient::new(ORDERS).scope("Orders.Read"))
        .start()
        .await
        .unwrap();
    assert_eq!(
        idp.user("alice@contoso.test").unwrap().email,
        "alice@contoso.test"
    );
    let tid = idp.tenant().id;
    let by_uri = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{ORDERS}/Orders.Read"),
    )
    .await;
    let claims = verify(
        &idp,
        &access_token_of(&by_uri),
        &format!("api://{ORDERS}"),
        &idp.v1_issuer_for(&tid),
    )
    .await
    .expect("a v1 token: App ID URI audience, v1 issuer");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["appid"], DEFAULT_CLIENT_ID);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["upn"], "alice@contoso.test");
    assert_eq!(claims["unique_name"], "alice@contoso.test");
    assert_eq!(claims["scp"], "Orders.Read");
    for v2_only in ["azp", "azpacr", "preferred_username", "idtyp"] {
        assert!(claims.get(v2_only).is_none(), "{v2_only} in a v1 token");
    }
    // Named by its client id, the audience is the client id.
    let by_id = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid {ORDERS}/Orders.Read"),
    )
    .await;
    assert_eq!(decode_unverified(&access_token_of(&by_id)).1["aud"], ORDERS);
}

#[tokio::test]
async fn an_api_that_asks_for_v2_gets_v2_tokens() {
    let idp = TestIdp::builder()
        .client(
            TestClient::new(ORDERS)
                .scope("Orders.Read")
                .access_token_version(TokenVersion::V2),
        )
        .start()
        .await
        .unwrap();
    let body = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{ORDERS}/Orders.Read"),
    )
    .await;
    let claims = verify(&idp, &access_token_of(&body), ORDERS, &idp.issuer())
        .await
        .unwrap();
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["azp"], DEFAULT_CLIENT_ID);
    assert_eq!(claims["azpacr"], "1");
    assert_eq!(claims["preferred_username"], "alice@contoso.test");
    for v1_only in ["appid", "appidacr", "upn", "unique_name"] {
        assert!(claims.get(v1_only).is_none(), "{v1_only} in a v2 token");
    }
}

#[tokio::test]
async fn graph_tokens_have_graphs_application_id_as_audience_unless_named_by_url() {
    let idp = TestIdp::start().await.unwrap();
    let bare = sign_in(&idp, "alice@contoso.test", "openid User.Read").await;
    let (_, claims) = decode_unverified(&access_token_of(&bare));
    assert_eq!(claims["aud"], GRAPH_APP_ID);
    assert_eq!(claims["idtyp"], "user", "Graph asks for idtyp");
    assert_eq!(claims["iss"], idp.v1_issuer_for(&idp.tenant().id));
    let by_url = sign_in(
        &idp,
        "alice@contoso.test",
        "openid https://graph.microsoft.com/User.Read",
    )
    .await;
    assert_eq!(
        decode_unverified(&access_token_of(&by_url)).1["aud"],
        "https://graph.microsoft.com"
    );
}

#[tokio::test]
async fn idtyp_is_an_optional_claim_of_the_api() {
    let idp = TestIdp::builder()
        .client(
            TestClient::new(ORDERS)
                .scope("Orders.Read")
                .app_role("Orders.All")
                .optional_claim_idtyp(true),
        )
        .client(
            TestClient::new(WEB)
                .secret("web-secret")
                .app_permission(format!("api://{ORDERS}/Orders.All")),
        )
        .start()
        .await
        .unwrap();
    let user = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{ORDERS}/Orders.Read"),
    )
    .await;
    assert_eq!(
        decode_unverified(&access_token_of(&user)).1["idtyp"],
        "user"
    );
    let app = json_of(
        token_request(
            &idp,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("client_secret", "web-secret"),
                ("scope", &format!("api://{ORDERS}/.default")),
            ],
        )
        .await,
        200,
    )
    .await;
    let (_, claims) = decode_unverified(&access_token_of(&app));
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["roles"], json!(["Orders.All"]));
    assert_eq!(claims["aud"], format!("api://{ORDERS}"));
}

#[tokio::test]
async fn groups_and_wids_come_only_with_group_membership_claims() {
    let admin_role = "62e90394-69f5-4237-9190-012177145e10";
    let idp = TestIdp::builder()
        .user(
            TestUser::new("root@contoso.test", "Root")
                .group("g1")
                .directory_role(admin_role),
        )
        .client(
            TestClient::new(WEB)
                .secret("web-secret")
                .redirect_uri("http://127.0.0.1/auth/callback"),
        )
        .start()
        .await
        .unwrap();
    // The default app asks for them...
    let with = sign_in(&idp, "root@contoso.test", "openid").await;
    let (_, claims) = decode_unverified(with["id_token"].as_str().unwrap());
    assert_eq!(claims["groups"], json!(["g1"]));
    assert_eq!(claims["wids"], json!([admin_role]));
    let bob = sign_in(&idp, "bob@contoso.test", "openid").await;
    let (_, claims) = decode_unverified(bob["id_token"].as_str().unwrap());
    assert_eq!(claims["groups"], json!([BOB_GROUP_ID]));
    assert!(claims.get("wids").is_none(), "Bob has no directory role");
    // ...a new registration does not.
    let without = sign_in_as_client(&idp, WEB, "web-secret", "root@contoso.test", "openid").await;
    let (_, claims) = decode_unverified(without["id_token"].as_str().unwrap());
    assert!(claims.get("groups").is_none() && claims.get("wids").is_none());
}

#[tokio::test]
async fn appidacr_says_how_the_client_authenticated() {
    const CERT_APP: &str = "66666666-0000-4000-8000-000000000006";
    let fixture = |name: &str| {
        std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    let idp = TestIdp::builder()
        .client(
            TestClient::new(CERT_APP)
                .app_role("Tasks.All")
                .app_permission(format!("api://{CERT_APP}/Tasks.All"))
                .certificate("test-only-thumbprint", fixture("test-only-client.pub.pem")),
        )
        .start()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
    header.x5t_s256 = Some("test-only-thumbprint".into());
    let assertion = jsonwebtoken::encode(
        &header,
        &json!({
            "aud": idp.token_endpoint(), "iss": CERT_APP, "sub": CERT_APP,
            "jti": "jti-1", "nbf": now, "iat": now, "exp": now + 600,
        }),
        &jsonwebtoken::EncodingKey::from_rsa_pem(fixture("test-only-client.key.pem").as_bytes())
            .unwrap(),
    )
    .unwrap();
    let body = json_of(
        token_request(
            &idp,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CERT_APP),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
                ("scope", &format!("api://{CERT_APP}/.default")),
            ],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        decode_unverified(&access_token_of(&body)).1["appidacr"],
        "2",
        "a certificate"
    );
    // A secret is 1 (the default app's v2 token says azpacr), a public client 0.
    let secret = sign_in(
        &idp,
        "alice@contoso.test",
        &format!("openid api://{DEFAULT_CLIENT_ID}/Tasks.Read"),
    )
    .await;
    assert_eq!(
        decode_unverified(&access_token_of(&secret)).1["azpacr"],
        "1"
    );
}
