//! The external load generator of the HTTP benchmarks: `wrk` (Debian's package), found on
//! the `PATH` or installed with apt, run as its own process so the generator's cost never
//! counts as the server's.

// Each bench includes this file and uses the part it needs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// What one wrk run measured.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Requests answered (any status).
    pub requests: u64,
    /// Requests per second over the run.
    pub rate: f64,
    /// Median and 99th percentile latency.
    pub p50: Duration,
    pub p99: Duration,
    /// Socket errors, timeouts and answers with a status of 400 or more.
    pub errors: u64,
}

/// Reports the run's figures on one line wrk's own output never starts with.
const REPORT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK-REPORT %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

/// The `wrk` binary: on the `PATH`, or installed from Debian's packages when this user may.
pub fn binary() -> PathBuf {
    let found = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("wrk"))
                .find(|path| path.is_file())
        })
    };
    if let Some(path) = found() {
        return path;
    }
    eprintln!("bench: wrk not found; installing Debian's package");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .status()
        .is_ok_and(|s| s.success());
    match found() {
        Some(path) if installed => path,
        _ => panic!(
            "bench: wrk is needed (an external load generator): `apt-get install wrk`, \
             or put a wrk binary on the PATH"
        ),
    }
}

/// Loads `url` for `seconds` (rounded up to whole seconds) with `threads` threads and `connections` keep-alive
/// connections, every request carrying `headers`.
pub fn load(
    wrk: &PathBuf,
    url: &str,
    threads: usize,
    connections: usize,
    seconds: f64,
    headers: &[(String, String)],
) -> Run {
    let script = std::env::temp_dir().join(format!("msal-bench-{}.lua", std::process::id()));
    std::fs::write(&script, REPORT).expect("write the wrk script");
    let mut command = Command::new(wrk);
    command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        // wrk takes whole seconds.
        .arg(format!("-d{}s", seconds.ceil().max(1.0) as u64))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    let output = command.arg(url).output().expect("run wrk");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK-REPORT "))
        .unwrap_or_else(|| {
            panic!(
                "wrk gave no report: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let n: Vec<u64> = line
        .split_whitespace()
        .map(|f| f.parse().expect("a wrk figure"))
        .collect();
    let [requests, micros, p50, p99, errors] = n[..] else {
        panic!("wrk report: {line}");
    };
    Run {
        requests,
        rate: requests as f64 / (micros as f64 / 1e6),
        p50: Duration::from_micros(p50),
        p99: Duration::from_micros(p99),
        errors,
    }
}

/// This process's resident memory now and at its peak, in bytes (Linux `/proc`).
pub fn resident() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Logs as a deployment would run them: `RUST_LOG`, `warn` when unset.
pub fn quiet_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}
