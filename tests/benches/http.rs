//! The HTTP benchmark: the servers in this process, the load from `wrk` in its own (an
//! in-process generator would be the bottleneck and hide the server's cost). A bare axum
//! route and msal-protected routes, all answering the same two-byte body, with throughput,
//! p50/p99 and each protected route's ratio to bare.
//!
//! ```text
//! cargo bench -p msal-tests --bench http     # 5 rounds of 2 s per route, wrk -t2 -c32
//! BENCH_ROUNDS=9 BENCH_SECONDS=3 BENCH_CONNECTIONS=64 cargo bench -p msal-tests --bench http
//! BENCH_ONLY=session,bearer-repeat cargo bench -p msal-tests --bench http   # and bare
//! ```
//!
//! The routes are loaded in turn, round after round, and each ratio is taken against
//! `bare` in the same round, so the machine's drift over the run affects all alike. Logs at
//! `RUST_LOG` (`warn` when unset), as a deployment runs.
//!
//! Routes: `bare` (no msal at all), `sessions-only` (tower-sessions with a memory store and
//! no msal), `session` (`#[msal_protected]`, memory store), `session-sealed` (the same with
//! a session key), `redis` (the same with Redis, skipped when none answers),
//! `bearer-repeat` (one valid token, served from the validated-token cache). What a new
//! token costs (a signature check) is `micro`'s `bearer/cold`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/wrk.rs"]
mod wrk;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use msal_runtime::msal_protected;
use msal_runtime::testing::{DEFAULT_CLIENT_ID, Mint, TestIdp};
use msal_tests::{TestApp, app_sign_in, browser};

#[msal_protected]
async fn protected() -> &'static str {
    "ok"
}

fn routes() -> Router {
    Router::new().route("/p", get(protected))
}

/// A route to load: its name, URL, and the headers of every request.
type Target = (&'static str, String, Vec<(String, String)>);

/// Serves `app` on a new loopback port exactly as the bare route is served (plain
/// `axum::serve`, nothing else), so routes differ only in what their routers do; returns
/// the base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// An msal app's routes, served like the bare one: the protected route `/p`.
async fn serve_msal(app: &TestApp) -> String {
    let msal = &app.msal;
    let router = routes().merge(msal.routes()).layer(msal.layer());
    format!("{}/p", serve(router).await)
}

/// A plain axum app with tower-sessions and a memory store: `/set` stores a value, `/get`
/// reads it. Returns its base URL.
async fn sessions_only() -> String {
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
    let app = Router::new()
        .route(
            "/set",
            get(|session: Session| async move {
                session.insert("who", "alice@contoso.test").await.unwrap();
                "set"
            }),
        )
        .route(
            "/get",
            get(|session: Session| async move {
                session
                    .get::<String>("who")
                    .await
                    .unwrap()
                    .map(|_| "ok")
                    .ok_or(axum::http::StatusCode::UNAUTHORIZED)
            }),
        )
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    serve(app).await
}

async fn redis_answers() -> Option<String> {
    let url =
        std::env::var("MSAL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let parsed = url::Url::parse(&url).ok()?;
    let addr = format!("{}:{}", parsed.host_str()?, parsed.port().unwrap_or(6379));
    tokio::net::TcpStream::connect(addr).await.ok().map(|_| url)
}

#[tokio::main]
async fn main() {
    wrk::quiet_logs();
    let knob = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(default)
    };
    let seconds = knob("BENCH_SECONDS", 2.0);
    let rounds = knob("BENCH_ROUNDS", 5.0).max(1.0) as usize;
    let connections = knob("BENCH_CONNECTIONS", 32.0) as usize;
    let threads = knob("BENCH_THREADS", 2.0) as usize;
    let wrk = wrk::binary();
    let idp = TestIdp::start().await.unwrap();

    // Bare axum: no msal anywhere.
    let bare_url = format!(
        "{}/health",
        serve(Router::new().route("/health", get(|| async { "ok" }))).await
    );
    let mut targets: Vec<Target> = vec![("bare", bare_url.clone(), Vec::new())];
    let cookie = |value: String| vec![("Cookie".to_owned(), value)];

    // tower-sessions alone (memory store, no msal).
    let sessions_url = sessions_only().await;
    let sessions_cookie = reqwest::get(format!("{sessions_url}/set"))
        .await
        .unwrap()
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    targets.push((
        "sessions-only",
        format!("{sessions_url}/get"),
        cookie(sessions_cookie),
    ));

    // Session-protected, memory store: a signed-in cookie on every request.
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    targets.push((
        "session",
        serve_msal(&app).await,
        cookie(session_cookie(&app).await),
    ));

    // The same with the tokens sealed under a session key.
    let sealed = TestApp::start_routes(
        &idp,
        |c| c.session_key("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
        routes(),
    )
    .await;
    targets.push((
        "session-sealed",
        serve_msal(&sealed).await,
        cookie(session_cookie(&sealed).await),
    ));

    // Kept until the end: dropping a TestApp stops its server.
    let _redis_app = if let Some(redis) = redis_answers().await {
        let app = TestApp::start_routes(&idp, move |c| c.session_store(redis), routes()).await;
        targets.push((
            "redis",
            serve_msal(&app).await,
            cookie(session_cookie(&app).await),
        ));
        Some(app)
    } else {
        eprintln!("redis: skipped, nothing answers at 127.0.0.1:6379");
        None
    };

    // Bearer: a web API.
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let claims = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let token = format!("Bearer {}", idp.mint(&Mint::new(claims)).unwrap());
    targets.push((
        "bearer-repeat",
        serve_msal(&api).await,
        vec![("Authorization".to_owned(), token.clone())],
    ));
    // The bare route sent the same token: what carrying it costs the kernel, hyper and wrk,
    // before msal reads a byte of it.
    targets.push((
        "bare+token",
        bare_url.clone(),
        vec![("Authorization".to_owned(), token)],
    ));

    // BENCH_ONLY=name[,name]: only those routes (and bare), e.g. under a profiler.
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        let only: Vec<&str> = only.split(',').collect();
        targets.retain(|(name, _, _)| *name == "bare" || only.contains(name));
    }
    // Every route answers 200 with the same body before anything is measured.
    let client = reqwest::Client::new();
    for (name, url, headers) in &targets {
        let mut request = client.get(url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.text().await.unwrap(), "ok", "{name}");
    }
    let run = |url: String, headers: Vec<(String, String)>, seconds: f64| {
        let wrk = wrk.clone();
        tokio::task::spawn_blocking(move || {
            wrk::load(&wrk, &url, threads, connections, seconds, &headers)
        })
    };
    // Warm-up (connections, allocator, CPU frequency), not counted.
    for (_, url, headers) in &targets {
        run(url.clone(), headers.clone(), 1.0).await.unwrap();
    }
    // Every route once per round, in turn: drift over the run (the other tenant of the
    // machine, thermal) hits every route alike, and each ratio is taken within its round.
    let mut runs: Vec<Vec<wrk::Run>> = targets.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (_, url, headers)) in targets.iter().enumerate() {
            runs[i].push(run(url.clone(), headers.clone(), seconds).await.unwrap());
        }
    }

    println!(
        "\n{:<14} {:>10} {:>9} {:>9} {:>8} {:>16}",
        "route", "req/s", "p50", "p99", "errors", "ratio (min-max)"
    );
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (i, (name, _, _)) in targets.iter().enumerate() {
        let ratios: Vec<f64> = (0..rounds)
            .map(|r| runs[i][r].rate / runs[0][r].rate)
            .collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let pick = |f: &dyn Fn(&wrk::Run) -> f64| median(runs[i].iter().map(f).collect());
        println!(
            "{:<14} {:>10.0} {:>8.2?} {:>8.2?} {:>8} {:>6.3} ({:.2}-{:.2})",
            name,
            pick(&|o| o.rate),
            Duration::from_secs_f64(pick(&|o| o.p50.as_secs_f64())),
            Duration::from_secs_f64(pick(&|o| o.p99.as_secs_f64())),
            runs[i].iter().map(|o| o.errors).sum::<u64>(),
            median(ratios.clone()),
            lo,
            hi,
        );
    }
    println!(
        "\n(release build, wrk -t{threads} -c{connections}, {rounds} rounds of {seconds} s per \
         route; medians; a ratio is against bare in the same round)"
    );
}

/// Signs Alice in and returns the `Cookie` header value of her session.
async fn session_cookie(app: &TestApp) -> String {
    let done = app_sign_in(&browser(), app, "alice@contoso.test", "/").await;
    msal_tests::set_cookie(&done, "msal_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}
