//! What msal writes to the log. Secrets stay secret: what tracing prints during a full
//! sign-in, a token refresh and an API call, and what `Debug` shows of every public type
//! holding one, contain no token, refresh token, authorization code, client secret or session
//! id. An outage does not flood the log at ERROR.
//!
//! A test binary of its own: tracing's subscriber is process-wide here, so every event of
//! every task is captured (a per-thread subscriber misses events whose call sites another
//! test's thread registered first).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tokens/app.rs"]
mod app;

use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Endpoint, Fault, Mint, TestIdp,
};
use msal_runtime::{Msal, MsalConfig};
use msal_tests::{TestApp, app_callback_url, browser, param, set_cookie};
use serde_json::Value;

use crate::app::routes;

const ALICE: &str = "alice@contoso.test";
const SESSION_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

/// Everything tracing writes, kept for inspection.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Fails naming the first secret `text` shows. A JWT always starts `eyJ` (base64 of `{"`):
/// none may appear, whichever token it is.
fn assert_shows_none(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        // As written, and as a form or a Basic credential encodes it (`~` as `%7E`).
        for shown in [secret.clone(), secret.replace('~', "%7E")] {
            assert!(
                !text.contains(shown.as_str()),
                "{what} shows a secret ({}…):\n{text}",
                &secret[..secret.len().min(8)]
            );
        }
    }
    assert!(!text.contains("eyJ"), "{what} shows a JWT:\n{text}");
}

/// Everything traced in this process, from the first call on.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        // Everything at TRACE, except the cookie jar of the test's own browser (reqwest's
        // `cookie_store`), which is the client side and logs the cookies it receives.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace,cookie_store=off"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

#[tokio::test]
async fn tracing_during_sign_in_refresh_and_an_api_call_shows_no_secret() {
    let captured = captured();

    // A short token lifetime: the first token request after sign-in is a refresh.
    let idp = TestIdp::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let app = TestApp::start_routes(
        &idp,
        |c| c.scopes("User.Read").session_key(SESSION_KEY),
        routes(),
    )
    .await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, ALICE, "/").await;
    let code = param(&callback, "code").unwrap();
    let signed_in = browser.get(callback).send().await.unwrap();
    assert_eq!(signed_in.status(), 303);
    let session_id = set_cookie(&signed_in, "msal_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let sign_in_refresh = idp.issued_refresh_tokens(ALICE).unwrap();
    idp.set_token_lifetime(Duration::from_secs(3600));
    let refreshed = browser.get(app.url("/token")).send().await.unwrap();
    assert_eq!(refreshed.status(), 200);
    let access_token = refreshed.text().await.unwrap();
    let refresh_tokens = idp.issued_refresh_tokens(ALICE).unwrap();
    assert!(
        refresh_tokens.len() > sign_in_refresh.len(),
        "the token was refreshed (a new refresh token issued)"
    );

    // A web API called with a bearer token.
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let claims = idp
        .access_token_claims(ALICE, DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let bearer = idp.mint(&Mint::new(claims)).unwrap();
    let called = reqwest::Client::new()
        .get(api.url("/who"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(called.status(), 200);

    let logs = captured.text();
    // The capture works: msal's own events are in it.
    assert!(logs.contains("signed in"), "nothing captured:\n{logs}");
    let mut secrets = vec![
        code,
        session_id,
        access_token,
        bearer,
        DEFAULT_CLIENT_SECRET.to_owned(),
        SESSION_KEY.to_owned(),
    ];
    secrets.extend(refresh_tokens);
    assert_shows_none("tracing", &logs, &secrets);
}

#[tokio::test]
async fn debug_of_every_public_type_holding_a_secret_shows_none() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(
        &idp,
        |c| c.scopes("User.Read").session_key(SESSION_KEY),
        routes(),
    )
    .await;
    let browser = browser();
    msal_tests::app_sign_in(&browser, &app, ALICE, "/").await;
    let shown: Value = browser
        .get(app.url("/debug"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut secrets: Vec<String> = shown["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    secrets.extend(idp.issued_refresh_tokens(ALICE).unwrap());
    secrets.push(DEFAULT_CLIENT_SECRET.to_owned());
    let debug = shown["debug"].as_str().unwrap();
    assert!(debug.contains("AccessToken"), "{debug}");
    assert_shows_none("Debug of the extractors", debug, &secrets);

    // Configuration, the composition root, the store, and errors.
    let redis_password = "redis-password-secret";
    let config = msal_tests::app_config(&idp, &app.base_url)
        .session_key(SESSION_KEY)
        .session_store(format!("redis://user:{redis_password}@127.0.0.1:1/0"))
        .build()
        .unwrap();
    let config_debug = format!("{config:?}");
    let msal = Msal::new(msal_tests::app_config(&idp, &app.base_url).build().unwrap())
        .await
        .unwrap();
    let builder_debug = format!(
        "{:?}",
        MsalConfig::builder()
            .client_secret(DEFAULT_CLIENT_SECRET)
            .session_key(SESSION_KEY)
    );
    let rejected = MsalConfig::builder()
        .client_id(DEFAULT_CLIENT_ID)
        .client_secret(DEFAULT_CLIENT_SECRET)
        .session_key("not base64 and not secret-free: hunter2")
        .build()
        .unwrap_err();
    let error_text = format!("{rejected:?} {rejected}");
    assert!(!error_text.contains("hunter2"), "{error_text}");
    for (what, text) in [
        ("MsalConfig", config_debug),
        ("MsalConfigBuilder", builder_debug),
        ("Msal", format!("{msal:?}")),
        ("config error", error_text),
    ] {
        let secrets = vec![
            DEFAULT_CLIENT_SECRET.to_owned(),
            SESSION_KEY.to_owned(),
            redis_password.to_owned(),
        ];
        assert_shows_none(what, &text, &secrets);
    }
}

#[tokio::test]
async fn debug_of_a_rejection_shows_no_code_or_state_from_the_query() {
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let shown = reqwest::Client::new()
        .get(app.url("/denied-debug?code=the-authorization-code-secret&state=the-state-secret"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("AuthRejection"), "{shown}");
    assert!(
        shown.contains("/denied-debug"),
        "the path is shown: {shown}"
    );
    assert_shows_none(
        "Debug of AuthRejection",
        &shown,
        &[
            "the-authorization-code-secret".to_owned(),
            "the-state-secret".to_owned(),
        ],
    );
}

#[tokio::test]
async fn untrusted_text_cannot_forge_a_log_line() {
    let captured = captured();
    let idp = TestIdp::start().await.unwrap();
    // A token whose `kid` carries a line break, and a callback whose error description does.
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let claims = idp
        .access_token_claims(ALICE, DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let forged_kid = idp
        .mint(&Mint::new(claims).header("kid", "x\nFORGED-BY-KID level=INFO admin=true"))
        .unwrap();
    let refused = reqwest::Client::new()
        .get(api.url("/who"))
        .bearer_auth(&forged_kid)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let browser = browser();
    let callback = app_callback_url(&browser, &app, ALICE, "/").await;
    let state = param(&callback, "state").unwrap();
    let page = browser
        .get(app.url("/auth/callback"))
        .query(&[
            ("error", "access_denied\nFORGED-BY-ERROR"),
            (
                "error_description",
                "AADSTS1: no\nFORGED-BY-DESCRIPTION level=ERROR",
            ),
            ("state", state.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let logs = captured.text();
    assert!(
        logs.contains("FORGED-BY-KID"),
        "the kid was logged (escaped):\n{logs}"
    );
    assert!(
        logs.contains("FORGED-BY-DESCRIPTION"),
        "the description was logged (escaped)"
    );
    for line in logs.lines() {
        assert!(!line.starts_with("FORGED"), "a forged log line: {line}");
    }
}

/// Found by review: every request answered 503 during an outage wrote one ERROR line, and
/// during a JWKS outage anyone can make such requests (a token naming a key nobody knows).
/// At most one a second now, counting the rest, which go to DEBUG.
#[tokio::test]
async fn an_outage_writes_at_most_one_error_line_a_second() {
    let captured = captured();
    let idp = TestIdp::start().await.unwrap();
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    idp.set_fault(Endpoint::Jwks, Fault::status(503));
    let claims = idp
        .access_token_claims(ALICE, DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let from = captured.text().len();
    for i in 0..300 {
        let token = idp
            .mint(&Mint::new(claims.clone()).header("kid", format!("unknown-{i}")))
            .unwrap();
        let answer = client
            .get(api.url("/who"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 503);
    }
    let seconds = started.elapsed().as_secs();
    let logs = captured.text();
    let lines: Vec<&str> = logs[from..]
        .lines()
        .filter(|l| l.contains("authentication dependency unavailable"))
        .collect();
    let errors = lines.iter().filter(|l| l.contains("ERROR")).count();
    assert_eq!(
        lines.len(),
        300,
        "every refusal is logged, at one level or the other"
    );
    // A run of n.f seconds touches n + 2 clock seconds at most.
    assert!(
        errors as u64 <= seconds + 2,
        "{errors} ERROR lines in {seconds} s"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("more_at_debug=")),
        "the ERROR line counts the quieter ones"
    );
}
