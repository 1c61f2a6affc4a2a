//! Hostile input (proptest): the `Authorization` header
//! never panics the code that reads it, and garbage is refused cleanly. The generators,
//! keys and the small provider they share are in `crate::tests::hostile`.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::HeaderValue;
use jsonwebtoken::Algorithm;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use crate::config::MsalConfig;
use crate::validate::now;

use crate::tests::hostile::*;

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
    let callers = msal.ctx.callers.clone();
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
                let first = callers.bearer(&value).await;
                let second = callers.bearer(&value).await;
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
