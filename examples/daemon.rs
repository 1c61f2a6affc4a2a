//! A daemon: no web server, no user, only the app's own tokens (client credentials).
//!
//! ```text
//! cargo run --example daemon      # embedded TestIdp, no Azure needed
//! ```
//!
//! With `MSAL_CLIENT_ID` set it uses `MSAL_CLIENT_SECRET` (or `MSAL_CLIENT_CERTIFICATE`) and
//! `MSAL_TENANT_ID` (a tenant id: app tokens need a tenant), and asks for `MSAL_DAEMON_SCOPE`
//! (default `https://graph.microsoft.com/.default`). It never prints a token.

use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use msal_runtime::{Msal, MsalConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (msal, scope, _idp) = if MsalConfig::builder()
        .with_env()
        .source_of("MSAL_CLIENT_ID")
        .is_some()
    {
        let scope = std::env::var("MSAL_DAEMON_SCOPE")
            .unwrap_or_else(|_| "https://graph.microsoft.com/.default".into());
        (Msal::api(MsalConfig::from_env()?).await?, scope, None)
    } else {
        let idp = TestIdp::start().await?;
        println!(
            "No MSAL_CLIENT_ID set: using the embedded TestIdp at {}",
            idp.authority()
        );
        let config = MsalConfig::builder()
            .client_id(DEFAULT_CLIENT_ID)
            .client_secret(DEFAULT_CLIENT_SECRET)
            .instance(idp.base_url())
            .tenant_id(idp.tenant().id)
            .build()?;
        let scope = format!("api://{DEFAULT_CLIENT_ID}/.default");
        (Msal::api(config).await?, scope, Some(idp))
    };
    let first = msal.app_token(&[&scope]).await?;
    println!(
        "Got an app token for {scope} (expires at {}, {} characters).",
        first.expires_at(),
        first.secret().len()
    );
    let second = msal.app_token(&[&scope]).await?;
    println!(
        "Asked again: {} (cached until five minutes before it expires).",
        if second.secret() == first.secret() {
            "the same token"
        } else {
            "a new token"
        }
    );
    Ok(())
}
