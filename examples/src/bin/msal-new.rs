//! Creates a new, ready-to-run msal-axum app.
//!
//! ```text
//! cargo run -p msal-examples --bin msal-new -- ./myapp
//! cd myapp && cargo run --features dev   # the embedded test provider; `cargo run` with
//!                                       # MSAL_* (.env) for your tenant
//! ```
//!
//! It refuses to write into a directory that is not empty.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: msal-new <directory>");
        return ExitCode::from(2);
    };
    match msal_examples::scaffold::create(Path::new(&dir), &runtime_dependency()) {
        Ok(files) => {
            println!("Created {} files in {dir}:", files.len());
            for f in files {
                println!("  {}", f.display());
            }
            println!(
                "Next: cd {dir} && cargo run --features dev   (a test identity provider; then open http://127.0.0.1:3000)"
            );
            println!("   or: fill in .env (see .env.example) and cargo run   (your tenant)");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("msal-new: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A path dependency when run from this repository, the published crate otherwise.
fn runtime_dependency() -> String {
    let runtime = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../msal-runtime");
    match runtime.canonicalize() {
        Ok(path) => format!(
            "msal-runtime = {{ path = {:?} }}",
            path.display().to_string()
        ),
        Err(_) => format!("msal-runtime = \"{}\"", env!("CARGO_PKG_VERSION")),
    }
}
