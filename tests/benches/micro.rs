//! Micro-benchmarks (criterion) of the pieces of a protected request:
//!
//! ```text
//! cargo bench -p msal-tests --bench micro
//! ```
//!
//! - `bearer/cold`: an access token validated with a signature check (no cache);
//!   `bearer/warm`: the same token found in the validated-token cache.
//! - `rule/nested-allow`, `rule/nested-deny`: a nested requirement judged.
//! - `session/encode`, `session/decode`: a real signed-in record (claims, ID, refresh and
//!   access tokens) written as sign-in does, and read as a protected request does on a
//!   cache miss.
//! - `guard/*`: whole requests through an in-process router (no sockets): a route without
//!   msal as the baseline, then protected routes judged by a session cookie (memory store)
//!   or a repeated bearer token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use msal_runtime::testing::measure::{self, SessionRecord};
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Mint, TestIdp};
use msal_runtime::{Rule, Verdict, msal_protected};
use msal_tests::{TestApp, app_sign_in, browser};
use tower::ServiceExt;

#[msal_protected]
async fn protected() -> &'static str {
    "ok"
}

/// `scopes = "Tasks.Read", any(roles = "Admin", all(groups = "…", tenant = "…")),
/// not(app_permissions = "Tasks.All")`, as the macro writes it.
const NESTED: Rule = Rule::All(&[
    Rule::Scopes(&["Tasks.Read"]),
    Rule::Any(&[
        Rule::Roles(&["Admin"]),
        Rule::All(&[
            Rule::Groups(&["a0c0ffee-0000-4000-8000-000000000001"]),
            Rule::Tenants(&["72f988bf-86f1-41af-91ab-2d7cd011db47"]),
        ]),
    ]),
    Rule::Not(&Rule::AppPermissions(&["Tasks.All"])),
]);

fn request(uri: &str, header: Option<(&str, &str)>) -> Request<Body> {
    let mut r = Request::get(uri);
    if let Some((name, value)) = header {
        r = r.header(name, value);
    }
    r.body(Body::empty()).unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let idp = rt.block_on(TestIdp::start()).unwrap();

    // Bearer: a web API and one valid token.
    let routes = || Router::new().route("/p", get(protected));
    let api = rt.block_on(TestApp::start_api(&idp, |c| c, routes()));
    let claims = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let token = idp.mint(&Mint::new(claims.clone())).unwrap();
    let authorization = format!("Bearer {token}");
    rt.block_on(measure::validate_bearer_uncached(&api.msal, &token))
        .unwrap();
    c.bench_function("bearer/cold", |b| {
        b.iter(|| {
            rt.block_on(measure::validate_bearer_uncached(
                &api.msal,
                black_box(&token),
            ))
            .unwrap()
        })
    });
    rt.block_on(measure::validate_bearer(&api.msal, &authorization))
        .unwrap();
    c.bench_function("bearer/warm", |b| {
        b.iter(|| {
            rt.block_on(measure::validate_bearer(
                &api.msal,
                black_box(&authorization),
            ))
            .unwrap()
        })
    });

    // A nested requirement, for a principal that passes and one that does not.
    let mut member = claims.clone();
    member.insert(
        "groups".into(),
        serde_json::json!(["a0c0ffee-0000-4000-8000-000000000001"]),
    );
    member.insert("tid".into(), "72f988bf-86f1-41af-91ab-2d7cd011db47".into());
    let member = measure::principal(member, false);
    let outsider = measure::principal(claims, false);
    assert_eq!(NESTED.evaluate(&member), Verdict::Allow);
    assert_eq!(NESTED.evaluate(&outsider), Verdict::Deny);
    c.bench_function("rule/nested-allow", |b| {
        b.iter(|| NESTED.evaluate(black_box(&member)))
    });
    c.bench_function("rule/nested-deny", |b| {
        b.iter(|| NESTED.evaluate(black_box(&outsider)))
    });

    // A signed-in session, for real: its record, and requests carrying its cookie.
    let app = rt.block_on(TestApp::start_routes(&idp, |c| c, routes()));
    let cookie = rt.block_on(async {
        let done = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
        msal_tests::set_cookie(&done, "msal_session")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    });
    let id = cookie.split_once('=').unwrap().1.to_owned();
    let record = rt.block_on(SessionRecord::load(&app.msal, &id)).unwrap();
    let (who, vault) = record.encode(&app.msal).unwrap();
    println!(
        "session record: {} bytes of who, {} bytes of vault",
        who.len(),
        vault.len()
    );
    c.bench_function("session/encode", |b| {
        b.iter(|| black_box(&record).encode(&app.msal).unwrap())
    });
    c.bench_function("session/decode", |b| {
        b.iter(|| assert!(SessionRecord::decode(&app.msal, black_box(&who))))
    });

    // Whole requests, in process.
    let bare = Router::new().route("/health", get(|| async { "ok" }));
    let session_app = routes().merge(app.msal.routes()).layer(app.msal.layer());
    let bearer_app = routes().layer(api.msal.layer());
    let status = |router: &Router, r: Request<Body>| {
        rt.block_on(router.clone().oneshot(r)).unwrap().status()
    };
    assert_eq!(status(&bare, request("/health", None)), 200);
    assert_eq!(
        status(&session_app, request("/p", Some(("cookie", &cookie)))),
        200
    );
    assert_eq!(status(&session_app, request("/p", None)), 401);
    assert_eq!(
        status(
            &bearer_app,
            request("/p", Some(("authorization", &authorization)))
        ),
        200
    );
    c.bench_function("guard/bare-route", |b| {
        b.iter(|| status(&bare, request("/health", None)))
    });
    c.bench_function("guard/session", |b| {
        b.iter(|| status(&session_app, request("/p", Some(("cookie", &cookie)))))
    });
    c.bench_function("guard/bearer-warm", |b| {
        b.iter(|| {
            status(
                &bearer_app,
                request("/p", Some(("authorization", &authorization))),
            )
        })
    });
}

criterion_group!(micro, benches);
criterion_main!(micro);
