//! Real Redis servers started by a test, as users deploy them: one over TLS with its own CA,
//! and a three-node Redis Cluster. Each runs in a temporary directory and is killed (and the
//! directory removed) when its guard drops. They need Debian's `redis-server` and
//! `redis-cli` (and `openssl` for the certificates): under `CI` a test fails without them;
//! elsewhere it skips, loudly.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Running Redis processes and their directory; dropping it kills them and removes it.
pub struct RedisServers {
    children: Vec<Child>,
    /// The temporary directory of their files (certificates, cluster node files).
    pub dir: PathBuf,
    /// The port each server listens on (plain TCP, or TLS for the TLS server).
    pub ports: Vec<u16>,
}

impl RedisServers {
    /// The cluster's URL: one node in the authority, the others as `node` parameters
    /// (either alone would do).
    pub fn cluster_url(&self) -> String {
        let (first, rest) = self.ports.split_first().expect("a server");
        let nodes: Vec<String> = rest.iter().map(|p| format!("node=127.0.0.1:{p}")).collect();
        format!("redis-cluster://127.0.0.1:{first}?{}", nodes.join("&"))
    }
}

impl Drop for RedisServers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TLS Redis with a password, its certificate signed by a CA of the test's own.
pub struct TlsRedis {
    /// The server process; killed on drop.
    pub servers: RedisServers,
    /// `rediss://:<password>@127.0.0.1:<port>/0`: the form Azure Cache for Redis uses.
    pub url: String,
    /// The PEM file of the CA that signed the server's certificate.
    pub ca_file: PathBuf,
    /// The PEM file of another CA, which signed nothing the server holds.
    pub other_ca_file: PathBuf,
}

/// The password of the TLS server.
pub const TLS_PASSWORD: &str = "s3cret/with+slash=";

/// Whether the binaries are there: `None` (skip, loudly) when not, a panic under `CI`.
fn tools(what: &str) -> Option<()> {
    for (tool, version) in [
        ("redis-server", "--version"),
        ("redis-cli", "--version"),
        ("openssl", "version"),
    ] {
        let found = Command::new(tool)
            .arg(version)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "`{tool}` is missing and CI is set: .ci/run installs redis-server, redis-tools and openssl"
                );
            }
            eprintln!(
                "\n*** SKIPPING {what} test: `{tool}` is not installed (apt-get install redis-server redis-tools) ***\n"
            );
            return None;
        }
    }
    Some(())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "msal-{name}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A loopback port free right now; with `bus`, port + 10000 (the cluster bus) is free too.
fn free_port(bus: bool) -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if !bus {
            return port;
        }
        if port <= 55535 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn_redis(dir: &Path, args: &[&str]) -> Child {
    Command::new("redis-server")
        .args(args)
        .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `redis-cli` against a node; its output, or `None` when it fails.
pub fn redis_cli(args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `ready` until it holds, for at most 15 s.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what} did not happen within 15 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A self-signed CA (`name.pem`, `name.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    run(
        dir,
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=msal-axum TEST ONLY {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// Starts `redis-server` over TLS only (no plain port), with a password and a certificate
/// for `localhost` and `127.0.0.1` signed by a fresh CA. `None`: skipped (see module docs).
pub fn tls_redis() -> Option<TlsRedis> {
    tools("TLS Redis")?;
    let dir = temp_dir("redis-tls");
    make_ca(&dir, "ca");
    make_ca(&dir, "other-ca");
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(
        &dir,
        "openssl",
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    run(
        &dir,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    let port = free_port(false);
    let port_text = port.to_string();
    let child = spawn_redis(
        &dir,
        &[
            "--port",
            "0",
            "--tls-port",
            &port_text,
            "--tls-cert-file",
            "server.pem",
            "--tls-key-file",
            "server.key",
            "--tls-ca-cert-file",
            "ca.pem",
            "--tls-auth-clients",
            "no",
            "--requirepass",
            TLS_PASSWORD,
        ],
    );
    let servers = RedisServers {
        children: vec![child],
        dir: dir.clone(),
        ports: vec![port],
    };
    let ca = dir.join("ca.pem").display().to_string();
    wait_until("the TLS Redis answering PING", || {
        redis_cli(&[
            "--tls",
            "--cacert",
            &ca,
            "-h",
            "127.0.0.1",
            "-p",
            &port_text,
            "--no-auth-warning",
            "-a",
            TLS_PASSWORD,
            "PING",
        ])
        .is_some_and(|o| o.trim() == "PONG")
    });
    let password = TLS_PASSWORD.replace('/', "%2F");
    Some(TlsRedis {
        url: format!("rediss://:{password}@127.0.0.1:{port}/0"),
        ca_file: dir.join("ca.pem"),
        other_ca_file: dir.join("other-ca.pem"),
        servers,
    })
}

/// Starts a three-node Redis Cluster (no replicas) on loopback and waits until it reports
/// `cluster_state:ok` on every node. `None`: skipped (see module docs).
pub fn redis_cluster() -> Option<RedisServers> {
    tools("Redis Cluster")?;
    let dir = temp_dir("redis-cluster");
    let mut servers = RedisServers {
        children: Vec::new(),
        dir: dir.clone(),
        ports: Vec::new(),
    };
    for n in 0..3 {
        let port = free_port(true);
        let nodes = dir.join(format!("nodes-{n}.conf")).display().to_string();
        servers.children.push(spawn_redis(
            &dir,
            &[
                "--port",
                &port.to_string(),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &nodes,
            ],
        ));
        servers.ports.push(port);
    }
    for port in &servers.ports {
        let port = port.to_string();
        wait_until("a cluster node answering PING", || {
            redis_cli(&["-p", &port, "PING"]).is_some_and(|o| o.trim() == "PONG")
        });
    }
    let nodes: Vec<String> = servers
        .ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let mut create = vec!["--cluster", "create"];
    create.extend(nodes.iter().map(String::as_str));
    create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
    run(&dir, "redis-cli", &create);
    for port in &servers.ports {
        let port = port.to_string();
        wait_until("cluster_state:ok on every node", || {
            redis_cli(&["-p", &port, "CLUSTER", "INFO"])
                .is_some_and(|o| o.contains("cluster_state:ok"))
        });
    }
    Some(servers)
}

/// The `msal:*` keys one plain node holds (`--scan`, bypassing the library under test).
pub fn msal_keys_on(port: u16) -> Vec<String> {
    redis_cli(&["-p", &port.to_string(), "--scan", "--pattern", "msal:*"])
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

/// How many MOVED and ASK replies a plain node has sent (`INFO errorstats`, Redis 6.2+): a
/// client that routes each command to its key's node causes none.
pub fn redirections_answered(port: u16) -> u64 {
    let info = redis_cli(&["-p", &port.to_string(), "INFO", "errorstats"]).unwrap_or_default();
    info.lines()
        .filter(|l| l.starts_with("errorstat_MOVED:") || l.starts_with("errorstat_ASK:"))
        .filter_map(|l| {
            l.split("count=")
                .nth(1)?
                .split(',')
                .next()?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum()
}
