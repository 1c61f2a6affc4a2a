//! Hostile input (proptest): bearer and ID tokens, forged and garbage, and the provider's JWKS
//! never panics the code that reads it, and garbage is refused cleanly. The generators,
//! keys and the small provider they share are in `crate::tests::hostile`.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

use crate::validate::{ValidationError, now};

use crate::tests::hostile::*;

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

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
