//! The HTTP benchmark: in one process and one run, the same load generator against a bare
//! axum route and msal-protected routes, with throughput, p50/p99 and each protected route's
//! ratio to bare.
//!
//! ```text
//! cargo bench -p msal-tests --bench http              # 2 s per route, 32 connections
//! BENCH_SECONDS=5 BENCH_CONNECTIONS=64 cargo bench -p msal-tests --bench http
//! ```
//!
//! Routes: `bare` (no msal at all; measured first and again last, ratios are against the
//! mean), `sessions-only` (tower-sessions with a memory store and
//! no msal: the floor of every session route), `session` (`#[msal_protected]`, memory store),
//! `session-sealed` (the same with a session key), `redis` (the same with Redis, skipped when
//! none answers), `bearer-repeat` (one valid token, served from the validated-token cache),
//! `bearer-new` (a fresh token per request: a signature check each time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

struct Outcome {
    name: &'static str,
    requests: usize,
    errors: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// `connections` workers, each with its own keep-alive client, hammering `url` for `seconds`;
/// `header` gives each request its headers (e.g. a token).
async fn load(
    name: &'static str,
    url: String,
    connections: usize,
    seconds: f64,
    header: Arc<dyn Fn(usize) -> Vec<(String, String)> + Send + Sync>,
) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let counter = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let url = url.clone();
        let header = header.clone();
        let counter = counter.clone();
        workers.spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let mut request = client.get(&url);
                for (k, v) in header(n) {
                    request = request.header(k, v);
                }
                let started = Instant::now();
                match request.send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(result) = workers.join_next().await {
        let (l, e) = result.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64().max(seconds);
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Outcome {
        name,
        requests: latencies.len(),
        errors,
        seconds,
        p50: pick(0.50),
        p99: pick(0.99),
    }
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
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
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let connections: usize = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let idp = TestIdp::start().await.unwrap();
    let none: Arc<dyn Fn(usize) -> Vec<(String, String)> + Send + Sync> = Arc::new(|_| Vec::new());

    // Bare axum: no msal anywhere.
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_url = format!("http://{}/health", bare_listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            bare_listener,
            Router::new().route("/health", get(|| async { "ok" })),
        )
        .await
        .unwrap();
    });

    // Warm-up (connections, allocator, CPU frequency), not counted.
    load("warm-up", bare_url.clone(), connections, 0.5, none.clone()).await;
    let mut results =
        vec![load("bare", bare_url.clone(), connections, seconds, none.clone()).await];

    // tower-sessions alone (memory store, no msal): the floor msal's session route stands on.
    let sessions_url = sessions_only().await;
    let cookie = reqwest::get(format!("{sessions_url}/set"))
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
    results.push(
        load(
            "sessions-only",
            format!("{sessions_url}/get"),
            connections,
            seconds,
            Arc::new(move |_| vec![("cookie".into(), cookie.clone())]),
        )
        .await,
    );

    // Session-protected, memory store: a signed-in cookie on every request.
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let cookie = session_cookie(&app).await;
    let c = cookie.clone();
    results.push(
        load(
            "session",
            app.url("/p"),
            connections,
            seconds,
            Arc::new(move |_| vec![("cookie".into(), c.clone())]),
        )
        .await,
    );

    // The same with the tokens sealed under a session key.
    let sealed = TestApp::start_routes(
        &idp,
        |c| c.session_key("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
        routes(),
    )
    .await;
    let cookie = session_cookie(&sealed).await;
    results.push(
        load(
            "session-sealed",
            sealed.url("/p"),
            connections,
            seconds,
            Arc::new(move |_| vec![("cookie".into(), cookie.clone())]),
        )
        .await,
    );

    if let Some(redis) = redis_answers().await {
        let app = TestApp::start_routes(&idp, move |c| c.session_store(redis), routes()).await;
        let cookie = session_cookie(&app).await;
        results.push(
            load(
                "redis",
                app.url("/p"),
                connections,
                seconds,
                Arc::new(move |_| vec![("cookie".into(), cookie.clone())]),
            )
            .await,
        );
    } else {
        eprintln!("redis: skipped, nothing answers at 127.0.0.1:6379");
    }

    // Bearer: a web API.
    let api = TestApp::start_api(&idp, |c| c, routes()).await;
    let claims = idp
        .access_token_claims("alice@contoso.test", DEFAULT_CLIENT_ID, &["Tasks.Read"])
        .unwrap();
    let token = format!("Bearer {}", idp.mint(&Mint::new(claims.clone())).unwrap());
    results.push(
        load(
            "bearer-repeat",
            api.url("/p"),
            connections,
            seconds,
            Arc::new(move |_| vec![("authorization".into(), token.clone())]),
        )
        .await,
    );
    // Fresh tokens, minted ahead so the generator does not sign during the run.
    let fresh: Arc<Vec<String>> = Arc::new(
        (0..20_000)
            .map(|i| {
                format!(
                    "Bearer {}",
                    idp.mint(&Mint::new(claims.clone()).claim("uti", format!("b{i}")))
                        .unwrap()
                )
            })
            .collect(),
    );
    let pool = fresh.clone();
    results.push(
        load(
            "bearer-new",
            api.url("/p"),
            connections,
            seconds,
            Arc::new(move |n| vec![("authorization".into(), pool[n % pool.len()].clone())]),
        )
        .await,
    );

    // Bare again: the ratios are against the mean of both bare runs, so drift over the run
    // (thermal, the other core's load) shows as a gap between them instead of skewing one end.
    results.push(load("bare-again", bare_url, connections, seconds, none).await);
    let bare = (results[0].rate() + results[results.len() - 1].rate()) / 2.0;
    println!(
        "\n{:<14} {:>10} {:>9} {:>9} {:>8} {:>7}",
        "route", "req/s", "p50", "p99", "errors", "ratio"
    );
    for r in &results {
        println!(
            "{:<14} {:>10.0} {:>8.2?} {:>8.2?} {:>8} {:>7.3}",
            r.name,
            r.rate(),
            r.p50,
            r.p99,
            r.errors,
            r.rate() / bare
        );
    }
    println!(
        "\n({connections} connections, {seconds} s per route, release build; ratios against the mean of both bare runs)"
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
