//! The files `msal-new` writes: a small app with a public route, a signed-in route and a
//! role-protected route. It signs in against the provider its configuration names
//! (environment, `.env`, secrets directory, as `MsalConfig::from_env` reads them); the
//! embedded test provider, which lets anyone sign in as anyone, runs only when asked for
//! (`cargo run --features dev`, or `MSAL_USE_TEST_IDP=1` in a dev build), and says so.

use std::path::{Path, PathBuf};

/// Writes a new app into `dir` (created if missing; refused if not empty). `dependency` is
/// the `msal-runtime = …` line of its `Cargo.toml`. Returns the files written.
pub fn create(dir: &Path, dependency: &str) -> Result<Vec<PathBuf>, String> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).map_err(|e| format!("{} cannot be read: {e}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} is not empty: choose a new directory, nothing was written",
                dir.display()
            ));
        }
    }
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(package_name)
        .unwrap_or_else(|| "msal-app".into());
    let files: [(&str, String); 5] = [
        ("Cargo.toml", cargo_toml(&name, dependency)),
        ("src/main.rs", MAIN_RS.to_owned()),
        (".env.example", ENV_EXAMPLE.to_owned()),
        (".gitignore", "/target\n.env\n".to_owned()),
        ("README.md", README.replace("{name}", &name)),
    ];
    let mut written = Vec::new();
    for (path, content) in files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("{} cannot be created: {e}", parent.display()))?;
        }
        std::fs::write(&full, content)
            .map_err(|e| format!("{} cannot be written: {e}", full.display()))?;
        written.push(PathBuf::from(path));
    }
    Ok(written)
}

/// A valid package name from a directory name.
fn package_name(dir: &str) -> String {
    let name: String = dir
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("app-{name}")
    } else {
        name
    }
}

fn cargo_toml(name: &str, dependency: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
{dependency}
axum = "0.8"
tokio = {{ version = "1", features = ["macros", "rt-multi-thread", "signal"] }}

[features]
# The embedded test identity provider: `cargo run --features dev`. Anyone can sign in as
# anyone there, without a password: never build a deployed app with it.
dev = ["msal-runtime/testing"]
"#
    )
}

const MAIN_RS: &str = r#"//! An axum app with Microsoft identity platform sign-in (msal-axum).
//!
//! `cargo run` signs in against the provider the MSAL_* variables name (environment, `.env`,
//! or the secrets directory; see .env.example). `cargo run --features dev` with none of them
//! set runs an embedded test identity provider instead (users alice@contoso.test and
//! bob@contoso.test, Bob holds the role Admin), where anyone can sign in as anyone.

use axum::routing::get;
use axum::{Json, Router};
use msal_runtime::{Msal, MsalConfig, User, msal_protected};

/// Anyone.
async fn home(user: Option<User>) -> String {
    match user.and_then(|u| u.name) {
        Some(name) => format!("Hello, {name}. Try /me and /admin."),
        None => "Hello! Sign in at /auth/login?next=/me".to_owned(),
    }
}

/// Any signed-in user.
#[msal_protected]
async fn me(user: User) -> Json<User> {
    Json(user)
}

/// Holders of the app role Admin.
#[msal_protected(roles = "Admin")]
async fn admin() -> &'static str {
    "welcome, admin"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 3000,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let (msal, _test_idp) = if test_idp::wanted()? {
        test_idp::start(&base_url).await?
    } else {
        (Msal::from_env().await?, None)
    };
    let app = Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route("/admin", get(admin))
        .merge(msal.routes())
        .layer(msal.layer());
    println!("Listening on {base_url}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Whether to sign in against the embedded test provider: only when asked for, never when
/// the app is configured for a real one, and never in a release build unless asked for by
/// `MSAL_USE_TEST_IDP=1`. Asked for while a real one is configured, it refuses to guess.
fn asked_for_test_idp(dev_feature: bool) -> Result<bool, String> {
    let forced = std::env::var("MSAL_USE_TEST_IDP").is_ok_and(|v| v == "1");
    // The same sources as `MsalConfig::from_env`: the environment, `.env`, the secrets dir.
    let configured = MsalConfig::builder()
        .with_env()
        .source_of("MSAL_CLIENT_ID")
        .is_some();
    if forced && configured {
        return Err(
            "MSAL_USE_TEST_IDP=1 asks for the test provider while MSAL_CLIENT_ID is set for a real one (in the environment, .env or the secrets dir; a blank value counts): unset one of them".into(),
        );
    }
    Ok(forced || (dev_feature && cfg!(debug_assertions) && !configured))
}

#[cfg(feature = "dev")]
mod test_idp {
    use msal_runtime::testing::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestIdp};
    use msal_runtime::{Msal, MsalConfig};

    pub fn wanted() -> Result<bool, String> {
        super::asked_for_test_idp(true)
    }

    pub async fn start(
        base_url: &str,
    ) -> Result<(Msal, Option<TestIdp>), Box<dyn std::error::Error>> {
        let idp = TestIdp::start().await?;
        eprintln!("!!! TEST IDENTITY PROVIDER at {} !!!", idp.authority());
        eprintln!("!!! Anyone can sign in here as any user, Bob (Admin) included, without a password.");
        eprintln!("!!! Never expose this app. Set MSAL_CLIENT_ID (see .env.example) for a real tenant.");
        let config = MsalConfig::builder()
            .client_id(DEFAULT_CLIENT_ID)
            .client_secret(DEFAULT_CLIENT_SECRET)
            .instance(idp.base_url())
            .tenant_id(idp.tenant().id)
            .public_url(base_url)
            .graph_url(idp.graph_base_url())
            .build()?;
        Ok((Msal::new(config).await?, Some(idp)))
    }
}

#[cfg(not(feature = "dev"))]
mod test_idp {
    use msal_runtime::Msal;

    pub fn wanted() -> Result<bool, String> {
        super::asked_for_test_idp(false)
    }

    pub async fn start(_: &str) -> Result<(Msal, Option<()>), Box<dyn std::error::Error>> {
        Err("MSAL_USE_TEST_IDP=1 needs the embedded test provider: run `cargo run --features dev`".into())
    }
}
"#;

const ENV_EXAMPLE: &str = r#"# Copy to .env and fill in: the app signs in with the tenant these name.
# Precedence: code > environment > .env > secrets dir (/run/secrets/msal_client_secret, ...).

# The Application (client) ID of your app registration (required). While it is unset, a
# `cargo run --features dev` build uses the embedded test provider; MSAL_USE_TEST_IDP=1 (in
# the environment) forces that in a dev build even when it is set.
# MSAL_CLIENT_ID=00000000-0000-0000-0000-000000000000
# A client secret of the registration (or MSAL_CLIENT_CERTIFICATE, a PEM with cert and key).
# MSAL_CLIENT_SECRET=
# MSAL_CLIENT_CERTIFICATE=/run/secrets/msal-client.pem
# Your tenant: its id (GUID), a verified domain, or common / organizations / consumers.
# MSAL_TENANT_ID=contoso.onmicrosoft.com
# The cloud instance (sovereign clouds), or the B2C host with MSAL_B2C_POLICY.
# MSAL_INSTANCE=https://login.microsoftonline.com
# Or instead of instance + tenant: a full authority or any OpenID Connect issuer.
# MSAL_AUTHORITY=https://contoso.ciamlogin.com/
# MSAL_B2C_POLICY=B2C_1_signupsignin
# The app's public base URL (behind a proxy); the redirect URI is {public url}/auth/callback.
# MSAL_PUBLIC_URL=https://app.contoso.com
# MSAL_REDIRECT_URI=https://app.contoso.com/auth/callback
# MSAL_POST_LOGOUT_REDIRECT_URI=https://app.contoso.com/
# Extra sign-in scopes, e.g. for Microsoft Graph.
# MSAL_SCOPES=User.Read
# Only these tenants may sign in (tenant ids, comma separated).
# MSAL_ALLOWED_TENANTS=
# Sessions: memory, or Redis to share them between instances: redis://host:6379,
# rediss://:<access key>@<name>.redis.cache.windows.net:6380 (TLS), redis-cluster://host:port?node=host:port.
# MSAL_SESSION_STORE=memory
# A TLS Redis signed by a private CA: that CA's PEM file (then the only CA trusted).
# MSAL_REDIS_CA_FILE=
# With Redis, seal the tokens in each session (openssl rand -base64 32).
# MSAL_SESSION_KEY=
# MSAL_SESSION_OLD_KEYS=
# MSAL_SESSION_LIFETIME=8h
# MSAL_COOKIE_NAME=msal_session
# MSAL_ROUTE_PREFIX=/auth
# MSAL_RESPONSE_MODE=query
# MSAL_TOKEN_AUTH_METHOD=client_secret_post
# MSAL_CLOCK_SKEW=5m
# MSAL_JWKS_COOLDOWN=5m
# Bearer tokens for this app's API: accepted audiences (default: client id and api://client id).
# MSAL_AUDIENCE=
# MSAL_ACCEPT_UNSCOPED_TOKENS=false
# MSAL_GRAPH_URL=https://graph.microsoft.com/v1.0
# MSAL_SECRETS_DIR=/run/secrets
"#;

const README: &str = r#"# {name}

An axum app with Microsoft identity platform sign-in, made with msal-axum's `msal-new`.

```sh
cargo run --features dev   # http://127.0.0.1:3000, against an embedded test identity provider
cargo run                  # against the tenant your MSAL_* settings (.env) name
```

Routes: `/` (anyone), `/me` (any signed-in user), `/admin` (app role `Admin`), and the sign-in
routes under `/auth`. `PORT` changes the port.

With `--features dev` and no `MSAL_CLIENT_ID` configured, the app starts an embedded test
identity provider and says so loudly: sign in as `alice@contoso.test` or as
`bob@contoso.test` (who holds `Admin`):
`http://127.0.0.1:3000/auth/login?login_hint=bob@contoso.test&next=/admin`. Anyone who can
reach the app can do the same without a password, so never deploy a build with `dev`. As soon
as `MSAL_CLIENT_ID` is set (environment, `.env` or the secrets directory), the real provider is
used; `MSAL_USE_TEST_IDP=1` forces the test provider (in a `dev` build only).

## Using your Entra ID tenant

1. In the Azure portal: **Microsoft Entra ID → App registrations → New registration**. Name it,
   choose who may sign in, and add a **Web** redirect URI `http://localhost:3000/auth/callback`
   (in production: `https://<your app>/auth/callback`). Note the **Application (client) ID** and
   the **Directory (tenant) ID**.
2. **Certificates & secrets → New client secret** (or upload a certificate). Keep the value.
3. **Authentication**: set the front-channel logout URL to `https://<your app>/auth/signout-oidc`.
4. **App roles → Create app role** `Admin` (allowed for users), then assign it to people under
   **Enterprise applications → <your app> → Users and groups**.
5. For an API: **Expose an API → Add a scope** (e.g. `access_as_user`).
6. Copy `.env.example` to `.env` and set at least `MSAL_CLIENT_ID`, `MSAL_CLIENT_SECRET` and
   `MSAL_TENANT_ID`, then `cargo run`.
"#;

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn package_names_are_valid() {
        assert_eq!(package_name("myapp"), "myapp");
        assert_eq!(package_name("My App!"), "my-app");
        assert_eq!(package_name("3d"), "app-3d");
    }
}
