//! What `#[msal_protected]` expansions name. Not a public API: it changes without notice.

pub use linkme;

pub use crate::guard::Guard;
pub use crate::principal::{PROTECTED, Protected, Rule};
pub use axum::response::{IntoResponse, Response};

pub use crate::AuthRejection;
