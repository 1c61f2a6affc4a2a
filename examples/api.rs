//! The example web API: bearer tokens only (no sessions, no client secret needed).
//!
//! ```text
//! cargo run --example api         # embedded TestIdp, no Azure needed
//! ```
//!
//! With no `MSAL_CLIENT_ID` set it starts the embedded TestIdp and prints how to get tokens
//! from it; otherwise it is configured by `MSAL_AUTHORITY` or `MSAL_TENANT_ID`,
//! `MSAL_CLIENT_ID` and optionally `MSAL_AUDIENCE` (default: the client id and
//! `api://<client id>`). Serves on `127.0.0.1:$PORT` (default 5001; `HOST` overrides).

use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use msal_runtime::{Msal, MsalConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    msal_examples::init_tracing();
    let (listener, base_url) = msal_examples::listen(5001).await?;

    let (msal, _idp) = if MsalConfig::builder()
        .with_env()
        .source_of("MSAL_CLIENT_ID")
        .is_some()
    {
        (Msal::api(MsalConfig::from_env()?).await?, None)
    } else {
        let idp = TestIdp::start().await?;
        let config = MsalConfig::builder()
            .client_id(DEFAULT_CLIENT_ID)
            .instance(idp.base_url())
            .tenant_id(idp.tenant().id)
            .with_env()
            .build()?;
        println!(
            "No MSAL_CLIENT_ID set: using the embedded TestIdp at {}",
            idp.authority()
        );
        println!("An app-only token (client credentials) and a call with it:");
        println!(
            "  TOKEN=$(curl -s -d grant_type=client_credentials -d client_id={DEFAULT_CLIENT_ID} \
             -d client_secret={DEFAULT_CLIENT_SECRET} -d scope=api://{DEFAULT_CLIENT_ID}/.default \
             {} | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
            idp.token_endpoint()
        );
        println!("  curl -H \"Authorization: Bearer $TOKEN\" {base_url}/api/admin");
        (Msal::api(config).await?, Some(idp))
    };

    let app = msal_examples::api::router().layer(msal.layer());
    println!("API on {base_url}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
