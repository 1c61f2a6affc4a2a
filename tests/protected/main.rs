//! `#[msal_protected]` over real HTTP: every DSL form with a user who passes and one who
//! fails, every handler shape, and proof that a denied body never runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod auth_context;
mod checks;
mod demo;
mod forms;
mod openapi;
mod overage;
mod require;
mod stamped;
mod step_up;
mod wiring;
