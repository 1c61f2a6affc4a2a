//! A custom response for refusals, with any `IntoResponse` return type.
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use msal_runtime::{AuthRejection, msal_protected};

mod responses {
    pub fn teapot(rejection: msal_runtime::AuthRejection) -> (axum::http::StatusCode, String) {
        (axum::http::StatusCode::IM_A_TEAPOT, rejection.error().to_string())
    }
}

fn plain(_: AuthRejection) -> StatusCode {
    StatusCode::NOT_FOUND
}

#[msal_protected(roles = "Admin", on_denied = responses::teapot)]
async fn admin() {}

#[msal_protected(on_denied = plain)]
async fn hidden() {}

fn main() {
    let _: Router = Router::new().route("/a", get(admin)).route("/b", get(hidden));
}
