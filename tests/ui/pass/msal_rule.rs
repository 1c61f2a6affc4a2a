//! `msal_rule!` for `Msal::require`: every form, the empty one, a custom refusal, a renamed
//! crate, several in one function, and in a `const`.
extern crate msal_runtime as my_msal;

use axum::Router;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use msal_runtime::{AuthRejection, CheckError, Msal, Protection, User, msal_rule};

async fn owns(_: &User, _: &mut Parts) -> Result<bool, CheckError> {
    Ok(true)
}

fn denied(_: AuthRejection) -> StatusCode {
    StatusCode::NOT_FOUND
}

const ADMINS: Protection = msal_rule!(roles = "Admin", max_age = "1h");

/// Builds routers; never run here (no `Msal` is configured), it only has to compile.
#[allow(dead_code)]
fn routers(msal: &Msal) -> Router {
    let files: Router = Router::new()
        .route("/files", get(|| async { "files" }))
        .route_layer(msal.require(msal_rule!()));
    let admin: Router = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(msal.require(ADMINS));
    let documents: Router = Router::new()
        .route("/documents/{id}", get(|| async { "document" }))
        .route_layer(msal.require(msal_rule!(
            any(roles = "Admin", all(acr = ["phr", "phrh"], check = owns)),
            not(groups = "00000000-0000-4000-8000-0000000000ad"),
            on_denied = denied,
        )));
    files.merge(admin).merge(documents)
}

fn main() {
    let every: [Protection; 5] = [
        msal_rule!(),
        msal_rule!(scopes = "User.Read", tenants = "c0ffee00-0000-4000-8000-00000000c0de"),
        msal_rule!(app_permissions = "Tasks.Read.All"),
        msal_rule!(auth_context = "c1", check = owns, check = owns_too),
        my_msal::msal_rule!(roles = "Admin", crate = "::my_msal"),
    ];
    assert!(matches!(every[0].rule(), msal_runtime::Rule::Authenticated));
    assert!(matches!(ADMINS.rule(), msal_runtime::Rule::All([_, _])));
}

async fn owns_too(_: &User, _: &mut Parts) -> Result<bool, CheckError> {
    Ok(false)
}
