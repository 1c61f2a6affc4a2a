//! `auth_context` in every value form, alone, with other keys and under combinators.
use axum::Router;
use axum::routing::{delete, get};
use msal_runtime::msal_protected;

#[msal_protected(auth_context = "c1")]
async fn one() {}

#[msal_protected(auth_context = "c1 c99")]
async fn string_of_two() {}

#[msal_protected(auth_context = ["c1", "c25",])]
async fn list() {}

#[msal_protected(scopes = "Tasks.Write", auth_context = "c1")]
async fn with_scopes() {}

#[msal_protected(roles = "Admin", any(auth_context = "c1", auth_context = "c2"))]
async fn alternatives() {}

#[msal_protected(any(app_permissions = "Tasks.ReadWrite.All", auth_context = "c1"))]
async fn an_app_or_a_stepped_up_user() {}

#[msal_protected(not(auth_context = "c3"))]
async fn negated() {}

fn main() {
    let _: Router = Router::new()
        .route("/1", get(one))
        .route("/2", get(string_of_two))
        .route("/3", get(list))
        .route("/4", delete(with_scopes))
        .route("/5", get(alternatives))
        .route("/6", get(an_app_or_a_stepped_up_user))
        .route("/7", get(negated));
}
