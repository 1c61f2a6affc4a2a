//! Hostile input (proptest): what arrives from outside (the `Authorization` header, bearer
//! tokens and ID tokens, the provider's JWKS, the sign-in routes' queries and form bodies,
//! the `next` redirect target, and the `MSAL_*` configuration from the environment, `.env`
//! and the secrets directory) never panics the code that reads it, and garbage is always
//! refused cleanly.
//!
//! Tokens are signed with the committed test-only RSA keys (`testing/keys`, see its README),
//! so that structurally valid, correctly signed tokens with hostile claims reach every check
//! after the signature. A small identity provider on loopback serves discovery and the JWKS.
//!
//! The number of cases per property follows `PROPTEST_CASES` (defaults below). Failures are
//! not persisted to disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestCaseResult, TestRunner};
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;
use url::Url;

use crate::config::{MsalConfig, SECRET_VARIABLES, Sources, VARIABLES};
use crate::extract::{Ctx, bearer};
use crate::routes::safe_next;
use crate::validate::{
    AccessKind, AccessTokenExpectations, IdTokenExpectations, KeyCache, ResolvedIssuer,
    ValidationError, now, validate_access_token, validate_id_token,
};

// ---------------------------------------------------------------------------------------------
// Running properties
// ---------------------------------------------------------------------------------------------

/// `PROPTEST_CASES` when set, otherwise `default_cases`; failures are not written to disk.
fn config(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    config
}

/// Runs one property (panics inside `test` count as failures and are shrunk), reports how
/// many cases ran and how long they took, and fails with the minimal failing input.
fn check<S>(name: &str, default_cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = TestRunner::new(config(default_cases));
    let cases = runner.config().cases;
    let started = Instant::now();
    let result = runner.run(&strategy, test);
    eprintln!("{name}: {cases} cases in {:.2?}", started.elapsed());
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// A runtime for one property's async code (the same one for all its cases, so the HTTP
/// client and the key cache are shared across cases, as in production).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens
// ---------------------------------------------------------------------------------------------

const ISS: &str = "https://login.test/c0ffee00-0000-4000-8000-00000000c0de/v2.0";
const V1_ISS: &str = "https://sts.test/c0ffee00-0000-4000-8000-00000000c0de/";
const TEMPLATE: &str = "https://login.test/{tenantid}/v2.0";
const V1_TEMPLATE: &str = "https://sts.test/{tenantid}/";
const TID: &str = "c0ffee00-0000-4000-8000-00000000c0de";
const OTHER_TID: &str = "0ddba11a-0000-4000-8000-000000000001";
const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
const CALLER: &str = "99999999-2222-4333-8444-555555555555";
const NONCE: &str = "n-0S6_WzA2Mj";
/// Published, without an `issuer` attribute.
const KID1: &str = "hostile-1";
/// Published, with Entra's `issuer` attribute (the multi-tenant template).
const KID2: &str = "hostile-2";
const SKEW: Duration = Duration::from_secs(300);

/// Who signs a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signer {
    /// The key published as [`KID1`].
    Key1,
    /// The key published as [`KID2`].
    Key2,
    /// A key nobody publishes, claiming to be [`KID1`].
    Foreign,
}

impl Signer {
    fn kid(self) -> &'static str {
        match self {
            Signer::Key1 | Signer::Foreign => KID1,
            Signer::Key2 => KID2,
        }
    }
}

struct Keys {
    key1: EncodingKey,
    key2: EncodingKey,
    foreign: EncodingKey,
    /// The public JWK of key 1.
    jwk1: Value,
    /// `{"keys": [jwk1, jwk2]}`.
    jwks: String,
    /// Key 1's modulus, raw.
    modulus1: Vec<u8>,
}

impl Keys {
    fn encoding(&self, signer: Signer) -> &EncodingKey {
        match signer {
            Signer::Key1 => &self.key1,
            Signer::Key2 => &self.key2,
            Signer::Foreign => &self.foreign,
        }
    }
}

/// One DER element: its content and what follows it.
fn der(bytes: &[u8]) -> (&[u8], &[u8]) {
    let (len, start) = match bytes[1] {
        n if n < 0x80 => (usize::from(n), 2),
        n => {
            let k = usize::from(n & 0x7f);
            let len = bytes[2..2 + k]
                .iter()
                .fold(0usize, |a, b| (a << 8) | usize::from(*b));
            (len, 2 + k)
        }
    };
    (&bytes[start..start + len], &bytes[start + len..])
}

/// The modulus and exponent of a PKCS#8 RSA private key (`-----BEGIN PRIVATE KEY-----`).
fn rsa_components(pem: &str) -> (Vec<u8>, Vec<u8>) {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let bytes = STANDARD.decode(body).unwrap();
    let (info, _) = der(&bytes); // PrivateKeyInfo
    let (_, rest) = der(info); // version
    let (_, rest) = der(rest); // algorithm
    let (octets, _) = der(rest); // privateKey
    let (key, _) = der(octets); // RSAPrivateKey
    let (_, rest) = der(key); // version
    let (n, rest) = der(rest);
    let (e, _) = der(rest);
    let strip = |x: &[u8]| {
        x.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    (strip(n), strip(e))
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pem1 = include_str!("testing/keys/test-only-rsa-1.pem");
        let pem2 = include_str!("testing/keys/test-only-rsa-2.pem");
        let pem9 = include_str!("testing/keys/test-only-rsa-9.pem");
        let jwk = |pem: &str, kid: &str, issuer: Option<&str>| {
            let (n, e) = rsa_components(pem);
            let mut jwk = json!({
                "kty": "RSA",
                "use": "sig",
                "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(n),
                "e": URL_SAFE_NO_PAD.encode(e),
            });
            if let Some(issuer) = issuer {
                jwk["issuer"] = json!(issuer);
            }
            jwk
        };
        let jwk1 = jwk(pem1, KID1, None);
        let jwk2 = jwk(pem2, KID2, Some(TEMPLATE));
        Keys {
            key1: EncodingKey::from_rsa_pem(pem1.as_bytes()).unwrap(),
            key2: EncodingKey::from_rsa_pem(pem2.as_bytes()).unwrap(),
            foreign: EncodingKey::from_rsa_pem(pem9.as_bytes()).unwrap(),
            jwks: json!({ "keys": [jwk1.clone(), jwk2] }).to_string(),
            jwk1,
            modulus1: rsa_components(pem1).0,
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature`, signed over the exact bytes given.
fn sign(header: &[u8], payload: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(payload));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

// ---------------------------------------------------------------------------------------------
// A small identity provider on loopback: discovery, the JWKS, and echoes for hostile JWKS
// ---------------------------------------------------------------------------------------------

/// The base URL of the provider, started once for the whole test binary on its own thread.
///
/// `/.well-known/openid-configuration` (issuer: the base URL), `/jwks` (keys 1 and 2),
/// `/echo?b=<base64url>` (answers those bytes: a hostile JWKS), `/fail` (HTTP 500).
fn idp() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let discovery = json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/jwks"),
            "end_session_endpoint": format!("{base}/logout"),
        });
        std::thread::spawn(move || {
            runtime().block_on(async move {
                use axum::routing::get;
                let app = axum::Router::new()
                    .route(
                        "/.well-known/openid-configuration",
                        get(move || std::future::ready(axum::Json(discovery.clone()))),
                    )
                    .route(
                        "/jwks",
                        get(|| async {
                            (
                                [(header::CONTENT_TYPE, "application/json")],
                                keys().jwks.clone(),
                            )
                        }),
                    )
                    .route(
                        "/echo",
                        get(
                            |axum::extract::Query(q): axum::extract::Query<
                                HashMap<String, String>,
                            >| async move {
                                let b = q.get("b").map(String::as_str).unwrap_or_default();
                                URL_SAFE_NO_PAD.decode(b).unwrap_or_default()
                            },
                        ),
                    )
                    .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }));
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        base
    })
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The key cache of the test provider's JWKS.
fn idp_keys() -> Arc<KeyCache> {
    key_cache(&http_client(), &format!("{}/jwks", idp()))
}

/// A key cache on the provider's JWKS (or any other URL). The cooldown is long: after the
/// first fetch an unknown `kid` is refused without another one, as in production.
fn key_cache(http: &reqwest::Client, url: &str) -> Arc<KeyCache> {
    Arc::new(KeyCache::new(
        http.clone(),
        Url::parse(url).unwrap(),
        Duration::from_secs(3600),
    ))
}

// ---------------------------------------------------------------------------------------------
// Generators: hostile JSON, claims, headers
// ---------------------------------------------------------------------------------------------

/// Strings that are almost right, and some that are not at all.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![
            Just(ISS.to_owned()),
            Just(format!("{ISS}/")),
            Just(ISS.to_uppercase()),
            Just(V1_ISS.to_owned()),
            Just(TEMPLATE.to_owned()),
            Just(TID.to_owned()),
            Just(TID.to_uppercase()),
            Just(OTHER_TID.to_owned()),
            Just(CLIENT.to_owned()),
            Just(format!("api://{CLIENT}")),
            Just(CALLER.to_owned()),
            Just(NONCE.to_owned()),
            Just("app".to_owned()),
            Just("{tenantid}".to_owned()),
            Just(String::new()),
            Just(" ".to_owned()),
            Just("\u{0}".to_owned()),
        ],
        proptest::collection::vec(any::<char>(), 0..40).prop_map(|c| c.into_iter().collect()),
    ]
}

/// Any JSON value, leaning on what breaks parsers: wrong types, extreme and fractional
/// numbers, times around now, strings that are almost right, nesting.
fn hostile_json() -> impl Strategy<Value = Value> {
    let t = now();
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just(json!(i64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(u64::MAX)),
            Just(json!(0)),
            Just(json!(-1)),
            Just(json!(1e300)),
            Just(json!(-0.0)),
            Just(json!(t as f64 + 0.5)),
            Just(json!(t - 86400)),
            Just(json!(t + 86400)),
            Just(json!(t + 10)),
            Just(json!(t.to_string())),
        ],
        tricky_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((tricky_string(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// The claims a token may carry; a perturbation replaces or removes one of them.
const CLAIMS: [&str; 14] = [
    "iss", "aud", "exp", "nbf", "iat", "sub", "tid", "oid", "nonce", "azp", "appid", "scp",
    "roles", "idtyp",
];

/// What a correct access token's permissions look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    /// Delegated: `scp`.
    User,
    /// App-only: `roles` and `idtyp: app`.
    App,
    /// Neither `scp` nor `roles`.
    Bare,
}

/// One change to an otherwise correct set of claims (or header fields).
#[derive(Clone, Debug)]
enum Change {
    Remove(String),
    Set(String, Value),
}

fn claim_change() -> impl Strategy<Value = Change> {
    let name = prop_oneof![
        6 => (0..CLAIMS.len()).prop_map(|i| CLAIMS[i].to_owned()),
        1 => tricky_string(),
    ];
    (name, any::<bool>(), hostile_json()).prop_map(|(name, remove, value)| {
        if remove {
            Change::Remove(name)
        } else {
            Change::Set(name, value)
        }
    })
}

fn header_change() -> impl Strategy<Value = Change> {
    let name = prop_oneof![
        Just("alg"),
        Just("kid"),
        Just("typ"),
        Just("crit"),
        Just("jku"),
        Just("jwk"),
        Just("x5u"),
        Just("cty"),
        Just("b64"),
    ]
    .prop_map(str::to_owned);
    let value = prop_oneof![
        2 => prop_oneof![
            Just("RS256"),
            Just("PS256"),
            Just("ES256"),
            Just("HS256"),
            Just("none"),
            Just("None"),
            Just("RS512"),
            Just("rs256"),
            Just(KID1),
            Just(KID2),
            Just("unknown"),
            Just(""),
        ]
        .prop_map(Value::from),
        1 => hostile_json(),
    ];
    (name, any::<bool>(), value).prop_map(|(name, remove, value)| {
        if remove {
            Change::Remove(name)
        } else {
            Change::Set(name, value)
        }
    })
}

fn apply(map: &mut Map<String, Value>, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Remove(name) => {
                map.remove(name);
            }
            Change::Set(name, value) => {
                map.insert(name.clone(), value.clone());
            }
        }
    }
}

/// How the payload's bytes are made from its claims.
#[derive(Clone, Debug)]
enum PayloadForm {
    /// The claims as JSON.
    Plain,
    /// A second value for a claim, spliced in before the others (duplicate keys).
    Duplicate(String, Value),
    /// An extra claim nested `n` arrays deep.
    Deep(usize),
    /// A number no `f64` or `u64` holds, for a claim.
    HugeNumber(String, &'static str),
    /// Arbitrary bytes instead of JSON.
    Bytes(Vec<u8>),
}

fn payload_form() -> impl Strategy<Value = PayloadForm> {
    prop_oneof![
        12 => Just(PayloadForm::Plain),
        1 => ((0..CLAIMS.len()).prop_map(|i| CLAIMS[i].to_owned()), hostile_json())
            .prop_map(|(n, v)| PayloadForm::Duplicate(n, v)),
        1 => (1..400usize).prop_map(PayloadForm::Deep),
        1 => (
            (0..CLAIMS.len()).prop_map(|i| CLAIMS[i].to_owned()),
            prop_oneof![
                Just("1e400"),
                Just("-1e400"),
                Just("123456789012345678901234567890"),
                Just("-0"),
                Just("0.0000000000000000000000000001"),
            ],
        )
            .prop_map(|(n, v)| PayloadForm::HugeNumber(n, v)),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(PayloadForm::Bytes),
    ]
}

fn payload_bytes(claims: &Map<String, Value>, form: &PayloadForm) -> Vec<u8> {
    let plain = Value::Object(claims.clone()).to_string();
    // `{` + rest: splicing a member in front keeps the object well-formed.
    let splice = |member: String| {
        let rest = &plain[1..];
        if rest == "}" {
            format!("{{{member}}}")
        } else {
            format!("{{{member},{rest}")
        }
    };
    match form {
        PayloadForm::Plain => plain.into_bytes(),
        PayloadForm::Duplicate(name, value) => splice(format!("{}:{value}", json!(name))).into(),
        PayloadForm::Deep(n) => {
            splice(format!("\"deep\":{}{}", "[".repeat(*n), "]".repeat(*n))).into()
        }
        PayloadForm::HugeNumber(name, number) => splice(format!("{}:{number}", json!(name))).into(),
        PayloadForm::Bytes(bytes) => bytes.clone(),
    }
}

/// Which validator, and what it expects.
#[derive(Clone, Debug)]
struct Setup {
    id_token: bool,
    /// Entra multi-tenant (`{tenantid}` template) instead of one exact issuer.
    template: bool,
    /// Only [`TID`] may sign in.
    allow_list: bool,
    allow_no_permissions: bool,
    /// ID tokens: the sign-in's nonce is checked (not for a refreshed ID token).
    expect_nonce: bool,
    profile: Profile,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            3 => Just(Profile::User),
            2 => Just(Profile::App),
            1 => Just(Profile::Bare)
        ],
    )
        .prop_map(
            |(id_token, template, allow_list, allow_no_permissions, expect_nonce, profile)| Setup {
                id_token,
                template,
                allow_list,
                allow_no_permissions,
                expect_nonce,
                profile,
            },
        )
}

/// Claims that pass every check of `setup`.
fn good_claims(setup: &Setup) -> Map<String, Value> {
    let t = now();
    let mut claims = json!({
        "iss": ISS,
        "aud": CLIENT,
        "exp": t + 3600,
        "nbf": t - 60,
        "iat": t - 60,
        "sub": "subject-1",
        "oid": "object-1",
        "tid": TID,
    });
    if setup.id_token {
        claims["nonce"] = json!(NONCE);
        claims["azp"] = json!(CLIENT);
    } else {
        claims["azp"] = json!(CALLER);
        match setup.profile {
            Profile::User => claims["scp"] = json!("User.Read"),
            Profile::App => {
                claims["roles"] = json!(["Tasks.Read"]);
                claims["idtyp"] = json!("app");
            }
            Profile::Bare => {}
        }
    }
    match claims {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn good_header(signer: Signer, alg: Algorithm) -> Map<String, Value> {
    let alg = if alg == Algorithm::PS256 {
        "PS256"
    } else {
        "RS256"
    };
    match json!({ "alg": alg, "kid": signer.kid(), "typ": "JWT" }) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn signer() -> impl Strategy<Value = (Signer, Algorithm)> {
    (
        prop_oneof![
            4 => Just(Signer::Key1),
            3 => Just(Signer::Key2),
            1 => Just(Signer::Foreign)
        ],
        prop_oneof![Just(Algorithm::RS256), Just(Algorithm::PS256)],
    )
}

/// The verdict of the validator `setup` names.
async fn judge(
    keys: &Arc<KeyCache>,
    token: &str,
    setup: &Setup,
) -> Result<(Map<String, Value>, Option<AccessKind>), ValidationError> {
    let exact = ResolvedIssuer::Exact(ISS.into());
    let template = ResolvedIssuer::Template(TEMPLATE.into());
    let v1 = if setup.template {
        ResolvedIssuer::Template(V1_TEMPLATE.into())
    } else {
        ResolvedIssuer::Exact(V1_ISS.into())
    };
    let issuer = if setup.template { &template } else { &exact };
    let allowed: Vec<String> = if setup.allow_list {
        vec![TID.into()]
    } else {
        Vec::new()
    };
    if setup.id_token {
        let expect = IdTokenExpectations {
            client_id: CLIENT,
            issuer,
            nonce: setup.expect_nonce.then_some(NONCE),
            skew: SKEW,
            allowed_tenants: &allowed,
            b2c_policies: &[],
        };
        validate_id_token(keys, token, &expect)
            .await
            .map(|c| (c, None))
    } else {
        let audiences = vec![CLIENT.to_owned(), format!("api://{CLIENT}")];
        let expect = AccessTokenExpectations {
            audiences: &audiences,
            issuer,
            v1_issuer: Some(&v1),
            skew: SKEW,
            allowed_tenants: &allowed,
            b2c_policies: &[],
            allow_no_permissions: setup.allow_no_permissions,
        };
        validate_access_token(keys, token, &expect)
            .await
            .map(|(c, k)| (c, Some(k)))
    }
}

/// `8-4-4-4-12` hex digits.
fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Everything an accepted token must satisfy, stated from the claims the validator returned:
/// nothing gets through that the documented rules refuse.
fn check_accepted(
    claims: &Map<String, Value>,
    kind: Option<AccessKind>,
    header: &Map<String, Value>,
    signer: Signer,
    alg: Algorithm,
    setup: &Setup,
) -> TestCaseResult {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let t = now();
    let skew = SKEW.as_secs() as i64;

    // The header names the key that signed and the algorithm it signed with.
    prop_assert!(
        signer != Signer::Foreign,
        "a foreign key's signature was accepted"
    );
    let alg_name = if alg == Algorithm::PS256 {
        "PS256"
    } else {
        "RS256"
    };
    prop_assert_eq!(header.get("alg").and_then(Value::as_str), Some(alg_name));
    prop_assert_eq!(
        header.get("kid").and_then(Value::as_str),
        Some(signer.kid())
    );

    // Issuer: exactly the configured one (or Entra's v1 form for access tokens); with the
    // multi-tenant template, the token's own `tid` (a GUID) fills it in.
    let iss = text("iss");
    prop_assert!(iss.is_some(), "accepted without a string 'iss'");
    let iss = iss.unwrap_or_default();
    let tid = text("tid");
    let v2_of_token = if setup.template {
        let tid = tid.unwrap_or_default();
        prop_assert!(is_guid(tid), "template issuer accepted with tid {:?}", tid);
        let v2 = TEMPLATE.replace("{tenantid}", tid);
        let v1 = V1_TEMPLATE.replace("{tenantid}", tid);
        prop_assert!(
            iss == v2 || (!setup.id_token && iss == v1),
            "issuer {:?} accepted for tid {:?}",
            iss,
            tid
        );
        v2
    } else {
        prop_assert!(
            iss == ISS || (!setup.id_token && iss == V1_ISS),
            "issuer {:?} accepted",
            iss
        );
        ISS.to_owned()
    };
    if signer == Signer::Key2 {
        // Key 2 belongs to the template issuer: the token's tenant must fit it.
        let key_issuer = TEMPLATE.replace("{tenantid}", tid.unwrap_or_default());
        prop_assert!(
            key_issuer == iss || key_issuer == v2_of_token,
            "key of {:?} accepted for {:?}",
            key_issuer,
            iss
        );
    }

    // Audience: one of ours, as a string or in an array of strings.
    let accepted: Vec<String> = if setup.id_token {
        vec![CLIENT.into()]
    } else {
        vec![CLIENT.into(), format!("api://{CLIENT}")]
    };
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => accepted.contains(a),
        Some(Value::Array(items)) => {
            items.iter().all(Value::is_string)
                && items
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| accepted.iter().any(|x| x == a)))
        }
        _ => false,
    };
    prop_assert!(aud_ok, "audience {:?} accepted", claims.get("aud"));

    // Times: `exp` a number not yet past (with skew), `nbf` (if any) a number already
    // reached, `iat` an integer not in the future.
    let exp = claims.get("exp").and_then(Value::as_f64);
    prop_assert!(
        exp.is_some_and(|e| e >= (t - skew - 5) as f64),
        "exp {:?} accepted",
        claims.get("exp")
    );
    // An `nbf` that is a NumericDate (a number from 0 up to u64::MAX) must have been
    // reached. (Any other `nbf` is ignored rather than refused: a known bug, see
    // `hostile_malformed_nbf_is_refused`.)
    let nbf = claims.get("nbf").and_then(Value::as_f64);
    if let Some(nbf) = nbf.filter(|n| (0.0..u64::MAX as f64).contains(n)) {
        prop_assert!(nbf <= (t + skew + 5) as f64, "nbf {:?} accepted", nbf);
    }
    let iat = claims.get("iat").and_then(Value::as_i64);
    prop_assert!(
        iat.is_some_and(|i| i <= t + skew + 5),
        "iat {:?} accepted",
        claims.get("iat")
    );
    prop_assert!(text("sub").is_some(), "accepted without a string 'sub'");

    if setup.allow_list {
        let tid = tid.map(str::to_ascii_lowercase);
        prop_assert_eq!(tid.as_deref(), Some(TID), "tenant not on the allow-list");
    }

    if setup.id_token {
        if setup.expect_nonce {
            prop_assert_eq!(text("nonce"), Some(NONCE));
        }
        if let Some(azp) = text("azp") {
            prop_assert_eq!(azp, CLIENT);
        }
        let several = claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1);
        if several {
            prop_assert_eq!(text("azp"), Some(CLIENT));
        }
    } else {
        match kind {
            Some(AccessKind::User) if text("scp").is_some_and(|s| !s.trim().is_empty()) => {}
            Some(kind) => {
                // Without scopes: a client is named, it is not an ID token, and it has
                // application permissions, unless tokens without any are allowed.
                prop_assert!(
                    text("azp").or_else(|| text("appid")).is_some(),
                    "no client named"
                );
                prop_assert!(!claims.contains_key("nonce"), "an ID token accepted");
                let roles = claims
                    .get("roles")
                    .and_then(Value::as_array)
                    .is_some_and(|r| !r.is_empty());
                let app_only = text("idtyp") == Some("app")
                    || (text("oid").is_some() && text("oid") == text("sub"));
                prop_assert!(
                    setup.allow_no_permissions || (roles && app_only),
                    "accepted as {:?} without permissions",
                    kind
                );
                if kind == AccessKind::App {
                    prop_assert!(app_only, "app-only without an app token");
                }
            }
            None => return Err(TestCaseError::fail("an access token without a kind")),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// Random text where a token belongs: arbitrary characters, dot-separated base64url
/// segments, and base64url of arbitrary JSON (with and without a third part).
fn garbage_token() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..4096).prop_map(|c| c.into_iter().collect()),
        "[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,600}\\.[A-Za-z0-9_-]{0,400}",
        "[A-Za-z0-9_=+/.-]{0,600}",
        (
            hostile_json(),
            hostile_json(),
            "[A-Za-z0-9_-]{0,400}",
            0..3u8
        )
            .prop_map(|(h, p, s, form)| {
                let (h, p) = (b64(h.to_string().as_bytes()), b64(p.to_string().as_bytes()));
                match form {
                    0 => format!("{h}.{p}.{s}"),
                    1 => format!("{h}.{p}"),
                    _ => format!("{h}.{p}.{s}.{s}"),
                }
            }),
        // A well-formed RS256 header naming a published key, over a junk payload and a junk
        // signature: this reaches the signature check itself.
        (
            "[A-Za-z0-9_-]{0,300}",
            "[A-Za-z0-9_-]{0,400}",
            any::<bool>()
        )
            .prop_map(|(p, s, key2)| {
                let kid = if key2 { KID2 } else { KID1 };
                let h = b64(json!({ "alg": "RS256", "kid": kid }).to_string().as_bytes());
                format!("{h}.{p}.{s}")
            }),
    ]
}

/// Garbage where an access token or ID token belongs never panics and is always refused.
#[test]
fn hostile_garbage_tokens_are_refused() {
    let rt = runtime();
    let keys = idp_keys();
    check(
        "hostile_garbage_tokens_are_refused",
        512,
        (garbage_token(), setup()),
        |(token, setup)| {
            rt.block_on(async {
                let verdict = judge(&keys, &token, &setup).await;
                prop_assert!(verdict.is_err(), "garbage accepted: {:?}", verdict);
                Ok(())
            })
        },
    );
}

/// Correctly signed tokens whose header and claims are perturbed with hostile JSON (wrong
/// types, extreme numbers, nesting, duplicate keys, non-JSON bytes): validation never
/// panics, whatever it accepts satisfies every documented rule (see `check_accepted`), and a
/// token with nothing perturbed is accepted (so the rules are not vacuously true).
#[test]
fn hostile_claims_in_signed_tokens_are_judged_soundly() {
    let rt = runtime();
    let cache = idp_keys();
    let accepted = AtomicUsize::new(0);
    let strategy = (
        setup(),
        signer(),
        proptest::collection::vec(header_change(), 0..3),
        proptest::collection::vec(claim_change(), 0..4),
        payload_form(),
    );
    check(
        "hostile_claims_in_signed_tokens_are_judged_soundly",
        256,
        strategy,
        |(setup, (signer, alg), header_changes, claim_changes, form)| {
            let mut header = good_header(signer, alg);
            apply(&mut header, &header_changes);
            let mut claims = good_claims(&setup);
            apply(&mut claims, &claim_changes);
            let payload = payload_bytes(&claims, &form);
            let header_text = Value::Object(header.clone()).to_string();
            let token = sign(
                header_text.as_bytes(),
                &payload,
                keys().encoding(signer),
                alg,
            );
            rt.block_on(async {
                match judge(&cache, &token, &setup).await {
                    Ok((returned, kind)) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        check_accepted(&returned, kind, &header, signer, alg, &setup)?;
                    }
                    Err(e) => {
                        let pristine = header_changes.is_empty()
                            && claim_changes.is_empty()
                            && matches!(form, PayloadForm::Plain)
                            && signer != Signer::Foreign
                            && !(!setup.id_token
                                && setup.profile == Profile::Bare
                                && !setup.allow_no_permissions);
                        prop_assert!(!pristine, "a correct token was refused: {}", e);
                    }
                }
                Ok(())
            })
        },
    );
    let accepted = accepted.into_inner();
    eprintln!("  ... of which {accepted} were accepted");
    assert!(accepted > 0, "no generated token was ever accepted");
}

/// A malformed `nbf` (not a NumericDate: a string, a negative or out-of-range number, a
/// boolean, an object, an array, each meaning "not before tomorrow" or later) is refused like
/// a malformed `exp` or `iat`.
#[test]
fn hostile_malformed_nbf_is_refused() {
    let rt = runtime();
    let cache = idp_keys();
    let tomorrow = now() + 86400;
    let malformed = proptest::sample::select(vec![
        json!(tomorrow.to_string()),
        json!(-tomorrow),
        json!(1e300),
        json!(true),
        json!({ "t": tomorrow }),
        json!([tomorrow]),
    ]);
    check(
        "hostile_malformed_nbf_is_refused",
        16,
        (setup(), malformed),
        |(mut setup, nbf)| {
            setup.profile = Profile::User;
            let mut claims = good_claims(&setup);
            claims.insert("nbf".into(), nbf);
            let header = Value::Object(good_header(Signer::Key1, Algorithm::RS256)).to_string();
            let payload = Value::Object(claims).to_string();
            let token = sign(
                header.as_bytes(),
                payload.as_bytes(),
                &keys().key1,
                Algorithm::RS256,
            );
            rt.block_on(async {
                let verdict = judge(&cache, &token, &setup).await;
                prop_assert!(verdict.is_err(), "accepted a malformed nbf");
                Ok(())
            })
        },
    );
}

/// How a correct token is forged.
#[derive(Clone, Debug)]
enum Forgery {
    /// One character replaced by another.
    Flip(Index, char),
    /// Cut short.
    Truncate(Index),
    /// Something appended.
    Append(String),
    /// Parts dropped, repeated or emptied.
    Segments(u8),
    /// `alg: none`, with or without the original signature.
    AlgNone(bool),
    /// HS256 with public material as the HMAC secret (algorithm confusion).
    Hmac(u8),
    /// Another header's `alg` or `kid` over the same signature.
    Relabel(u8),
    /// A perfectly good token, signed by a key nobody publishes.
    Foreign,
}

fn forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        4 => (any::<Index>(), prop_oneof![
            proptest::char::range('A', 'Z'),
            proptest::char::range('a', 'z'),
            proptest::char::range('0', '9'),
            Just('-'), Just('_'), Just('.'), Just('='), Just('+'), Just('/'), Just(' '),
        ])
            .prop_map(|(i, c)| Forgery::Flip(i, c)),
        1 => any::<Index>().prop_map(Forgery::Truncate),
        1 => "[A-Za-z0-9_.= -]{1,20}".prop_map(Forgery::Append),
        1 => (0..8u8).prop_map(Forgery::Segments),
        1 => any::<bool>().prop_map(Forgery::AlgNone),
        1 => (0..4u8).prop_map(Forgery::Hmac),
        1 => (0..4u8).prop_map(Forgery::Relabel),
        1 => Just(Forgery::Foreign),
    ]
}

fn forge(good: &str, claims: &Map<String, Value>, forgery: &Forgery) -> String {
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let payload = Value::Object(claims.clone()).to_string();
    match forgery {
        Forgery::Flip(at, c) => {
            let mut chars: Vec<char> = good.chars().collect();
            let i = at.index(chars.len());
            if chars[i] == *c {
                chars[i] = if *c == 'A' { 'B' } else { 'A' };
            } else {
                chars[i] = *c;
            }
            chars.into_iter().collect()
        }
        Forgery::Truncate(at) => good[..at.index(good.len())].to_owned(),
        Forgery::Append(junk) => format!("{good}{junk}"),
        Forgery::Segments(n) => match n {
            0 => format!("{h}.{p}"),
            1 => format!("{h}.{p}.{s}.{s}"),
            2 => format!("{h}..{s}"),
            3 => format!(".{p}.{s}"),
            4 => format!("{h}.{p}."),
            5 => format!("{p}.{h}.{s}"),
            6 => format!("{h}.{p}.{s}."),
            _ => format!("{h}.{h}.{s}"),
        },
        Forgery::AlgNone(keep) => {
            let header = b64(json!({ "alg": "none", "typ": "JWT" })
                .to_string()
                .as_bytes());
            let body = b64(payload.as_bytes());
            if *keep {
                format!("{header}.{body}.{s}")
            } else {
                format!("{header}.{body}.")
            }
        }
        Forgery::Hmac(n) => {
            let k = keys();
            let secret: Vec<u8> = match n {
                0 => k.modulus1.clone(),
                1 => k.jwks.clone().into_bytes(),
                2 => k.jwk1.to_string().into_bytes(),
                _ => Vec::new(),
            };
            let header = json!({ "alg": "HS256", "kid": KID1, "typ": "JWT" }).to_string();
            sign(
                header.as_bytes(),
                payload.as_bytes(),
                &EncodingKey::from_secret(&secret),
                Algorithm::HS256,
            )
        }
        Forgery::Relabel(n) => {
            let header = match n {
                0 => json!({ "alg": "PS256", "kid": KID1 }),
                1 => json!({ "alg": "ES256", "kid": KID1 }),
                2 => json!({ "alg": "RS256", "kid": KID2 }),
                _ => json!({ "alg": "RS256" }),
            };
            format!("{}.{p}.{s}", b64(header.to_string().as_bytes()))
        }
        Forgery::Foreign => sign(
            Value::Object(good_header(Signer::Foreign, Algorithm::RS256))
                .to_string()
                .as_bytes(),
            payload.as_bytes(),
            &keys().foreign,
            Algorithm::RS256,
        ),
    }
}

/// A correct token is accepted, and every forgery of it (a changed character, truncation,
/// appended bytes, rearranged parts, `alg: none`, HS256 keyed with public material, a
/// relabelled header, a foreign key) is refused.
#[test]
fn hostile_forged_tokens_are_refused() {
    let rt = runtime();
    let cache = idp_keys();
    check(
        "hostile_forged_tokens_are_refused",
        256,
        (setup(), forgery()),
        |(mut setup, forgery)| {
            setup.profile = Profile::User;
            let claims = good_claims(&setup);
            let header = Value::Object(good_header(Signer::Key1, Algorithm::RS256)).to_string();
            let payload = Value::Object(claims.clone()).to_string();
            let good = sign(
                header.as_bytes(),
                payload.as_bytes(),
                &keys().key1,
                Algorithm::RS256,
            );
            let forged = forge(&good, &claims, &forgery);
            rt.block_on(async {
                let verdict = judge(&cache, &good, &setup).await;
                prop_assert!(
                    verdict.is_ok(),
                    "the correct token was refused: {:?}",
                    verdict
                );
                prop_assert_ne!(&forged, &good);
                let verdict = judge(&cache, &forged, &setup).await;
                prop_assert!(verdict.is_err(), "forged token accepted: {}", forged);
                Ok(())
            })
        },
    );
}

/// A key entry of a hostile JWKS: every field may be missing, of the wrong type or absurd.
fn junk_jwk() -> impl Strategy<Value = Value> {
    let b64url = "[A-Za-z0-9_-]{0,400}".prop_map(Value::from);
    let field = |choices: Vec<&'static str>| {
        prop_oneof![
            3 => proptest::sample::select(choices).prop_map(|s| Some(Value::from(s))),
            1 => hostile_json().prop_map(Some),
            1 => Just(None),
        ]
    };
    let n = {
        let real = keys().jwk1["n"].clone();
        prop_oneof![
            2 => b64url.clone().prop_map(Some),
            1 => Just(Some(real)),
            1 => hostile_json().prop_map(Some),
            1 => Just(None),
        ]
    };
    (
        field(vec!["RSA", "EC", "oct", "OKP", "rsa"]),
        field(vec!["sig", "enc", ""]),
        // Never the kid the token names: whether the real key is present stays known.
        field(vec![KID2, "other", ""]),
        n,
        field(vec!["AQAB", "AAEAAQ", "", "!!"]),
        field(vec!["P-256", "P-384", "secp256k1"]),
        b64url.clone(),
        b64url,
        field(vec![ISS, TEMPLATE, ""]),
    )
        .prop_map(|(kty, usage, kid, n, e, crv, x, y, issuer)| {
            let mut map = Map::new();
            for (name, value) in [
                ("kty", kty),
                ("use", usage),
                ("kid", kid),
                ("n", n),
                ("e", e),
                ("crv", crv),
                ("x", Some(x)),
                ("y", Some(y)),
                ("issuer", issuer),
            ] {
                if let Some(value) = value {
                    map.insert(name.into(), value);
                }
            }
            Value::Object(map)
        })
}

/// What the JWKS endpoint answers.
#[derive(Clone, Debug)]
enum Jwks {
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
    /// Arbitrary JSON.
    Json(Value),
    /// `{"keys": [...]}` of junk entries, with the real key (or not) at some position.
    Keys {
        junk: Vec<Value>,
        real_at: Option<Index>,
    },
    /// HTTP 500.
    Fails,
}

fn hostile_jwks() -> impl Strategy<Value = Jwks> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512).prop_map(Jwks::Bytes),
        1 => hostile_json().prop_map(Jwks::Json),
        4 => (
            proptest::collection::vec(junk_jwk(), 0..6),
            proptest::option::of(any::<Index>()),
        )
            .prop_map(|(junk, real_at)| Jwks::Keys { junk, real_at }),
        1 => Just(Jwks::Fails),
    ]
}

/// Whatever the provider's JWKS endpoint answers (bytes, any JSON, key entries of every
/// wrong shape, an error status), fetching and using the keys never panics. A token signed
/// by the real key is accepted exactly when a JWKS with the real key is served, unusable
/// entries beside it being skipped, and an error status is "keys unavailable".
#[test]
fn hostile_jwks_never_panics_and_only_real_keys_verify() {
    let rt = runtime();
    let http = http_client();
    check(
        "hostile_jwks_never_panics_and_only_real_keys_verify",
        256,
        hostile_jwks(),
        |jwks| {
            let setup = Setup {
                id_token: false,
                template: false,
                allow_list: false,
                allow_no_permissions: false,
                expect_nonce: false,
                profile: Profile::User,
            };
            let (body, real) = match &jwks {
                Jwks::Bytes(bytes) => (Some(bytes.clone()), false),
                Jwks::Json(value) => (Some(value.to_string().into_bytes()), false),
                Jwks::Keys { junk, real_at } => {
                    let mut entries = junk.clone();
                    if let Some(at) = real_at {
                        entries.insert(at.index(entries.len() + 1), keys().jwk1.clone());
                    }
                    let body = json!({ "keys": entries }).to_string().into_bytes();
                    (Some(body), real_at.is_some())
                }
                Jwks::Fails => (None, false),
            };
            let url = match &body {
                Some(body) => format!("{}/echo?b={}", idp(), b64(body)),
                None => format!("{}/fail", idp()),
            };
            let cache = key_cache(&http, &url);
            let header = Value::Object(good_header(Signer::Key1, Algorithm::RS256)).to_string();
            let payload = Value::Object(good_claims(&setup)).to_string();
            let token = sign(
                header.as_bytes(),
                payload.as_bytes(),
                &keys().key1,
                Algorithm::RS256,
            );
            rt.block_on(async {
                let verdict = judge(&cache, &token, &setup).await;
                if real {
                    prop_assert!(verdict.is_ok(), "the real key was not used: {:?}", verdict);
                } else {
                    prop_assert!(verdict.is_err(), "accepted without the real key");
                }
                if matches!(jwks, Jwks::Fails) {
                    prop_assert!(
                        matches!(verdict, Err(ValidationError::KeysUnavailable(_))),
                        "an error status is not 'keys unavailable': {:?}",
                        verdict
                    );
                }
                Ok(())
            })
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The Authorization header
// ---------------------------------------------------------------------------------------------

/// What an `Authorization` header may hold.
#[derive(Clone, Debug)]
enum Authorization {
    /// Arbitrary bytes (those a header value may carry).
    Bytes(Vec<u8>),
    /// A scheme, a separator, a token and a suffix.
    Parts {
        scheme: &'static str,
        separator: &'static str,
        token: AuthToken,
        suffix: &'static str,
    },
}

#[derive(Clone, Debug)]
enum AuthToken {
    /// A correct access token for the API.
    Good,
    Garbage(String),
}

fn authorization() -> impl Strategy<Value = Authorization> {
    let header_byte = prop_oneof![
        8 => 0x20u8..0x7f,
        1 => Just(b'\t'),
        1 => 0x80u8..=0xff,
    ];
    let token = prop_oneof![
        2 => Just(AuthToken::Good),
        1 => garbage_token().prop_map(AuthToken::Garbage),
        1 => "[A-Za-z0-9._~+/=-]{0,300}".prop_map(AuthToken::Garbage),
    ];
    prop_oneof![
        1 => proptest::collection::vec(header_byte, 0..1024).prop_map(Authorization::Bytes),
        3 => (
            prop_oneof![
                2 => proptest::sample::select(vec!["Bearer", "bearer", "BEARER", "BeArEr"]),
                1 => proptest::sample::select(vec![
                    "Basic", "Bearer:", "Bear", "", "Negotiate", "DPoP", "Bearer,",
                ]),
            ],
            prop_oneof![
                2 => proptest::sample::select(vec![" ", "  ", " \t "]),
                1 => proptest::sample::select(vec!["\t", "", ",", " , "]),
            ],
            token,
            prop_oneof![
                2 => proptest::sample::select(vec!["", " ", "\t", "  "]),
                1 => proptest::sample::select(vec![" x", ",", " Bearer x", "\u{a0}"]),
            ],
        )
            .prop_map(|(scheme, separator, token, suffix)| Authorization::Parts {
                scheme,
                separator,
                token,
                suffix,
            }),
    ]
}

/// A correct access token for the API `bearer_ctx` sets up.
fn api_token() -> String {
    let t = now();
    let claims = json!({
        "iss": idp(),
        "aud": CLIENT,
        "exp": t + 3600,
        "iat": t - 60,
        "sub": "subject-1",
        "azp": CALLER,
        "scp": "User.Read",
    });
    let header = Value::Object(good_header(Signer::Key1, Algorithm::RS256)).to_string();
    sign(
        header.as_bytes(),
        claims.to_string().as_bytes(),
        &keys().key1,
        Algorithm::RS256,
    )
}

/// Any `Authorization` header, through the real extractor path of a web API set up against
/// the loopback provider: never panics, the same header gets the same verdict twice (the
/// second time from the cache of validated tokens when the first was accepted), and only
/// `Bearer <one correct token>` (scheme in any case, surrounding spaces) is accepted.
#[test]
fn hostile_authorization_headers_are_refused_unless_one_good_bearer_token() {
    let rt = runtime();
    let msal = rt.block_on(async {
        let config = MsalConfig::builder()
            .client_id(CLIENT)
            .authority(idp())
            .jwks_cooldown(Duration::from_secs(3600))
            .build()
            .unwrap();
        crate::Msal::api(config).await.unwrap()
    });
    let ctx = Ctx(msal.inner.clone());
    let good = api_token();
    let (sent, accepted) = (AtomicUsize::new(0), AtomicUsize::new(0));
    check(
        "hostile_authorization_headers_are_refused_unless_one_good_bearer_token",
        256,
        authorization(),
        |authorization| {
            let bytes: Vec<u8> = match &authorization {
                Authorization::Bytes(bytes) => bytes.clone(),
                Authorization::Parts {
                    scheme,
                    separator,
                    token,
                    suffix,
                } => {
                    let token = match token {
                        AuthToken::Good => good.as_str(),
                        AuthToken::Garbage(g) => g.as_str(),
                    };
                    format!("{scheme}{separator}{token}{suffix}").into_bytes()
                }
            };
            let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                return Ok(());
            };
            rt.block_on(async {
                let first = bearer(&ctx, &value).await;
                let second = bearer(&ctx, &value).await;
                sent.fetch_add(1, Ordering::Relaxed);
                accepted.fetch_add(usize::from(first.is_ok()), Ordering::Relaxed);
                prop_assert_eq!(first.is_ok(), second.is_ok(), "the verdict changed");
                if first.is_ok() {
                    let (scheme, rest) = match bytes.iter().position(|&b| b == b' ') {
                        Some(i) => (&bytes[..i], &bytes[i + 1..]),
                        None => (&bytes[..], &[][..]),
                    };
                    prop_assert!(scheme.eq_ignore_ascii_case(b"bearer"));
                    prop_assert_eq!(rest.trim_ascii(), good.as_bytes(), "accepted another token");
                }
                if let (
                    Authorization::Parts {
                        scheme: "Bearer",
                        separator: " ",
                        token: AuthToken::Good,
                        suffix: "",
                    },
                    Err(e),
                ) = (&authorization, &first)
                {
                    return Err(TestCaseError::fail(format!(
                        "the correct header was refused: {e}"
                    )));
                }
                Ok(())
            })
        },
    );
    eprintln!(
        "  ... {} headers judged, {} accepted",
        sent.into_inner(),
        accepted.into_inner()
    );
}

// ---------------------------------------------------------------------------------------------
// The sign-in routes: query strings and form bodies
// ---------------------------------------------------------------------------------------------

/// A query string or form body: structured pairs of the names the routes read (values
/// percent-encoded or raw), or arbitrary bytes.
fn query() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        6 => proptest::sample::select(vec![
            "code", "state", "error", "error_description", "session_state", "next",
            "login_hint", "domain_hint", "prompt", "scopes", "sid", "iss", "csrf_token",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_%=&+]{0,12}",
    ];
    let value = prop_oneof![
        proptest::collection::vec(any::<char>(), 0..64).prop_map(|c| c.into_iter().collect()),
        "[A-Za-z0-9%+/=:?&#.\\\\-]{0,64}",
        proptest::sample::select(vec![
            "",
            "login",
            "none",
            "//evil.test",
            "https://evil.test/",
            "/\\evil",
            "%",
            "%zz",
            "%C3%28",
            "%00",
            "a%2",
            "access_denied",
        ])
        .prop_map(str::to_owned),
    ];
    let pair = (name, value, any::<bool>()).prop_map(|(name, value, encode)| {
        if encode {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(&name, &value)
                .finish()
        } else {
            format!("{name}={value}")
        }
    });
    prop_oneof![
        3 => proptest::collection::vec(pair, 0..8).prop_map(|pairs| pairs.join("&").into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

/// One request to the sign-in routes.
#[derive(Clone, Debug)]
struct RouteRequest {
    route: &'static str,
    post: bool,
    query: Vec<u8>,
    browser: bool,
    cookie: Option<String>,
}

fn route_request() -> impl Strategy<Value = RouteRequest> {
    (
        proptest::sample::select(vec![
            "callback",
            "callback",
            "login",
            "signout-oidc",
            "logout",
        ]),
        any::<bool>(),
        query(),
        any::<bool>(),
        proptest::option::of("[ -~]{0,200}"),
    )
        .prop_map(|(route, post, query, browser, cookie)| RouteRequest {
            route,
            // Only the callback takes both methods; sign-out is POST only.
            post: route == "logout" || (post && route == "callback"),
            query,
            browser,
            cookie,
        })
}

/// Every sign-in route given any query string or form body, as a browser or an API client,
/// with any cookie: never panics and never answers 5xx. With no sign-in ever started, the
/// callback always refuses (400); a sign-out without a session goes home; a redirect never
/// leaves for anywhere but the provider or this app; and every cookie set is the app's own
/// (the attacker's `state` never becomes a cookie's name).
#[test]
fn hostile_callback_and_route_parameters_are_refused_cleanly() {
    let rt = runtime();
    let app = rt.block_on(async {
        let config = MsalConfig::builder()
            .client_id(CLIENT)
            .client_secret("hostile-tests-secret")
            .authority(idp())
            .public_url("http://127.0.0.1:3000")
            .build()
            .unwrap();
        let msal = crate::Msal::new(config).await.unwrap();
        msal.routes::<()>().layer(msal.layer())
    });
    let authorize = format!("{}/authorize", idp());
    let statuses = std::sync::Mutex::new(BTreeMap::<u16, usize>::new());
    check(
        "hostile_callback_and_route_parameters_are_refused_cleanly",
        256,
        route_request(),
        |r| {
            let path = format!("/auth/{}", r.route);
            let mut builder = Request::builder();
            let body = if r.post {
                builder = builder
                    .method(Method::POST)
                    .uri(&path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(r.query.clone())
            } else {
                let Ok(query) = std::str::from_utf8(&r.query) else {
                    return Ok(());
                };
                builder = builder.method(Method::GET).uri(format!("{path}?{query}"));
                Body::empty()
            };
            if r.browser {
                builder = builder
                    .header(header::ACCEPT, "text/html")
                    .header("sec-fetch-mode", "navigate");
            }
            if let Some(cookie) = &r.cookie {
                builder = builder.header(header::COOKIE, cookie.as_str());
            }
            // A query that is not a valid URI never reaches the app.
            let Ok(request) = builder.body(body) else {
                return Ok(());
            };
            rt.block_on(async {
                let response = app.clone().oneshot(request).await.unwrap();
                let status = response.status();
                *statuses.lock().unwrap().entry(status.as_u16()).or_default() += 1;
                prop_assert!(!status.is_server_error(), "{} answered {}", path, status);
                match (r.route, r.post) {
                    ("callback", _) => prop_assert_eq!(status, StatusCode::BAD_REQUEST),
                    ("logout", _) => prop_assert_eq!(status, StatusCode::SEE_OTHER),
                    _ => {}
                }
                if let Some(location) = response.headers().get(header::LOCATION) {
                    let location = location.to_str().unwrap_or_default();
                    prop_assert!(
                        location == "/" || location.starts_with(&authorize),
                        "redirected to {:?}",
                        location
                    );
                }
                for cookie in response.headers().get_all(header::SET_COOKIE) {
                    let cookie = cookie.to_str().unwrap_or_default();
                    prop_assert!(
                        cookie.starts_with("msal_session"),
                        "a foreign cookie: {:?}",
                        cookie
                    );
                }
                Ok(())
            })
        },
    );
    eprintln!(
        "  ... responses by status: {:?}",
        statuses.into_inner().unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// The `next` redirect target
// ---------------------------------------------------------------------------------------------

/// Text where a `next` parameter belongs: anything at all, and path-like text built from
/// the characters and prefixes open-redirect tricks use.
fn next_param() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        "[a-zA-Z0-9/._~%?#&=@:;+!$'()*,-]",
        Just("\\".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{7f}".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{a0}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{3000}".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("\u{ff0f}".to_owned()),
        Just("é".to_owned()),
        Just(" ".to_owned()),
    ];
    let prefix = proptest::sample::select(vec![
        "/",
        "//",
        "/\\",
        "\\",
        "\\\\",
        "///",
        "/./",
        "/.//",
        "/../",
        "https:",
        "https://",
        "javascript:",
        "data:",
        "/%2F",
        "/%5C",
        "/\t/",
        " /",
        "\u{feff}/",
        "",
        "%2F%2F",
    ]);
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..1024).prop_map(|c| c.into_iter().collect()),
        (prefix, proptest::collection::vec(tricky, 0..80))
            .prop_map(|(prefix, rest)| format!("{prefix}{}", rest.concat())),
        // Around the length limit.
        (2040..2060usize).prop_map(|n| format!("/{}", "a".repeat(n - 1))),
    ]
}

proptest! {
    #![proptest_config(config(1000))]

    /// `safe_next` never panics, and whatever it returns is a same-origin relative path:
    /// the input unchanged or `/`; starting with a single `/` (not `//`, not `/\`); no
    /// backslash, control character or whitespace anywhere; at most 2048 bytes; resolved
    /// against any page of the app it stays on the app's origin; and it is idempotent.
    #[test]
    fn hostile_next_is_always_a_same_origin_path(next in next_param()) {
        let out = safe_next(Some(&next));
        prop_assert!(out == next || out == "/");
        prop_assert!(out.starts_with('/'));
        prop_assert!(!out.starts_with("//") && !out.starts_with("/\\"));
        prop_assert!(!out.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()));
        prop_assert!(out.len() <= 2048);
        let base = Url::parse("https://app.test/some/page?x=1").unwrap();
        let resolved = base.join(&out);
        prop_assert!(resolved.is_ok(), "{:?} does not resolve", out);
        let resolved = resolved.unwrap();
        prop_assert_eq!(resolved.origin(), base.origin(), "{:?} left the app", out);
        prop_assert_eq!(safe_next(Some(&out)), out.clone());
        prop_assert_eq!(safe_next(None), "/");
    }

    /// Ordinary paths are kept: `/` then path, query and fragment characters (not starting
    /// `//`) come back unchanged, so the sanitiser is not just "always `/`".
    #[test]
    fn hostile_next_keeps_ordinary_paths(path in "/[a-zA-Z0-9._~%?#&=@:;+!$'()*,-][a-zA-Z0-9/._~%?#&=@:;+!$'()*,-]{0,200}") {
        prop_assert_eq!(safe_next(Some(&path)), path);
    }

    /// Whatever `safe_next` returns can be sent as the `Location` of the redirect that ends
    /// the sign-in (no 500 "Bad redirect" after a successful sign-in).
    #[test]
    fn hostile_next_is_always_a_valid_location(next in next_param()) {
        let out = safe_next(Some(&next));
        let response = crate::error::redirect(StatusCode::SEE_OTHER, &out);
        prop_assert_eq!(response.status(), StatusCode::SEE_OTHER);
        prop_assert_eq!(
            response.headers().get(header::LOCATION).map(|v| v.as_bytes().to_vec()),
            Some(out.into_bytes())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration: environment, `.env`, secrets directory
// ---------------------------------------------------------------------------------------------

/// A secret value that cannot occur in a message by chance: a marker and random letters.
fn secret_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{12,24}".prop_map(|s| format!("Zq7{s}Xy"))
}

/// A value for one variable: plausible ones for it, near misses, and arbitrary text.
fn variable_value(name: &'static str) -> BoxedStrategy<String> {
    let arbitrary = proptest::collection::vec(any::<char>(), 0..200)
        .prop_map(|c| c.into_iter().collect::<String>());
    let duration = (
        "[0-9]{1,22}",
        proptest::sample::select(vec!["", "s", "m", "h", "d", "ms", "x", " m", "M"]),
    )
        .prop_map(|(n, u)| format!("{n}{u}"));
    let url = (
        proptest::sample::select(vec![
            "https://",
            "http://",
            "http://127.0.0.1:",
            "http://localhost",
            "redis://",
            "ftp://",
            "",
            "https://login.microsoftonline.com/",
            "https://x.b2clogin.com/",
            "https://x.ciamlogin.com/",
        ]),
        "[a-zA-Z0-9./:@?#%{}-]{0,60}",
    )
        .prop_map(|(a, b)| format!("{a}{b}"));
    let guid = prop_oneof![
        Just(TID.to_owned()),
        Just(TID.to_uppercase()),
        Just("common".to_owned()),
        Just("organizations".to_owned()),
        Just("consumers".to_owned()),
        "[0-9a-fA-F-]{30,40}",
        "[a-z.]{1,30}",
    ];
    let specific: BoxedStrategy<String> = match name {
        "MSAL_SESSION_LIFETIME" | "MSAL_CLOCK_SKEW" | "MSAL_JWKS_COOLDOWN"
        | "MSAL_HTTP_TIMEOUT" => duration.boxed(),
        "MSAL_INSTANCE" | "MSAL_AUTHORITY" | "MSAL_PUBLIC_URL" | "MSAL_REDIRECT_URI"
        | "MSAL_POST_LOGOUT_REDIRECT_URI" | "MSAL_GRAPH_URL" => url.boxed(),
        "MSAL_TENANT_ID" | "MSAL_CLIENT_ID" => guid.boxed(),
        "MSAL_ALLOWED_TENANTS" | "MSAL_AUDIENCE" | "MSAL_SCOPES" => {
            proptest::collection::vec(guid, 0..4)
                .prop_map(|g| g.join(", "))
                .boxed()
        }
        "MSAL_RESPONSE_MODE" => proptest::sample::select(vec!["query", "form_post", "Query", ""])
            .prop_map(str::to_owned)
            .boxed(),
        "MSAL_TOKEN_AUTH_METHOD" => proptest::sample::select(vec![
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
        ])
        .prop_map(str::to_owned)
        .boxed(),
        "MSAL_ACCEPT_UNSCOPED_TOKENS" => {
            proptest::sample::select(vec!["true", "FALSE", "1", "no", "yes please"])
                .prop_map(str::to_owned)
                .boxed()
        }
        "MSAL_ROUTE_PREFIX" | "MSAL_COOKIE_NAME" => "[/a-zA-Z0-9_ ?#{}*:-]{0,20}".boxed(),
        // Secrets: values made to be recognisable, so an echo is caught. A certificate is
        // given as PEM text here (a path is another test).
        "MSAL_CLIENT_SECRET" => secret_value().boxed(),
        "MSAL_SESSION_KEY" => prop_oneof![
            secret_value(),
            proptest::collection::vec(any::<u8>(), 32..=32).prop_map(|b| STANDARD.encode(b)),
        ]
        .boxed(),
        "MSAL_SESSION_OLD_KEYS" => proptest::collection::vec(secret_value(), 1..3)
            .prop_map(|k| k.join(","))
            .boxed(),
        "MSAL_SESSION_STORE" => prop_oneof![
            secret_value(),
            secret_value().prop_map(|s| format!("redis://user:{s}@cache.test:6379/0")),
            Just("memory".to_owned()),
        ]
        .boxed(),
        "MSAL_CLIENT_CERTIFICATE" => secret_value()
            .prop_map(|s| {
                format!(
                    "-----BEGIN CERTIFICATE-----\n{s}\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n{s}\n-----END PRIVATE KEY-----\n"
                )
            })
            .boxed(),
        _ => arbitrary.clone().boxed(),
    };
    let secret = SECRET_VARIABLES.contains(&name);
    if secret {
        specific
    } else {
        prop_oneof![3 => specific, 1 => arbitrary].boxed()
    }
}

/// A random subset of the variables, each with a value; secrets directory not used.
fn environment() -> impl Strategy<Value = BTreeMap<String, String>> {
    let each: Vec<BoxedStrategy<Option<(String, String)>>> = VARIABLES
        .iter()
        .filter(|name| **name != "MSAL_SECRETS_DIR")
        .map(|name| {
            let weight = if matches!(*name, "MSAL_CLIENT_ID" | "MSAL_TENANT_ID") {
                4
            } else {
                1
            };
            prop_oneof![
                2 => Just(None),
                weight => variable_value(name).prop_map(move |v| Some(((*name).to_owned(), v))),
            ]
            .boxed()
        })
        .collect();
    each.prop_map(|pairs| pairs.into_iter().flatten().collect())
}

/// The secret parts of `values` that must not be shown: whole values (trimmed), each
/// comma-separated entry, and a Redis URL's password.
fn secrets_in(values: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in values {
        if !SECRET_VARIABLES.contains(&name.as_str()) {
            continue;
        }
        for part in value.split(',').map(str::trim).filter(|p| p.len() >= 8) {
            match Url::parse(part) {
                Ok(url) if url.password().is_some() => {
                    out.extend(url.password().map(str::to_owned));
                }
                _ => {
                    // Secret-marked text only: a valid base64 key is checked as a whole.
                    out.push(part.to_owned());
                    out.extend(
                        part.split(['\n', '/', '@', ':'])
                            .filter(|p| p.starts_with("Zq7"))
                            .map(str::to_owned),
                    );
                }
            }
        }
    }
    out
}

/// Builds from these sources and checks the outcome: `Ok`, or an error listing at least one
/// problem, each with a message; no secret in the error's `Display` or `Debug`, nor in the
/// `Debug` of the builder or of the configuration; and an accepted configuration holds
/// only validated values.
fn check_config(sources: &Sources, secrets: &[String]) -> TestCaseResult {
    let builder = MsalConfig::builder().with_sources(sources);
    let builder_debug = format!("{builder:?}");
    let shown = match builder.build() {
        Ok(config) => {
            prop_assert!(
                config.route_prefix.starts_with('/') && !config.route_prefix.ends_with('/')
            );
            prop_assert!(config.clock_skew <= Duration::from_secs(15 * 60));
            prop_assert!(!config.session_lifetime.is_zero());
            prop_assert!(!config.cookie_name.is_empty());
            prop_assert!(
                config
                    .allowed_tenants
                    .iter()
                    .all(|t| is_guid(t) && *t == t.to_ascii_lowercase())
            );
            prop_assert!(!config.client_id.trim().is_empty());
            format!("{config:?}")
        }
        Err(error) => {
            prop_assert!(!error.problems().is_empty(), "an error without problems");
            for problem in error.problems() {
                prop_assert!(!problem.message.trim().is_empty(), "an empty problem");
            }
            format!("{error}\n{error:?}")
        }
    };
    for secret in secrets {
        prop_assert!(
            !shown.contains(secret.as_str()),
            "secret {:?} shown:\n{}",
            secret,
            shown
        );
        prop_assert!(
            !builder_debug.contains(secret.as_str()),
            "secret {:?} in the builder's Debug",
            secret
        );
    }
    Ok(())
}

/// A directory that does not exist, so no real secrets directory is read.
fn nowhere() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("msal-hostile-nowhere-{}", std::process::id()))
}

/// A fresh temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "msal-hostile-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Any values for any subset of the `MSAL_*` variables (environment): building never
    /// panics; it is `Ok` with validated values or an error listing its problems; and no
    /// secret value (client secret, certificate, session keys, Redis password) is shown.
    #[test]
    fn hostile_environment_is_ok_or_a_clean_error(env in environment()) {
        let secrets = secrets_in(&env);
        let sources = Sources { env, dotenv: None, default_secrets_dir: nowhere() };
        check_config(&sources, &secrets)?;
    }

    /// A secrets directory of files holding arbitrary bytes (not UTF-8, empty, huge
    /// lines): never panics, a clean outcome, and the files' secret contents never shown.
    #[test]
    fn hostile_secrets_dir_is_ok_or_a_clean_error(
        env in environment(),
        files in proptest::collection::vec(
            // Not the certificate: a file of it holding a path is another test.
            (proptest::sample::select(VARIABLES[..2].iter().chain(&VARIABLES[3..]).copied().collect::<Vec<_>>()), prop_oneof![
                secret_value().prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..256),
            ]),
            0..6,
        ),
    ) {
        let dir = TempDir::new();
        let mut shown_values = env.clone();
        for (name, bytes) in &files {
            let path = dir.0.join("secrets").join(name.to_ascii_lowercase());
            std::fs::write(&path, bytes).unwrap();
            if let Ok(text) = std::str::from_utf8(bytes) {
                shown_values.entry((*name).to_owned()).or_insert_with(|| text.to_owned());
            }
        }
        let secrets = secrets_in(&shown_values);
        let sources = Sources { env, dotenv: None, default_secrets_dir: dir.0.join("secrets") };
        check_config(&sources, &secrets)?;
    }

    /// A `.env` file of hostile lines (every quoting style, `export`, comments, `${VAR}`
    /// substitution, unterminated quotes, stray bytes, CRLF): reading it never panics and the
    /// outcome is `Ok` or an error listing its problems.
    #[test]
    fn hostile_dotenv_is_ok_or_a_clean_error(text in dotenv_text(false)) {
        let dir = TempDir::new();
        let path = dir.0.join(".env");
        std::fs::write(&path, &text).unwrap();
        let sources = Sources {
            env: BTreeMap::new(),
            dotenv: Some(path),
            default_secrets_dir: nowhere(),
        };
        check_config(&sources, &[])?;
    }
}

/// One `.env` line.
fn dotenv_line(secrets_only: bool) -> impl Strategy<Value = String> {
    let name = if secrets_only {
        proptest::sample::select(SECRET_VARIABLES.to_vec()).boxed()
    } else {
        proptest::sample::select(VARIABLES.to_vec()).boxed()
    };
    let value = if secrets_only {
        secret_value().boxed()
    } else {
        prop_oneof![
            secret_value(),
            proptest::collection::vec(any::<char>(), 0..60)
                .prop_map(|c| c.into_iter().collect::<String>()),
            "[a-zA-Z0-9 '\"\\\\$={}#-]{0,40}",
        ]
        .boxed()
    };
    let quoting = proptest::sample::select(vec![
        "{v}",
        "'{v}'",
        "\"{v}\"",
        "\"{v}",
        "'{v}",
        "{v} x",
        "{v} # note",
        "${{{v}}}",
        "\"{v}\\\"",
        "{v}\\",
        "$({v})",
    ]);
    (
        proptest::sample::select(vec!["", "export ", "  ", "#"]),
        name,
        proptest::sample::select(vec!["=", " = ", "=\t", ":", ""]),
        quoting,
        value,
        proptest::sample::select(vec!["\n", "\r\n", "\n\n"]),
    )
        .prop_map(|(lead, name, eq, quoting, value, end)| {
            let value = quoting
                .replace("{v}", &value)
                .replace("{{", "{")
                .replace("}}", "}");
            format!("{lead}{name}{eq}{value}{end}")
        })
}

fn dotenv_text(secrets_only: bool) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(dotenv_line(secrets_only), 0..10),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(|(lines, junk)| {
            let mut text = lines.concat().into_bytes();
            if let Some(junk) = junk {
                text.extend(junk);
            }
            text
        })
}

proptest! {
    #![proptest_config(config(256))]

    /// A `.env` file whose lines set the secret variables, some of them malformed: the
    /// error never shows a secret value.
    #[test]
    fn hostile_dotenv_errors_never_echo_secret_values(text in dotenv_text(true)) {
        let dir = TempDir::new();
        let path = dir.0.join(".env");
        std::fs::write(&path, &text).unwrap();
        let secrets: Vec<String> = String::from_utf8_lossy(&text)
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.starts_with("Zq7") && w.ends_with("Xy"))
            .map(str::to_owned)
            .collect();
        let sources = Sources {
            env: BTreeMap::new(),
            dotenv: Some(path),
            default_secrets_dir: nowhere(),
        };
        check_config(&sources, &secrets)?;
    }

    /// `MSAL_CLIENT_CERTIFICATE` is a secret variable: when its value is not PEM text it is
    /// read as a path, and the error must still not show the value (it may be key material
    /// pasted without its PEM armour).
    #[test]
    fn hostile_certificate_errors_never_echo_the_value(value in secret_value()) {
        let env: BTreeMap<String, String> = [
            ("MSAL_CLIENT_ID".to_owned(), CLIENT.to_owned()),
            ("MSAL_TENANT_ID".to_owned(), TID.to_owned()),
            ("MSAL_CLIENT_CERTIFICATE".to_owned(), value.clone()),
        ]
        .into();
        let sources = Sources { env, dotenv: None, default_secrets_dir: nowhere() };
        check_config(&sources, &[value])?;
    }
}
