//! Resource-level checks: `check = path::to_fn` in a requirement, an async function of the
//! [`User`] and the request that decides what no claim can (does this user own document 7?).
//!
//! A check answers `Ok(true)` (allow), `Ok(false)` (deny: 403) or `Err(e)`: the decision
//! could not be made, so the request is refused, never let through. An `e` of
//! [`CheckError`] (the one to use with `?` on a database or HTTP error) answers 503 in the
//! shape the caller asked for (a page for a browser, problem+json otherwise); any other
//! error answers with its own response when that is a refusal (3xx, 4xx, 5xx), and like a
//! `CheckError` when it is not (a `String`'s 200 would read as success and show its text).
//!
//! ```
//! use axum::extract::{FromRequestParts, Path};
//! use axum::http::request::Parts;
//! use msal_runtime::{CheckError, User};
//!
//! /// `#[msal_protected(check = owns_document)]` on `GET /documents/{id}`.
//! async fn owns_document(user: &User, parts: &mut Parts) -> Result<bool, CheckError> {
//!     let Path(id) = Path::<u32>::from_request_parts(parts, &())
//!         .await
//!         .map_err(|e| CheckError::new(e.body_text()))?;
//!     Ok(user.oid.as_deref() == Some("owner-oid") && id < 100)
//! }
//! ```

use std::future::Future;
use std::pin::Pin;

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::User;

/// The future a check's wrapper returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckOutcome> + Send + 'a>>;

/// A check's wrapper, as `#[msal_protected(check = …)]` writes it.
pub type CheckFn = for<'a> fn(&'a User, &'a mut Parts) -> CheckFuture<'a>;

/// A `check = path::to_fn` leaf of a [`Rule`](super::Rule).
#[doc(hidden)]
pub struct Check {
    /// The path as written, for messages ("This needs the check owns_document").
    pub name: &'static str,
    /// Runs it.
    pub run: CheckFn,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Check").field(&self.name).finish()
    }
}

impl PartialEq for Check {
    /// The same check: the same leaf of the same expansion.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Check {}

/// What a check answered.
#[doc(hidden)]
#[derive(Debug)]
pub enum CheckOutcome {
    /// `Ok(true)`.
    Allow,
    /// `Ok(false)`.
    Deny,
    /// `Err(CheckError)`: could not be decided; answered 503.
    Unavailable(String),
    /// `Err(e)` of any other error: answered with `e`'s response.
    Failed(Response),
}

/// A check's result, read: how the expansion hands it to the guard.
#[doc(hidden)]
pub fn check_outcome<E: IntoResponse>(result: Result<bool, E>) -> CheckOutcome {
    match result {
        Ok(true) => CheckOutcome::Allow,
        Ok(false) => CheckOutcome::Deny,
        Err(e) => {
            let mut response = e.into_response();
            let status = response.status();
            match response.extensions_mut().remove::<Unavailable>() {
                Some(Unavailable(why)) => CheckOutcome::Unavailable(why),
                // An error that answers like a success (a `String`'s 200, say) would tell
                // the caller it got through, and show it whatever the error says.
                None if status.is_informational() || status.is_success() => {
                    CheckOutcome::Unavailable(format!(
                        "the check's error answered {status}, which is not a refusal: give it an error status, or return CheckError"
                    ))
                }
                None => CheckOutcome::Failed(response),
            }
        }
    }
}

/// A check that could not decide: a database, a service or a lookup failed. The request is
/// refused with 503 (a page for a browser, problem+json otherwise); the cause goes to the
/// log, never to the caller. `?` turns any [`std::error::Error`] into one.
///
/// ```
/// use msal_runtime::{CheckError, User};
///
/// async fn in_project(user: &User, _: &mut axum::http::request::Parts) -> Result<bool, CheckError> {
///     let members: Vec<String> = serde_json::from_str(r#"["a","b"]"#)?; // a lookup that may fail
///     Ok(members.iter().any(|m| Some(m.as_str()) == user.oid.as_deref()))
/// }
/// ```
pub struct CheckError(String);

impl CheckError {
    /// A check error with this cause (logged, not shown).
    pub fn new(cause: impl Into<String>) -> Self {
        CheckError(cause.into())
    }

    /// What went wrong.
    pub fn cause(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CheckError").field(&self.0).finish()
    }
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the access check could not be completed: {}", self.0)
    }
}

// Not `std::error::Error` itself: that would overlap the blanket `From` below (as anyhow's
// error does not either).
impl<E: std::error::Error> From<E> for CheckError {
    fn from(e: E) -> Self {
        CheckError(e.to_string())
    }
}

/// The marker a [`CheckError`]'s response carries, so the guard answers it in the caller's
/// shape.
#[derive(Clone)]
struct Unavailable(String);

impl IntoResponse for CheckError {
    /// 503 problem+json (outside a guard, where the caller's shape is not known); inside one
    /// the guard answers it as a page or problem+json.
    fn into_response(self) -> Response {
        let mut response = crate::error::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Access check unavailable",
            "The access check could not be completed right now. Try again shortly.",
        );
        response.extensions_mut().insert(Unavailable(self.0));
        response
    }
}
