//! The demo web app's routes (DESIGN.md's contract): `/health`, `/`, `/me`, `/admin`,
//! `/admin/keys`, `/graph/me`.

use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use msal_runtime::{AuthRejection, SignOutCsrf, Tokens, User, msal_protected};

/// The demo's API description; `msal.swagger_ui(DemoDoc::openapi(), …)` adds the sign-in scheme
/// and each protected route's lock from its `#[msal_protected]`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "msal-axum demo",
        description = "Sign in with Authorize, then try the protected routes."
    ),
    paths(health, me, admin, admin_keys, graph_me)
)]
pub struct DemoDoc;

/// Swagger UI at `/docs` and the document at `/openapi.json`.
pub fn docs(msal: &msal_runtime::Msal) -> Router {
    use utoipa::OpenApi as _;
    msal.swagger_ui(DemoDoc::openapi(), module_path!())
}

/// The demo's own routes; merge `msal.routes()` and `docs(&msal)`, and apply `msal.layer()`.
pub fn router() -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/", get(home))
        .route("/me", get(me))
        .route("/profile", get(profile))
        .route("/admin", get(admin))
        .route("/admin/keys", get(admin_keys))
        .route("/graph/me", get(graph_me))
}

/// The home page: who is signed in, or a way to sign in.
async fn home(user: Option<User>, csrf: Option<SignOutCsrf>) -> Html<String> {
    let body = match (user, csrf) {
        (Some(user), Some(csrf)) => format!(
            "<p>Signed in as <strong>{}</strong>.</p>\
             <p><a href=\"/profile\">Your profile</a> · <a href=\"/me\">Claims as JSON</a> · <a href=\"/admin\">Admin page</a> · <a href=\"/graph/me\">Graph /me</a> · <a href=\"/docs/\">API docs</a></p>\
             <form method=\"post\" action=\"/auth/logout\">{}<button>Sign out</button></form>",
            escape(user.name.as_deref().unwrap_or("(no name)")),
            csrf.hidden_input()
        ),
        _ => "<p>Not signed in.</p>\
              <p><a href=\"/auth/login?next=/\">Sign in</a> · \
              <a href=\"/auth/login?login_hint=alice@contoso.test&amp;next=/\">as Alice</a> · \
              <a href=\"/auth/login?login_hint=bob@contoso.test&amp;next=/\">as Bob</a></p>"
            .to_owned(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>msal-axum demo</title></head>\
         <body><h1>msal-axum demo</h1>{body}</body></html>"
    ))
}

/// The signed-in user's claims as a table.
#[msal_protected]
async fn profile(user: User) -> Html<String> {
    let rows: String = user
        .claims()
        .iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name),
                escape(&value)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Profile</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto}}th{{text-align:left;padding-right:1rem}}</style></head>\
         <body><h1>{}</h1><table>{rows}</table><p><a href=\"/\">Home</a></p></body></html>",
        escape(user.name.as_deref().unwrap_or("Profile"))
    ))
}

/// Liveness.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "ok")))]
async fn health() -> &'static str {
    "ok"
}

/// The signed-in user: the user-facing fields (`/profile` shows every claim).
#[utoipa::path(get, path = "/me", responses((status = 200, description = "The signed-in user")))]
#[msal_protected]
async fn me(user: User) -> Json<User> {
    Json(user)
}

/// Only for holders of the app role `Admin` (Bob, on the embedded TestIdp).
#[utoipa::path(get, path = "/admin", responses((status = 200, description = "A greeting")))]
#[msal_protected(roles = "Admin")]
async fn admin(user: User) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "greeting": format!("welcome, {}", user.name.unwrap_or_default()),
        "roles": user.roles,
    }))
}

/// For admins who signed in satisfying the Conditional Access authentication context `c1`:
/// without it, the browser signs in again asking for it (`claims` with `acrs`).
#[utoipa::path(get, path = "/admin/keys", responses((status = 200, description = "The key inventory")))]
#[msal_protected(roles = "Admin", auth_context = "c1")]
async fn admin_keys(user: User) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "keys": ["signing-2026", "backup-2025"],
        "viewer": user.name.unwrap_or_default(),
    }))
}

/// The signed-in user's profile from Microsoft Graph, called with their token. The first
/// visit asks for consent to `User.Read` (incremental consent).
#[utoipa::path(get, path = "/graph/me", responses((status = 200, description = "The caller's Graph profile")))]
#[msal_protected(scopes = "User.Read")]
async fn graph_me(tokens: Tokens) -> Result<Json<serde_json::Value>, AuthRejection> {
    Ok(Json(tokens.graph(&["User.Read"]).get("/me").await?))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
