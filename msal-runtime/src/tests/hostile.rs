//! Hostile input (proptest), what every property shares: what arrives from outside (the `Authorization` header, bearer
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

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestCaseResult, TestRunner};
use serde_json::{Map, Value, json};
use url::Url;

use crate::validate::{
    AccessKind, AccessTokenExpectations, IdTokenExpectations, KeyCache, ResolvedIssuer,
    ValidationError, now, validate_access_token, validate_id_token,
};

// ---------------------------------------------------------------------------------------------
// Running properties
// ---------------------------------------------------------------------------------------------

/// `PROPTEST_CASES` when set, otherwise `default_cases`; failures are not written to disk.
pub(crate) fn config(default_cases: u32) -> ProptestConfig {
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
pub(crate) fn check<S>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) where
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
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens
// ---------------------------------------------------------------------------------------------

pub(crate) const ISS: &str = "https://login.test/c0ffee00-0000-4000-8000-00000000c0de/v2.0";
pub(crate) const V1_ISS: &str = "https://sts.test/c0ffee00-0000-4000-8000-00000000c0de/";
pub(crate) const TEMPLATE: &str = "https://login.test/{tenantid}/v2.0";
pub(crate) const V1_TEMPLATE: &str = "https://sts.test/{tenantid}/";
pub(crate) const TID: &str = "c0ffee00-0000-4000-8000-00000000c0de";
pub(crate) const OTHER_TID: &str = "0ddba11a-0000-4000-8000-000000000001";
pub(crate) const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
pub(crate) const CALLER: &str = "99999999-2222-4333-8444-555555555555";
pub(crate) const NONCE: &str = "n-0S6_WzA2Mj";
/// Published, without an `issuer` attribute.
pub(crate) const KID1: &str = "hostile-1";
/// Published, with Entra's `issuer` attribute (the multi-tenant template).
pub(crate) const KID2: &str = "hostile-2";
pub(crate) const SKEW: Duration = Duration::from_secs(300);

/// Who signs a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signer {
    /// The key published as [`KID1`].
    Key1,
    /// The key published as [`KID2`].
    Key2,
    /// A key nobody publishes, claiming to be [`KID1`].
    Foreign,
}

impl Signer {
    pub(crate) fn kid(self) -> &'static str {
        match self {
            Signer::Key1 | Signer::Foreign => KID1,
            Signer::Key2 => KID2,
        }
    }
}

pub(crate) struct Keys {
    pub(crate) key1: EncodingKey,
    pub(crate) key2: EncodingKey,
    pub(crate) foreign: EncodingKey,
    /// The public JWK of key 1.
    pub(crate) jwk1: Value,
    /// `{"keys": [jwk1, jwk2]}`.
    pub(crate) jwks: String,
    /// Key 1's modulus, raw.
    pub(crate) modulus1: Vec<u8>,
}

impl Keys {
    pub(crate) fn encoding(&self, signer: Signer) -> &EncodingKey {
        match signer {
            Signer::Key1 => &self.key1,
            Signer::Key2 => &self.key2,
            Signer::Foreign => &self.foreign,
        }
    }
}

/// One DER element: its content and what follows it.
pub(crate) fn der(bytes: &[u8]) -> (&[u8], &[u8]) {
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
pub(crate) fn rsa_components(pem: &str) -> (Vec<u8>, Vec<u8>) {
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

pub(crate) fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pem1 = include_str!("../testing/keys/test-only-rsa-1.pem");
        let pem2 = include_str!("../testing/keys/test-only-rsa-2.pem");
        let pem9 = include_str!("../testing/keys/test-only-rsa-9.pem");
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

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature`, signed over the exact bytes given.
pub(crate) fn sign(header: &[u8], payload: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
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
pub(crate) fn idp() -> &'static str {
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

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The key cache of the test provider's JWKS.
pub(crate) fn idp_keys() -> Arc<KeyCache> {
    key_cache(&http_client(), &format!("{}/jwks", idp()))
}

/// A key cache on the provider's JWKS (or any other URL). The cooldown is long: after the
/// first fetch an unknown `kid` is refused without another one, as in production.
pub(crate) fn key_cache(http: &reqwest::Client, url: &str) -> Arc<KeyCache> {
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
pub(crate) fn tricky_string() -> impl Strategy<Value = String> {
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
pub(crate) fn hostile_json() -> impl Strategy<Value = Value> {
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
pub(crate) const CLAIMS: [&str; 14] = [
    "iss", "aud", "exp", "nbf", "iat", "sub", "tid", "oid", "nonce", "azp", "appid", "scp",
    "roles", "idtyp",
];

/// What a correct access token's permissions look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Delegated: `scp`.
    User,
    /// App-only: `roles` and `idtyp: app`.
    App,
    /// Neither `scp` nor `roles`.
    Bare,
}

/// One change to an otherwise correct set of claims (or header fields).
#[derive(Clone, Debug)]
pub(crate) enum Change {
    Remove(String),
    Set(String, Value),
}

pub(crate) fn claim_change() -> impl Strategy<Value = Change> {
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

pub(crate) fn header_change() -> impl Strategy<Value = Change> {
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

pub(crate) fn apply(map: &mut Map<String, Value>, changes: &[Change]) {
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
pub(crate) enum PayloadForm {
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

pub(crate) fn payload_form() -> impl Strategy<Value = PayloadForm> {
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

pub(crate) fn payload_bytes(claims: &Map<String, Value>, form: &PayloadForm) -> Vec<u8> {
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
pub(crate) struct Setup {
    pub(crate) id_token: bool,
    /// Entra multi-tenant (`{tenantid}` template) instead of one exact issuer.
    pub(crate) template: bool,
    /// Only [`TID`] may sign in.
    pub(crate) allow_list: bool,
    pub(crate) allow_no_permissions: bool,
    /// ID tokens: the sign-in's nonce is checked (not for a refreshed ID token).
    pub(crate) expect_nonce: bool,
    pub(crate) profile: Profile,
}

pub(crate) fn setup() -> impl Strategy<Value = Setup> {
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
pub(crate) fn good_claims(setup: &Setup) -> Map<String, Value> {
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

pub(crate) fn good_header(signer: Signer, alg: Algorithm) -> Map<String, Value> {
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

pub(crate) fn signer() -> impl Strategy<Value = (Signer, Algorithm)> {
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
pub(crate) async fn judge(
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
pub(crate) fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Everything an accepted token must satisfy, stated from the claims the validator returned:
/// nothing gets through that the documented rules refuse.
pub(crate) fn check_accepted(
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

/// Random text where a token belongs: arbitrary characters, dot-separated base64url
/// segments, and base64url of arbitrary JSON (with and without a third part).
pub(crate) fn garbage_token() -> impl Strategy<Value = String> {
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
