//! The demo web app: sign in, see your claims, try the admin page, sign out.
//!
//! ```text
//! cargo run --example demo        # embedded TestIdp, no Azure needed
//! ```
//!
//! With no `MSAL_CLIENT_ID` set it starts the embedded TestIdp on another loopback port and
//! signs in against it (users `alice@contoso.test`, `bob@contoso.test` with the role
//! `Admin`). With `MSAL_*` set (environment, `.env` or secrets dir) it talks to that
//! provider: Entra ID, B2C, External ID or any OpenID Connect issuer given as
//! `MSAL_AUTHORITY`.
//!
//! Serves on `127.0.0.1:$PORT` (default 5000; `HOST` overrides the address). The routes live
//! in `msal_examples::demo`, where the test suites drive them too: `/admin/audit` asks admins
//! for a sign-in within the last five minutes, and `/files/` serves `examples/files` to any
//! signed-in user.

use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use msal_runtime::{Msal, MsalConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    msal_examples::init_tracing();
    let (listener, base_url) = msal_examples::listen(5000).await?;

    // The embedded provider lives as long as the app.
    // Configured the way `MsalConfig::from_env` reads it: environment, `.env`, secrets dir.
    let configured = MsalConfig::builder()
        .with_env()
        .source_of("MSAL_CLIENT_ID")
        .is_some();
    let (msal, _idp) = if configured {
        (Msal::from_env().await?, None)
    } else {
        let idp = TestIdp::start().await?;
        println!("No MSAL_CLIENT_ID set: using the embedded TestIdp.");
        println!("  authority  {}", idp.authority());
        for user in idp.users() {
            println!(
                "  user       {} ({}) roles={:?}",
                user.preferred_username, user.name, user.roles
            );
        }
        let config = MsalConfig::builder()
            .client_id(DEFAULT_CLIENT_ID)
            .client_secret(DEFAULT_CLIENT_SECRET)
            .instance(idp.base_url())
            .tenant_id(idp.tenant().id)
            .public_url(&base_url)
            .graph_url(idp.graph_base_url())
            .with_env()
            .build()?;
        (Msal::new(config).await?, Some(idp))
    };

    let app = msal_examples::demo::router(&msal)
        .merge(msal_examples::demo::docs(&msal))
        .merge(msal.routes())
        .layer(msal.layer());
    println!(
        "Demo on {base_url}  (open it, or: curl -L -c jar -b jar \"{base_url}/auth/login?login_hint=alice@contoso.test&next=/me\")"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
