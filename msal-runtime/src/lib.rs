//! Microsoft identity platform (Entra ID, B2C, External ID) and OpenID Connect sign-in for axum.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use msal_runtime::{Msal, User};
//!
//! async fn me(user: User) -> Json<User> {
//!     Json(user)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), msal_runtime::Error> {
//!     let msal = Msal::from_env().await?; // MSAL_* variables, .env, secrets dir
//!     let app = Router::new()
//!         .route("/me", get(me))
//!         .merge(msal.routes()) // /auth/login, /auth/callback, /auth/logout, ...
//!         .layer(msal.layer()); // last: it wraps only the routes above it
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! Cargo features: `redis` (on by default) for the Redis session store shared by every
//! instance; `openapi` for Swagger UI sign-in; `testing` (for dev-dependencies) for
//! [`testing::TestIdp`], an Entra-compatible identity provider on loopback, so sign-in, API
//! protection and downstream token calls can all be tested without an Azure tenant.
#![deny(missing_docs)]
// Rejections carry what their response needs (paths, scopes, reasons); they are the cold
// path, so their size is not worth boxing everywhere.
#![allow(clippy::result_large_err)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
pub mod __private;
mod caller;
mod challenge;
mod client;
pub mod config;
mod error;
mod extract;
mod graph;
mod guard;
mod layer;
mod msal;
mod principal;
mod require;
mod routes;
mod scopes;
mod session;
mod tokens;
mod validate;

/// What the unit tests share: hostile-input generators, test keys, a small provider.
#[cfg(test)]
mod tests;

#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;

pub use config::MsalConfig;
pub use error::{AuthError, AuthRejection, Error};
pub use extract::{Claims, SignOutCsrf};
pub use graph::Graph;
pub use layer::{MsalEntry, MsalLayer, MsalService};
pub use msal::Msal;
pub use msal_macros::{msal_protected, msal_rule};
pub use principal::{CheckError, Principal, PrincipalKind, Rule, Undetermined, User, Verdict};
pub use require::{Protection, Require, RequireLayer};
pub use session::MsalStore;
pub use tokens::{AccessToken, Tokens};
