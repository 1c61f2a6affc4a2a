//! The demo binary as a user starts it: a configuration that cannot work ends `main` with
//! one readable error (every problem and its fix), never a `Debug` dump, and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/demo`, built now: a filtered `cargo test --test startup` does
/// not build examples, and a binary left from an earlier build would test old code.
fn demo_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let mut build = Command::new(env!("CARGO"));
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "msal-examples",
            "--example",
            "demo",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    assert!(build.status().ok()?.success(), "the demo does not build");
    let demo = profile_dir
        .join("examples")
        .join(format!("demo{}", std::env::consts::EXE_SUFFIX));
    demo.exists().then_some(demo)
}

#[test]
fn the_demo_with_a_blank_client_id_prints_one_readable_error_and_fails() {
    let Some(demo) = demo_binary() else {
        let why = "the demo example is not built (run `cargo test -p msal-examples` without a \
                   target filter, or `cargo build -p msal-examples --example demo`)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED: {why}");
        return;
    };
    // A directory of its own: no `.env`, no secrets directory.
    let dir = std::env::temp_dir().join(format!(
        "msal-demo-startup-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(&demo);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("MSAL_")) {
        command.env_remove(name);
    }
    let mut child = command
        .current_dir(&dir)
        .env("MSAL_CLIENT_ID", "")
        .env("MSAL_SECRETS_DIR", &dir)
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "the demo kept running with a blank MSAL_CLIENT_ID (did it fall back to TestIdp?)"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(!status.success(), "exit status {status}");
    assert!(
        !stdout.contains("TestIdp"),
        "a blank MSAL_CLIENT_ID is a configuration, not a request for the test provider: {stdout}"
    );
    assert!(
        stderr.starts_with("Error: invalid msal configuration ("),
        "one readable error: {stderr}"
    );
    assert!(
        stderr.contains("\n  - MSAL_CLIENT_ID (from environment): is not set"),
        "the problem and where it came from: {stderr}"
    );
    for debug_only in [
        "ConfigError",
        "problems:",
        "ConfigProblem",
        "Some(",
        "variable:",
    ] {
        assert!(
            !stderr.contains(debug_only),
            "Debug output leaked: {stderr}"
        );
    }
    // Every line is the error's own: a problem per line, nothing else printed.
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("  - ")).count() + 1,
        stderr.lines().count(),
        "{stderr}"
    );
}
