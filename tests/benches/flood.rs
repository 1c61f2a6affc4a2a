//! The bounded-store benchmark: a million unauthenticated `GET /auth/login` (each stores a
//! pending sign-in) from wrk against an app on the memory store at its default cap, with
//! this process's resident memory after every step. It must level off once the cap is
//! reached.
//!
//! ```text
//! cargo bench -p msal-tests --bench flood
//! FLOOD_REQUESTS=2000000 MSAL_MEMORY_SESSIONS_MAX=20000 cargo bench -p msal-tests --bench flood
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/wrk.rs"]
mod wrk;

use msal_runtime::testing::TestIdp;
use msal_tests::TestApp;

const MIB: f64 = 1024.0 * 1024.0;

#[tokio::main]
async fn main() {
    wrk::quiet_logs();
    let total: u64 = std::env::var("FLOOD_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let cap: Option<u64> = std::env::var("MSAL_MEMORY_SESSIONS_MAX")
        .ok()
        .and_then(|s| s.parse().ok());
    let wrk = wrk::binary();
    let idp = TestIdp::start().await.unwrap();
    let app = TestApp::start_with(&idp, move |c| match cap {
        Some(cap) => c.memory_sessions_max(cap),
        None => c,
    })
    .await;
    let url = app.url("/auth/login?next=/dashboard");
    // The first request discovers the provider; it is not part of the flood.
    let first = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 302);
    let (start, _) = wrk::resident();
    println!(
        "cap {} pending sign-ins; resident at start {:.0} MiB",
        cap.map_or("default (100000)".to_owned(), |c| c.to_string()),
        start as f64 / MIB
    );
    println!(
        "{:>10} {:>9} {:>9} {:>9} {:>12} {:>10}",
        "requests", "req/s", "p50", "p99", "resident", "peak"
    );
    let mut sent = 0;
    let mut errors = 0;
    while sent < total {
        let url = url.clone();
        let wrk = wrk.clone();
        let run = tokio::task::spawn_blocking(move || wrk::load(&wrk, &url, 2, 32, 5.0, &[]))
            .await
            .unwrap();
        sent += run.requests;
        errors += run.errors;
        let (now, peak) = wrk::resident();
        println!(
            "{:>10} {:>9.0} {:>9.2?} {:>9.2?} {:>8.0} MiB {:>6.0} MiB",
            sent,
            run.rate,
            run.p50,
            run.p99,
            now as f64 / MIB,
            peak as f64 / MIB
        );
    }
    let (end, peak) = wrk::resident();
    println!(
        "\n{sent} requests ({errors} errors): resident {:.0} MiB at the end, peak {:.0} MiB \
         (release build; the process holds the app, TestIdp and this harness)",
        end as f64 / MIB,
        peak as f64 / MIB
    );
}
