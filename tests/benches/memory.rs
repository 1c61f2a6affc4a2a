//! Bytes per signed-in session in the memory store, tokens included, for 10,000 sessions:
//!
//! ```text
//! cargo bench -p msal-tests --bench memory
//! ```
//!
//! Alice signs in for real (TestIdp, HTTP); her session's record (claims, CSRF token, ID,
//! refresh and access tokens) is then stored 10,000 times under fresh ids, as 10,000
//! sign-ins would leave it (records of other users differ in content, not in size). A
//! counting allocator gives the heap held before and after. Then one protected request per
//! session fills the cache of decoded sessions, measured the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use msal_runtime::msal_protected;
use msal_runtime::testing::TestIdp;
use msal_runtime::testing::measure;
use msal_tests::{TestApp, app_sign_in, browser};
use tower::ServiceExt;
use tower_sessions::SessionStore;
use tower_sessions::session::Id;

/// dhat's allocator: it counts the bytes the heap holds.
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const SESSIONS: usize = 10_000;

#[msal_protected]
async fn protected() -> &'static str {
    "ok"
}

fn held() -> isize {
    dhat::HeapStats::get().curr_bytes as isize
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Testing mode: counts only, no profile file written.
    let _profiler = dhat::Profiler::builder()
        .testing()
        .trim_backtraces(Some(4))
        .build();
    for (name, key) in [
        ("memory store", None),
        (
            "memory store, session key",
            Some("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
        ),
    ] {
        let idp = TestIdp::start().await.unwrap();
        let routes = Router::new().route("/p", get(protected));
        let app = TestApp::start_routes(
            &idp,
            |c| match key {
                Some(k) => c.session_key(k),
                None => c,
            },
            routes.clone(),
        )
        .await;
        let done = app_sign_in(&browser(), &app, "alice@contoso.test", "/").await;
        let cookie = msal_tests::set_cookie(&done, "msal_session")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let id: Id = cookie.split_once('=').unwrap().1.parse().unwrap();
        let store = measure::store(&app.msal).clone();
        let record = store.load(&id).await.unwrap().unwrap();

        let before = held();
        let mut ids = Vec::with_capacity(SESSIONS);
        let ids_bytes = SESSIONS * std::mem::size_of::<Id>();
        for _ in 0..SESSIONS {
            let mut copy = record.clone();
            copy.id = Id::default();
            store.create(&mut copy).await.unwrap();
            ids.push(copy.id);
        }
        let stored = (held() - before) as usize - ids_bytes;

        let router = routes.merge(app.msal.routes()).layer(app.msal.layer());
        let before = held();
        for id in &ids {
            let request = Request::get("/p")
                .header("cookie", format!("msal_session={id}"))
                .body(Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
        }
        let cached = (held() - before).max(0) as usize;
        let kept = SESSIONS.min(msal_runtime::testing::measure::DECODED_SESSIONS_KEPT);
        println!(
            "{name}: {SESSIONS} sessions hold {:.1} MiB in the store: {} bytes per session; \
             \n  the cache of decoded sessions adds {} bytes per session for the {kept} it keeps",
            stored as f64 / (1024.0 * 1024.0),
            stored / SESSIONS,
            cached / kept,
        );
    }
}
