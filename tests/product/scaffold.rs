//! `msal-new`: the generated app compiles against this repository's crates, and an existing
//! directory is never overwritten.

use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "msal-new-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ))
}

#[test]
fn the_generated_app_compiles_offline() {
    let dir = temp_dir("app").join("my app");
    let dependency = format!(
        "msal-runtime = {{ path = {:?}, features = [\"testing\"] }}",
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../msal-runtime")
            .canonicalize()
            .unwrap()
            .display()
            .to_string()
    );
    let files = msal_examples::scaffold::create(&dir, &dependency).unwrap();
    assert_eq!(files.len(), 5);
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
    assert!(
        std::fs::read_to_string(dir.join("README.md"))
            .unwrap()
            .contains("App registrations")
    );
    // Shares the UI tests' target directory, so the dependencies are built once.
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tests/trybuild");
    let output = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the generated app does not compile:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
