//! Shared helpers for msal-axum's end-to-end suites: a browser-like HTTP client, PKCE, the
//! authorization request, and an independent JWT verifier (jsonwebtoken against the live
//! JWKS), so TestIdp's tokens are checked by code that shares nothing with it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers: a failed step fails the test

pub mod redis_servers;
pub mod relay;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

/// The redirect URI tests use with the default client (any loopback port is registered).
pub const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

/// A client that keeps cookies like a browser but never follows redirects, so every hop can
/// be asserted.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A PKCE verifier and its S256 challenge.
#[derive(Clone, Debug)]
pub struct Pkce {
    /// The secret the client keeps.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`, sent on the authorize request.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random pair.
    pub fn new() -> Self {
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// Form or query parameters in order, with `set`/`remove` for building variants.
#[derive(Clone, Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// These pairs, in order.
    pub fn new(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// Sets (or replaces) a parameter.
    pub fn set(self, name: &str, value: &str) -> Self {
        let mut out = self.remove(name);
        out.0.push((name.to_owned(), value.to_owned()));
        out
    }

    /// Removes a parameter.
    pub fn remove(mut self, name: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An authorization request as a relying party would build it.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    /// The parameters, in order.
    pub params: Params,
    /// The PKCE pair whose challenge is in `params`.
    pub pkce: Pkce,
}

impl AuthRequest {
    /// The default client signing in `login_hint` with `openid profile email offline_access`.
    pub fn new(login_hint: &str) -> Self {
        let pkce = Pkce::new();
        let params = Params::new(&[
            ("client_id", DEFAULT_CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid profile email offline_access"),
            ("state", "state-123"),
            ("nonce", "nonce-456"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("login_hint", login_hint),
        ]);
        Self { params, pkce }
    }

    /// Sets (or replaces) a parameter.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.params = self.params.set(name, value);
        self
    }

    /// Removes a parameter.
    pub fn remove(mut self, name: &str) -> Self {
        self.params = self.params.remove(name);
        self
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The full authorize URL at `authorize_endpoint`.
    pub fn url(&self, authorize_endpoint: &str) -> String {
        let mut url = Url::parse(authorize_endpoint).unwrap();
        url.query_pairs_mut().extend_pairs(&self.params.0);
        url.into()
    }

    /// The token request that redeems `code` from this request, as the default client
    /// with `client_secret_post`.
    pub fn redemption(&self, code: &str) -> Params {
        Params::new(&[
            ("grant_type", "authorization_code"),
            ("client_id", self.get("client_id").unwrap_or_default()),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", self.get("redirect_uri").unwrap_or_default()),
            ("code_verifier", &self.pkce.verifier),
        ])
    }
}

/// Sends the authorize request from `browser` (cookies kept, redirects not followed).
pub async fn send_authorize(
    browser: &reqwest::Client,
    idp: &TestIdp,
    request: &AuthRequest,
) -> reqwest::Response {
    browser
        .get(request.url(&idp.authorize_endpoint()))
        .send()
        .await
        .unwrap()
}

/// Asserts an authorize error sent back to the app: a redirect with `error`, an
/// `error_description` starting with the AADSTS code, the request's `state`, and no code.
pub fn assert_redirected_error(response: &reqwest::Response, error: &str, aadsts: &str) {
    assert_eq!(response.status(), 302, "expected a redirect for {error}");
    let back = location(response);
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some(error), "{back}");
    let description = param(&back, "error_description").unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{aadsts}:")),
        "{description}"
    );
    assert_eq!(param(&back, "state").as_deref(), Some("state-123"));
    assert_eq!(param(&back, "code"), None);
}

/// The `Location` header of a response, parsed.
pub fn location(response: &reqwest::Response) -> Url {
    let value = response
        .headers()
        .get(reqwest::header::LOCATION)
        .unwrap_or_else(|| panic!("no Location header; status {}", response.status()));
    Url::parse(value.to_str().unwrap()).unwrap()
}

/// A query parameter of a URL.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Sends the authorize request and returns the code from the redirect back to the app.
pub async fn authorize_code(
    browser: &reqwest::Client,
    idp: &TestIdp,
    request: &AuthRequest,
) -> String {
    let response = send_authorize(browser, idp, request).await;
    assert_eq!(response.status(), 302, "authorize should redirect back");
    let back = location(&response);
    assert_eq!(param(&back, "error"), None, "authorize failed: {back}");
    param(&back, "code").expect("a code")
}

/// Redeems a code at the token endpoint with `client_secret_post`.
pub async fn redeem(idp: &TestIdp, code: &str, request: &AuthRequest) -> reqwest::Response {
    post_token(idp, &request.redemption(code)).await
}

/// Posts a form to the token endpoint.
pub async fn post_token(idp: &TestIdp, form: &Params) -> reqwest::Response {
    reqwest::Client::new()
        .post(idp.token_endpoint())
        .form(&form.0)
        .send()
        .await
        .unwrap()
}

/// Posts these pairs to the token endpoint.
pub async fn token_request(idp: &TestIdp, form: &[(&str, &str)]) -> reqwest::Response {
    post_token(idp, &Params::new(form)).await
}

/// The whole code flow for a user at the default tenant; returns the token response.
pub async fn sign_in(idp: &TestIdp, username: &str, scope: &str) -> Value {
    sign_in_via(idp, &idp.tenant().id, username, scope).await
}

/// The whole code flow through the authority `{base}/{tenant}` (a tenant id, a domain,
/// `common` or `organizations`); returns the token response.
pub async fn sign_in_via(idp: &TestIdp, tenant: &str, username: &str, scope: &str) -> Value {
    let request = AuthRequest::new(username).set("scope", scope);
    let authorize = format!("{}/oauth2/v2.0/authorize", idp.authority_for(tenant));
    let response = browser().get(request.url(&authorize)).send().await.unwrap();
    assert_eq!(response.status(), 302, "authorize should redirect back");
    let back = location(&response);
    assert_eq!(param(&back, "error"), None, "authorize failed: {back}");
    let code = param(&back, "code").expect("a code");
    let response = redeem(idp, &code, &request).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `(error, error_description)` of an OAuth JSON error response, after asserting its status.
pub async fn oauth_error(response: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    (
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Header and claims of a JWT, without verifying anything.
pub fn decode_unverified(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    let header = part();
    let claims = part();
    (header, claims)
}

/// The JWKS as the IdP serves it now.
pub async fn jwks(idp: &TestIdp) -> JwkSet {
    reqwest::get(idp.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies a token independently: signature against the served JWKS (by `kid`), `alg`
/// from the key, `aud`, `iss`, `exp` and `nbf` with no leeway.
pub async fn verify(
    idp: &TestIdp,
    token: &str,
    audience: &str,
    issuer: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let header = jsonwebtoken::decode_header(token)?;
    let set = jwks(idp).await;
    let kid = header.kid.clone().unwrap_or_default();
    let jwk = set
        .find(&kid)
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    let key = DecodingKey::from_jwk(jwk)?;
    // The key decides the algorithm family; the header may only pick within it.
    use jsonwebtoken::Algorithm::{ES256, PS256, RS256};
    let alg = match (&jwk.algorithm, header.alg) {
        (jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_), _) => ES256,
        (jsonwebtoken::jwk::AlgorithmParameters::RSA(_), PS256) => PS256,
        _ => RS256,
    };
    let mut validation = Validation::new(alg);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    Ok(jsonwebtoken::decode::<Value>(token, &key, &validation)?.claims)
}

/// [`verify`] for the default app: `aud` = its client id, `iss` = the default tenant's issuer.
pub async fn verify_for_app(
    idp: &TestIdp,
    token: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    verify(idp, token, DEFAULT_CLIENT_ID, &idp.issuer()).await
}

/// An app under test: msal-axum in front of a few routes, on `127.0.0.1:0`, signed in
/// against a [`TestIdp`].
///
/// Routes: `/` (anyone: the name or "anonymous"), `/me` (a [`User`](msal_runtime::User) as
/// JSON), `/csrf` (the sign-out token), `/visit` (writes to the session before sign-in),
/// `/claims` (a [`Claims`](msal_runtime::Claims) extractor), and the sign-in routes.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The msal-axum instance behind it.
    pub msal: msal_runtime::Msal,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The configuration a [`TestApp`] starts from: the default client of `idp`, its tenant,
/// and the app's own URL.
pub fn app_config(idp: &TestIdp, base_url: &str) -> msal_runtime::config::MsalConfigBuilder {
    msal_runtime::MsalConfig::builder()
        .client_id(DEFAULT_CLIENT_ID)
        .client_secret(DEFAULT_CLIENT_SECRET)
        .instance(idp.base_url())
        .tenant_id(idp.tenant().id)
        .public_url(base_url)
        .graph_url(idp.graph_base_url())
}

/// The routes every [`TestApp::start`] serves.
fn standard_routes() -> axum::Router {
    use axum::routing::get;
    use msal_runtime::{Claims, SignOutCsrf, User};
    axum::Router::new()
        .route(
            "/",
            get(|user: Option<User>| async move {
                user.and_then(|u| u.name)
                    .unwrap_or_else(|| "anonymous".into())
            }),
        )
        .route(
            "/me",
            // The suites read the protocol claims too: what `Json<User>` hides on purpose.
            get(|user: User| async move {
                let mut me = serde_json::to_value(&user).unwrap();
                me["iss"] = user.iss.clone().into();
                me["sid"] = user.sid.clone().into();
                axum::Json(me)
            }),
        )
        .route(
            "/csrf",
            get(|csrf: SignOutCsrf| async move { csrf.as_str().to_owned() }),
        )
        .route(
            "/visit",
            get(|session: tower_sessions::Session| async move {
                let visits: u32 = session.get("visits").await.unwrap().unwrap_or(0) + 1;
                session.insert("visits", visits).await.unwrap();
                visits.to_string()
            }),
        )
        .route(
            "/claims",
            get(|Claims(e): Claims<Employee>| async move { axum::Json(e) }),
        )
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Employee {
    oid: String,
    name: String,
}

impl TestApp {
    /// Starts with [`app_config`].
    pub async fn start(idp: &TestIdp) -> Self {
        Self::start_with(idp, |c| c).await
    }

    /// A listener on `127.0.0.1:0` and its base URL.
    async fn bind() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        (listener, base_url)
    }

    /// Starts with [`app_config`] changed by `tweak`.
    pub async fn start_with(
        idp: &TestIdp,
        tweak: impl FnOnce(
            msal_runtime::config::MsalConfigBuilder,
        ) -> msal_runtime::config::MsalConfigBuilder,
    ) -> Self {
        let (listener, base_url) = Self::bind().await;
        let config = tweak(app_config(idp, &base_url)).build().unwrap();
        Self::serve(listener, base_url, config).await
    }

    /// Serves `config` on `listener` with the standard routes.
    pub async fn serve(
        listener: tokio::net::TcpListener,
        base_url: String,
        config: msal_runtime::MsalConfig,
    ) -> Self {
        Self::serve_routes(listener, base_url, config, standard_routes()).await
    }

    /// Starts with [`app_config`] changed by `tweak`, serving `routes` (plus the sign-in
    /// routes and the layer).
    pub async fn start_routes(
        idp: &TestIdp,
        tweak: impl FnOnce(
            msal_runtime::config::MsalConfigBuilder,
        ) -> msal_runtime::config::MsalConfigBuilder,
        routes: axum::Router,
    ) -> Self {
        let (listener, base_url) = Self::bind().await;
        let config = tweak(app_config(idp, &base_url)).build().unwrap();
        Self::serve_routes(listener, base_url, config, routes).await
    }

    /// Like [`start_routes`](Self::start_routes), with routes that need the `Msal` (Swagger UI).
    pub async fn start_with_msal(
        idp: &TestIdp,
        tweak: impl FnOnce(
            msal_runtime::config::MsalConfigBuilder,
        ) -> msal_runtime::config::MsalConfigBuilder,
        routes: axum::Router,
        more: impl FnOnce(&msal_runtime::Msal) -> axum::Router,
    ) -> Self {
        let (listener, base_url) = Self::bind().await;
        let config = tweak(app_config(idp, &base_url)).build().unwrap();
        let msal = msal_runtime::Msal::new(config).await.unwrap();
        let routes = routes.merge(more(&msal));
        Self::serve_msal(listener, base_url, msal, routes)
    }

    /// A web API ([`Msal::api`](msal_runtime::Msal::api)) serving `routes`, configured by
    /// [`app_config`] changed by `tweak`.
    pub async fn start_api(
        idp: &TestIdp,
        tweak: impl FnOnce(
            msal_runtime::config::MsalConfigBuilder,
        ) -> msal_runtime::config::MsalConfigBuilder,
        routes: axum::Router,
    ) -> Self {
        let (listener, base_url) = Self::bind().await;
        let config = tweak(app_config(idp, &base_url)).build().unwrap();
        let msal = msal_runtime::Msal::api(config).await.unwrap();
        Self::serve_msal(listener, base_url, msal, routes)
    }

    /// Serves `routes`, the sign-in routes and the layer for `config` on `listener`.
    pub async fn serve_routes(
        listener: tokio::net::TcpListener,
        base_url: String,
        config: msal_runtime::MsalConfig,
        routes: axum::Router,
    ) -> Self {
        let msal = msal_runtime::Msal::new(config).await.unwrap();
        Self::serve_msal(listener, base_url, msal, routes)
    }

    fn serve_msal(
        listener: tokio::net::TcpListener,
        base_url: String,
        msal: msal_runtime::Msal,
        routes: axum::Router,
    ) -> Self {
        let app = routes.merge(msal.routes()).layer(msal.layer());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            base_url,
            msal,
            shutdown: Some(tx),
        }
    }

    /// An absolute URL of the app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// Starts a sign-in at `{app}/auth/login?login_hint=…&next=…` and follows it through the
/// IdP; returns the callback URL the IdP sends the browser back to (not yet visited).
pub async fn app_callback_url(
    browser: &reqwest::Client,
    app: &TestApp,
    username: &str,
    next: &str,
) -> Url {
    let login = browser
        .get(app.url("/auth/login"))
        .query(&[("login_hint", username), ("next", next)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302, "login redirects to the IdP");
    let at_idp = browser.get(location(&login)).send().await.unwrap();
    assert_eq!(at_idp.status(), 302, "the IdP redirects back");
    let callback = location(&at_idp);
    assert!(
        callback.as_str().starts_with(&app.url("/auth/callback")),
        "{callback}"
    );
    callback
}

/// A whole sign-in through the IdP and back; returns the callback's response.
pub async fn app_sign_in(
    browser: &reqwest::Client,
    app: &TestApp,
    username: &str,
    next: &str,
) -> reqwest::Response {
    let callback = app_callback_url(browser, app, username, next).await;
    browser.get(callback).send().await.unwrap()
}

impl TestApp {
    async fn get(&self, browser: &reqwest::Client, path: &str) -> reqwest::Response {
        browser.get(self.url(path)).send().await.unwrap()
    }

    /// `/me` for this browser, as JSON (the signed-in user).
    pub async fn me(&self, browser: &reqwest::Client) -> Value {
        self.get(browser, "/me").await.json().await.unwrap()
    }

    /// The browser's sign-out CSRF token.
    pub async fn csrf(&self, browser: &reqwest::Client) -> String {
        self.get(browser, "/csrf").await.text().await.unwrap()
    }

    /// What `/` says to this browser: the signed-in user's name, or "anonymous".
    pub async fn who(&self, browser: &reqwest::Client) -> String {
        self.get(browser, "/").await.text().await.unwrap()
    }
}

/// A JSON request carrying exactly this `Cookie` header (a replayed or forged cookie).
pub async fn get_with_cookie(url: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("cookie", cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

/// Whether `text` holds a JWT: the base64 of a JOSE header's start (`{"alg":`, `{"typ":`,
/// `{"kid":`). Unlike a bare `eyJ`, random base64 (a sealed record) does not match it by
/// chance.
pub fn contains_jwt(text: &str) -> bool {
    ["eyJhbGciOi", "eyJ0eXAiOi", "eyJraWQiOi"]
        .iter()
        .any(|start| text.contains(start))
}

/// `msal_session=<id>`: the session cookie a response sets, as a `Cookie` header carries it.
pub fn session_cookie(response: &reqwest::Response) -> String {
    set_cookie(response, "msal_session")
        .expect("the response sets the session cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The statuses of concurrent requests, sorted: what a test of "exactly one succeeds" checks.
pub async fn statuses_of(
    mut requests: tokio::task::JoinSet<reqwest::Result<reqwest::Response>>,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    while let Some(done) = requests.join_next().await {
        statuses.push(done.unwrap().unwrap().status().as_u16());
    }
    statuses.sort_unstable();
    statuses
}

/// The value of a cookie the response sets.
pub fn set_cookie<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The Redis URL of the tests (`MSAL_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), if
/// something answers `PING` there. Under `CI` an unreachable Redis fails the test instead;
/// elsewhere it is skipped with a loud message.
pub async fn redis_url() -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url =
        std::env::var("MSAL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let addr = Url::parse(&url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port().unwrap_or(6379))))
        .unwrap_or_default();
    let reachable = async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await.ok()?;
        (&buf == b"+PONG").then_some(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), reachable).await {
        Ok(Some(())) => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("Redis is not reachable at {url} and CI is set: .ci/run should have started it")
        }
        _ => {
            eprintln!(
                "\n*** SKIPPING Redis test: nothing answers PING at {url} (set MSAL_TEST_REDIS_URL) ***\n"
            );
            None
        }
    }
}

/// Sends one Redis command (RESP, over a fresh connection) and returns the reply's bulk
/// strings: the value of a `GET`, the names of `KEYS`. Tests use it to see what Redis holds,
/// bypassing the library under test.
pub async fn redis_command(url: &str, args: &[&str]) -> Vec<Vec<u8>> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let parsed = Url::parse(url).unwrap();
    let stream = tokio::net::TcpStream::connect(format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(6379)
    ))
    .await
    .unwrap();
    let mut stream = BufReader::new(stream);
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .unwrap();
    let mut line = String::new();
    stream.read_line(&mut line).await.unwrap();
    match line.as_bytes().first() {
        Some(b'$') => {
            let len: i64 = line[1..].trim().parse().unwrap();
            read_bulk(&mut stream, len).await.into_iter().collect()
        }
        Some(b'*') => {
            let count: i64 = line[1..].trim().parse().unwrap();
            let mut out = Vec::new();
            for _ in 0..count.max(0) {
                let mut header = String::new();
                stream.read_line(&mut header).await.unwrap();
                let len: i64 = header[1..].trim().parse().unwrap();
                out.extend(read_bulk(&mut stream, len).await);
            }
            out
        }
        Some(b':') | Some(b'+') => vec![line[1..].trim().as_bytes().to_vec()],
        _ => panic!("Redis answered {line:?}"),
    }
}

/// A RESP bulk string's bytes after its `$len` line; `None` for a null (`$-1`).
async fn read_bulk(
    stream: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    len: i64,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let len = usize::try_from(len).ok()?;
    let mut value = vec![0u8; len + 2];
    stream.read_exact(&mut value).await.unwrap();
    value.truncate(len);
    Some(value)
}

/// Every value Redis holds under `pattern` (`KEYS` then `GET`), as text.
pub async fn redis_values(url: &str, pattern: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in redis_command(url, &["KEYS", pattern]).await {
        let key = String::from_utf8(key).unwrap();
        let kind = redis_command(url, &["TYPE", &key]).await;
        let value = if kind.first().map(Vec::as_slice) == Some(b"set".as_slice()) {
            redis_command(url, &["SMEMBERS", &key]).await.concat()
        } else {
            redis_command(url, &["GET", &key]).await.concat()
        };
        out.push((key, String::from_utf8_lossy(&value).into_owned()));
    }
    out
}

/// A browser navigation: GET with `Accept: text/html`.
pub async fn navigate(browser: &reqwest::Client, url: &str) -> reqwest::Response {
    browser
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
}

/// Follows a browser's redirects (at most `hops`) from `url`, returning the last response.
pub async fn follow(browser: &reqwest::Client, mut url: String, hops: usize) -> reqwest::Response {
    for _ in 0..hops {
        let response = navigate(browser, &url).await;
        if !response.status().is_redirection() {
            return response;
        }
        let next = response.headers()["location"].to_str().unwrap().to_owned();
        url = if next.starts_with('/') {
            let base = reqwest::Url::parse(&url).unwrap();
            base.join(&next).unwrap().to_string()
        } else {
            next
        };
    }
    panic!("more than {hops} redirects");
}

/// An app-only (client credentials) access token of the default app for its own API.
pub async fn app_only_token(idp: &TestIdp) -> String {
    let body: Value = token_request(
        idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", msal_runtime::testing::DEFAULT_CLIENT_ID),
            (
                "client_secret",
                msal_runtime::testing::DEFAULT_CLIENT_SECRET,
            ),
            (
                "scope",
                &format!(
                    "api://{}/.default",
                    msal_runtime::testing::DEFAULT_CLIENT_ID
                ),
            ),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}
