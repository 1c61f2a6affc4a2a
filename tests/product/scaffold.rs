//! `msal-new`: the generated app builds against this repository's crates, follows its own
//! README (a `.env` naming a tenant is used, never the embedded test provider), and an
//! existing directory is never overwritten. The generated app is also the fresh crate the
//! repository README's "Testing your own app" section is pasted into, and an app built
//! without msal-runtime's `redis` feature.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use msal_tests::{browser, location};

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "msal-new-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ))
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The host's target triple: the UI tests (trybuild) build for it explicitly, and building
/// the same way shares their compiled dependencies.
fn host() -> String {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap()
}

/// `cargo <args>` in the generated app, offline, in the UI tests' target directory.
fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let target = workspace().join("target/tests/trybuild");
    Command::new(env!("CARGO"))
        .args(args)
        .args(["--offline", "--quiet", "--target", &host()])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap()
}

fn runtime_path() -> String {
    format!(
        "{:?}",
        workspace().join("msal-runtime").display().to_string()
    )
}

/// Scaffolds an app into a fresh directory, with this workspace's lock file so it resolves
/// the versions already built. It keeps sessions in memory: no `redis` feature.
fn scaffold() -> PathBuf {
    let dir = temp_dir("app").join("my app");
    let dependency = format!(
        "msal-runtime = {{ path = {}, default-features = false }}",
        runtime_path()
    );
    let files = msal_examples::scaffold::create(&dir, &dependency).unwrap();
    assert_eq!(files.len(), 5);
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

/// The body of the first fenced block of `lang` in the README section titled `heading`.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = readme
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let section = section.split("\n### ").next().unwrap();
    let fence = format!("```{lang}\n");
    let block = section
        .split(&fence)
        .nth(1)
        .unwrap_or_else(|| panic!("no {fence:?} block under {heading:?}"));
    block.split("\n```").next().unwrap().to_owned() + "\n"
}

/// Pastes the README's "Testing your own app" into the app, as a user would: its one
/// dev-dependency line (pointed at this repository instead of crates.io) and its test file.
fn paste_the_readme_test(dir: &Path) {
    const HEADING: &str = "### Testing your own app";
    let dev = readme_block(HEADING, "toml");
    assert_eq!(
        dev.lines()
            .filter(|l| l.starts_with("msal-runtime"))
            .count(),
        1,
        "one dependency line: {dev}"
    );
    let dev = dev.replace(r#"version = "0.1""#, &format!("path = {}", runtime_path()));
    assert!(dev.contains("path = "), "{dev}");
    let manifest = dir.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest).unwrap();
    toml.push('\n');
    toml.push_str(&dev);
    std::fs::write(&manifest, toml).unwrap();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(
        dir.join("tests/sign_in.rs"),
        readme_block(HEADING, "rust,no_run"),
    )
    .unwrap();
}

/// The built app's binary (the package of `my app` is `my-app`).
fn binary() -> PathBuf {
    workspace()
        .join("target/tests/trybuild")
        .join(host())
        .join("debug/my-app")
}

/// Runs the built app with no `MSAL_*` from this process and these variables; returns it
/// and the URL it listens on (read from its first line of output), or its stderr if it
/// exited instead.
fn run(dir: &Path, vars: &[(&str, &str)]) -> Result<(KillOnDrop, String), String> {
    let mut command = Command::new(binary());
    command
        .current_dir(dir)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("MSAL_")) {
        command.env_remove(name);
    }
    command.envs(vars.iter().copied());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    match line.trim().strip_prefix("Listening on ") {
        Some(url) => Ok((KillOnDrop(child), url.to_owned())),
        None => {
            let out = child.wait_with_output().unwrap();
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_generated_app_signs_in_against_the_tenant_its_env_file_names() {
    let dir = scaffold();
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("[features]")
        .next()
        .unwrap();
    assert!(
        !dependencies.contains("testing"),
        "the test provider is not a normal dependency: {manifest}"
    );
    assert!(
        manifest.contains(r#"dev = ["msal-runtime/testing"]"#),
        "{manifest}"
    );
    let env = std::fs::read_to_string(dir.join(".env.example")).unwrap();
    for variable in [
        "MSAL_CLIENT_ID",
        "MSAL_CLIENT_SECRET",
        "MSAL_TENANT_ID",
        "MSAL_AUTHORITY",
        "MSAL_SESSION_STORE",
        "MSAL_SESSION_KEY",
    ] {
        assert!(env.contains(variable), "{variable} in .env.example");
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("App registrations") && readme.contains("--features dev"));

    // Without the `redis` feature there is no Redis client in the app at all.
    let tree = cargo(&dir, &["tree", "-e", "normal"]);
    let tree = String::from_utf8_lossy(&tree.stdout).into_owned();
    assert!(tree.contains("msal-runtime"), "{tree}");
    assert!(!tree.contains("fred") && !tree.contains("redis"), "{tree}");

    // The README's testing section, pasted in, compiles and passes; building the tests with
    // `dev` compiles the dev build's code path too.
    paste_the_readme_test(&dir);
    let tested = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || cargo(&dir, &["test", "--features", "dev"])
    })
    .await
    .unwrap();
    assert!(
        tested.status.success(),
        "the README's test fails in a fresh app:\n{}\n{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    let built = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || cargo(&dir, &["build"])
    })
    .await
    .unwrap();
    assert!(
        built.status.success(),
        "the generated app does not build:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );

    // Unconfigured, a normal build refuses to start and says what to set; it never falls
    // back to the test provider.
    let refused = run(&dir, &[])
        .err()
        .expect("an unconfigured app does not start");
    assert!(refused.contains("MSAL_CLIENT_ID"), "{refused}");
    let forced = run(&dir, &[("MSAL_USE_TEST_IDP", "1")])
        .err()
        .expect("no test provider in a build without `dev`");
    assert!(forced.contains("--features dev"), "{forced}");

    // Following its README: the tenant goes into `.env`. Here the "tenant" is a TestIdp
    // started by this test, standing in for Entra; the app must use it.
    let idp = TestIdp::start().await.unwrap();
    std::fs::write(
        dir.join(".env"),
        format!(
            "MSAL_CLIENT_ID={DEFAULT_CLIENT_ID}\nMSAL_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}\nMSAL_INSTANCE={}\nMSAL_TENANT_ID={}\n",
            idp.base_url(),
            idp.tenant().id
        ),
    )
    .unwrap();
    // Asking for the test provider while a real one is configured: it refuses to guess.
    let ambiguous = run(&dir, &[("MSAL_USE_TEST_IDP", "1")])
        .err()
        .expect("both a test provider and a tenant asked for");
    assert!(ambiguous.contains("unset one of them"), "{ambiguous}");
    // A Redis store asked of a build without the `redis` feature: a start-up error naming it.
    let no_redis = run(&dir, &[("MSAL_SESSION_STORE", "redis://127.0.0.1:6379")])
        .err()
        .expect("no Redis store without the feature");
    assert!(
        no_redis.contains("MSAL_SESSION_STORE") && no_redis.contains("feature `redis`"),
        "{no_redis}"
    );
    let (_app, url) = run(&dir, &[]).unwrap();
    let browser = browser();
    let login = browser
        .get(format!("{url}/auth/login"))
        .query(&[("login_hint", "alice@contoso.test"), ("next", "/me")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let at_idp = location(&login);
    assert!(
        at_idp.as_str().starts_with(&idp.authorize_endpoint()),
        "the configured provider, not an embedded one: {at_idp}"
    );
    let back = browser.get(at_idp).send().await.unwrap();
    let done = browser.get(location(&back)).send().await.unwrap();
    assert_eq!(done.status(), 303);
    let me: serde_json::Value = browser
        .get(format!("{url}/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["preferred_username"], "alice@contoso.test");
    assert_eq!(me["tid"], idp.tenant().id);
    assert!(me.get("iss").is_none() && me.get("nonce").is_none(), "{me}");
    // Bob, who is Admin at the test provider, cannot be picked without that provider: the
    // app's admin page needs a real sign-in as him.
    let anonymous = reqwest::Client::new()
        .get(format!("{url}/admin"))
        .header("accept", "application/json")
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn a_non_empty_directory_is_refused_and_left_alone() {
    let dir = temp_dir("busy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let err = msal_examples::scaffold::create(&dir, "msal-runtime = \"0.1\"").unwrap_err();
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "mine"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
