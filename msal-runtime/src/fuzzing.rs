//! Entry points of the coverage-guided fuzz targets in `fuzz/` (cargo feature `fuzzing`).
//! Hidden and unstable: nothing here is for an app.
//!
//! Each entry point takes the bytes libFuzzer makes up and gives them to the code that reads
//! such bytes in production (the crate's own `pub(crate)` functions, the real routes and
//! extractors), then asserts what must hold whatever the bytes were. A panic is a finding.
//!
//! What the targets share is set up once per process and never touches the internet:
//!
//! * an identity provider: a [`TestIdp`] listening on a fixed loopback address
//!   ([`IDP_ADDR`], so the issuer written into the committed seed tokens is the one the
//!   harness expects on every run), whose JWKS is replaced by a fixed key set: the committed
//!   test-only RSA keys 1 and 2 (`src/testing/keys`) and a P-256 key made from a fixed scalar.
//!   A second process on the same machine finds the address taken and uses the first one's
//!   server, which serves the same documents;
//! * the session keys the session target decodes with ([`session_keys`]).
//!
//! [`seeds`] writes the starting corpora: TestIdp-minted tokens, JWKS documents, session
//! records encoded by the real encoder, and hand-picked queries, `.env` texts and `next`
//! values. `fuzz/examples/seeds.rs` stores them under `fuzz/seeds/<target>/`.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePrivateKey as _;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use url::Url;

use crate::Msal;
use crate::caller::principal;
use crate::config::{
    MsalConfig, MsalConfigBuilder, SECRET_VARIABLES, SessionKey, Sources, is_guid,
};
use crate::routes::safe_next;
use crate::session::{
    self, AnsweredClaims, AnsweredStepUp, AppBinding, CachedToken, FLOW_TTL, LookedUpGroups,
    MsalStore, PendingFlow, SignedIn, TokenVault, WhoCache,
};
use crate::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, Mint, MintKey};
use crate::testing::{TestIdp, TestIdpError};
use crate::validate::{
    AccessTokenExpectations, KeyCache, KeySet, ResolvedIssuer, now, validate_access_token,
};

// ---------------------------------------------------------------------------------------------
// What every target shares
// ---------------------------------------------------------------------------------------------

/// Where the fuzz targets' identity provider listens. A fixed address (on a loopback address
/// of its own, so it does not meet the tests' `127.0.0.1` servers) keeps the issuer of the
/// committed seed tokens valid from run to run.
pub const IDP_ADDR: &str = "127.20.20.20:20020";

/// The tenant the harness's apps are configured for (TestIdp's default tenant).
pub const TENANT: &str = DEFAULT_TENANT_ID;

/// The client id of the harness's apps (TestIdp's default app).
pub const CLIENT: &str = DEFAULT_CLIENT_ID;

/// The `kid` of committed test-only RSA key 1 in the harness's JWKS (with Entra's `issuer`
/// attribute, the multi-tenant template).
pub const KID_RSA_1: &str = "fuzz-rsa-1";

/// The `kid` of committed test-only RSA key 2 in the harness's JWKS (pinned to `RS256`).
pub const KID_RSA_2: &str = "fuzz-rsa-2";

/// The `kid` of the harness's P-256 key.
pub const KID_EC: &str = "fuzz-ec-1";

/// An `exp` far in the future (2100-01-01), so committed seed tokens stay valid.
pub const FAR_FUTURE: i64 = 4_102_444_800;

/// The scalar of the harness's P-256 key: test-only, like the committed RSA keys.
const EC_SCALAR: [u8; 32] = [
    0x5c, 0x1f, 0x8e, 0x33, 0x07, 0xa9, 0x41, 0x6d, 0x92, 0x0b, 0xc4, 0x58, 0xee, 0x13, 0x76, 0x2a,
    0x9d, 0x40, 0x61, 0xb7, 0x05, 0xf8, 0x3c, 0xd2, 0x19, 0x8a, 0x6e, 0x27, 0xb0, 0x44, 0x93, 0x0f,
];

const RSA_1_PEM: &str = include_str!("testing/keys/test-only-rsa-1.pem");
const RSA_2_PEM: &str = include_str!("testing/keys/test-only-rsa-2.pem");

/// Harness setup that cannot go on: a broken harness, not a finding in the code under test.
fn setup<T, E: Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("fuzz harness setup: {what}: {e}"),
    }
}

/// A runtime for a target's async calls, each driven to completion by `block_on`.
fn runtime() -> tokio::runtime::Runtime {
    setup(
        "tokio runtime",
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    )
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The harness's signing keys and the JWKS publishing them.
struct Keys {
    rsa1: EncodingKey,
    rsa2: EncodingKey,
    ec: EncodingKey,
    /// The JWKS entries, as the harness's provider publishes them.
    jwks: Value,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa_jwk = |pem: &str, kid: &str| {
            let key = setup("RSA key", rsa::RsaPrivateKey::from_pkcs8_pem(pem));
            json!({
                "kty": "RSA",
                "use": "sig",
                "kid": kid,
                "n": b64(&key.n().to_bytes_be()),
                "e": b64(&key.e().to_bytes_be()),
            })
        };
        let mut jwk1 = rsa_jwk(RSA_1_PEM, KID_RSA_1);
        jwk1["issuer"] = json!(format!("http://{IDP_ADDR}/{{tenantid}}/v2.0"));
        let mut jwk2 = rsa_jwk(RSA_2_PEM, KID_RSA_2);
        jwk2["alg"] = json!("RS256");
        let ec = setup("P-256 key", p256::SecretKey::from_bytes(&EC_SCALAR.into()));
        let point = ec.public_key().to_encoded_point(false);
        let coordinate = |c: Option<&p256::FieldBytes>| c.map(|c| b64(c)).unwrap_or_default();
        let jwk_ec = json!({
            "kty": "EC",
            "use": "sig",
            "kid": KID_EC,
            "crv": "P-256",
            "x": coordinate(point.x()),
            "y": coordinate(point.y()),
        });
        Keys {
            rsa1: setup("RSA key 1", EncodingKey::from_rsa_pem(RSA_1_PEM.as_bytes())),
            rsa2: setup("RSA key 2", EncodingKey::from_rsa_pem(RSA_2_PEM.as_bytes())),
            // Signed by ring, as the RSA keys are: fast enough to sign every input.
            ec: EncodingKey::from_ec_der(setup("P-256 key", ec.to_pkcs8_der()).as_bytes()),
            jwks: json!({ "keys": [jwk1, jwk2, jwk_ec] }),
        }
    })
}

/// Which harness key signs a token the harness makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SigningKey {
    Rs256Key1,
    Ps256Key1,
    Es256,
    Rs256Key2,
}

impl SigningKey {
    fn of(bits: u8) -> Self {
        match bits & 3 {
            0 => SigningKey::Rs256Key1,
            1 => SigningKey::Ps256Key1,
            2 => SigningKey::Es256,
            _ => SigningKey::Rs256Key2,
        }
    }

    fn header(self) -> Value {
        let (alg, kid) = match self {
            SigningKey::Rs256Key1 => ("RS256", KID_RSA_1),
            SigningKey::Ps256Key1 => ("PS256", KID_RSA_1),
            SigningKey::Es256 => ("ES256", KID_EC),
            SigningKey::Rs256Key2 => ("RS256", KID_RSA_2),
        };
        json!({ "typ": "JWT", "alg": alg, "kid": kid })
    }

    /// `header.payload.signature` over exactly these header and payload bytes.
    fn sign(self, header: &[u8], payload: &[u8]) -> String {
        let message = format!("{}.{}", b64(header), b64(payload));
        let keys = keys();
        let ring = |key: &EncodingKey, alg| {
            setup(
                "signature",
                jsonwebtoken::crypto::sign(message.as_bytes(), key, alg),
            )
        };
        let signature = match self {
            SigningKey::Rs256Key1 => ring(&keys.rsa1, Algorithm::RS256),
            SigningKey::Ps256Key1 => ring(&keys.rsa1, Algorithm::PS256),
            SigningKey::Rs256Key2 => ring(&keys.rsa2, Algorithm::RS256),
            SigningKey::Es256 => ring(&keys.ec, Algorithm::ES256),
        };
        format!("{message}.{signature}")
    }
}

/// The identity provider the targets talk to, and the runtime its server runs on.
struct World {
    rt: tokio::runtime::Runtime,
    /// `None` when another process already serves [`IDP_ADDR`] (with the same documents).
    idp: Option<TestIdp>,
    base: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // One worker serves the provider; the targets' calls run in `block_on`.
        let rt = setup(
            "tokio runtime",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build(),
        );
        let addr = setup("IDP_ADDR", IDP_ADDR.parse());
        let started = rt.block_on(TestIdp::builder().committed_test_keys().bind(addr).start());
        let idp = match started {
            Ok(idp) => {
                idp.override_jwks(Some(keys().jwks.clone()));
                Some(idp)
            }
            // Another fuzzing process serves it: the same provider, the same keys.
            Err(TestIdpError::Bind { source, .. })
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                None
            }
            Err(e) => panic!("fuzz harness setup: TestIdp on {IDP_ADDR}: {e}"),
        };
        World {
            rt,
            idp,
            base: format!("http://{IDP_ADDR}"),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// bearer: the Authorization header through bearer parsing and access-token validation
// ---------------------------------------------------------------------------------------------

/// The web APIs the bearer target judges callers for, one per setup.
struct Apis {
    apis: Vec<Msal>,
}

fn apis() -> &'static Apis {
    static APIS: OnceLock<Apis> = OnceLock::new();
    APIS.get_or_init(|| {
        let world = world();
        let base = &world.base;
        let build = |tenant: &str, more: fn(MsalConfigBuilder) -> MsalConfigBuilder| {
            // An Entra authority on TestIdp's instance: v2 and v1 issuers, as Entra has.
            let config = more(
                MsalConfig::builder()
                    .client_id(CLIENT)
                    .instance(base)
                    .tenant_id(tenant)
                    .jwks_cooldown(Duration::from_secs(3600)),
            );
            let config = setup("bearer config", config.build());
            let msal = setup("Msal::api", world.rt.block_on(Msal::api(config)));
            let discovered = world.rt.block_on(msal.ctx.callers.provider.discovered());
            setup("bearer discovery", discovered);
            msal
        };
        Apis {
            apis: vec![
                // One tenant: v2 and v1 issuers of that tenant.
                build(TENANT, |b| b),
                // Any work or school tenant (issuer template), then the allow-list.
                build("organizations", |b| b.allowed_tenants(TENANT)),
                // Tokens without scopes or roles accepted, and no clock skew.
                build(TENANT, |b| {
                    b.accept_unscoped_tokens(true).clock_skew(Duration::ZERO)
                }),
            ],
        }
    })
}

/// The bearer target's input, read (see [`bearer`]).
struct BearerInput {
    setup: usize,
    twice: bool,
    value: Vec<u8>,
}

impl BearerInput {
    fn read(data: &[u8]) -> Option<Self> {
        let (&control, rest) = data.split_first()?;
        let value = if control & 0x80 != 0 {
            let key = SigningKey::of(control >> 4);
            let token = match rest.iter().position(|&b| b == 0xff) {
                Some(at) => key.sign(&rest[..at], &rest[at + 1..]),
                None => key.sign(key.header().to_string().as_bytes(), rest),
            };
            format!("Bearer {token}").into_bytes()
        } else {
            rest.to_vec()
        };
        Some(Self {
            setup: usize::from(control & 3) % 3,
            twice: control & 4 != 0,
            value,
        })
    }
}

/// A verdict, as far as two of them must agree.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    NoCaller,
    Refused(StatusCode),
}

/// Judges one request carrying this header, the way every extractor and guard does
/// (`caller::principal`), and checks what must hold of the verdict.
fn judge_bearer(input: &BearerInput) -> Option<Verdict> {
    let world = world();
    let msal = &apis().apis[input.setup];
    let value = HeaderValue::from_bytes(&input.value).ok()?;
    let mut request = Request::builder().uri("/api/fuzz");
    request = request.header(header::AUTHORIZATION, value.clone());
    if input.twice {
        request = request.header(header::AUTHORIZATION, value.clone());
    }
    let (mut parts, ()) = setup("request", request.body(())).into_parts();
    parts.extensions.insert(msal.ctx.clone());
    let verdict = match world.rt.block_on(principal(&mut parts)) {
        Ok(Some(p)) => {
            // Only `Bearer <token>` (any case, surrounding blanks) and only once.
            let bytes = value.as_bytes();
            let (scheme, rest) = match bytes.iter().position(|&b| b == b' ') {
                Some(at) => (&bytes[..at], &bytes[at + 1..]),
                None => (bytes, &[][..]),
            };
            assert!(scheme.eq_ignore_ascii_case(b"bearer"), "accepted {value:?}");
            assert!(!input.twice, "two bearer headers accepted");
            let raw = p.raw.as_ref().map(|r| r.0.as_bytes());
            assert_eq!(raw, Some(rest.trim_ascii()), "accepted another token");
            let skew = i64::try_from(msal.config.clock_skew.as_secs()).unwrap_or(i64::MAX);
            assert!(
                p.expires_at
                    .is_some_and(|exp| exp.saturating_add(skew) >= now()),
                "an expired token accepted: exp {:?}",
                p.expires_at
            );
            if let Some(tid) = &p.tid
                && input.setup == 1
            {
                assert_eq!(
                    tid.to_ascii_lowercase(),
                    TENANT,
                    "a tenant off the allow-list"
                );
            }
            Verdict::Accepted
        }
        Ok(None) => Verdict::NoCaller,
        Err(rejection) => {
            let response = rejection.into_response();
            let status = response.status();
            assert!(
                matches!(status.as_u16(), 400 | 401),
                "a bearer header answered {status}"
            );
            if status == StatusCode::UNAUTHORIZED {
                assert!(
                    response.headers().contains_key(header::WWW_AUTHENTICATE),
                    "a 401 without WWW-Authenticate"
                );
            }
            Verdict::Refused(status)
        }
    };
    Some(verdict)
}

/// The `bearer` target. The first byte is a control byte:
///
/// * bits 0–1: which API judges it (one tenant; any tenant with an allow-list; unscoped
///   tokens accepted and no clock skew);
/// * bit 2: the header is sent twice;
/// * bit 7: the harness signs the token. The rest is then the JOSE header's bytes, `0xFF`,
///   and the payload's bytes (without `0xFF`, all of it is the payload under the key's usual
///   header), signed with the key of bits 4–5 (RS256 key 1, PS256 key 1, ES256, RS256 key
///   2), and sent as `Bearer <token>`: signed-but-hostile tokens.
///
/// Otherwise the rest is the `Authorization` header's value as it is. Properties: no
/// panic; only one well-formed `Bearer` header whose token passes every check is accepted,
/// never expired, never from a tenant off the allow-list; refusals are 400 or 401 (with
/// `WWW-Authenticate`), never 5xx; the same header twice gets the same verdict (the second
/// from the cache of validated tokens when the first was accepted).
pub fn bearer(data: &[u8]) {
    let Some(input) = BearerInput::read(data) else {
        return;
    };
    let Some(first) = judge_bearer(&input) else {
        return;
    };
    let second = judge_bearer(&input);
    assert_eq!(Some(first), second, "the same header got another verdict");
}

// ---------------------------------------------------------------------------------------------
// jwks: a JWKS document through parsing, key selection and signature checks
// ---------------------------------------------------------------------------------------------

/// The issuer of the tokens the JWKS target verifies.
const JWKS_ISSUER: &str = "https://login.fuzz.test/c0ffee00-0000-4000-8000-00000000c0de/v2.0";

struct Jwks {
    rt: tokio::runtime::Runtime,
    /// Keys installed from each document; its URL answers nothing (an unknown `kid` asks,
    /// fails, and keeps what it has; the failure's backoff holds the next ask back).
    cache: Arc<KeyCache>,
    /// Correct tokens signed by the harness's keys: `(kid, alg, token)`.
    tokens: Vec<(Option<&'static str>, &'static str, String)>,
}

fn jwks_harness() -> &'static Jwks {
    static JWKS: OnceLock<Jwks> = OnceLock::new();
    JWKS.get_or_init(|| {
        let claims = json!({
            "iss": JWKS_ISSUER,
            "aud": CLIENT,
            "exp": FAR_FUTURE,
            "iat": 1_700_000_000,
            "sub": "fuzz-subject",
            "azp": "99999999-2222-4333-8444-555555555555",
            "scp": "User.Read",
        })
        .to_string();
        let signed = |key: SigningKey, kid: Option<&'static str>| {
            let mut header = key.header();
            if kid.is_none()
                && let Some(h) = header.as_object_mut()
            {
                h.remove("kid");
            }
            let alg = match key {
                SigningKey::Ps256Key1 => "PS256",
                SigningKey::Es256 => "ES256",
                _ => "RS256",
            };
            let token = key.sign(header.to_string().as_bytes(), claims.as_bytes());
            (kid, alg, token)
        };
        let http = setup("HTTP client", reqwest::Client::builder().build());
        let nowhere = setup("URL", Url::parse("http://127.0.0.1:9/jwks"));
        Jwks {
            rt: runtime(),
            cache: Arc::new(KeyCache::new(http, nowhere, Duration::from_secs(3600))),
            tokens: vec![
                signed(SigningKey::Rs256Key1, Some(KID_RSA_1)),
                signed(SigningKey::Ps256Key1, Some(KID_RSA_1)),
                signed(SigningKey::Rs256Key2, Some(KID_RSA_2)),
                signed(SigningKey::Es256, Some(KID_EC)),
                signed(SigningKey::Rs256Key1, None),
            ],
        }
    })
}

/// The `jwks` target: the bytes are a JWKS document. It is parsed as a fetched one is
/// (`KeySet::parse`), installed as the provider's keys, and then correct tokens signed by
/// the harness's keys, and for each entry of the document a token naming its `kid` (with an
/// algorithm of its key type and a junk signature, which reaches the signature check with
/// that key), are validated. Properties: no panic; a correct token is accepted only when
/// the document has an entry of its `kid` (or it has none and the document one key) of its
/// key type, whose `alg`, if any, is the token's; a token with a junk signature never is.
pub fn jwks(data: &[u8]) {
    let h = jwks_harness();
    let Ok(set) = KeySet::parse(data) else {
        return;
    };
    h.cache.install(set);
    let expect = AccessTokenExpectations {
        audiences: &[CLIENT.to_owned()],
        issuer: &ResolvedIssuer::Exact(JWKS_ISSUER.to_owned()),
        v1_issuer: None,
        skew: Duration::from_secs(300),
        allowed_tenants: &[],
        b2c_policies: &[],
        allow_no_permissions: false,
    };
    let entries: Vec<Value> = serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|doc| doc.get("keys").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let text =
        |entry: &Value, name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
    for (kid, alg, token) in &h.tokens {
        let accepted =
            h.rt.block_on(validate_access_token(&h.cache, token, &expect))
                .is_ok();
        if !accepted {
            continue;
        }
        let kty = if *alg == "ES256" { "EC" } else { "RSA" };
        let fits = |entry: &Value| {
            text(entry, "kty").as_deref() == Some(kty)
                && entry.get("alg").is_none_or(|a| a.as_str() == Some(alg))
        };
        match kid {
            Some(kid) => assert!(
                entries
                    .iter()
                    .any(|e| text(e, "kid").as_deref() == Some(kid) && fits(e)),
                "a {alg} token of kid {kid} accepted by a document without such a key"
            ),
            None => assert!(
                entries.iter().any(fits),
                "a {alg} token without a kid accepted by a document without such a key"
            ),
        }
    }
    // Every entry's key meets a signature check (junk, so never accepted).
    let claims = b64(br#"{"iss":"x","aud":"y","exp":1,"iat":1,"sub":"z"}"#);
    for entry in entries.iter().take(8) {
        let Some(kid) = text(entry, "kid") else {
            continue;
        };
        let alg = match (text(entry, "alg"), text(entry, "kty").as_deref()) {
            (Some(alg), _) => alg,
            (None, Some("EC")) => "ES256".to_owned(),
            _ => "RS256".to_owned(),
        };
        let header = b64(json!({ "alg": alg, "kid": kid }).to_string().as_bytes());
        let signature = b64(&[0x5a; 256]);
        let token = format!("{header}.{claims}.{signature}");
        let verdict =
            h.rt.block_on(validate_access_token(&h.cache, &token, &expect));
        assert!(
            verdict.is_err(),
            "a junk signature verified with key {kid:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// callback: the sign-in routes' query strings and form bodies
// ---------------------------------------------------------------------------------------------

/// The placeholder a callback input may hold for the `state` of a sign-in the harness
/// started just before (see [`callback`]).
pub const STATE_PLACEHOLDER: &[u8] = b"STATE";

/// The marker whose appearance in an HTML page means untrusted text went in unescaped.
pub const MARKUP_MARKER: &str = "<fuzz";

/// The web app the callback target talks to.
struct Web {
    app: Router,
}

fn web() -> &'static Web {
    static WEB: OnceLock<Web> = OnceLock::new();
    WEB.get_or_init(|| {
        let world = world();
        let config = MsalConfig::builder()
            .client_id(CLIENT)
            .client_secret(DEFAULT_CLIENT_SECRET)
            .instance(&world.base)
            .tenant_id(TENANT)
            .public_url("http://127.0.0.1:3000")
            .memory_sessions_max(1000)
            .build();
        let msal = setup(
            "Msal::new",
            world.rt.block_on(Msal::new(setup("web config", config))),
        );
        setup(
            "web discovery",
            world.rt.block_on(msal.ctx.callers.provider.discovered()),
        );
        Web {
            app: msal.routes::<()>().layer(msal.layer()),
        }
    })
}

/// Starts a sign-in as a browser does (`GET /auth/login`): its `state` and the cookie that
/// binds it to this browser.
fn start_sign_in(web: &Web) -> Option<(String, String)> {
    let request = Request::get("/auth/login").body(Body::empty()).ok()?;
    let response = world().rt.block_on(web.app.clone().oneshot(request)).ok()?;
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let state = Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "state")?
        .1
        .into_owned();
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.contains("_flow_"))?
        .split(';')
        .next()?
        .to_owned();
    Some((state, cookie))
}

fn replace_all(text: &[u8], what: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.windows(what.len()).position(|w| w == what) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + what.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The `callback` target: the first byte chooses the request (bits 0–1: `GET
/// /auth/callback?…`, `POST /auth/callback` with a form body, `GET /auth/login?…`, `GET
/// /auth/signout-oidc?…`; bit 2: a browser navigation asking for HTML; bit 3, for the
/// callback: a sign-in is started first, every [`STATE_PLACEHOLDER`] in the rest becomes
/// its `state`, and its binding cookie is sent, so the callback gets as far as redeeming the
/// code); the rest is the query string or form body, through the real router and layer.
/// Properties: no panic and no 5xx; the callback always refuses (400: no code the fuzzer
/// writes is one the provider issued); a redirect goes only to the provider's authorize
/// endpoint or into this app; every cookie set is the app's own; an HTML page never holds
/// [`MARKUP_MARKER`] unescaped.
pub fn callback(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let web = web();
    let (path, post) = match control & 3 {
        0 => ("/auth/callback", false),
        1 => ("/auth/callback", true),
        2 => ("/auth/login", false),
        _ => ("/auth/signout-oidc", false),
    };
    let mut text = rest.to_vec();
    let mut cookie = None;
    if control & 8 != 0 && path == "/auth/callback" {
        let Some((state, flow_cookie)) = start_sign_in(web) else {
            panic!("the harness could not start a sign-in");
        };
        text = replace_all(&text, STATE_PLACEHOLDER, state.as_bytes());
        cookie = Some(flow_cookie);
    }
    let mut builder = Request::builder();
    let body = if post {
        builder = builder
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        Body::from(text)
    } else {
        let Ok(query) = std::str::from_utf8(&text) else {
            return;
        };
        builder = builder.method(Method::GET).uri(format!("{path}?{query}"));
        Body::empty()
    };
    if control & 4 != 0 {
        builder = builder
            .header(header::ACCEPT, "text/html")
            .header("sec-fetch-mode", "navigate");
    }
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    // A query that is not a valid URI never reaches an app.
    let Ok(request) = builder.body(body) else {
        return;
    };
    let rt = &world().rt;
    let Ok(response) = rt.block_on(web.app.clone().oneshot(request));
    let status = response.status();
    assert!(!status.is_server_error(), "{path} answered {status}");
    if path == "/auth/callback" {
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "the callback answered {status}"
        );
    }
    let authorize = format!("http://{IDP_ADDR}/{TENANT}/oauth2/v2.0/authorize");
    if let Some(location) = response.headers().get(header::LOCATION) {
        let location = location.to_str().unwrap_or_default();
        assert!(
            location == "/" || location.starts_with(&format!("{authorize}?")),
            "redirected to {location:?}"
        );
    }
    for set in response.headers().get_all(header::SET_COOKIE) {
        let set = set.to_str().unwrap_or_default();
        assert!(set.starts_with("msal_session"), "a foreign cookie: {set:?}");
    }
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let body = setup(
        "response body",
        rt.block_on(axum::body::to_bytes(response.into_body(), 1 << 20)),
    );
    if html {
        let page = String::from_utf8_lossy(&body).to_ascii_lowercase();
        assert!(
            !page.contains(MARKUP_MARKER),
            "untrusted markup in the page"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// next: the sign-in's return path
// ---------------------------------------------------------------------------------------------

/// The `next` target: the bytes (as text, invalid UTF-8 replaced as form decoding does) are
/// a `next` parameter. Property: what `safe_next` returns is a same-origin path: the input
/// or `/`; one leading `/`, never `//` or `/\`; no backslash, control character or
/// whitespace; at most 2048 bytes; resolved against a page of the app it stays on the app's
/// origin (scheme, host, port, no user info); unchanged by a second pass; and it can be sent
/// as a redirect's `Location` as it is.
pub fn next(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let out = safe_next(Some(&text));
    assert!(
        out == text || out == "/",
        "{out:?} is neither the input nor /"
    );
    assert!(out.starts_with('/'), "{out:?} is not a path");
    assert!(
        !out.starts_with("//") && !out.starts_with("/\\"),
        "{out:?} names another host"
    );
    assert!(
        !out.chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace()),
        "{out:?} holds a backslash, control character or blank"
    );
    assert!(out.len() <= 2048, "{} bytes kept", out.len());
    let base = setup("base URL", Url::parse("https://app.test/some/page?x=1"));
    let Ok(resolved) = base.join(&out) else {
        panic!("{out:?} does not resolve");
    };
    assert_eq!(resolved.origin(), base.origin(), "{out:?} left the app");
    assert!(
        resolved.username().is_empty() && resolved.password().is_none(),
        "{out:?} names a user"
    );
    assert_eq!(safe_next(Some(&out)), out, "not idempotent");
    let response = crate::error::redirect(StatusCode::SEE_OTHER, &out);
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{out:?} is no Location"
    );
    assert_eq!(
        response
            .headers()
            .get(header::LOCATION)
            .map(HeaderValue::as_bytes),
        Some(out.as_bytes())
    );
}

// ---------------------------------------------------------------------------------------------
// config: `.env` text and environment values through the loader and validator
// ---------------------------------------------------------------------------------------------

/// Variables whose values name files: the harness keeps them inside its scratch directory.
const PATH_VARIABLES: [&str; 2] = ["MSAL_CLIENT_CERTIFICATE", "MSAL_REDIS_CA_FILE"];

struct Scratch {
    dir: PathBuf,
    dotenv: PathBuf,
}

fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        // In memory where there is a tmpfs: the target writes `.env` on every input.
        let shm = std::path::Path::new("/dev/shm");
        let tmp = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = tmp.join(format!("msal-fuzz-config-{}", std::process::id()));
        setup("scratch directory", std::fs::create_dir_all(&dir));
        Scratch {
            dotenv: dir.join(".env"),
            dir,
        }
    })
}

/// Whether a path variable's value stays harmless to read: PEM text, or a relative path
/// without `..` (inside the fuzzer's working directory). Anything else could name
/// `/dev/zero` or a FIFO, a hang of the harness rather than a finding.
fn harmless_path(value: &str) -> bool {
    let value = value.trim();
    value.contains("-----BEGIN")
        || !(value.starts_with('/')
            || value.starts_with('~')
            || value.contains("..")
            || value.contains('\\')
            || value.contains('\0'))
}

/// A secret value the harness recognises: `Zq7…Xy` with letters and digits between.
fn marked_secret(text: &str) -> bool {
    text.len() >= 8
        && text.starts_with("Zq7")
        && text.ends_with("Xy")
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The `config` target: the bytes up to the first NUL are a `.env` file; after it, lines of
/// `NAME=value` are the process environment (which wins over `.env`). Both go through the
/// real sources (`Sources::fill`, dotenvy) and validator, with no secrets directory.
/// Inputs whose certificate or Redis CA path leaves the working directory are skipped
/// (`harmless_path`). Properties: no panic; `Ok` only with validated values (prefix
/// `/…` without a trailing `/`, skew at most 15 minutes, a session lifetime, a cookie name,
/// a client id, allowed tenants as lower-case GUIDs, capabilities of letters, digits and
/// `_`); an error lists at least one problem, each with a message; and a secret value
/// marked `Zq7…Xy` (in a secret variable) never shows in the error, the builder's `Debug` or
/// the configuration's `Debug`, unless a variable that is not secret holds it too.
pub fn config(data: &[u8]) {
    let scratch = scratch();
    let (dotenv, env_text) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let env: BTreeMap<String, String> = String::from_utf8_lossy(env_text)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    setup("writing .env", std::fs::write(&scratch.dotenv, dotenv));
    // What the real reader will make of `.env`, to keep file reads harmless.
    let from_dotenv: BTreeMap<String, String> = dotenvy::from_path_iter(&scratch.dotenv)
        .map(|lines| lines.filter_map(Result::ok).collect())
        .unwrap_or_default();
    let all = || env.iter().chain(from_dotenv.iter());
    if all().any(|(k, v)| PATH_VARIABLES.contains(&k.as_str()) && !harmless_path(v)) {
        return;
    }
    let sources = Sources {
        env: env.clone(),
        dotenv: Some(scratch.dotenv.clone()),
        default_secrets_dir: scratch.dir.join("no-secrets-dir"),
    };
    let builder = MsalConfig::builder().with_sources(&sources);
    let builder_debug = format!("{builder:?}");
    let shown =
        match builder.build() {
            Ok(config) => {
                assert!(
                    config.route_prefix.starts_with('/') && !config.route_prefix.ends_with('/'),
                    "route prefix {:?}",
                    config.route_prefix
                );
                assert!(config.clock_skew <= Duration::from_secs(15 * 60));
                assert!(!config.session_lifetime.is_zero());
                assert!(!config.cookie_name.is_empty());
                assert!(!config.client_id.trim().is_empty());
                assert!(
                    config
                        .allowed_tenants
                        .iter()
                        .all(|t| is_guid(t) && *t == t.to_ascii_lowercase()),
                    "allowed tenants {:?}",
                    config.allowed_tenants
                );
                assert!(
                    config.client_capabilities.iter().all(|c| !c.is_empty()
                        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')),
                    "capabilities {:?}",
                    config.client_capabilities
                );
                format!("{config:?}")
            }
            Err(error) => {
                assert!(!error.problems().is_empty(), "an error without problems");
                for problem in error.problems() {
                    assert!(!problem.message.trim().is_empty(), "an empty problem");
                }
                format!("{error}\n{error:?}")
            }
        };
    let public: Vec<&String> = all()
        .filter(|(k, _)| !SECRET_VARIABLES.contains(&k.as_str()))
        .map(|(_, v)| v)
        .collect();
    for (name, value) in all() {
        if !SECRET_VARIABLES.contains(&name.as_str()) {
            continue;
        }
        for secret in value
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|s| marked_secret(s))
        {
            if public.iter().any(|v| v.contains(secret)) {
                continue;
            }
            assert!(!shown.contains(secret), "{name}'s secret shown:\n{shown}");
            assert!(
                !builder_debug.contains(secret),
                "{name}'s secret in the builder's Debug"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// session: the records a session store holds, decoded with fixed session keys
// ---------------------------------------------------------------------------------------------

/// The issuer the session target's app admits.
const SESSION_ISSUER: &str =
    "https://login.microsoftonline.com/c0ffee00-0000-4000-8000-00000000c0de/v2.0";

/// The session keys the session target decodes with: the current one, then an old one.
/// Test-only.
pub fn session_keys() -> Vec<SessionKey> {
    vec![SessionKey::new([0x5e; 32]), SessionKey::new([0x0d; 32])]
}

/// The session key of records nobody can open any more.
fn retired_key() -> SessionKey {
    SessionKey::new([0xa7; 32])
}

struct Sessions {
    rt: tokio::runtime::Runtime,
    store: MsalStore,
    keys: Vec<SessionKey>,
    app: AppBinding,
    cache: WhoCache,
}

fn sessions() -> &'static Sessions {
    static SESSIONS: OnceLock<Sessions> = OnceLock::new();
    SESSIONS.get_or_init(|| {
        let keys = session_keys();
        let config = MsalConfig::builder()
            .client_id(CLIENT)
            .tenant_id(TENANT)
            .session_key(STANDARD.encode(keys[0].bytes))
            .session_old_keys(STANDARD.encode(keys[1].bytes))
            .memory_sessions_max(1000)
            .build();
        let config = setup("session config", config);
        let rt = runtime();
        let store = setup(
            "session store",
            rt.block_on(MsalStore::open(&config, "fuzz:")),
        );
        Sessions {
            rt,
            store,
            app: AppBinding::of(&config),
            keys: config.session_keys.clone(),
            cache: WhoCache::new(1000),
        }
    })
}

/// Session value names, as the session module stores them (`msal.who`, `msal.vault`).
const WHO_KEY: &str = "msal.who";
const VAULT_KEY: &str = "msal.vault";

/// A session value from fuzz bytes: JSON when they are JSON that is not a string (a value
/// of another shape, as an older version might have stored), else the text.
fn session_value(bytes: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) if !value.is_string() => value,
        _ => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// The `session` target: the first byte chooses the record (`% 4`): a signed-in record
/// (`session::decode`), a token vault (`TokenVault::open`), a pending sign-in stored under a
/// state and taken twice (`MsalStore::take_flow`), or a whole session (rest: the signed-in
/// value, `0xFF`, the vault value) saved in the store and read as a request reads it
/// (`session::who`, then `session::signed_in`). Properties: no panic; a record is read only
/// when made for this app by an issuer it admits; a sealed vault opens only under a
/// configured key; a pending sign-in is taken once at most; a session whose vault opens is
/// a session whose user is known.
pub fn session(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let s = sessions();
    let text = String::from_utf8_lossy(rest);
    match control % 4 {
        0 => {
            if session::decode(&text, &s.keys, &s.app).is_some() {
                let record: Value = setup("a decoded record", serde_json::from_str(&text));
                assert_eq!(record["made_for"], CLIENT, "a record of another app read");
                assert_eq!(
                    record["claims"]["iss"], SESSION_ISSUER,
                    "a record of another issuer read"
                );
            }
        }
        1 => {
            if TokenVault::open(&text, &s.keys).is_some() && !text.starts_with('{') {
                let id = text.split('.').next().unwrap_or_default();
                assert!(
                    s.keys.iter().any(|k| k.id() == id),
                    "a vault sealed with key {id:?} opened"
                );
            }
        }
        2 => {
            let state = "fuzz-state";
            // The kind msal's records module stores pending sign-ins under.
            let put = s.store.put_once("flow", state, text.into_owned(), FLOW_TTL);
            setup("storing a flow", s.rt.block_on(put));
            let first = s.rt.block_on(s.store.take_flow(state, &s.keys));
            let second = s.rt.block_on(s.store.take_flow(state, &s.keys));
            assert!(first.is_ok(), "taking a flow failed: {:?}", first.err());
            assert!(
                matches!(second, Ok(None)),
                "a pending sign-in was taken twice"
            );
        }
        _ => {
            let (who, vault) = match rest.iter().position(|&b| b == 0xff) {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &[][..]),
            };
            s.rt.block_on(async {
                let store = Arc::new(s.store.clone());
                let session = tower_sessions::Session::new(None, store, None);
                setup(
                    "session value",
                    session.insert_value(WHO_KEY, session_value(who)).await,
                );
                if !vault.is_empty() {
                    setup(
                        "session value",
                        session.insert_value(VAULT_KEY, session_value(vault)).await,
                    );
                }
                setup("saving a session", session.save().await);
                let who = session::who(&session, &s.store, &s.keys, &s.app, &s.cache).await;
                let signed_in = session::signed_in(&session, &s.keys, &s.app).await;
                let (Ok(who), Ok(signed_in)) = (who, signed_in) else {
                    panic!("a memory store failed to read a session");
                };
                if signed_in.is_some() {
                    assert!(who.is_some(), "a session with a vault but no user");
                }
                setup("deleting a session", session.delete().await);
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// seeds
// ---------------------------------------------------------------------------------------------

/// One input of a starting corpus.
#[derive(Clone, Debug)]
pub struct Seed {
    /// The target it is for (`bearer`, `jwks`, `session`).
    pub target: &'static str,
    /// Its file name: what it is.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

fn seed(target: &'static str, name: &str, bytes: impl Into<Vec<u8>>) -> Seed {
    Seed {
        target,
        name: name.to_owned(),
        bytes: bytes.into(),
    }
}

/// The starting corpora of the targets that read what only the crate can make: tokens
/// minted by the harness's TestIdp (valid, expired, for another audience, `alg: none`, HS256
/// with the public key, a foreign key, an unknown `kid`, a tampered signature, an app-only
/// token, an ID token, …) and the payloads the harness signs itself, JWKS documents, and
/// session records written by the real encoder under the fixed session keys. Checks that
/// the valid tokens are accepted, so the corpus reaches past the signature check.
///
/// Run it while no fuzz target runs: it needs [`IDP_ADDR`] for its own TestIdp.
pub fn seeds() -> Vec<Seed> {
    let mut out = bearer_seeds();
    out.extend(jwks_seeds());
    out.extend(session_seeds());
    out
}

fn bearer_seeds() -> Vec<Seed> {
    let world = world();
    let Some(idp) = &world.idp else {
        panic!("{IDP_ADDR} is taken (a fuzz target running?): stop it to make seeds");
    };
    let ours = |mint: Mint| mint.header("kid", KID_RSA_1).header("x5t", KID_RSA_1);
    let minted = |mint: Mint| setup("minting", idp.mint(&mint));
    let user = setup(
        "user claims",
        idp.access_token_claims("alice@contoso.test", CLIENT, &["Tasks.Read"]),
    );
    let user = Mint::new(user).claim("exp", FAR_FUTURE);
    let v2_user = user
        .clone()
        .claim("iss", format!("{}/{TENANT}/v2.0", world.base))
        .claim("aud", CLIENT)
        .claim("ver", "2.0");
    let app = setup(
        "app claims",
        idp.app_token_claims(CLIENT, CLIENT, &["Tasks.Read.All"]),
    );
    let app = Mint::new(app).claim("exp", FAR_FUTURE);
    let id = setup(
        "ID token claims",
        idp.id_token_claims("alice@contoso.test", CLIENT, Some("fuzz-nonce")),
    );
    let id = Mint::new(id).claim("exp", FAR_FUTURE);
    let header = |setup: u8, value: String| {
        let mut bytes = vec![setup];
        bytes.extend(value.into_bytes());
        bytes
    };
    let bearer = |setup: u8, token: String| header(setup, format!("Bearer {token}"));
    let valid = minted(ours(user.clone()));
    let mut out = vec![
        seed("bearer", "valid-v1", bearer(0, valid.clone())),
        seed(
            "bearer",
            "valid-v2",
            bearer(0, minted(ours(v2_user.clone()))),
        ),
        seed(
            "bearer",
            "valid-ps256",
            bearer(0, minted(ours(user.clone().key(MintKey::Ps256)))),
        ),
        seed("bearer", "valid-app", bearer(0, minted(ours(app.clone())))),
        seed(
            "bearer",
            "valid-any-tenant",
            bearer(1, minted(ours(v2_user.clone()))),
        ),
        seed(
            "bearer",
            "valid-unscoped",
            bearer(
                2,
                minted(ours(
                    v2_user.clone().without_claim("scp").claim("azp", CLIENT),
                )),
            ),
        ),
        seed(
            "bearer",
            "expired",
            bearer(0, minted(ours(user.clone().claim("exp", 1_700_003_600)))),
        ),
        seed(
            "bearer",
            "not-yet-valid",
            bearer(0, minted(ours(user.clone().claim("nbf", FAR_FUTURE - 60)))),
        ),
        seed(
            "bearer",
            "issued-in-the-future",
            bearer(0, minted(ours(user.clone().claim("iat", FAR_FUTURE - 60)))),
        ),
        seed(
            "bearer",
            "wrong-aud",
            bearer(
                0,
                minted(ours(user.clone().claim("aud", "api://someone-else"))),
            ),
        ),
        seed(
            "bearer",
            "wrong-iss",
            bearer(
                0,
                minted(ours(user.clone().claim("iss", "https://evil.test/v2.0"))),
            ),
        ),
        seed(
            "bearer",
            "other-tenant",
            bearer(
                1,
                minted(ours(
                    v2_user
                        .clone()
                        .claim("tid", "0ddba11a-0000-4000-8000-000000000001")
                        .claim(
                            "iss",
                            format!("{}/0ddba11a-0000-4000-8000-000000000001/v2.0", world.base),
                        ),
                )),
            ),
        ),
        seed(
            "bearer",
            "alg-none",
            bearer(0, minted(user.clone().key(MintKey::None))),
        ),
        seed(
            "bearer",
            "hs256-public-key",
            bearer(
                0,
                minted(ours(user.clone().key(MintKey::Hs256WithPublicKey))),
            ),
        ),
        seed(
            "bearer",
            "foreign-key",
            bearer(0, minted(ours(user.clone().key(MintKey::Foreign)))),
        ),
        seed(
            "bearer",
            "es256-unpublished",
            bearer(
                0,
                minted(user.clone().key(MintKey::Es256).header("kid", KID_EC)),
            ),
        ),
        seed(
            "bearer",
            "unknown-kid",
            bearer(
                0,
                minted(user.clone().header("kid", "nobody-publishes-this")),
            ),
        ),
        seed(
            "bearer",
            "no-kid",
            bearer(0, minted(user.clone().without_header("kid"))),
        ),
        seed(
            "bearer",
            "tampered",
            bearer(0, minted(ours(user.clone().tampered_signature()))),
        ),
        seed(
            "bearer",
            "crit",
            bearer(0, minted(ours(user.clone().header("crit", json!(["exp"]))))),
        ),
        seed(
            "bearer",
            "key2-wrong-issuer",
            bearer(0, minted(ours(user.clone()).header("kid", KID_RSA_2))),
        ),
        seed("bearer", "id-token", bearer(0, minted(ours(id)))),
        seed(
            "bearer",
            "no-permissions",
            bearer(0, minted(ours(v2_user.clone().without_claim("scp")))),
        ),
        seed(
            "bearer",
            "lower-case-scheme",
            header(0, format!("bearer  {valid} ")),
        ),
        seed(
            "bearer",
            "two-tokens",
            header(0, format!("Bearer {valid} {valid}")),
        ),
        seed("bearer", "twice", bearer(4, valid.clone())),
        seed(
            "bearer",
            "basic",
            header(0, "Basic YWxpY2U6c2VjcmV0".into()),
        ),
        seed("bearer", "empty", header(0, "Bearer ".into())),
    ];
    // Payloads the harness signs itself (control bit 7; key in bits 4-5).
    let payload = |mint: &Mint| {
        let token = minted(mint.clone());
        let body = token.split('.').nth(1).unwrap_or_default();
        setup("payload", URL_SAFE_NO_PAD.decode(body))
    };
    let v2 = payload(&v2_user);
    let v1 = payload(&user);
    for (name, key, bits) in [
        ("signed-rs256", SigningKey::Rs256Key1, 0x00),
        ("signed-ps256", SigningKey::Ps256Key1, 0x10),
        ("signed-es256", SigningKey::Es256, 0x20),
        ("signed-key2", SigningKey::Rs256Key2, 0x30),
    ] {
        let mut bytes = vec![0x80 | bits];
        bytes.extend(key.header().to_string().into_bytes());
        bytes.push(0xff);
        bytes.extend(&v2);
        out.push(seed("bearer", name, bytes));
    }
    let mut bytes = vec![0x80];
    bytes.extend(&v1);
    out.push(seed("bearer", "signed-v1-default-header", bytes));
    let mut bytes = vec![0xa0];
    bytes.extend(
        json!({"alg": "ES256", "kid": KID_EC, "crit": ["b64"], "b64": false})
            .to_string()
            .into_bytes(),
    );
    bytes.push(0xff);
    bytes.extend(&v2);
    out.push(seed("bearer", "signed-crit", bytes));
    // The corpus reaches past the signature check: these must be accepted.
    for name in [
        "valid-v1",
        "valid-v2",
        "valid-ps256",
        "valid-app",
        "valid-any-tenant",
        "valid-unscoped",
        "signed-rs256",
        "signed-ps256",
        "signed-es256",
        "signed-v1-default-header",
    ] {
        let Some(s) = out.iter().find(|s| s.name == name) else {
            continue;
        };
        let input = BearerInput::read(&s.bytes);
        let verdict = input.as_ref().and_then(judge_bearer);
        assert_eq!(verdict, Some(Verdict::Accepted), "seed {name} is refused");
    }
    out
}

fn jwks_seeds() -> Vec<Seed> {
    let jwks = &keys().jwks;
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    let one = |i: usize| json!({ "keys": [keys.get(i).cloned().unwrap_or_default()] });
    let mut wrong_alg = keys.clone();
    if let Some(k) = wrong_alg.get_mut(0) {
        k["alg"] = json!("PS256");
    }
    let mut enc = keys.clone();
    if let Some(k) = enc.get_mut(0) {
        k["use"] = json!("enc");
    }
    let mut swapped = keys.clone();
    if let [a, b, ..] = swapped.as_mut_slice() {
        std::mem::swap(&mut a["kid"], &mut b["kid"]);
    }
    let docs = [
        ("harness", jwks.clone()),
        ("rsa-1-only", one(0)),
        ("rsa-2-only", one(1)),
        ("ec-only", one(2)),
        ("alg-pinned-elsewhere", json!({ "keys": wrong_alg })),
        ("use-enc", json!({ "keys": enc })),
        ("kids-swapped", json!({ "keys": swapped })),
        (
            "odd-entries",
            json!({ "keys": [
                {"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"},
                {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
                {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                {"kty": "RSA", "kid": "tiny", "n": "AQ", "e": "AQ"},
                {"kty": "RSA", "kid": "alg-unknown", "alg": "RS1024", "n": "AQAB", "e": "AQAB"},
                {"kid": 7, "kty": ["RSA"]},
                null, 1, "x", []
            ] }),
        ),
        ("empty", json!({ "keys": [] })),
        ("no-keys", json!({ "kid": KID_RSA_1 })),
    ];
    docs.into_iter()
        .map(|(name, doc)| seed("jwks", name, doc.to_string()))
        .collect()
}

fn session_seeds() -> Vec<Seed> {
    let s = sessions();
    let claims = json!({
        "iss": SESSION_ISSUER,
        "aud": CLIENT,
        "tid": TENANT,
        "oid": "00000000-0000-4000-8000-00000000a11c",
        "sub": "alice-subject",
        "name": "Alice",
        "preferred_username": "alice@contoso.test",
        "roles": ["Admin"],
        "groups": ["00000000-0000-4000-8000-0000000000ad"],
        "acrs": ["c1"],
        "acr": "phr",
        "auth_time": 1_700_000_000,
        "iat": 1_700_000_000,
        "sid": "fuzz-sid",
    });
    let Value::Object(claims) = claims else {
        return Vec::new();
    };
    let signed_in = SignedIn {
        user: crate::principal::User::from_claims(claims),
        csrf: "fuzz-csrf".into(),
        scopes: vec!["User.Read".into(), "api://fuzz/Tasks.Read".into()],
        declined: vec!["Mail.Read".into()],
        groups: Some(LookedUpGroups {
            ids: vec!["00000000-0000-4000-8000-0000000000ad".into()],
            at: FAR_FUTURE - 3600,
        }),
        answered: Some(AnsweredClaims {
            claims: r#"{"id_token":{"acrs":{"essential":true,"value":"c1"}}}"#.into(),
            at: 1_700_000_000,
        }),
        stepped_up: vec![AnsweredStepUp {
            acr_values: vec!["phr".into()],
            at: 1_700_000_000,
        }],
    };
    let vault = TokenVault {
        id_token: "eyJ0eXAiOiJKV1QifQ.e30.c2ln".into(),
        refresh_token: Some("fuzz-refresh-token".into()),
        access: vec![CachedToken {
            scopes: vec!["User.Read".into()],
            token: "eyJ0eXAiOiJKV1QifQ.e30.c2ln".into(),
            expires_at: FAR_FUTURE,
        }],
    };
    let encoded = |keys: &[SessionKey]| {
        setup(
            "encoding a session",
            session::encode(&signed_in, &vault, keys, &s.app),
        )
    };
    let (who, sealed) = encoded(&s.keys);
    let (who_plain, plain) = encoded(&[]);
    let (who_old, sealed_old) = encoded(&s.keys[1..]);
    let (who_retired, sealed_retired) = encoded(&[retired_key()]);
    let flow = PendingFlow {
        nonce: "fuzz-nonce".into(),
        pkce_verifier: "fuzz-verifier".into(),
        binding: "fuzz-binding".into(),
        next: "/after".into(),
        redirect_uri: "http://127.0.0.1:3000/auth/callback".into(),
        extra_scopes: vec!["Mail.Read".into()],
        swagger: None,
        claims: Some(r#"{"id_token":{"acrs":{"essential":true,"value":"c1"}}}"#.into()),
        login_hint: Some("alice@contoso.test".into()),
        max_age: Some(600),
        acr_values: vec!["phr".into()],
        prompt_login: true,
    };
    let sealed_flow = s.rt.block_on(async {
        setup(
            "storing a flow",
            s.store.put_flow("seed", &flow, &s.keys).await,
        );
        setup("taking a flow", s.store.take_once("flow", "seed").await)
    });
    let plain_flow = setup("a flow's JSON", serde_json::to_string(&flow));
    let with = |control: u8, text: &str| {
        let mut bytes = vec![control];
        bytes.extend(text.as_bytes());
        bytes
    };
    let whole = |who: &str, vault: &str| {
        let mut bytes = with(3, who);
        bytes.push(0xff);
        bytes.extend(vault.as_bytes());
        bytes
    };
    let mut other_app: Value = setup("a record's JSON", serde_json::from_str(&who));
    other_app["made_for"] = json!("99999999-2222-4333-8444-555555555555");
    let mut unbound = other_app.clone();
    if let Some(record) = unbound.as_object_mut() {
        record.remove("made_for");
    }
    let mut seeds = vec![
        seed("session", "who-sealed", with(0, &who)),
        seed("session", "who-plain", with(0, &who_plain)),
        seed("session", "who-old-key", with(0, &who_old)),
        seed("session", "who-retired-key", with(0, &who_retired)),
        seed("session", "who-other-app", with(0, &other_app.to_string())),
        seed("session", "who-unbound", with(0, &unbound.to_string())),
        seed("session", "vault-sealed", with(1, &sealed)),
        seed("session", "vault-plain", with(1, &plain)),
        seed("session", "vault-old-key", with(1, &sealed_old)),
        seed("session", "vault-retired-key", with(1, &sealed_retired)),
        seed("session", "session-sealed", whole(&who, &sealed)),
        seed("session", "session-plain", whole(&who_plain, &plain)),
        seed(
            "session",
            "session-not-text",
            whole("{\"msal\":1}", "[1,2]"),
        ),
    ];
    if let Some(text) = sealed_flow {
        seeds.push(seed("session", "flow-sealed", with(2, &text)));
    }
    seeds.push(seed("session", "flow-plain", with(2, &plain_flow)));
    seeds
}
