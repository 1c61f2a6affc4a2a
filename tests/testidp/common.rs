//! Helpers of the TestIdp suite's Entra-behaviour tests: token requests with the fields they
//! vary, and Entra's error body read whole.

use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use msal_tests::token_request;
use serde_json::Value;

/// Microsoft Graph's application id: the `aud` of a Graph token asked for by bare scopes.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// A refresh by the default client, with an optional `scope` and `claims`.
pub async fn refresh_with(
    idp: &TestIdp,
    refresh_token: &str,
    scope: Option<&str>,
    claims: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("refresh_token", refresh_token),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    if let Some(claims) = claims {
        form.push(("claims", claims));
    }
    token_request(idp, &form).await
}

/// An on-behalf-of exchange by `client_id` (with `secret`).
pub async fn obo_as(
    idp: &TestIdp,
    client_id: &str,
    secret: &str,
    assertion: &str,
    scope: &str,
    claims: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("assertion", assertion),
        ("requested_token_use", "on_behalf_of"),
        ("scope", scope),
    ];
    if let Some(claims) = claims {
        form.push(("claims", claims));
    }
    token_request(idp, &form).await
}

/// The JSON body of a response, after asserting its status.
pub async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

/// The refresh token of a token response.
pub fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

/// The access token of a token response.
pub fn access_token_of(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}

/// `GET {graph}/me` with a token: status, `WWW-Authenticate`, body.
pub async fn graph_me(idp: &TestIdp, token: &str) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/me", idp.graph_base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.json().await.unwrap())
}

/// The code flow for another client (registered with the redirect URI
/// `http://127.0.0.1/auth/callback`) and its secret; returns the token response.
pub async fn sign_in_as_client(
    idp: &TestIdp,
    client_id: &str,
    secret: &str,
    username: &str,
    scope: &str,
) -> Value {
    let request = msal_tests::AuthRequest::new(username)
        .set("client_id", client_id)
        .set("scope", scope);
    let code = msal_tests::authorize_code(&msal_tests::browser(), idp, &request).await;
    let redemption = request.redemption(&code).set("client_secret", secret);
    json_of(msal_tests::post_token(idp, &redemption).await, 200).await
}

/// A refresh by another client.
pub async fn refresh_as_client(
    idp: &TestIdp,
    client_id: &str,
    secret: &str,
    refresh_token: &str,
    scope: &str,
) -> reqwest::Response {
    token_request(
        idp,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("refresh_token", refresh_token),
            ("scope", scope),
        ],
    )
    .await
}

/// Reads `name="…" value="…"` pairs of a page's inputs and buttons (enough for TestIdp's).
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in html.split("name=\"").skip(1) {
        let name = chunk.split('"').next().unwrap().to_owned();
        if let Some(rest) = chunk.split("value=\"").nth(1) {
            let value = rest.split('"').next().unwrap();
            let value = value
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            out.push((name, value));
        }
    }
    out
}

/// The `action` of a page's form.
pub fn form_action(html: &str) -> String {
    html.split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}
