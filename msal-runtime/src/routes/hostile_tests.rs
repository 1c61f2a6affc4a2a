//! Hostile input (proptest): the sign-in routes' queries and form bodies, and the `next` target
//! never panics the code that reads it, and garbage is refused cleanly. The generators,
//! keys and the small provider they share are in `crate::tests::hostile`.

use std::collections::BTreeMap;
use std::fmt::Debug;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use proptest::prelude::*;
use tower::ServiceExt as _;
use url::Url;

use crate::config::MsalConfig;
use crate::routes::safe_next;

use crate::tests::hostile::*;

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
            "claims", "max_age", "acr_values",
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
            r#"{"id_token":{"acrs":{"essential":true,"value":"c1"}}}"#,
            r#"{"access_token":null}"#,
            "{}",
            "[]",
            r#"{"id_token":{"acrs":"#,
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
