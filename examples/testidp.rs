//! Runs the embedded test identity provider on its own, for poking at it with curl or a
//! browser, or for pointing another app at it.
//!
//! ```text
//! cargo run --example testidp            # port from $PORT, default 5100
//! curl "$AUTHORITY/v2.0/.well-known/openid-configuration"
//! ```

use std::net::SocketAddr;

use msal_runtime::testing::{DEFAULT_CLIENT_SECRET, TestIdp};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|e| format!("PORT must be a port number, got {p:?}: {e}"))?,
        Err(_) => 5100,
    };
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|e| format!("HOST:PORT is not a socket address ({host}:{port}): {e}"))?;
    let idp = TestIdp::builder().bind(addr).start().await?;
    let client = idp.client();
    println!("TestIdp listening on {}", idp.base_url());
    println!("  authority     {}", idp.authority());
    println!("  issuer        {}", idp.issuer());
    println!("  discovery     {}", idp.discovery_url());
    println!("  client id     {}", client.client_id);
    println!("  client secret {DEFAULT_CLIENT_SECRET} (test only)");
    println!("  redirect URIs {}", client.redirect_uris.join(", "));
    for user in idp.users() {
        println!(
            "  user          {} ({}) roles={:?}",
            user.preferred_username, user.name, user.roles
        );
    }
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await?;
    idp.shutdown().await;
    Ok(())
}
