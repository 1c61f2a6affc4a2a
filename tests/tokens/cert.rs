//! Certificate credentials: `private_key_jwt` assertions, for sign-in and for app tokens.

use msal_runtime::MsalConfig;
use msal_runtime::config::ClientCertificate;
use msal_runtime::testing::{TestClient, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser};

const CERT_APP: &str = "66666666-0000-4000-8000-000000000006";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn pem(key: &str) -> String {
    format!("{}\n{}", fixture("test-only-client.cert.pem"), fixture(key))
}

async fn idp_trusting_the_certificate() -> TestIdp {
    let thumbprint = ClientCertificate::from_pem(&pem("test-only-client.key.pem"))
        .unwrap()
        .thumbprint()
        .to_owned();
    TestIdp::builder()
        .client(
            TestClient::new(CERT_APP)
                .redirect_uri("http://127.0.0.1/auth/callback")
                .scope("Tasks.Read")
                .app_role("Tasks.ReadWrite.All")
                .app_permission(format!("api://{CERT_APP}/Tasks.ReadWrite.All"))
                .certificate(thumbprint, fixture("test-only-client.pub.pem")),
        )
        .start()
        .await
        .unwrap()
}

async fn app(idp: &TestIdp, key: &str) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = MsalConfig::builder()
        .client_id(CERT_APP)
        .client_certificate(pem(key))
        .instance(idp.base_url())
        .tenant_id(idp.tenant().id)
        .public_url(&base_url)
        .build()
        .unwrap();
    TestApp::serve_routes(listener, base_url, config, crate::app::routes()).await
}

#[tokio::test]
async fn a_certificate_signs_the_user_in_and_gets_app_tokens() {
    let idp = idp_trusting_the_certificate().await;
    let app = app(&idp, "test-only-client.key.pem").await;
    assert_eq!(
        app_sign_in(&browser(), &app, "alice@contoso.test", "/")
            .await
            .status(),
        303
    );
    let token = app
        .msal
        .app_token(&[&format!("api://{CERT_APP}/.default")])
        .await
        .unwrap();
    let claims = msal_tests::decode_unverified(token.secret()).1;
    assert_eq!(claims["roles"], serde_json::json!(["Tasks.ReadWrite.All"]));
    // A new registration's API gets v1 tokens (Entra's default): `appidacr`, and 2 for a
    // certificate credential.
    assert_eq!(claims["appidacr"], "2", "a certificate credential");
}

#[tokio::test]
async fn an_assertion_signed_with_another_key_is_refused() {
    let idp = idp_trusting_the_certificate().await;
    // The registered certificate's thumbprint, but a key that is not its own.
    let app = app(&idp, "test-only-wrong.key.pem").await;
    let err = app
        .msal
        .app_token(&[&format!("api://{CERT_APP}/.default")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(err.to_string().contains("AADSTS700027"), "{err}");
    let refused = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("invalid_client"));
}

#[tokio::test]
async fn an_unregistered_certificate_is_refused() {
    let idp = TestIdp::builder()
        .client(TestClient::new(CERT_APP).redirect_uri("http://127.0.0.1/auth/callback"))
        .start()
        .await
        .unwrap();
    let app = app(&idp, "test-only-client.key.pem").await;
    let err = app
        .msal
        .app_token(&[&format!("api://{CERT_APP}/.default")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not registered"), "{err}");
}

#[test]
fn certificate_config_is_checked_and_never_shown() {
    let err = MsalConfig::builder()
        .client_id(CERT_APP)
        .tenant_id("organizations")
        .client_certificate("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("MSAL_CLIENT_CERTIFICATE"), "{err}");
    let both = MsalConfig::builder()
        .client_id(CERT_APP)
        .tenant_id("organizations")
        .client_secret("s")
        .client_certificate(pem("test-only-client.key.pem"))
        .build()
        .unwrap_err();
    assert!(
        both.to_string().contains("use one client credential"),
        "{both}"
    );
    let config = MsalConfig::builder()
        .client_id(CERT_APP)
        .tenant_id("organizations")
        .client_certificate(pem("test-only-client.key.pem"))
        .build()
        .unwrap();
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains("MII"),
        "{shown}"
    );
}
