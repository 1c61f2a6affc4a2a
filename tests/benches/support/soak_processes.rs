//! The soak's two child processes: the release demo (`examples/demo.rs`, built by cargo when
//! needed) and a Redis with persistence on that the soak may stop and start again on the same
//! port and data directory. Both are killed, and their directory removed, when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "msal-soak-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// Resident memory of a process in bytes (`VmRSS` in `/proc/<pid>/status`), `None` once it
/// has gone.
pub fn resident(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// Sends `signal` (a name `kill` knows: `TERM`, `KILL`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// How the soak stops Redis for its restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `SIGTERM`: what a service manager's restart sends; Redis writes its append-only file
    /// out before it exits (`appendfsync everysec` otherwise).
    Term,
    /// `SIGKILL`: a crash. The server then runs with `appendfsync always`, so an answered
    /// write is on disk and a crash may lose nothing that was acknowledged.
    Kill,
}

/// A `redis-server` on a loopback port of its own, append-only file on, in a temporary
/// directory that outlives restarts.
pub struct Redis {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its data directory (the append-only file and its log).
    pub dir: PathBuf,
    stop: Stop,
}

impl Redis {
    /// Starts one and waits until it answers `PING`.
    pub fn start(stop: Stop) -> Redis {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "soak: redis-server is needed (apt-get install redis-server); it runs its own on a free port"
        );
        let mut redis = Redis {
            child: None,
            port: free_port(),
            dir: temp_dir("redis"),
            stop,
        };
        redis.spawn();
        assert!(
            redis.wait_ready(Duration::from_secs(15)),
            "soak: redis-server did not answer PING on port {} within 15 s (log: {})",
            redis.port,
            redis.dir.join("redis.log").display()
        );
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let fsync = match self.stop {
            Stop::Term => "everysec",
            Stop::Kill => "always",
        };
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--appendonly", "yes", "--appendfsync", fsync, "--save", ""])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
    }

    /// Whether it answers `PING` within `within`.
    pub fn wait_ready(&self, within: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < within {
            if command(self.port, &["PING"]).is_some_and(|r| r.starts_with("+PONG")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Stops the server (see [`Stop`]) and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            match self.stop {
                Stop::Term => signal(child.id(), "TERM"),
                Stop::Kill => {
                    let _ = child.kill();
                }
            }
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory; whether it answered `PING` within 15 s.
    pub fn restart(&mut self) -> bool {
        self.spawn();
        self.wait_ready(Duration::from_secs(15))
    }

    /// How many keys it holds (`DBSIZE`), if it answers.
    pub fn keys(&self) -> Option<u64> {
        command(self.port, &["DBSIZE"])?
            .strip_prefix(':')?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One RESP command over a fresh connection; the first line of the reply.
fn command(port: u16, args: &[&str]) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = [0u8; 64];
    let n = stream.read(&mut reply).ok()?;
    let text = String::from_utf8_lossy(&reply[..n]).into_owned();
    Some(text.lines().next().unwrap_or_default().to_owned())
}

/// The release demo binary: `SOAK_DEMO_BIN` if set; otherwise
/// `cargo build --release -p msal-examples --example demo` (a no-op when it is up to date)
/// and the binary beside this bench's (`<target>/release/examples/demo`).
pub fn demo_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SOAK_DEMO_BIN") {
        return PathBuf::from(path);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("soak: cargo build --release -p msal-examples --example demo");
    let mut command = Command::new(cargo);
    // What cargo sets for the bench it runs (its package's manifest dir, name, version…)
    // must not reach this build: some build scripts rerun when it changes (ring's does on
    // CARGO_MANIFEST_DIR), and then the next `cargo bench` rebuilds them back.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let set_for_the_run = name == "OUT_DIR"
            || name == "CARGO_MANIFEST_DIR"
            || name == "CARGO_MANIFEST_PATH"
            || name == "CARGO_MANIFEST_LINKS"
            || name == "CARGO_CRATE_NAME"
            || name == "CARGO_BIN_NAME"
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "CARGO_TARGET_TMPDIR"
            || name.starts_with("CARGO_PKG_");
        if set_for_the_run {
            command.env_remove(name);
        }
    }
    let built = command
        .args([
            "build",
            "--release",
            "-p",
            "msal-examples",
            "--example",
            "demo",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(built, "soak: building the release demo failed");
    // This bench is `<target>/release/deps/soak-<hash>`.
    let exe = std::env::current_exe().expect("the bench's own path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the bench lives in <target>/<profile>/deps");
    let demo = profile.join("examples").join("demo");
    assert!(
        demo.is_file(),
        "soak: no demo binary at {} (set SOAK_DEMO_BIN)",
        demo.display()
    );
    demo
}

/// The demo running as a child process.
pub struct Demo {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    dir: PathBuf,
}

impl Demo {
    /// Starts `binary` on a free port with `env` (every `MSAL_*` of this process removed
    /// first, so only the soak's configuration applies), in an empty working directory (no
    /// stray `.env`), and waits until `/health` answers.
    pub fn start(binary: &Path, port: u16, env: &[(String, String)]) -> Demo {
        let dir = temp_dir("demo");
        let log = dir.join("demo.log");
        let out = std::fs::File::create(&log).expect("create the demo's log");
        let err = out.try_clone().expect("clone the log's handle");
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("MSAL_") {
                command.env_remove(name);
            }
        }
        let child = command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start the demo");
        let mut demo = Demo {
            pid: child.id(),
            child,
            log,
            dir,
        };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = demo.child.try_wait() {
                panic!(
                    "soak: the demo exited at start ({status}):\n{}",
                    demo.log_text()
                );
            }
            if health(port) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "soak: the demo did not answer /health within 30 s:\n{}",
                demo.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        demo
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it has printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `GET /health` answered 200.
fn health(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut reply = [0u8; 16];
    stream
        .read(&mut reply)
        .is_ok_and(|n| reply[..n].starts_with(b"HTTP/1.1 200"))
}
