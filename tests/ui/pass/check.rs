//! `check = path`: async functions of the user and the request parts, with `CheckError` or an
//! error of their own, reading the path through `FromRequestParts`, alone, several in one rule,
//! and under combinators.
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use msal_runtime::{CheckError, User, msal_protected};

/// Owns document `{id}`: reads the path from the parts.
async fn owns_document(user: &User, parts: &mut Parts) -> Result<bool, CheckError> {
    let Path(id) = Path::<u32>::from_request_parts(parts, &())
        .await
        .map_err(|e| CheckError::new(e.body_text()))?;
    Ok(user.oid.is_some() && id < 100)
}

/// Any `std::error::Error` goes through `?` into a `CheckError`.
async fn in_project(user: &User, _: &mut Parts) -> Result<bool, CheckError> {
    let members: Vec<String> = "a,b".split(',').map(str::to_owned).collect();
    let _: u32 = "7".parse()?;
    Ok(members.iter().any(|m| Some(m) == user.oid.as_ref()))
}

/// An error of its own, answered with its own response.
struct NotHere;

impl IntoResponse for NotHere {
    fn into_response(self) -> Response {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn visible(_: &User, parts: &mut Parts) -> Result<bool, NotHere> {
    if parts.uri.path().contains("secret") {
        Err(NotHere)
    } else {
        Ok(true)
    }
}

/// Any `IntoResponse` error works, a plain status too.
async fn open_hours(_: &User, _: &mut Parts) -> Result<bool, StatusCode> {
    Ok(true)
}

mod checks {
    pub mod deeper {
        pub async fn archived(
            _: &msal_runtime::User,
            _: &mut axum::http::request::Parts,
        ) -> Result<bool, msal_runtime::CheckError> {
            Ok(false)
        }
    }
}

async fn generic<T: Default + PartialEq>(_: &User, _: &mut Parts) -> Result<bool, CheckError> {
    Ok(T::default() == T::default())
}

#[msal_protected(check = owns_document)]
async fn document(Path(id): Path<u32>) -> String {
    id.to_string()
}

#[msal_protected(roles = "Reader", check = owns_document, check = in_project, check = visible)]
async fn several() {}

#[msal_protected(any(roles = "Admin", check = owns_document), not(check = checks::deeper::archived))]
async fn under_combinators() {}

#[msal_protected(any(check = open_hours, check = crate::checks::deeper::archived))]
async fn alternatives() {}

#[msal_protected(max_age = "10m", acr = "phr", check = generic::<u8>)]
async fn with_step_up() {}

#[derive(Clone)]
struct AppState;

struct Documents;

impl Documents {
    async fn shared(_: &User, _: &mut Parts) -> Result<bool, CheckError> {
        Ok(true)
    }

    /// In an `impl` block, the check is named through the type.
    #[msal_protected(check = Documents::shared)]
    async fn associated(State(_): State<AppState>) -> &'static str {
        "associated"
    }
}

fn main() {
    let _: Router = Router::new()
        .route("/documents/{id}", get(document))
        .route("/several/{id}", get(several))
        .route("/combinators/{id}", get(under_combinators))
        .route("/alternatives", get(alternatives))
        .route("/step-up", get(with_step_up))
        .route("/associated", get(Documents::associated))
        .with_state(AppState);
}
