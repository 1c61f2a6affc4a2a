//! Every handler shape keeps working under the attribute.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use msal_runtime::{User, msal_protected};

#[derive(Clone)]
struct AppState;

#[msal_protected(roles = "Admin")]
async fn state(State(_): State<AppState>, Path(_id): Path<u32>, Query(_q): Query<HashMap<String, String>>) -> impl IntoResponse {
    "ok"
}

#[msal_protected]
async fn json_last(user: User, Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    let _ = user;
    Json(body)
}

#[msal_protected]
async fn fallible() -> Result<String, (StatusCode, String)> {
    Ok("fine".into())
}

#[msal_protected]
async fn generic<T>() -> String
where
    T: Default + ToString + Send + 'static,
{
    T::default().to_string()
}

mod nested {
    pub mod deeper {
        /// Doc comments and other attributes stay.
        #[allow(clippy::unused_async)]
        #[msal_runtime::msal_protected(roles = "Admin")]
        pub(crate) async fn handler() -> &'static str {
            "nested"
        }
    }
}

struct Handlers;

impl Handlers {
    #[msal_protected(roles = "Admin")]
    async fn associated(State(_): State<AppState>) -> &'static str {
        "associated"
    }
}

#[tracing::instrument(skip_all)]
#[msal_protected(scopes = "User.Read")]
async fn macro_before() -> &'static str {
    "before"
}

#[msal_protected(scopes = "User.Read")]
#[axum::debug_handler]
async fn macro_after(user: User) -> String {
    user.sub
}

fn main() {
    let _: Router = Router::new()
        .route("/state/{id}", get(state))
        .route("/json", post(json_last))
        .route("/fallible", get(fallible))
        .route("/generic", get(generic::<u8>))
        .route("/nested", get(nested::deeper::handler))
        .route("/associated", get(Handlers::associated))
        .route("/before", get(macro_before))
        .route("/after", get(macro_after))
        .with_state(AppState);
}
