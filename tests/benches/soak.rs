//! The soak: minutes of mixed traffic against the release demo on Redis, with faults
//! injected on a schedule; then whether anything broke outside the faults, whether memory
//! stayed flat, and whether sessions outlived a Redis restart.
//!
//! ```text
//! cargo bench -p msal-tests --bench soak                          # 360 s, 300 browsers
//! SOAK_SECONDS=600 SOAK_BROWSERS=500 cargo bench -p msal-tests --bench soak
//! SOAK_REDIS_STOP=kill cargo bench -p msal-tests --bench soak     # Redis crashes instead
//! ```
//!
//! This is a benchmark target (`harness = false`), not a test: it takes minutes. It measures
//! correctness, memory and latency over time, not throughput: the simulated users are reqwest
//! clients in this process (an external generator such as `wrk`, as the `http` bench uses,
//! cannot sign in, follow redirects or hold cookie jars), so latencies include the driver's
//! own scheduling on a machine it shares with the demo, and throughput is whatever a few
//! hundred people with think time ask for.
//!
//! What runs:
//! - TestIdp in this process (so faults can be injected), with one user per simulated
//!   browser and bearer client (every 8th holds the app role `Admin`), issuing tokens that
//!   live `SOAK_TOKEN_LIFETIME` seconds (default 320: msal refreshes a token 300 s before it
//!   expires, so each session's Graph token is refreshed every 20 s or so).
//! - Its own `redis-server` on a free port, append-only file on (`--appendonly yes`), in a
//!   temporary directory.
//! - The release demo (`examples/demo.rs`, built by cargo if needed; `SOAK_DEMO_BIN`
//!   overrides) as a child process, configured through `MSAL_*` for that TestIdp and that
//!   Redis, `RUST_LOG=warn`, `MSAL_HTTP_TIMEOUT=5s`, `MSAL_JWKS_COOLDOWN=10s`.
//!
//! The traffic: `SOAK_BROWSERS` (default 300) browsers, each a reqwest client with its own
//! cookie jar that follows redirects one hop at a time, arriving over the first 10 % of the
//! run and thinking `SOAK_THINK_MS` (default 1500, ±50 %) between steps. Signed out, a
//! browser signs in (`/auth/login?login_hint=…` through TestIdp and back), or one time in
//! five abandons a sign-in at the provider. Signed in, it visits `/`, `/me`, `/profile`,
//! `/files/hello.txt`, `/graph/me` (consent on the first visit, then Graph through the
//! session's tokens, refreshed as they age), `/admin` (403 for non-admins), `/admin/audit`
//! (admins), `/health`, signs out (`POST /auth/logout` with the page's CSRF token, through
//! the provider's sign-out and back), or closes the browser (a new cookie jar; the session
//! is left to expire). A fifth of the browsers (`SOAK_SENTINELS`) never sign out: the
//! Redis restart is checked on them. `SOAK_BEARERS` (default 20) API clients call `/me`,
//! `/files/hello.txt`, `/admin` and `/graph/me` (403 `insufficient_scope`: the demo's lock
//! asks a bearer token for `User.Read`) with tokens from TestIdp for the demo's API
//! (`access_as_user`), minted again every minute and after a key rotation, plus now and then
//! a forged one (401 expected).
//!
//! Every page is checked: the right user on `/`, `/me`, `/profile` and `/graph/me`, a
//! finished sign-in and sign-out, and a signed-in browser never sent back to sign in. A
//! step that goes otherwise is recorded with its time.
//!
//! The faults, at fixed fractions of the run (`W` = a twelfth of it, 10–60 s):
//! - 22 %: the token endpoint answers 503 for `W` (sign-ins and refreshes fail), grace 5 s
//!   after it;
//! - 42 %: the JWKS endpoint takes 20 s to answer (the demo gives up after 5 s) for `W`,
//!   and TestIdp starts signing with a new key at once, so the demo must refetch (tokens
//!   under the new key are 503 until it can); grace 37 s (the longest backoff between
//!   failed key fetches, 30 s, plus a 5 s fetch, plus 2 s);
//! - 68 %: Redis stops (`SOAK_REDIS_STOP`: `term`, the default, as a service manager's
//!   restart; or `kill`, a crash, the server then running `appendfsync always`), stays down
//!   `SOAK_REDIS_DOWN` seconds (default 3), and starts again on the same port and data
//!   directory; grace 5 s. The sentinels signed in just before must be signed in, as the
//!   same session (no sign-in in between), after.
//!
//! A request or step is inside a fault when it overlaps the window or its grace. The report
//! (and a markdown block for RELIABILITY.md): requests, statuses and errors by status, 5xx
//! inside and outside the faults, steps gone wrong, p99 latency per route per time slice
//! (`SOAK_SLICES`, default 6), the demo's resident memory after warm-up, at the middle and
//! at the end, and the sessions lost across the restart. It exits non-zero when a must-hold
//! fails: no 5xx (nor unanswered request) and no step gone wrong outside the faults, memory
//! flat (from the middle to the end, growth ≤ 10 % of the middle or 8 MiB, whichever is
//! larger), the demo still running, and no session lost across the restart. The demo's
//! memory is bounded rather than constant: it keeps up to 4,096 decoded sessions (about 4 KiB
//! each), and new sessions fill that cache until it is full; at the default rate (about 18
//! sign-ins a second) that takes about four minutes, so the default 360 s ends in the steady
//! state and its middle still sees the last part of the filling (a few MiB, within the
//! allowance). A much shorter run may fail the criterion for that reason alone; a longer one
//! (`SOAK_SECONDS=600`) shows the plateau.
//! `SOAK_SAMPLES_CSV=path` also writes every request (times, route, status) for a closer look.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/soak_processes.rs"]
mod processes;
#[path = "support/soak_report.rs"]
mod report;
#[path = "support/wrk.rs"]
mod wrk;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use msal_runtime::testing::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Endpoint, Fault, KeyRotation, Mint, TestIdp, TestUser,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use report::{Outcome, Restart, Sample, Window};
use reqwest::header::{ACCEPT, LOCATION, WWW_AUTHENTICATE};
use url::Url;

/// The knobs, from the environment.
#[derive(Clone, Debug)]
struct Knobs {
    seconds: f32,
    browsers: usize,
    sentinels: usize,
    bearers: usize,
    think_ms: u64,
    token_lifetime: u64,
    slices: usize,
    redis_stop: processes::Stop,
    redis_down: f32,
    seed: u64,
}

fn knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("soak: {name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

impl Knobs {
    fn from_env() -> Self {
        let browsers: usize = knob("SOAK_BROWSERS", 300).max(1);
        let stop = match knob("SOAK_REDIS_STOP", "term".to_owned()).as_str() {
            "term" => processes::Stop::Term,
            "kill" => processes::Stop::Kill,
            other => panic!("soak: SOAK_REDIS_STOP is term or kill, not {other:?}"),
        };
        Self {
            seconds: knob("SOAK_SECONDS", 360.0f32).max(30.0),
            browsers,
            sentinels: knob("SOAK_SENTINELS", (browsers / 5).max(1)).min(browsers),
            bearers: knob("SOAK_BEARERS", 20),
            think_ms: knob("SOAK_THINK_MS", 1500u64).max(10),
            token_lifetime: knob("SOAK_TOKEN_LIFETIME", 320),
            slices: knob("SOAK_SLICES", 6usize).clamp(1, 24),
            redis_stop: stop,
            redis_down: knob("SOAK_REDIS_DOWN", 3.0f32),
            seed: knob("SOAK_SEED", rand::random::<u32>() as u64),
        }
    }
}

/// The demo's unknown-`kid` refetch cooldown and provider time limit, as configured.
const JWKS_COOLDOWN: u64 = 10;
const HTTP_TIMEOUT: u64 = 5;

/// The longest the library waits after failed key fetches before it tries again (their
/// backoff doubles from 200 ms to this): how long after the JWKS endpoint answers again a
/// token under a new key may still wait for it.
const KEY_BACKOFF_MAX: u64 = 30;

/// What every simulated user shares: the clock, the demo's address, the counters.
struct Shared {
    t0: Instant,
    deadline: f32,
    base: String,
    demo_port: u16,
    think: Duration,
    requests: AtomicU64,
    failures: AtomicU64,
    /// Bumped when TestIdp starts signing with a new key: bearer clients mint again.
    key_epoch: AtomicU64,
}

impl Shared {
    fn now(&self) -> f32 {
        self.t0.elapsed().as_secs_f32()
    }

    async fn sleep_until(&self, at: f32) {
        tokio::time::sleep_until((self.t0 + Duration::from_secs_f32(at.max(0.0))).into()).await;
    }
}

/// A test user.
struct Person {
    username: String,
    name: String,
    admin: bool,
}

/// An answer, read to its end.
struct Answer {
    route: &'static str,
    status: u16,
    location: Option<String>,
    body: String,
    /// `WWW-Authenticate` names `insufficient_scope`.
    insufficient_scope: bool,
}

/// Records what one simulated user sent and what went wrong.
struct Recorder {
    shared: Arc<Shared>,
    samples: Vec<Sample>,
    outcomes: Vec<Outcome>,
    who: String,
}

impl Recorder {
    fn new(shared: Arc<Shared>, who: String) -> Self {
        Self {
            shared,
            samples: Vec::new(),
            outcomes: Vec::new(),
            who,
        }
    }

    fn now(&self) -> f32 {
        self.shared.now()
    }

    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
        route: &'static str,
    ) -> Result<Answer, String> {
        let start = self.now();
        let answer = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let insufficient_scope = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("insufficient_scope"));
            let body = response.text().await?;
            Ok::<_, reqwest::Error>((status, location, body, insufficient_scope))
        }
        .await;
        let end = self.now();
        let status = answer.as_ref().map_or(0, |a| a.0);
        self.samples.push(Sample {
            start,
            end,
            route,
            status,
            expected: false,
        });
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        if status == 0 || status >= 500 {
            self.shared.failures.fetch_add(1, Ordering::Relaxed);
        }
        match answer {
            Ok((status, location, body, insufficient_scope)) => Ok(Answer {
                route,
                status,
                location,
                body,
                insufficient_scope,
            }),
            Err(e) => Err(format!(
                "{route}: no answer ({})",
                if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "transport"
                }
            )),
        }
    }

    /// The last request's 4xx was what the step expected.
    fn expected(&mut self) {
        if let Some(last) = self.samples.last_mut() {
            last.expected = true;
        }
    }

    fn wrong(&mut self, start: f32, what: String) {
        let end = self.now();
        self.outcomes.push(Outcome {
            start,
            end,
            who: self.who.clone(),
            what,
        });
    }
}

/// The route a URL stands for in the report.
fn route_of(url: &Url, demo_port: u16) -> &'static str {
    let path = url.path();
    if url.port() == Some(demo_port) {
        return match path {
            "/" => "/",
            "/me" => "/me",
            "/profile" => "/profile",
            "/admin" => "/admin",
            "/admin/audit" => "/admin/audit",
            "/graph/me" => "/graph/me",
            "/health" => "/health",
            "/auth/login" => "/auth/login",
            "/auth/callback" => "/auth/callback",
            "/auth/logout" => "/auth/logout",
            p if p.starts_with("/files/") => "/files/*",
            _ => "(other demo path)",
        };
    }
    if path.ends_with("/oauth2/v2.0/authorize") {
        "idp authorize"
    } else if path.ends_with("/oauth2/v2.0/logout") {
        "idp logout"
    } else {
        "idp (other)"
    }
}

/// A redirect to sign in with nothing but `next`: what a browser that is not signed in
/// hears (a consent or step-up redirect carries `scopes`, `claims`, `max_age`…).
fn plain_sign_in(location: &str) -> bool {
    let Ok(url) = Url::parse("http://x").and_then(|b| b.join(location)) else {
        return false;
    };
    url.path() == "/auth/login" && url.query_pairs().all(|(k, _)| k == "next")
}

fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A browser that never signs out, kept where the Redis restart check can use it.
struct Sentinel {
    client: reqwest::Client,
    person: Arc<Person>,
    /// Sign-ins completed: unchanged across the restart means the same session.
    sign_ins: AtomicU64,
}

struct Browser {
    rec: Recorder,
    person: Arc<Person>,
    client: reqwest::Client,
    rng: StdRng,
    signed_in: bool,
    sentinel: Option<Arc<Sentinel>>,
}

impl Browser {
    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.rec.shared.base)).unwrap()
    }

    /// Navigates to `url`, following redirects. With `signed_in`, a first redirect to a
    /// plain sign-in means the session is gone.
    async fn follow(&mut self, mut url: Url, signed_in: bool) -> Result<Answer, String> {
        let port = self.rec.shared.demo_port;
        for hop in 0..12 {
            let route = route_of(&url, port);
            let request = self
                .client
                .get(url.clone())
                .header(ACCEPT, "text/html,application/xhtml+xml");
            let answer = self.rec.send(request, route).await?;
            if !(300..400).contains(&answer.status) {
                return Ok(answer);
            }
            let location = answer
                .location
                .ok_or_else(|| format!("{route}: {} without Location", answer.status))?;
            if hop == 0 && signed_in && plain_sign_in(&location) {
                self.signed_in = false;
                return Err(format!("{route}: a signed-in browser was sent to sign in"));
            }
            url = url
                .join(&location)
                .map_err(|e| format!("{route}: a bad Location ({e})"))?;
        }
        Err("more than 12 redirects".into())
    }

    /// A signed-in page: the answer must be 200 at that page.
    async fn page(&mut self, path: &str) -> Result<Answer, String> {
        let answer = self.follow(self.url(path), true).await?;
        let route = route_of(&self.url(path), self.rec.shared.demo_port);
        if answer.status != 200 {
            return Err(format!(
                "{route}: ended {} at {}",
                answer.status, answer.route
            ));
        }
        if answer.route != route {
            return Err(format!("{route}: ended at {}", answer.route));
        }
        Ok(answer)
    }

    fn json_user(&self, answer: &Answer, field: &str) -> Result<(), String> {
        let value: serde_json::Value = serde_json::from_str(&answer.body)
            .map_err(|_| format!("{}: not JSON", answer.route))?;
        if value[field] == self.person.username.as_str() {
            Ok(())
        } else {
            Err(format!("{}: SOMEONE ELSE's {field}", answer.route))
        }
    }

    async fn sign_in(&mut self) -> Result<(), String> {
        let mut url = self.url("/auth/login");
        url.query_pairs_mut()
            .append_pair("login_hint", &self.person.username)
            .append_pair("next", "/");
        let answer = self.follow(url, false).await?;
        let expected = format!("Signed in as <strong>{}</strong>", self.person.name);
        if answer.status == 200 && answer.route == "/" && answer.body.contains(&expected) {
            self.signed_in = true;
            if let Some(sentinel) = &self.sentinel {
                sentinel.sign_ins.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        if answer.status == 200 && answer.route == "/" {
            return Err("sign-in: / does not show the user".into());
        }
        Err(format!(
            "sign-in: ended {} at {}",
            answer.status, answer.route
        ))
    }

    /// Starts a sign-in, goes to the provider, and never comes back.
    async fn abandon(&mut self) -> Result<(), String> {
        let mut url = self.url("/auth/login");
        url.query_pairs_mut()
            .append_pair("login_hint", &self.person.username)
            .append_pair("next", "/me");
        let request = self.client.get(url.clone()).header(ACCEPT, "text/html");
        let login = self.rec.send(request, "/auth/login").await?;
        let Some(at_idp) = login.location.filter(|_| login.status == 302) else {
            return Err(format!(
                "abandoned sign-in: /auth/login answered {}",
                login.status
            ));
        };
        let at_idp = url.join(&at_idp).map_err(|e| e.to_string())?;
        let request = self.client.get(at_idp.clone()).header(ACCEPT, "text/html");
        let back = self.rec.send(request, "idp authorize").await?;
        if back.status != 302 {
            return Err(format!(
                "abandoned sign-in: the provider answered {}",
                back.status
            ));
        }
        Ok(())
    }

    async fn sign_out(&mut self) -> Result<(), String> {
        self.signed_in = false;
        let home = self.page("/").await?;
        let csrf = home
            .body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("sign-out: no CSRF token on /")?
            .to_owned();
        let url = self.url("/auth/logout");
        let request = self
            .client
            .post(url.clone())
            .header(ACCEPT, "text/html")
            .form(&[("csrf_token", csrf.as_str())]);
        let answer = self.rec.send(request, "/auth/logout").await?;
        let location = match (answer.status, answer.location) {
            (303, Some(location)) => location,
            (status, _) => return Err(format!("sign-out: /auth/logout answered {status}")),
        };
        let next = url.join(&location).map_err(|e| e.to_string())?;
        let end = self.follow(next, false).await?;
        if end.status == 200 && end.route == "/" && end.body.contains("Not signed in") {
            Ok(())
        } else {
            Err(format!("sign-out: ended {} at {}", end.status, end.route))
        }
    }

    /// One step of a signed-in browser.
    async fn browse(&mut self) -> Result<(), String> {
        let sentinel = self.sentinel.is_some();
        let roll = self.rng.gen_range(0..100);
        match roll {
            0..12 => {
                let home = self.page("/").await?;
                let expected = format!("Signed in as <strong>{}</strong>", self.person.name);
                if !home.body.contains(&expected) {
                    return Err("/: does not show the signed-in user".into());
                }
            }
            12..30 => {
                let me = self.page("/me").await?;
                self.json_user(&me, "preferred_username")?;
            }
            30..38 => {
                let profile = self.page("/profile").await?;
                if !profile
                    .body
                    .contains(&format!("<h1>{}</h1>", self.person.name))
                {
                    return Err("/profile: another name".into());
                }
            }
            38..48 => {
                let file = self.page("/files/hello.txt").await?;
                if !file.body.contains("Hello from the msal-axum demo") {
                    return Err("/files/*: not the file".into());
                }
            }
            48..70 => {
                let me = self.page("/graph/me").await?;
                self.json_user(&me, "userPrincipalName")?;
            }
            70..80 => {
                if self.person.admin {
                    self.page("/admin").await?;
                } else {
                    let url = self.url("/admin");
                    let answer = self.follow(url, true).await?;
                    if answer.status != 403 {
                        return Err(format!("/admin: {} for a non-admin", answer.status));
                    }
                    self.rec.expected();
                }
            }
            80..86 if self.person.admin => {
                self.page("/admin/audit").await?;
            }
            86..92 => {
                let url = self.url("/health");
                let request = self.client.get(url.clone());
                let health = self.rec.send(request, "/health").await?;
                if health.status != 200 {
                    return Err(format!("/health: {}", health.status));
                }
            }
            92..97 if !sentinel => self.sign_out().await?,
            97..100 if !sentinel => {
                // The browser is closed: a new cookie jar, the session left to expire.
                self.client = browser_client();
                self.signed_in = false;
            }
            _ => {
                let me = self.page("/me").await?;
                self.json_user(&me, "preferred_username")?;
            }
        }
        Ok(())
    }

    async fn run(mut self, arrive: f32) -> Recorder {
        let shared = self.rec.shared.clone();
        shared.sleep_until(arrive).await;
        while shared.now() < shared.deadline {
            let start = shared.now();
            let step = if !self.signed_in {
                if self.sentinel.is_none() && self.rng.gen_bool(0.2) {
                    self.abandon().await
                } else {
                    self.sign_in().await
                }
            } else {
                self.browse().await
            };
            if let Err(what) = step {
                self.rec.wrong(start, what);
            }
            let think = shared.think.mul_f64(self.rng.gen_range(0.5..1.5));
            tokio::time::sleep(think).await;
        }
        self.rec
    }
}

/// An API client with bearer tokens from TestIdp for the demo's API.
struct Bearer {
    rec: Recorder,
    person: Arc<Person>,
    idp: Arc<TestIdp>,
    client: reqwest::Client,
    rng: StdRng,
    token: Option<(String, f32, u64)>,
}

impl Bearer {
    fn mint(&self, forged: bool) -> String {
        let claims = self
            .idp
            .access_token_claims(
                &self.person.username,
                DEFAULT_CLIENT_ID,
                &["access_as_user"],
            )
            .unwrap();
        let mint = Mint::new(claims);
        let mint = if forged {
            mint.tampered_signature()
        } else {
            mint
        };
        self.idp.mint(&mint).unwrap()
    }

    async fn get(&mut self, path: &str, token: &str) -> Result<Answer, String> {
        let url = Url::parse(&format!("{}{path}", self.rec.shared.base)).unwrap();
        let route = match route_of(&url, self.rec.shared.demo_port) {
            "/me" => "/me [bearer]",
            "/graph/me" => "/graph/me [bearer]",
            "/admin" => "/admin [bearer]",
            "/files/*" => "/files/* [bearer]",
            _ => "(other) [bearer]",
        };
        let request = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .bearer_auth(token);
        self.rec.send(request, route).await
    }

    fn user_in(&self, answer: &Answer, field: &str) -> Result<(), String> {
        if answer.status != 200 {
            return Err(format!("{}: {}", answer.route, answer.status));
        }
        let value: serde_json::Value = serde_json::from_str(&answer.body)
            .map_err(|_| format!("{}: not JSON", answer.route))?;
        if value[field] == self.person.username.as_str() {
            Ok(())
        } else {
            Err(format!("{}: SOMEONE ELSE's {field}", answer.route))
        }
    }

    async fn step(&mut self) -> Result<(), String> {
        let now = self.rec.now();
        let epoch = self.rec.shared.key_epoch.load(Ordering::Relaxed);
        let stale = self
            .token
            .as_ref()
            .is_none_or(|(_, at, e)| now - at > 60.0 || *e != epoch);
        if stale {
            self.token = Some((self.mint(false), now, epoch));
        }
        let token = self.token.as_ref().unwrap().0.clone();
        match self.rng.gen_range(0..100) {
            0..40 => {
                let me = self.get("/me", &token).await?;
                self.user_in(&me, "preferred_username")?;
            }
            40..60 => {
                let file = self.get("/files/hello.txt", &token).await?;
                if file.status != 200 {
                    return Err(format!("{}: {}", file.route, file.status));
                }
            }
            60..70 => {
                // The demo locks `/graph/me` with `scopes = "User.Read"`: a bearer token must
                // carry that scope, which a token for this API never does, so a bearer caller
                // hears 403 insufficient_scope.
                let me = self.get("/graph/me", &token).await?;
                if me.status != 403 || !me.insufficient_scope {
                    return Err(format!(
                        "{}: {} (not insufficient_scope)",
                        me.route, me.status
                    ));
                }
                self.rec.expected();
            }
            70..85 => {
                let me = self.get("/me", &token).await?;
                self.user_in(&me, "preferred_username")?;
            }
            85..95 => {
                let admin = self.get("/admin", &token).await?;
                match (self.person.admin, admin.status) {
                    (true, 200) => {}
                    (false, 403) => self.rec.expected(),
                    (_, status) => return Err(format!("{}: {status}", admin.route)),
                }
            }
            _ => {
                let forged = self.mint(true);
                let me = self.get("/me", &forged).await?;
                if me.status != 401 {
                    return Err(format!("{}: {} for a forged token", me.route, me.status));
                }
                self.rec.expected();
            }
        }
        Ok(())
    }

    async fn run(mut self, arrive: f32) -> Recorder {
        let shared = self.rec.shared.clone();
        shared.sleep_until(arrive).await;
        while shared.now() < shared.deadline {
            let start = shared.now();
            if let Err(what) = self.step().await {
                self.rec.wrong(start, what);
            }
            let think = shared.think.mul_f64(self.rng.gen_range(0.5..1.5));
            tokio::time::sleep(think).await;
        }
        self.rec
    }
}

/// `/me` as JSON for a sentinel: `Ok(true)` its own user, `Ok(false)` not signed in,
/// `Err(status)` anything else (503 while Redis is away).
async fn sentinel_me(rec: &mut Recorder, sentinel: &Sentinel) -> Result<bool, u16> {
    let url = Url::parse(&format!("{}/me", rec.shared.base)).unwrap();
    let request = sentinel
        .client
        .get(url.clone())
        .header(ACCEPT, "application/json");
    match rec.send(request, "/me [restart check]").await {
        Ok(a) if a.status == 200 => {
            let value: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
            Ok(value["preferred_username"] == sentinel.person.username.as_str())
        }
        Ok(a) if a.status == 401 => Ok(false),
        Ok(a) => Err(a.status),
        Err(_) => Err(0),
    }
}

/// The fault schedule; returns the restart's figures and its own requests.
async fn schedule(
    shared: Arc<Shared>,
    idp: Arc<TestIdp>,
    redis: Arc<Mutex<processes::Redis>>,
    sentinels: Vec<Arc<Sentinel>>,
    windows: Arc<Mutex<Vec<Window>>>,
    knobs: Knobs,
) -> (Restart, Recorder) {
    let t = knobs.seconds;
    let w = (t / 12.0).clamp(10.0, 60.0);
    let mut rec = Recorder::new(shared.clone(), "restart check".into());
    let mut restart = Restart {
        sentinels: sentinels.len(),
        how: match knobs.redis_stop {
            processes::Stop::Term => "SIGTERM",
            processes::Stop::Kill => "SIGKILL",
        },
        ..Restart::default()
    };
    let window = |name: &'static str, start: f32, end: f32, grace: f32| {
        windows.lock().unwrap().push(Window {
            name,
            start,
            end,
            grace,
        });
    };

    // The token endpoint fails.
    shared.sleep_until(0.22 * t).await;
    let start = shared.now();
    println!("{start:>6.1} s  fault: token endpoint answers 503 for {w:.0} s");
    idp.set_fault(Endpoint::Token, Fault::status(503));
    shared.sleep_until(start + w).await;
    idp.clear_fault(Endpoint::Token);
    window("token endpoint 503", start, shared.now(), 5.0);

    // The JWKS endpoint hangs while a new key signs.
    shared.sleep_until(0.42 * t).await;
    let start = shared.now();
    println!("{start:>6.1} s  fault: JWKS takes 20 s for {w:.0} s; TestIdp signs with a new key");
    idp.set_fault(Endpoint::Jwks, Fault::delay(Duration::from_secs(20)));
    idp.rotate_keys(KeyRotation::KeepOld).unwrap();
    shared.key_epoch.fetch_add(1, Ordering::Relaxed);
    shared.sleep_until(start + w).await;
    idp.clear_fault(Endpoint::Jwks);
    window(
        "JWKS timeouts + new key",
        start,
        shared.now(),
        (KEY_BACKOFF_MAX + HTTP_TIMEOUT + 2) as f32,
    );

    // Redis restarts.
    shared.sleep_until(0.68 * t).await;
    if shared.now() >= shared.deadline - 10.0 {
        return (restart, rec);
    }
    let mut before = Vec::new();
    for sentinel in &sentinels {
        let sign_ins = sentinel.sign_ins.load(Ordering::Relaxed);
        if sentinel_me(&mut rec, sentinel).await == Ok(true) {
            before.push((sentinel.clone(), sign_ins));
        }
    }
    restart.checked = before.len();
    let r = redis.clone();
    restart.keys_before = tokio::task::spawn_blocking(move || r.lock().unwrap().keys())
        .await
        .unwrap();
    let start = shared.now();
    println!(
        "{start:>6.1} s  fault: Redis stopped ({}) for {:.0} s; {} sentinels signed in",
        restart.how, knobs.redis_down, restart.checked
    );
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.lock().unwrap().stop())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs_f32(knobs.redis_down)).await;
    let r = redis.clone();
    let up = tokio::task::spawn_blocking(move || r.lock().unwrap().restart())
        .await
        .unwrap();
    assert!(up, "soak: Redis did not come back");
    let end = shared.now();
    restart.down_seconds = end - start;
    window("Redis restart", start, end, 5.0);
    let r = redis.clone();
    restart.keys_after = tokio::task::spawn_blocking(move || r.lock().unwrap().keys())
        .await
        .unwrap();
    println!(
        "{end:>6.1} s  Redis back with {} keys (had {})",
        restart.keys_after.unwrap_or(0),
        restart.keys_before.unwrap_or(0)
    );
    for (sentinel, sign_ins) in before {
        let give_up = shared.now() + 30.0;
        let verdict = loop {
            match sentinel_me(&mut rec, &sentinel).await {
                Ok(true) if sentinel.sign_ins.load(Ordering::Relaxed) == sign_ins => break None,
                Ok(true) => break Some("signed in again (the session was gone)".to_owned()),
                Ok(false) => break Some("not signed in".to_owned()),
                Err(status) if shared.now() > give_up => {
                    break Some(format!("still {status} 30 s after the restart"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        if let Some(why) = verdict {
            restart
                .lost
                .push(format!("{}: {why}", sentinel.person.username));
        }
    }
    restart.done = true;
    (restart, rec)
}

/// The WARN and ERROR lines of the demo's log, grouped (digits folded so ids group),
/// most frequent first.
fn log_lines(log: &str) -> Vec<(String, usize)> {
    let mut groups: std::collections::HashMap<String, usize> = Default::default();
    for line in log.lines() {
        let line = strip_ansi(line);
        let Some(at) = line.find(" WARN ").or_else(|| line.find(" ERROR ")) else {
            continue;
        };
        let rest: String = line[at..]
            .trim()
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .take(200)
            .collect();
        *groups.entry(rest).or_default() += 1;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    groups
}

/// `text` without ANSI escape sequences (colours), should the log have them.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, ended by a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::main]
async fn main() {
    wrk::quiet_logs();
    let knobs = Knobs::from_env();
    println!(
        "soak: {} s, {} browsers ({} never sign out), {} bearer clients, think {} ms, tokens live {} s, seed {}",
        knobs.seconds,
        knobs.browsers,
        knobs.sentinels,
        knobs.bearers,
        knobs.think_ms,
        knobs.token_lifetime,
        knobs.seed
    );
    let binary = tokio::task::spawn_blocking(processes::demo_binary)
        .await
        .unwrap();

    // TestIdp with a user per simulated person.
    let people: Vec<Arc<Person>> = (0..knobs.browsers + knobs.bearers)
        .map(|i| {
            Arc::new(Person {
                username: format!("soak{i:04}@contoso.test"),
                name: format!("Soak User {i}"),
                admin: i % 8 == 0,
            })
        })
        .collect();
    let idp = people
        .iter()
        .fold(TestIdp::builder(), |b, p| {
            let user = TestUser::new(p.username.clone(), p.name.clone());
            b.user(if p.admin { user.role("Admin") } else { user })
        })
        .token_lifetime(Duration::from_secs(knobs.token_lifetime))
        .start()
        .await
        .unwrap();
    let idp = Arc::new(idp);

    let stop = knobs.redis_stop;
    let redis = tokio::task::spawn_blocking(move || processes::Redis::start(stop))
        .await
        .unwrap();
    let port = processes::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env: Vec<(String, String)> = [
        ("MSAL_CLIENT_ID", DEFAULT_CLIENT_ID.to_owned()),
        ("MSAL_CLIENT_SECRET", DEFAULT_CLIENT_SECRET.to_owned()),
        ("MSAL_INSTANCE", idp.base_url().to_owned()),
        ("MSAL_TENANT_ID", idp.tenant().id),
        ("MSAL_PUBLIC_URL", base.clone()),
        ("MSAL_GRAPH_URL", idp.graph_base_url()),
        ("MSAL_SESSION_STORE", redis.url()),
        ("MSAL_HTTP_TIMEOUT", format!("{HTTP_TIMEOUT}s")),
        ("MSAL_JWKS_COOLDOWN", format!("{JWKS_COOLDOWN}s")),
        ("RUST_LOG", "warn".to_owned()),
        ("NO_COLOR", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let demo_binary = binary.clone();
    let mut demo =
        tokio::task::spawn_blocking(move || processes::Demo::start(&demo_binary, port, &env))
            .await
            .unwrap();
    println!(
        "soak: demo {} (pid {}) on {base}, TestIdp {}, Redis {} (data in {})",
        binary.display(),
        demo.pid,
        idp.base_url(),
        redis.url(),
        redis.dir.display()
    );
    let redis = Arc::new(Mutex::new(redis));

    let shared = Arc::new(Shared {
        t0: Instant::now(),
        deadline: knobs.seconds,
        base,
        demo_port: port,
        think: Duration::from_millis(knobs.think_ms),
        requests: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        key_epoch: AtomicU64::new(0),
    });
    let windows = Arc::new(Mutex::new(Vec::new()));
    let ramp = (knobs.seconds / 10.0).min(20.0);

    // Memory, every 2 s, and a progress line per slice.
    let memory = {
        let shared = shared.clone();
        let pid = demo.pid;
        let slices = knobs.slices;
        tokio::spawn(async move {
            let mut memory = Vec::new();
            let slice = shared.deadline / slices as f32;
            let mut next_line = slice;
            while shared.now() < shared.deadline {
                let Some(rss) = processes::resident(pid) else {
                    break;
                };
                let now = shared.now();
                memory.push((now, rss));
                if now >= next_line {
                    println!(
                        "{now:>6.1} s  {} requests, {} 5xx/unanswered so far; demo resident {:.1} MiB",
                        shared.requests.load(Ordering::Relaxed),
                        shared.failures.load(Ordering::Relaxed),
                        rss as f64 / (1024.0 * 1024.0)
                    );
                    next_line += slice;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            memory
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    let mut sentinels = Vec::new();
    for (i, person) in people.iter().take(knobs.browsers).enumerate() {
        let client = browser_client();
        let sentinel = (i < knobs.sentinels).then(|| {
            let s = Arc::new(Sentinel {
                client: client.clone(),
                person: person.clone(),
                sign_ins: AtomicU64::new(0),
            });
            sentinels.push(s.clone());
            s
        });
        let browser = Browser {
            rec: Recorder::new(shared.clone(), person.username.clone()),
            person: person.clone(),
            client,
            rng: StdRng::seed_from_u64(knobs.seed.wrapping_add(i as u64)),
            signed_in: false,
            sentinel,
        };
        let arrive = ramp * i as f32 / knobs.browsers as f32;
        tasks.spawn(browser.run(arrive));
    }
    for (j, person) in people.iter().skip(knobs.browsers).enumerate() {
        let bearer = Bearer {
            rec: Recorder::new(shared.clone(), person.username.clone()),
            person: person.clone(),
            idp: idp.clone(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            rng: StdRng::seed_from_u64(knobs.seed.wrapping_add(1_000_000 + j as u64)),
            token: None,
        };
        let arrive = ramp * j as f32 / knobs.bearers.max(1) as f32;
        tasks.spawn(bearer.run(arrive));
    }
    let scheduler = tokio::spawn(schedule(
        shared.clone(),
        idp.clone(),
        redis.clone(),
        sentinels,
        windows.clone(),
        knobs.clone(),
    ));

    let mut samples = Vec::new();
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let rec = done.unwrap();
        samples.extend(rec.samples);
        outcomes.extend(rec.outcomes);
    }
    let (restart, rec) = scheduler.await.unwrap();
    samples.extend(rec.samples);
    outcomes.extend(rec.outcomes);
    let memory = memory.await.unwrap();
    samples.sort_by(|a, b| a.start.total_cmp(&b.start));
    if let Ok(path) = std::env::var("SOAK_SAMPLES_CSV") {
        let mut csv = String::from("start_s,end_s,route,status,expected\n");
        for s in &samples {
            csv.push_str(&format!(
                "{:.4},{:.4},{},{},{}\n",
                s.start, s.end, s.route, s.status, s.expected
            ));
        }
        std::fs::write(&path, csv).expect("write SOAK_SAMPLES_CSV");
        println!("soak: every request written to {path}");
    }

    let demo_alive = demo.running();
    let idp_counts = [
        ("discovery", Endpoint::Discovery),
        ("jwks", Endpoint::Jwks),
        ("authorize", Endpoint::Authorize),
        ("token", Endpoint::Token),
        ("logout", Endpoint::Logout),
        ("graph", Endpoint::Graph),
    ]
    .into_iter()
    .map(|(name, e)| (name, idp.requests(e)))
    .collect();
    let run = report::Run {
        seconds: knobs.seconds,
        slices: knobs.slices,
        browsers: knobs.browsers,
        bearers: knobs.bearers,
        samples,
        outcomes,
        windows: windows.lock().unwrap().clone(),
        memory,
        restart,
        idp_counts,
        demo_alive,
        demo_log: log_lines(&demo.log_text()),
        machine: machine(),
        command: command_line(&knobs),
    };
    let (text, markdown, holds) = report::report(&run);
    println!("{text}");
    println!("---- markdown for RELIABILITY.md ----\n{markdown}---- end ----");
    drop(demo);
    drop(redis);
    if holds.iter().any(|(_, held)| !held) {
        eprintln!("soak: a must-hold failed");
        std::process::exit(1);
    }
}

/// The command that reproduces this run.
fn command_line(knobs: &Knobs) -> String {
    let mut env = format!(
        "SOAK_SECONDS={} SOAK_BROWSERS={}",
        knobs.seconds, knobs.browsers
    );
    if knobs.redis_stop == processes::Stop::Kill {
        env.push_str(" SOAK_REDIS_STOP=kill");
    }
    format!("{env} cargo bench -p msal-tests --bench soak")
}

/// Cores and memory of this machine, from `/proc`.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0.0, |kib| kib as f64 / (1024.0 * 1024.0));
    format!("{cores} cores, {mem:.0} GiB, release build, one run")
}
