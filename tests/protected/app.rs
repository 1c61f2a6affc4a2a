//! The protected app under test: one handler per DSL form, and one per handler shape.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use msal_runtime::{AuthRejection, User, msal_protected};

/// How many protected bodies ran, per route: a denied request must leave it untouched.
pub static RAN: std::sync::LazyLock<std::sync::Mutex<HashMap<&'static str, usize>>> =
    std::sync::LazyLock::new(Default::default);

pub fn ran(route: &'static str) {
    *RAN.lock().unwrap().entry(route).or_default() += 1;
}

pub fn runs(route: &str) -> usize {
    RAN.lock().unwrap().get(route).copied().unwrap_or(0)
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

#[msal_protected]
async fn signed_in(user: User) -> String {
    ran("signed_in");
    user.name.unwrap_or_default()
}

#[msal_protected(roles = "Admin")]
async fn admin() -> &'static str {
    ran("admin");
    "welcome, admin"
}

#[msal_protected(scopes = "User.Read")]
async fn graph() -> &'static str {
    ran("graph");
    "graph ok"
}

#[msal_protected(scopes = ["Mail.Read", "Mail.Send"])]
async fn mail() -> &'static str {
    ran("mail");
    "mail ok"
}

#[msal_protected(groups = "00000000-0000-4000-8000-0000000000ad")]
async fn group() -> &'static str {
    ran("group");
    "group ok"
}

#[msal_protected(tenants = "0ddba11a-0000-4000-8000-000000000001")]
async fn fabrikam_only() -> &'static str {
    ran("fabrikam_only");
    "fabrikam ok"
}

#[msal_protected(app_permissions = "Tasks.ReadWrite.All")]
async fn app_only() -> &'static str {
    ran("app_only");
    "app ok"
}

#[msal_protected(any(roles = "Admin", tenants = "0ddba11a-0000-4000-8000-000000000001"))]
async fn admin_or_fabrikam() -> &'static str {
    ran("admin_or_fabrikam");
    "either ok"
}

#[msal_protected(not(roles = "Admin"))]
async fn not_admin() -> &'static str {
    ran("not_admin");
    "not admin ok"
}

#[msal_protected(
    all(roles = "Admin", groups = "00000000-0000-4000-8000-0000000000ad"),
    tenants = "c0ffee00-0000-4000-8000-00000000c0de"
)]
async fn admin_in_group_at_contoso() -> &'static str {
    ran("admin_in_group_at_contoso");
    "all ok"
}

fn teapot(rejection: AuthRejection) -> (StatusCode, String) {
    (
        StatusCode::IM_A_TEAPOT,
        format!("custom: {}", rejection.error()),
    )
}

#[msal_protected(roles = "Admin", on_denied = teapot)]
async fn custom_denied() -> &'static str {
    ran("custom_denied");
    "custom ok"
}

// Handler shapes.

#[derive(Clone)]
pub struct AppState {
    pub greeting: &'static str,
}

#[msal_protected]
async fn with_state(State(state): State<AppState>) -> &'static str {
    ran("with_state");
    state.greeting
}

#[msal_protected(roles = "Admin")]
async fn with_path_and_query(
    Path(id): Path<u32>,
    Query(q): Query<HashMap<String, String>>,
) -> String {
    ran("with_path_and_query");
    format!("{id}:{}", q.get("x").cloned().unwrap_or_default())
}

#[derive(serde::Deserialize, serde::Serialize)]
pub struct Task {
    pub title: String,
}

#[msal_protected(roles = "Admin")]
async fn json_body(user: User, Json(task): Json<Task>) -> Json<Task> {
    ran("json_body");
    let _ = user;
    Json(task)
}

#[msal_protected]
async fn fallible(
    Query(q): Query<HashMap<String, String>>,
) -> Result<&'static str, (StatusCode, &'static str)> {
    ran("fallible");
    if q.contains_key("fail") {
        Err((StatusCode::BAD_REQUEST, "asked to fail"))
    } else {
        Ok("fine")
    }
}

#[msal_protected]
async fn generic<T: Default + ToString + Send + 'static>() -> String {
    ran("generic");
    T::default().to_string()
}

mod nested {
    pub mod deeper {
        use msal_runtime::msal_protected;

        #[msal_protected(roles = "Admin")]
        pub async fn handler() -> impl axum::response::IntoResponse {
            super::super::ran("nested");
            "nested ok"
        }
    }
}

pub struct Handlers;

impl Handlers {
    #[msal_protected(roles = "Admin")]
    async fn associated() -> &'static str {
        ran("associated");
        "associated ok"
    }
}

#[tracing::instrument(skip_all)]
#[msal_protected(roles = "Admin")]
async fn macro_before() -> &'static str {
    ran("macro_before");
    "before ok"
}

#[msal_protected(roles = "Admin")]
#[axum::debug_handler]
async fn macro_after() -> &'static str {
    ran("macro_after");
    COUNTER.fetch_add(1, Ordering::Relaxed);
    "after ok"
}

/// The app's routes.
pub fn routes() -> Router {
    Router::new()
        .route("/signed-in", get(signed_in))
        .route("/admin", get(admin))
        .route("/graph", get(graph))
        .route("/mail", get(mail))
        .route("/group", get(group))
        .route("/fabrikam-only", get(fabrikam_only))
        .route("/app-only", get(app_only))
        .route("/admin-or-fabrikam", get(admin_or_fabrikam))
        .route("/not-admin", get(not_admin))
        .route("/admin-in-group-at-contoso", get(admin_in_group_at_contoso))
        .route("/custom-denied", get(custom_denied))
        .route("/with-state", get(with_state))
        .route("/items/{id}", get(with_path_and_query))
        .route("/tasks", post(json_body))
        .route("/fallible", get(fallible))
        .route("/generic", get(generic::<u8>))
        .route("/nested", get(nested::deeper::handler))
        .route("/associated", get(Handlers::associated))
        .route("/macro-before", get(macro_before))
        .route("/macro-after", get(macro_after))
        .with_state(AppState {
            greeting: "hello from state",
        })
}
