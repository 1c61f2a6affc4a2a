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

/// A generic response builder, named without a turbofish as in a type.
fn with_status<S: Into<StatusCode>>(_: AuthRejection) -> StatusCode {
    StatusCode::FORBIDDEN
}

#[msal_protected(roles = "Admin", on_denied = responses::teapot)]
async fn admin() {}

#[msal_protected(on_denied = plain)]
async fn hidden() {}

#[msal_protected(on_denied = with_status<StatusCode>)]
async fn generic() {}

/// Inner attributes stay first in the body, before what the attribute adds.
#[msal_protected]
async fn inner_attributes() -> &'static str {
    #![allow(unused_braces)]
    { "ok" }
}

fn main() {
    let _: Router = Router::new()
        .route("/a", get(admin))
        .route("/b", get(hidden))
        .route("/c", get(generic))
        .route("/d", get(inner_attributes));
}
