//! What `#[msal_protected]` expansions name. Not a public API: it changes without notice.

pub use linkme;

pub use crate::guard::Guard;
pub use crate::principal::{
    Check, CheckFn, CheckFuture, CheckOutcome, PROTECTED, Protected, Rule, User, check_outcome,
};
pub use crate::require::Protection;
pub use axum::http::request::Parts;
pub use axum::response::{IntoResponse, Response};

pub use crate::AuthRejection;
