//! `crate = "..."` for a renamed dependency, as serde's attribute does.
extern crate msal_runtime as my_msal;

use axum::Router;
use axum::routing::get;

#[my_msal::msal_protected(roles = "Admin", crate = "::my_msal")]
async fn admin() {}

fn main() {
    let _: Router = Router::new().route("/", get(admin));
}
