use msal_runtime::testing::{DEFAULT_TENANT_DOMAIN, DEFAULT_TENANT_ID, TestIdp};
use serde_json::Value;

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn discovery_for_a_tenant_names_its_own_issuer_and_endpoints() {
    let idp = TestIdp::start().await.unwrap();
    let (status, doc) = get_json(&idp.discovery_url()).await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], idp.issuer());
    assert_eq!(doc["authorization_endpoint"], idp.authorize_endpoint());
    assert_eq!(doc["token_endpoint"], idp.token_endpoint());
    assert_eq!(doc["jwks_uri"], idp.jwks_uri());
    assert_eq!(doc["end_session_endpoint"], idp.end_session_endpoint());
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert!(
        doc["response_modes_supported"]
            .as_array()
            .unwrap()
            .contains(&"form_post".into())
    );
}

#[tokio::test]
async fn discovery_by_domain_resolves_to_the_tenant_id() {
    let idp = TestIdp::start().await.unwrap();
    let url = format!(
        "{}/{DEFAULT_TENANT_DOMAIN}/v2.0/.well-known/openid-configuration",
        idp.base_url()
    );
    let (status, doc) = get_json(&url).await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], idp.issuer_for(DEFAULT_TENANT_ID));
    assert_eq!(doc["token_endpoint"], idp.token_endpoint());
}

#[tokio::test]
async fn common_and_organizations_serve_the_tenantid_issuer_template() {
    let idp = TestIdp::start().await.unwrap();
    for segment in ["common", "organizations"] {
        let url = format!(
            "{}/v2.0/.well-known/openid-configuration",
            idp.authority_for(segment)
        );
        let (status, doc) = get_json(&url).await;
        assert_eq!(status, 200);
        assert_eq!(
            doc["issuer"],
            format!("{}/{{tenantid}}/v2.0", idp.base_url())
        );
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{}/oauth2/v2.0/authorize", idp.authority_for(segment))
        );
    }
}

#[tokio::test]
async fn unknown_tenant_is_refused_with_aadsts90002() {
    let idp = TestIdp::start().await.unwrap();
    let url = format!(
        "{}/v2.0/.well-known/openid-configuration",
        idp.authority_for("nobody.test")
    );
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_tenant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS90002:")
    );
    let (status, _) = get_json(&format!(
        "{}/discovery/v2.0/keys",
        idp.authority_for("nobody.test")
    ))
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn jwks_publishes_the_current_rsa_key_in_entras_shape() {
    let idp = TestIdp::start().await.unwrap();
    let (status, doc) = get_json(&idp.jwks_uri()).await;
    assert_eq!(status, 200);
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], idp.current_kid().unwrap());
    assert_eq!(key["e"], "AQAB");
    assert_eq!(key["issuer"], idp.issuer());
    assert!(key["n"].as_str().unwrap().len() > 300, "a 2048-bit modulus");
    assert!(
        key.get("d").is_none() && key.get("p").is_none(),
        "no private parts"
    );
}

/// Instances in one process draw RSA material from one generated pool (tests running in
/// parallel may land two of them on the same modulus), but every key an instance publishes
/// has an id of its own: a token from one never finds its key in the other's JWKS.
#[tokio::test]
async fn two_instances_never_publish_each_others_key_ids() {
    let a = TestIdp::start().await.unwrap();
    let b = TestIdp::start().await.unwrap();
    b.rotate_keys(msal_runtime::testing::KeyRotation::KeepOld)
        .unwrap();
    assert_ne!(a.current_kid().unwrap(), b.current_kid().unwrap());
    let kids = |doc: &Value| -> Vec<String> {
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, ja) = get_json(&a.jwks_uri()).await;
    let (_, jb) = get_json(&b.jwks_uri()).await;
    let (ka, kb) = (kids(&ja), kids(&jb));
    assert_eq!((ka.len(), kb.len()), (1, 2));
    assert!(
        ka.iter().all(|kid| !kb.contains(kid)),
        "a: {ka:?}, b: {kb:?}"
    );
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let idp = TestIdp::start().await.unwrap();
    let url = idp.discovery_url();
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    idp.shutdown().await;
    assert!(
        reqwest::get(&url).await.is_err(),
        "port closed after shutdown"
    );
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let idp = TestIdp::start().await.unwrap();
    let url = idp.discovery_url();
    drop(idp);
    let mut refused = false;
    for _ in 0..50 {
        if reqwest::get(&url).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "still answering after drop");
}

#[tokio::test]
async fn unknown_path_is_a_json_404() {
    let idp = TestIdp::start().await.unwrap();
    let response = reqwest::get(format!("{}/nope", idp.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
