//! The example web API's routes (DESIGN.md's contract): bearer tokens only.
//!
//! | route | protection |
//! | --- | --- |
//! | `GET /health` | none |
//! | `GET /api/hello` | `#[msal_protected]` |
//! | `GET /api/tasks` | `scopes = "Tasks.Read"` |
//! | `POST /api/tasks` | `scopes = "Tasks.Write"` |
//! | `GET /api/admin` | `app_permissions = "Tasks.ReadWrite.All"` |
//! | `DELETE /api/tasks` | `scopes = "Tasks.Write", auth_context = "c1"` |

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use msal_runtime::{User, msal_protected};
use serde::{Deserialize, Serialize};

/// A task.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Task {
    /// What to do.
    pub title: String,
}

/// The tasks, in memory.
#[derive(Clone, Default)]
pub struct Tasks(Arc<Mutex<Vec<Task>>>);

/// The API's routes, with a fresh task list.
pub fn router() -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/hello", get(hello))
        .route("/api/tasks", get(list).post(create).delete(clear))
        .route("/api/admin", get(admin))
        .with_state(Tasks::default())
}

/// Any valid token for this API.
#[msal_protected]
async fn hello(user: Option<User>) -> String {
    match user.and_then(|u| u.name) {
        Some(name) => format!("hello, {name}"),
        None => "hello, app".to_owned(),
    }
}

/// Needs the delegated scope `Tasks.Read`.
#[msal_protected(scopes = "Tasks.Read")]
async fn list(State(tasks): State<Tasks>) -> Json<Vec<Task>> {
    Json(
        tasks
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    )
}

/// Needs the delegated scope `Tasks.Write`.
#[msal_protected(scopes = "Tasks.Write")]
async fn create(State(tasks): State<Tasks>, Json(task): Json<Task>) -> Json<Task> {
    tasks
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(task.clone());
    Json(task)
}

/// Deletes every task: needs `Tasks.Write` and a sign-in that satisfied the Conditional
/// Access authentication context `c1` (`acrs`). Without it, 401 with an `insufficient_claims`
/// challenge the client answers by requesting a token with those claims.
#[msal_protected(scopes = "Tasks.Write", auth_context = "c1")]
async fn clear(State(tasks): State<Tasks>) -> Json<serde_json::Value> {
    let mut tasks = tasks.0.lock().unwrap_or_else(PoisonError::into_inner);
    let deleted = tasks.len();
    tasks.clear();
    Json(serde_json::json!({ "deleted": deleted }))
}

/// Needs an app-only token with the application permission `Tasks.ReadWrite.All`.
#[msal_protected(app_permissions = "Tasks.ReadWrite.All")]
async fn admin(State(tasks): State<Tasks>) -> Json<serde_json::Value> {
    let count = tasks.0.lock().unwrap_or_else(PoisonError::into_inner).len();
    Json(serde_json::json!({ "tasks": count }))
}
