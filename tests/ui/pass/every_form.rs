//! Every form of the language compiles and routes.
use axum::Router;
use axum::routing::get;
use msal_runtime::msal_protected;

#[msal_protected]
async fn bare() {}

#[msal_protected(scopes = "User.Read Mail.Read")]
async fn scopes_string() {}

#[msal_protected(scopes = ["User.Read", "Mail.Read",])]
async fn scopes_list() {}

#[msal_protected(roles = "Admin", groups = "00000000-0000-4000-8000-0000000000ad")]
async fn roles_and_groups() {}

#[msal_protected(app_permissions = "Tasks.ReadWrite.All")]
async fn app_permissions() {}

#[msal_protected(tenants = ["c0ffee00-0000-4000-8000-00000000c0de", "0ddba11a-0000-4000-8000-000000000001"])]
async fn tenants() {}

#[msal_protected(any(roles = "Admin", all(scopes = "Tasks.Read", not(roles = "Guest"))))]
async fn nested() {}

#[msal_protected(any(roles = "A", roles = "B"))]
async fn same_key_as_alternatives() {}

fn main() {
    let _: Router = Router::new()
        .route("/1", get(bare))
        .route("/2", get(scopes_string))
        .route("/3", get(scopes_list))
        .route("/4", get(roles_and_groups))
        .route("/5", get(app_permissions))
        .route("/6", get(tenants))
        .route("/7", get(nested))
        .route("/8", get(same_key_as_alternatives));
}
