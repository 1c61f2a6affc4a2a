//! The demo web app's routes (DESIGN.md's contract): `/health`, `/`, `/me`, `/profile`,
//! `/admin`, `/admin/keys`, `/admin/audit`, `/graph/me`, and the static files under `/files`.
//!
//! - `GET /admin/audit` is `#[msal_protected(roles = "Admin", max_age = "5m")]`: admins who
//!   signed in within the last five minutes. An older sign-in is asked to authenticate again
//!   (RFC 9470 step-up): a browser goes through sign-in with `max_age`, an API caller gets
//!   401 `insufficient_user_authentication`.
//! - `GET /files/…` serves [`FILES`] with `tower_http::services::ServeDir` behind
//!   `msal.require(msal_rule!())`: any signed-in user (or valid bearer token). A browser that
//!   is not signed in is sent to `/auth/login?next=/files/…`; an API call gets 401 with
//!   `WWW-Authenticate: Bearer`. Both are in the OpenAPI document ([`docs`]).

use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use msal_runtime::{
    AuthRejection, Msal, RequireLayer, SignOutCsrf, Tokens, User, msal_protected, msal_rule,
};
use tower_http::services::ServeDir;

/// The directory served under `/files`: `examples/files`, found from any working directory.
pub const FILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/files");

/// The demo's API description; [`docs`] adds the sign-in scheme, each protected route's lock
/// from its `#[msal_protected]`, and the lock of `/files` from its layer.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "msal-axum demo",
        description = "Sign in with Authorize, then try the protected routes."
    ),
    paths(health, me, admin, admin_keys, admin_audit, graph_me, file)
)]
pub struct DemoDoc;

/// What `/files` requires: any signed-in user.
fn files_requirement(msal: &Msal) -> RequireLayer {
    msal.require(msal_rule!())
}

/// Swagger UI at `/docs` and the document at `/openapi.json`.
pub fn docs(msal: &Msal) -> Router {
    use utoipa::OpenApi as _;
    let mut doc = DemoDoc::openapi();
    msal.document_required(&mut doc, "/files", &files_requirement(msal));
    msal.swagger_ui(doc, module_path!())
}

/// The demo's own routes; merge `msal.routes()` and [`docs`], and apply `msal.layer()`.
///
/// ```no_run
/// # async fn run(msal: msal_runtime::Msal) {
/// let app = msal_examples::demo::router(&msal)
///     .merge(msal_examples::demo::docs(&msal))
///     .merge(msal.routes())
///     .layer(msal.layer());
/// # let _: axum::Router = app;
/// # }
/// ```
pub fn router(msal: &Msal) -> Router {
    let files = Router::new()
        .nest_service("/files", ServeDir::new(FILES))
        .route_layer(files_requirement(msal));
    Router::new()
        .route("/health", get(health))
        .route("/", get(home))
        .route("/me", get(me))
        .route("/profile", get(profile))
        .route("/admin", get(admin))
        .route("/admin/keys", get(admin_keys))
        .route("/admin/audit", get(admin_audit))
        .route("/graph/me", get(graph_me))
        .merge(files)
}

/// The home page: who is signed in, or a way to sign in.
async fn home(user: Option<User>, csrf: Option<SignOutCsrf>) -> Html<String> {
    let body = match (user, csrf) {
        (Some(user), Some(csrf)) => format!(
            "<p>Signed in as <strong>{}</strong>.</p>\
             <p><a href=\"/profile\">Your profile</a> · <a href=\"/me\">Claims as JSON</a> · <a href=\"/admin\">Admin page</a> · <a href=\"/admin/audit\">Audit log</a> · <a href=\"/graph/me\">Graph /me</a> · <a href=\"/files/\">Files</a> · <a href=\"/docs/\">API docs</a></p>\
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

/// For admins who signed in within the last five minutes: an older sign-in is asked to
/// authenticate again (a browser signs in with `max_age`, an API caller hears
/// `insufficient_user_authentication`).
#[utoipa::path(get, path = "/admin/audit", responses((status = 200, description = "The recent audit log")))]
#[msal_protected(roles = "Admin", max_age = "5m")]
async fn admin_audit(user: User) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "events": [
            { "action": "key.rotated", "key": "signing-2026" },
            { "action": "role.assigned", "role": "Admin" },
        ],
        "viewer": user.name.unwrap_or_default(),
    }))
}

/// A file of [`FILES`], for any signed-in user (`msal.require(msal_rule!())` around
/// `ServeDir`); `/files/` is its index page. Documented here, served by `ServeDir`.
#[utoipa::path(
    get,
    path = "/files/{path}",
    params(("path" = String, Path, description = "The file's path under the directory, such as `hello.txt`")),
    responses((status = 200, description = "The file"), (status = 404, description = "No such file"))
)]
#[allow(dead_code, reason = "documents what ServeDir serves; never routed")]
fn file() {}

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
