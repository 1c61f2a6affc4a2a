//! The demo web app: sign in, see your claims, sign out.
//!
//! ```text
//! cargo run --example demo        # embedded TestIdp, no Azure needed
//! ```
//!
//! With no `MSAL_CLIENT_ID` set it starts the embedded TestIdp on another loopback port and
//! signs in against it (users `alice@contoso.test`, `bob@contoso.test`). With `MSAL_*` set
//! (environment, `.env` or secrets dir) it talks to that provider: Entra ID, B2C, External ID
//! or any OpenID Connect issuer given as `MSAL_AUTHORITY`.
//!
//! Serves on `127.0.0.1:$PORT` (default 5000; `HOST` overrides the address).

use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
use msal_runtime::{CsrfToken, Msal, MsalConfig, User};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,msal_runtime=debug".into()),
        )
        .init();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|e| format!("PORT must be a port number, got {p:?}: {e}"))?,
        Err(_) => 5000,
    };
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot listen on {host}:{port}: {e} (set PORT or HOST)"))?;
    let base_url = format!("http://{}", listener.local_addr()?);

    // Keep the embedded provider alive as long as the app.
    let (msal, _idp) = if std::env::var_os("MSAL_CLIENT_ID").is_some() {
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
            .with_env()
            .build()?;
        (Msal::new(config).await?, Some(idp))
    };

    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/", get(home))
        .route("/me", get(me))
        .merge(msal.routes())
        .layer(msal.layer());
    println!(
        "Demo on {base_url}  (try {base_url}/auth/login?login_hint=alice@contoso.test&next=/me)"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The home page: who is signed in, or a way to sign in.
async fn home(user: Option<User>, csrf: Option<CsrfToken>) -> Html<String> {
    let body = match (user, csrf) {
        (Some(user), Some(csrf)) => format!(
            "<p>Signed in as <strong>{}</strong>.</p>\
             <p><a href=\"/me\">Your claims</a></p>\
             <form method=\"post\" action=\"/auth/logout\">{}<button>Sign out</button></form>",
            escape(user.name.as_deref().unwrap_or("(no name)")),
            csrf.hidden_input()
        ),
        _ => "<p>Not signed in.</p>\
              <p><a href=\"/auth/login?next=/me\">Sign in</a> · \
              <a href=\"/auth/login?login_hint=alice@contoso.test&amp;next=/me\">as Alice</a> · \
              <a href=\"/auth/login?login_hint=bob@contoso.test&amp;next=/me\">as Bob</a></p>"
            .to_owned(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>msal-axum demo</title></head>\
         <body><h1>msal-axum demo</h1>{body}</body></html>"
    ))
}

/// The signed-in user's claims; a browser that is not signed in is sent to sign in.
async fn me(user: User) -> Json<User> {
    Json(user)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
