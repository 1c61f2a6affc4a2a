//! The examples' routes, as a library so the test suites can drive exactly what
//! `cargo run --example …` serves.
#![deny(missing_docs)]

pub mod api;
pub mod demo;
pub mod scaffold;

/// The README's Rust snippets, compiled as this crate's doc tests so they cannot drift from
/// the API (the testing section is also run, pasted into a generated app, by the product
/// tests).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;

/// Logs to stderr (`RUST_LOG` overrides the default `info,msal_runtime=debug`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,msal_runtime=debug".into()),
        )
        .init();
}

/// Listens on `$HOST:$PORT` (defaults `127.0.0.1` and `default_port`); returns the listener
/// and its `http://` base URL, or an error naming the variable to fix.
pub async fn listen(default_port: u16) -> Result<(tokio::net::TcpListener, String), String> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|e| format!("PORT must be a port number, got {p:?}: {e}"))?,
        Err(_) => default_port,
    };
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot listen on {host}:{port}: {e} (set PORT or HOST)"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    Ok((listener, format!("http://{addr}")))
}
