//! The HTTP benchmark: in one process and one run, the same load generator against a bare
//! axum route and msal-protected routes, with throughput, p50/p99 and each protected route's
//! ratio to bare.
//!
//! ```text
//! cargo bench -p msal-tests --bench http     # 5 rounds of 1 s per route, 32 connections
//! BENCH_ROUNDS=9 BENCH_SECONDS=2 BENCH_CONNECTIONS=64 cargo bench -p msal-tests --bench http
//! ```
//!
//! The routes are loaded in turn, round after round, and each ratio is taken against
//! `bare` in the same round, so the machine's drift over the run affects all alike.
//!
//! Routes: `bare` (no msal at all), `sessions-only` (tower-sessions with a memory store and
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

/// A route to load: its name, URL, and the headers of the n-th request.
type Target = (
    &'static str,
    String,
    Arc<dyn Fn(usize) -> Vec<(String, String)> + Send + Sync>,
);

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
        .unwrap_or(1.0);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
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
    let mut targets: Vec<Target> = vec![("bare", bare_url.clone(), none.clone())];

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
    targets.push((
        "sessions-only",
        format!("{sessions_url}/get"),
        Arc::new(move |_| vec![("cookie".into(), cookie.clone())]),
    ));

    // Session-protected, memory store: a signed-in cookie on every request.
    let app = TestApp::start_routes(&idp, |c| c, routes()).await;
    let cookie = session_cookie(&app).await;
    let c = cookie.clone();
    targets.push((
        "session",
        app.url("/p"),
        Arc::new(move |_| vec![("cookie".into(), c.clone())]),
    ));

    // The same with the tokens sealed under a session key.
    let sealed = TestApp::start_routes(
        &idp,
        |c| c.session_key("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
        routes(),
    )
    .await;
    let cookie = session_cookie(&sealed).await;
    targets.push((
        "session-sealed",
        sealed.url("/p"),
        Arc::new(move |_| vec![("cookie".into(), cookie.clone())]),
    ));

    // Kept until the end: dropping a TestApp stops its server.
    let _redis_app = if let Some(redis) = redis_answers().await {
        let app = TestApp::start_routes(&idp, move |c| c.session_store(redis), routes()).await;
        let cookie = session_cookie(&app).await;
        targets.push((
            "redis",
            app.url("/p"),
            Arc::new(move |_| vec![("cookie".into(), cookie.clone())]),
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
    let token = format!("Bearer {}", idp.mint(&Mint::new(claims.clone())).unwrap());
    targets.push((
        "bearer-repeat",
        api.url("/p"),
        Arc::new(move |_| vec![("authorization".into(), token.clone())]),
    ));
    // Every route once per round, in turn: drift over the run (the other tenant of the
    // machine, thermal) hits every route alike, and each ratio is taken within its round.
    let mut runs: Vec<Vec<Outcome>> = targets.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (name, url, header)) in targets.iter().enumerate() {
            runs[i].push(load(name, url.clone(), connections, seconds, header.clone()).await);
        }
    }
    // Fresh tokens, minted ahead so the generator does not sign during the run; once, as
    // each can be new only once (the figure that matters is validations per second).
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
    let new = load(
        "bearer-new",
        api.url("/p"),
        connections,
        seconds.min(1.0),
        Arc::new(move |n| vec![("authorization".into(), pool[n % pool.len()].clone())]),
    )
    .await;

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
            .map(|r| runs[i][r].rate() / runs[0][r].rate())
            .collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let pick = |f: &dyn Fn(&Outcome) -> f64| median(runs[i].iter().map(f).collect());
        println!(
            "{:<14} {:>10.0} {:>8.2?} {:>8.2?} {:>8} {:>6.3} ({:.2}-{:.2})",
            name,
            pick(&|o| o.rate()),
            Duration::from_secs_f64(pick(&|o| o.p50.as_secs_f64())),
            Duration::from_secs_f64(pick(&|o| o.p99.as_secs_f64())),
            runs[i].iter().map(|o| o.errors).sum::<usize>(),
            median(ratios.clone()),
            lo,
            hi,
        );
    }
    println!(
        "{:<14} {:>10.0} {:>8.2?} {:>8.2?} {:>8}",
        new.name,
        new.rate(),
        new.p50,
        new.p99,
        new.errors
    );
    println!(
        "\n(release build, {connections} connections, {rounds} rounds of {seconds} s per route; \
         medians; a ratio is against bare in the same round)"
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
